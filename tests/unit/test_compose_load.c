/* Unit tests for loading compose files: interpolation, merge rules, anchors and merge keys,
 * profiles, names, env files, dependency order and cycles, and every error with its line. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "servin/cleanup.h"
#include "servin/compose.h"

static char root[] = "/tmp/servin-compose-test-XXXXXX";
static char last_error[SERVIN_ERROR_MSG_MAX];
static int n_warnings;
static char last_warning[1024];

static char *put(const char *dir, const char *name, const char *text)
{
    _cleanup_free_ char *d = xasprintf("%s/%s", root, dir);
    for (char *slash = strchr(d + strlen(root) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = 0;
        mkdir(d, 0755);
        *slash = '/';
    }
    mkdir(d, 0755);
    char *path = xasprintf("%s/%s", d, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void on_warn(void *arg, const char *msg)
{
    n_warnings++;
    snprintf(last_warning, sizeof(last_warning), "%s", msg);
}

/* Load the files of dir (NULL-terminated names; none = discovery) with only env as environment. */
static struct servin_compose_project *load_opts(const char *dir, const char *const *names, char *const *env,
                                                struct servin_compose_options *o)
{
    _cleanup_free_ char *d = xasprintf("%s/%s", root, dir);
    char **files = NULL;
    size_t n = 0;
    for (; names && names[n]; n++) {
        files = xreallocarray(files, n + 2, sizeof(*files));
        files[n] = xasprintf("%s/%s", d, names[n]);
        files[n + 1] = NULL;
    }
    static char *const no_env[] = {NULL};
    o->files = files;
    o->environ = env ? env : no_env;
    o->warn = on_warn;
    if (!names)
        o->project_dir = d;
    struct servin_compose_project *p = NULL;
    struct servin_error err = {0};
    n_warnings = 0;
    int r = servin_compose_load(o, &p, &err);
    strv_free(files);
    snprintf(last_error, sizeof(last_error), "%s", r < 0 ? err.msg : "");
    if (r < 0)
        assert_null(p);
    return p;
}

static struct servin_compose_project *load(const char *dir, const char *const *names, char *const *env)
{
    struct servin_compose_options o = {0};
    return load_opts(dir, names, env, &o);
}

static struct servin_compose_project *load_text(const char *dir, const char *text, char *const *env)
{
    free(put(dir, "compose.yaml", text));
    const char *names[] = {"compose.yaml", NULL};
    return load(dir, names, env);
}

static void assert_error(const char *dir, const char *text, char *const *env, const char *expected)
{
    struct servin_compose_project *p = load_text(dir, text, env);
    if (p)
        fail_msg("loaded without the error \"%s\"", expected);
    if (!strstr(last_error, expected))
        fail_msg("error \"%s\" lacks \"%s\"", last_error, expected);
}

static const char *env_of(const struct servin_compose_service *s, const char *key)
{
    for (size_t i = 0; i < s->environment.n; i++)
        if (strcmp(s->environment.items[i].key, key) == 0)
            return s->environment.items[i].value ? s->environment.items[i].value : "<null>";
    return NULL;
}

static const char *kv_of(const struct servin_compose_kvlist *l, const char *key)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->items[i].key, key) == 0)
            return l->items[i].value;
    return NULL;
}

static void interpolation(void **state)
{
    char *env[] = {"A=1", "EMPTY=", "TAG=v2", NULL};
    struct servin_compose_project *p = load_text("interp",
                                                 "services:\n"
                                                 "  web:\n"
                                                 "    image: \"busybox:${TAG}\"\n"
                                                 "    environment:\n"
                                                 "      PLAIN: $A\n"
                                                 "      BRACED: x${A}y\n"
                                                 "      DEF: ${B:-def}\n"
                                                 "      EMPTY_COLON: ${EMPTY:-d1}\n"
                                                 "      EMPTY_DASH: \"<${EMPTY-d2}>\"\n"
                                                 "      UNSET_DASH: ${B-d3}\n"
                                                 "      ALT: ${A:+alt}\n"
                                                 "      NOALT: \"<${B:+alt}>\"\n"
                                                 "      ALT_PLUS_EMPTY: \"<${EMPTY+set}>\"\n"
                                                 "      DOLLAR: $$HOME and $${A}\n"
                                                 "      NESTED: ${B:-${A}x}\n"
                                                 "      REQ: ${A:?never}\n"
                                                 "      UNSET: \"<${NOT_SET}>\"\n"
                                                 "    labels:\n"
                                                 "      $A: keys stay\n",
                                                 env);
    assert_non_null(p);
    struct servin_compose_service *s = servin_compose_service_find(p, "web");
    assert_non_null(s);
    assert_string_equal(s->image, "busybox:v2");
    assert_string_equal(env_of(s, "PLAIN"), "1");
    assert_string_equal(env_of(s, "BRACED"), "x1y");
    assert_string_equal(env_of(s, "DEF"), "def");
    assert_string_equal(env_of(s, "EMPTY_COLON"), "d1");
    assert_string_equal(env_of(s, "EMPTY_DASH"), "<>");
    assert_string_equal(env_of(s, "UNSET_DASH"), "d3");
    assert_string_equal(env_of(s, "ALT"), "alt");
    assert_string_equal(env_of(s, "NOALT"), "<>");
    assert_string_equal(env_of(s, "ALT_PLUS_EMPTY"), "<set>");
    assert_string_equal(env_of(s, "DOLLAR"), "$HOME and ${A}");
    assert_string_equal(env_of(s, "NESTED"), "1x");
    assert_string_equal(env_of(s, "REQ"), "1");
    assert_string_equal(env_of(s, "UNSET"), "<>");
    assert_non_null(strstr(last_warning, "NOT_SET"));
    assert_string_equal(kv_of(&s->labels, "$A"), "keys stay");
    servin_compose_project_free(p);
}

