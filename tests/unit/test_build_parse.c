/* Unit tests for the Buildfile parser, variable expansion and the .dockerignore matcher, with
 * answers Docker gives for the same input. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "build/build_internal.h"
#include "servin/cleanup.h"

static int parse(const char *text, struct bf_file *f, struct servin_error *err)
{
    return bf_parse("Buildfile", text, strlen(text), f, err);
}

static void continuations_comments_and_forms(void **state)
{
    struct bf_file f;
    struct servin_error err = {0};
    const char *text = "# syntax=docker/dockerfile:1\n"
                       "\n"
                       "FROM busybox AS base\n"
                       "RUN echo a \\\n"
                       "# a comment inside\n"
                       "\n"
                       "    b\n"
                       "  cmd [\"sh\", \"-c\", \"echo hi\"]\n"
                       "COPY --chown=1:2 --from=base a b /dst/\n"
                       "RUN [ -f /x ] || true\n";
    assert_int_equal(parse(text, &f, &err), 0);
    assert_string_equal(f.syntax, "docker/dockerfile:1");
    assert_int_equal(f.n, 5);
    assert_string_equal(f.v[0].cmd, "from");
    assert_int_equal(f.v[0].line, 3);
    assert_string_equal(f.v[0].args, "busybox AS base");
    assert_string_equal(f.v[1].cmd, "run");
    assert_string_equal(f.v[1].args, "echo a     b");
    assert_null(f.v[1].json);
    assert_string_equal(f.v[2].cmd, "cmd");
    assert_int_equal(f.v[2].line, 8);
    assert_int_equal(f.v[2].column, 3);
    assert_non_null(f.v[2].json);
    assert_int_equal(json_array_size(f.v[2].json), 3);
    assert_string_equal(json_string_value(json_array_get(f.v[2].json, 2)), "echo hi");
    assert_int_equal(f.v[3].n_flags, 2);
    assert_string_equal(bf_flag(&f.v[3], "chown"), "1:2");
    assert_string_equal(bf_flag(&f.v[3], "from"), "base");
    assert_null(bf_flag(&f.v[3], "chmod"));
    assert_string_equal(f.v[3].args, "a b /dst/");
    const char *allowed[] = {"chown", NULL};
    assert_string_equal(bf_unknown_flag(&f.v[3], allowed), "--from=base");
    /* A shell test in brackets is the shell form, not a broken JSON form. */
    assert_null(f.v[4].json);
    bf_file_free(&f);
}

static void escape_directive(void **state)
{
    struct bf_file f;
    struct servin_error err = {0};
    const char *text = "# escape=`\nFROM scratch\nRUN dir `\n  c:\\\\x\n";
    assert_int_equal(parse(text, &f, &err), 0);
    assert_int_equal(f.escape, '`');
    assert_string_equal(f.v[1].args, "dir   c:\\\\x");
    bf_file_free(&f);
    /* After a blank line, "# escape=" is only a comment. */
    text = "\n# escape=`\nFROM scratch\n";
    assert_int_equal(parse(text, &f, &err), 0);
    assert_int_equal(f.escape, '\\');
    bf_file_free(&f);
}

static void heredocs(void **state)
{
    struct bf_file f;
    struct servin_error err = {0};
    const char *text = "FROM scratch\n"
                       "RUN <<EOF\n"
                       "echo $HOME\n"
                       "EOF\n"
                       "COPY <<-'A' <<B /dst/\n"
                       "\t\tquoted $x\n"
                       "\tA\n"
                       "b\n"
                       "B\n"
                       "CMD x\n";
    assert_int_equal(parse(text, &f, &err), 0);
    assert_int_equal(f.n, 4);
    assert_int_equal(f.v[1].n_heredocs, 1);
    assert_string_equal(f.v[1].heredocs[0].name, "EOF");
    assert_string_equal(f.v[1].heredocs[0].body, "echo $HOME\n");
    assert_true(f.v[1].heredocs[0].expand);
    assert_int_equal(f.v[2].n_heredocs, 2);
    assert_string_equal(f.v[2].heredocs[0].body, "quoted $x\n");
    assert_false(f.v[2].heredocs[0].expand);
    assert_string_equal(f.v[2].heredocs[1].body, "b\n");
    assert_string_equal(f.v[3].cmd, "cmd");
    assert_int_equal(f.v[3].line, 10);
    bf_file_free(&f);
}

