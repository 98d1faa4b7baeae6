/* cli/cmd_system.c — `servin system info`. */
#include <string.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "cli.h"
#include "servin/cleanup.h"
#include "servin/version.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

static long long count_rows(struct servin_store *store, const char *table)
{
    _cleanup_free_ char *sql = xasprintf("SELECT count(*) FROM %s", table);
    sqlite3_stmt *stmt = NULL;
    long long n = -1;
    if (sqlite3_prepare_v2(store->db, sql, -1, &stmt, NULL) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW)
        n = sqlite3_column_int64(stmt, 0);
    sqlite3_finalize(stmt);
    return n;
}

/* "1" on a pure v2 host, "1" with a hybrid v2 tree still counts as v1: the controllers are v1. */
static const char *cgroup_version(void)
{
    struct statfs fs;
    if (statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC)
        return "2";
    return "1";
}

static json_t *read_os_name(void)
{
    FILE *f = fopen("/etc/os-release", "re");
    char line[512];
    json_t *name = NULL;
    while (f && fgets(line, sizeof(line), f)) {
        if (strncmp(line, "PRETTY_NAME=", 12) == 0) {
            char *v = line + 12;
            v[strcspn(v, "\n")] = '\0';
            if (*v == '"') {
                v++;
                v[strcspn(v, "\"")] = '\0';
            }
            name = json_string(v);
        }
    }
    if (f)
        fclose(f);
    return name ? name : json_string("Linux");
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

    struct utsname u;
    struct sysinfo si;
    uname(&u);
    sysinfo(&si);
    json_t *info = json_pack(
        "{s:s,s:s,s:s,s:i,s:i,s:I,s:I,s:s,s:s,s:s,s:o,s:s,s:i,s:I,s:s,s:s,s:s}", "ServerVersion", SERVIN_VERSION,
        "DockerRootDir", store->root, "RunRoot", store->run_root, "SchemaVersion", servin_store_db_version(store),
        "Containers", 0, "Images", (json_int_t)count_rows(store, "images"), "Layers",
        (json_int_t)count_rows(store, "layers"), "Driver", "overlay", "KernelVersion", u.release, "OSType", "linux",
        "OperatingSystem", read_os_name(), "Architecture", u.machine, "NCPU", (int)sysconf(_SC_NPROCESSORS_ONLN),
        "MemTotal", (json_int_t)si.totalram * si.mem_unit, "CgroupVersion", cgroup_version(), "CgroupDriver",
        "cgroupfs", "LoggingDriver", "json-file");

    int code = 0;
    if (format && strcmp(format, "json") == 0) {
        json_dumpf(info, stdout, JSON_INDENT(2));
        fputc('\n', stdout);
    } else if (format) {
        struct servin_error err = {0};
        if (cli_format_render(format, info, stdout, &err) < 0)
            code = cli_fail(&err);
    } else {
        _cleanup_free_ char *mem = cli_human_size((double)json_integer_value(json_object_get(info, "MemTotal")));
        printf("Server Version: %s\nStorage Driver: overlay\nRoot Dir: %s\nRun Root: %s\nSchema Version: %d\n"
               "Images: %lld\nLayers: %lld\nContainers: 0\nLogging Driver: json-file\nCgroup Driver: cgroupfs\n"
               "Cgroup Version: %s\nKernel Version: %s\nOperating System: %s\nOSType: linux\nArchitecture: %s\n"
               "CPUs: %ld\nTotal Memory: %s\n",
               SERVIN_VERSION, store->root, store->run_root, servin_store_db_version(store),
               (long long)count_rows(store, "images"), (long long)count_rows(store, "layers"), cgroup_version(),
               u.release, json_string_value(json_object_get(info, "OperatingSystem")), u.machine,
               sysconf(_SC_NPROCESSORS_ONLN), mem);
    }
    json_decref(info);
    return code;
}
