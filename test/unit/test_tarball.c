/*
 * test_tarball.c - reproducible .tgz archives of a directory tree: trees made
 * here in temporary directories, every archive read back with libarchive
 * (member names, order, types, modes, times, owners, contents) and compared
 * byte for byte where the bytes must not depend on the machine.
 */
#include "support.h"

#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/strbuf.h"
#include "cfbp/tarball.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
    char *dir;
    char *tree; /* <dir>/tree */
    char *out;  /* <dir>/out, holds the archives */
    char *saved_epoch;
    bool had_epoch;
    struct cfbp_error err;
};

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    fixture->dir = test_make_dir();
    fixture->tree = test_path(fixture->dir, "tree");
    fixture->out = test_path(fixture->dir, "out");
    mkdir(fixture->tree, 0755);
    mkdir(fixture->out, 0755);
    const char *epoch = getenv("SOURCE_DATE_EPOCH");
    fixture->had_epoch = epoch != NULL;
    fixture->saved_epoch = epoch ? strdup(epoch) : NULL;
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    if (fixture->had_epoch)
        setenv("SOURCE_DATE_EPOCH", fixture->saved_epoch, 1);
    else
        unsetenv("SOURCE_DATE_EPOCH");
    free(fixture->saved_epoch);
    cfbp_error_clear(&fixture->err);
    free(fixture->tree);
    free(fixture->out);
    test_remove_dir(fixture->dir);
    free(fixture);
    return 0;
}

/* --- helpers --- */

static char *make_file(const char *directory, const char *name, const char *text, mode_t mode,
                       time_t mtime)
{
    char *path = test_path(directory, name);
    test_write_file(path, text, mode);
    if (mtime) {
        struct timespec times[2] = {{mtime, 0}, {mtime, 0}};
        assert_int_equal(utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW), 0);
    }
    return path;
}

static void set_mtime(const char *path, time_t mtime)
{
    struct timespec times[2] = {{mtime, 0}, {mtime, 0}};
    assert_int_equal(utimensat(AT_FDCWD, path, times, AT_SYMLINK_NOFOLLOW), 0);
}

static void make_dir(const char *directory, const char *name, mode_t mode)
{
    char *path = test_path(directory, name);
    assert_int_equal(mkdir(path, 0700), 0);
    assert_int_equal(chmod(path, mode), 0);
    free(path);
}

static char *archive_path(struct fixture *fixture, const char *name)
{
    return test_path(fixture->out, name);
}

static int write_tree(struct fixture *fixture, const char *path, const char *directory,
                      const struct cfbp_tarball_options *options)
{
    return cfbp_tarball_write_tree(path, directory, options, &fixture->err);
}

/*
 * Every member, one a line: "<name> <type> <mode> <mtime> <uid>:<gid> <uname>:<gname>"
 * plus " -> <target>" for symlinks and " =<contents>" for small files.
 */
static char *list_members(const char *path)
{
    struct archive *archive = archive_read_new();
    archive_read_support_filter_gzip(archive);
    archive_read_support_format_tar(archive);
    if (archive_read_open_filename(archive, path, 16384) != ARCHIVE_OK)
        fail_msg("cannot read %s: %s", path, archive_error_string(archive));
    struct cfbp_strbuf list = CFBP_STRBUF_INIT;
    struct archive_entry *entry;
    int status;
    while ((status = archive_read_next_header(archive, &entry)) == ARCHIVE_OK) {
        mode_t type = archive_entry_filetype(entry);
        char kind = type == AE_IFDIR ? 'd' : type == AE_IFLNK ? 'l' : type == AE_IFREG ? 'f' : '?';
        const char *uname = archive_entry_uname(entry);
        const char *gname = archive_entry_gname(entry);
        cfbp_strbuf_append_format(
            &list, "%s %c %04o %lld %lld:%lld %s:%s", archive_entry_pathname(entry), kind,
            (unsigned)(archive_entry_perm(entry) & 07777), (long long)archive_entry_mtime(entry),
            (long long)archive_entry_uid(entry), (long long)archive_entry_gid(entry),
            uname ? uname : "", gname ? gname : "");
        if (kind == 'l')
            cfbp_strbuf_append_format(&list, " -> %s", archive_entry_symlink(entry));
        if (kind == 'f' && archive_entry_size(entry) <= 64) {
            char data[65] = "";
            la_ssize_t got = archive_read_data(archive, data, 64);
            assert_true(got >= 0);
            data[got] = '\0';
            cfbp_strbuf_append_format(&list, " =%s", data);
        }
        cfbp_strbuf_append_char(&list, '\n');
    }
    if (status != ARCHIVE_EOF)
        fail_msg("cannot read %s: %s", path, archive_error_string(archive));
    archive_read_free(archive);
    return cfbp_strbuf_detach(&list, NULL);
}

