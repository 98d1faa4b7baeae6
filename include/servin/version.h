/* version.h — what this build is. */
#ifndef SERVIN_VERSION_H
#define SERVIN_VERSION_H

#ifndef SERVIN_VERSION
#define SERVIN_VERSION "0.0.0"
#endif
#ifndef SERVIN_GIT_COMMIT
#define SERVIN_GIT_COMMIT "unknown"
#endif
/* The Docker Engine API version the daemon will speak, and the oldest it accepts. */
#define SERVIN_API_VERSION "1.43"
#define SERVIN_MIN_API_VERSION "1.24"

#endif
