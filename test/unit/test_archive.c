/*
 * test_archive.c - installing one file: real archives made here with
 * libarchive, including hostile ones, extracted into real directories.
 * After every refusal the destination must be exactly as it was and nothing
 * may exist outside it.
 */
#include "support.h"

#include "../../lib/archive_layout.h"

#include "cfbp/archive.h"
#include "cfbp/beneath.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
    char *dir;     /* scratch: archives live here */
    char *outside; /* <dir>/outside: must stay empty */
    char *dest;    /* <dir>/work/dest */
    char *archive;
    struct cfbp_error err;
    char sha256[CFBP_DIGEST_HEX_SIZE];
};

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    fixture->dir = test_make_dir();
    fixture->outside = test_path(fixture->dir, "outside");
    mkdir(fixture->outside, 0755);
    char *work = test_path(fixture->dir, "work");
    mkdir(work, 0755);
    fixture->dest = test_path(work, "dest");
    free(work);
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    cfbp_error_clear(&fixture->err);
    free(fixture->outside);
    free(fixture->dest);
    free(fixture->archive);
    test_remove_dir(fixture->dir);
    free(fixture);
    return 0;
}

static void make(struct fixture *fixture, const char *name, enum test_archive_format format,
                 const struct test_entry *entries, size_t count)
{
    free(fixture->archive);
    fixture->archive = test_path(fixture->dir, name);
    test_make_archive(fixture->archive, format, entries, count);
}

static int install(struct fixture *fixture, const char *name, const char *expected)
{
    struct cfbp_archive_request request = {
        .source = fixture->archive,
        .file_name = name,
        .expected_sha256 = expected,
        .destination = fixture->dest,
    };
    return cfbp_archive_install(&request, fixture->sha256, &fixture->err);
}

static char *dest_file(struct fixture *fixture, const char *name)
{
    return test_path(fixture->dest, name);
}

static void assert_file(struct fixture *fixture, const char *name, const char *content, mode_t mode)
{
    char *path = dest_file(fixture, name);
    char *text = test_read_file(path);
    if (!text)
        fail_msg("%s is missing", path);
    assert_string_equal(text, content);
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, mode);
    free(text);
    free(path);
}

static const struct test_entry tree[] = {
    {"bin", 'd', 0755, NULL, 0},
    {"bin/config-server", 'f', 0755, "#!/bin/sh\necho hi\n", 0},
    {"lib/data.txt", 'f', 0640, "data\n", 0},
    {"lib/link", 'l', 0, "data.txt", 0},
    {"bin/up", 'l', 0, "../lib/data.txt", 0},
    {"lib/hard", 'h', 0, "lib/data.txt", 0},
    {"share/big", 'f', 0644, NULL, 300000},
};

static void check_tree(struct fixture *fixture)
{
    assert_file(fixture, "bin/config-server", "#!/bin/sh\necho hi\n", 0755);
    assert_file(fixture, "lib/data.txt", "data\n", 0640);
    assert_file(fixture, "lib/hard", "data\n", 0640);
    char *link = dest_file(fixture, "lib/link");
    char target[64] = "";
    assert_int_equal(readlink(link, target, sizeof(target) - 1), 8);
    assert_string_equal(target, "data.txt");
    free(link);
    char *up = dest_file(fixture, "bin/up");
    char *through = test_read_file(up);
    assert_string_equal(through, "data\n");
    free(through);
    free(up);
    char *big = dest_file(fixture, "share/big");
    struct stat st;
    assert_int_equal(stat(big, &st), 0);
    assert_int_equal(st.st_size, 300000);
    free(big);
    struct stat dest;
    assert_int_equal(stat(fixture->dest, &dest), 0);
    assert_int_equal(dest.st_mode & 07777, 0755);
}

