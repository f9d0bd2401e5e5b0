/*
 * test_archive_hostile.c - installs that try to break the promises of
 * archive.h: archives whose members try to write outside the destination
 * through links, writes that fail part way (a file size limit, a full
 * tmpfs, a zero bomb), and installs that run at the same time.
 *
 * Every case snapshots the destination (times included) and a canary tree
 * beside it before the install; a refused or failed install must leave both
 * exactly as they were and no work directory behind. Installs that meet
 * read-only directories, and merges killed at every moment, run as an
 * unprivileged user (nobody, when the tests run as root), as Cloud Foundry
 * stages: root's permissions would hide what goes wrong.
 */
#include "support.h"

#include "../../lib/archive_layout.h"
#include "../../lib/write_queue.h"

#include "cfbp/archive.h"
#include "cfbp/beneath.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/strbuf.h"
#include "cfbp/workdir.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

struct fixture {
    char *dir;     /* scratch */
    char *work;    /* <dir>/work: holds dest and the canary */
    char *dest;    /* <work>/dest, with one file in it */
    char *canary;  /* <work>/canary: a tree nothing may change */
    char *archive; /* <dir>/<name> */
    char *mounted; /* a tmpfs to take away at teardown */
    struct cfbp_error err;
    char sha256[CFBP_DIGEST_HEX_SIZE];
};

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    fixture->dir = test_make_dir();
    fixture->work = test_path(fixture->dir, "work");
    fixture->dest = test_path(fixture->work, "dest");
    fixture->canary = test_path(fixture->work, "canary");
    char *file = test_path(fixture->dest, "existing");
    test_write_file(file, "keep me\n", 0644);
    free(file);
    file = test_path(fixture->canary, "etc/passwd");
    test_write_file(file, "root:x:0:0\n", 0644);
    free(file);
    file = test_path(fixture->canary, "profile.d/keep.sh");
    test_write_file(file, "true\n", 0755);
    free(file);
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    /* A test that failed part way leaves the layout as every other test expects it. */
    cfbpi_archive_placing_hook = NULL;
    cfbpi_archive_top_mode = true;
    cfbp_error_clear(&fixture->err);
    if (fixture->mounted)
        umount2(fixture->mounted, MNT_DETACH);
    free(fixture->mounted);
    free(fixture->work);
    free(fixture->dest);
    free(fixture->canary);
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

static int install_into(struct fixture *fixture, const char *name, const char *destination)
{
    struct cfbp_archive_request request = {
        .source = fixture->archive,
        .file_name = name,
        .destination = destination,
    };
    cfbp_error_clear(&fixture->err);
    return cfbp_archive_install(&request, fixture->sha256, &fixture->err);
}

struct snapshots {
    char *work; /* dest and canary, with times */
};

static struct snapshots take(struct fixture *fixture)
{
    struct snapshots snapshots = {test_snapshot(fixture->work, true)};
    return snapshots;
}

static void assert_unchanged(struct fixture *fixture, struct snapshots *before)
{
    char *after = test_snapshot(fixture->work, true);
    test_assert_same_snapshot(before->work, after, "the destination and the tree beside it");
    free(after);
    free(before->work);
}

/* Installs entries as a .tgz and expects a refusal naming why; nothing may change. */
static void assert_refused(struct fixture *fixture, const struct test_entry *entries, size_t count,
                           enum cfbp_error_kind kind, const char *why)
{
    make(fixture, "evil.tgz", TEST_TGZ, entries, count);
    struct snapshots before = take(fixture);
    assert_int_equal(install_into(fixture, "evil.tgz", fixture->dest), -1);
    if (!strstr(fixture->err.message, why))
        fail_msg("expected '%s' in '%s'", why, fixture->err.message);
    assert_int_equal(fixture->err.kind, kind);
    assert_unchanged(fixture, &before);
}

/* --- links --- */

/* The reproduction from the issue: a hard link copies a deep symlink to the top. */
static void hard_link_to_a_deep_symlink_cannot_escape(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_entry entries[] = {
        {"a/b/c/d/e/f/g/h/i", 'd', 0755, NULL, 0},
        {"a/b/c/d/e/f/g/h/i/up", 'l', 0, "../../../../../../../../../canary", 0},
        {"profile.d", 'h', 0, "a/b/c/d/e/f/g/h/i/up", 0},
        {"profile.d/config-server.sh", 'f', 0644, "echo pwned\n", 0},
    };
    assert_refused(fixture, entries, 4, CFBP_ERROR_UNSAFE_ARCHIVE,
                   "is a hard link to a symlink whose target leaves the destination");
}

/*
 * A destination that is itself a link (an earlier buildpack planted deps/0/jdk
 * -> the canary, with a fake work directory and journal there) is refused:
 * nothing is recovered, cleaned, made or extracted through it.
 */
static void a_destination_that_is_a_link_is_refused(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_entry entries[] = {{"bin/tool", 'f', 0755, "#!/bin/sh\n", 0}};
    make(fixture, "good.tgz", TEST_TGZ, entries, 1);
    char *planted = test_path(fixture->canary, ".cfbp-install-abc123/journal");
    test_write_file(planted, "cfbp-merge-journal 1 /tree\nadd / /etc 1\nmode / 0 1\n", 0644);
    char *linked = test_path(fixture->dest, "jdk");
    mkdir(fixture->dest, 0755);
    assert_int_equal(symlink(fixture->canary, linked), 0);
    struct snapshots before = take(fixture);
    assert_int_equal(install_into(fixture, "good.tgz", linked), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_UNSAFE_PATH);
    assert_non_null(strstr(fixture->err.message, "it is a symbolic link"));
    assert_unchanged(fixture, &before);
    free(linked);
    free(planted);
}

/* Names of the form staging's temporary files take, which a later run would remove, are refused. */
static void members_named_like_temporary_files_are_refused(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_entry nested[] = {{"bin/.helper.cfbp-31999-1", 'f', 0755, "x", 0}};
    assert_refused(fixture, nested, 1, CFBP_ERROR_UNSAFE_ARCHIVE,
                   "has a name reserved for temporary files");
    static const struct test_entry top[] = {{".data.cfbp-31998-7/x", 'f', 0644, "x", 0}};
    assert_refused(fixture, top, 1, CFBP_ERROR_UNSAFE_ARCHIVE,
                   "has a name reserved for temporary files");
    /* Names that only look alike are fine. */
    static const struct test_entry fine[] = {{"bin/.x.cfbp-1-y", 'f', 0644, "x", 0},
                                             {"lib/cfbp-12-3", 'f', 0644, "x", 0}};
    make(fixture, "fine.tgz", TEST_TGZ, fine, 2);
    assert_int_equal(install_into(fixture, "fine.tgz", fixture->dest), 0);
}

static void hard_link_to_a_symlink_that_stays_inside_is_kept(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_entry entries[] = {
        {"lib/data.txt", 'f', 0644, "data\n", 0},
        {"lib/link", 'l', 0, "data.txt", 0},
        {"lib/other", 'h', 0, "lib/link", 0},
    };
    make(fixture, "dep.tgz", TEST_TGZ, entries, 3);
    if (install_into(fixture, "dep.tgz", fixture->dest) < 0)
        fail_msg("%s", fixture->err.message);
    char *other = test_path(fixture->dest, "lib/other");
    char *text = test_read_file(other);
    assert_string_equal(text, "data\n");
    assert_int_equal(cfbp_fs_type_of(other), CFBP_FS_SYMLINK);
    free(text);
    free(other);
}

static void hard_link_to_a_directory_is_refused(void **state)
{
    static const struct test_entry entries[] = {{"dir", 'd', 0755, NULL, 0},
                                                {"alias", 'h', 0, "dir", 0}};
    assert_refused(*state, entries, 2, CFBP_ERROR_UNSAFE_ARCHIVE,
                   "is a hard link to a directory or a special file");
}

static void hard_link_before_its_target_is_refused(void **state)
{
    static const struct test_entry entries[] = {{"early", 'h', 0, "late", 0},
                                                {"late", 'f', 0644, "x", 0}};
    assert_refused(*state, entries, 2, CFBP_ERROR_INVALID, "which is not in the archive before it");
}

static void hard_link_through_a_replaced_directory_is_refused(void **state)
{
    /* "d" becomes a link to a deep directory; a hard link named through it must not follow it. */
    static const struct test_entry entries[] = {
        {"x/y/file", 'f', 0644, "secret\n", 0},
        {"d", 'l', 0, "x/y", 0},
        {"h", 'h', 0, "d/file", 0},
    };
    assert_refused(*state, entries, 3, CFBP_ERROR_UNSAFE_ARCHIVE,
                   "is a hard link through a symlink");
}

