/*
 * progress.h - how cfbp shows long work on stderr: "-----> step" lines, and
 * the bytes of a download or of the zip being written.
 *
 * On a terminal, one line redrawn in place (\r) a few times a second:
 *
 *        Downloading ruby 3.3.1: 45% 63.2 MB of 140.0 MB at 12.4 MB/s
 *
 * Anywhere else (a CI log, a pipe, a file) the same text as a whole line
 * every PROGRESS_INTERVAL seconds, and once more at 100% when at least one
 * was printed, so that a log is never silent for long during a big download
 * and a short one adds no lines at all.
 */
#ifndef CFBP_PROGRESS_H
#define CFBP_PROGRESS_H

#include "cfbp/packager.h"

#include <stdbool.h>
#include <stdio.h>

/* Seconds between plain progress lines when stderr is not a terminal. */
#define PROGRESS_INTERVAL 3.0

struct progress {
    FILE *out;
    bool quiet;       /* steps and progress are not shown at all */
    bool hide_steps;  /* progress lines only: steps are remembered (they name downloads) */
    bool interactive; /* out is a terminal: redraw one line */
    double interval;  /* seconds between plain lines */
    char *last_step;  /* the last step shown: it names a download */
    /* The transfer being shown. */
    char *what;
    bool drawing;       /* a redrawn line is on screen (interactive) */
    bool shown;         /* a plain line was printed for this transfer */
    bool shown_done;    /* ... and the one at 100% */
    double started;     /* when it began (monotonic seconds) */
    double last_output; /* when its line was last printed or redrawn */
    unsigned long long last_done;
    double rate_since;            /* the rate is measured from this moment ... */
    unsigned long long rate_from; /* ... and this many bytes */
    double rate;                  /* bytes a second, or < 0 while unknown */
    double last_watch;            /* when the output was last checked for a reader */
};

/* Shows on stderr; interactive when it is a terminal. */
void progress_init(struct progress *progress, bool quiet);
/* Ends a redrawn line and frees what it holds. */
void progress_release(struct progress *progress);
/* "-----> message", after ending any redrawn line. */
void progress_step(void *progress, const char *message);
/* done of total bytes (total 0: unknown) of a transfer of a kind: "download" or "zip". */
void progress_update(void *progress, const char *kind, unsigned long long done,
                     unsigned long long total);
/* "       **WARNING** message", shown even with quiet: it is not progress. */
void progress_warning(void *progress, const char *message);
/* Ends a redrawn line, so that whatever is printed next starts on a line of its own. */
void progress_end_line(struct progress *progress);
/* A reporter for cfbp_package that shows through progress. */
struct cfbp_package_reporter progress_reporter(struct progress *progress);

#endif
