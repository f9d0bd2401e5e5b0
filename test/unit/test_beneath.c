/*
 * test_beneath.c - writing and reading beneath a root without following
 * links, with openat2 and with the portable O_NOFOLLOW walk (every test
 * runs both ways). A canary tree beside the root must never change.
 * Journaled merges are killed at every moment and undone from their journal.
 */
#include "support.h"

#include "cfbp/beneath.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/strbuf.h"
#include "cfbp/string_list.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct fixture {
    char *dir;
    char *root_path; /* <dir>/root */
    char *canary;    /* <dir>/canary */
    char *canary_before;
    struct cfbp_beneath root;
    struct cfbp_error err;
};

static int setup(void **state, bool portable)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    fixture->dir = test_make_dir();
    fixture->root_path = test_path(fixture->dir, "root");
    fixture->canary = test_path(fixture->dir, "canary");
    char *file = test_path(fixture->canary, "secret");
    test_write_file(file, "secret\n", 0600);
    free(file);
    mkdir(fixture->root_path, 0755);
    fixture->canary_before = test_snapshot(fixture->canary, true);
    cfbp_beneath_force_portable_walk(portable);
    if (cfbp_beneath_open(&fixture->root, fixture->root_path, &fixture->err) < 0)
        fail_msg("%s", fixture->err.message);
    *state = fixture;
    return 0;
}

static int setup_openat2(void **state)
{
    return setup(state, false);
}

static int setup_portable(void **state)
{
    return setup(state, true);
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    char *after = test_snapshot(fixture->canary, true);
    test_assert_same_snapshot(fixture->canary_before, after, "the canary beside the root");
    free(after);
    cfbp_beneath_close(&fixture->root);
    cfbp_error_clear(&fixture->err);
    cfbp_beneath_force_portable_walk(false);
    free(fixture->canary_before);
    free(fixture->root_path);
    free(fixture->canary);
    test_remove_dir(fixture->dir);
    free(fixture);
    return 0;
}

static char *at(struct fixture *fixture, const char *relative)
{
    return test_path(fixture->root_path, relative);
}

static void plant_link(struct fixture *fixture, const char *relative, const char *target)
{
    char *path = at(fixture, relative);
    char *parent = strdup(path);
    *strrchr(parent, '/') = '\0';
    struct cfbp_error err = CFBP_ERROR_INIT;
    assert_int_equal(cfbp_fs_mkdir_p(parent, 0755, &err), 0);
    assert_int_equal(symlink(target, path), 0);
    free(parent);
    free(path);
}

static void expect_unsafe(struct fixture *fixture, int status, const char *named)
{
    assert_int_equal(status, -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_UNSAFE_PATH);
    if (!strstr(fixture->err.message, named))
        fail_msg("expected '%s' in '%s'", named, fixture->err.message);
    cfbp_error_clear(&fixture->err);
}

static void writes_files_and_makes_parents(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(
        cfbp_beneath_write_file(&fixture->root, "profile.d/a.sh", "x\n", 2, 0755, &fixture->err),
        0);
    char *path = at(fixture, "profile.d/a.sh");
    char *text = test_read_file(path);
    assert_string_equal(text, "x\n");
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0755);
    free(text);
    free(path);
    /* Replacing keeps no temporary file behind. */
    assert_int_equal(
        cfbp_beneath_write_file(&fixture->root, "profile.d/a.sh", "y\n", 2, 0644, &fixture->err),
        0);
    char *directory = at(fixture, "profile.d");
    assert_int_equal(test_count_entries(directory), 1);
    free(directory);
}

static void never_writes_through_a_linked_directory(void **state)
{
    struct fixture *fixture = *state;
    plant_link(fixture, "profile.d", "../canary");
    expect_unsafe(fixture,
                  cfbp_beneath_write_file(&fixture->root, "profile.d/secret", "pwned", 5, 0644,
                                          &fixture->err),
                  "profile.d: it is a symbolic link");
    /* A link that stays inside is refused too: no link is followed at all. */
    plant_link(fixture, "inside", ".");
    expect_unsafe(fixture,
                  cfbp_beneath_write_file(&fixture->root, "inside/x", "x", 1, 0644, &fixture->err),
                  "inside");
    /* Deeper on the way, and for every call that makes or reads something. */
    plant_link(fixture, "a/b/c", "/");
    expect_unsafe(fixture, cfbp_beneath_mkdir_p(&fixture->root, "a/b/c/d", 0755, &fixture->err),
                  "a/b/c");
    expect_unsafe(fixture, cfbp_beneath_symlink(&fixture->root, "a/b/c/l", "x", &fixture->err),
                  "a/b/c");
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    expect_unsafe(
        fixture,
        cfbp_beneath_read_file(&fixture->root, "a/b/c/etc/hostname", 100, &text, &fixture->err),
        "a/b/c");
    struct cfbp_string_list names = CFBP_STRING_LIST_INIT;
    expect_unsafe(fixture,
                  cfbp_beneath_list_directory(&fixture->root, "a/b/c", &names, &fixture->err),
                  "a/b/c");
    assert_int_equal(names.count, 0);
    assert_int_equal(cfbp_beneath_type_of(&fixture->root, "a/b/c/etc"), CFBP_FS_MISSING);
    assert_int_equal(cfbp_beneath_type_of(&fixture->root, "a/b/c"), CFBP_FS_SYMLINK);
    cfbp_strbuf_release(&text);
}

