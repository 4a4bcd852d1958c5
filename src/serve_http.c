/* serve_http.c - see serve_http.h. */
#include "serve_http.h"

#include <string.h>

struct conn_entry *
resp_conn(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci;

    ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci != NULL ? ci->socket_context : NULL;
}

enum MHD_Result
resp_send_shared(struct resp_ctx *x, struct MHD_Connection *c,
                 unsigned code, struct MHD_Response *r)
{
    enum MHD_Result ret = MHD_queue_response(c, code, r);

    /* The request is in and answered: its deadline is met. */
    if (ret == MHD_YES)
        conn_watch_answered(x->watch, resp_conn(c));
    atomic_fetch_add_explicit(&x->hits[code < RESP_CODES ? code : 0], 1,
                              memory_order_relaxed);
    return ret;
}

enum MHD_Result
resp_send(struct resp_ctx *x, struct MHD_Connection *c, unsigned code,
          struct MHD_Response *r)
{
    enum MHD_Result ret = resp_send_shared(x, c, code, r);

    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result
resp_buf(struct resp_ctx *x, struct MHD_Connection *c, unsigned code,
         const char *ctype, const char *body, size_t len)
{
    struct MHD_Response *r;

    r = MHD_create_response_from_buffer(len, (void *)body,
                                        MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    return resp_send(x, c, code, r);
}

enum MHD_Result
resp_text(struct resp_ctx *x, struct MHD_Connection *c, unsigned code,
          const char *msg)
{
    return resp_buf(x, c, code, "text/plain; charset=utf-8", msg,
                    strlen(msg));
}

enum MHD_Result
resp_json(struct resp_ctx *x, struct MHD_Connection *c, unsigned code,
          cJSON *doc)
{
    char *txt = cJSON_PrintUnformatted(doc);
    enum MHD_Result ret;

    ret = resp_buf(x, c, code, "application/json", txt, strlen(txt));
    cJSON_free(txt);
    cJSON_Delete(doc);
    return ret;
}

enum MHD_Result
resp_not_allowed(struct resp_ctx *x, struct MHD_Connection *c,
                 const char *allow)
{
    static const char msg[] = "405 method not allowed\n";
    struct MHD_Response *r;

    r = MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg,
                                        MHD_RESPMEM_PERSISTENT);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, allow);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/plain; charset=utf-8");
    return resp_send(x, c, MHD_HTTP_METHOD_NOT_ALLOWED, r);
}

enum MHD_Result
resp_unauthorized(struct resp_ctx *x, struct MHD_Connection *c)
{
    static const char msg[] =
        "401 this needs the serve token: Authorization: Bearer TOKEN, "
        "the token as HTTP basic password, or ?token=TOKEN\n";
    struct MHD_Response *r;

    r = MHD_create_response_from_buffer(sizeof msg - 1, (void *)msg,
                                        MHD_RESPMEM_PERSISTENT);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                            "Bearer realm=\"posfeed\"");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/plain; charset=utf-8");
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    return resp_send(x, c, MHD_HTTP_UNAUTHORIZED, r);
}
