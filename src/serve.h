/* serve.h - `posfeed serve`: the long-running process that serves the
 * published feeds over HTTP (libmicrohttpd), runs the pipeline on the
 * configured schedule or on POST /sync, and shows a status page.
 *
 * The pipeline runs as a child process (this same binary, `run`), one at
 * a time, so a crash or a kill in a run can never take the server down
 * and the CLI's lock file keeps every other posfeed out meanwhile.
 *
 * Ownership: nothing crosses this interface; serve_main() owns everything
 * it allocates and frees it before it returns.
 */
#ifndef PF_SERVE_H
#define PF_SERVE_H

/* Runs the server until SIGTERM or SIGINT. argv[0] is "serve"; accepts
 * --listen ADDR:PORT (port 0 picks a free port). Prints one line
 * "listening on http://ADDR:PORT" (https:// with [serve] tls_cert) on
 * stdout once the socket is bound.
 * Returns the process exit status: 0 after a clean stop, 1 on a runtime
 * failure (cannot bind), 2 on a usage or configuration error. */
int serve_main(const char *config_path, int argc, char **argv);

#endif
