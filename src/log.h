/* log.h - messages for people, on stderr.
 *
 * -q shows only warnings and errors, -v adds debug lines. Each line is
 * written whole, also from several threads. Secrets never reach a log
 * line: callers pass names of files or variables, not values.
 */
#ifndef PF_LOG_H
#define PF_LOG_H

enum pf_log_level { PF_LOG_DEBUG = 0, PF_LOG_INFO, PF_LOG_WARN, PF_LOG_ERROR };

void pf_log_set_level(enum pf_log_level l);
enum pf_log_level pf_log_get_level(void);
void pf_log(enum pf_log_level l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_debug(...) pf_log(PF_LOG_DEBUG, __VA_ARGS__)
#define log_info(...) pf_log(PF_LOG_INFO, __VA_ARGS__)
#define log_warn(...) pf_log(PF_LOG_WARN, __VA_ARGS__)
#define log_error(...) pf_log(PF_LOG_ERROR, __VA_ARGS__)

#endif
