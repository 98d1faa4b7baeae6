/* runtime/runtime_proc.h — the pieces create.c hands to the container init, and helpers both use. */
#ifndef SERVIN_RUNTIME_PROC_H
#define SERVIN_RUNTIME_PROC_H

#include <jansson.h>
#include <stdbool.h>

#include "servin/error.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* One message on the sync socket: the init reports ready or one error sentence. */
#define OCI_SYNC_GO 'G'
#define OCI_SYNC_READY 'R'
#define OCI_SYNC_ERROR 'E'

struct oci_ns_join {
    int flag; /* CLONE_NEW* */
    int fd;   /* open namespace file to setns into */
};

struct oci_init_args {
    const char *id;
    json_t *spec;
    const char *bundle;
    int sync_fd;        /* SOCK_SEQPACKET to the creating process */
    int exec_listen_fd; /* listening socket that `start` connects to */
    int console_fd;     /* connected console socket, or -1 */
    int preserve_fds;
    bool no_pivot;
    int unshare_flags;  /* namespaces to create after the go signal (not pid or user) */
    bool new_user;      /* the init was cloned into a new user namespace */
    struct oci_ns_join joins[8];
    int n_joins;
};

/* Runs in the container init; never returns: execve()s the user process or _exit()s after
 * reporting the failure on sync_fd (or, after the start signal, on the start connection). */
_Noreturn void oci_init_run(struct oci_init_args *args);

/* proc_util.c: the address of a unix socket at path; paths too long for sun_path go through
 * /proc/self/fd/<dir_fd> (close *dir_fd after bind/connect; -1 when not used). */
struct sockaddr_un;
int oci_unix_address(const char *path, struct sockaddr_un *addr, int *dir_fd, struct servin_error *err);
/* A connected unix stream socket (fd) or -errno. */
int oci_connect_unix(const char *path, struct servin_error *err);
/* A pty from the devpts at /dev/pts: the master goes to console_sock, the slave fd is returned. */
int oci_open_console(int console_sock, json_t *console_size, struct servin_error *err);
/* Make the slave our controlling terminal and stdio (in a new session); closes it. */
int oci_take_console(int slave, struct servin_error *err);
/* The program execve should run: name itself when it holds a '/', else searched in the PATH of env. */
char *oci_find_program(const char *name, json_t *env);
/* A NULL-terminated view of a JSON string array (strings borrowed from it). */
char **oci_strv_from_json(json_t *arr);

/* The state JSON hooks receive on stdin. */
json_t *oci_hook_state(const char *id, const char *status, pid_t pid, const char *bundle, json_t *spec);

/* Namespace type names of the spec ("pid", "network", ...) to CLONE_NEW* flags; 0 if unknown. */
int oci_ns_flag(const char *type);
/* Write "containerID hostID size" lines of uidMappings/gidMappings into /proc/<pid>/{uid,gid}_map. */
int oci_write_id_maps(pid_t pid, json_t *linux_obj, struct servin_error *err);

/* Send one message; for errors the text follows the tag. */
int oci_sync_send(int fd, char tag, const char *text);
/* Receive one message: returns the tag (or 0 on EOF, -errno on failure); text gets the rest. */
int oci_sync_recv(int fd, char *text, size_t text_size);

/* Run the hooks of one kind (spec.hooks.<kind>) with the state JSON on their stdin; the first
 * failure stops the rest and is reported. */
int oci_hooks_run(json_t *spec, const char *kind, json_t *state, struct servin_error *err);

#endif