static void a_full_directory_is_never_replaced_by_a_link(void **state)
{
    static const struct test_entry entries[] = {
        {"bin/tool", 'f', 0755, "#!/bin/sh\n", 0},
        {"bin", 'l', 0, "../canary", 0},
    };
    assert_refused(*state, entries, 2, CFBP_ERROR_UNSAFE_ARCHIVE, "is a symlink");
    static const struct test_entry inside[] = {
        {"bin/tool", 'f', 0755, "#!/bin/sh\n", 0},
        {"bin", 'l', 0, "lib", 0},
    };
    assert_refused(*state, inside, 2, CFBP_ERROR_UNSAFE_ARCHIVE,
                   "would replace a directory that holds other members");
}

static void an_empty_directory_may_become_a_link(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_entry entries[] = {
        {"lib", 'd', 0755, NULL, 0},
        {"real/x", 'f', 0644, "x\n", 0},
        {"lib", 'l', 0, "real", 0},
    };
    make(fixture, "dep.tgz", TEST_TGZ, entries, 3);
    if (install_into(fixture, "dep.tgz", fixture->dest) < 0)
        fail_msg("%s", fixture->err.message);
    char *lib = test_path(fixture->dest, "lib/x");
    char *text = test_read_file(lib);
    assert_string_equal(text, "x\n");
    free(text);
    free(lib);
}

static void members_after_a_link_go_where_their_names_say(void **state)
{
    struct fixture *fixture = *state;
    /* "up" may point inside, but a later "up/..." member lands in a real "up" directory. */
    static const struct test_entry entries[] = {
        {"a/b", 'd', 0755, NULL, 0},
        {"a/b/up", 'l', 0, "../..", 0},
        {"a/b/up/profile.d/x.sh", 'f', 0644, "x\n", 0},
    };
    make(fixture, "dep.tgz", TEST_TGZ, entries, 3);
    if (install_into(fixture, "dep.tgz", fixture->dest) < 0)
        fail_msg("%s", fixture->err.message);
    char *real = test_path(fixture->dest, "a/b/up/profile.d/x.sh");
    assert_int_equal(cfbp_fs_type_of(real), CFBP_FS_FILE);
    free(real);
    char *top = test_path(fixture->dest, "profile.d");
    assert_false(test_exists(top));
    free(top);
}

/*
 * Directories stay open for the members after them. One that a later member
 * removed (it was empty) must not be used again: the members under its name
 * go into the real directory made in its place, as without the cache.
 */
static void an_open_directory_that_was_removed_is_not_reused(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_entry entries[] = {
        {"a/b", 'd', 0755, NULL, 0},
        {"a/b/self", 'h', 0, "a/b/self", 0}, /* opens a/b and adds nothing to it */
        {"a/c", 'd', 0755, NULL, 0},
        {"a/b", 'l', 0, "c", 0}, /* the empty a/b goes */
        {"a/b/x", 'f', 0644, "x\n", 0},
    };
    make(fixture, "dep.tgz", TEST_TGZ, entries, sizeof(entries) / sizeof(*entries));
    if (install_into(fixture, "dep.tgz", fixture->dest) < 0)
        fail_msg("%s", fixture->err.message);
    char *x = test_path(fixture->dest, "a/b/x");
    char *b = test_path(fixture->dest, "a/b");
    char *c = test_path(fixture->dest, "a/c");
    assert_int_equal(cfbp_fs_type_of(x), CFBP_FS_FILE);
    assert_int_equal(cfbp_fs_type_of(b), CFBP_FS_DIRECTORY);
    assert_int_equal(test_count_entries(c), 0);
    free(x);
    free(b);
    free(c);
}

static void a_member_inside_a_file_is_refused(void **state)
{
    static const struct test_entry entries[] = {{"f", 'f', 0644, "x", 0},
                                                {"f/inner", 'f', 0644, "y", 0}};
    assert_refused(*state, entries, 2, CFBP_ERROR_INVALID, "is inside something that is not");
}

static void replacing_a_hard_linked_file_keeps_the_other_name(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_entry entries[] = {
        {"a", 'f', 0644, "first\n", 0},
        {"b", 'h', 0, "a", 0},
        {"b", 'f', 0644, "second\n", 0},
    };
    make(fixture, "dep.tar", TEST_TAR, entries, 3);
    if (install_into(fixture, "dep.tar", fixture->dest) < 0)
        fail_msg("%s", fixture->err.message);
    char *a = test_path(fixture->dest, "a"), *b = test_path(fixture->dest, "b");
    char *a_text = test_read_file(a), *b_text = test_read_file(b);
    assert_string_equal(a_text, "first\n");
    assert_string_equal(b_text, "second\n");
    free(a_text);
    free(b_text);
    free(a);
    free(b);
}

static void climbing_and_absolute_links_are_refused_in_zips_too(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_entry entries[] = {{"ok", 'f', 0644, "ok", 0},
                                                {"d/esc", 'l', 0, "../../canary", 0}};
    make(fixture, "evil.zip", TEST_ZIP, entries, 2);
    struct snapshots before = take(fixture);
    assert_int_equal(install_into(fixture, "evil.zip", fixture->dest), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_UNSAFE_ARCHIVE);
    assert_unchanged(fixture, &before);
}

/* A tree deeper than PATH_MAX installs, and a failed one is removed whole. */
static void very_deep_trees_install_and_clean_up(void **state)
{
    struct fixture *fixture = *state;
    enum { DEPTH = 450 }; /* 450 x 11 characters: longer than PATH_MAX */
    struct cfbp_strbuf name = CFBP_STRBUF_INIT;
    for (int i = 0; i < DEPTH; i++)
        cfbp_strbuf_append_string(&name, "directory/");
    cfbp_strbuf_append_string(&name, "leaf");
    struct test_entry entries[] = {{name.buf, 'f', 0644, "deep\n", 0}};
    make(fixture, "deep.tgz", TEST_TGZ, entries, 1);
    struct snapshots before = take(fixture);
    /* A wrong digest: the whole tree was extracted, then must go. */
    struct cfbp_archive_request request = {
        .source = fixture->archive,
        .file_name = "deep.tgz",
        .expected_sha256 = "0000000000000000000000000000000000000000000000000000000000000000",
        .destination = fixture->dest,
    };
    assert_int_equal(cfbp_archive_install(&request, fixture->sha256, &fixture->err), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_CHECKSUM);
    assert_unchanged(fixture, &before);
    request.expected_sha256 = NULL;
    if (cfbp_archive_install(&request, fixture->sha256, &fixture->err) < 0)
        fail_msg("%s", fixture->err.message);
    char *top = test_path(fixture->dest, "directory");
    assert_int_equal(cfbp_fs_type_of(top), CFBP_FS_DIRECTORY);
    assert_int_equal(cfbp_fs_remove_tree(top, &fixture->err), 0);
    assert_false(test_exists(top));
    free(top);
    cfbp_strbuf_release(&name);
}

/* --- write failures --- */

struct install_call {
    struct fixture *fixture;
    const char *name;
};

static int run_install_call(void *data, struct cfbp_error *err)
{
    struct install_call *call = data;
    int status = install_into(call->fixture, call->name, call->fixture->dest);
    if (status < 0)
        cfbp_error_move(err, &call->fixture->err);
    return status;
}

/*
 * Installs the fixture's archive in a child process whose file size limit
 * is limit bytes, and returns what the child's install said: NULL for
 * success, else the error message.
 */
static char *install_with_size_limit(struct fixture *fixture, const char *name, rlim_t limit)
{
    struct install_call call = {fixture, name};
    return test_in_child_with_file_size_limit(limit, run_install_call, &call);
}

static void a_file_size_limit_fails_the_install_at_any_offset(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_entry entries[] = {
        {"bin/small", 'f', 0755, "#!/bin/sh\n", 0},
        {"lib/first", 'r', 0644, NULL, 200000},
        {"lib/second", 'r', 0644, NULL, 900000},
        {"share/last", 'f', 0644, "end\n", 0},
    };
    static const rlim_t limits[] = {1, 4096, 199999, 200001, 512 * 1024, 899999};
    for (size_t i = 0; i < sizeof(limits) / sizeof(*limits); i++) {
        const char *name = i % 2 ? "dep.tar.xz" : "dep.tgz";
        make(fixture, name, i % 2 ? TEST_TXZ : TEST_TGZ, entries, 4);
        struct snapshots before = take(fixture);
        char *message = install_with_size_limit(fixture, name, limits[i]);
        if (!message)
            fail_msg("the install succeeded under a %lu byte file size limit",
                     (unsigned long)limits[i]);
        if (!strstr(message, "File too large") || !strstr(message, "ulimit -f"))
            fail_msg("limit %lu: unclear message '%s'", (unsigned long)limits[i], message);
        if (limits[i] > 1 && !strstr(message, "lib/"))
            fail_msg("limit %lu: the message names no member: '%s'", (unsigned long)limits[i],
                     message);
        free(message);
        assert_unchanged(fixture, &before);
    }
    /* Under a limit above every member, it works. */
    make(fixture, "dep.tgz", TEST_TGZ, entries, 4);
    char *message = install_with_size_limit(fixture, "dep.tgz", 1000000);
    if (message)
        fail_msg("%s", message);
}

