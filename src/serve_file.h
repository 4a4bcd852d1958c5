/* serve_file.h - GET and HEAD of a published feed file: /feeds/REL of a
 * shop (serve.c routes the request here).
 *
 * Only what the shop's feeds cache records is served (serve_cache.h): the
 * request path is looked up there, never mapped onto the file system. A
 * conditional request that matches (If-None-Match, else
 * If-Modified-Since) is answered with the cache's ready 304, no file
 * system call. A full answer opens the one file it sends, without
 * following a symlink, and uses the record's validators only when the
 * opened file is the recorded one; any other file is opened the checked
 * way (inside feeds_dir, validators from the file itself) and the cache
 * is asked to refresh. The gzip twin is sent with Content-Encoding: gzip
 * to a client that accepts it, when it pairs with the main file; a
 * single byte range (with If-Range) gives 206 or 416.
 *
 * No enumeration: without the token, a name that is not a public feed
 * gets the same 401 whether a token feed has it or nothing does; with
 * the token an unknown name is 404.
 *
 * Threads: request threads; the shop's locks are taken here.
 *
 * Ownership: the file opened for an answer is handed to MHD with the
 * response (MHD closes it when the transfer ends); one that never makes
 * it into a response is closed here. Nothing else is kept.
 */
#ifndef PF_SERVE_FILE_H
#define PF_SERVE_FILE_H

#include <microhttpd.h>

#include "serve_http.h"
#include "serve_shop.h"

/* Answers GET (head 0) or HEAD of /feeds/REL of sh through x. rel is the
 * decoded path below /feeds/; authorized: the request carries sh's token
 * or the admin token (the caller checks it for every request, so the
 * time taken tells nothing about the name). */
enum MHD_Result file_serve_feed(struct resp_ctx *x, struct shop *sh,
                                struct MHD_Connection *c, const char *rel,
                                int head, int authorized);

#endif
