/* daemon/cri/grpc_wire.h — the small pieces of the gRPC wire format over HTTP/2 that the server
 * and the client share: message framing, grpc-timeout, grpc-message percent-encoding. */
#ifndef SERVIN_DAEMON_CRI_GRPC_WIRE_H
#define SERVIN_DAEMON_CRI_GRPC_WIRE_H

#include <stddef.h>
#include <stdint.h>

/* The 5-byte prefix of a message: compressed flag 0, then the length, big-endian. */
void grpc_frame_header(uint8_t out[5], size_t len);
/* The length a prefix announces. */
size_t grpc_frame_length(const uint8_t in[5]);
/* grpc-timeout: 1 to 8 digits and a unit (H hours, M minutes, S seconds, m milli, u micro,
 * n nanoseconds). 0 with *ns set, -1 when malformed. */
int grpc_parse_timeout(const char *value, int64_t *ns);
/* grpc-message: printable ASCII except '%' as it is, everything else %XX (a new string). */
char *grpc_percent_encode(const char *msg);
/* The reverse; a '%' not followed by two hex digits stays as it is (a new string). */
char *grpc_percent_decode(const uint8_t *value, size_t len);

#endif