static bool mount_tmpfs(const char *path, const char *size)
{
    char options[64];
    snprintf(options, sizeof(options), "size=%s,mode=0755", size);
    mkdir(path, 0755);
    return mount("tmpfs", path, "tmpfs", 0, options) == 0;
}

/* A destination on a small tmpfs: a full disk fails the install and leaves the tmpfs as it was. */
static void a_full_disk_fails_the_install_and_frees_everything(void **state)
{
    struct fixture *fixture = *state;
    char *disk = test_path(fixture->dir, "disk");
    if (!mount_tmpfs(disk, "4m")) {
        free(disk);
        skip(); /* needs root (CI runs as root) */
    }
    fixture->mounted = strdup(disk);
    char *dest = test_path(disk, "deps/0");
    char *keep = test_path(dest, "existing");
    test_write_file(keep, "keep me\n", 0644);
    static const struct test_entry entries[] = {
        {"bin/config-server", 'f', 0755, "#!/bin/sh\n", 0},
        {"lib/big", 'r', 0644, NULL, 8 << 20},
    };
    make(fixture, "dep.tgz", TEST_TGZ, entries, 2);
    struct statvfs empty;
    assert_int_equal(statvfs(disk, &empty), 0);
    char *before = test_snapshot(disk, true);
    assert_int_equal(install_into(fixture, "dep.tgz", dest), -1);
    if (!strstr(fixture->err.message, "No space left on device") ||
        !strstr(fixture->err.message, "cf push -k") || !strstr(fixture->err.message, "lib/big"))
        fail_msg("unclear message '%s'", fixture->err.message);
    char *after = test_snapshot(disk, true);
    test_assert_same_snapshot(before, after, "the tmpfs");
    struct statvfs now;
    assert_int_equal(statvfs(disk, &now), 0);
    assert_int_equal(now.f_bfree, empty.f_bfree);
    /* A zero bomb: 1 GiB of zeros in about a megabyte. */
    static const struct test_entry bomb[] = {{"bin/config-server", 'z', 0755, NULL, 1u << 30}};
    make(fixture, "bomb.tgz", TEST_TGZ, bomb, 1);
    assert_int_equal(install_into(fixture, "bomb.tgz", dest), -1);
    assert_non_null(strstr(fixture->err.message, "No space left on device"));
    char *after_bomb = test_snapshot(disk, true);
    test_assert_same_snapshot(before, after_bomb, "the tmpfs after the zero bomb");
    /* And a destination that does not exist yet leaves no parent behind. */
    char *fresh = test_path(disk, "deps/1/vendor");
    char *before_fresh = test_snapshot(disk, true);
    assert_int_equal(install_into(fixture, "bomb.tgz", fresh), -1);
    char *after_fresh = test_snapshot(disk, true);
    test_assert_same_snapshot(before_fresh, after_fresh, "the tmpfs after a fresh destination");
    free(before);
    free(after);
    free(after_bomb);
    free(before_fresh);
    free(after_fresh);
    free(fresh);
    free(keep);
    free(dest);
    free(disk);
}

/*
 * A merge that fails part way puts back what it moved. As a user other than
 * root (Cloud Foundry stages as vcap), a directory of someone else's in the
 * destination cannot take new entries: the install fails there, after an
 * earlier member was already moved in. Needs root to set the scene.
 */