static void required_variable(void **state)
{
    assert_error(
        "req",
        "services:\n"
        "  web:\n"
        "    image: busybox\n"
        "    user: ${RUN_AS:?set RUN_AS to the user}\n",
        NULL, "compose.yaml:4: services.web.user: required variable RUN_AS is missing a value: set RUN_AS");
    char *empty[] = {"RUN_AS=", NULL};
    assert_error("req", "services:\n  web:\n    image: busybox\n    user: ${RUN_AS:?}\n", empty,
                 "compose.yaml:4: services.web.user: required variable RUN_AS is missing a value");
    /* "?" without the colon accepts an empty value */
    struct servin_compose_project *p =
        load_text("req", "services:\n  web:\n    image: busybox\n    user: \"<${RUN_AS?x}>\"\n", empty);
    assert_non_null(p);
    assert_string_equal(p->services[0].user, "<>");
    servin_compose_project_free(p);
    assert_error("req", "services:\n  web:\n    image: ${UNCLOSED\n", NULL,
                 "compose.yaml:3: services.web.image: invalid interpolation format");
}

static void merge_rules(void **state)
{
    free(put("merge", "compose.yaml",
             "services:\n"
             "  web:\n"
             "    image: busybox\n"
             "    command: [sleep, '100']\n"
             "    environment: [A=1, B=2]\n"
             "    labels: {one: '1'}\n"
             "    ports: ['8080:80']\n"
             "    expose: ['3000']\n"
             "    dns: 1.1.1.1\n"
             "    volumes: ['data:/data', '/old:/conf', '/bind:/swap', '/keep:/merged:ro']\n"
             "    healthcheck: {test: [CMD, 'true'], retries: 2}\n"
             "volumes: {data: {}}\n"));
    free(put("merge", "override.yaml",
             "services:\n"
             "  web:\n"
             "    command: echo hi\n"
             "    environment: {B: three, C: '4'}\n"
             "    labels: [two=2]\n"
             "    ports: ['8080:80', '9090:90']\n"
             "    expose: ['3000', '4000']\n"
             "    dns: !reset []\n"
             "    volumes: ['/new:/conf:ro', 'data:/swap', {target: /merged, type: bind, source: /kept}]\n"
             "    healthcheck: {test: [CMD, 'false']}\n"
             "  extra:\n"
             "    image: alpine\n"));
    const char *names[] = {"compose.yaml", "override.yaml", NULL};
    struct servin_compose_project *p = load("merge", names, NULL);
    assert_non_null(p);
    assert_int_equal(p->n_services, 2);
    struct servin_compose_service *s = servin_compose_service_find(p, "web");
    assert_string_equal(s->image, "busybox");
    assert_string_equal(s->command[0], "echo");
    assert_string_equal(s->command[1], "hi");
    assert_null(s->command[2]);
    assert_string_equal(env_of(s, "A"), "1");
    assert_string_equal(env_of(s, "B"), "three");
    assert_string_equal(env_of(s, "C"), "4");
    assert_string_equal(kv_of(&s->labels, "one"), "1");
    assert_string_equal(kv_of(&s->labels, "two"), "2");
    assert_int_equal(s->n_ports, 2);
    assert_int_equal(s->ports[0].target, 80);
    assert_string_equal(s->ports[0].published, "8080");
    assert_int_equal(s->ports[1].target, 90);
    assert_string_equal(s->expose[0], "3000");
    assert_string_equal(s->expose[1], "4000");
    assert_null(s->expose[2]);
    assert_null(s->dns);
    assert_int_equal(s->n_volumes, 4);
    assert_string_equal(s->volumes[1].source, "/new");
    assert_string_equal(s->volumes[1].target, "/conf");
    assert_true(s->volumes[1].read_only);
    assert_int_equal(s->volumes[2].type, SERVIN_COMPOSE_MOUNT_VOLUME); /* another kind: replaced */
    assert_string_equal(s->volumes[2].source, "data");
    assert_string_equal(s->volumes[3].source, "/kept"); /* same target, same kind: merged */
    assert_true(s->volumes[3].read_only);
    assert_string_equal(s->healthcheck.test[1], "false");
    assert_null(s->healthcheck.test[2]);
    assert_int_equal(s->healthcheck.retries, 2);
    assert_non_null(p->files[1]);
    assert_null(p->files[2]);
    servin_compose_project_free(p);
}

static void reset_and_override_tags(void **state)
{
    free(put("tags", "compose.yaml",
             "services:\n"
             "  web:\n"
             "    image: x\n"
             "    ports: ['80:80', '81:81']\n"
             "    environment: {A: '1', B: '2'}\n"
             "    user: someone\n"));
    free(put("tags", "over.yaml",
             "services:\n"
             "  web:\n"
             "    ports: !override ['82:82']\n"
             "    environment: !override {C: '3'}\n"
             "    user: !reset null\n"));
    const char *names[] = {"compose.yaml", "over.yaml", NULL};
    struct servin_compose_project *p = load("tags", names, NULL);
    assert_non_null(p);
    struct servin_compose_service *s = &p->services[0];
    assert_int_equal(s->n_ports, 1);
    assert_int_equal(s->ports[0].target, 82);
    assert_null(env_of(s, "A"));
    assert_string_equal(env_of(s, "C"), "3");
    assert_null(s->user);
    servin_compose_project_free(p);
}

