/*
 * test_fs.c - file system operations on real temporary directories:
 * atomic writes with exact modes, trees removed without following links,
 * merging moves.
 */
#include "support.h"

#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/strbuf.h"
#include "cfbp/string_list.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
    char *dir;
    struct cfbp_error err;
    mode_t umask;
};

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    fixture->dir = test_make_dir();
    fixture->umask = umask(022);
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    umask(fixture->umask);
    cfbp_error_clear(&fixture->err);
    test_remove_dir(fixture->dir);
    free(fixture);
    return 0;
}

/* "<fixture dir>/<name>" in a strbuf-backed string the caller frees. */
static char *at(struct fixture *fixture, const char *name)
{
    return test_path(fixture->dir, name);
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        fail_msg("cannot stat %s", path);
    return st.st_mode & 07777;
}

static void make_dir(const char *path, mode_t mode)
{
    if (mkdir(path, mode) < 0 || chmod(path, mode) < 0)
        fail_msg("cannot create %s", path);
}

static void make_symlink(const char *target, const char *path)
{
    if (symlink(target, path) < 0)
        fail_msg("cannot link %s", path);
}

/* Checks that err is "<before><path><after>" of kind, then clears it. */
static void check_error(struct fixture *fixture, enum cfbp_error_kind kind, const char *before,
                        const char *path, const char *after)
{
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&expected, "%s%s%s", before, path, after);
    assert_non_null(fixture->err.message);
    if (strcmp(fixture->err.message, expected.buf) != 0)
        fail_msg("error \"%s\", expected \"%s\"", fixture->err.message, expected.buf);
    assert_int_equal(fixture->err.kind, kind);
    cfbp_strbuf_release(&expected);
    cfbp_error_clear(&fixture->err);
}

/* The sorted names in path, joined with spaces. */
static char *listing(const char *path)
{
    struct cfbp_string_list names = CFBP_STRING_LIST_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_fs_list_directory(path, &names, &err) < 0)
        fail_msg("%s", err.message);
    struct cfbp_strbuf joined = CFBP_STRBUF_INIT;
    cfbp_string_list_join(&names, " ", &joined);
    cfbp_string_list_clear(&names);
    return cfbp_strbuf_detach(&joined, NULL);
}

static void check_listing(const char *path, const char *expected)
{
    char *names = listing(path);
    if (strcmp(names, expected) != 0)
        fail_msg("%s holds \"%s\", expected \"%s\"", path, names, expected);
    free(names);
}

static void check_file(const char *path, const char *expected)
{
    char *text = test_read_file(path);
    if (!text)
        fail_msg("%s is missing", path);
    if (strcmp(text, expected) != 0)
        fail_msg("%s holds \"%s\", expected \"%s\"", path, text, expected);
    free(text);
}

/* --- kinds of entries --- */

static void tells_entry_types(void **state)
{
    struct fixture *fixture = *state;
    char *file = at(fixture, "file"), *dir = at(fixture, "dir"), *link = at(fixture, "link");
    char *dangling = at(fixture, "dangling"), *fifo = at(fixture, "fifo");
    char *missing = at(fixture, "missing");
    test_write_file(file, "x", 0644);
    make_dir(dir, 0755);
    make_symlink("dir", link);
    make_symlink("nowhere", dangling);
    assert_int_equal(mkfifo(fifo, 0600), 0);

    assert_int_equal(cfbp_fs_type_of(file), CFBP_FS_FILE);
    assert_int_equal(cfbp_fs_type_of(dir), CFBP_FS_DIRECTORY);
    assert_int_equal(cfbp_fs_type_of(link), CFBP_FS_SYMLINK);
    assert_int_equal(cfbp_fs_type_of(dangling), CFBP_FS_SYMLINK);
    assert_int_equal(cfbp_fs_type_of(fifo), CFBP_FS_OTHER);
    assert_int_equal(cfbp_fs_type_of(missing), CFBP_FS_MISSING);

    assert_true(cfbp_fs_is_directory(dir));
    assert_true(cfbp_fs_is_directory(link)); /* follows links */
    assert_false(cfbp_fs_is_directory(file));
    assert_true(cfbp_fs_is_file(file));
    assert_false(cfbp_fs_is_file(link));
    assert_false(cfbp_fs_is_file(fifo));
    assert_true(cfbp_fs_exists(dangling));
    assert_false(cfbp_fs_is_file(dangling));
    assert_false(cfbp_fs_exists(missing));
    free(file), free(dir), free(link), free(dangling), free(fifo), free(missing);
}

