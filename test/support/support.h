/*
 * support.h - helpers shared by the unit and integration tests.
 *
 * Tests work on real files in real temporary directories, build real
 * archives with libarchive, and run real programs; these helpers keep that
 * short. They abort the test (cmocka fail) on setup errors, so a test body
 * only asserts on outcomes.
 */
#ifndef TEST_SUPPORT_H
#define TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <cmocka.h>

struct cfbp_error;

/* A fresh directory under $TMPDIR (or /tmp); free with test_remove_dir. */
char *test_make_dir(void);
void test_remove_dir(char *path);
/* "<a>/<b>" as a new string. */
char *test_path(const char *a, const char *b);
/* Writes text to path (creating parents) with mode. */
void test_write_file(const char *path, const char *text, mode_t mode);
/* Reads a whole file (NULL when missing). */
char *test_read_file(const char *path);
bool test_exists(const char *path);
/* The lowercase hex SHA-256 of a file, into a static buffer. */
const char *test_sha256_of_file(const char *path);
/* Counts entries below a directory (recursively, not counting itself). */
size_t test_count_entries(const char *path);
/*
 * Runs body(data, err) in a child process whose file size limit is limit
 * bytes (SIGXFSZ caught, as the programs catch it, so a write past it fails
 * with EFBIG) and returns what it said: NULL when it returned 0, else its
 * error message (free it). The child's changes to memory are lost; its
 * writes to files stay.
 */
char *test_in_child_with_file_size_limit(unsigned long long limit,
                                         int (*body)(void *data, struct cfbp_error *err),
                                         void *data);
/*
 * Applies CFBP_TEST_WRITE_QUEUE_FROM: after how many small files an
 * extraction starts its write queue (lib/write_queue.h). The archive tests
 * run again with 0, so that every case also runs with the queue.
 */
void test_use_write_queue_setting(void);
/* How many newline characters text holds. */
size_t test_count_lines(const char *text);

/*
 * Describes the tree at root, one line per entry in sorted order: path,
 * type, mode, size and SHA-256 of files, link targets and, with with_times,
 * modification times. Equal snapshots mean equal trees. Free the result.
 */
char *test_snapshot(const char *root, bool with_times);
/* Fails the test, showing both, when two snapshots differ; what names the tree. */
void test_assert_same_snapshot(const char *before, const char *after, const char *what);

/* --- archives --- */

enum test_archive_format { TEST_TGZ, TEST_TXZ, TEST_TAR, TEST_ZIP };

struct test_entry {
    const char *name;
    /* 'f' file, 'r' file of random bytes, 'z' file of zeros, 'd' directory, 'l' symlink,
     * 'h' hard link, 'c' char device, 'p' fifo */
    char type;
    mode_t mode;      /* permission bits; 0 means 0644 for files, 0755 for directories */
    const char *data; /* file contents (files), or the link target (links) */
    size_t size;      /* when data is NULL for a file: this many pattern bytes */
};

/* Writes an archive holding entries, exactly as given (names are not cleaned). */
void test_make_archive(const char *path, enum test_archive_format format,
                       const struct test_entry *entries, size_t count);

/* --- processes --- */

struct test_run {
    int status; /* exit code, or 128 + signal */
    char *out;  /* everything written to stdout */
    char *err;  /* everything written to stderr */
    double seconds;
};

/*
 * Runs argv (argv[0] is a path) in directory (NULL: current), with the
 * current environment plus env (NULL-terminated "NAME=value" entries;
 * "NAME=" with nothing after the '=' removes NAME), and waits for it.
 */
struct test_run test_run_program(char *const *argv, const char *directory, char *const *env);
void test_run_free(struct test_run *run);

/*
 * Starts argv in the background, stdout and stderr appended to log_path, in
 * a process group of its own (env as for test_run_program). Returns its pid.
 */
pid_t test_start_program(char *const *argv, const char *directory, char *const *env,
                         const char *log_path);
/* Sends signal_number to the program, waits for it, and returns its exit status. */
int test_stop_program(pid_t pid, int signal_number);
/* True while pid is a process that has not ended (a zombie has ended). */
bool test_process_alive(pid_t pid);

/* GETs url; returns the HTTP status (0 when nothing answered) and the body in *body. */
long test_http_get(const char *url, char **body);
/* Polls url until it answers (any status) or seconds pass; true when it answered. */
bool test_wait_for_http(const char *url, double seconds);

/*
 * Process CPU time in seconds, for tests that bound how long hostile input
 * may take: CPU time, not wall time, so that a busy machine does not fail them.
 */
double test_cpu_seconds(void);
/*
 * Fails the test when more than limit seconds of CPU time went by since
 * started (a test_cpu_seconds value); the limit is five times larger under
 * AddressSanitizer, which makes everything several times slower.
 */
void test_check_cpu_time(const char *what, double started, double limit);

/* The directory holding the built programs (CFBP_TEST_PROGRAM_DIR, set by CMake). */
const char *test_program_dir(void);

#endif