static void extends_services(void **state)
{
    free(put("ext", "common.yml",
             "services:\n"
             "  base:\n"
             "    image: common\n"
             "    environment: {FROM: common, LEVEL: '0'}\n"
             "    ports: ['80:80']\n"
             "  mid:\n"
             "    extends: base\n"
             "    environment: {LEVEL: '1'}\n"));
    struct servin_compose_project *p = load_text("ext",
                                                 "services:\n"
                                                 "  local:\n"
                                                 "    image: busybox\n"
                                                 "    command: [sleep, '1']\n"
                                                 "    labels: {a: '1'}\n"
                                                 "  child:\n"
                                                 "    extends: {service: local}\n"
                                                 "    command: echo child\n"
                                                 "    labels: {b: '2'}\n"
                                                 "  remote:\n"
                                                 "    extends: {file: common.yml, service: mid}\n"
                                                 "    ports: ['81:81']\n",
                                                 NULL);
    if (!p)
        fail_msg("%s", last_error);
    struct servin_compose_service *child = servin_compose_service_find(p, "child");
    assert_string_equal(child->image, "busybox");
    assert_string_equal(child->command[0], "echo");
    assert_string_equal(kv_of(&child->labels, "a"), "1");
    assert_string_equal(kv_of(&child->labels, "b"), "2");
    struct servin_compose_service *remote = servin_compose_service_find(p, "remote");
    assert_string_equal(remote->image, "common");
    assert_string_equal(env_of(remote, "FROM"), "common");
    assert_string_equal(env_of(remote, "LEVEL"), "1");
    assert_int_equal(remote->n_ports, 2);
    assert_null(servin_compose_service_find(p, "base")); /* only what this file defines */
    servin_compose_project_free(p);
    assert_error("ext", "services:\n  a: {image: x, extends: b}\n  b: {image: x, extends: a}\n", NULL,
                 "extends: a cycle");
    assert_error("ext", "services:\n  a:\n    image: x\n    extends: nope\n", NULL,
                 "compose.yaml:4: services.a.extends: service \"nope\" is not defined");
    assert_error("ext", "services:\n  a:\n    image: x\n    extends: {file: common.yml, service: nope}\n",
                 NULL, "services.a.extends: service \"nope\" is not defined in common.yml");
    assert_error("ext", "services:\n  a:\n    image: x\n    extends: {file: gone.yml, service: a}\n", NULL,
                 "gone.yml");
    free(put("ext", "broken.yml", "services:\n  b:\n    image: x\n    bogus: 1\n"));
    assert_error("ext", "services:\n  a:\n    image: x\n    extends: {file: broken.yml, service: b}\n", NULL,
                 "broken.yml:4: services.a.bogus: unknown key");
}

static void include_files(void **state)
{
    free(
        put("inc", "db.yml", "services:\n  db:\n    image: ${DB_IMAGE:-postgres}\nvolumes:\n  dbdata: {}\n"));
    free(put("inc", "cache.yml", "services:\n  cache: {image: redis}\n"));
    char *env[] = {"DB_IMAGE=pg16", NULL};
    struct servin_compose_project *p =
        load_text("inc",
                  "include:\n"
                  "  - db.yml\n"
                  "  - path: [cache.yml]\n"
                  "services:\n"
                  "  web: {image: x, depends_on: [db, cache], volumes: ['dbdata:/d']}\n",
                  env);
    if (!p)
        fail_msg("%s", last_error);
    assert_int_equal(p->n_services, 3);
    assert_string_equal(servin_compose_service_find(p, "db")->image, "pg16");
    assert_non_null(servin_compose_volume_find(p, "dbdata"));
    assert_string_equal(servin_compose_volume_find(p, "dbdata")->name, "inc_dbdata");
    servin_compose_project_free(p);
    assert_error("inc", "include: [db.yml]\nservices:\n  db: {image: x}\n", NULL,
                 "compose.yaml:3: services.db: conflicts with the one db.yml defines");
    free(put("inc", "loop.yml", "include: [loop.yml]\nservices: {l: {image: x}}\n"));
    assert_error("inc", "include: [loop.yml]\nservices:\n  web: {image: x}\n", NULL, "include: a cycle");
    assert_error("inc", "include: [nothere.yml]\nservices:\n  web: {image: x}\n", NULL,
                 "compose.yaml:1: include[0]: cannot read nothere.yml");
    free(put("inc", "bad.yml", "services:\n  b:\n    image: [x]\n"));
    assert_error("inc", "include: [bad.yml]\nservices:\n  web: {image: x}\n", NULL,
                 "bad.yml:3: services.b.image: expected a string, got a sequence");
}