static void replaces_a_final_link_instead_of_following_it(void **state)
{
    struct fixture *fixture = *state;
    plant_link(fixture, "launch.yml", "../canary/secret");
    assert_int_equal(
        cfbp_beneath_write_file(&fixture->root, "launch.yml", "ok\n", 3, 0644, &fixture->err), 0);
    char *path = at(fixture, "launch.yml");
    assert_int_equal(cfbp_fs_type_of(path), CFBP_FS_FILE);
    free(path);
    plant_link(fixture, "bin/tool", "../../canary/secret");
    assert_int_equal(cfbp_beneath_symlink(&fixture->root, "bin/tool", "../lib/tool", &fixture->err),
                     0);
    char *tool = at(fixture, "bin/tool");
    char target[64] = "";
    assert_int_equal(readlink(tool, target, sizeof(target) - 1), 11);
    assert_string_equal(target, "../lib/tool");
    free(tool);
}

static void refuses_climbing_and_absolute_paths(void **state)
{
    struct fixture *fixture = *state;
    expect_unsafe(
        fixture,
        cfbp_beneath_write_file(&fixture->root, "../canary/x", "x", 1, 0644, &fixture->err),
        "'..'");
    expect_unsafe(
        fixture,
        cfbp_beneath_write_file(&fixture->root, "a/../../canary/x", "x", 1, 0644, &fixture->err),
        "'..'");
    expect_unsafe(fixture,
                  cfbp_beneath_write_file(&fixture->root, "/tmp/x", "x", 1, 0644, &fixture->err),
                  "absolute");
    assert_int_equal(cfbp_beneath_write_file(&fixture->root, "", "x", 1, 0644, &fixture->err), -1);
    cfbp_error_clear(&fixture->err);
}

static void reading_refuses_links_fifos_and_big_files(void **state)
{
    struct fixture *fixture = *state;
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    plant_link(fixture, "env/SECRET", "../../canary/secret");
    expect_unsafe(fixture,
                  cfbp_beneath_read_file(&fixture->root, "env/SECRET", 100, &text, &fixture->err),
                  "symbolic link");
    char *fifo = at(fixture, "env/FIFO");
    assert_int_equal(mkfifo(fifo, 0644), 0);
    /* A fifo must not hang the read. */
    assert_int_equal(cfbp_beneath_read_file(&fixture->root, "env/FIFO", 100, &text, &fixture->err),
                     -1);
    assert_non_null(strstr(fixture->err.message, "not a regular file"));
    cfbp_error_clear(&fixture->err);
    char *big = at(fixture, "env/BIG");
    test_write_file(big, "0123456789", 0644);
    assert_int_equal(cfbp_beneath_read_file(&fixture->root, "env/BIG", 9, &text, &fixture->err),
                     -1);
    assert_non_null(strstr(fixture->err.message, "larger than 9 bytes"));
    cfbp_error_clear(&fixture->err);
    assert_int_equal(cfbp_beneath_read_file(&fixture->root, "env/BIG", 10, &text, &fixture->err),
                     0);
    assert_string_equal(text.buf, "0123456789");
    free(fifo);
    free(big);
    cfbp_strbuf_release(&text);
}

static void a_directory_in_the_way_is_an_error(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(cfbp_beneath_mkdir_p(&fixture->root, "config.yml", 0755, &fixture->err), 0);
    assert_int_equal(
        cfbp_beneath_write_file(&fixture->root, "config.yml", "x", 1, 0644, &fixture->err), -1);
    assert_non_null(strstr(fixture->err.message, "a directory is in the way"));
    cfbp_error_clear(&fixture->err);
    char *file = at(fixture, "file");
    test_write_file(file, "x", 0644);
    assert_int_equal(
        cfbp_beneath_write_file(&fixture->root, "file/inner", "x", 1, 0644, &fixture->err), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_IO);
    cfbp_error_clear(&fixture->err);
    free(file);
}