static void extracts_every_format(void **state)
{
    struct fixture *fixture = *state;
    static const struct {
        const char *name;
        enum test_archive_format format;
    } formats[] = {{"dep.tgz", TEST_TGZ},
                   {"dep.tar.gz", TEST_TGZ},
                   {"dep.tar.xz", TEST_TXZ},
                   {"dep.tar", TEST_TAR},
                   {"dep.zip", TEST_ZIP}};
    for (size_t i = 0; i < sizeof(formats) / sizeof(*formats); i++) {
        size_t count = sizeof(tree) / sizeof(*tree);
        if (formats[i].format == TEST_ZIP)
            count--; /* zip has no hard links */
        make(fixture, formats[i].name, formats[i].format, tree, count);
        char expected[CFBP_DIGEST_HEX_SIZE];
        strcpy(expected, test_sha256_of_file(fixture->archive));
        if (install(fixture, formats[i].name, expected) < 0)
            fail_msg("%s: %s", formats[i].name, fixture->err.message);
        assert_string_equal(fixture->sha256, expected);
        if (formats[i].format == TEST_ZIP) {
            assert_file(fixture, "bin/config-server", "#!/bin/sh\necho hi\n", 0755);
        } else {
            check_tree(fixture);
        }
        char *cleanup = strdup(fixture->dest);
        test_remove_dir(cleanup);
    }
}

static void merges_into_an_existing_destination(void **state)
{
    struct fixture *fixture = *state;
    char *kept = dest_file(fixture, "config.yml");
    test_write_file(kept, "config: {}\n", 0644);
    char *old_binary = dest_file(fixture, "bin/config-server");
    test_write_file(old_binary, "old\n", 0755);
    make(fixture, "dep.tgz", TEST_TGZ, tree, sizeof(tree) / sizeof(*tree));
    assert_int_equal(install(fixture, "dep.tgz", NULL), 0);
    check_tree(fixture);
    assert_file(fixture, "config.yml", "config: {}\n", 0644);
    /* No staging directory is left behind. */
    assert_int_equal(test_count_entries(fixture->dest), 10);
    free(kept);
    free(old_binary);
}

static void assert_untouched(struct fixture *fixture, size_t entries_before)
{
    assert_int_equal(test_count_entries(fixture->dest), entries_before);
    assert_int_equal(test_count_entries(fixture->outside), 0);
    char *work = test_path(fixture->dir, "work");
    assert_int_equal(test_count_entries(work), 1 + entries_before); /* dest and its contents */
    free(work);
}

static void prepare_destination(struct fixture *fixture)
{
    char *existing = dest_file(fixture, "existing");
    test_write_file(existing, "keep me\n", 0644);
    free(existing);
}

static void wrong_digest_changes_nothing(void **state)
{
    struct fixture *fixture = *state;
    prepare_destination(fixture);
    make(fixture, "dep.tgz", TEST_TGZ, tree, sizeof(tree) / sizeof(*tree));
    const char *wrong = "0000000000000000000000000000000000000000000000000000000000000000";
    assert_int_equal(install(fixture, "dep.tgz", wrong), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_CHECKSUM);
    char expected_text[200];
    snprintf(expected_text, sizeof(expected_text),
             "sha256 mismatch: expected sha256 %s, actual sha256 %s", wrong,
             test_sha256_of_file(fixture->archive));
    assert_string_equal(fixture->err.message, expected_text);
    assert_untouched(fixture, 1);
}

static void wrong_digest_of_a_zip_changes_nothing(void **state)
{
    struct fixture *fixture = *state;
    prepare_destination(fixture);
    make(fixture, "dep.zip", TEST_ZIP, tree, 2);
    assert_int_equal(install(fixture, "dep.zip",
                             "1111111111111111111111111111111111111111111111111111111111111111"),
                     -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_CHECKSUM);
    assert_untouched(fixture, 1);
}