static void paths_of_other_files(void **state)
{
    free(put("paths/sub", "common.yml",
             "services:\n"
             "  base:\n"
             "    build: ./app\n"
             "    volumes: ['./data:/data', 'named:/n']\n"
             "    env_file: vars.env\n"
             "secrets: {s: {file: s.txt}}\n"));
    free(put("paths/sub", "vars.env", "V=sub\n"));
    free(put("paths/sub", "inc.yml", "services:\n  inc: {image: x, volumes: ['../here:/h']}\n"));
    struct servin_compose_project *p = load_text("paths",
                                                 "include: [sub/inc.yml]\n"
                                                 "services:\n"
                                                 "  web:\n"
                                                 "    extends: {file: sub/common.yml, service: base}\n"
                                                 "    volumes: ['named:/n', './mine:/mine']\n"
                                                 "volumes: {named: {}}\n",
                                                 NULL);
    if (!p)
        fail_msg("%s", last_error);
    struct servin_compose_service *web = servin_compose_service_find(p, "web");
    _cleanup_free_ char *ctx = xasprintf("%s/paths/sub/app", root);
    _cleanup_free_ char *data = xasprintf("%s/paths/sub/data", root);
    _cleanup_free_ char *mine = xasprintf("%s/paths/mine", root);
    _cleanup_free_ char *here = xasprintf("%s/paths/sub/../here", root);
    assert_string_equal(web->build->context, ctx);
    assert_int_equal(web->n_volumes, 3);
    assert_string_equal(web->volumes[0].source, data);
    assert_string_equal(web->volumes[2].source, mine);
    assert_string_equal(env_of(web, "V"), "sub");
    assert_string_equal(servin_compose_service_find(p, "inc")->volumes[0].source, here);
    servin_compose_project_free(p);
}

static void alias_bomb_is_refused(void **state)
{
    char text[2048];
    size_t off = (size_t)snprintf(text, sizeof(text), "x-a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 9; i++) {
        off += (size_t)snprintf(text + off, sizeof(text) - off, "x-a%d: &a%d [", i, i);
        for (int j = 0; j < 10; j++)
            off += (size_t)snprintf(text + off, sizeof(text) - off, "%s*a%d", j ? ", " : "", i - 1);
        off += (size_t)snprintf(text + off, sizeof(text) - off, "]\n");
    }
    snprintf(text + off, sizeof(text) - off, "services: {web: {image: x}}\n");
    assert_error("bomb", text, NULL, "expands to too many nodes");
}

static void anchors_and_merge_keys(void **state)
{
    struct servin_compose_project *p = load_text("anchors",
                                                 "x-env: &env\n"
                                                 "  environment: {SHARED: 'yes', OVER: base}\n"
                                                 "  restart: always\n"
                                                 "x-more: &more\n"
                                                 "  restart: on-failure\n"
                                                 "  user: nobody\n"
                                                 "services:\n"
                                                 "  a:\n"
                                                 "    <<: [*env, *more]\n"
                                                 "    image: busybox\n"
                                                 "  b:\n"
                                                 "    <<: *env\n"
                                                 "    image: busybox\n"
                                                 "    restart: \"no\"\n"
                                                 "    command: &cmd [sleep, infinity]\n"
                                                 "  c:\n"
                                                 "    image: busybox\n"
                                                 "    command: *cmd\n",
                                                 NULL);
    assert_non_null(p);
    struct servin_compose_service *a = servin_compose_service_find(p, "a");
    struct servin_compose_service *b = servin_compose_service_find(p, "b");
    struct servin_compose_service *c = servin_compose_service_find(p, "c");
    assert_string_equal(env_of(a, "SHARED"), "yes");
    assert_string_equal(a->restart, "always"); /* the first merged mapping wins */
    assert_string_equal(a->user, "nobody");
    assert_string_equal(b->restart, "no"); /* explicit keys win over merged ones */
    assert_string_equal(c->command[1], "infinity");
    servin_compose_project_free(p);
    assert_error("anchors", "services:\n  a:\n    <<: [1]\n    image: x\n", NULL,
                 "compose.yaml:3: a \"<<\" merge key needs a mapping");
}

