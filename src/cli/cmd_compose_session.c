/* cli/cmd_compose_session.c — what the compose subcommands share: the loaded project and store,
 * progress lines as Docker Compose prints them, and Ctrl-C between steps. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd_compose_ops.h"
#include "servin/cleanup.h"

volatile int compose_interrupted;

static void on_signal(int sig)
{
    (void)sig;
    compose_interrupted = 1;
}

void compose_catch_signals(void)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

/* " Container demo-web-1  Started", on stderr as docker compose does (stdout stays for data). */
static void print_progress(void *arg, const char *kind, const char *name, const char *status)
{
    struct compose_session *s = arg;
    if (s->quiet)
        return;
    bool tty = isatty(STDERR_FILENO);
    bool bad = strcmp(status, "Error") == 0;
    bool done =
        strcmp(status, "Started") == 0 || strcmp(status, "Created") == 0 || strcmp(status, "Removed") == 0 ||
        strcmp(status, "Stopped") == 0 || strcmp(status, "Healthy") == 0 || strcmp(status, "Built") == 0 ||
        strcmp(status, "Pulled") == 0 || strcmp(status, "Recreated") == 0 || strcmp(status, "Running") == 0;
    if (tty)
        fprintf(stderr, " %s %s  %s%s\033[0m\n", kind, name,
                bad    ? "\033[31m"
                : done ? "\033[32m"
                       : "\033[2m",
                status);
    else
        fprintf(stderr, " %s %s  %s\n", kind, name, status);
    fflush(stderr);
}

static void print_warning(void *arg, const char *msg)
{
    (void)arg;
    fprintf(stderr, "WARN[0000] %s\n", msg);
}

static void print_build(void *arg, const struct servin_build_progress *p)
{
    (void)arg;
    switch (p->event) {
    case SERVIN_BUILD_STEP:
        fprintf(stderr, "STEP %d/%d [%s]: %s\n", p->step, p->n_steps, p->stage, p->text);
        break;
    case SERVIN_BUILD_CACHED:
        fprintf(stderr, "--> Using cache\n");
        break;
    case SERVIN_BUILD_OUTPUT:
        fwrite(p->text, 1, p->len, stderr);
        break;
    case SERVIN_BUILD_MESSAGE:
    case SERVIN_BUILD_WARNING:
        fprintf(stderr, "%s%s\n", p->event == SERVIN_BUILD_WARNING ? "[Warning] " : "", p->text);
        break;
    case SERVIN_BUILD_DONE:
        break;
    }
}

static int session_open(struct compose_cli *cc, struct compose_session *s, bool all_profiles)
{
    memset(s, 0, sizeof(*s));
    s->ctx = cc->ctx;
    s->project = all_profiles ? compose_cli_project_all_profiles(cc) : compose_cli_project(cc);
    if (!s->project)
        return CLI_EXIT_FAILURE;
    struct servin_store *store = cli_store(cc->ctx);
    if (!store)
        return CLI_EXIT_FAILURE;
    s->env.store = store;
    s->env.project = s->project;
    s->env.progress = print_progress;
    s->env.progress_arg = s;
    s->env.warn = print_warning;
    s->env.build_progress = print_build;
    s->env.pull_out = stderr;
    s->env.pull_tty = isatty(STDERR_FILENO);
    s->env.cancel = &compose_interrupted;
    return 0;
}

int compose_session_open(struct compose_cli *cc, struct compose_session *s)
{
    return session_open(cc, s, false);
}

int compose_session_open_all_profiles(struct compose_cli *cc, struct compose_session *s)
{
    return session_open(cc, s, true);
}

void compose_session_close(struct compose_session *s)
{
    /* The dispatcher frees the project. */
    s->project = NULL;
}

bool compose_service_named(char *const *names, const char *name)
{
    bool want = !names;
    for (size_t j = 0; names && names[j]; j++)
        want = want || strcmp(names[j], name) == 0;
    return want;
}

int compose_check_services(struct compose_session *s, char *const *names)
{
    for (size_t i = 0; names && names[i]; i++) {
        if (servin_compose_service_find(s->project, names[i]))
            continue;
        for (size_t j = 0; s->project->disabled_services && s->project->disabled_services[j]; j++)
            if (strcmp(s->project->disabled_services[j], names[i]) == 0)
                return cli_failf("service \"%s\" is not enabled by the active profiles", names[i]);
        return cli_failf("no such service: %s", names[i]);
    }
    return 0;
}
