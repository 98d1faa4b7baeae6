/* daemon/cri/grpc_client.h — a minimal gRPC client (one unary call per connection) over a unix
 * socket, for `servin cri status` and `servin cri test`: they check the same HTTP/2 path kubelet
 * uses, not the JSON gateway. */
#ifndef SERVIN_DAEMON_CRI_GRPC_CLIENT_H
#define SERVIN_DAEMON_CRI_GRPC_CLIENT_H

#include <protobuf-c/protobuf-c.h>

#include "servin/error.h"

struct grpc_reply {
    int code;              /* grpc-status (0 OK) */
    char *message;         /* grpc-message, percent-decoded; NULL when none */
    ProtobufCMessage *msg; /* the reply on OK (free with protobuf_c_message_free_unpacked) */
};
void grpc_reply_clear(struct grpc_reply *r);

/* Call `path` ("/runtime.v1.RuntimeService/Version") with req; the reply is unpacked with out_desc.
 * -errno with err for a transport failure (no server, not gRPC, timeout); 0 once a status came. */
int grpc_unary_call(const char *socket_path, const char *path, const ProtobufCMessage *req,
                    const ProtobufCMessageDescriptor *out_desc, int timeout_ms, struct grpc_reply *out,
                    struct servin_error *err);

#endif