static void short_and_long_syntax(void **state)
{
    char *env[] = {"HOME=/home/u", NULL};
    struct servin_compose_project *p =
        load_text("syntax",
                  "services:\n"
                  "  web:\n"
                  "    build:\n"
                  "      context: ./app\n"
                  "      dockerfile: Buildfile\n"
                  "      args: [V=1, FROM_ENV]\n"
                  "      target: prod\n"
                  "    ports:\n"
                  "      - 80\n"
                  "      - '127.0.0.1::81'\n"
                  "      - '[::1]:8443:443/udp'\n"
                  "      - '9000-9001:7000-7001'\n"
                  "      - '5000-5010:5000'\n"
                  "      - {target: 22, published: '2222', host_ip: 0.0.0.0, protocol: tcp, mode: host}\n"
                  "    volumes:\n"
                  "      - /anon\n"
                  "      - named:/n:nocopy\n"
                  "      - ~/cfg:/cfg:ro,z\n"
                  "      - type: tmpfs\n"
                  "        target: /t\n"
                  "        tmpfs: {size: 64m, mode: '1777'}\n"
                  "      - {type: bind, source: /srv, target: /srv, bind: {create_host_path: false}}\n"
                  "    depends_on: [db]\n"
                  "    networks: [front, default]\n"
                  "    healthcheck: {test: [NONE]}\n"
                  "    stop_grace_period: 1m30s\n"
                  "    ulimits: {nofile: {soft: 1024, hard: 2048}, nproc: 512}\n"
                  "    extra_hosts: {db.local: 10.0.0.2}\n"
                  "    tmpfs: /run\n"
                  "    deploy: {replicas: 2, resources: {limits: {memory: 1g, cpus: '1.5', pids: 100}}}\n"
                  "    init: true\n"
                  "    logging: {driver: json-file, options: {max-size: 10m}}\n"
                  "    secrets: [token]\n"
                  "    configs: [{source: conf, target: /etc/app.conf, mode: 0440}]\n"
                  "  db:\n"
                  "    image: busybox\n"
                  "    network_mode: none\n"
                  "networks: {front: {ipam: {config: [{subnet: 10.5.0.0/24, gateway: 10.5.0.1}]}}}\n"
                  "volumes: {named: {labels: [a=b]}, ext: {external: true}}\n"
                  "secrets: {token: {file: ./token.txt}}\n"
                  "configs: {conf: {file: /etc/hostname}}\n",
                  env);
    if (!p)
        fail_msg("%s", last_error);
    struct servin_compose_service *s = servin_compose_service_find(p, "web");
    _cleanup_free_ char *ctx = xasprintf("%s/syntax/app", root);
    assert_string_equal(s->build->context, ctx);
    assert_string_equal(s->build->dockerfile, "Buildfile");
    assert_string_equal(kv_of(&s->build->args, "V"), "1");
    assert_null(kv_of(&s->build->args, "FROM_ENV"));
    assert_string_equal(s->build->target, "prod");
    assert_null(s->image);
    assert_int_equal(s->n_ports, 1 + 1 + 1 + 2 + 1 + 1);
    assert_int_equal(s->ports[0].target, 80);
    assert_null(s->ports[0].published);
    assert_string_equal(s->ports[0].protocol, "tcp");
    assert_string_equal(s->ports[1].host_ip, "127.0.0.1");
    assert_null(s->ports[1].published);
    assert_string_equal(s->ports[2].host_ip, "::1");
    assert_string_equal(s->ports[2].protocol, "udp");
    assert_string_equal(s->ports[3].published, "9000");
    assert_int_equal(s->ports[4].target, 7001);
    assert_string_equal(s->ports[4].published, "9001");
    assert_string_equal(s->ports[5].published, "5000-5010");
    assert_string_equal(s->ports[6].mode, "host");
    assert_int_equal(s->n_volumes, 5);
    assert_int_equal(s->volumes[0].type, SERVIN_COMPOSE_MOUNT_VOLUME);
    assert_null(s->volumes[0].source);
    assert_string_equal(s->volumes[1].source, "named");
    assert_true(s->volumes[1].volume_nocopy);
    assert_int_equal(s->volumes[2].type, SERVIN_COMPOSE_MOUNT_BIND);
    assert_string_equal(s->volumes[2].source, "/home/u/cfg");
    assert_true(s->volumes[2].read_only);
    assert_true(s->volumes[2].bind_create_host_path);
    assert_string_equal(s->volumes[2].bind_selinux, "z");
    assert_int_equal(s->volumes[3].type, SERVIN_COMPOSE_MOUNT_TMPFS);
    assert_true(s->volumes[3].tmpfs_size == 64LL << 20);
    assert_int_equal(s->volumes[3].tmpfs_mode, 01777);
    assert_false(s->volumes[4].bind_create_host_path);
    assert_int_equal(s->n_depends_on, 1);
    assert_int_equal(s->depends_on[0].condition, SERVIN_COMPOSE_SERVICE_STARTED);
    assert_true(s->depends_on[0].required);
    assert_int_equal(s->n_networks, 2);
    assert_true(s->healthcheck.disable);
    assert_true(s->stop_grace_period_ns == 90LL * 1000000000);
    assert_int_equal(s->n_ulimits, 2);
    assert_true(s->ulimits[1].soft == 512 && s->ulimits[1].hard == 512);
    assert_string_equal(s->extra_hosts[0], "db.local:10.0.0.2");
    assert_string_equal(s->tmpfs[0], "/run");
    assert_int_equal(s->deploy.replicas, 2);
    assert_true(s->deploy.memory_limit == 1LL << 30);
    assert_true(s->deploy.nano_cpus == 1500000000);
    assert_true(s->deploy.pids_limit == 100);
    assert_int_equal(s->init, 1);
    assert_string_equal(s->logging.driver, "json-file");
    assert_string_equal(kv_of(&s->logging.options, "max-size"), "10m");
    assert_string_equal(s->secrets[0].source, "token");
    assert_int_equal(s->configs[0].mode, 0440);
    struct servin_compose_service *db = servin_compose_service_find(p, "db");
    assert_int_equal(db->n_networks, 0);
    assert_string_equal(db->network_mode, "none");
    /* names: <project>_<key>, external keeps its key; "default" is declared for who uses it */
    assert_string_equal(p->name, "syntax");
    assert_string_equal(servin_compose_volume_find(p, "named")->name, "syntax_named");
    assert_string_equal(servin_compose_volume_find(p, "ext")->name, "ext");
    assert_string_equal(servin_compose_network_find(p, "default")->name, "syntax_default");
    struct servin_compose_network *front = servin_compose_network_find(p, "front");
    assert_string_equal(front->ipam_config[0].subnet, "10.5.0.0/24");
    _cleanup_free_ char *tok = xasprintf("%s/syntax/token.txt", root);
    assert_string_equal(servin_compose_secret_find(p, "token")->file, tok);
    servin_compose_project_free(p);
}