/* The contents of member name in the archive at path (NULL when absent), and its size. */
static char *member_data(const char *path, const char *name, size_t *size)
{
    struct archive *archive = archive_read_new();
    archive_read_support_filter_gzip(archive);
    archive_read_support_format_tar(archive);
    assert_int_equal(archive_read_open_filename(archive, path, 16384), ARCHIVE_OK);
    struct archive_entry *entry;
    char *result = NULL;
    while (archive_read_next_header(archive, &entry) == ARCHIVE_OK) {
        if (strcmp(archive_entry_pathname(entry), name) != 0)
            continue;
        struct cfbp_strbuf data = CFBP_STRBUF_INIT;
        char block[8192];
        la_ssize_t got;
        while ((got = archive_read_data(archive, block, sizeof(block))) > 0)
            cfbp_strbuf_append(&data, block, (size_t)got);
        assert_true(got == 0);
        result = cfbp_strbuf_detach(&data, size);
        break;
    }
    archive_read_free(archive);
    return result;
}

static void read_bytes(const char *path, struct cfbp_strbuf *out)
{
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_fs_read_file(path, 1 << 26, out, &err) < 0)
        fail_msg("%s", err.message);
}

/* A tree of files, directories and a link, in one of two flavours of modes and times. */
static void populate(const char *root, bool other_flavour)
{
    mode_t plain = other_flavour ? 0600 : 0664;
    mode_t program = other_flavour ? 0700 : 0775;
    time_t when = other_flavour ? 1600000000 : 1234567890;
    free(make_file(root, "README", "read me\n", plain, when));
    free(make_file(root, "bin/run", "#!/bin/sh\necho run\n", program, when + 5));
    free(make_file(root, "lib/empty", "", plain, when + 9));
    char *link = test_path(root, "lib/link");
    assert_int_equal(symlink("../README", link), 0);
    set_mtime(link, when);
    free(link);
    char *directory = test_path(root, "lib");
    assert_int_equal(chmod(directory, other_flavour ? 0700 : 0775), 0);
    set_mtime(directory, when + 100);
    free(directory);
}

/* --- cases --- */

static void the_same_tree_gives_the_same_bytes(void **state)
{
    struct fixture *fixture = *state;
    char *other = test_path(fixture->dir, "other-tree");
    mkdir(other, 0700);
    populate(fixture->tree, false);
    populate(other, true);
    char *first = archive_path(fixture, "first.tgz");
    char *second = archive_path(fixture, "second.tgz");
    struct cfbp_tarball_options options = {.mtime = CFBP_DEFAULT_EPOCH};
    assert_int_equal(write_tree(fixture, first, fixture->tree, &options), 0);
    assert_int_equal(write_tree(fixture, second, other, &options), 0);
    assert_null(fixture->err.message);

    struct cfbp_strbuf a = CFBP_STRBUF_INIT, b = CFBP_STRBUF_INIT;
    read_bytes(first, &a);
    read_bytes(second, &b);
    assert_int_equal(a.len, b.len);
    assert_memory_equal(a.buf, b.buf, a.len);
    /* gzip: no file name (FLG 0) and no timestamp (MTIME 0). */
    assert_true(a.len > 10);
    assert_int_equal((unsigned char)a.buf[0], 0x1f);
    assert_int_equal((unsigned char)a.buf[1], 0x8b);
    assert_int_equal(a.buf[3], 0);
    assert_memory_equal(a.buf + 4, "\0\0\0\0", 4);

    char *members = list_members(first);
    assert_string_equal(members, "README f 0644 315532800 0:0 : =read me\n\n"
                                 "bin/ d 0755 315532800 0:0 :\n"
                                 "bin/run f 0755 315532800 0:0 : =#!/bin/sh\necho run\n\n"
                                 "lib/ d 0755 315532800 0:0 :\n"
                                 "lib/empty f 0644 315532800 0:0 : =\n"
                                 "lib/link l 0777 315532800 0:0 : -> ../README\n");
    free(members);
    cfbp_strbuf_release(&a);
    cfbp_strbuf_release(&b);
    free(first);
    free(second);
    free(other);
}

