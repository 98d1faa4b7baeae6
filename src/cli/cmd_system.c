/* cli/cmd_system.c — `servin system info`. */
#include <string.h>

#include "cli.h"
#include "servin/cleanup.h"
#include "servin/config.h"
#include "servin/system.h"

/* Every effective setting and where it came from: {"File", "FileRead", "Settings": {key: {Value, Source}}}. */
static json_t *config_info(const struct servin_config *cfg)
{
    json_t *settings = json_object();
    for (size_t i = 0; i < servin_config_n_keys(); i++) {
        if (servin_config_key_is_alias(i))
            continue;
        _cleanup_free_ char *v = servin_config_key_value(cfg, i);
        json_object_set_new(settings, servin_config_key_name(i),
                            json_pack("{s:s,s:s}", "Value", v, "Source", servin_config_source_name(cfg->sources[i])));
    }
    return json_pack("{s:s,s:b,s:o}", "File", cfg->path, "FileRead", cfg->file_read, "Settings", settings);
}

static void print_config(json_t *ci)
{
    printf("Configuration File: %s%s\n", json_string_value(json_object_get(ci, "File")),
           json_is_true(json_object_get(ci, "FileRead")) ? "" : " (not found: defaults)");
    printf("Configuration:\n");
    const char *key;
    json_t *v;
    json_object_foreach (json_object_get(ci, "Settings"), key, v)
        printf(" %s: %s (%s)\n", key, json_string_value(json_object_get(v, "Value")),
               json_string_value(json_object_get(v, "Source")));
}

int cmd_system_info(struct cli_ctx *ctx, int argc, char **argv)
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
    struct servin_store *store = cli_store(ctx);
    if (!store)
        return CLI_EXIT_FAILURE;

    struct servin_error err = {0};
    json_t *info = NULL;
    if (servin_system_info(store, &info, &err) < 0)
        return cli_fail(&err);
    json_object_set_new(info, "LoggingDriver", json_string(ctx->config->logging.driver));
    json_object_set_new(info, "ServinConfig", config_info(ctx->config));

    int code = 0;
    if (format && strcmp(format, "json") == 0) {
        json_dumpf(info, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
    } else if (format) {
        if (cli_format_render(format, info, stdout, &err) < 0)
            code = cli_fail(&err);
    } else {
#define S(k) json_string_value(json_object_get(info, k))
#define I(k) (long long)json_integer_value(json_object_get(info, k))
        _cleanup_free_ char *mem = cli_human_size((double)I("MemTotal"));
        printf("Server Version: %s\nStorage Driver: overlay\nRoot Dir: %s\nRun Root: %s\nSchema Version: %lld\n"
               "Images: %lld\nLayers: %lld\nContainers: %lld\n Running: %lld\n Paused: %lld\n Stopped: %lld\n"
               "Logging Driver: %s\nCgroup Driver: cgroupfs\n"
               "Cgroup Version: %s\nKernel Version: %s\nOperating System: %s\nOSType: linux\nArchitecture: %s\n"
               "CPUs: %lld\nTotal Memory: %s\n",
               S("ServerVersion"), S("DockerRootDir"), S("RunRoot"), I("SchemaVersion"), I("Images"), I("Layers"),
               I("Containers"), I("ContainersRunning"), I("ContainersPaused"), I("ContainersStopped"),
               S("LoggingDriver"), S("CgroupVersion"), S("KernelVersion"), S("OperatingSystem"), S("Architecture"), I("NCPU"), mem);
#undef S
#undef I
        print_config(json_object_get(info, "ServinConfig"));
    }
    json_decref(info);
    return code;
}
