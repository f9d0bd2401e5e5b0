/*
 * log.c - libbuildpack-compatible staging log lines (see log.h, contract §7).
 */
#include "cfbp/log.h"

#include "cfbp/strbuf.h"

#include <stdarg.h>

#define HEADER_STEP    "----->"
#define HEADER_INFO    "      "
#define HEADER_WARNING "       \033[31;1m**WARNING**\033[0m"
#define HEADER_ERROR   "       \033[31;1m**ERROR**\033[0m"
#define HEADER_DEBUG   "       \033[34;1mDEBUG:\033[0m"
#define HEADER_PROTIP  "       \033[34;1mPRO TIP:\033[0m"
#define CONTINUATION   "\n       "

static void write_line(struct cfbp_log *log, const char *header, const char *format, va_list args)
    __attribute__((format(printf, 3, 0)));

static void write_line(struct cfbp_log *log, const char *header, const char *format, va_list args)
{
    if (!log || !log->out)
        return;
    struct cfbp_strbuf message = CFBP_STRBUF_INIT, line = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_vformat(&message, format, args);
    cfbp_strbuf_append_string(&line, header);
    cfbp_strbuf_append_char(&line, ' ');
    for (size_t i = 0; i < message.len; i++) {
        if (message.buf[i] == '\n')
            cfbp_strbuf_append_string(&line, CONTINUATION);
        else
            cfbp_strbuf_append_char(&line, message.buf[i]);
    }
    cfbp_strbuf_append_char(&line, '\n');
    fwrite(line.buf, 1, line.len, log->out);
    fflush(log->out);
    cfbp_strbuf_release(&message);
    cfbp_strbuf_release(&line);
}

#define DEFINE_LOG_FUNCTION(name, header)                                                          \
    void name(struct cfbp_log *log, const char *format, ...)                                       \
    {                                                                                              \
        va_list args;                                                                              \
        va_start(args, format);                                                                    \
        write_line(log, header, format, args);                                                     \
        va_end(args);                                                                              \
    }

void cfbp_log_init(struct cfbp_log *log, FILE *out, bool debug)
{
    log->out = out;
    log->debug = debug;
}

DEFINE_LOG_FUNCTION(cfbp_log_begin_step, HEADER_STEP)
DEFINE_LOG_FUNCTION(cfbp_log_info, HEADER_INFO)
DEFINE_LOG_FUNCTION(cfbp_log_warning, HEADER_WARNING)
DEFINE_LOG_FUNCTION(cfbp_log_error, HEADER_ERROR)

void cfbp_log_debug(struct cfbp_log *log, const char *format, ...)
{
    if (!log || !log->debug)
        return;
    va_list args;
    va_start(args, format);
    write_line(log, HEADER_DEBUG, format, args);
    va_end(args);
}

static void write_fixed(struct cfbp_log *log, const char *header, const char *format, ...)
    __attribute__((format(printf, 3, 4)));

static void write_fixed(struct cfbp_log *log, const char *header, const char *format, ...)
{
    va_list args;
    va_start(args, format);
    write_line(log, header, format, args);
    va_end(args);
}

void cfbp_log_protip(struct cfbp_log *log, const char *tip, const char *url)
{
    write_fixed(log, HEADER_PROTIP, "%s", tip);
    write_fixed(log, HEADER_INFO, "Visit %s", url);
}
