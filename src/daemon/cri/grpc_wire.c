/* daemon/cri/grpc_wire.c — gRPC over HTTP/2 framing details (see grpc_wire.h). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "grpc_wire.h"
#include "servin/cleanup.h"

void grpc_frame_header(uint8_t out[5], size_t len)
{
    out[0] = 0;
    out[1] = (uint8_t)(len >> 24);
    out[2] = (uint8_t)(len >> 16);
    out[3] = (uint8_t)(len >> 8);
    out[4] = (uint8_t)len;
}

size_t grpc_frame_length(const uint8_t in[5])
{
    return (size_t)in[1] << 24 | (size_t)in[2] << 16 | (size_t)in[3] << 8 | in[4];
}

int grpc_parse_timeout(const char *v, int64_t *ns)
{
    size_t n = strlen(v);
    if (n < 2 || n > 9)
        return -1;
    int64_t x = 0;
    for (size_t i = 0; i + 1 < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (v[i] - '0');
    }
    int64_t mult;
    switch (v[n - 1]) {
    case 'H':
        mult = 3600LL * 1000000000;
        break;
    case 'M':
        mult = 60LL * 1000000000;
        break;
    case 'S':
        mult = 1000000000;
        break;
    case 'm':
        mult = 1000000;
        break;
    case 'u':
        mult = 1000;
        break;
    case 'n':
        mult = 1;
        break;
    default:
        return -1;
    }
    /* 99999999 hours do not fit in int64 nanoseconds: such a timeout is as good as none (~146 years). */
    *ns = x > INT64_MAX / 2 / mult ? INT64_MAX / 2 : x * mult;
    return 0;
}

char *grpc_percent_encode(const char *msg)
{
    size_t n = strlen(msg);
    char *out = xmalloc(n * 3 + 1), *o = out;
    for (const unsigned char *p = (const unsigned char *)msg; *p; p++) {
        if (*p >= 0x20 && *p <= 0x7e && *p != '%') {
            *o++ = (char)*p;
        } else {
            static const char hex[] = "0123456789ABCDEF";
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    *o = '\0';
    return out;
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *grpc_percent_decode(const uint8_t *v, size_t n)
{
    char *out = xmalloc(n + 1), *o = out;
    for (size_t i = 0; i < n; i++) {
        int hi, lo;
        if (v[i] == '%' && i + 2 < n && (hi = hexval(v[i + 1])) >= 0 && (lo = hexval(v[i + 2])) >= 0) {
            *o++ = (char)(hi << 4 | lo);
            i += 2;
        } else {
            *o++ = (char)v[i];
        }
    }
    *o = '\0';
    return out;
}
