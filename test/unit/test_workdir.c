/*
 * test_workdir.c - work directories, the destination lock, the parents a
 * failed install takes away and the times it puts back. Other processes
 * hold the locks here, as concurrent installs would.
 */
#include "support.h"

#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/string_list.h"
#include "cfbp/workdir.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct fixture {
    char *dir;
    char *dest; /* <dir>/deps/0, missing at first */
    struct cfbp_error err;
};

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    fixture->dir = test_make_dir();
    fixture->dest = test_path(fixture->dir, "deps/0");
    char *deps = test_path(fixture->dir, "deps");
    mkdir(deps, 0755);
    free(deps);
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    cfbp_error_clear(&fixture->err);
    free(fixture->dest);
    test_remove_dir(fixture->dir);
    free(fixture);
    return 0;
}

static double now(void)
{
    struct timespec time;
    clock_gettime(CLOCK_MONOTONIC, &time);
    return (double)time.tv_sec + (double)time.tv_nsec / 1e9;
}

static void
work_directories_go_beside_a_missing_destination_and_inside_an_existing_one(void **state)
{
    struct fixture *fixture = *state;
    struct cfbp_workdir beside = CFBP_WORKDIR_INIT, inside = CFBP_WORKDIR_INIT;
    assert_int_equal(cfbp_workdir_create(&beside, fixture->dest, "", &fixture->err), 0);
    assert_false(beside.inside);
    assert_non_null(strstr(beside.path, "/deps/.0.cfbp-install-"));
    mkdir(fixture->dest, 0755);
    assert_int_equal(cfbp_workdir_create(&inside, fixture->dest, "download-", &fixture->err), 0);
    assert_true(inside.inside);
    assert_non_null(strstr(inside.path, "/deps/0/.cfbp-install-download-"));
    /* Both are held: a second process cannot lock them. */
    int probe = open(inside.path, O_RDONLY | O_DIRECTORY);
    assert_int_equal(flock(probe, LOCK_EX | LOCK_NB), -1);
    close(probe);
    char *path = strdup(inside.path);
    cfbp_workdir_remove(&inside);
    assert_false(test_exists(path));
    free(path);
    cfbp_workdir_remove(&beside);
    assert_int_equal(test_count_entries(fixture->dir), 2); /* deps and deps/0 */
}

/*
 * A work directory of top mode takes the name one that may hold a journal
 * has (the same six characters) and stays held; a name that is taken is
 * refused. Another work directory is made without waiting for the lock its
 * maker holds, and with it without looking for stale ones.
 */
static void a_top_work_directory_becomes_a_journaled_one(void **state)
{
    struct fixture *fixture = *state;
    mkdir(fixture->dest, 0755);
    struct cfbp_workdir top = CFBP_WORKDIR_INIT, taken = CFBP_WORKDIR_INIT,
                        another = CFBP_WORKDIR_INIT;
    assert_int_equal(cfbp_workdir_create(&top, fixture->dest, CFBP_WORKDIR_TOP, &fixture->err), 0);
    assert_non_null(strstr(top.path, "/deps/0/.cfbp-install-top-"));
    char *suffix = strdup(top.path + strlen(top.path) - 6);
    assert_int_equal(cfbp_workdir_make_journaled(&top), 0);
    assert_non_null(strstr(top.path, "/deps/0/.cfbp-install-"));
    assert_null(strstr(top.path, "top-"));
    assert_string_equal(top.path + strlen(top.path) - 6, suffix);
    assert_true(test_exists(top.path));
    int probe = open(top.path, O_RDONLY | O_DIRECTORY);
    assert_int_equal(flock(probe, LOCK_EX | LOCK_NB), -1);
    close(probe);
    /* Once journaled, it is no top work directory any more: nothing to rename. */
    assert_int_equal(cfbp_workdir_make_journaled(&top), -1);
    assert_int_equal(errno, EINVAL);
    /* A name that is taken stays taken. */
    assert_int_equal(cfbp_workdir_create(&taken, fixture->dest, CFBP_WORKDIR_TOP, &fixture->err),
                     0);
    char *plain = strdup(taken.path);
    char *mark = strstr(plain, "top-");
    memmove(mark, mark + 4, strlen(mark + 4) + 1);
    assert_int_equal(mkdir(plain, 0700), 0);
    char *before = strdup(taken.path);
    assert_int_equal(cfbp_workdir_make_journaled(&taken), -1);
    assert_int_equal(errno, EEXIST);
    assert_string_equal(taken.path, before);
    rmdir(plain);
    /* Under the lock its caller holds: no wait, and another directory beside the first. */
    struct cfbp_destination_lock lock = CFBP_DESTINATION_LOCK_INIT;
    assert_int_equal(cfbp_destination_lock(&lock, fixture->dest, &fixture->err), 0);
    double started = now();
    assert_int_equal(cfbp_workdir_create_another(&another, fixture->dest, true, &fixture->err), 0);
    assert_true(now() - started < 1.0);
    cfbp_destination_unlock(&lock);
    assert_true(another.inside);
    assert_non_null(strstr(another.path, "/deps/0/.cfbp-install-"));
    assert_true(strcmp(another.path, top.path) != 0);
    cfbp_workdir_remove(&another);
    cfbp_workdir_remove(&taken);
    cfbp_workdir_remove(&top);
    assert_int_equal(test_count_entries(fixture->dir), 2); /* deps and deps/0 */
    free(suffix);
    free(plain);
    free(before);
}

