/* build/build_internal.h — what the files of build/ share: the parsed Buildfile, variable
 * expansion, the .dockerignore matcher, the build context, layers and the step cache. */
#ifndef SERVIN_BUILD_INTERNAL_H
#define SERVIN_BUILD_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "servin/build.h"
#include "servin/digest.h"
#include "servin/error.h"
#include "servin/image.h"
#include "servin/store.h"

/* --- parse.c: the Dockerfile syntax --- */

struct bf_heredoc {
    char *name;  /* the delimiter word, quotes removed */
    char *body;  /* the lines between, each ending in '\n' (tabs stripped for <<-) */
    bool expand; /* false for <<'EOF' and <<"EOF" */
};

struct bf_instr {
    char *cmd;      /* the keyword in lower case: "run", "copy", ... */
    char *original; /* the instruction as written, continuations joined, without heredoc bodies */
    int line, column;
    char **flags; /* "--from=x", "--chown=1:2", ... in order (NULL-terminated) */
    size_t n_flags;
    char *args;   /* the text after the keyword and flags, not expanded */
    json_t *json; /* the JSON (exec) form's string array, or NULL for the shell form */
    struct bf_heredoc *heredocs;
    size_t n_heredocs;
};

struct bf_file {
    char *name; /* for messages: "Buildfile" */
    char escape;
    char *syntax; /* the "# syntax=" directive, or NULL */
    struct bf_instr *v;
    size_t n;
};

/* Parse a Buildfile. Errors read "<name>:<line>:<column>: <what>". */
int bf_parse(const char *name, const char *text, size_t len, struct bf_file *out, struct servin_error *err);
void bf_file_free(struct bf_file *f);
void bf_instr_clear(struct bf_instr *in);
/* Parse one instruction on its own (ONBUILD triggers), named `name` at line 1 for messages. */
int bf_parse_one(const char *name, const char *text, char escape, struct bf_instr *out,
                 struct servin_error *err);
/* The value of a flag "--name=value" ("--name" alone gives ""), NULL when absent. */
const char *bf_flag(const struct bf_instr *in, const char *name);
/* A flag other than those allowed (NULL-terminated list of names): its name, else NULL. */
const char *bf_unknown_flag(const struct bf_instr *in, const char *const *allowed);

/* --- expand.c: Docker's shell-word rules for $VAR, ${VAR:-x}, quotes and escapes --- */

/* A variable's value, or NULL when it is not set. */
typedef const char *(*bf_lookup_fn)(void *ctx, const char *name);

/* Expand one word: variables substituted, quotes and escapes removed. */
int bf_expand_word(const char *in, char escape, bf_lookup_fn lookup, void *ctx, char **out,
                   struct servin_error *err);
/* Split on unquoted blanks and expand each word (the words of EXPOSE, VOLUME, COPY's sources). */
int bf_expand_words(const char *in, char escape, bf_lookup_fn lookup, void *ctx, char ***out,
                    struct servin_error *err);
/* Split on unquoted blanks without expanding anything (quotes kept), for "k=v k2=v2" lists. */
char **bf_split_words(const char *in, char escape);
/* ENV, LABEL and ARG pairs: "k=v k2='v 2'" or the legacy "k v w" (one pair, legacy_ok only).
 * Keys and values expanded; *out is k0, v0, k1, v1, ... NULL-terminated (v is NULL for "ARG k"). */
int bf_parse_pairs(const char *in, char escape, bool legacy_ok, bool values_optional, bf_lookup_fn lookup,
                   void *ctx, char ***out, size_t *n_pairs, struct servin_error *err);
void bf_pairs_free(char **pairs, size_t n_pairs);

/* --- ignore.c: .dockerignore --- */

struct bf_ignore;
/* Parse .dockerignore text (NULL or empty: nothing is ignored). */
struct bf_ignore *bf_ignore_parse(const char *text);
void bf_ignore_free(struct bf_ignore *ig);
/* True when the relative path (no leading "/", "/"-separated) is left out of the context. */
bool bf_ignore_match(const struct bf_ignore *ig, const char *path);
/* True when some "!" exception could bring back something below an excluded directory. */
bool bf_ignore_has_exceptions(const struct bf_ignore *ig);
/* Go's filepath.Match for one pattern against a whole name ("*" does not cross "/"), plus "**"
 * for any number of directories. */
bool bf_glob_match(const char *pattern, const char *name);

#endif