static void errors_name_line_and_column(void **state)
{
    struct bf_file f;
    struct servin_error err = {0};
    assert_int_equal(parse("FROM scratch\n  FOO bar\n", &f, &err), -EINVAL);
    assert_string_equal(err.msg, "Buildfile:2:3: unknown instruction \"FOO\"");
    assert_int_equal(parse("FROM scratch\nRUN <<EOF\necho\n", &f, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "Buildfile:2:5: unterminated here-document"));
    assert_int_equal(parse("FROM scratch\nCMD [\"a\", ]\n", &f, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "Buildfile:2:"));
    assert_non_null(strstr(err.msg, "invalid JSON form"));
    assert_int_equal(parse("FROM scratch\nSHELL sh -c\n", &f, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "Buildfile:2:7: shell: invalid JSON form"));
    assert_int_equal(parse("# only a comment\n\n", &f, &err), -EINVAL);
    assert_int_equal(parse("# escape=x\nFROM scratch\n", &f, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "Buildfile:1:1: invalid escape token"));
}

struct vars {
    const char *const *kv;
};

static const char *lookup(void *ctx, const char *name)
{
    const struct vars *v = ctx;
    for (size_t i = 0; v->kv[i]; i += 2)
        if (strcmp(v->kv[i], name) == 0)
            return v->kv[i + 1];
    return NULL;
}

static void expansion_known_answers(void **state)
{
    static const char *const kv[] = {"A", "alpha", "EMPTY", "", "B", "b c", NULL};
    struct vars v = {kv};
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"$A", "alpha"},
        {"${A}x", "alphax"},
        {"$Ax", ""},
        {"${NOPE:-dflt}", "dflt"},
        {"${EMPTY:-dflt}", "dflt"},
        {"${EMPTY-dflt}", ""},
        {"${NOPE-dflt}", "dflt"},
        {"${A:+alt}", "alt"},
        {"${EMPTY:+alt}", ""},
        {"${EMPTY+alt}", "alt"},
        {"${NOPE:-$A}", "alpha"},
        {"'$A'", "$A"},
        {"\"$A b\"", "alpha b"},
        {"\\$A", "$A"},
        {"\"\\$A\"", "$A"},
        {"a\\ b", "a b"},
        {"\"a\\nb\"", "a\\nb"},
        {"$", "$"},
        {"a$ b", "a$ b"},
        {"${A:-x}${B}", "alphab c"},
        {"$1x", "x"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *out = NULL;
        struct servin_error err = {0};
        if (bf_expand_word(cases[i].in, '\\', lookup, &v, &out, &err) < 0)
            fail_msg("%s: %s", cases[i].in, err.msg);
        if (strcmp(out, cases[i].out) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", cases[i].in, out, cases[i].out);
        free(out);
    }
    char *out = NULL;
    struct servin_error err = {0};
    assert_true(bf_expand_word("${NOPE:?must be set}", '\\', lookup, &v, &out, &err) < 0);
    assert_non_null(strstr(err.msg, "NOPE: must be set"));
    assert_true(bf_expand_word("${A", '\\', lookup, &v, &out, &err) < 0);
    assert_true(bf_expand_word("\"open", '\\', lookup, &v, &out, &err) < 0);
    assert_true(bf_expand_word("${A/x/y}", '\\', lookup, &v, &out, &err) < 0);

    char **words = NULL;
    assert_int_equal(bf_expand_words(" a \"b c\" $A 'd e'  ", '\\', lookup, &v, &words, &err), 0);
    assert_string_equal(words[0], "a");
    assert_string_equal(words[1], "b c");
    assert_string_equal(words[2], "alpha");
    assert_string_equal(words[3], "d e");
    assert_null(words[4]);
    strv_free(words);
}