static void every_member_gets_the_given_mtime(void **state)
{
    struct fixture *fixture = *state;
    free(make_file(fixture->tree, "a", "a", 0644, 1000));
    char *path = archive_path(fixture, "a.tgz");
    struct cfbp_tarball_options options = {.mtime = 1700000000};
    assert_int_equal(write_tree(fixture, path, fixture->tree, &options), 0);
    char *members = list_members(path);
    assert_string_equal(members, "a f 0644 1700000000 0:0 : =a\n");
    free(members);
    free(path);
}

static void source_date_epoch_when_it_is_a_whole_number(void **state)
{
    (void)state;
    unsetenv("SOURCE_DATE_EPOCH");
    assert_int_equal(cfbp_source_date_epoch(), CFBP_DEFAULT_EPOCH);
    assert_int_equal(CFBP_DEFAULT_EPOCH, 315532800LL);
    static const struct {
        const char *text;
        long long expected;
    } cases[] = {
        {"1700000000", 1700000000LL}, {"0", 0},
        {"", CFBP_DEFAULT_EPOCH},     {"abc", CFBP_DEFAULT_EPOCH},
        {"12x", CFBP_DEFAULT_EPOCH},  {"1.5", CFBP_DEFAULT_EPOCH},
        {"-5", CFBP_DEFAULT_EPOCH},   {"99999999999999999999999", CFBP_DEFAULT_EPOCH},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        setenv("SOURCE_DATE_EPOCH", cases[i].text, 1);
        if (cfbp_source_date_epoch() != cases[i].expected)
            fail_msg("SOURCE_DATE_EPOCH=\"%s\" gave %lld, expected %lld", cases[i].text,
                     cfbp_source_date_epoch(), cases[i].expected);
    }
}

static void keeps_modes_and_times_when_asked(void **state)
{
    struct fixture *fixture = *state;
    free(make_file(fixture->tree, "secret", "s", 0600, 1500000000));
    free(make_file(fixture->tree, "tool", "t", 0750, 1500000001));
    make_dir(fixture->tree, "private", 0700);
    char *private_dir = test_path(fixture->tree, "private");
    set_mtime(private_dir, 1500000002);
    char *path = archive_path(fixture, "kept.tgz");

    struct cfbp_tarball_options both = {.mtime = 42, .keep_modes = true, .keep_times = true};
    assert_int_equal(write_tree(fixture, path, fixture->tree, &both), 0);
    char *members = list_members(path);
    assert_string_equal(members, "private/ d 0700 1500000002 0:0 :\n"
                                 "secret f 0600 1500000000 0:0 : =s\n"
                                 "tool f 0750 1500000001 0:0 : =t\n");
    free(members);

    struct cfbp_tarball_options modes_only = {.mtime = 42, .keep_modes = true};
    assert_int_equal(write_tree(fixture, path, fixture->tree, &modes_only), 0);
    members = list_members(path);
    assert_string_equal(members, "private/ d 0700 42 0:0 :\n"
                                 "secret f 0600 42 0:0 : =s\n"
                                 "tool f 0750 42 0:0 : =t\n");
    free(members);

    struct cfbp_tarball_options times_only = {.mtime = 42, .keep_times = true};
    assert_int_equal(write_tree(fixture, path, fixture->tree, &times_only), 0);
    members = list_members(path);
    assert_string_equal(members, "private/ d 0755 1500000002 0:0 :\n"
                                 "secret f 0644 1500000000 0:0 : =s\n"
                                 "tool f 0755 1500000001 0:0 : =t\n");
    free(members);
    free(private_dir);
    free(path);
}

