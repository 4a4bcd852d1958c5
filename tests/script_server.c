/* script_server.c - see script_server.h. */
#include "script_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

/* Reads one request: its head, then as many body bytes as its
 * Content-Length says (so a POST is whole before the reply). */
static char *
read_request(int c)
{
    size_t cap = 8192, got = 0, want = 0;
    char *buf = malloc(cap + 1);
    char *end = NULL;

    if (buf == NULL)
        return NULL;
    for (;;) {
        ssize_t r;

        if (end != NULL && got >= want)
            break;
        if (got == cap) {
            char *nb = realloc(buf, 2 * cap + 1);

            if (nb == NULL)
                break;
            buf = nb;
            cap *= 2;
        }
        r = read(c, buf + got, cap - got);
        if (r <= 0)
            break;
        got += (size_t)r;
        buf[got] = '\0';
        if (end == NULL && (end = strstr(buf, "\r\n\r\n")) != NULL) {
            want = (size_t)(end - buf) + 4;
            for (const char *l = strstr(buf, "\r\n"); l != NULL && l < end;
                 l = strstr(l + 2, "\r\n"))
                if (strncasecmp(l + 2, "Content-Length:", 15) == 0)
                    want += strtoul(l + 17, NULL, 10);
        }
    }
    buf[got] = '\0';
    return buf;
}

static void *
serve(void *arg)
{
    struct script *s = arg;

    while (s->served < s->n) {
        int c = accept(s->fd, NULL, NULL);
        const char *reply;

        if (c < 0)
            break;
        if (s->served < SCRIPT_MAX)
            s->requests[s->served] = read_request(c);
        reply = s->replies[s->served];
        if (write(c, reply, strlen(reply)) < 0)
            perror("write");
        s->served++;
        close(c);
    }
    return NULL;
}

int
script_start(struct script *s, const char *const *replies, int n)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int one = 1;

    memset(s, 0, sizeof(*s));
    s->replies = replies;
    s->n = n;
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    if (s->fd < 0)
        return -1;
    setsockopt(s->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(s->fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        listen(s->fd, 8) != 0) {
        close(s->fd);
        return -1;
    }
    getsockname(s->fd, (struct sockaddr *)&a, &len);
    s->port = ntohs(a.sin_port);
    if (pthread_create(&s->th, NULL, serve, s) != 0) {
        close(s->fd);
        return -1;
    }
    return 0;
}

void
script_stop(struct script *s)
{
    shutdown(s->fd, SHUT_RDWR);
    close(s->fd);
    pthread_join(s->th, NULL);
    for (int i = 0; i < SCRIPT_MAX; i++)
        free(s->requests[i]);
}