static void order_and_cycles(void **state)
{
    struct servin_compose_project *p =
        load_text("order",
                  "services:\n"
                  "  web: {image: x, depends_on: [api, cache]}\n"
                  "  api: {image: x, depends_on: {db: {condition: service_healthy}}}\n"
                  "  db: {image: x}\n"
                  "  cache: {image: x, network_mode: 'service:db'}\n"
                  "  lone: {image: x}\n",
                  NULL);
    assert_non_null(p);
    struct servin_compose_service **order = NULL;
    size_t n = 0;
    struct servin_error err = {0};
    assert_int_equal(servin_compose_order(p, NULL, true, &order, &n, &err), 0);
    assert_int_equal(n, 5);
    int pos[5] = {0};
    for (size_t i = 0; i < n; i++)
        pos[order[i] - p->services] = (int)i;
    struct servin_compose_service *s = p->services;
#define POS(name) pos[servin_compose_service_find(p, name) - s]
    assert_true(POS("db") < POS("api"));
    assert_true(POS("api") < POS("web"));
    assert_true(POS("db") < POS("cache"));
    assert_true(POS("cache") < POS("web"));
    free(order);
    char *only[] = {"web", NULL};
    assert_int_equal(servin_compose_order(p, only, true, &order, &n, &err), 0);
    assert_int_equal(n, 4); /* not lone */
    assert_string_equal(order[3]->name, "web");
    free(order);
    assert_int_equal(servin_compose_order(p, only, false, &order, &n, &err), 0);
    assert_int_equal(n, 1);
    free(order);
    char *bogus[] = {"nope", NULL};
    assert_true(servin_compose_order(p, bogus, true, &order, &n, &err) < 0);
    assert_non_null(strstr(err.msg, "no such service: nope"));
    servin_compose_project_free(p);

    assert_error(
        "cycle",
        "services:\n"
        "  a: {image: x, depends_on: [b]}\n"
        "  b: {image: x, depends_on: [c]}\n"
        "  c:\n"
        "    image: x\n"
        "    depends_on: [a]\n",
        NULL, "compose.yaml:6: services.c.depends_on: dependency cycle between services: a -> b -> c -> a");
    assert_error("cycle", "services:\n  a: {image: x, depends_on: [a]}\n", NULL, "a -> a");
}

static void errors_with_lines(void **state)
{
    assert_error("errs", "services:\n  web:\n    image: x\n    imagee: y\n", NULL,
                 "compose.yaml:4: services.web.imagee: unknown key");
    assert_error("errs", "services:\n  web:\n    image: x\n    ports:\n      - [80, 81]\n", NULL,
                 "compose.yaml:5: services.web.ports[0]: expected a string or a mapping, got a sequence");
    assert_error("errs", "services:\n  web:\n    image: x\n    environment: 5\n", NULL,
                 "compose.yaml:4: services.web.environment: expected a mapping or a sequence");
    assert_error("errs", "services:\n  web:\n    image: [x]\n", NULL,
                 "compose.yaml:3: services.web.image: expected a string, got a sequence");
    assert_error("errs", "services:\n  web:\n    image: x\n    privileged: maybe\n", NULL,
                 "compose.yaml:4: services.web.privileged: expected a boolean");
    assert_error("errs", "services:\n  web:\n    image: x\n    stop_grace_period: soon\n", NULL,
                 "compose.yaml:4: services.web.stop_grace_period: invalid duration");
    assert_error("errs", "services:\n  web:\n    image: x\n    shm_size: lots\n", NULL,
                 "compose.yaml:4: services.web.shm_size: invalid byte size");
    assert_error("errs", "services:\n  web:\n    image: x\n    ports: ['99999:80']\n", NULL,
                 "compose.yaml:4: services.web.ports[0]: invalid port");
    assert_error(
        "errs", "services:\n  web:\n    image: x\n    ports:\n      - {target: 80, published: http}\n", NULL,
        "compose.yaml:5: services.web.ports[0].published: expected a port or a port range, got \"http\"");
    assert_error("errs", "services:\n  web:\n    image: x\n    volumes: ['data:rel']\n", NULL,
                 "services.web.volumes[0]: invalid volume \"data:rel\": the container path must be absolute");
    assert_error("errs", "services:\n  web:\n    image: x\n    volumes: ['data:/d']\n", NULL,
                 "compose.yaml:4: services.web.volumes[0]: volume \"data\" is not declared");
    assert_error("errs", "services:\n  web:\n    image: x\n    depends_on: [db]\n", NULL,
                 "services.web.depends_on: service \"db\" is not defined");
    assert_error("errs", "services:\n  web:\n    image: x\n    networks: [back]\n", NULL,
                 "network \"back\" is not declared");
    assert_error("errs", "services:\n  web:\n    command: x\n", NULL,
                 "compose.yaml:3: services.web: needs an image or a build");
    assert_error("errs",
                 "services:\n  web:\n    image: x\n    depends_on: {db: {condition: up}}\n  db: {image: y}\n",
                 NULL, "compose.yaml:4: services.web.depends_on.db.condition: \"up\" is not one of");
    assert_error("errs", "servics:\n  web: {image: x}\n", NULL,
                 "compose.yaml:1: servics: unknown top-level key");
    assert_error("errs", "services:\n  web:\n    image: x\n   bad: indent\n", NULL, "compose.yaml:4:");
    assert_error("errs", "services:\n  web:\n    image: x\n    image: y\n", NULL,
                 "compose.yaml:4: mapping key \"image\" already defined");
    assert_error("errs", "services: {web: {image: \"x}}\n", NULL, "YAML syntax error");
    assert_error("errs", "", NULL, "compose.yaml: the compose file is empty");
    assert_error("errs", "- a\n", NULL, "compose.yaml:1: the top level must be a mapping");
    assert_error("errs", "services: {}\n", NULL, "no services defined");
    assert_error("errs", "services:\n  web:\n    image: x\n    restart: sometimes\n", NULL,
                 "compose.yaml:4: services.web.restart: \"sometimes\" is not one of");
    assert_error("errs", "x: &a [*a]\nservices: {web: {image: x}}\n", NULL, "compose.yaml:1");
    /* valid but unsupported keys warn once and load */
    struct servin_compose_project *p = load_text(
        "errs",
        "services:\n  web:\n    image: x\n    blkio_config: {weight: 10}\n    deploy: {placement: {}}\n",
        NULL);
    assert_non_null(p);
    assert_int_equal(n_warnings, 2);
    assert_non_null(strstr(last_warning, "services.web.deploy.placement is not supported"));
    servin_compose_project_free(p);
}

