/* timefmt.h — times as Docker and the OCI specs write them. */
#ifndef SERVIN_TIMEFMT_H
#define SERVIN_TIMEFMT_H

#include <stdint.h>

#define SERVIN_RFC3339_MAX 40

/* Wall-clock time in unix nanoseconds. */
int64_t servin_time_now_ns(void);
/* "2026-11-25T14:23:45.139835272Z": RFC 3339 in UTC with nanoseconds, as Docker logs and
 * inspects times. */
void servin_time_format_rfc3339(int64_t unix_ns, char out[SERVIN_RFC3339_MAX]);
/* Unix seconds from an RFC 3339 time ("2024-01-02T03:04:05.123Z"); -1 when it does not parse. */
long long servin_time_parse_rfc3339(const char *text);

#endif