static void include_root_with_a_prefix_gives_dot_slash_first(void **state)
{
    struct fixture *fixture = *state;
    free(make_file(fixture->tree, "a/b", "b", 0644, 0));
    free(make_file(fixture->tree, "c", "c", 0644, 0));
    char *path = archive_path(fixture, "droplet.tgz");

    struct cfbp_tarball_options rooted = {.mtime = 7, .prefix = "./", .include_root = true};
    assert_int_equal(write_tree(fixture, path, fixture->tree, &rooted), 0);
    char *members = list_members(path);
    assert_string_equal(members, "./ d 0755 7 0:0 :\n"
                                 "./a/ d 0755 7 0:0 :\n"
                                 "./a/b f 0644 7 0:0 : =b\n"
                                 "./c f 0644 7 0:0 : =c\n");
    free(members);

    struct cfbp_tarball_options prefixed = {.mtime = 7, .prefix = "./"};
    assert_int_equal(write_tree(fixture, path, fixture->tree, &prefixed), 0);
    members = list_members(path);
    assert_string_equal(members, "./a/ d 0755 7 0:0 :\n"
                                 "./a/b f 0644 7 0:0 : =b\n"
                                 "./c f 0644 7 0:0 : =c\n");
    free(members);

    /* The root without a prefix is "./" too, never "/" or "". */
    struct cfbp_tarball_options bare_root = {.mtime = 7, .include_root = true};
    assert_int_equal(write_tree(fixture, path, fixture->tree, &bare_root), 0);
    members = list_members(path);
    assert_string_equal(members, "./ d 0755 7 0:0 :\n"
                                 "a/ d 0755 7 0:0 :\n"
                                 "a/b f 0644 7 0:0 : =b\n"
                                 "c f 0644 7 0:0 : =c\n");
    free(members);

    struct cfbp_tarball_options named = {.mtime = 7, .prefix = "top/", .include_root = true};
    assert_int_equal(write_tree(fixture, path, fixture->tree, &named), 0);
    members = list_members(path);
    assert_string_equal(members, "top/ d 0755 7 0:0 :\n"
                                 "top/a/ d 0755 7 0:0 :\n"
                                 "top/a/b f 0644 7 0:0 : =b\n"
                                 "top/c f 0644 7 0:0 : =c\n");
    free(members);
    free(path);
}

static void symlinks_stay_symlinks(void **state)
{
    struct fixture *fixture = *state;
    free(make_file(fixture->tree, "real/file", "x", 0644, 0));
    char *to_dir = test_path(fixture->tree, "dir-link");
    char *dangling = test_path(fixture->tree, "dangling");
    char *absolute = test_path(fixture->tree, "absolute");
    assert_int_equal(symlink("real", to_dir), 0);
    assert_int_equal(symlink("does/not/exist", dangling), 0);
    assert_int_equal(symlink("/etc/hostname", absolute), 0);
    char *path = archive_path(fixture, "links.tgz");
    struct cfbp_tarball_options options = {.mtime = 1, .keep_modes = true};
    assert_int_equal(write_tree(fixture, path, fixture->tree, &options), 0);
    /* A link to a directory is not followed: real/file appears once. */
    char *members = list_members(path);
    assert_string_equal(members, "absolute l 0777 1 0:0 : -> /etc/hostname\n"
                                 "dangling l 0777 1 0:0 : -> does/not/exist\n"
                                 "dir-link l 0777 1 0:0 : -> real\n"
                                 "real/ d 0755 1 0:0 :\n"
                                 "real/file f 0644 1 0:0 : =x\n");
    free(members);
    free(to_dir);
    free(dangling);
    free(absolute);
    free(path);
}

static void members_are_sorted_depth_first(void **state)
{
    struct fixture *fixture = *state;
    static const char *const names[] = {"b", "a/z", "a-b", "B", "a/y/2", "a/y/1", "_", "a.b"};
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
        free(make_file(fixture->tree, names[i], "", 0644, 0));
    char *path = archive_path(fixture, "sorted.tgz");
    struct cfbp_tarball_options options = {.mtime = 1};
    assert_int_equal(write_tree(fixture, path, fixture->tree, &options), 0);
    char *members = list_members(path);
    assert_string_equal(members, "B f 0644 1 0:0 : =\n"
                                 "_ f 0644 1 0:0 : =\n"
                                 "a/ d 0755 1 0:0 :\n"
                                 "a/y/ d 0755 1 0:0 :\n"
                                 "a/y/1 f 0644 1 0:0 : =\n"
                                 "a/y/2 f 0644 1 0:0 : =\n"
                                 "a/z f 0644 1 0:0 : =\n"
                                 "a-b f 0644 1 0:0 : =\n"
                                 "a.b f 0644 1 0:0 : =\n"
                                 "b f 0644 1 0:0 : =\n");
    free(members);
    free(path);
}