static void profiles(void **state)
{
    const char *text = "services:\n"
                       "  web: {image: x}\n"
                       "  debug: {image: x, profiles: [dev]}\n"
                       "  seed: {image: x, profiles: [setup, dev]}\n";
    struct servin_compose_project *p = load_text("prof", text, NULL);
    assert_non_null(p);
    assert_int_equal(p->n_services, 1);
    assert_string_equal(p->disabled_services[0], "debug");
    assert_string_equal(p->disabled_services[1], "seed");
    servin_compose_project_free(p);
    char *env[] = {"COMPOSE_PROFILES=setup", NULL};
    p = load_text("prof", text, env);
    assert_int_equal(p->n_services, 2);
    assert_non_null(servin_compose_service_find(p, "seed"));
    servin_compose_project_free(p);
    const char *names[] = {"compose.yaml", NULL};
    char *dev[] = {"dev", NULL};
    struct servin_compose_options o = {.profiles = dev};
    p = load_opts("prof", names, env, &o);
    assert_int_equal(p->n_services, 3);
    servin_compose_project_free(p);
    struct servin_compose_options all = {.all_profiles = true};
    p = load_opts("prof", names, NULL, &all);
    assert_int_equal(p->n_services, 3);
    servin_compose_project_free(p);
    assert_error(
        "prof", "services:\n  web: {image: x, depends_on: [dbg]}\n  dbg: {image: x, profiles: [dev]}\n", NULL,
        "compose.yaml:2: services.web.depends_on: service \"dbg\" is disabled by its profiles");
}

static void project_names_and_env_files(void **state)
{
    /* the directory's name, normalised */
    free(put("My.Proj-1", "compose.yaml", "services: {web: {image: \"${IMG}\"}}\n"));
    free(put("My.Proj-1", ".env",
             "# comment\nIMG=from-dotenv\nexport QUOTED=\"a\\nb\" # it's "
             "\"x\"\nLIT='$IMG'\nREF=${IMG}-x\nBARE=v # c\n"));
    struct servin_compose_project *p = load("My.Proj-1", NULL, NULL);
    assert_non_null(p);
    assert_string_equal(p->name, "myproj-1");
    assert_string_equal(p->services[0].image, "from-dotenv");
    assert_string_equal(servin_compose_project_getenv(p, "QUOTED"), "a\nb");
    assert_string_equal(servin_compose_project_getenv(p, "LIT"), "$IMG");
    assert_string_equal(servin_compose_project_getenv(p, "REF"), "from-dotenv-x");
    assert_string_equal(servin_compose_project_getenv(p, "BARE"), "v");
    servin_compose_project_free(p);
    /* the process environment wins over .env; COMPOSE_PROJECT_NAME over the directory */
    char *env[] = {"IMG=from-env", "COMPOSE_PROJECT_NAME=Other", NULL};
    p = load("My.Proj-1", NULL, env);
    assert_string_equal(p->services[0].image, "from-env");
    assert_string_equal(p->name, "other");
    servin_compose_project_free(p);
    /* -p must already be valid */
    struct servin_compose_options o = {.project_name = "Bad Name"};
    assert_null(load_opts("My.Proj-1", NULL, NULL, &o));
    assert_non_null(strstr(last_error, "invalid project name \"Bad Name\""));
    /* --env-file replaces .env */
    _cleanup_free_ char *alt = put("My.Proj-1", "alt.env", "IMG=from-alt\n");
    char *env_files[] = {alt, NULL};
    struct servin_compose_options o2 = {.env_files = env_files, .project_name = "given"};
    p = load_opts("My.Proj-1", NULL, NULL, &o2);
    assert_string_equal(p->services[0].image, "from-alt");
    assert_string_equal(p->name, "given");
    servin_compose_project_free(p);
    /* top-level name: */
    free(put("named", "compose.yaml", "name: TopName\nservices: {web: {image: x}}\n"));
    p = load("named", NULL, NULL);
    assert_string_equal(p->name, "topname");
    servin_compose_project_free(p);
    /* env_file folded into environment, environment over it */
    free(put("envf", "web.env", "A=from-file\nB=from-file\n"));
    p = load_text(
        "envf",
        "services:\n  web:\n    image: x\n    env_file: web.env\n    environment: [B=explicit, HOME]\n",
        (char *[]){"HOME=/root", NULL});
    assert_non_null(p);
    assert_string_equal(env_of(&p->services[0], "A"), "from-file");
    assert_string_equal(env_of(&p->services[0], "B"), "explicit");
    assert_string_equal(env_of(&p->services[0], "HOME"), "/root");
    servin_compose_project_free(p);
    assert_error("envf", "services:\n  web:\n    image: x\n    env_file: missing.env\n", NULL,
                 "compose.yaml:4: services.web.env_file[0]: cannot read env file");
    p = load_text("envf",
                  "services:\n  web:\n    image: x\n    env_file: [{path: missing.env, required: false}]\n",
                  NULL);
    assert_non_null(p);
    assert_null(p->services[0].env_file);
    servin_compose_project_free(p);
    free(put("envf", "bad.env", "OK=1\nNOT VALID=2\n"));
    assert_error("envf", "services:\n  web:\n    image: x\n    env_file: bad.env\n", NULL,
                 "bad.env:2: invalid variable name");
}