/* --- mkdir_p --- */

static void mkdir_p_creates_missing_parents(void **state)
{
    struct fixture *fixture = *state;
    char *deep = at(fixture, "a/b/c");
    assert_int_equal(cfbp_fs_mkdir_p(deep, 0750, &fixture->err), 0);
    assert_null(fixture->err.message);
    assert_true(cfbp_fs_is_directory(deep));
    assert_int_equal(mode_of(deep), 0750);
    char *middle = at(fixture, "a/b");
    assert_int_equal(mode_of(middle), 0750);
    /* Existing directories are fine, also with doubled and trailing slashes. */
    assert_int_equal(cfbp_fs_mkdir_p(deep, 0700, &fixture->err), 0);
    char *messy = at(fixture, "a//b/c/d/");
    assert_int_equal(cfbp_fs_mkdir_p(messy, 0755, &fixture->err), 0);
    char *d = at(fixture, "a/b/c/d");
    assert_true(cfbp_fs_is_directory(d));
    assert_int_equal(cfbp_fs_mkdir_p("/", 0755, &fixture->err), 0);
    assert_int_equal(cfbp_fs_mkdir_p(fixture->dir, 0755, &fixture->err), 0);
    assert_null(fixture->err.message);
    free(deep), free(middle), free(messy), free(d);
}

static void mkdir_p_names_the_file_in_the_way(void **state)
{
    struct fixture *fixture = *state;
    char *file = at(fixture, "f");
    test_write_file(file, "x", 0644);
    char *below = at(fixture, "f/sub/deeper");
    assert_int_equal(cfbp_fs_mkdir_p(below, 0755, &fixture->err), -1);
    check_error(fixture, CFBP_ERROR_IO, "cannot create directory ", file, ": Not a directory");
    assert_int_equal(cfbp_fs_mkdir_p(file, 0755, &fixture->err), -1);
    check_error(fixture, CFBP_ERROR_IO, "cannot create directory ", file, ": Not a directory");
    check_file(file, "x");
    free(file), free(below);
}

static void mkdir_p_goes_through_symlinked_directories(void **state)
{
    struct fixture *fixture = *state;
    char *real = at(fixture, "real"), *link = at(fixture, "link");
    make_dir(real, 0755);
    make_symlink("real", link);
    char *below = at(fixture, "link/x/y");
    assert_int_equal(cfbp_fs_mkdir_p(below, 0755, &fixture->err), 0);
    char *result = at(fixture, "real/x/y");
    assert_true(cfbp_fs_is_directory(result));
    free(real), free(link), free(below), free(result);
}

/* --- remove_tree --- */

static void remove_tree_removes_nested_trees(void **state)
{
    struct fixture *fixture = *state;
    char *root = at(fixture, "tree");
    char *file = at(fixture, "tree/a/b/c/file");
    test_write_file(file, "x", 0644);
    char *hidden = at(fixture, "tree/.hidden");
    test_write_file(hidden, "x", 0600);
    char *fifo = at(fixture, "tree/a/fifo");
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(cfbp_fs_remove_tree(root, &fixture->err), 0);
    assert_null(fixture->err.message);
    assert_false(cfbp_fs_exists(root));
    check_listing(fixture->dir, "");
    /* Missing is not an error; a single file is removed. */
    assert_int_equal(cfbp_fs_remove_tree(root, &fixture->err), 0);
    test_write_file(file, "x", 0644);
    assert_int_equal(cfbp_fs_remove_tree(file, &fixture->err), 0);
    assert_false(cfbp_fs_exists(file));
    assert_null(fixture->err.message);
    free(root), free(file), free(hidden), free(fifo);
}

static void remove_tree_removes_read_only_directories(void **state)
{
    struct fixture *fixture = *state;
    char *root = at(fixture, "ro");
    char *file = at(fixture, "ro/sub/file");
    test_write_file(file, "x", 0444);
    char *sub = at(fixture, "ro/sub");
    char *locked = at(fixture, "ro/locked");
    char *locked_file = at(fixture, "ro/locked/file");
    test_write_file(locked_file, "x", 0644);
    assert_int_equal(chmod(sub, 0555), 0);
    assert_int_equal(chmod(locked, 0000), 0);
    assert_int_equal(chmod(root, 0555), 0);
    assert_int_equal(cfbp_fs_remove_tree(root, &fixture->err), 0);
    assert_null(fixture->err.message);
    assert_false(cfbp_fs_exists(root));
    free(root), free(file), free(sub), free(locked), free(locked_file);
}

