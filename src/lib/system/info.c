/* system/info.c — the build's version and the host's and store's facts, for every front end. */
#include <archive.h>
#include <curl/curl.h>
#include <pthread.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "servin/cleanup.h"
#include "servin/container.h"
#include "servin/system.h"
#include "servin/version.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* libarchive rebuilds this text in one static buffer at each call: two threads of the daemon
 * calling it at once can lose one of its reallocations (LeakSanitizer saw it). Ask once. */
static char *libarchive_details;
static void read_libarchive_details(void)
{
    libarchive_details = xstrdup(archive_version_details());
}

json_t *servin_version_json(void)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, read_libarchive_details);
    struct utsname u;
    uname(&u);
    curl_version_info_data *curl = curl_version_info(CURLVERSION_NOW);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s,s:s,s:s}}", "Version", SERVIN_VERSION,
                     "ApiVersion", SERVIN_API_VERSION, "MinAPIVersion", SERVIN_MIN_API_VERSION, "GitCommit",
                     SERVIN_GIT_COMMIT, "BuildTime", __DATE__ " " __TIME__, "Os", "linux", "Arch", u.machine,
                     "KernelVersion", u.release, "Compiler", __VERSION__, "Libraries", "sqlite",
                     sqlite3_libversion(), "libcurl", curl->version, "libarchive", libarchive_details,
                     "jansson", JANSSON_VERSION);
}

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

/* "2" on a pure v2 host; a hybrid host whose controllers are v1 counts as "1". */
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
            json_decref(name);
            name = json_string(v);
        }
    }
    if (f)
        fclose(f);
    return name ? name : json_string("Linux");
}

int servin_system_info(struct servin_store *store, json_t **out, struct servin_error *err)
{
    struct servin_container *list = NULL;
    size_t n = 0;
    int r = servin_container_list(store, &list, &n, err);
    if (r < 0)
        return r;
    int running = 0, paused = 0, stopped = 0;
    for (size_t i = 0; i < n; i++) {
        if (list[i].state == SERVIN_CONTAINER_RUNNING || list[i].state == SERVIN_CONTAINER_RESTARTING)
            running++;
        else if (list[i].state == SERVIN_CONTAINER_PAUSED)
            paused++;
        else
            stopped++;
    }
    servin_containers_free(list, n);

    struct utsname u;
    struct sysinfo si;
    uname(&u);
    sysinfo(&si);
    char hostname[256] = "";
    gethostname(hostname, sizeof(hostname) - 1);
    *out = json_pack("{s:s,s:s,s:s,s:s,s:i,s:i,s:i,s:i,s:i,s:I,s:I,s:s,s:[[s,s]],s:s,s:s,s:o,s:s,s:s,s:i,s:I,"
                     "s:s,s:s,s:s,s:s,s:{s:[s],s:[s],s:[s]},s:b,s:b,s:b,s:b}",
                     "ID", "servin", "Name", hostname, "ServerVersion", SERVIN_VERSION, "DockerRootDir",
                     store->root, "SchemaVersion", servin_store_db_version(store), "Containers", (int)n,
                     "ContainersRunning", running, "ContainersPaused", paused, "ContainersStopped", stopped,
                     "Images", (json_int_t)count_rows(store, "images"), "Layers",
                     (json_int_t)count_rows(store, "layers"), "Driver", "overlay2", "DriverStatus",
                     "Backing Filesystem", "extfs", "KernelVersion", u.release, "OSType", "linux",
                     "OperatingSystem", read_os_name(), "OSVersion", "", "Architecture", u.machine, "NCPU",
                     (int)sysconf(_SC_NPROCESSORS_ONLN), "MemTotal", (json_int_t)si.totalram * si.mem_unit,
                     "CgroupVersion", cgroup_version(), "CgroupDriver", "cgroupfs", "LoggingDriver",
                     "json-file", "RunRoot", store->run_root, "Plugins", "Volume", "local", "Network", "bridge",
                     "Log", "json-file", "MemoryLimit", 1, "SwapLimit", 1, "CpuCfsPeriod", 1, "CpuCfsQuota", 1);
    json_object_set_new(*out, "DefaultRuntime", json_string("servin"));
    json_object_set_new(*out, "Runtimes", json_pack("{s:{s:s}}", "servin", "path", "servin-runtime"));
    json_object_set_new(*out, "SecurityOptions", json_pack("[s,s]", "name=seccomp,profile=builtin", "name=cgroupns"));
    json_object_set_new(*out, "IndexServerAddress", json_string("https://index.docker.io/v1/"));
    json_object_set_new(*out, "RegistryConfig",
                        json_pack("{s:{},s:[],s:[]}", "IndexConfigs", "InsecureRegistryCIDRs", "Mirrors"));
    json_object_set_new(*out, "Labels", json_array());
    json_object_set_new(*out, "Warnings", json_array());
    return 0;
}
