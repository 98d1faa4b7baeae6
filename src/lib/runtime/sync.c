/* runtime/sync.c — the small messages between the creating process and the container init. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "runtime/runtime_proc.h"

int oci_sync_send(int fd, char tag, const char *text)
{
    char buf[SERVIN_ERROR_MSG_MAX + 1];
    size_t len = text ? strnlen(text, SERVIN_ERROR_MSG_MAX) : 0;
    buf[0] = tag;
    if (len)
        memcpy(buf + 1, text, len);
    ssize_t n;
    do
        n = send(fd, buf, len + 1, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    return n < 0 ? -errno : 0;
}

int oci_sync_recv(int fd, char *text, size_t text_size)
{
    char buf[SERVIN_ERROR_MSG_MAX + 1];
    ssize_t n;
    do
        n = recv(fd, buf, sizeof(buf), 0);
    while (n < 0 && errno == EINTR);
    if (n < 0)
        return -errno;
    if (n == 0)
        return 0;
    if (text && text_size) {
        size_t len = (size_t)n - 1 < text_size - 1 ? (size_t)n - 1 : text_size - 1;
        memcpy(text, buf + 1, len);
        text[len] = '\0';
    }
    return (unsigned char)buf[0];
}
