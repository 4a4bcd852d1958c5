/* script_server.h - a loopback HTTP server for unit tests that answers
 * each connection with the next canned reply, in order, and keeps what
 * each request sent.
 *
 * Ownership: the replies are the caller's (borrowed until stop); the
 * recorded requests belong to the server and are freed by
 * script_stop(). */
#ifndef PF_SCRIPT_SERVER_H
#define PF_SCRIPT_SERVER_H

#include <pthread.h>

#define SCRIPT_MAX 64

struct script {
    const char *const *replies;     /* raw HTTP responses, in order */
    int n;
    int served;
    int fd;
    int port;
    pthread_t th;
    /* Request i as received: head and body (Content-Length bytes). */
    char *requests[SCRIPT_MAX];
};

/* Listens on 127.0.0.1 (a free port, in s->port) and serves replies in a
 * thread. 0 ok, -1 when the socket could not be set up. */
int script_start(struct script *s, const char *const *replies, int n);
/* Stops listening, waits for the thread, frees the recorded requests. */
void script_stop(struct script *s);

#endif
