/* compose/compose_internal.h — the generic node tree every compose file becomes (YAML with line
 * numbers, merge keys resolved), and the steps that turn trees into the project model. */
#ifndef SERVIN_COMPOSE_INTERNAL_H
#define SERVIN_COMPOSE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include "servin/compose.h"

enum cn_type { CN_NULL, CN_SCALAR, CN_SEQ, CN_MAP };

struct cnode {
    enum cn_type type;
    const char *file; /* display name, owned by the loader */
    int line, col;
    char *s;     /* CN_SCALAR: the text */
    bool quoted; /* CN_SCALAR: written quoted (so "true" is a string) */
    char *tag;   /* "!reset", "!override", or NULL */
    size_t n;
    struct cnode **items; /* CN_SEQ: elements; CN_MAP: values */
    struct cnode **keys;  /* CN_MAP: key scalars */
};

/* What every step shares: where errors and warnings go, and the variables. */
struct cctx {
    struct servin_error *err;
    servin_compose_warn_fn warn;
    void *warn_arg;
    char **warned;                     /* messages already given (each warns once) */
    struct servin_compose_kvlist *env; /* interpolation variables */
    const char *project_dir;
    size_t budget; /* nodes left: aliases may not expand without bound */
    char **names;  /* file names nodes point to, freed after the trees */
};

/* node.c */
struct cnode *cn_new(enum cn_type t, const struct cnode *at);
struct cnode *cn_scalar(const char *s, const struct cnode *at);
struct cnode *cn_copy(const struct cnode *n);
void cn_free(struct cnode *n);
void cn_seq_add(struct cnode *seq, struct cnode *item);
void cn_map_set(struct cnode *map, const char *key, struct cnode *val, const struct cnode *at);
struct cnode *cn_get(const struct cnode *map, const char *key);
int cn_index(const struct cnode *map, const char *key);
void cn_map_remove(struct cnode *map, size_t i);
const char *cn_kind(const struct cnode *n); /* "a string", "a sequence", "a mapping", "null" */
int cfail(struct cctx *c, const struct cnode *at, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void cwarn(struct cctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* yaml_load.c: parse one file into a tree (anchors and aliases copied, "<<" merged). */
int cn_load_file(struct cctx *c, const char *path, const char *display, struct cnode **out);

/* interpolate.c */
int cn_interpolate(struct cctx *c, struct cnode *root);
/* One string: *out allocated. path names the value for errors. */
int compose_interpolate_str(struct cctx *c, const struct cnode *at, const char *path, const char *in,
                            char **out);

/* normalize.c: short syntaxes to long ones, per file, with type checks that name the line. */
int cn_normalize(struct cctx *c, struct cnode *root);

/* extends.c: services.*.extends resolved in one file's tree (dir: that file's directory) */
int cn_extends(struct cctx *c, struct cnode *root, const char *dir);

/* include.c: top-level include: the files' resources added to root (a conflict is an error) */
int cn_include(struct cctx *c, struct cnode *root, const char *dir, int depth);
/* load.c: one file through every per-file step (parse, interpolate, normalize, extends, include) */
int compose_load_tree(struct cctx *c, const char *path, const char *display, int depth, struct cnode **out);

/* paths.c: relative host paths in a tree made absolute against dir */
void cn_absolutize_paths(struct cnode *root, const char *dir);

/* merge.c: override merged into base (base is changed, override consumed). */
void cn_merge(struct cnode *base, struct cnode *override);

/* env.c */
void ckv_set(struct servin_compose_kvlist *l, const char *key, const char *value);
const char *ckv_get(const struct servin_compose_kvlist *l, const char *key, bool *found);
void ckv_free(struct servin_compose_kvlist *l);
/* Read a dotenv file into l (later keys override); values may use ${VAR} of env or earlier keys. */
int compose_read_env_file(struct cctx *c, const char *path, struct servin_compose_kvlist *l,
                          const struct servin_compose_kvlist *env);

/* model_service.c, model_top.c: tree -> structs, with the schema's checks. */
int compose_build_service(struct cctx *c, const char *name, const struct cnode *n,
                          struct servin_compose_service *s);
int compose_build_top(struct cctx *c, const struct cnode *root, struct servin_compose_project *p);
void compose_service_free(struct servin_compose_service *s);

/* typed readers shared by the model files (model_values.c) */
int cn_str(struct cctx *c, const struct cnode *n, const char *path, char **out);
int cn_bool(struct cctx *c, const struct cnode *n, const char *path, bool *out);
int cn_int(struct cctx *c, const struct cnode *n, const char *path, long long min, long long *out);
int cn_duration(struct cctx *c, const struct cnode *n, const char *path, int64_t *ns);
int cn_bytes(struct cctx *c, const struct cnode *n, const char *path, int64_t *bytes);
int cn_strv(struct cctx *c, const struct cnode *n, const char *path, char ***out);
int cn_kvlist(struct cctx *c, const struct cnode *n, const char *path, struct servin_compose_kvlist *out);
int cn_expect(struct cctx *c, const struct cnode *n, const char *path, enum cn_type t);
char **cstrv_add(char **v, const char *s);
size_t cstrv_len(char *const *v);
char **cstrv_dup(char *const *v);

/* order.c: cycle_at names the service whose depends_on closes a cycle */
int compose_order(const struct servin_compose_project *p, char *const *names, bool with_deps,
                  struct servin_compose_service ***out, size_t *n_out, const char **cycle_at,
                  struct servin_error *err);

/* json.c */
struct json_t;
struct json_t *compose_service_json(const struct servin_compose_project *p,
                                    const struct servin_compose_service *s);

#endif