static void remove_tree_removes_links_without_following_them(void **state)
{
    struct fixture *fixture = *state;
    char *outside = at(fixture, "outside");
    char *precious = at(fixture, "outside/precious");
    test_write_file(precious, "keep me", 0644);
    char *outside_file = at(fixture, "outside.txt");
    test_write_file(outside_file, "keep me too", 0644);
    char *tree = at(fixture, "tree");
    make_dir(tree, 0755);
    char *dir_link = at(fixture, "tree/dir_link");
    char *file_link = at(fixture, "tree/file_link");
    char *abs_link = at(fixture, "tree/abs_link");
    make_symlink("../outside", dir_link);
    make_symlink("../outside.txt", file_link);
    make_symlink(outside, abs_link);

    assert_int_equal(cfbp_fs_remove_tree(tree, &fixture->err), 0);
    assert_false(cfbp_fs_exists(tree));
    check_file(precious, "keep me");
    check_file(outside_file, "keep me too");
    check_listing(fixture->dir, "outside outside.txt");

    /* The tree itself a link: the link goes, its target stays. */
    char *top_link = at(fixture, "top_link");
    make_symlink("outside", top_link);
    assert_int_equal(cfbp_fs_remove_tree(top_link, &fixture->err), 0);
    assert_false(cfbp_fs_exists(top_link));
    check_file(precious, "keep me");
    free(outside), free(precious), free(outside_file), free(tree), free(dir_link);
    free(file_link), free(abs_link), free(top_link);
}

static void remove_tree_does_not_follow_a_link_named_with_a_trailing_slash(void **state)
{
    struct fixture *fixture = *state;
    char *outside = at(fixture, "outside");
    char *precious = at(fixture, "outside/precious");
    test_write_file(precious, "keep me", 0644);
    char *link = at(fixture, "link");
    make_symlink("outside", link);
    char *with_slash = at(fixture, "link/");
    /* Whatever the result, the directory the link points at must keep its contents. */
    cfbp_fs_remove_tree(with_slash, &fixture->err);
    cfbp_error_clear(&fixture->err);
    char *text = test_read_file(precious);
    bool kept = text && strcmp(text, "keep me") == 0;
    free(text);
    free(outside), free(precious), free(link), free(with_slash);
    assert_true(kept);
}

/* --- write_file, read_file, copy_file --- */

static void write_file_writes_bytes_with_the_exact_mode(void **state)
{
    struct fixture *fixture = *state;
    char *path = at(fixture, "file");
    umask(077);
    assert_int_equal(cfbp_fs_write_file(path, "a\0b\n", 4, 0644, &fixture->err), 0);
    assert_int_equal(mode_of(path), 0644);
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    assert_int_equal(cfbp_fs_read_file(path, 100, &text, &fixture->err), 0);
    assert_int_equal(text.len, 4);
    assert_memory_equal(text.buf, "a\0b\n", 5);
    umask(0);
    assert_int_equal(cfbp_fs_write_file(path, "new", 3, 0755, &fixture->err), 0);
    assert_int_equal(mode_of(path), 0755);
    check_file(path, "new");
    assert_int_equal(cfbp_fs_write_file(path, "", 0, 0600, &fixture->err), 0);
    assert_int_equal(mode_of(path), 0600);
    check_file(path, "");
    assert_int_equal(cfbp_fs_write_file(path, "x", 1, 04755, &fixture->err), 0);
    assert_int_equal(mode_of(path), 04755);
    assert_null(fixture->err.message);
    /* No temporary file is left beside it. */
    check_listing(fixture->dir, "file");
    cfbp_strbuf_release(&text);
    free(path);
}

static void write_file_replaces_a_link_instead_of_writing_through_it(void **state)
{
    struct fixture *fixture = *state;
    char *target = at(fixture, "target"), *link = at(fixture, "link");
    test_write_file(target, "original", 0644);
    make_symlink("target", link);
    assert_int_equal(cfbp_fs_write_file(link, "new", 3, 0644, &fixture->err), 0);
    assert_int_equal(cfbp_fs_type_of(link), CFBP_FS_FILE);
    check_file(link, "new");
    check_file(target, "original");
    free(target), free(link);
}

