/* util/timefmt.c — RFC 3339 times with nanoseconds. */
#include <ctype.h>
#include <stdio.h>
#include <time.h>

#include "servin/timefmt.h"

int64_t servin_time_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void servin_time_format_rfc3339(int64_t unix_ns, char out[SERVIN_RFC3339_MAX])
{
    if (unix_ns < 0)
        unix_ns = 0;
    time_t secs = (time_t)(unix_ns / 1000000000LL);
    unsigned nanos = (unsigned)(unix_ns % 1000000000LL);
    struct tm tm;
    char date[24];
    gmtime_r(&secs, &tm);
    strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, SERVIN_RFC3339_MAX, "%.20s.%09uZ", date, nanos % 1000000000u);
}

long long servin_time_parse_rfc3339(const char *text)
{
    struct tm tm = {0};
    if (!text)
        return -1;
    const char *p = strptime(text, "%Y-%m-%dT%H:%M:%S", &tm);
    if (!p)
        return -1;
    if (*p == '.')
        for (p++; isdigit((unsigned char)*p); p++)
            ;
    long long t = (long long)timegm(&tm);
    if (*p == 'Z' || *p == 'z')
        return t;
    int hh = 0, mm = 0;
    if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d", &hh, &mm) == 2)
        return *p == '+' ? t - (hh * 3600 + mm * 60) : t + (hh * 3600 + mm * 60);
    return *p == '\0' ? t : -1;
}