static void assert_refused(struct fixture *fixture, const struct test_entry *entries, size_t count,
                           const char *why)
{
    prepare_destination(fixture);
    make(fixture, "evil.tgz", TEST_TGZ, entries, count);
    assert_int_equal(install(fixture, "evil.tgz", NULL), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_UNSAFE_ARCHIVE);
    if (!strstr(fixture->err.message, why))
        fail_msg("expected '%s' in '%s'", why, fixture->err.message);
    assert_untouched(fixture, 1);
    char *escaped = test_path(fixture->dir, "work/escaped");
    assert_false(test_exists(escaped));
    free(escaped);
}

static void refuses_dot_dot_members(void **state)
{
    static const struct test_entry entries[] = {
        {"bin/ok", 'f', 0644, "ok\n", 0},
        {"../escaped", 'f', 0644, "gotcha\n", 0},
    };
    assert_refused(*state, entries, 2, "the member '../escaped' has a '..' component");
}

static void refuses_nested_dot_dot(void **state)
{
    static const struct test_entry entries[] = {{"a/../../escaped", 'f', 0644, "x", 0}};
    assert_refused(*state, entries, 1, "'..' component");
}

static void refuses_absolute_members(void **state)
{
    struct fixture *fixture = *state;
    char *target = test_path(fixture->outside, "abs");
    struct test_entry entries[] = {{target, 'f', 0644, "gotcha\n", 0}};
    assert_refused(fixture, entries, 1, "has an absolute path");
    free(target);
}

static void refuses_symlinks_that_leave(void **state)
{
    static const struct test_entry up[] = {{"link", 'l', 0, "../outside", 0}};
    assert_refused(*state, up, 1, "is a symlink whose target is absolute or leaves");
}

static void refuses_absolute_symlinks(void **state)
{
    static const struct test_entry entries[] = {{"etc", 'l', 0, "/etc", 0}};
    assert_refused(*state, entries, 1, "is a symlink");
}

static void refuses_symlinks_climbing_after_descending(void **state)
{
    /* "d/.." resolves through whatever d is; only leading ".." is allowed. */
    static const struct test_entry entries[] = {{"sub", 'd', 0755, NULL, 0},
                                                {"sub/l", 'l', 0, "x/../../..", 0}};
    assert_refused(*state, entries, 2, "is a symlink");
}

static void refuses_deep_climbing_symlinks(void **state)
{
    static const struct test_entry entries[] = {{"a/b/l", 'l', 0, "../../../escaped", 0}};
    assert_refused(*state, entries, 1, "is a symlink");
}

static void refuses_hard_links_that_leave(void **state)
{
    static const struct test_entry entries[] = {{"hard", 'h', 0, "../outside/x", 0}};
    assert_refused(*state, entries, 1, "is a hard link that leaves the destination");
}

static void refuses_hard_links_through_symlinks(void **state)
{
    static const struct test_entry entries[] = {
        {"dir", 'l', 0, ".", 0},
        {"file", 'f', 0644, "x", 0},
        {"hard", 'h', 0, "dir/file", 0},
    };
    assert_refused(*state, entries, 3, "is a hard link through a symlink");
}

static void never_writes_through_a_symlink(void **state)
{
    struct fixture *fixture = *state;
    /* "sub" points inside (allowed); a later member under it must not be written through
     * it: libarchive replaces the link with a real directory. */
    static const struct test_entry entries[] = {{"sub", 'l', 0, ".", 0},
                                                {"sub/x", 'f', 0644, "x", 0}};
    make(fixture, "dep.tgz", TEST_TGZ, entries, 2);
    assert_int_equal(install(fixture, "dep.tgz", NULL), 0);
    char *sub = dest_file(fixture, "sub");
    assert_int_equal(cfbp_fs_type_of(sub), CFBP_FS_DIRECTORY);
    free(sub);
    assert_file(fixture, "sub/x", "x", 0644);
    char *top = dest_file(fixture, "x");
    assert_false(test_exists(top));
    free(top);
}

static void refuses_devices_and_fifos(void **state)
{
    static const struct test_entry device[] = {{"null", 'c', 0, NULL, 0}};
    assert_refused(*state, device, 1, "is a device, fifo or socket");
}