static void write_file_failures_leave_nothing_behind(void **state)
{
    struct fixture *fixture = *state;
    char *missing = at(fixture, "no/such/dir/file");
    assert_int_equal(cfbp_fs_write_file(missing, "x", 1, 0644, &fixture->err), -1);
    check_error(fixture, CFBP_ERROR_IO, "cannot write ", missing, ": No such file or directory");
    char *dir = at(fixture, "dir");
    char *inner = at(fixture, "dir/inner");
    test_write_file(inner, "keep", 0644);
    assert_int_equal(cfbp_fs_write_file(dir, "x", 1, 0644, &fixture->err), -1);
    check_error(fixture, CFBP_ERROR_IO, "cannot write ", dir, ": Is a directory");
    check_file(inner, "keep");
    check_listing(fixture->dir, "dir");
    free(missing), free(dir), free(inner);
}

static void read_file_reads_and_limits(void **state)
{
    struct fixture *fixture = *state;
    char *path = at(fixture, "file");
    test_write_file(path, "0123456789", 0644);
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    cfbp_strbuf_set(&text, "previous contents");
    assert_int_equal(cfbp_fs_read_file(path, 10, &text, &fixture->err), 0);
    assert_string_equal(text.buf, "0123456789");
    assert_int_equal(text.len, 10);
    assert_int_equal(cfbp_fs_read_file(path, 9, &text, &fixture->err), -1);
    check_error(fixture, CFBP_ERROR_INVALID, "", path,
                " is larger than 9 bytes; a file this big is not expected here");
    assert_int_equal(cfbp_fs_read_file(path, 0, &text, &fixture->err), -1);
    cfbp_error_clear(&fixture->err);

    test_write_file(path, "", 0644);
    assert_int_equal(cfbp_fs_read_file(path, 0, &text, &fixture->err), 0);
    assert_string_equal(text.buf, "");
    assert_int_equal(text.len, 0);

    /* Bigger than one read. */
    char *big = malloc(100001);
    memset(big, 'z', 100000);
    big[100000] = '\0';
    test_write_file(path, big, 0644);
    assert_int_equal(cfbp_fs_read_file(path, 100000, &text, &fixture->err), 0);
    assert_int_equal(text.len, 100000);
    assert_string_equal(text.buf, big);
    assert_int_equal(cfbp_fs_read_file(path, 99999, &text, &fixture->err), -1);
    check_error(fixture, CFBP_ERROR_INVALID, "", path,
                " is larger than 99999 bytes; a file this big is not expected here");
    free(big);

    char *missing = at(fixture, "missing");
    assert_int_equal(cfbp_fs_read_file(missing, 10, &text, &fixture->err), -1);
    check_error(fixture, CFBP_ERROR_NOT_FOUND, "cannot read ", missing,
                ": No such file or directory");
    assert_int_equal(cfbp_fs_read_file(fixture->dir, 10, &text, &fixture->err), -1);
    check_error(fixture, CFBP_ERROR_IO, "cannot read ", fixture->dir, ": Is a directory");
    cfbp_strbuf_release(&text);
    free(path), free(missing);
}

static void copy_file_copies_bytes_and_sets_the_mode(void **state)
{
    struct fixture *fixture = *state;
    char *src = at(fixture, "src"), *dst = at(fixture, "dst");
    char *big = malloc(200001);
    for (size_t i = 0; i < 200000; i++)
        big[i] = (char)('a' + i % 26);
    big[200000] = '\0';
    test_write_file(src, big, 0600);
    test_write_file(dst, "old", 0644);
    assert_int_equal(cfbp_fs_copy_file(src, dst, 0751, &fixture->err), 0);
    assert_null(fixture->err.message);
    assert_int_equal(mode_of(dst), 0751);
    assert_int_equal(mode_of(src), 0600);
    check_file(dst, big);
    check_listing(fixture->dir, "dst src");
    free(big);

    char *missing = at(fixture, "missing");
    assert_int_equal(cfbp_fs_copy_file(missing, dst, 0644, &fixture->err), -1);
    check_error(fixture, CFBP_ERROR_NOT_FOUND, "cannot read ", missing,
                ": No such file or directory");
    char *dir = at(fixture, "dir");
    make_dir(dir, 0755);
    char *copy = at(fixture, "copy");
    assert_int_equal(cfbp_fs_copy_file(dir, copy, 0644, &fixture->err), -1);
    check_error(fixture, CFBP_ERROR_IO, "cannot read ", dir, ": Is a directory");
    check_listing(fixture->dir, "dir dst src");
    char *nowhere = at(fixture, "no/dst");
    assert_int_equal(cfbp_fs_copy_file(src, nowhere, 0644, &fixture->err), -1);
    check_error(fixture, CFBP_ERROR_IO, "cannot write ", nowhere, ": No such file or directory");
    free(src), free(dst), free(missing), free(dir), free(copy), free(nowhere);
}

