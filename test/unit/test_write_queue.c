/*
 * test_write_queue.c - the thread that creates small member files
 * (lib/write_queue.h): files written with their data, modes and holes;
 * places already taken handed back in order; the paths that must wait;
 * nothing written after a failure; descriptors and memory bounded and freed
 * whatever state the queue is dropped in. How the extractor uses it is
 * tested with the archives (test_archive*.c, run again with the queue from
 * the first file).
 */
#include "support.h"

#include "../../lib/write_queue.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
    char *dir;
    struct write_queue *queue;
};

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    fixture->dir = test_make_dir();
    fixture->queue = cfbpi_write_queue_start();
    assert_non_null(fixture->queue);
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    cfbpi_write_queue_free(fixture->queue);
    test_remove_dir(fixture->dir);
    free(fixture);
    return 0;
}

static size_t open_descriptors(void)
{
    DIR *fds = opendir("/proc/self/fd");
    size_t count = 0;
    while (readdir(fds))
        count++;
    closedir(fds);
    return count;
}

/* A holder of the directory relative (made if missing) under the fixture's directory. */
static struct write_directory *directory(struct fixture *fixture, const char *relative)
{
    char *path = test_path(fixture->dir, relative);
    mkdir(path, 0755);
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    assert_true(fd >= 0);
    free(path);
    return cfbpi_write_directory_new(fixture->queue, fd);
}

/* A job for path (its last component goes in parent) holding text, size bytes long. */
static struct write_job *job(struct write_directory *parent, const char *path, const char *text,
                             off_t size, int chmod_mode)
{
    struct write_job *job = calloc(1, sizeof(*job));
    cfbpi_write_directory_hold(parent);
    job->parent = parent;
    job->path = strdup(path);
    const char *slash = strrchr(path, '/');
    job->name_start = slash ? (size_t)(slash + 1 - path) : 0;
    job->create_mode = chmod_mode >= 0 ? 0600 : 0644;
    job->chmod_mode = chmod_mode;
    job->length = strlen(text);
    job->data = malloc(job->length + 1);
    memcpy(job->data, text, job->length);
    job->size = size >= 0 ? size : (off_t)job->length;
    return job;
}

/* Adds a job, settling first whenever the queue is full (nothing may be handed back here). */
static void add(struct fixture *fixture, struct write_job *job)
{
    while (!cfbpi_write_queue_add(fixture->queue, job)) {
        int failure;
        const char *where;
        assert_null(cfbpi_write_queue_settle(fixture->queue, &failure, &where));
        assert_int_equal(failure, 0);
    }
}

static void assert_file(struct fixture *fixture, const char *relative, const char *text,
                        mode_t mode)
{
    char *path = test_path(fixture->dir, relative);
    char *got = test_read_file(path);
    if (!got || strcmp(got, text) != 0)
        fail_msg("%s holds '%s', expected '%s'", relative, got ? got : "(nothing)", text);
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, mode);
    free(got);
    free(path);
}

static void queued_files_are_written_with_their_data_and_modes(void **state)
{
    struct fixture *fixture = *state;
    mode_t mask = umask(022);
    struct write_directory *top = directory(fixture, "d");
    char path[64], text[64];
    /* More than the queue holds at once. */
    for (int i = 0; i < 3 * WRITE_QUEUE_JOBS; i++) {
        snprintf(path, sizeof(path), "d/f%d", i);
        snprintf(text, sizeof(text), "file %d\n", i);
        add(fixture, job(top, path, text, -1, i % 3 == 0 ? 0750 : -1));
    }
    /* A hole at the end is kept. */
    add(fixture, job(top, "d/holey", "start", 1 << 20, -1));
    cfbpi_write_directory_release(top);
    int failure;
    const char *where;
    assert_null(cfbpi_write_queue_settle(fixture->queue, &failure, &where));
    assert_int_equal(failure, 0);
    assert_null(where);
    for (int i = 0; i < 3 * WRITE_QUEUE_JOBS; i++) {
        snprintf(path, sizeof(path), "d/f%d", i);
        snprintf(text, sizeof(text), "file %d\n", i);
        assert_file(fixture, path, text, i % 3 == 0 ? 0750 : 0644);
    }
    char *holey = test_path(fixture->dir, "d/holey");
    struct stat st;
    assert_int_equal(stat(holey, &st), 0);
    assert_int_equal(st.st_size, 1 << 20);
    assert_true(st.st_blocks * 512 < (1 << 20) / 2);
    free(holey);
    umask(mask);
}

