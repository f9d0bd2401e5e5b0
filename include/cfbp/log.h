/*
 * log.h - staging log lines in libbuildpack's byte format (contract §7).
 *
 * Every line is "<header> <message>\n" on the logger's stream, and every "\n"
 * inside a message continues with seven spaces, so multi-line messages stay
 * indented in `cf push` output. The headers:
 *
 *   begin_step  "----->"                          -----> Installing thing 1.2.3
 *   info        six spaces                               Download [https://...]
 *   warning     seven spaces + red **WARNING**
 *   error       seven spaces + red **ERROR**
 *   debug       seven spaces + blue DEBUG: (only when enabled, e.g. BP_DEBUG)
 *
 * The library only logs through a struct cfbp_log the program hands it.
 */
#ifndef CFBP_LOG_H
#define CFBP_LOG_H

#include <stdbool.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_log {
    FILE *out;
    bool debug;
};

/* Debug lines are written only when debug is true (programs pass BP_DEBUG being non-empty). */
void cfbp_log_init(struct cfbp_log *log, FILE *out, bool debug);

void cfbp_log_begin_step(struct cfbp_log *log, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
void cfbp_log_info(struct cfbp_log *log, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
void cfbp_log_warning(struct cfbp_log *log, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
void cfbp_log_error(struct cfbp_log *log, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
void cfbp_log_debug(struct cfbp_log *log, const char *format, ...)
    __attribute__((format(printf, 2, 3)));
/* A tip and the page that explains it, as two lines. */
void cfbp_log_protip(struct cfbp_log *log, const char *tip, const char *url);

#ifdef __cplusplus
}
#endif

#endif
