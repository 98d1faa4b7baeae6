/* cli/cmd_version.c — `servin version`. */
#include <string.h>

#include "cli.h"
#include "servin/cleanup.h"
#include "servin/system.h"

/* The library's build facts under the names `servin version` has always printed. */
static json_t *version_json(void)
{
    json_t *v = servin_version_json();
    json_t *client = json_pack("{s:O,s:O,s:O,s:O,s:s,s:O,s:O,s:O,s:O}", "Version", json_object_get(v, "Version"),
                               "APIVersion", json_object_get(v, "ApiVersion"), "GitCommit",
                               json_object_get(v, "GitCommit"), "BuiltTime", json_object_get(v, "BuildTime"), "Os",
                               "linux", "Arch", json_object_get(v, "Arch"), "Kernel",
                               json_object_get(v, "KernelVersion"), "Compiler", json_object_get(v, "Compiler"),
                               "Libraries", json_object_get(v, "Libraries"));
    json_decref(v);
    return json_pack("{s:o}", "Client", client);
}

int cmd_version(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"format", required_argument, 0, 'f'}, {"help", no_argument, 0, 'h'}, {0}};
    const char *format = NULL;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "f:h", longopts)) != -1) {
        if (c == 'h')
            return 0;
        if (c == '?')
            return CLI_EXIT_USAGE;
        format = optarg;
    }
    if (optind < argc)
        return cli_usage_error(ctx, "\"servin version\" accepts no arguments");

    json_t *v = version_json();
    int code = 0;
    if (format && strcmp(format, "json") == 0) {
        json_dumpf(v, stdout, JSON_COMPACT);
        fputc('\n', stdout);
    } else if (format) {
        struct servin_error err = {0};
        if (cli_format_render(format, v, stdout, &err) < 0)
            code = cli_fail(&err);
    } else {
        json_t *cl = json_object_get(v, "Client");
        printf("Client:\n Version:     %s\n API version: %s\n Git commit:  %s\n Built:       %s\n"
               " OS/Arch:     linux/%s\n",
               json_string_value(json_object_get(cl, "Version")), json_string_value(json_object_get(cl, "APIVersion")),
               json_string_value(json_object_get(cl, "GitCommit")), json_string_value(json_object_get(cl, "BuiltTime")),
               json_string_value(json_object_get(cl, "Arch")));
    }
    json_decref(v);
    return code;
}
