/* compose/paths.c — relative host paths of an extended or included file made absolute against
 * that file's directory (the project's own files resolve against the project directory later). */
#include <string.h>

#include "compose/compose_internal.h"
#include "servin/cleanup.h"

static void absolutize(struct cnode *n, const char *dir)
{
    if (!n || n->type != CN_SCALAR || !*n->s || n->s[0] == '/' || n->s[0] == '~' || strstr(n->s, "://") ||
        strncmp(n->s, "git@", 4) == 0)
        return;
    char *abs = strcmp(n->s, ".") == 0
                    ? xstrdup(dir)
                    : xasprintf("%s/%s", dir, strncmp(n->s, "./", 2) == 0 ? n->s + 2 : n->s);
    free(n->s);
    n->s = abs;
}

void cn_absolutize_paths(struct cnode *root, const char *dir)
{
    struct cnode *services = cn_get(root, "services");
    for (size_t i = 0; services && services->type == CN_MAP && i < services->n; i++) {
        struct cnode *s = services->items[i];
        if (s->type != CN_MAP)
            continue;
        struct cnode *build = cn_get(s, "build");
        if (build && build->type == CN_MAP) {
            if (!cn_get(build, "context"))
                cn_map_set(build, "context", cn_scalar(".", build), build);
            absolutize(cn_get(build, "context"), dir);
        }
        struct cnode *vols = cn_get(s, "volumes");
        for (size_t j = 0; vols && vols->type == CN_SEQ && j < vols->n; j++) {
            struct cnode *t = cn_get(vols->items[j], "type");
            if (t && t->type == CN_SCALAR && strcmp(t->s, "bind") == 0)
                absolutize(cn_get(vols->items[j], "source"), dir);
        }
        struct cnode *envf = cn_get(s, "env_file");
        for (size_t j = 0; envf && envf->type == CN_SEQ && j < envf->n; j++) {
            struct cnode *e = envf->items[j];
            absolutize(e->type == CN_MAP ? cn_get(e, "path") : e, dir);
        }
    }
    static const char *const file_sections[] = {"secrets", "configs", NULL};
    for (const char *const *sec = file_sections; *sec; sec++) {
        struct cnode *m = cn_get(root, *sec);
        for (size_t i = 0; m && m->type == CN_MAP && i < m->n; i++)
            absolutize(cn_get(m->items[i], "file"), dir);
    }
}