static void pairs_like_env(void **state)
{
    static const char *const kv[] = {"A", "old", NULL};
    struct vars v = {kv};
    char **p = NULL;
    size_t n = 0;
    struct servin_error err = {0};
    /* Every value is expanded against the variables from before the instruction. */
    assert_int_equal(
        bf_parse_pairs("A=new B=$A C=\"x y\" D=a\\ b", '\\', true, false, lookup, &v, &p, &n, &err), 0);
    assert_int_equal(n, 4);
    assert_string_equal(p[0], "A");
    assert_string_equal(p[1], "new");
    assert_string_equal(p[3], "old");
    assert_string_equal(p[5], "x y");
    assert_string_equal(p[7], "a b");
    bf_pairs_free(p, n);
    assert_int_equal(bf_parse_pairs("NAME  some $A value", '\\', true, false, lookup, &v, &p, &n, &err), 0);
    assert_int_equal(n, 1);
    assert_string_equal(p[0], "NAME");
    assert_string_equal(p[1], "some old value");
    bf_pairs_free(p, n);
    assert_int_equal(bf_parse_pairs("X Y=2", '\\', false, true, lookup, &v, &p, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_null(p[1]);
    assert_string_equal(p[3], "2");
    bf_pairs_free(p, n);
    assert_true(bf_parse_pairs("X", '\\', true, false, lookup, &v, &p, &n, &err) < 0);
}

static void dockerignore_known_answers(void **state)
{
    struct bf_ignore *ig = bf_ignore_parse("# comment\n"
                                           "*.log\n"
                                           "/build\n"
                                           "**/tmp\n"
                                           "docs/**/*.md\n"
                                           "!docs/keep/README.md\n"
                                           "secret?.txt\n"
                                           "./cache/../vendor\n"
                                           "[ab].c\n");
    static const struct {
        const char *path;
        bool ignored;
    } cases[] = {
        {"app.log", true},
        {"sub/app.log", false},
        {"build", true},
        {"build/x/y", true},
        {"tmp", true},
        {"a/b/tmp/c", true},
        {"docs/x.md", true},
        {"docs/a/b/x.md", true},
        {"docs/keep/README.md", false},
        {"docs/keep/other.md", true},
        {"secret1.txt", true},
        {"secret12.txt", false},
        {"vendor/lib", true},
        {"cache", false},
        {"a.c", true},
        {"c.c", false},
        {"main.c", false},
        {"Buildfile", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (bf_ignore_match(ig, cases[i].path) != cases[i].ignored)
            fail_msg("%s: want %s", cases[i].path, cases[i].ignored ? "ignored" : "kept");
    assert_true(bf_ignore_has_exceptions(ig));
    bf_ignore_free(ig);

    /* Everything but one file. */
    ig = bf_ignore_parse("*\n!keep.txt\n");
    assert_true(bf_ignore_match(ig, "other"));
    assert_false(bf_ignore_match(ig, "keep.txt"));
    bf_ignore_free(ig);
    ig = bf_ignore_parse(NULL);
    assert_false(bf_ignore_match(ig, "x"));
    bf_ignore_free(ig);

    assert_true(bf_glob_match("*.txt", "a.txt"));
    assert_false(bf_glob_match("*.txt", "d/a.txt"));
    assert_true(bf_glob_match("d/*", "d/a.txt"));
    assert_true(bf_glob_match("[^a]*", "bc"));
    assert_false(bf_glob_match("[^a]*", "ac"));
    assert_true(bf_glob_match("\\*", "*"));
}

static void heredoc_expansion_known_answers(void **state)
{
    (void)state;
    static const char *const kv[] = {"A", "alpha", "B", "b c", NULL};
    struct vars v = {kv};
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"$A ${B}\n", "alpha b c\n"},
        {"'$A' \"$A\"\n", "'alpha' \"alpha\"\n"}, /* quotes are text in a here-document */
        {"\\$A \\\\ \\n\n", "$A \\ \\n\n"},       /* the escape goes only before $ and itself */
        {"${NOPE:-x y} $ 5$\n", "x y $ 5$\n"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *out = NULL;
        struct servin_error err = {0};
        if (bf_expand_heredoc(cases[i].in, '\\', lookup, &v, &out, &err) < 0)
            fail_msg("%s: %s", cases[i].in, err.msg);
        if (strcmp(out, cases[i].out) != 0)
            fail_msg("%s: got \"%s\", want \"%s\"", cases[i].in, out, cases[i].out);
        free(out);
    }
    /* A backtick escape (# escape=`) works the same way. */
    char *out = NULL;
    struct servin_error err = {0};
    assert_int_equal(bf_expand_heredoc("`$A \\$A", '`', lookup, &v, &out, &err), 0);
    assert_string_equal(out, "$A \\alpha");
    free(out);
    assert_true(bf_expand_heredoc("${A", '\\', lookup, &v, &out, &err) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(continuations_comments_and_forms),
        cmocka_unit_test(escape_directive),
        cmocka_unit_test(heredocs),
        cmocka_unit_test(errors_name_line_and_column),
        cmocka_unit_test(expansion_known_answers),
        cmocka_unit_test(heredoc_expansion_known_answers),
        cmocka_unit_test(pairs_like_env),
        cmocka_unit_test(dockerignore_known_answers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
