/* serve_conn.c - see serve_conn.h. */
#include "serve_conn.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "util.h"

struct conn_entry {
    struct conn_entry *prev, *next;
    int fd;
    int armed;              /* a request is due by `deadline` */
    int cut;                /* already shut down by a sweep */
    double deadline;
};

struct conn_watch {
    pthread_mutex_t mu;
    double limit;
    struct conn_entry *head;
    int n;
};

struct conn_watch *
conn_watch_new(double limit_s)
{
    struct conn_watch *w = xcalloc(1, sizeof(*w));

    pthread_mutex_init(&w->mu, NULL);
    w->limit = limit_s;
    return w;
}

void
conn_watch_free(struct conn_watch *w)
{
    struct conn_entry *e, *next;

    if (w == NULL)
        return;
    for (e = w->head; e != NULL; e = next) {
        next = e->next;
        free(e);
    }
    pthread_mutex_destroy(&w->mu);
    free(w);
}

void
conn_watch_set_limit(struct conn_watch *w, double limit_s)
{
    pthread_mutex_lock(&w->mu);
    w->limit = limit_s;
    pthread_mutex_unlock(&w->mu);
}

struct conn_entry *
conn_watch_add(struct conn_watch *w, int fd, double now)
{
    struct conn_entry *e = xcalloc(1, sizeof(*e));

    e->fd = fd;
    pthread_mutex_lock(&w->mu);
    e->armed = 1;
    e->deadline = now + w->limit;
    e->next = w->head;
    if (w->head != NULL)
        w->head->prev = e;
    w->head = e;
    w->n++;
    pthread_mutex_unlock(&w->mu);
    return e;
}

void
conn_watch_remove(struct conn_watch *w, struct conn_entry *e)
{
    if (e == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    if (e->prev != NULL)
        e->prev->next = e->next;
    else
        w->head = e->next;
    if (e->next != NULL)
        e->next->prev = e->prev;
    w->n--;
    pthread_mutex_unlock(&w->mu);
    free(e);
}

void
conn_watch_answered(struct conn_watch *w, struct conn_entry *e)
{
    if (e == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    e->armed = 0;
    pthread_mutex_unlock(&w->mu);
}

void
conn_watch_rearm(struct conn_watch *w, struct conn_entry *e, double now)
{
    if (e == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    e->armed = 1;
    e->deadline = now + w->limit;
    pthread_mutex_unlock(&w->mu);
}

int
conn_watch_sweep(struct conn_watch *w, double now)
{
    struct conn_entry *e;
    int cut = 0;

    pthread_mutex_lock(&w->mu);
    for (e = w->head; e != NULL; e = e->next) {
        if (!e->armed || e->cut || now < e->deadline)
            continue;
        /* Under the lock: the entry, and so its descriptor, cannot be
         * removed (and the number reused) meanwhile. */
        shutdown(e->fd, SHUT_RDWR);
        e->cut = 1;
        cut++;
    }
    pthread_mutex_unlock(&w->mu);
    return cut;
}

int
conn_watch_count(struct conn_watch *w)
{
    int n;

    pthread_mutex_lock(&w->mu);
    n = w->n;
    pthread_mutex_unlock(&w->mu);
    return n;
}