static void merge_move_never_follows_links_on_either_side(void **state)
{
    struct fixture *fixture = *state;
    char *src = test_path(fixture->dir, "src");
    char *file = test_path(src, "bin/tool");
    test_write_file(file, "new\n", 0755);
    free(file);
    file = test_path(src, "lib/x");
    test_write_file(file, "x\n", 0644);
    free(file);
    /* The destination's bin is a link out, its lib a link in: both are replaced, not followed. */
    plant_link(fixture, "bin", "../canary");
    plant_link(fixture, "lib", "bin");
    int src_fd = open(src, O_RDONLY | O_DIRECTORY);
    assert_int_equal(cfbp_beneath_merge_move(src_fd, src, fixture->root.fd, fixture->root_path, -1,
                                             &fixture->err),
                     0);
    close(src_fd);
    char *tool = at(fixture, "bin/tool");
    char *text = test_read_file(tool);
    assert_string_equal(text, "new\n");
    char *bin = at(fixture, "bin");
    assert_int_equal(cfbp_fs_type_of(bin), CFBP_FS_DIRECTORY);
    assert_int_equal(test_count_entries(src), 0);
    free(text);
    free(tool);
    free(bin);
    free(src);
}

static void deep_paths_work_beyond_path_max(void **state)
{
    struct fixture *fixture = *state;
    struct cfbp_strbuf deep = CFBP_STRBUF_INIT;
    for (int i = 0; i < 500; i++)
        cfbp_strbuf_append_string(&deep, "directory/");
    cfbp_strbuf_append_string(&deep, "file");
    assert_int_equal(
        cfbp_beneath_write_file(&fixture->root, deep.buf, "deep", 4, 0644, &fixture->err), 0);
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    assert_int_equal(cfbp_beneath_read_file(&fixture->root, deep.buf, 10, &text, &fixture->err), 0);
    assert_string_equal(text.buf, "deep");
    char *top = at(fixture, "directory");
    assert_int_equal(cfbp_fs_remove_tree(top, &fixture->err), 0);
    assert_false(test_exists(top));
    free(top);
    cfbp_strbuf_release(&deep);
    cfbp_strbuf_release(&text);
}

/* --- journaled merges --- */

/* The root holds the old tree, <dir>/work/tree the new one. */
static void make_old_and_new(struct fixture *fixture, const char *work)
{
    struct cfbp_error err = CFBP_ERROR_INIT;
    char *tree = test_path(work, "tree");
    assert_int_equal(cfbp_fs_remove_tree(work, &err), 0);
    static const char *const old_files[][2] = {
        {"bin/tool", "old tool\n"}, {"d/x", "old x\n"}, {"keep", "kept\n"}, {"f", "old f\n"}};
    static const char *const new_files[][2] = {
        {"bin/tool", "new tool\n"}, {"d", "now a file\n"}, {"add/new", "new\n"}, {"f/y", "y\n"}};
    for (size_t i = 0; i < 4; i++) {
        char *path = at(fixture, old_files[i][0]);
        test_write_file(path, old_files[i][1], 0644);
        free(path);
        path = test_path(tree, new_files[i][0]);
        test_write_file(path, new_files[i][1], 0644);
        free(path);
    }
    free(tree);
}

static void die_at(unsigned long moment, void *data)
{
    if (moment == *(const unsigned long *)data)
        raise(SIGKILL);
}

/* Runs a journaled merge of work/tree into the root in a child killed at moment; true if killed. */
static bool merge_killed_at(struct fixture *fixture, const char *work, unsigned long moment)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        cfbp_beneath_set_step_hook(die_at, &moment);
        struct cfbp_error err = CFBP_ERROR_INIT;
        struct cfbp_beneath_journal *journal = NULL;
        int work_fd = open(work, O_RDONLY | O_DIRECTORY);
        int status = cfbp_beneath_journal_start(&journal, work_fd, work, "tree", &err);
        if (status == 0)
            status =
                cfbp_beneath_journal_merge(journal, fixture->root.fd, fixture->root_path, &err);
        if (status == 0)
            status = cfbp_beneath_journal_chmod(journal, fixture->root.fd, fixture->root_path,
                                                "bin", 0700, &err);
        if (status == 0)
            status = cfbp_beneath_journal_commit(journal, &err);
        if (status < 0)
            fprintf(stderr, "merge: %s\n", err.message);
        cfbp_beneath_journal_close(journal);
        _exit(status < 0 ? 1 : 0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        return true;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    return false;
}

static int recover(struct fixture *fixture, const char *work)
{
    int work_fd = open(work, O_RDONLY | O_DIRECTORY);
    assert_true(work_fd >= 0);
    int result = cfbp_beneath_journal_recover(work_fd, work, fixture->root.fd, fixture->root_path,
                                              &fixture->err);
    close(work_fd);
    return result;
}

