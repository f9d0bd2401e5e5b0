/*
 * progress.c - steps and transfer progress on stderr (see progress.h).
 *
 * The library reports bytes as they move (curl calls back many times a
 * second); this file decides what a person sees: on a terminal a redrawn
 * line at most ten times a second, elsewhere a plain line every few seconds.
 * The rate is measured over the last second or more, not since the start,
 * so that it shows a transfer slowing down.
 *
 * The packager names a transfer by its kind ("download", "zip", packager.h);
 * the line names what is moving: a download by the step that announced it
 * ("Downloading ruby 3.3.1 from <uri>" shows as "Downloading ruby 3.3.1").
 */
#include "progress.h"

#include "interrupt.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REDRAW_INTERVAL 0.1 /* seconds between redraws on a terminal */
#define RATE_WINDOW     1.0 /* the rate is measured over at least this long */
#define WATCH_INTERVAL  1.0 /* seconds between looks for a reader that went away */

static double now_seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

void progress_init(struct progress *progress, bool quiet)
{
    memset(progress, 0, sizeof(*progress));
    progress->out = stderr;
    progress->quiet = quiet;
    progress->interactive = isatty(STDERR_FILENO);
    progress->interval = PROGRESS_INTERVAL;
}

void progress_end_line(struct progress *progress)
{
    if (progress->drawing) {
        fputc('\n', progress->out);
        progress->drawing = false;
    }
}

void progress_release(struct progress *progress)
{
    progress_end_line(progress);
    free(progress->what);
    free(progress->last_step);
    progress->what = progress->last_step = NULL;
}

/* What the line calls the transfer of this kind, in label (at most size bytes). */
static void name_transfer(const struct progress *progress, const char *kind, char *label,
                          size_t size)
{
    const char *step = progress->last_step;
    if (strcmp(kind, "zip") == 0) {
        snprintf(label, size, "Writing the zip");
    } else if (strcmp(kind, "download") == 0 && step && strncmp(step, "Downloading ", 12) == 0) {
        const char *from = strstr(step, " from ");
        snprintf(label, size, "%.*s", from ? (int)(from - step) : (int)strlen(step), step);
    } else if (strcmp(kind, "download") == 0) {
        snprintf(label, size, "Downloading");
    } else {
        snprintf(label, size, "%s", kind);
    }
}

/*
 * Quiet or not (and whether or not a line is due), a reader of the output
 * that went away is noticed within a second of work (interrupt.h).
 */
static void watch_output(struct progress *progress, double now)
{
    if (now - progress->last_watch < WATCH_INTERVAL)
        return;
    progress->last_watch = now;
    interrupt_watch_output();
}

void progress_step(void *data, const char *message)
{
    struct progress *progress = data;
    watch_output(progress, now_seconds());
    if (progress->quiet)
        return;
    free(progress->last_step);
    progress->last_step = strdup(message);
    if (progress->hide_steps)
        return;
    progress_end_line(progress);
    fprintf(progress->out, "-----> %s\n", message);
    interrupt_flush(progress->out);
}

/* "512 KB", "63.2 MB", "1.25 GB" (binary units, as the packager's result line counts MB). */
static void format_bytes(char *out, size_t size, double bytes)
{
    if (bytes < 1024.0 * 1024.0)
        snprintf(out, size, "%.0f KB", bytes / 1024.0);
    else if (bytes < 1024.0 * 1024.0 * 1024.0)
        snprintf(out, size, "%.1f MB", bytes / (1024.0 * 1024.0));
    else
        snprintf(out, size, "%.2f GB", bytes / (1024.0 * 1024.0 * 1024.0));
}

/* Starts showing a new transfer: another thing, or the same one begun again (a retry). */
static void begin_transfer(struct progress *progress, const char *what, double now)
{
    progress_end_line(progress);
    free(progress->what);
    progress->what = strdup(what);
    progress->shown = progress->shown_done = false;
    progress->started = progress->last_output = progress->rate_since = now;
    progress->last_done = progress->rate_from = 0;
    progress->rate = -1;
}

static void print_line(struct progress *progress, unsigned long long done, unsigned long long total)
{
    char done_text[32], total_text[32], rate_text[32] = "";
    format_bytes(done_text, sizeof(done_text), (double)done);
    if (progress->rate >= 0)
        format_bytes(rate_text, sizeof(rate_text), progress->rate);
    const char *lead = progress->interactive ? "\r" : "";
    if (total) {
        format_bytes(total_text, sizeof(total_text), (double)total);
        fprintf(progress->out, "%s       %s: %llu%% %s of %s", lead, progress->what,
                done * 100 / total, done_text, total_text);
    } else {
        fprintf(progress->out, "%s       %s: %s", lead, progress->what, done_text);
    }
    if (*rate_text)
        fprintf(progress->out, " at %s/s", rate_text);
    /* On a terminal, clear what a longer earlier line left; elsewhere, end the line. */
    fputs(progress->interactive ? "\033[K" : "\n", progress->out);
    interrupt_flush(progress->out);
}

void progress_update(void *data, const char *kind, unsigned long long done,
                     unsigned long long total)
{
    struct progress *progress = data;
    double now = now_seconds();
    watch_output(progress, now);
    if (progress->quiet)
        return;
    char label[256];
    name_transfer(progress, kind, label, sizeof(label));
    if (!progress->what || strcmp(progress->what, label) != 0 || done < progress->last_done)
        begin_transfer(progress, label, now);
    if (!progress->what)
        return; /* out of memory for the label: show nothing rather than fail */
    progress->last_done = done;
    if (now - progress->rate_since >= RATE_WINDOW) {
        progress->rate = (double)(done - progress->rate_from) / (now - progress->rate_since);
        progress->rate_since = now;
        progress->rate_from = done;
    }
    bool complete = total > 0 && done >= total;
    if (progress->interactive) {
        if (complete || now - progress->last_output >= REDRAW_INTERVAL) {
            print_line(progress, done, total);
            progress->drawing = true;
            progress->last_output = now;
        }
        return;
    }
    if (complete && progress->shown && !progress->shown_done) {
        /* The closing line of a transfer that was long enough to be shown: its whole rate. */
        if (now > progress->started)
            progress->rate = (double)done / (now - progress->started);
        print_line(progress, done, total);
        progress->shown_done = true;
    } else if (!complete && now - progress->last_output >= progress->interval) {
        print_line(progress, done, total);
        progress->shown = true;
        progress->last_output = now;
    }
}

void progress_warning(void *data, const char *message)
{
    struct progress *progress = data;
    progress_end_line(progress);
    fprintf(progress->out, "       **WARNING** %s\n",
            message); /* libbuildpack's (§7), uncoloured */
    interrupt_flush(progress->out);
}

struct cfbp_package_reporter progress_reporter(struct progress *progress)
{
    return (struct cfbp_package_reporter){
        .step = progress_step,
        .progress = progress_update,
        .warning = progress_warning,
        .data = progress,
    };
}