/*
 * A destination whose own name holds the mark: the work directory beside it
 * is renamed at its own mark, to the name stale-directory recovery knows.
 */
static void a_destination_named_like_a_work_directory_keeps_its_name(void **state)
{
    struct fixture *fixture = *state;
    char *odd = test_path(fixture->dir, "deps/cfbp-install-top-q");
    struct cfbp_workdir top = CFBP_WORKDIR_INIT, next = CFBP_WORKDIR_INIT;
    assert_int_equal(cfbp_workdir_create(&top, odd, CFBP_WORKDIR_TOP, &fixture->err), 0);
    char *suffix = strdup(top.path + strlen(top.path) - 6);
    assert_int_equal(cfbp_workdir_make_journaled(&top), 0);
    char *expected = test_path(fixture->dir, "deps/.cfbp-install-top-q.cfbp-install-");
    assert_int_equal(strncmp(top.path, expected, strlen(expected)), 0);
    assert_string_equal(top.path + strlen(expected), suffix);
    /* Left behind by a killed install, the next one finds and removes it. */
    char *left = strdup(top.path);
    cfbp_workdir_release(&top);
    assert_true(test_exists(left));
    assert_int_equal(cfbp_workdir_create(&next, odd, "", &fixture->err), 0);
    assert_false(test_exists(left));
    cfbp_workdir_remove(&next);
    assert_int_equal(test_count_entries(fixture->dir), 1); /* deps */
    free(left);
    free(expected);
    free(suffix);
    free(odd);
}

/*
 * As a user, a temporary directory that shuts its owner out is removed
 * when its owner is gone, and one that is too new or held keeps its mode:
 * nothing is changed before a directory is known to be stale.
 */
static void shut_out_directories_are_judged_before_they_are_changed(void **state)
{
    struct fixture *fixture = *state;
    if (geteuid() != 0)
        skip();
    char *parent = test_path(fixture->dir, "temp");
    assert_int_equal(mkdir(parent, 0755), 0);
    const char *names[] = {"cfbp-stage-shut01", "cfbp-stage-young1", "cfbp-stage-held01"};
    char *paths[3];
    struct timespec old[2] = {{time(NULL) - 3600, 0}, {time(NULL) - 3600, 0}};
    for (int i = 0; i < 3; i++) {
        paths[i] = test_path(parent, names[i]);
        char *inner = test_path(paths[i], "f");
        test_write_file(inner, "x", 0644);
        assert_int_equal(chown(inner, 65534, 65534), 0);
        assert_int_equal(chown(paths[i], 65534, 65534), 0);
        assert_int_equal(chmod(paths[i], 0300), 0);
        if (i != 1)
            assert_int_equal(utimensat(AT_FDCWD, paths[i], old, 0), 0);
        free(inner);
    }
    assert_int_equal(chown(parent, 65534, 65534), 0);
    assert_int_equal(chmod(fixture->dir, 0755), 0);
    int held = open(paths[2], O_RDONLY | O_DIRECTORY);
    assert_int_equal(flock(held, LOCK_EX), 0);
    pid_t user = fork();
    if (user == 0) {
        if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
            _exit(3);
        struct cfbp_workdir temp = CFBP_WORKDIR_INIT;
        struct cfbp_error err = CFBP_ERROR_INIT;
        if (cfbp_workdir_create_temp(&temp, parent, "cfbp-stage-", &err) < 0)
            _exit(4);
        cfbp_workdir_remove(&temp);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(user, &status, 0), user);
    close(held);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_false(test_exists(paths[0])); /* old, not held: removed, although shut */
    for (int i = 1; i < 3; i++) {
        struct stat st;
        assert_int_equal(lstat(paths[i], &st), 0);
        if ((st.st_mode & 07777) != 0300)
            fail_msg("%s has mode %04o, expected 0300", names[i], (unsigned)(st.st_mode & 07777));
    }
    for (int i = 0; i < 3; i++)
        free(paths[i]);
    free(parent);
}

static void the_destination_lock_waits_for_its_holder(void **state)
{
    struct fixture *fixture = *state;
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t holder = fork();
    if (holder == 0) {
        struct cfbp_destination_lock lock = CFBP_DESTINATION_LOCK_INIT;
        struct cfbp_error err = CFBP_ERROR_INIT;
        if (cfbp_destination_lock(&lock, fixture->dest, &err) < 0)
            _exit(1);
        if (write(ready[1], "x", 1) < 0)
            _exit(1);
        usleep(700 * 1000);
        _exit(0); /* dying releases the lock */
    }
    char byte;
    assert_int_equal(read(ready[0], &byte, 1), 1);
    double start = now();
    struct cfbp_destination_lock lock = CFBP_DESTINATION_LOCK_INIT;
    assert_int_equal(cfbp_destination_lock(&lock, fixture->dest, &fixture->err), 0);
    double waited = now() - start;
    cfbp_destination_unlock(&lock);
    waitpid(holder, NULL, 0);
    if (waited < 0.4 || waited > 10)
        fail_msg("waited %.2f s for a lock held about 0.7 s", waited);
    close(ready[0]);
    close(ready[1]);
}