/*
 * Killed at each moment of a journaled merge (a file replaced, a directory
 * by a file and a file by a directory, an entry added, a mode changed), the
 * merge is undone from its journal to exactly the old tree, and undoing
 * again changes nothing; killed after the commit, it stands.
 */
static void a_journaled_merge_killed_at_any_moment_is_undone(void **state)
{
    struct fixture *fixture = *state;
    char *work = test_path(fixture->dir, "work");
    make_old_and_new(fixture, work);
    char *old_tree = test_snapshot(fixture->root_path, false);
    unsigned long moment = 0;
    while (merge_killed_at(fixture, work, moment)) {
        if (recover(fixture, work) < 0)
            fail_msg("moment %lu: %s", moment, fixture->err.message);
        char *tree = test_snapshot(fixture->root_path, false);
        char *tool = at(fixture, "bin/tool");
        char *text = test_read_file(tool);
        bool committed = strcmp(text, "new tool\n") == 0;
        if (!committed)
            test_assert_same_snapshot(old_tree, tree, "the root after undoing a killed merge");
        /* Recovered: the journal is gone, and recovering again is nothing to do. */
        char *journal = test_path(work, "journal");
        assert_false(test_exists(journal));
        assert_int_equal(recover(fixture, work), 0);
        char *again = test_snapshot(fixture->root_path, false);
        test_assert_same_snapshot(tree, again, "the root after undoing twice");
        free(again);
        free(journal);
        free(text);
        free(tool);
        free(tree);
        assert_int_equal(cfbp_fs_remove_tree(fixture->root_path, &fixture->err), 0);
        assert_int_equal(mkdir(fixture->root_path, 0755), 0);
        cfbp_beneath_close(&fixture->root);
        assert_int_equal(cfbp_beneath_open(&fixture->root, fixture->root_path, &fixture->err), 0);
        make_old_and_new(fixture, work);
        moment++;
        assert_true(moment < 200);
    }
    /* Five steps and a commit, two moments each, before the merge ran to its end. */
    assert_true(moment >= 12);
    char *tool = at(fixture, "bin/tool");
    char *text = test_read_file(tool);
    assert_string_equal(text, "new tool\n");
    free(text);
    free(tool);
    free(old_tree);
    free(work);
}

/* A record cut short by a kill describes a step never taken; a damaged journal is refused. */
static void a_journal_cut_short_is_undone_up_to_its_last_whole_record(void **state)
{
    struct fixture *fixture = *state;
    char *work = test_path(fixture->dir, "work");
    char *file = test_path(work, "tree/moved");
    test_write_file(file, "moved\n", 0644);
    struct stat st;
    assert_int_equal(stat(file, &st), 0);
    char *placed = at(fixture, "moved");
    assert_int_equal(rename(file, placed), 0);
    char *journal = test_path(work, "journal");
    char text[256];
    snprintf(text, sizeof(text), "cfbp-merge-journal 1 /tree\nadd / /moved %llu\nswap / /ne",
             (unsigned long long)st.st_ino);
    test_write_file(journal, text, 0600);
    assert_int_equal(recover(fixture, work), 0);
    assert_false(test_exists(placed));
    assert_true(test_exists(file));
    assert_false(test_exists(journal));
    test_write_file(journal, "cfbp-merge-journal 1 /tree\nadd / what?\n", 0600);
    assert_int_equal(recover(fixture, work), -1);
    if (!strstr(fixture->err.message, "is damaged") || !strstr(fixture->err.message, work))
        fail_msg("unclear message '%s'", fixture->err.message);
    assert_true(test_exists(journal));
    free(journal);
    free(placed);
    free(file);
    free(work);
}

int main(void)
{
#define BOTH(name)                                                                                 \
    cmocka_unit_test_setup_teardown(name, setup_openat2, teardown),                                \
        cmocka_unit_test_setup_teardown(name, setup_portable, teardown)
    const struct CMUnitTest tests[] = {
        BOTH(writes_files_and_makes_parents),
        BOTH(never_writes_through_a_linked_directory),
        BOTH(replaces_a_final_link_instead_of_following_it),
        BOTH(refuses_climbing_and_absolute_paths),
        BOTH(reading_refuses_links_fifos_and_big_files),
        BOTH(a_directory_in_the_way_is_an_error),
        BOTH(merge_move_never_follows_links_on_either_side),
        BOTH(deep_paths_work_beyond_path_max),
        BOTH(a_journaled_merge_killed_at_any_moment_is_undone),
        BOTH(a_journal_cut_short_is_undone_up_to_its_last_whole_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