/* --- directories --- */

static void list_directory_sorts_names(void **state)
{
    struct fixture *fixture = *state;
    const char *names[] = {"b", "a10", "a2", ".hidden", "B", "_x"};
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
        char *path = at(fixture, names[i]);
        test_write_file(path, "", 0644);
        free(path);
    }
    char *sub = at(fixture, "sub");
    make_dir(sub, 0755);
    check_listing(fixture->dir, ".hidden B _x a10 a2 b sub");
    check_listing(sub, "");

    struct cfbp_string_list list = CFBP_STRING_LIST_INIT;
    char *missing = at(fixture, "missing");
    assert_int_equal(cfbp_fs_list_directory(missing, &list, &fixture->err), -1);
    check_error(fixture, CFBP_ERROR_NOT_FOUND, "cannot read directory ", missing,
                ": No such file or directory");
    char *file = at(fixture, "b");
    assert_int_equal(cfbp_fs_list_directory(file, &list, &fixture->err), -1);
    check_error(fixture, CFBP_ERROR_IO, "cannot read directory ", file, ": Not a directory");
    assert_int_equal(list.count, 0);
    cfbp_string_list_clear(&list);
    free(sub), free(missing), free(file);
}

static void make_temp_dir_makes_a_private_directory(void **state)
{
    struct fixture *fixture = *state;
    struct cfbp_strbuf first = CFBP_STRBUF_INIT, second = CFBP_STRBUF_INIT;
    cfbp_strbuf_set(&first, "replaced");
    assert_int_equal(cfbp_fs_make_temp_dir(fixture->dir, "downloads", &first, &fixture->err), 0);
    assert_int_equal(cfbp_fs_make_temp_dir(fixture->dir, "downloads", &second, &fixture->err), 0);
    char *prefix = at(fixture, "downloads");
    assert_true(cfbp_string_starts_with(first.buf, prefix));
    assert_int_equal(first.len, strlen(prefix) + 6);
    assert_string_not_equal(first.buf, second.buf);
    assert_true(cfbp_fs_is_directory(first.buf));
    assert_int_equal(mode_of(first.buf), 0700);

    char *missing = at(fixture, "missing");
    assert_int_equal(cfbp_fs_make_temp_dir(missing, "x", &first, &fixture->err), -1);
    check_error(fixture, CFBP_ERROR_IO, "cannot create a temporary directory in ", missing,
                ": No such file or directory");
    cfbp_strbuf_release(&first);
    cfbp_strbuf_release(&second);
    free(prefix), free(missing);
}

/* --- merge_move --- */