static void large_files_and_long_names_survive(void **state)
{
    struct fixture *fixture = *state;
    /* Bigger than the 256 KiB copy block, and not a multiple of it. */
    size_t size = 700001;
    char *big = malloc(size + 1);
    for (size_t i = 0; i < size; i++)
        big[i] = (char)('a' + (i * 7) % 26);
    big[size] = '\0';
    free(make_file(fixture->tree, "big", big, 0644, 0));
    /* A name longer than ustar's 100 + 155 bytes needs a pax header. */
    struct cfbp_strbuf name = CFBP_STRBUF_INIT;
    for (int i = 0; i < 30; i++)
        cfbp_strbuf_append_string(&name, "directory/");
    cfbp_strbuf_append_string(&name, "file-with-a-long-name.txt");
    free(make_file(fixture->tree, name.buf, "deep", 0644, 0));
    char *path = archive_path(fixture, "big.tgz");
    struct cfbp_tarball_options options = {.mtime = 1};
    assert_int_equal(write_tree(fixture, path, fixture->tree, &options), 0);
    size_t got_size = 0;
    char *data = member_data(path, "big", &got_size);
    assert_non_null(data);
    assert_int_equal(got_size, size);
    assert_memory_equal(data, big, size);
    free(data);
    data = member_data(path, name.buf, &got_size);
    assert_non_null(data);
    assert_string_equal(data, "deep");
    free(data);
    cfbp_strbuf_release(&name);
    free(big);
    free(path);
}

static void an_empty_tree_is_an_empty_archive(void **state)
{
    struct fixture *fixture = *state;
    char *path = archive_path(fixture, "empty.tgz");
    struct cfbp_tarball_options options = {.mtime = 1};
    assert_int_equal(write_tree(fixture, path, fixture->tree, &options), 0);
    char *members = list_members(path);
    assert_string_equal(members, "");
    free(members);
    free(path);
}

static void a_failure_leaves_no_partial_file(void **state)
{
    struct fixture *fixture = *state;
    free(make_file(fixture->tree, "a", "a", 0644, 0));
    char *fifo = test_path(fixture->tree, "z-fifo");
    assert_int_equal(mkfifo(fifo, 0644), 0);
    char *path = archive_path(fixture, "broken.tgz");
    struct cfbp_tarball_options options = {.mtime = 1};

    assert_int_equal(write_tree(fixture, path, fixture->tree, &options), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_INVALID);
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&expected,
                              "cannot archive %s: only files, directories and links can be "
                              "archived",
                              fifo);
    assert_string_equal(fixture->err.message, expected.buf);
    assert_false(test_exists(path));
    assert_int_equal(test_count_entries(fixture->out), 0);
    cfbp_error_clear(&fixture->err);

    /* An archive already there is left as it was. */
    test_write_file(path, "the old archive", 0644);
    assert_int_equal(write_tree(fixture, path, fixture->tree, &options), -1);
    char *text = test_read_file(path);
    assert_string_equal(text, "the old archive");
    free(text);
    assert_int_equal(test_count_entries(fixture->out), 1);
    cfbp_error_clear(&fixture->err);

    /* A missing tree fails the same way. */
    char *missing = test_path(fixture->dir, "missing");
    char *other = archive_path(fixture, "missing.tgz");
    assert_int_equal(write_tree(fixture, other, missing, &options), -1);
    assert_non_null(fixture->err.message);
    assert_false(test_exists(other));
    assert_int_equal(test_count_entries(fixture->out), 1);
    cfbp_error_clear(&fixture->err);

    /* So does a directory that cannot hold the archive. */
    char *nowhere = test_path(fixture->dir, "no/such/dir/x.tgz");
    unlink(fifo);
    assert_int_equal(write_tree(fixture, nowhere, fixture->tree, &options), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_IO);
    assert_false(test_exists(nowhere));

    cfbp_strbuf_release(&expected);
    free(nowhere);
    free(missing);
    free(other);
    free(fifo);
    free(path);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(the_same_tree_gives_the_same_bytes),
        TEST(every_member_gets_the_given_mtime),
        TEST(source_date_epoch_when_it_is_a_whole_number),
        TEST(keeps_modes_and_times_when_asked),
        TEST(include_root_with_a_prefix_gives_dot_slash_first),
        TEST(symlinks_stay_symlinks),
        TEST(members_are_sorted_depth_first),
        TEST(large_files_and_long_names_survive),
        TEST(an_empty_tree_is_an_empty_archive),
        TEST(a_failure_leaves_no_partial_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
