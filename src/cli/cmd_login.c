/* cli/cmd_login.c — `servin login` and `servin logout`: credentials checked, then kept in auth.json. */
#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "commands.h"
#include "servin/cleanup.h"
#include "servin/reference.h"
#include "servin/registry.h"

#define DEFAULT_SERVER SERVIN_DEFAULT_DOMAIN

/* Read one line from the terminal, without echo for secrets. */
static char *prompt(const char *question, bool secret)
{
    if (!isatty(STDIN_FILENO))
        return NULL;
    fputs(question, stderr);
    fflush(stderr);
    struct termios old, quiet;
    bool restore = false;
    if (secret && tcgetattr(STDIN_FILENO, &old) == 0) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        restore = tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, stdin);
    if (restore) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
        fputc('\n', stderr);
    }
    if (n < 0) {
        free(line);
        return NULL;
    }
    line[strcspn(line, "\r\n")] = '\0';
    return line;
}

static char *read_stdin_password(void)
{
    size_t cap = 256, len = 0;
    char *buf = xmalloc(cap);
    size_t n;
    while ((n = fread(buf + len, 1, cap - len - 1, stdin)) > 0) {
        len += n;
        if (len + 1 >= cap) {
            cap *= 2;
            buf = xrealloc(buf, cap);
        }
    }
    buf[len] = '\0';
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        buf[--len] = '\0';
    return buf;
}

int cmd_login(struct cli_ctx *ctx, int argc, char **argv)
{
    return cli_login_run(ctx, argc, argv, DEFAULT_SERVER);
}

int cli_login_run(struct cli_ctx *ctx, int argc, char **argv, const char *default_server)
{
    static const struct option longopts[] = {{"username", required_argument, 0, 'u'},
                                             {"password", required_argument, 0, 'p'},
                                             {"password-stdin", no_argument, 0, 'S'},
                                             {"help", no_argument, 0, 'h'},
                                             {0}};
    _cleanup_free_ char *user = NULL, *password = NULL;
    bool from_stdin = false;
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "u:p:h", longopts)) != -1) {
        switch (c) {
        case 'h':
            return 0;
        case 'u':
            free(user);
            user = xstrdup(optarg);
            break;
        case 'p':
            free(password);
            password = xstrdup(optarg);
            break;
        case 'S':
            from_stdin = true;
            break;
        default:
            return CLI_EXIT_USAGE;
        }
    }
    if (argc - optind > 1)
        return cli_usage_error(ctx, "\"%s\" requires at most 1 argument.", ctx->cmd->path);
    const char *server = optind < argc ? argv[optind] : default_server;
    /* For scripts: credentials from the environment when no flag gives them. */
    const char *env_user = getenv("SERVIN_REGISTRY_USER"), *env_password = getenv("SERVIN_REGISTRY_PASSWORD");
    if (!user && env_user && *env_user)
        user = xstrdup(env_user);
    if (!password && !from_stdin && env_password && *env_password)
        password = xstrdup(env_password);
    if (password && from_stdin)
        return cli_failf("--password and --password-stdin are mutually exclusive");
    if (from_stdin) {
        if (!user)
            return cli_failf("must provide --username with --password-stdin");
        password = read_stdin_password();
    } else if (password) {
        fputs("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n", stderr);
    }
    if (!user && !(user = prompt("Username: ", false)))
        return cli_failf("login to %s: no username given (use -u, or run on a terminal)", server);
    if (!*user)
        return cli_failf("login to %s: the username is empty", server);
    if (!password && !(password = prompt("Password: ", true)))
        return cli_failf("login to %s: no password given (use -p or --password-stdin, or run on a terminal)",
                         server);
    if (!*password)
        return cli_failf("login to %s: the password is empty", server);

    struct servin_error err = {0};
    int ret = servin_registry_login(server, user, password, &err);
    if (ret == 0) {
        _cleanup_free_ char *path = servin_authfile_path();
        ret = servin_authfile_set(path, server, user, password, &err);
    }
    explicit_bzero(password, strlen(password));
    if (ret < 0)
        return cli_fail(&err);
    printf("Login Succeeded\n");
    return 0;
}

int cmd_logout(struct cli_ctx *ctx, int argc, char **argv)
{
    static const struct option longopts[] = {{"help", no_argument, 0, 'h'}, {0}};
    int c;
    while ((c = cli_getopt(ctx, argc, argv, "h", longopts)) != -1) {
        if (c == 'h')
            return 0;
        return CLI_EXIT_USAGE;
    }
    if (argc - optind > 1)
        return cli_usage_error(ctx, "\"%s\" requires at most 1 argument.", ctx->cmd->path);
    const char *server = optind < argc ? argv[optind] : DEFAULT_SERVER;
    _cleanup_free_ char *path = servin_authfile_path();
    struct servin_error err = {0};
    if (servin_authfile_remove(path, server, &err) < 0)
        return cli_fail(&err);
    _cleanup_free_ char *key = servin_authfile_key(server);
    printf("Removed login credentials for %s\n", key);
    return 0;
}
