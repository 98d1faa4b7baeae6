/* cli/cmd_compose_config.c — `servin compose config`: the resolved model as YAML or JSON, or only
 * names (--services, --volumes...), or nothing but the validation (-q). */
#include <errno.h>
#include <string.h>

#include "compose_cli.h"
#include "servin/cleanup.h"

enum list_what { LIST_NONE, LIST_SERVICES, LIST_VOLUMES, LIST_NETWORKS, LIST_PROFILES, LIST_IMAGES };

static bool listed(char *const *v, const char *s)
{
    for (; v && *v; v++)
        if (strcmp(*v, s) == 0)
            return true;
    return false;
}

/* "web,db" names web and db */
static bool in_comma_list(const char *list, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        p = comma ? comma + 1 : NULL;
    }
    return false;
}

static void list(const struct servin_compose_project *p, enum list_what what, FILE *out)
{
    switch (what) {
    case LIST_SERVICES: {
        /* in dependency order, as docker compose prints them */
        struct servin_compose_service **order = NULL;
        size_t n = 0;
        struct servin_error err = {0};
        if (servin_compose_order(p, NULL, true, &order, &n, &err) == 0)
            for (size_t i = 0; i < n; i++)
                fprintf(out, "%s\n", order[i]->name);
        free(order);
        break;
    }
    case LIST_VOLUMES:
        for (size_t i = 0; i < p->n_volumes; i++)
            fprintf(out, "%s\n", p->volumes[i].key);
        break;
    case LIST_NETWORKS:
        for (size_t i = 0; i < p->n_networks; i++)
            fprintf(out, "%s\n", p->networks[i].key);
        break;
    case LIST_PROFILES: {
        char **seen = NULL;
        size_t n = 0;
        for (size_t i = 0; i < p->n_services; i++)
            for (char **pr = p->services[i].profiles; pr && *pr; pr++)
                if (!listed(seen, *pr)) {
                    seen = xreallocarray(seen, n + 2, sizeof(*seen));
                    seen[n++] = xstrdup(*pr);
                    seen[n] = NULL;
                }
        for (size_t i = 0; i < n; i++)
            fprintf(out, "%s\n", seen[i]);
        strv_free(seen);
        break;
    }
    case LIST_IMAGES:
        for (size_t i = 0; i < p->n_services; i++) {
            const struct servin_compose_service *s = &p->services[i];
            if (s->image)
                fprintf(out, "%s\n", s->image);
            else
                fprintf(out, "%s-%s\n", p->name, s->name);
        }
        break;
    default:
        break;
    }
}

int cmd_compose_config(struct compose_cli *cc, int argc, char **argv)
{
    static const struct option longopts[] = {{"format", required_argument, 0, 'F'},
                                             {"hash", required_argument, 0, 'H'},
                                             {"images", no_argument, 0, 'I'},
                                             {"networks", no_argument, 0, 'N'},
                                             {"output", required_argument, 0, 'o'},
                                             {"profiles", no_argument, 0, 'P'},
                                             {"quiet", no_argument, 0, 'q'},
                                             {"services", no_argument, 0, 'S'},
                                             {"volumes", no_argument, 0, 'V'},
                                             {"help", no_argument, 0, 'h'},
                                             {0, 0, 0, 0}};
    const char *format = "yaml", *hash = NULL, *output = NULL;
    bool quiet = false;
    enum list_what what = LIST_NONE;
    int c;
    while ((c = cli_getopt(cc->ctx, argc, argv, "o:qh", longopts)) != -1) {
        switch (c) {
        case 'F':
            format = optarg;
            break;
        case 'H':
            hash = optarg;
            break;
        case 'I':
            what = LIST_IMAGES;
            break;
        case 'N':
            what = LIST_NETWORKS;
            break;
        case 'o':
            output = optarg;
            break;
        case 'P':
            what = LIST_PROFILES;
            break;
        case 'q':
            quiet = true;
            break;
        case 'S':
            what = LIST_SERVICES;
            break;
        case 'V':
            what = LIST_VOLUMES;
            break;
        case 'h':
            return CLI_EXIT_OK;
        default:
            return CLI_EXIT_USAGE;
        }
    }
    if (strcmp(format, "yaml") != 0 && strcmp(format, "json") != 0)
        return cli_usage_error(cc->ctx, "unsupported format \"%s\" (yaml or json)", format);
    struct servin_compose_project *p =
        what == LIST_PROFILES ? compose_cli_project_all_profiles(cc) : compose_cli_project(cc);
    if (!p)
        return CLI_EXIT_FAILURE;
    for (int i = optind; i < argc; i++)
        if (!servin_compose_service_find(p, argv[i]))
            return cli_failf("no such service: %s", argv[i]);
    if (quiet)
        return CLI_EXIT_OK;
    _cleanup_fclose_ FILE *file = NULL;
    FILE *out = stdout;
    if (output) {
        file = fopen(output, "we");
        if (!file)
            return cli_failf("write %s: %s", output, strerror(errno));
        out = file;
    }
    if (hash) {
        for (size_t i = 0; i < p->n_services; i++) {
            const struct servin_compose_service *s = &p->services[i];
            if (strcmp(hash, "*") != 0 && !in_comma_list(hash, s->name))
                continue;
            char h[65];
            servin_compose_service_config_hash(p, s, h);
            fprintf(out, "%s %s\n", s->name, h);
        }
    } else if (what != LIST_NONE) {
        list(p, what, out);
    } else {
        /* SERVICE...: only those (shallow copies of their structs; the project keeps owning them) */
        struct servin_compose_service *all = p->services;
        size_t n_all = p->n_services;
        _cleanup_free_ struct servin_compose_service *some = NULL;
        if (optind < argc) {
            some = xcalloc((size_t)(argc - optind), sizeof(*some));
            size_t k = 0;
            for (size_t i = 0; i < n_all; i++)
                for (int a = optind; a < argc; a++)
                    if (strcmp(all[i].name, argv[a]) == 0) {
                        some[k++] = all[i];
                        break;
                    }
            p->services = some;
            p->n_services = k;
        }
        if (strcmp(format, "json") == 0)
            servin_compose_project_write_json(p, out);
        else
            servin_compose_project_write_yaml(p, out);
        p->services = all;
        p->n_services = n_all;
    }
    if (fflush(out) != 0)
        return cli_failf("write the configuration: %s", strerror(errno));
    return CLI_EXIT_OK;
}