static void a_merge_that_fails_part_way_puts_everything_back(void **state)
{
    struct fixture *fixture = *state;
    if (geteuid() != 0)
        skip();
    enum { NOBODY = 65534 };
    static const struct test_entry entries[] = {
        {"a", 'f', 0644, "new a\n", 0},
        {"b/g", 'f', 0644, "g\n", 0},
        {"c", 'f', 0644, "new c\n", 0},
    };
    make(fixture, "dep.tgz", TEST_TGZ, entries, 3);
    char *b = test_path(fixture->dest, "b"), *c = test_path(fixture->dest, "c");
    test_write_file(c, "old c\n", 0644);
    mkdir(b, 0755); /* root's */
    assert_int_equal(chmod(fixture->dir, 0755), 0);
    assert_int_equal(chown(fixture->dest, NOBODY, NOBODY), 0);
    assert_int_equal(chown(c, NOBODY, NOBODY), 0);
    char *existing = test_path(fixture->dest, "existing");
    assert_int_equal(chown(existing, NOBODY, NOBODY), 0);
    struct snapshots before = take(fixture);
    pid_t pid = fork();
    if (pid == 0) {
        if (setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
            _exit(3);
        int status = install_into(fixture, "dep.tgz", fixture->dest);
        if (status == 0)
            _exit(0);
        fprintf(stderr, "install as nobody: %s\n", fixture->err.message);
        _exit(strstr(fixture->err.message, "Permission denied") ? 1 : 2);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 1);
    assert_unchanged(fixture, &before);
    /* A read-only directory of the user's own is opened for the merge and closed again. */
    assert_int_equal(chown(b, NOBODY, NOBODY), 0);
    assert_int_equal(chmod(b, 0555), 0);
    pid = fork();
    if (pid == 0) {
        if (setgid(NOBODY) < 0 || setuid(NOBODY) < 0)
            _exit(3);
        int installed = install_into(fixture, "dep.tgz", fixture->dest);
        if (installed < 0)
            fprintf(stderr, "install as nobody: %s\n", fixture->err.message);
        _exit(installed == 0 ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    char *g = test_path(b, "g");
    assert_true(test_exists(g));
    struct stat st;
    assert_int_equal(stat(b, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0555);
    free(g);
    free(b);
    free(c);
    free(existing);
}

/* Only directories named and made like work directories are ever removed as stale. */
static void look_alike_directories_are_kept(void **state)
{
    struct fixture *fixture = *state;
    char *names[] = {test_path(fixture->dest, ".cfbp-install-userdata/f"),
                     test_path(fixture->dest, ".cfbp-install-abc/f"),
                     test_path(fixture->work, ".dest.cfbp-install-notmine/f")};
    for (size_t i = 0; i < 3; i++)
        test_write_file(names[i], "mine\n", 0644);
    static const struct test_entry entries[] = {{"bin/x", 'f', 0755, "x", 0}};
    make(fixture, "dep.tgz", TEST_TGZ, entries, 1);
    if (install_into(fixture, "dep.tgz", fixture->dest) < 0)
        fail_msg("%s", fixture->err.message);
    for (size_t i = 0; i < 3; i++) {
        assert_true(test_exists(names[i]));
        free(names[i]);
    }
    /*
     * And an archive cannot plant one, at any depth: one for the destination,
     * or one beside a directory in it (".<name>.cfbp-install-..."), which an
     * install into that directory would read for a journal.
     */
    static const char *const planted[] = {
        ".cfbp-install-abcdef/x",         "lib/.cfbp-install-abcdef/journal",
        ".x.cfbp-install-abcdef/journal", "a/b/.c.cfbp-install-download-abcdef",
        ".x.cfbp-install-top-abcdef/y",   "a/.cfbp-install-"};
    for (size_t i = 0; i < sizeof(planted) / sizeof(*planted); i++) {
        const struct test_entry entry[] = {{planted[i], 'f', 0644, "x", 0}};
        assert_refused(fixture, entry, 1, CFBP_ERROR_UNSAFE_ARCHIVE, "reserved for the work");
    }
    /* Names that only look alike are fine. */
    static const struct test_entry fine[] = {{"lib/cfbp-install-abcdef", 'f', 0644, "x", 0},
                                             {"lib/.cfbp-installer", 'f', 0644, "x", 0},
                                             {"lib/.x-cfbp-install-abcdef", 'f', 0644, "x", 0}};
    make(fixture, "fine.tgz", TEST_TGZ, fine, 3);
    if (install_into(fixture, "fine.tgz", fixture->dest) < 0)
        fail_msg("%s", fixture->err.message);
    char *kept = test_path(fixture->dest, "lib/.x-cfbp-install-abcdef");
    assert_true(test_exists(kept));
    free(kept);
}

/* --- as a user: read-only directories and killed merges --- */

enum { NOBODY = 65534 };

/* Forks; the child runs as nobody when we are root. Returns the pid (0 in the child). */
static pid_t fork_as_user(void)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0 && geteuid() == 0 &&
        (setgroups(0, NULL) < 0 || setgid(NOBODY) < 0 || setuid(NOBODY) < 0))
        _exit(3);
    return pid;
}

static int chown_to_nobody(const char *path, const struct stat *st, int flag, struct FTW *walk)
{
    (void)st;
    (void)flag;
    (void)walk;
    return lchown(path, NOBODY, NOBODY) < 0 ? -1 : 0;
}

/* Gives the fixture's work tree to the user fork_as_user runs as. */
static void give_work_to_user(struct fixture *fixture)
{
    assert_int_equal(chmod(fixture->dir, 0755), 0);
    if (geteuid() == 0)
        assert_int_equal(nftw(fixture->work, chown_to_nobody, 16, FTW_PHYS), 0);
}

static void die_at(unsigned long moment, void *data)
{
    if (moment == *(const unsigned long *)data)
        raise(SIGKILL);
}

#define KILLED "(killed)"

/*
 * Installs source (named name) into destination in a child running as the
 * user, which dies by SIGKILL at moment *kill_at of its merge (NULL: never).
 * Returns NULL when it worked, KILLED when it was killed, else what failed.
 */
static char *install_as_user(const char *source, const char *name, const char *destination,
                             const unsigned long *kill_at)
{
    int pipe_fds[2];
    assert_int_equal(pipe(pipe_fds), 0);
    pid_t pid = fork_as_user();
    if (pid == 0) {
        close(pipe_fds[0]);
        if (kill_at)
            cfbp_beneath_set_step_hook(die_at, (void *)kill_at);
        struct cfbp_archive_request request = {
            .source = source, .file_name = name, .destination = destination};
        struct cfbp_error err = CFBP_ERROR_INIT;
        char sha256[CFBP_DIGEST_HEX_SIZE];
        if (cfbp_archive_install(&request, sha256, &err) == 0)
            _exit(0);
        if (write(pipe_fds[1], err.message, strlen(err.message)) < 0)
            _exit(4);
        _exit(1);
    }
    close(pipe_fds[1]);
    char message[4096];
    ssize_t length = read(pipe_fds[0], message, sizeof(message) - 1);
    close(pipe_fds[0]);
    message[length < 0 ? 0 : length] = '\0';
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        return strdup(KILLED);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return NULL;
    if (!message[0])
        snprintf(message, sizeof(message), "the install ended with status %d", status);
    return strdup(message);
}

static void assert_installed_as_user(const char *source, const char *name, const char *destination)
{
    char *message = install_as_user(source, name, destination, NULL);
    if (message)
        fail_msg("install of %s into %s as a user: %s", name, destination, message);
}

static void assert_mode(const char *directory, const char *relative, mode_t mode)
{
    char *path = test_path(directory, relative);
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    if ((st.st_mode & 07777) != mode)
        fail_msg("%s has mode %04o, expected %04o", path, (unsigned)(st.st_mode & 07777),
                 (unsigned)mode);
    free(path);
}

static void assert_text(const char *directory, const char *relative, const char *expected)
{
    char *path = test_path(directory, relative);
    char *text = test_read_file(path);
    if (!text || strcmp(text, expected))
        fail_msg("%s holds '%s', expected '%s'", path, text ? text : "(nothing)", expected);
    free(text);
    free(path);
}

/*
 * The F1: an archive whose bin/ is 0555. As a user, installing it
 * again (or twice at once) must replace bin/config-server inside the
 * read-only directory, and a read-only directory a new version replaces by
 * a file must go, at any depth; their modes are given back.
 */
static void read_only_directories_do_not_stop_later_installs_as_a_user(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_entry entries[] = {
        {"bin", 'd', 0555, NULL, 0},
        {"bin/config-server", 'f', 0755, "#!/bin/sh\necho 1\n", 0},
        {"lib/ro", 'd', 0555, NULL, 0},
        {"lib/ro/inner", 'd', 0555, NULL, 0},
        {"lib/ro/inner/data", 'f', 0644, "data\n", 0},
        {"lib/ro/inner/deeper", 'd', 0555, NULL, 0},
        {"lib/ro/inner/deeper/file", 'f', 0644, "deeper\n", 0},
    };
    make(fixture, "dep.tgz", TEST_TGZ, entries, 7);
    give_work_to_user(fixture);
    for (int round = 0; round < 3; round++)
        assert_installed_as_user(fixture->archive, "dep.tgz", fixture->dest);
    assert_mode(fixture->dest, "bin", 0555);
    assert_mode(fixture->dest, "lib/ro", 0555);
    assert_mode(fixture->dest, "lib/ro/inner", 0555);
    assert_text(fixture->dest, "lib/ro/inner/data", "data\n");
    assert_mode(fixture->dest, "lib/ro/inner/deeper", 0555);
    /* existing, bin and 1 file, lib, lib/ro, lib/ro/inner and 3 below: no work directory */
    assert_int_equal(test_count_entries(fixture->dest), 9);
    /* A new version where a read-only directory holding another became a file: what it
     * displaced goes, read-only directories and all. */
    static const struct test_entry next[] = {
        {"bin", 'd', 0555, NULL, 0},
        {"bin/config-server", 'f', 0755, "#!/bin/sh\necho 2\n", 0},
        {"lib/ro", 'd', 0555, NULL, 0},
        {"lib/ro/inner", 'f', 0644, "a file now\n", 0},
    };
    make(fixture, "next.tgz", TEST_TGZ, next, 4);
    assert_installed_as_user(fixture->archive, "next.tgz", fixture->dest);
    assert_text(fixture->dest, "bin/config-server", "#!/bin/sh\necho 2\n");
    assert_text(fixture->dest, "lib/ro/inner", "a file now\n");
    assert_mode(fixture->dest, "bin", 0555);
    assert_mode(fixture->dest, "lib/ro", 0555);
    assert_int_equal(test_count_entries(fixture->dest), 6);
    /* Two at once into a destination that is not there yet: the second merges. */
    make(fixture, "dep.tgz", TEST_TGZ, entries, 7);
    char *fresh = test_path(fixture->work, "fresh");
    for (int round = 0; round < 4; round++) {
        pid_t pids[2];
        for (int i = 0; i < 2; i++) {
            pids[i] = fork_as_user();
            if (pids[i] == 0) {
                char *message = install_as_user(fixture->archive, "dep.tgz", fresh, NULL);
                if (message)
                    fprintf(stderr, "install %d as a user: %s\n", i, message);
                _exit(message ? 1 : 0);
            }
        }
        for (int i = 0; i < 2; i++) {
            int status;
            assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fail_msg("round %d: install %d of two at once failed (status %d)", round, i,
                         status);
        }
        assert_mode(fresh, "bin", 0555);
        assert_mode(fresh, "lib/ro/inner", 0555);
        assert_int_equal(test_count_entries(fresh), 8);
        assert_int_equal(cfbp_fs_remove_tree(fresh, &fixture->err), 0);
    }
    free(fresh);
}

/*
 * Two versions that differ in every way a merge can: files replaced, a
 * directory replaced by a file and a file by a directory (one of them
 * read-only), a read-only directory that gains a file, a mode change, a
 * link retargeted, entries only in one version.
 */
static const struct test_entry old_version[] = {
    {"bin", 'd', 0555, NULL, 0},
    {"bin/config-server", 'f', 0755, "old server\n", 0},
    {"docs", 'd', 0700, NULL, 0},
    {"docs/readme", 'f', 0644, "old readme\n", 0},
    {"lib/a", 'f', 0644, "old a\n", 0},
    {"lib/was-a-dir/x", 'f', 0644, "old x\n", 0},
    {"lib/was-read-only", 'd', 0555, NULL, 0},
    {"lib/was-read-only/z", 'f', 0644, "old z\n", 0},
    {"lib/was-a-file", 'f', 0644, "old file\n", 0},
    {"lib/ro", 'd', 0555, NULL, 0},
    {"lib/ro/f", 'f', 0644, "old f\n", 0},
    {"only-old", 'f', 0644, "only in the old version\n", 0},
    {"link", 'l', 0, "lib/a", 0},
};

static const struct test_entry new_version[] = {
    {"bin", 'd', 0555, NULL, 0},
    {"bin/config-server", 'f', 0755, "new server\n", 0},
    {"docs", 'd', 0755, NULL, 0},
    {"docs/readme", 'f', 0644, "new readme\n", 0},
    {"lib/a", 'f', 0644, "new a\n", 0},
    {"lib/was-a-dir", 'f', 0644, "now a file\n", 0},
    {"lib/was-read-only", 'f', 0644, "now a file too\n", 0},
    {"lib/was-a-file/y", 'f', 0644, "now a directory\n", 0},
    {"lib/ro", 'd', 0555, NULL, 0},
    {"lib/ro/f", 'f', 0644, "new f\n", 0},
    {"lib/ro/g", 'f', 0644, "new g\n", 0},
    {"new-dir/new-file", 'f', 0644, "new\n", 0},
    {"link", 'l', 0, "lib/ro/f", 0},
};

/* Files in both versions: at every moment each holds one version or the other. */
static const char *const in_both[][3] = {
    {"bin/config-server", "old server\n", "new server\n"},
    {"docs/readme", "old readme\n", "new readme\n"},
    {"lib/a", "old a\n", "new a\n"},
    {"lib/ro/f", "old f\n", "new f\n"},
    {"only-old", "only in the old version\n", "only in the old version\n"},
};

/* Names in both versions as different kinds of entry: never missing either. */
static const char *const replaced[] = {"lib/was-a-dir", "lib/was-read-only", "lib/was-a-file",
                                       "link"};

static void assert_nothing_lost(const char *destination, unsigned long moment)
{
    for (size_t i = 0; i < sizeof(in_both) / sizeof(*in_both); i++) {
        char *path = test_path(destination, in_both[i][0]);
        char *text = test_read_file(path);
        if (!text || (strcmp(text, in_both[i][1]) && strcmp(text, in_both[i][2])))
            fail_msg("killed at moment %lu: %s holds '%s', neither version", moment, path,
                     text ? text : "(missing)");
        free(text);
        free(path);
    }
    for (size_t i = 0; i < sizeof(replaced) / sizeof(*replaced); i++) {
        char *path = test_path(destination, replaced[i]);
        struct stat st;
        if (lstat(path, &st) < 0)
            fail_msg("killed at moment %lu: %s is missing", moment, path);
        free(path);
    }
}

/* Undoes and removes what killed installs into destination left, as the user. */
static void recover_as_user(const char *destination, unsigned long moment)
{
    pid_t pid = fork_as_user();
    if (pid == 0) {
        struct cfbp_error err = CFBP_ERROR_INIT;
        struct cfbp_destination_lock lock = CFBP_DESTINATION_LOCK_INIT;
        if (cfbp_destination_lock(&lock, destination, &err) == 0 &&
            cfbp_workdir_remove_stale(&lock, destination, &err) == 0)
            _exit(0);
        fprintf(stderr, "killed at moment %lu: %s\n", moment, err.message);
        _exit(1);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        fail_msg("killed at moment %lu: undoing the merge failed (status %d)", moment, status);
}

/*
 * The F3, at every moment: the new version is installed over the
 * old by a user, and killed at moment 0, 1, 2, ... of its merge (before
 * each journal record and before each step) until it finishes. After each
 * kill no file is missing or in neither version; what the next install does
 * first (undoing the merge) gives back exactly the old tree, read-only
 * modes included (or, killed once the commit is journaled, keeps exactly
 * the new one); and a rerun ends with exactly the new one.
 */
static void kill_at_every_moment(struct fixture *fixture, bool exchange)
{
    make(fixture, "old.tgz", TEST_TGZ, old_version, sizeof(old_version) / sizeof(*old_version));
    char *old_archive = strdup(fixture->archive);
    make(fixture, "new.tgz", TEST_TGZ, new_version, sizeof(new_version) / sizeof(*new_version));
    char *new_archive = strdup(fixture->archive);
    give_work_to_user(fixture);
    cfbp_beneath_force_no_exchange(!exchange);
    char *dest = test_path(fixture->work, "killed");
    assert_installed_as_user(old_archive, "old.tgz", dest);
    char *old_tree = test_snapshot(dest, false);
    assert_installed_as_user(new_archive, "new.tgz", dest);
    char *new_tree = test_snapshot(dest, false);
    assert_int_equal(cfbp_fs_remove_tree(dest, &fixture->err), 0);
    unsigned long moment = 0;
    bool committed = false;
    for (;; moment++) {
        assert_installed_as_user(old_archive, "old.tgz", dest);
        char *message = install_as_user(new_archive, "new.tgz", dest, &moment);
        if (!message) {
            /* Past the last moment: the install finished. */
            char *tree = test_snapshot(dest, false);
            test_assert_same_snapshot(new_tree, tree, "the destination after the install");
            free(tree);
            break;
        }
        if (strcmp(message, KILLED))
            fail_msg("moment %lu: the install failed instead of being killed: %s", moment, message);
        free(message);
        /* Without a swap an entry is put aside before its replacement moves in: it may be
         * missing here for a moment, and undoing brings it back. */
        if (exchange)
            assert_nothing_lost(dest, moment);
        recover_as_user(dest, moment);
        /* Killed once the commit was journaled, the merge stands: only the last moment. */
        if (committed)
            fail_msg("moment %lu: killed after the moment the merge was committed", moment);
        char *tree = test_snapshot(dest, false);
        committed = strcmp(tree, new_tree) == 0;
        if (!committed)
            test_assert_same_snapshot(old_tree, tree,
                                      "the destination after undoing a killed merge");
        free(tree);
        assert_installed_as_user(new_archive, "new.tgz", dest);
        tree = test_snapshot(dest, false);
        test_assert_same_snapshot(new_tree, tree,
                                  "the destination after a killed merge and a "
                                  "rerun");
        free(tree);
        assert_int_equal(cfbp_fs_remove_tree(dest, &fixture->err), 0);
        assert_true(moment < 500);
    }
    cfbp_beneath_force_no_exchange(false);
    /* Two moments a step, and every entry and mode change of the merge is one. */
    if (moment < 30)
        fail_msg("only %lu moments: the merge was not journaled step by step", moment);
    free(dest);
    free(old_tree);
    free(new_tree);
    free(old_archive);
    free(new_archive);
}

static void a_merge_killed_at_any_moment_is_undone_then_completed(void **state)
{
    kill_at_every_moment(*state, true);
}

/* Where the file system cannot swap, entries are put aside first: the same holds. */
static void without_rename_exchange_too(void **state)
{
    kill_at_every_moment(*state, false);
}

/* --- installs at the same time --- */

static void make_many_files(struct fixture *fixture, const char *name, const char *prefix,
                            size_t count)
{
    struct test_entry *entries = calloc(count, sizeof(*entries));
    char **names = calloc(count, sizeof(*names));
    for (size_t i = 0; i < count; i++) {
        char buffer[128];
        snprintf(buffer, sizeof(buffer), "%s/d%zu/file%zu", prefix, i % 37, i);
        names[i] = strdup(buffer);
        entries[i] = (struct test_entry){names[i], 'f', 0644, NULL, 64 + i % 500};
    }
    make(fixture, name, TEST_TGZ, entries, count);
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
    free(entries);
}

/* Runs installs of the given archives into one destination in parallel processes. */
static void install_in_parallel(struct fixture *fixture, char *const *archives,
                                const char *const *names, size_t count)
{
    pid_t pids[8];
    for (size_t i = 0; i < count; i++) {
        pids[i] = fork();
        assert_true(pids[i] >= 0);
        if (pids[i] == 0) {
            struct cfbp_archive_request request = {
                .source = archives[i], .file_name = names[i], .destination = fixture->dest};
            struct cfbp_error err = CFBP_ERROR_INIT;
            char sha256[CFBP_DIGEST_HEX_SIZE];
            if (cfbp_archive_install(&request, sha256, &err) < 0) {
                fprintf(stderr, "install %zu failed: %s\n", i, err.message);
                _exit(1);
            }
            _exit(0);
        }
    }
    for (size_t i = 0; i < count; i++) {
        int status;
        assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            fail_msg("install %zu of %zu running at once failed (status %d)", i, count, status);
    }
}

static void parallel_installs_into_one_destination_are_all_complete(void **state)
{
    struct fixture *fixture = *state;
    enum { FILES = 1000 };
    make_many_files(fixture, "same.tgz", "pkg", FILES);
    char *same = strdup(fixture->archive);
    make_many_files(fixture, "other.tgz", "other", FILES);
    char *other = strdup(fixture->archive);
    for (int round = 0; round < 2; round++) {
        char *archives[] = {same, same, other, same};
        const char *names[] = {"same.tgz", "same.tgz", "other.tgz", "same.tgz"};
        install_in_parallel(fixture, archives, names, 4);
        char *pkg = test_path(fixture->dest, "pkg"), *other_dir = test_path(fixture->dest, "other");
        assert_int_equal(test_count_entries(pkg), FILES + 37);
        assert_int_equal(test_count_entries(other_dir), FILES + 37);
        /* dest: existing, pkg/, other/ and nothing else (no work directory). */
        assert_int_equal(test_count_entries(fixture->dest), 3 + 2 * (FILES + 37));
        free(pkg);
        free(other_dir);
    }
    free(same);
    free(other);
}

/* A work directory whose owner died is removed by the next install; a held one is not. */
static void only_work_directories_of_dead_owners_are_removed(void **state)
{
    struct fixture *fixture = *state;
    char *stale = test_path(fixture->dest, ".cfbp-install-stale1");
    char *held = test_path(fixture->dest, ".cfbp-install-held01");
    char *stale_file = test_path(stale, "half-written");
    test_write_file(stale_file, "x", 0644);
    mkdir(held, 0700);
    int held_fd = open(held, O_RDONLY | O_DIRECTORY);
    assert_true(held_fd >= 0);
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t owner = fork();
    if (owner == 0) {
        /* A live install elsewhere holding its work directory. */
        int fd = open(held, O_RDONLY | O_DIRECTORY);
        flock(fd, LOCK_EX);
        if (write(ready[1], "x", 1) < 0)
            _exit(1);
        pause();
        _exit(0);
    }
    char byte;
    assert_int_equal(read(ready[0], &byte, 1), 1);
    static const struct test_entry entries[] = {{"bin/x", 'f', 0755, "x", 0}};
    make(fixture, "dep.tgz", TEST_TGZ, entries, 1);
    int installed = install_into(fixture, "dep.tgz", fixture->dest);
    bool stale_left = test_exists(stale), held_kept = test_exists(held);
    kill(owner, SIGKILL); /* before any assertion, so that a failure leaves no process behind */
    waitpid(owner, NULL, 0);
    if (installed < 0)
        fail_msg("%s", fixture->err.message);
    assert_false(stale_left);
    assert_true(held_kept);
    if (install_into(fixture, "dep.tgz", fixture->dest) < 0)
        fail_msg("%s", fixture->err.message);
    assert_false(test_exists(held));
    close(held_fd);
    close(ready[0]);
    close(ready[1]);
    free(stale);
    free(held);
    free(stale_file);
}

/*
 * Only a work directory whose name says it may hold a journal is read for
 * one: the one of top mode (whose top level is an archive's own members, so
 * "journal" may be one) and the one of a download (named after the file)
 * are only removed. The same journal in a journaled work directory is
 * undone, which shows that it would have done harm.
 */
static void only_journaled_work_directories_are_read_for_a_journal(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_entry entries[] = {{"bin/x", 'f', 0755, "x", 0}};
    make(fixture, "dep.tgz", TEST_TGZ, entries, 1);
    static const char *const names[] = {".cfbp-install-top-abc123", ".cfbp-install-download-abc123",
                                        ".cfbp-install-abc123"};
    for (size_t i = 0; i < 3; i++) {
        char *victim = test_path(fixture->dest, "victim");
        test_write_file(victim, "keep me\n", 0644);
        struct stat st;
        assert_int_equal(lstat(victim, &st), 0);
        char *stale = test_path(fixture->dest, names[i]);
        char *journal = test_path(stale, "journal");
        char *tree = test_path(stale, "tree");
        char text[128];
        snprintf(text, sizeof(text), "cfbp-merge-journal 1 /tree\nadd / /victim %lu\n",
                 (unsigned long)st.st_ino);
        test_write_file(journal, text, 0644);
        assert_int_equal(mkdir(tree, 0700), 0);
        if (install_into(fixture, "dep.tgz", fixture->dest) < 0)
            fail_msg("%s", fixture->err.message);
        assert_false(test_exists(stale));
        if (i < 2 && !test_exists(victim))
            fail_msg("the journal in %s was undone", names[i]);
        if (i == 2 && test_exists(victim))
            fail_msg("the journal in %s was not undone: this test shows nothing", names[i]);
        free(victim);
        free(stale);
        free(journal);
        free(tree);
    }
}

/*
 * Top mode as a user, whom a directory's mode binds: a tree of one top-level
 * directory that is read-only, installed where it is new and again over
 * itself, and one whose second top-level name comes after read-only
 * directories were made, all end as the archives say, with their modes,
 * and nothing of a work directory left.
 */
static void top_mode_as_a_user_keeps_read_only_directories(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_entry one[] = {
        {"t", 'd', 0555, NULL, 0},
        {"t/ro", 'd', 0555, NULL, 0},
        {"t/ro/f", 'f', 0644, "f\n", 0},
        {"t/g", 'f', 0644, "g\n", 0},
    };
    static const struct test_entry two[] = {
        {"t/ro", 'd', 0555, NULL, 0},
        {"t/ro/f", 'f', 0644, "f\n", 0},
        {"u/h", 'f', 0644, "h\n", 0},
    };
    make(fixture, "one.tgz", TEST_TGZ, one, 4);
    char *one_archive = strdup(fixture->archive);
    make(fixture, "two.tgz", TEST_TGZ, two, 3);
    char *second = test_path(fixture->work, "second");
    assert_int_equal(mkdir(second, 0755), 0);
    give_work_to_user(fixture);
    for (int round = 0; round < 2; round++)
        assert_installed_as_user(one_archive, "one.tgz", fixture->dest);
    assert_mode(fixture->dest, "t", 0555);
    assert_mode(fixture->dest, "t/ro", 0555);
    assert_text(fixture->dest, "t/ro/f", "f\n");
    assert_text(fixture->dest, "t/g", "g\n");
    for (int round = 0; round < 2; round++)
        assert_installed_as_user(fixture->archive, "two.tgz", second);
    mode_t mask = umask(022);
    umask(mask);
    assert_mode(second, "t", 0755 & ~mask);
    assert_mode(second, "t/ro", 0555);
    assert_text(second, "t/ro/f", "f\n");
    assert_text(second, "u/h", "h\n");
    /* existing file, t, t/ro and t/g, t/ro/f: no work directory */
    assert_int_equal(test_count_entries(fixture->dest), 5);
    assert_int_equal(test_count_entries(second), 5);
    free(one_archive);
    free(second);
}

/* The placing hook: makes name in the destination, with a file in it, as the install renames. */
static void make_the_name_meanwhile(int destination_fd, const char *name)
{
    if (mkdirat(destination_fd, name, 0755) < 0)
        _exit(5);
    char inside[256];
    snprintf(inside, sizeof(inside), "%s/made-meanwhile", name);
    int fd = openat(destination_fd, inside, O_WRONLY | O_CREAT | O_EXCL, 0644);
    if (fd < 0)
        _exit(6);
    close(fd);
}

/*
 * A tree of one top-level directory, placed in one rename when its name is
 * free, whose name something that takes no lock makes just before: the
 * install merges into that directory instead, as a user, although the
 * directory modes it had applied for the rename (a read-only directory, a
 * top directory its owner cannot enter) would stop the merge moving
 * entries. In top mode and in the usual layout.
 */
static void a_name_made_while_placing_is_merged_into_as_a_user(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_entry read_only_inside[] = {
        {"t", 'd', 0755, NULL, 0},
        {"t/ro", 'd', 0500, NULL, 0},
        {"t/ro/f", 'f', 0644, "f\n", 0},
        {"t/g", 'f', 0644, "g\n", 0},
    };
    static const struct test_entry closed_top[] = {
        {"t", 'd', 0600, NULL, 0},
        {"t/x/f", 'f', 0644, "x\n", 0},
    };
    static const struct test_entry closed_later[] = {
        {"t/x/f", 'f', 0644, "x\n", 0},
        {"t", 'd', 0600, NULL, 0},
    };
    static const struct {
        const struct test_entry *entries;
        size_t count;
    } archives[] = {{read_only_inside, 4}, {closed_top, 2}, {closed_later, 2}};
    enum { ARCHIVES = sizeof(archives) / sizeof(*archives) };
    char *paths[ARCHIVES], *destinations[2][ARCHIVES];
    for (int i = 0; i < ARCHIVES; i++) {
        char name[32];
        snprintf(name, sizeof(name), "race-%d.tgz", i);
        make(fixture, name, TEST_TGZ, archives[i].entries, archives[i].count);
        paths[i] = strdup(fixture->archive);
        for (int top = 0; top < 2; top++) {
            snprintf(name, sizeof(name), "race-%d-%d", top, i);
            destinations[top][i] = test_path(fixture->work, name);
            assert_int_equal(mkdir(destinations[top][i], 0755), 0);
        }
    }
    give_work_to_user(fixture);
    cfbpi_archive_placing_hook = make_the_name_meanwhile;
    for (int top = 0; top < 2; top++) {
        cfbpi_archive_top_mode = top;
        for (int i = 0; i < ARCHIVES; i++) {
            char *message = install_as_user(paths[i], "dep.tgz", destinations[top][i], NULL);
            if (message)
                fail_msg("top mode %d, archive %d: %s", top, i, message);
        }
    }
    cfbpi_archive_placing_hook = NULL;
    cfbpi_archive_top_mode = true;
    for (int top = 0; top < 2; top++) {
        const char *inside = destinations[top][0];
        assert_mode(inside, "t", 0755);
        assert_mode(inside, "t/ro", 0500);
        assert_text(inside, "t/ro/f", "f\n");
        assert_text(inside, "t/g", "g\n");
        assert_text(inside, "t/made-meanwhile", "");
        assert_int_equal(test_count_entries(inside), 5);
        for (int i = 1; i < ARCHIVES; i++) {
            const char *closed = destinations[top][i];
            assert_mode(closed, "t", 0600);
            assert_text(closed, "t/x/f", "x\n");
            assert_text(closed, "t/made-meanwhile", "");
            assert_int_equal(test_count_entries(closed), 4);
        }
    }
    for (int i = 0; i < ARCHIVES; i++) {
        free(paths[i]);
        for (int top = 0; top < 2; top++)
            free(destinations[top][i]);
    }
}

static void die_while_placing(int destination_fd, const char *name)
{
    (void)destination_fd;
    (void)name;
    raise(SIGKILL);
}

/*
 * An install killed while placing, after the directory modes (a top
 * directory whose owner may not read it) and before the rename, leaves a
 * work directory that shuts its owner out: the next install, as that user,
 * still removes it and ends complete.
 */
static void a_work_directory_killed_while_placing_is_removed_as_a_user(void **state)
{
    struct fixture *fixture = *state;
    static const mode_t modes[] = {0100, 0300, 0200};
    enum { MODES = sizeof(modes) / sizeof(*modes) };
    char *paths[MODES], *destinations[MODES];
    for (int i = 0; i < MODES; i++) {
        const struct test_entry entries[] = {{"t", 'd', modes[i], NULL, 0},
                                             {"t/f", 'f', 0644, "f\n", 0}};
        char name[32];
        snprintf(name, sizeof(name), "shut-%d.tgz", i);
        make(fixture, name, TEST_TGZ, entries, 2);
        paths[i] = strdup(fixture->archive);
        snprintf(name, sizeof(name), "shut-%d", i);
        destinations[i] = test_path(fixture->work, name);
        assert_int_equal(mkdir(destinations[i], 0755), 0);
    }
    give_work_to_user(fixture);
    for (int i = 0; i < MODES; i++) {
        cfbpi_archive_placing_hook = die_while_placing;
        char *message = install_as_user(paths[i], "dep.tgz", destinations[i], NULL);
        cfbpi_archive_placing_hook = NULL;
        if (!message || strcmp(message, KILLED))
            fail_msg("mode %04o: expected the install to be killed, got '%s'", (unsigned)modes[i],
                     message ? message : "(success)");
        free(message);
        /* the work directory, with f in it (top mode) */
        assert_int_equal(test_count_entries(destinations[i]), 2);
        assert_installed_as_user(paths[i], "dep.tgz", destinations[i]);
        assert_mode(destinations[i], "t", modes[i]);
        assert_text(destinations[i], "t/f", "f\n");
        assert_int_equal(test_count_entries(destinations[i]), 2); /* t and t/f: nothing else */
        free(paths[i]);
        free(destinations[i]);
    }
}

/*
 * In top mode the work directory, which stands for the archive's directory,
 * is in the destination while it is extracted: until it is placed only its
 * owner may enter it, whatever mode the directory gets then.
 */
struct open_to_others {
    const char *destination;
    int checked;
};

static int work_directories_are_closed(void *data, struct cfbp_error *err)
{
    (void)err;
    struct open_to_others *probe = data;
    DIR *listing = opendir(probe->destination);
    assert_non_null(listing);
    for (struct dirent *entry; (entry = readdir(listing));) {
        if (strncmp(entry->d_name, ".cfbp-install-", 14) != 0)
            continue;
        struct stat st;
        assert_int_equal(fstatat(dirfd(listing), entry->d_name, &st, AT_SYMLINK_NOFOLLOW), 0);
        if (st.st_mode & 077)
            fail_msg("%s is open to others while extracted: mode %04o", entry->d_name,
                     (unsigned)(st.st_mode & 07777));
        probe->checked++;
    }
    closedir(listing);
    return 0;
}

static void a_directory_being_extracted_is_closed_to_others(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_entry entries[] = {{"t/bin/run", 'f', 0755, "run\n", 0},
                                                {"t/lib/x", 'f', 0644, "x\n", 0}};
    make(fixture, "dep.tgz", TEST_TGZ, entries, 2);
    struct open_to_others probe = {fixture->dest, 0};
    struct cfbp_archive_request request = {.source = fixture->archive,
                                           .file_name = "dep.tgz",
                                           .destination = fixture->dest,
                                           .before_placing = work_directories_are_closed,
                                           .before_placing_data = &probe};
    if (cfbp_archive_install(&request, fixture->sha256, &fixture->err) < 0)
        fail_msg("%s", fixture->err.message);
    assert_int_equal(probe.checked, 1);
    mode_t mask = umask(022);
    umask(mask);
    assert_mode(fixture->dest, "t", 0755 & ~mask);
    assert_text(fixture->dest, "t/bin/run", "run\n");
}

/*
 * With a write queue, a small file that fails on the second thread comes
 * before a large one that fails on the first: the earlier member is the one
 * the message names, as when every member is written in order.
 */
static void the_first_member_that_fails_is_the_one_told(void **state)
{
    struct fixture *fixture = *state;
    struct test_entry entries[12];
    char names[8][16];
    for (size_t i = 0; i < 8; i++) {
        snprintf(names[i], sizeof(names[i]), "ok/f%zu", i);
        entries[i] = (struct test_entry){names[i], 'f', 0644, "fits\n", 0};
    }
    entries[8] = (struct test_entry){"queued/too-large", 'r', 0644, NULL, 5000};
    entries[9] = (struct test_entry){"ok/g", 'f', 0644, "fits\n", 0};
    entries[10] = (struct test_entry){"written-here/too-large", 'r', 0644, NULL, 600000};
    entries[11] = (struct test_entry){"ok/h", 'f', 0644, "fits\n", 0};
    make(fixture, "order.tgz", TEST_TGZ, entries, 12);
    for (int round = 0; round < 20; round++) {
        struct snapshots before = take(fixture);
        char *message = install_with_size_limit(fixture, "order.tgz", 4096);
        if (!message || !strstr(message, "queued/too-large") || !strstr(message, "File too large"))
            fail_msg("round %d: expected queued/too-large to be named, got '%s'", round,
                     message ? message : "(success)");
        free(message);
        assert_unchanged(fixture, &before);
    }
}

/* --- the write queue --- */

struct outcome {
    int result;
    enum cfbp_error_kind kind;
    char *message;
    char *tree;
};

/* How an install runs: after how many small files the write queue starts, and the layout. */
struct setting {
    size_t queue_from;
    bool top_mode;
};

static struct outcome install_and_describe(struct fixture *fixture, const char *destination,
                                           struct setting setting)
{
    size_t saved = cfbpi_write_queue_files_before_start;
    bool saved_top = cfbpi_archive_top_mode;
    cfbpi_write_queue_files_before_start = setting.queue_from;
    cfbpi_archive_top_mode = setting.top_mode;
    struct outcome outcome = {.result = install_into(fixture, "mix.tgz", destination)};
    cfbpi_write_queue_files_before_start = saved;
    cfbpi_archive_top_mode = saved_top;
    outcome.kind = fixture->err.kind;
    outcome.message = strdup(fixture->err.message ? fixture->err.message : "");
    outcome.tree = test_exists(destination) ? test_snapshot(destination, false) : strdup("");
    return outcome;
}

static void assert_same_outcome(struct outcome *a, struct outcome *b, int round, const char *what)
{
    if (a->result != b->result || a->kind != b->kind || strcmp(a->message, b->message) != 0)
        fail_msg("round %d: %s: %d '%s' against %d '%s'", round, what, a->result, a->message,
                 b->result, b->message);
    test_assert_same_snapshot(a->tree, b->tree, what);
    free(a->message);
    free(a->tree);
    free(b->message);
    free(b->tree);
}

/*
 * A random archive "mix.tgz" of count members over paths (the first four
 * hold others: mostly directories, now and then something else), texts
 * holding their contents: small and large files, directories, symlinks,
 * hard links to earlier members, and modes that are not the default.
 */
static void make_mix(struct fixture *fixture, unsigned *seed, int round, const char *const *paths,
                     size_t path_count, const char *const *targets, size_t target_count,
                     struct test_entry *entries, size_t count, char (*texts)[64])
{
    for (size_t i = 0; i < count; i++) {
        size_t which = (size_t)rand_r(seed) % path_count;
        int pick = rand_r(seed) % 100;
        if (which < 4 && pick < 93)
            pick = 0; /* a directory */
        else if (which < 4)
            pick = rand_r(seed) % 100;
        snprintf(texts[i], sizeof(texts[i]), "round %d member %zu\n", round, i);
        struct test_entry entry = {paths[which], 'f', 0644, texts[i], 0};
        if (pick < 10) {
            entry.type = 'd';
            entry.data = NULL;
            entry.mode = pick < 2 ? 0555 : pick < 4 ? 0700 : 0755;
        } else if (pick < 20) {
            entry.type = 'l';
            entry.data = targets[(size_t)rand_r(seed) % target_count];
        } else if (pick < 28 && i > 0) {
            entry.type = 'h';
            entry.data = entries[(size_t)rand_r(seed) % i].name;
        } else if (pick < 36) {
            entry.type = 'r'; /* larger than the queue takes */
            entry.data = NULL;
            entry.size = WRITE_QUEUE_FILE_SIZE + 1 + (size_t)round;
        } else if (pick < 44) {
            entry.mode = 0751;
        }
        entries[i] = entry;
    }
    make(fixture, "mix.tgz", TEST_TGZ, entries, count);
}

/*
 * The write queue changes nothing: random archives that name a few paths
 * again and again (small and large files, directories, symlinks, hard
 * links, one path inside another) give the same tree, or the same error,
 * with the queue taking every small file from the first and with no queue.
 */
static void the_write_queue_changes_nothing(void **state)
{
    struct fixture *fixture = *state;
    static const char *const paths[] = {"a", "b", "c", "a/b", "a/c", "b/a", "a/b/c", "c/a"};
    static const char *const targets[] = {"b", "a", "c/a", "../a", "a/b", "."};
    char *destination = test_path(fixture->work, "out");
    char texts[24][64];
    unsigned seed = 20261202;
    size_t failures = 0;
    for (int round = 0; round < 250; round++) {
        struct test_entry entries[24];
        size_t count = 6 + (size_t)rand_r(&seed) % 18;
        make_mix(fixture, &seed, round, paths, sizeof(paths) / sizeof(*paths), targets,
                 sizeof(targets) / sizeof(*targets), entries, count, texts);
        struct outcome alone =
            install_and_describe(fixture, destination, (struct setting){SIZE_MAX, true});
        test_remove_dir(strdup(destination));
        struct outcome queued =
            install_and_describe(fixture, destination, (struct setting){0, true});
        test_remove_dir(strdup(destination));
        failures += alone.result < 0;
        assert_same_outcome(&alone, &queued, round, "without the queue, and with it");
    }
    /* Both kinds of outcome were tried. */
    if (failures < 20 || failures > 230)
        fail_msg("%zu of 250 installs failed: the mix tries too little of one kind", failures);
    free(destination);
}

/* Lays out what an install finds in the destination "out": one of a few starting points. */
static void prepare_destination(const char *destination, int kind)
{
    if (kind == 0)
        return; /* missing: the tree goes beside it, and is renamed to it */
    assert_int_equal(mkdir(destination, 0755), 0);
    char *path = NULL;
    if (kind == 2) { /* t is taken by a directory: merged into */
        path = test_path(destination, "t/kept");
        test_write_file(path, "kept\n", 0644);
    } else if (kind == 3) { /* t is taken by a file: replaced, or refused */
        path = test_path(destination, "t");
        test_write_file(path, "a file\n", 0644);
    } else if (kind == 4) { /* something else is there */
        path = test_path(destination, "u/kept");
        test_write_file(path, "kept\n", 0644);
    }
    free(path);
}

/*
 * Top mode changes nothing (archive.c, enum tree_layout): random archives,
 * mostly of one top-level directory t and sometimes of others too, installed
 * into a destination that is missing, empty, or already has t (a directory
 * or a file) or something else, give the same tree, or the same error, with
 * the work directory standing for t and with the usual layout; with the
 * write queue and without it.
 */
static void the_layout_changes_nothing(void **state)
{
    struct fixture *fixture = *state;
    static const char *const one_top[] = {"t",     "t/a",   "t/b", "t/a/b",
                                          "t/a/c", "t/b/a", "t/c", "t/a/b/c"};
    static const char *const other_tops[] = {"t", "t/a", "u", "t/a/b", "t/c", "u/a", "v", "t/b"};
    static const char *const targets[] = {"a", "../a", "../../t/a", "b/a", ".", "../u"};
    char *destination = test_path(fixture->work, "out");
    char texts[24][64];
    unsigned seed = 20261203;
    size_t failures = 0, placed_whole = 0;
    /* An empty directory kept open (a link to itself went in it, which makes nothing) and then
     * replaced by a file: the member after must not go into the directory that was there. */
    static const struct test_entry emptied[] = {{"t/a", 'd', 0755, NULL, 0},
                                                {"t/a/h", 'h', 0644, "t/a/h", 0},
                                                {"t/a", 'f', 0644, "now a file\n", 0},
                                                {"t/a/y", 'f', 0644, "lost?\n", 0}};
    make(fixture, "mix.tgz", TEST_TGZ, emptied, 4);
    for (int kind = 1; kind < 5; kind++) {
        prepare_destination(destination, kind);
        struct outcome usual =
            install_and_describe(fixture, destination, (struct setting){SIZE_MAX, false});
        test_remove_dir(strdup(destination));
        prepare_destination(destination, kind);
        struct outcome top =
            install_and_describe(fixture, destination, (struct setting){SIZE_MAX, true});
        test_remove_dir(strdup(destination));
        assert_true(usual.result < 0 && strstr(usual.message, "t/a/y"));
        assert_same_outcome(&usual, &top, -kind, "the usual layout, and top mode");
    }
    for (int round = 0; round < 300; round++) {
        struct test_entry entries[24];
        size_t count = 2 + (size_t)rand_r(&seed) % 16;
        bool several = rand_r(&seed) % 4 == 0;
        make_mix(fixture, &seed, round, several ? other_tops : one_top, 8, targets,
                 sizeof(targets) / sizeof(*targets), entries, count, texts);
        int kind = rand_r(&seed) % 5;
        size_t queue_from = rand_r(&seed) % 2 ? SIZE_MAX : 0;
        prepare_destination(destination, kind);
        struct outcome usual =
            install_and_describe(fixture, destination, (struct setting){queue_from, false});
        test_remove_dir(strdup(destination));
        prepare_destination(destination, kind);
        struct outcome top =
            install_and_describe(fixture, destination, (struct setting){queue_from, true});
        /* Nothing of either work directory is left. */
        char *leftovers = test_snapshot(fixture->work, false);
        if (strstr(leftovers, "cfbp-install"))
            fail_msg("round %d: a work directory was left:\n%s", round, leftovers);
        free(leftovers);
        test_remove_dir(strdup(destination));
        failures += usual.result < 0;
        placed_whole += usual.result == 0 && !several && kind != 0 && kind != 2 && kind != 3;
        assert_same_outcome(&usual, &top, round, "the usual layout, and top mode");
    }
    /* Both kinds of outcome were tried, and top mode's own placing often. */
    if (failures < 20 || failures > 250 || placed_whole < 40)
        fail_msg("%zu of 300 installs failed, %zu placed in one rename: the mix tries too "
                 "little of one kind",
                 failures, placed_whole);
    free(destination);
}

int main(void)
{
    test_use_write_queue_setting();
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(hard_link_to_a_deep_symlink_cannot_escape),
        TEST(hard_link_to_a_symlink_that_stays_inside_is_kept),
        TEST(a_destination_that_is_a_link_is_refused),
        TEST(members_named_like_temporary_files_are_refused),
        TEST(hard_link_to_a_directory_is_refused),
        TEST(hard_link_before_its_target_is_refused),
        TEST(hard_link_through_a_replaced_directory_is_refused),
        TEST(a_full_directory_is_never_replaced_by_a_link),
        TEST(an_empty_directory_may_become_a_link),
        TEST(members_after_a_link_go_where_their_names_say),
        TEST(an_open_directory_that_was_removed_is_not_reused),
        TEST(a_member_inside_a_file_is_refused),
        TEST(replacing_a_hard_linked_file_keeps_the_other_name),
        TEST(climbing_and_absolute_links_are_refused_in_zips_too),
        TEST(very_deep_trees_install_and_clean_up),
        TEST(a_file_size_limit_fails_the_install_at_any_offset),
        TEST(a_full_disk_fails_the_install_and_frees_everything),
        TEST(parallel_installs_into_one_destination_are_all_complete),
        TEST(only_work_directories_of_dead_owners_are_removed),
        TEST(a_merge_that_fails_part_way_puts_everything_back),
        TEST(look_alike_directories_are_kept),
        TEST(read_only_directories_do_not_stop_later_installs_as_a_user),
        TEST(a_merge_killed_at_any_moment_is_undone_then_completed),
        TEST(without_rename_exchange_too),
        TEST(the_first_member_that_fails_is_the_one_told),
        TEST(the_write_queue_changes_nothing),
        TEST(the_layout_changes_nothing),
        TEST(only_journaled_work_directories_are_read_for_a_journal),
        TEST(top_mode_as_a_user_keeps_read_only_directories),
        TEST(a_name_made_while_placing_is_merged_into_as_a_user),
        TEST(a_work_directory_killed_while_placing_is_removed_as_a_user),
        TEST(a_directory_being_extracted_is_closed_to_others),
    };
    if (getenv("CMOCKA_TEST_FILTER"))
        cmocka_set_test_filter(getenv("CMOCKA_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
