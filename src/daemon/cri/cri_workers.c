/* daemon/cri/cri_workers.c — the threads calls run in. A handler may block for minutes (a pull), so
 * every call needs a thread of its own; starting one per call costs more than a short call itself,
 * so finished threads wait for the next call (up to WORKERS_IDLE_MAX of them, for a minute). A new
 * thread starts whenever more calls wait than threads are idle: no call ever waits behind another. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "cri_internal.h"
#include "servin/cleanup.h"

#define WORKERS_IDLE_MAX 16

struct job {
    void (*fn)(void *);
    void *arg;
    struct job *next;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static struct job *head, *tail;
static int pending, idle;

static void *worker(void *unused)
{
    pthread_mutex_lock(&lock);
    for (;;) {
        while (head) {
            struct job *j = head;
            head = j->next;
            if (!head)
                tail = NULL;
            pending--;
            pthread_mutex_unlock(&lock);
            j->fn(j->arg);
            free(j);
            pthread_mutex_lock(&lock);
        }
        if (idle >= WORKERS_IDLE_MAX)
            break;
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_sec += 60;
        idle++;
        int r = 0;
        while (!head && r != ETIMEDOUT)
            r = pthread_cond_timedwait(&cond, &lock, &until);
        idle--;
        if (!head)
            break; /* a minute without work */
    }
    pthread_mutex_unlock(&lock);
    return NULL;
}

int cri_worker_submit(void (*fn)(void *), void *arg)
{
    struct job *j = xmalloc(sizeof(*j));
    j->fn = fn;
    j->arg = arg;
    j->next = NULL;
    pthread_mutex_lock(&lock);
    if (tail)
        tail->next = j;
    else
        head = j;
    tail = j;
    pending++;
    bool spawn = pending > idle;
    pthread_cond_signal(&cond);
    pthread_mutex_unlock(&lock);
    if (!spawn)
        return 0;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_t t;
    int r = pthread_create(&t, &attr, worker, NULL);
    pthread_attr_destroy(&attr);
    if (r == 0)
        return 0;
    /* No thread for it: take the job back unless a worker already has it. */
    pthread_mutex_lock(&lock);
    struct job **p = &head, *prev = NULL;
    while (*p && *p != j) {
        prev = *p;
        p = &(*p)->next;
    }
    bool taken_back = *p == j;
    if (taken_back) {
        *p = j->next;
        if (tail == j)
            tail = prev;
        pending--;
    }
    pthread_mutex_unlock(&lock);
    if (!taken_back)
        return 0;
    free(j);
    return -r;
}