static void discovery_order(void **state)
{
    free(put("disc", "docker-compose.yml", "services: {web: {image: docker-compose}}\n"));
    struct servin_compose_project *p = load("disc", NULL, NULL);
    assert_string_equal(p->services[0].image, "docker-compose");
    servin_compose_project_free(p);
    free(put("disc", "compose.yaml", "services: {web: {image: compose-yaml}}\n"));
    p = load("disc", NULL, NULL);
    assert_string_equal(p->services[0].image, "compose-yaml");
    servin_compose_project_free(p);
    free(put("disc", "compose.override.yaml", "services: {web: {user: over}}\n"));
    free(put("disc", "servin-compose.yml", "services: {web: {image: servin}}\n"));
    p = load("disc", NULL, NULL);
    assert_string_equal(p->services[0].image, "servin");
    assert_null(p->services[0].user);
    servin_compose_project_free(p);
    _cleanup_free_ char *ov = xasprintf("%s/disc/compose.override.yaml", root);
    _cleanup_free_ char *cy = xasprintf("%s/disc/servin-compose.yml", root);
    unlink(cy);
    p = load("disc", NULL, NULL);
    assert_string_equal(p->services[0].image, "compose-yaml");
    assert_string_equal(p->services[0].user, "over");
    servin_compose_project_free(p);
    /* $COMPOSE_FILE names the files when -f does not */
    _cleanup_free_ char *cf =
        xasprintf("COMPOSE_FILE=%s/disc/compose.yaml:%s/disc/compose.override.yaml", root, root);
    char *cf_env[] = {cf, NULL};
    struct servin_compose_options o = {0};
    p = load_opts("elsewhere", NULL, cf_env, &o);
    assert_non_null(p);
    assert_string_equal(p->services[0].user, "over");
    assert_string_equal(p->name, "elsewhere"); /* --project-directory names it */
    servin_compose_project_free(p);
    /* ... also from the .env of the directory we start in */
    _cleanup_free_ char *dotenv_text = xasprintf("COMPOSE_FILE=%s/disc/compose.yaml\n", root);
    free(put("fromdotenv", ".env", dotenv_text));
    struct servin_compose_options o3 = {0};
    p = load_opts("fromdotenv", NULL, NULL, &o3);
    assert_non_null(p);
    assert_string_equal(p->services[0].image, "compose-yaml");
    assert_null(p->services[0].user);
    servin_compose_project_free(p);
    assert_null(load("nothing-here", NULL, NULL));
    assert_non_null(strstr(last_error, "no compose file found"));
}

static void config_hash(void **state)
{
    char h1[65], h2[65], h3[65], h4[65];
    struct servin_compose_project *p =
        load_text("hash", "services: {web: {image: x, environment: [A=1]}}\n", NULL);
    servin_compose_service_config_hash(p, &p->services[0], h1);
    servin_compose_project_free(p);
    p = load_text("hash", "services: {web: {environment: {A: '1'}, image: x}}\n", NULL);
    servin_compose_service_config_hash(p, &p->services[0], h2);
    servin_compose_project_free(p);
    p = load_text("hash", "services: {web: {image: x, environment: [A=2]}}\n", NULL);
    servin_compose_service_config_hash(p, &p->services[0], h3);
    servin_compose_project_free(p);
    p = load_text("hash", "services: {web: {image: x, environment: [A=1], deploy: {replicas: 3}}}\n", NULL);
    servin_compose_service_config_hash(p, &p->services[0], h4);
    servin_compose_project_free(p);
    assert_int_equal(strlen(h1), 64);
    assert_string_equal(h1, h2);     /* same config, other spelling */
    assert_string_not_equal(h1, h3); /* a changed variable */
    assert_string_equal(h1, h4);     /* the scale is not the container's config */
}

static int setup(void **state)
{
    assert_non_null(mkdtemp(root));
    return 0;
}

static int teardown(void **state)
{
    _cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(interpolation),
        cmocka_unit_test(required_variable),
        cmocka_unit_test(merge_rules),
        cmocka_unit_test(anchors_and_merge_keys),
        cmocka_unit_test(reset_and_override_tags),
        cmocka_unit_test(alias_bomb_is_refused),
        cmocka_unit_test(extends_services),
        cmocka_unit_test(include_files),
        cmocka_unit_test(paths_of_other_files),
        cmocka_unit_test(short_and_long_syntax),
        cmocka_unit_test(order_and_cycles),
        cmocka_unit_test(errors_with_lines),
        cmocka_unit_test(profiles),
        cmocka_unit_test(project_names_and_env_files),
        cmocka_unit_test(discovery_order),
        cmocka_unit_test(config_hash),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