static void refuses_fifos(void **state)
{
    static const struct test_entry fifo[] = {{"pipe", 'p', 0, NULL, 0}};
    assert_refused(*state, fifo, 1, "is a device, fifo or socket");
}

static void drops_setuid_and_setgid(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_entry entries[] = {{"bin/suid", 'f', 06755, "x", 0},
                                                {"bin/sticky", 'f', 01755, "y", 0}};
    make(fixture, "dep.tgz", TEST_TGZ, entries, 2);
    assert_int_equal(install(fixture, "dep.tgz", NULL), 0);
    assert_file(fixture, "bin/suid", "x", 0755);
    assert_file(fixture, "bin/sticky", "y", 01755);
}

static void handles_read_only_directories(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_entry entries[] = {{"ro", 'd', 0555, NULL, 0},
                                                {"ro/file", 'f', 0444, "r\n", 0}};
    make(fixture, "dep.tgz", TEST_TGZ, entries, 2);
    assert_int_equal(install(fixture, "dep.tgz", NULL), 0);
    assert_file(fixture, "ro/file", "r\n", 0444);
    char *ro = dest_file(fixture, "ro");
    struct stat st;
    assert_int_equal(stat(ro, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0555);
    free(ro);
}

static void count_moment(unsigned long moment, void *data)
{
    (void)moment;
    (*(unsigned long *)data)++;
}

static void installs_one_entry_trees(struct fixture *fixture, bool top_mode)
{
    static const struct test_entry one[] = {{"pkg/", 'd', 0750, NULL, 0},
                                            {"pkg/bin/run", 'f', 0755, "run\n", 0},
                                            {"pkg/ro/", 'd', 0555, NULL, 0},
                                            {"pkg/ro/file", 'f', 0444, "r\n", 0}};
    static const struct test_entry two[] = {{"more/file", 'f', 0644, "m\n", 0},
                                            {"other", 'f', 0644, "o\n", 0}};
    static const struct test_entry read_only_top[] = {{"top/", 'd', 0555, NULL, 0},
                                                      {"top/file", 'f', 0444, "t\n", 0}};
    struct {
        const struct test_entry *entries;
        size_t count;
        bool journaled;
    } cases[] = {{one, 4, false}, {two, 2, true}, {read_only_top, 2, true}};
    for (size_t i = 0; i < 3; i++) {
        bool journaled = cases[i].journaled && !(top_mode && cases[i].entries == read_only_top);
        make(fixture, "dep.tgz", TEST_TGZ, cases[i].entries, cases[i].count);
        unsigned long moments = 0;
        cfbp_beneath_set_step_hook(count_moment, &moments);
        int result = install(fixture, "dep.tgz", NULL);
        cfbp_beneath_set_step_hook(NULL, NULL);
        if (result < 0)
            fail_msg("case %zu: %s", i, fixture->err.message);
        if (journaled != (moments > 0))
            fail_msg("case %zu, top mode %d: %lu journaled moments", i, top_mode, moments);
    }
    assert_file(fixture, "existing", "keep\n", 0644);
    assert_file(fixture, "pkg/bin/run", "run\n", 0755);
    assert_file(fixture, "pkg/ro/file", "r\n", 0444);
    assert_file(fixture, "other", "o\n", 0644);
    assert_file(fixture, "top/file", "t\n", 0444);
    static const struct {
        const char *path;
        mode_t mode;
    } directories[] = {{"pkg", 0750}, {"pkg/ro", 0555}, {"top", 0555}};
    for (size_t i = 0; i < 3; i++) {
        char *path = dest_file(fixture, directories[i].path);
        struct stat st;
        assert_int_equal(stat(path, &st), 0);
        assert_int_equal(st.st_mode & 07777, directories[i].mode);
        free(path);
    }
    /* Nothing of the work is left. */
    assert_int_equal(test_count_entries(fixture->dest), 11);
}

/*
 * A tree of one entry whose name is free in an existing destination is
 * placed in one rename, its directory modes applied first; a tree of two
 * entries goes through the journaled merge, and so does one whose top
 * directory would deny its owner writing (a rename to another directory
 * needs that) unless top mode renames it within the destination. All end
 * the same.
 */
static void one_new_entry_is_placed_without_a_journal(void **state)
{
    struct fixture *fixture = *state;
    char *existing = dest_file(fixture, "existing");
    for (int top_mode = 1; top_mode >= 0; top_mode--) {
        cfbpi_archive_top_mode = top_mode;
        test_remove_dir(strdup(fixture->dest));
        assert_int_equal(mkdir(fixture->dest, 0755), 0);
        test_write_file(existing, "keep\n", 0644);
        installs_one_entry_trees(fixture, top_mode);
    }
    cfbpi_archive_top_mode = true;
    free(existing);
}

static void skips_the_dot_directory_and_strips_components(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_entry entries[] = {
        {"./", 'd', 0755, NULL, 0},
        {"./top/", 'd', 0755, NULL, 0},
        {"./top/bin/x", 'f', 0755, "x\n", 0},
        {"./top/README", 'f', 0644, "r\n", 0},
    };
    make(fixture, "dep.tgz", TEST_TGZ, entries, 4);
    struct cfbp_archive_request request = {.source = fixture->archive,
                                           .file_name = "dep.tgz",
                                           .destination = fixture->dest,
                                           .strip_components = 1};
    assert_int_equal(cfbp_archive_install(&request, fixture->sha256, &fixture->err), 0);
    assert_file(fixture, "bin/x", "x\n", 0755);
    assert_file(fixture, "README", "r\n", 0644);
    assert_int_equal(test_count_entries(fixture->dest), 3);
}

static void corrupt_archive_fails_cleanly(void **state)
{
    struct fixture *fixture = *state;
    prepare_destination(fixture);
    make(fixture, "dep.tgz", TEST_TGZ, tree, sizeof(tree) / sizeof(*tree));
    char expected[CFBP_DIGEST_HEX_SIZE];
    strcpy(expected, test_sha256_of_file(fixture->archive));
    /* Cut the file in half: the download that broke off. */
    struct stat st;
    assert_int_equal(stat(fixture->archive, &st), 0);
    assert_int_equal(truncate(fixture->archive, st.st_size / 2), 0);
    assert_int_equal(install(fixture, "dep.tgz", expected), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_CHECKSUM);
    assert_non_null(strstr(fixture->err.message, "and it could not be extracted"));
    assert_untouched(fixture, 1);
    /* Without a digest to compare, the archive error itself is reported. */
    assert_int_equal(install(fixture, "dep.tgz", NULL), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_INVALID);
    assert_non_null(strstr(fixture->err.message, "cannot extract dep.tgz"));
    assert_untouched(fixture, 1);
}

static void not_an_archive_fails_cleanly(void **state)
{
    struct fixture *fixture = *state;
    prepare_destination(fixture);
    free(fixture->archive);
    fixture->archive = test_path(fixture->dir, "fake.tgz");
    test_write_file(fixture->archive, "this is not gzip data at all\n", 0644);
    assert_int_equal(install(fixture, "fake.tgz", NULL), -1);
    assert_non_null(strstr(fixture->err.message, "cannot extract fake.tgz"));
    assert_untouched(fixture, 1);
}

static void script_becomes_the_destination(void **state)
{
    struct fixture *fixture = *state;
    free(fixture->archive);
    fixture->archive = test_path(fixture->dir, "installer.sh");
    test_write_file(fixture->archive, "#!/bin/sh\necho install\n", 0755);
    assert_int_equal(install(fixture, "installer.sh", test_sha256_of_file(fixture->archive)), 0);
    char *text = test_read_file(fixture->dest);
    assert_string_equal(text, "#!/bin/sh\necho install\n");
    free(text);
    struct stat st;
    assert_int_equal(stat(fixture->dest, &st), 0);
    assert_true(S_ISREG(st.st_mode));
    assert_int_equal(st.st_mode & 07777, 0644);
}

static void plain_file_is_copied_by_name(void **state)
{
    struct fixture *fixture = *state;
    free(fixture->archive);
    fixture->archive = test_path(fixture->dir, "agent.jar");
    test_write_file(fixture->archive, "PK-not-really\n", 0600);
    assert_int_equal(install(fixture, "agent.jar", test_sha256_of_file(fixture->archive)), 0);
    assert_file(fixture, "agent.jar", "PK-not-really\n", 0644);
    assert_int_equal(test_count_entries(fixture->dest), 1);
}

static void plain_file_with_wrong_digest_leaves_nothing(void **state)
{
    struct fixture *fixture = *state;
    prepare_destination(fixture);
    free(fixture->archive);
    fixture->archive = test_path(fixture->dir, "agent.jar");
    test_write_file(fixture->archive, "bytes\n", 0644);
    assert_int_equal(install(fixture, "agent.jar",
                             "2222222222222222222222222222222222222222222222222222222222222222"),
                     -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_CHECKSUM);
    assert_untouched(fixture, 1);
}

static void removes_stale_staging_directories(void **state)
{
    struct fixture *fixture = *state;
    char *stale = dest_file(fixture, ".cfbp-install-abc123/half");
    test_write_file(stale, "left by a killed run\n", 0644);
    free(stale);
    make(fixture, "dep.tgz", TEST_TGZ, tree, 2);
    assert_int_equal(install(fixture, "dep.tgz", NULL), 0);
    assert_int_equal(test_count_entries(fixture->dest), 2);
}

static void missing_source_is_not_found(void **state)
{
    struct fixture *fixture = *state;
    fixture->archive = test_path(fixture->dir, "nope.tgz");
    assert_int_equal(install(fixture, "nope.tgz", NULL), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_NOT_FOUND);
    assert_false(test_exists(fixture->dest));
}

static void kinds_follow_the_name(void **state)
{
    (void)state;
    assert_int_equal(cfbp_archive_kind_of("a.tgz"), CFBP_ARCHIVE_TAR_GZ);
    assert_int_equal(cfbp_archive_kind_of("a.tar.gz"), CFBP_ARCHIVE_TAR_GZ);
    assert_int_equal(cfbp_archive_kind_of("a.tar.xz"), CFBP_ARCHIVE_TAR_XZ);
    assert_int_equal(cfbp_archive_kind_of("a.tar"), CFBP_ARCHIVE_TAR);
    assert_int_equal(cfbp_archive_kind_of("a.zip"), CFBP_ARCHIVE_ZIP);
    assert_int_equal(cfbp_archive_kind_of("a.sh"), CFBP_ARCHIVE_SCRIPT);
    assert_int_equal(cfbp_archive_kind_of("a.txz"), CFBP_ARCHIVE_PLAIN);
    assert_int_equal(cfbp_archive_kind_of("a.gz"), CFBP_ARCHIVE_PLAIN);
}

/* Writes count bytes of fill at offset in path (made if missing), then sets its size. */
static void write_at(const char *path, off_t offset, size_t count, char fill, off_t size)
{
    int fd = open(path, O_WRONLY | O_CREAT, 0644);
    assert_true(fd >= 0);
    char *bytes = malloc(count);
    memset(bytes, fill, count);
    assert_int_equal(pwrite(fd, bytes, count, offset), (ssize_t)count);
    assert_int_equal(ftruncate(fd, size), 0);
    free(bytes);
    close(fd);
}

/*
 * Sparse members, as GNU tar writes them (old GNU maps in the header, and
 * pax 1.0 maps in the data): small ones (which go to the write queue) and
 * large ones get their bytes back, and a large one keeps its holes.
 */
static void sparse_members_keep_their_bytes(void **state)
{
    struct fixture *fixture = *state;
    char *source = test_path(fixture->dir, "source");
    assert_int_equal(mkdir(source, 0755), 0);
    char *path = test_path(source, "small-sparse");
    write_at(path, 0, 4096, 'a', 200 * 1024);
    write_at(path, 150 * 1024, 4096, 'b', 200 * 1024);
    free(path);
    path = test_path(source, "large-sparse");
    write_at(path, 0, 65536, 'c', 8 << 20);
    write_at(path, 6 << 20, 65536, 'd', 8 << 20);
    free(path);
    for (int i = 0; i < 6; i++) {
        char name[32];
        snprintf(name, sizeof(name), "plain-%d", i);
        path = test_path(source, name);
        test_write_file(path, name, 0644);
        free(path);
    }
    static const char *const formats[] = {"--format=gnu", "--format=posix"};
    for (size_t i = 0; i < 2; i++) {
        free(fixture->archive);
        fixture->archive = test_path(fixture->dir, "sparse.tgz");
        char *const argv[] = {
            "/bin/tar", "--sparse", (char *)formats[i], "-czf", fixture->archive, "-C", source,
            ".",        NULL};
        struct test_run run = test_run_program(argv, NULL, NULL);
        if (run.status != 0)
            fail_msg("tar %s: %s", formats[i], run.err);
        test_run_free(&run);
        if (install(fixture, "sparse.tgz", NULL) < 0)
            fail_msg("%s: %s", formats[i], fixture->err.message);
        static const char *const names[] = {"small-sparse", "large-sparse", "plain-5"};
        for (size_t n = 0; n < 3; n++) {
            char *original = test_path(source, names[n]);
            char *installed = dest_file(fixture, names[n]);
            char expected[CFBP_DIGEST_HEX_SIZE];
            strcpy(expected, test_sha256_of_file(original));
            if (strcmp(expected, test_sha256_of_file(installed)) != 0)
                fail_msg("%s: %s differs from what was archived", formats[i], names[n]);
            free(original);
            free(installed);
        }
        char *large = dest_file(fixture, "large-sparse");
        struct stat st;
        assert_int_equal(stat(large, &st), 0);
        assert_int_equal(st.st_size, 8 << 20);
        if (st.st_blocks * 512 > (1 << 20))
            fail_msg("%s: the holes of large-sparse were written (%lld bytes allocated)",
                     formats[i], (long long)st.st_blocks * 512);
        free(large);
        test_remove_dir(strdup(fixture->dest));
    }
    test_remove_dir(source);
}

int main(void)
{
    test_use_write_queue_setting();
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(extracts_every_format),
        TEST(sparse_members_keep_their_bytes),
        TEST(merges_into_an_existing_destination),
        TEST(wrong_digest_changes_nothing),
        TEST(wrong_digest_of_a_zip_changes_nothing),
        TEST(refuses_dot_dot_members),
        TEST(refuses_nested_dot_dot),
        TEST(refuses_absolute_members),
        TEST(refuses_symlinks_that_leave),
        TEST(refuses_absolute_symlinks),
        TEST(refuses_symlinks_climbing_after_descending),
        TEST(refuses_deep_climbing_symlinks),
        TEST(refuses_hard_links_that_leave),
        TEST(refuses_hard_links_through_symlinks),
        TEST(never_writes_through_a_symlink),
        TEST(refuses_devices_and_fifos),
        TEST(refuses_fifos),
        TEST(drops_setuid_and_setgid),
        TEST(handles_read_only_directories),
        TEST(one_new_entry_is_placed_without_a_journal),
        TEST(skips_the_dot_directory_and_strips_components),
        TEST(corrupt_archive_fails_cleanly),
        TEST(not_an_archive_fails_cleanly),
        TEST(script_becomes_the_destination),
        TEST(plain_file_is_copied_by_name),
        TEST(plain_file_with_wrong_digest_leaves_nothing),
        TEST(removes_stale_staging_directories),
        TEST(missing_source_is_not_found),
        TEST(kinds_follow_the_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
