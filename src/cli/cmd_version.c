/* cli/cmd_version.c — `servin version`. */
#include <archive.h>
#include <curl/curl.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/utsname.h>

#include "cli.h"
#include "servin/cleanup.h"
#include "servin/version.h"

static json_t *version_json(void)
{
    struct utsname u;
    uname(&u);
    curl_version_info_data *curl = curl_version_info(CURLVERSION_NOW);
    return json_pack("{s:{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s,s:s,s:s}}}", "Client", "Version",
                     SERVIN_VERSION, "APIVersion", SERVIN_API_VERSION, "GitCommit", SERVIN_GIT_COMMIT,
                     "BuiltTime", __DATE__ " " __TIME__, "Os", "linux", "Arch", u.machine, "Kernel", u.release,
                     "Compiler", __VERSION__, "Libraries", "sqlite", sqlite3_libversion(), "libcurl",
                     curl->version, "libarchive", archive_version_details(), "jansson", JANSSON_VERSION);
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
