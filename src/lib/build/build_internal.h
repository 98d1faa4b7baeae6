/* build/build_internal.h — what the files of build/ share: the parsed Buildfile, variable
 * expansion, the .dockerignore matcher, the build context, layers and the step cache. */
#ifndef SERVIN_BUILD_INTERNAL_H
#define SERVIN_BUILD_INTERNAL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

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
/* A here-document's body as an unquoted shell here-document reads: variables expanded, quotes kept
 * as written, the escape character removed only before "$" and itself. */
int bf_expand_heredoc(const char *in, char escape, bf_lookup_fn lookup, void *ctx, char **out,
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

/* --- state.c: what a step leaves behind, the step cache and the final image --- */

/* An image being built: its whole config (architecture, os, config, rootfs, history) and layers. */
struct bf_state {
    json_t *config;
    struct servin_layer_desc *layers;
    size_t n_layers;
};
void bf_state_clear(struct bf_state *s);
void bf_state_copy(struct bf_state *dst, const struct bf_state *src);
/* The empty image FROM scratch starts from. */
void bf_state_scratch(struct bf_state *s);
/* A stored image as a state. */
int bf_state_from_image(struct servin_store *store, const char *id, struct bf_state *s,
                        struct servin_error *err);
/* The digest of the canonical config: what a cache key builds on. */
void bf_state_id(const struct bf_state *s, char out[SERVIN_DIGEST_MAX]);
/* Append a history entry (and a layer when layer is not NULL, with its diff_id in rootfs). */
void bf_state_add(struct bf_state *s, const char *created, const char *created_by,
                  const struct servin_layer_desc *layer);
/* The config's own "config" object, created when missing. */
json_t *bf_state_cfg(struct bf_state *s);

/* sha256 over the parent state, the step's text and what else decides its result. */
void bf_cache_key(const char *parent_id, const char *text, const char *extra, char out[SERVIN_DIGEST_MAX]);
/* 1 and *out on a hit whose layers are all still present, 0 on a miss. */
int bf_cache_get(struct servin_store *store, const char *key, struct bf_state *out);
int bf_cache_put(struct servin_store *store, const char *key, const struct bf_state *s,
                 struct servin_error *err);
/* Store config and manifest, register the image and point every tag at it. */
int bf_state_commit_image(struct servin_store *store, const struct bf_state *s, const char *const *tags,
                          size_t n_tags, char id_out[SERVIN_DIGEST_MAX], struct servin_error *err);

/* --- layer.c: a step's root filesystem and the layer it leaves --- */

struct bf_fs {
    char id[65]; /* 64 hex: also the runtime container's id */
    char *dir;   /* <root>/containers/<id>: upper, work, merged, config.json */
    char *merged;
    bool mounted;
};
/* Mount an overlay over the state's layers (a fresh upper dir) at fs->merged. */
int bf_fs_open(struct servin_store *store, const struct bf_state *s, struct bf_fs *fs,
               struct servin_error *err);
/* Unmount and remove everything the step made; safe to call twice. */
void bf_fs_close(struct servin_store *store, struct bf_fs *fs);
/* Unmount, and turn the upper dir into a layer: an uncompressed tar blob (overlay whiteouts as
 * OCI whiteouts, entries sorted, mtimes clamped to clamp_mtime when >= 0) and the layer dir. When
 * the step changed nothing, *layer_out is left alone and *empty set. */
int bf_fs_commit(struct servin_store *store, struct bf_fs *fs, const struct bf_state *parent,
                 long long clamp_mtime, struct servin_layer_desc *layer_out, bool *empty,
                 struct servin_error *err);
int bf_fs_unmount(struct servin_store *store, struct bf_fs *fs, struct servin_error *err);
/* Open a path inside the mounted root (symlinks resolved as if merged were "/"). */
int bf_fs_open_in(const struct bf_fs *fs, const char *path, int flags, struct servin_error *err);

/* --- run.c: RUN steps --- */

struct bf_run_opts {
    json_t *argv;  /* the process' arguments */
    json_t *env;   /* "K=V" strings over the image's Env (build args) */
    json_t *binds; /* "src:dst:ro" (secrets) */
    /* "none" (only lo), "host" (the host's), or "bridge": the default network, through the network
     * library as for `servin run`, attached for this step only. */
    const char *network;
    const char *runtime_binary; /* NULL: /proc/self/exe */
    void (*output)(void *ctx, const char *buf, size_t len);
    void *output_ctx;
};
/* Run the step's command in a container on fs (mounted); *exit_code is its exit code. fs is
 * unmounted on return. */
int bf_run(struct servin_store *store, struct bf_fs *fs, const struct bf_state *s,
           const struct bf_run_opts *o, int *exit_code, struct servin_error *err);

/* --- context.c: the build context --- */

struct bf_context {
    char *dir; /* the context's root */
    char *tmp; /* a directory to remove at the end (an extracted tar context), or NULL */
    struct bf_ignore *ignore;
};
int bf_context_open(struct servin_store *store, const struct servin_build_opts *o, struct bf_context *ctx,
                    struct servin_error *err);
void bf_context_close(struct bf_context *ctx);
/* The Buildfile's text: `file` (relative to the context, or absolute), else "Buildfile", else
 * "Dockerfile" in the context. *name is what messages call it. */
int bf_context_buildfile(const struct bf_context *ctx, const char *file, char **text, size_t *len,
                         char **name, struct servin_error *err);

/* A source of COPY/ADD resolved in a root: its path relative to the root. */
struct bf_source {
    char *rel;
    bool is_dir;
};
/* Resolve COPY sources (globs allowed) inside root; ignore may be NULL. Each source must stay inside
 * the root ("../x" is refused) and match something. what names the root in messages. When hash is
 * given, everything the sources hold (names, types, modes, contents) is fed to it. */
int bf_sources_resolve(const char *root, const struct bf_ignore *ignore, char *const *patterns, size_t n,
                       const char *what, struct bf_source **out, size_t *n_out, struct servin_sha256 *hash,
                       struct servin_error *err);
void bf_sources_free(struct bf_source *v, size_t n);
/* A relative path cleaned of "." and "..", or NULL when it would leave its root. */
char *bf_clean_rel(const char *path);

/* --- copy.c: COPY and ADD --- */

struct bf_copy_opts {
    const char *src_root;           /* the context, or the root of a stage or image */
    const struct bf_ignore *ignore; /* the context's .dockerignore, else NULL */
    const struct bf_source *sources;
    size_t n_sources;
    const char *dest; /* absolute path in the image */
    bool dest_is_dir;
    bool chown, chmod, keep_owner;
    uid_t uid;
    gid_t gid;
    mode_t mode;
    bool extract_archives; /* ADD */
};
int bf_copy(const struct bf_fs *fs, const struct bf_copy_opts *o, struct servin_error *err);
/* A file of the given text at dest (here-documents of COPY). */
int bf_copy_text(const struct bf_fs *fs, const char *dest, const char *text, mode_t mode, uid_t uid,
                 gid_t gid, struct servin_error *err);

/* --- the builder (build.c, stages.c, steps.c, instr.c) --- */

struct bf_stage {
    size_t index;
    char *name;        /* the "AS" name in lower case, or NULL */
    size_t first, end; /* its instructions in the file: [first, end), first is the FROM */
    bool needed, built;
    struct bf_state state;
    json_t *args; /* ARGs declared in the stage: name -> value string, or null when unset */
    bool cmd_set; /* CMD given in this stage (ENTRYPOINT then keeps it) */
    char *base;   /* FROM's image, expanded */
};

struct bf_builder {
    struct servin_store *store;
    const struct servin_build_opts *o;
    struct bf_context ctx;
    struct bf_file file;
    struct bf_stage *stages;
    size_t n_stages;
    json_t *meta_args;  /* ARGs before the first FROM: name -> value or null */
    json_t *build_args; /* --build-arg: name -> value */
    json_t *used_args;  /* build args some ARG consumed: name -> true */
    long long epoch;    /* SOURCE_DATE_EPOCH, or -1 */
    int step, n_steps;
    int exit_code;
    struct bf_stage *cur; /* the stage being built */
};

/* Lookups for expansion: a stage's ENV and ARGs, or the ARGs before the first FROM. */
const char *bf_stage_lookup(void *stage_builder, const char *name);
const char *bf_meta_lookup(void *builder, const char *name);
/* The time steps record: SOURCE_DATE_EPOCH or now, RFC 3339. */
void bf_created(const struct bf_builder *b, char out[64]);
/* Report an event. */
void bf_report(struct bf_builder *b, enum servin_build_event ev, const char *text, size_t len,
               double seconds);
void bf_reportf(struct bf_builder *b, enum servin_build_event ev, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* stages.c */
/* 0 when "os/arch[/variant]" is the host's platform (what a build can make), else ENOTSUP. */
int bf_platform_check(const char *platform, struct servin_error *err);
int bf_stages_split(struct bf_builder *b, struct servin_error *err);
/* The stage a name or index names among those before `before`, or NULL. */
struct bf_stage *bf_stage_find(struct bf_builder *b, const char *name, size_t before);
int bf_stages_mark_needed(struct bf_builder *b, struct servin_error *err);
int bf_exec_from(struct bf_builder *b, struct bf_stage *s, const struct bf_instr *in,
                 struct servin_error *err);
int bf_exec_arg(struct bf_builder *b, struct bf_stage *s, const struct bf_instr *in,
                struct servin_error *err);
/* A base or --from image: present in the store (unless pull), else pulled. */
int bf_image_state(struct bf_builder *b, const char *ref, bool pull, struct bf_state *out,
                   struct servin_error *err);

/* steps.c: RUN, COPY and ADD, with the cache. */
int bf_exec_run(struct bf_builder *b, struct bf_stage *s, const struct bf_instr *in,
                struct servin_error *err);
int bf_exec_copy(struct bf_builder *b, struct bf_stage *s, const struct bf_instr *in,
                 struct servin_error *err);
/* A step that is done when `apply` changed the config: cache lookup, apply, history, cache store. */
typedef int (*bf_apply_fn)(struct bf_builder *b, struct bf_stage *s, const struct bf_instr *in, void *data,
                           struct servin_error *err);
int bf_meta_step(struct bf_builder *b, struct bf_stage *s, const struct bf_instr *in, const char *created_by,
                 bf_apply_fn apply, void *data, struct servin_error *err);
/* 1 (and the state replaced) when the cache has the step and --no-cache is off. */
int bf_cache_lookup(struct bf_builder *b, struct bf_stage *s, const char *key);
/* Do `work` on a fresh overlay of the stage's state and make its changes the step's layer. */
typedef int (*bf_work_fn)(struct bf_builder *b, struct bf_stage *s, struct bf_fs *fs, void *data,
                          struct servin_error *err);
int bf_layer_step(struct bf_builder *b, struct bf_stage *s, const char *created_by, const char *key,
                  bf_work_fn work, void *data, struct servin_error *err);
/* Environment for RUN: "K=V" of the stage's ARGs with values that no ENV overrides. */
json_t *bf_run_args(struct bf_builder *b, struct bf_stage *s);

/* instr.c: the instructions that only change the config. */
int bf_exec_meta(struct bf_builder *b, struct bf_stage *s, const struct bf_instr *in,
                 struct servin_error *err);
/* The shell form's argv: the config's Shell (or /bin/sh -c) and the text. */
json_t *bf_shell_argv(struct bf_stage *s, const char *text);

#endif