static void mkdir_p_remembers_what_it_made_and_undo_takes_it_away(void **state)
{
    struct fixture *fixture = *state;
    char *deep = test_path(fixture->dir, "deps/1/vendor/lib");
    struct cfbp_string_list made = CFBP_STRING_LIST_INIT;
    char *before = test_snapshot(fixture->dir, false);
    assert_int_equal(cfbp_workdir_mkdir_p(deep, &made, &fixture->err), 0);
    assert_int_equal(made.count, 3);
    assert_true(cfbp_fs_is_directory(deep));
    cfbp_workdir_undo_mkdir(&made);
    char *after = test_snapshot(fixture->dir, false);
    test_assert_same_snapshot(before, after, "the tree");
    cfbp_string_list_clear(&made);
    free(before);
    free(after);
    free(deep);
}

static void saved_times_are_put_back(void **state)
{
    struct fixture *fixture = *state;
    char *deps = test_path(fixture->dir, "deps");
    struct timespec old[2] = {{1000000000, 0}, {1000000000, 0}};
    assert_int_equal(utimensat(AT_FDCWD, deps, old, 0), 0);
    struct cfbp_saved_times times;
    cfbp_workdir_save_times(&times, fixture->dest); /* missing: its parent's times */
    char *file = test_path(deps, "new");
    test_write_file(file, "x", 0644);
    unlink(file);
    cfbp_workdir_restore_times(&times, true);
    struct stat st;
    assert_int_equal(stat(deps, &st), 0);
    assert_int_equal(st.st_mtim.tv_sec, 1000000000);
    /* Without restore, nothing is put back. */
    cfbp_workdir_save_times(&times, deps);
    test_write_file(file, "x", 0644);
    cfbp_workdir_restore_times(&times, false);
    assert_int_equal(stat(deps, &st), 0);
    assert_true(st.st_mtim.tv_sec > 1000000000);
    free(file);
    free(deps);
}

/* cfbp stage's and cfbp run's TMPDIR: what a SIGKILL left is removed, nothing in use is. */
static void temporary_directories_left_by_dead_owners_are_removed(void **state)
{
    struct fixture *fixture = *state;
    struct timespec old[2] = {{time(NULL) - 3600, 0}, {time(NULL) - 3600, 0}};
    const char *names[] = {"cfbp-stage-dead01", "cfbp-stage-new001", "cfbp-stage-held01",
                           "other-dead01"};
    char *paths[4];
    for (int i = 0; i < 4; i++) {
        paths[i] = test_path(fixture->dir, names[i]);
        char *inner = test_path(paths[i], "app/file");
        test_write_file(inner, "x", 0644);
        free(inner);
        if (i != 1)
            assert_int_equal(utimensat(AT_FDCWD, paths[i], old, 0), 0);
    }
    int held = open(paths[2], O_RDONLY | O_DIRECTORY);
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t owner = fork();
    if (owner == 0) {
        flock(held, LOCK_EX);
        if (write(ready[1], "x", 1) < 0)
            _exit(1);
        pause();
        _exit(0);
    }
    close(held);
    char byte;
    assert_int_equal(read(ready[0], &byte, 1), 1);
    struct cfbp_workdir temp = CFBP_WORKDIR_INIT;
    int made = cfbp_workdir_create_temp(&temp, fixture->dir, "cfbp-stage-", &fixture->err);
    bool exists[4];
    for (int i = 0; i < 4; i++)
        exists[i] = test_exists(paths[i]);
    kill(owner, SIGKILL);
    waitpid(owner, NULL, 0);
    assert_int_equal(made, 0);
    assert_false(exists[0]); /* old and not held: its owner is gone */
    assert_true(exists[1]);  /* too new to judge */
    assert_true(exists[2]);  /* held */
    assert_true(exists[3]);  /* not ours */
    assert_non_null(strstr(temp.path, "/cfbp-stage-"));
    cfbp_workdir_remove(&temp);
    for (int i = 0; i < 4; i++)
        free(paths[i]);
    close(ready[0]);
    close(ready[1]);
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(work_directories_go_beside_a_missing_destination_and_inside_an_existing_one),
        TEST(the_destination_lock_waits_for_its_holder),
        TEST(a_top_work_directory_becomes_a_journaled_one),
        TEST(a_destination_named_like_a_work_directory_keeps_its_name),
        TEST(mkdir_p_remembers_what_it_made_and_undo_takes_it_away),
        TEST(saved_times_are_put_back),
        TEST(temporary_directories_left_by_dead_owners_are_removed),
        TEST(shut_out_directories_are_judged_before_they_are_changed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