static void a_taken_place_is_handed_back_in_order(void **state)
{
    struct fixture *fixture = *state;
    struct write_directory *top = directory(fixture, "d");
    char *taken = test_path(fixture->dir, "d/b");
    test_write_file(taken, "was here\n", 0644);
    char *link = test_path(fixture->dir, "d/d");
    assert_int_equal(symlink("b", link), 0);
    const char *names[] = {"d/a", "d/b", "d/c", "d/d", "d/e"};
    for (size_t i = 0; i < 5; i++)
        add(fixture, job(top, names[i], names[i], -1, -1));
    cfbpi_write_directory_release(top);
    int failure;
    const char *where;
    struct write_job *back = cfbpi_write_queue_settle(fixture->queue, &failure, &where);
    assert_int_equal(failure, 0);
    assert_non_null(back);
    assert_string_equal(back->path, "d/b");
    assert_int_equal(back->outcome, EEXIST);
    assert_non_null(back->next);
    assert_string_equal(back->next->path, "d/d");
    assert_null(back->next->next);
    /* Its directory is still open for the extractor to write it. */
    assert_true(fcntl(back->next->parent->fd, F_GETFD) >= 0);
    assert_int_equal(back->next->length, 3);
    assert_memory_equal(back->next->data, "d/d", 3);
    while (back) {
        struct write_job *next = back->next;
        cfbpi_write_job_free(back);
        back = next;
    }
    assert_file(fixture, "d/a", "d/a", 0644);
    assert_file(fixture, "d/c", "d/c", 0644);
    assert_file(fixture, "d/e", "d/e", 0644);
    assert_file(fixture, "d/b", "was here\n", 0644);
    struct stat st;
    assert_int_equal(lstat(link, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    free(taken);
    free(link);
}

static void touches_a_queued_file_and_what_lies_under_it(void **state)
{
    struct fixture *fixture = *state;
    struct write_directory *x = directory(fixture, "x");
    /* Taken, so handed back: it stays queued until a settle, whatever the thread's speed. */
    char *taken = test_path(fixture->dir, "x/y");
    test_write_file(taken, "taken\n", 0644);
    add(fixture, job(x, "x/y", "new\n", -1, -1));
    cfbpi_write_directory_release(x);
    assert_true(cfbpi_write_queue_touches(fixture->queue, "x/y"));
    assert_true(cfbpi_write_queue_touches(fixture->queue, "x/y/z"));
    assert_true(cfbpi_write_queue_touches(fixture->queue, "x/y/z/w"));
    assert_false(cfbpi_write_queue_touches(fixture->queue, "x"));
    assert_false(cfbpi_write_queue_touches(fixture->queue, "x/yz"));
    assert_false(cfbpi_write_queue_touches(fixture->queue, "x/y2/z"));
    assert_false(cfbpi_write_queue_touches(fixture->queue, "y"));
    assert_false(cfbpi_write_queue_failed(fixture->queue));
    int failure;
    const char *where;
    struct write_job *back = cfbpi_write_queue_settle(fixture->queue, &failure, &where);
    assert_non_null(back);
    cfbpi_write_job_free(back);
    assert_false(cfbpi_write_queue_touches(fixture->queue, "x/y/z"));
    free(taken);
}

static void after_a_failure_nothing_more_is_written(void **state)
{
    struct fixture *fixture = *state;
    struct write_directory *gone = directory(fixture, "gone");
    struct write_directory *kept = directory(fixture, "kept");
    char *gone_path = test_path(fixture->dir, "gone");
    assert_int_equal(rmdir(gone_path), 0);
    add(fixture, job(kept, "kept/before", "1", -1, -1));
    add(fixture, job(gone, "gone/file", "2", -1, -1));
    for (int i = 0; i < 50; i++)
        add(fixture, job(kept, "kept/after", "3", -1, -1));
    cfbpi_write_directory_release(gone);
    cfbpi_write_directory_release(kept);
    int failure;
    const char *where;
    assert_null(cfbpi_write_queue_settle(fixture->queue, &failure, &where));
    assert_int_equal(failure, ENOENT);
    assert_string_equal(where, "gone/file");
    assert_true(cfbpi_write_queue_failed(fixture->queue));
    assert_file(fixture, "kept/before", "1", 0644);
    char *after = test_path(fixture->dir, "kept/after");
    assert_false(test_exists(after));
    free(after);
    free(gone_path);
}

static void directories_held_open_are_bounded(void **state)
{
    struct fixture *fixture = *state;
    struct write_directory *held[WRITE_QUEUE_DIRECTORIES + 1];
    char name[32];
    for (int i = 0; i <= WRITE_QUEUE_DIRECTORIES; i++) {
        snprintf(name, sizeof(name), "d%d", i);
        held[i] = directory(fixture, name);
    }
    struct write_job *refused = job(held[0], "d0/file", "x", -1, -1);
    assert_false(cfbpi_write_queue_add(fixture->queue, refused));
    cfbpi_write_directory_release(held[WRITE_QUEUE_DIRECTORIES]);
    assert_true(cfbpi_write_queue_add(fixture->queue, refused));
    for (int i = 0; i < WRITE_QUEUE_DIRECTORIES; i++)
        cfbpi_write_directory_release(held[i]);
    int failure;
    const char *where;
    assert_null(cfbpi_write_queue_settle(fixture->queue, &failure, &where));
    assert_file(fixture, "d0/file", "x", 0644);
}

static void a_queue_dropped_at_any_point_frees_everything(void **state)
{
    struct fixture *fixture = *state;
    cfbpi_write_queue_free(fixture->queue);
    fixture->queue = NULL;
    size_t before = open_descriptors();
    char path[64];
    for (int round = 0; round < 20; round++) {
        fixture->queue = cfbpi_write_queue_start();
        struct write_directory *top = directory(fixture, "drop");
        /* Some taken (handed back), some written, some still queued when dropped. */
        for (int i = 0; i < 2 * round; i++) {
            snprintf(path, sizeof(path), "drop/r%d-f%d", round, i % (round + 1));
            struct write_job *one = job(top, path, "data", -1, -1);
            if (!cfbpi_write_queue_add(fixture->queue, one))
                cfbpi_write_job_free(one);
        }
        cfbpi_write_directory_release(top);
        cfbpi_write_queue_free(fixture->queue);
        fixture->queue = NULL;
        assert_int_equal(open_descriptors(), before);
    }
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(queued_files_are_written_with_their_data_and_modes),
        TEST(a_taken_place_is_handed_back_in_order),
        TEST(touches_a_queued_file_and_what_lies_under_it),
        TEST(after_a_failure_nothing_more_is_written),
        TEST(directories_held_open_are_bounded),
        TEST(a_queue_dropped_at_any_point_frees_everything),
    };
    umask(022);
    return cmocka_run_group_tests(tests, NULL, NULL);
}