static void merge_move_merges_and_replaces(void **state)
{
    struct fixture *fixture = *state;
    char *src = at(fixture, "src"), *dest = at(fixture, "dest");
    const char *src_files[][2] = {
        {"src/new.txt", "new"},
        {"src/both/added", "added"},
        {"src/both/same", "from src"},
        {"src/both/deep/x", "deep"},
        {"src/dir_to_file", "now a file"},
        {"src/file_to_dir/inner", "now a dir"},
    };
    const char *dest_files[][2] = {
        {"dest/keep.txt", "keep"},        {"dest/both/same", "from dest"},
        {"dest/both/kept", "kept"},       {"dest/dir_to_file/old/inner", "old"},
        {"dest/file_to_dir", "old file"},
    };
    for (size_t i = 0; i < sizeof(src_files) / sizeof(*src_files); i++) {
        char *path = at(fixture, src_files[i][0]);
        test_write_file(path, src_files[i][1], 0644);
        free(path);
    }
    for (size_t i = 0; i < sizeof(dest_files) / sizeof(*dest_files); i++) {
        char *path = at(fixture, dest_files[i][0]);
        test_write_file(path, dest_files[i][1], 0644);
        free(path);
    }
    char *link = at(fixture, "src/link");
    make_symlink("new.txt", link);

    assert_int_equal(cfbp_fs_merge_move(src, dest, &fixture->err), 0);
    assert_null(fixture->err.message);
    assert_false(cfbp_fs_exists(src));
    check_listing(dest, "both dir_to_file file_to_dir keep.txt link new.txt");
    char *both = at(fixture, "dest/both");
    check_listing(both, "added deep kept same");
    const char *expected[][2] = {
        {"dest/new.txt", "new"},
        {"dest/keep.txt", "keep"},
        {"dest/both/added", "added"},
        {"dest/both/same", "from src"},
        {"dest/both/kept", "kept"},
        {"dest/both/deep/x", "deep"},
        {"dest/dir_to_file", "now a file"},
        {"dest/file_to_dir/inner", "now a dir"},
        {"dest/link", "new"},
    };
    for (size_t i = 0; i < sizeof(expected) / sizeof(*expected); i++) {
        char *path = at(fixture, expected[i][0]);
        check_file(path, expected[i][1]);
        free(path);
    }
    char *moved_link = at(fixture, "dest/link");
    assert_int_equal(cfbp_fs_type_of(moved_link), CFBP_FS_SYMLINK);
    free(src), free(dest), free(link), free(both), free(moved_link);
}

static void merge_move_replaces_links_without_following_them(void **state)
{
    struct fixture *fixture = *state;
    char *precious = at(fixture, "outside/precious");
    test_write_file(precious, "keep me", 0644);
    char *dest = at(fixture, "dest");
    make_dir(dest, 0755);
    char *dest_link = at(fixture, "dest/lib");
    make_symlink("../outside", dest_link);
    char *src_file = at(fixture, "src/lib/new");
    test_write_file(src_file, "new", 0644);
    char *src = at(fixture, "src");

    assert_int_equal(cfbp_fs_merge_move(src, dest, &fixture->err), 0);
    assert_int_equal(cfbp_fs_type_of(dest_link), CFBP_FS_DIRECTORY);
    char *outside = at(fixture, "outside");
    check_listing(outside, "precious");
    check_file(precious, "keep me");
    char *moved = at(fixture, "dest/lib/new");
    check_file(moved, "new");
    free(precious), free(dest), free(dest_link), free(src_file), free(src), free(outside);
    free(moved);
}

static void merge_move_of_a_missing_directory_fails(void **state)
{
    struct fixture *fixture = *state;
    char *src = at(fixture, "missing");
    assert_int_equal(cfbp_fs_merge_move(src, fixture->dir, &fixture->err), -1);
    check_error(fixture, CFBP_ERROR_NOT_FOUND, "cannot read directory ", src,
                ": No such file or directory");
    free(src);
}

/* --- write_all --- */

static void write_all_writes_everything(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(cfbp_fs_write_all(fds[1], "hello", 5), 0);
    assert_int_equal(cfbp_fs_write_all(fds[1], "", 0), 0);
    close(fds[1]);
    char buffer[16];
    ssize_t got = read(fds[0], buffer, sizeof(buffer));
    assert_int_equal(got, 5);
    assert_memory_equal(buffer, "hello", 5);
    close(fds[0]);
    assert_int_equal(cfbp_fs_write_all(fds[1], "x", 1), EBADF);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(tells_entry_types),
        TEST(mkdir_p_creates_missing_parents),
        TEST(mkdir_p_names_the_file_in_the_way),
        TEST(mkdir_p_goes_through_symlinked_directories),
        TEST(remove_tree_removes_nested_trees),
        TEST(remove_tree_removes_read_only_directories),
        TEST(remove_tree_removes_links_without_following_them),
        TEST(remove_tree_does_not_follow_a_link_named_with_a_trailing_slash),
        TEST(write_file_writes_bytes_with_the_exact_mode),
        TEST(write_file_replaces_a_link_instead_of_writing_through_it),
        TEST(write_file_failures_leave_nothing_behind),
        TEST(read_file_reads_and_limits),
        TEST(copy_file_copies_bytes_and_sets_the_mode),
        TEST(list_directory_sorts_names),
        TEST(make_temp_dir_makes_a_private_directory),
        TEST(merge_move_merges_and_replaces),
        TEST(merge_move_replaces_links_without_following_them),
        TEST(merge_move_of_a_missing_directory_fails),
        TEST(write_all_writes_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
