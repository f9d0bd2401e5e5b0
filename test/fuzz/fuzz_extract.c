/*
 * fuzz_extract.c - the extraction property: whatever an archive holds,
 * installing it and then doing the buildpack's own writes (supply's and
 * finalize's) changes nothing outside the destination.
 *
 * The input is not an archive but a recipe for one, so that the fuzzer
 * spends its time on sequences of members rather than on checksums: a flags
 * byte (zip or tar, strip a component, run the buildpack's writes), then
 * members, each a type (directory, file, symlink, hard link), a name of up
 * to four parts from a small set ("..", ".", "profile.d", "bin", ...), and
 * for links a target: a climb of 1 to 6 ".." followed by "canary", the
 * canary's absolute path, an earlier member's name, or parts from the set.
 * Every climbing target is aimed at the canary, so a link that escapes
 * lands a write there.
 *
 * The sandbox (a directory of the process's own, on /dev/shm when it can):
 *   canary/              files, a subdirectory: must never change
 *   app/  cache/         BUILD_DIR and CACHE_DIR
 *   deps/0/              DEPS_DIR/DEPS_IDX: the destination
 * After each input the destination is emptied and the canary compared with
 * its fingerprint (names, types, sizes, modes, times); any difference, a
 * file outside the sandbox's own layout, or a crash is a finding.
 *
 * With flags bit 16 the archive is installed twice: without the write queue
 * (lib/write_queue.h) and in the usual layout (lib/archive_layout.h), then
 * with the queue taking every small file from the first and top mode
 * allowed: a different tree, result or message is a finding too.
 */
#include "fuzz_support.h"

#include "../../lib/archive_layout.h"
#include "../../lib/write_queue.h"

#include "cfbp/archive.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/launch.h"
#include "cfbp/path.h"
#include "cfbp/stager.h"
#include "cfbp/strbuf.h"
#include "cfbp/string_list.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_MEMBERS 24

static const char *const parts[] = {"a",    "b", "up",  "profile.d", "bin", "env",
                                    "..",   ".", "",    "canary",    "x",   "launch.yml",
                                    "deps", "0", "lib", "config.yml"};
#define PART_COUNT (sizeof(parts) / sizeof(*parts))

struct sandbox {
    char *root, *canary, *app, *cache, *deps, *dest, *archive;
    char *fingerprint;
};

static struct sandbox sandbox;

/* --- the canary --- */

static void fingerprint_line(const char *path, const char *relative, const struct stat *st,
                             struct cfbp_strbuf *out)
{
    (void)path;
    if (!st) {
        cfbp_strbuf_append_format(out, "%s missing\n", relative);
        return;
    }
    cfbp_strbuf_append_format(out, "%s %o %lld %lld.%09ld %lu\n", relative, (unsigned)st->st_mode,
                              (long long)st->st_size, (long long)st->st_mtim.tv_sec,
                              st->st_mtim.tv_nsec, (unsigned long)st->st_nlink);
}

/* The canary tree, and the sandbox's own top level (nothing may appear there). */
static char *fingerprint(void)
{
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    fuzz_describe_tree(sandbox.canary, "canary", fingerprint_line, &out);
    struct cfbp_string_list names = CFBP_STRING_LIST_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_fs_list_directory(sandbox.root, &names, &err) < 0)
        fuzz_fail("%s", err.message);
    cfbp_string_list_join(&names, " ", &out);
    cfbp_string_list_clear(&names);
    /* DEPS_DIR holds the destination and nothing else. */
    cfbp_strbuf_append_string(&out, "\ndeps:");
    if (cfbp_fs_list_directory(sandbox.deps, &names, &err) < 0)
        fuzz_fail("%s", err.message);
    cfbp_string_list_join(&names, " ", &out);
    cfbp_string_list_clear(&names);
    return cfbp_strbuf_detach(&out, NULL);
}

/* The destination's tree without times: names, types, modes, links and contents. */
static void content_line(const char *path, const char *relative, const struct stat *st,
                         struct cfbp_strbuf *out)
{
    if (!st)
        return;
    cfbp_strbuf_append_format(out, "%s %o %lld %lu", relative, (unsigned)st->st_mode,
                              (long long)st->st_size, (unsigned long)st->st_nlink);
    char buffer[4096];
    if (S_ISLNK(st->st_mode)) {
        ssize_t length = readlink(path, buffer, sizeof(buffer));
        cfbp_strbuf_append_format(out, " -> %.*s", (int)(length > 0 ? length : 0), buffer);
    } else if (S_ISREG(st->st_mode)) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t length = fd < 0 ? -1 : read(fd, buffer, sizeof(buffer));
        if (fd >= 0)
            close(fd);
        cfbp_strbuf_append_string(out, " = ");
        cfbp_strbuf_append(out, buffer, length > 0 ? (size_t)length : 0);
    }
    cfbp_strbuf_append_string(out, "\n");
}

static char *join(const char *a, const char *b)
{
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    cfbp_path_join(&path, a, b);
    return cfbp_strbuf_detach(&path, NULL);
}

static void write_plain(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, text, strlen(text)) < 0 || close(fd) < 0)
        fuzz_fail("cannot write %s", path);
}

static void make_sandbox(void)
{
    /* Memory is faster than a disk for the thousands of small trees a run makes. */
    if (!getenv("TMPDIR") && access("/dev/shm", W_OK) == 0)
        setenv("TMPDIR", "/dev/shm", 1);
    const char *base = fuzz_directory();
    sandbox.root = join(base, "sandbox");
    sandbox.canary = join(sandbox.root, "canary");
    sandbox.app = join(sandbox.root, "app");
    sandbox.cache = join(sandbox.root, "cache");
    sandbox.deps = join(sandbox.root, "deps");
    sandbox.dest = join(sandbox.deps, "0");
    sandbox.archive = join(base, "member-archive");
    const char *directories[] = {sandbox.root,  sandbox.canary, sandbox.app,
                                 sandbox.cache, sandbox.deps,   sandbox.dest};
    for (size_t i = 0; i < sizeof(directories) / sizeof(*directories); i++)
        mkdir(directories[i], 0755);
    char *file = join(sandbox.canary, "secret");
    write_plain(file, "secret\n");
    free(file);
    char *inner = join(sandbox.canary, "profile.d");
    mkdir(inner, 0755);
    file = join(inner, "keep.sh");
    write_plain(file, "true\n");
    free(file);
    free(inner);
    sandbox.fingerprint = fingerprint();
}

/* --- the recipe --- */

struct reader {
    const uint8_t *data;
    size_t size, at;
};

static unsigned next(struct reader *reader)
{
    return reader->at < reader->size ? reader->data[reader->at++] : 0;
}

static void random_name(struct reader *reader, struct cfbp_strbuf *out)
{
    unsigned count = 1 + next(reader) % 4;
    cfbp_strbuf_reset(out);
    for (unsigned i = 0; i < count; i++) {
        if (i)
            cfbp_strbuf_append_char(out, '/');
        cfbp_strbuf_append_string(out, parts[next(reader) % PART_COUNT]);
    }
}

static void random_target(struct reader *reader, const struct cfbp_string_list *names,
                          struct cfbp_strbuf *out)
{
    unsigned choice = next(reader) % 4;
    cfbp_strbuf_reset(out);
    if (choice == 0) {
        unsigned climbs = 1 + next(reader) % 6;
        for (unsigned i = 0; i < climbs; i++)
            cfbp_strbuf_append_string(out, "../");
        cfbp_strbuf_append_string(out, next(reader) % 2 ? "canary" : "canary/profile.d");
    } else if (choice == 1) {
        cfbp_strbuf_set(out, sandbox.canary);
    } else if (choice == 2 && names->count) {
        cfbp_strbuf_set(out, names->items[next(reader) % names->count]);
    } else {
        random_name(reader, out);
    }
}

/* Builds the archive the recipe describes; returns false when it describes none. */
static bool build_archive(struct reader *reader, bool zip)
{
    struct archive *archive = archive_write_new();
    if (zip) {
        archive_write_set_format_zip(archive);
        archive_write_zip_set_compression_store(archive); /* deflate's set-up would dominate */
    } else
        archive_write_set_format_pax_restricted(archive);
    if (archive_write_open_filename(archive, sandbox.archive) != ARCHIVE_OK)
        fuzz_fail("cannot write the archive: %s", archive_error_string(archive));
    struct cfbp_string_list names = CFBP_STRING_LIST_INIT;
    struct cfbp_strbuf name = CFBP_STRBUF_INIT, target = CFBP_STRBUF_INIT;
    unsigned members = 0;
    while (reader->at < reader->size && members < MAX_MEMBERS) {
        unsigned type = next(reader) % 4;
        if (zip && type == 3)
            type = 1; /* zip has no hard links */
        random_name(reader, &name);
        if (name.len == 0)
            continue;
        struct archive_entry *entry = archive_entry_new();
        archive_entry_set_pathname(entry, name.buf);
        archive_entry_set_mtime(entry, 1700000000, 0);
        const char *data = "data\n";
        size_t size = 0;
        if (type == 0) {
            archive_entry_set_filetype(entry, AE_IFDIR);
            archive_entry_set_perm(entry, next(reader) % 2 ? 0755 : 0555);
        } else if (type == 1) {
            archive_entry_set_filetype(entry, AE_IFREG);
            archive_entry_set_perm(entry, 0644);
            size = strlen(data);
            archive_entry_set_size(entry, (la_int64_t)size);
        } else {
            random_target(reader, &names, &target);
            archive_entry_set_filetype(entry, AE_IFREG);
            archive_entry_set_perm(entry, 0777);
            if (type == 2) {
                archive_entry_set_filetype(entry, AE_IFLNK);
                archive_entry_set_symlink(entry, target.buf);
            } else {
                archive_entry_set_hardlink(entry, target.buf);
            }
        }
        if (archive_write_header(archive, entry) == ARCHIVE_OK && size)
            archive_write_data(archive, data, size);
        archive_entry_free(entry);
        cfbp_string_list_append(&names, name.buf);
        members++;
    }
    archive_write_close(archive);
    archive_write_free(archive);
    cfbp_string_list_clear(&names);
    cfbp_strbuf_release(&name);
    cfbp_strbuf_release(&target);
    return members > 0;
}

/* --- the buildpack's own writes --- */

static void buildpack_writes(void)
{
    char *argv[] = {sandbox.app, sandbox.cache, sandbox.deps, "0", NULL};
    struct cfbp_stager stager;
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_stager_init(&stager, CFBP_PHASE_FINALIZE, 4, argv, &err) < 0) {
        cfbp_error_clear(&err);
        return;
    }
    /* What supply and finalize write; each may be refused, none may land outside. */
    cfbp_stager_write_profile_d(&stager, "config-server.sh", "export X=1\n", &err);
    cfbp_error_clear(&err);
    cfbp_stager_write_env_file(&stager, "CONFIG_SERVER_PORT", "8082", &err);
    cfbp_error_clear(&err);
    cfbp_stager_write_config_yml(&stager, "config-server", "1.0.0", NULL, &err);
    cfbp_error_clear(&err);
    char *binary = join(stager.dep_dir, "lib/config-server");
    cfbp_stager_add_bin_link(&stager, binary, "config-server", &err);
    cfbp_error_clear(&err);
    free(binary);
    struct cfbp_launch launch = {0};
    cfbp_launch_add(&launch, "config-server", "$DEPS_DIR/0/bin/config-server");
    char *launch_path = join(stager.dep_dir, "launch.yml");
    cfbp_launch_write(&launch, launch_path, &err);
    cfbp_error_clear(&err);
    cfbp_launch_release(&launch);
    free(launch_path);
    cfbp_stager_write_buildpack_metadata(&stager, "config-server", "1.0.0", &err);
    cfbp_error_clear(&err);
    cfbp_stager_set_launch_environment(&stager, &err);
    cfbp_error_clear(&err);
    cfbp_stager_release(&stager);
}

/* Empties what one input may have made: the destination, the app and the cache. */
static void reset(void)
{
    const char *directories[] = {sandbox.dest, sandbox.app, sandbox.cache};
    for (size_t i = 0; i < sizeof(directories) / sizeof(*directories); i++) {
        struct cfbp_error err = CFBP_ERROR_INIT;
        if (cfbp_fs_remove_tree(directories[i], &err) < 0)
            fuzz_fail("cannot empty the sandbox: %s", err.message);
        mkdir(directories[i], 0755);
    }
    unlink(sandbox.archive);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!sandbox.root)
        make_sandbox();
    if (size == 0)
        return 0;
    struct reader reader = {data, size, 1};
    unsigned flags = data[0];
    bool zip = flags & 1;
    if (!build_archive(&reader, zip)) {
        reset();
        return 0;
    }
    struct cfbp_archive_request request = {
        .source = sandbox.archive,
        .file_name = zip ? "dependency.zip" : "dependency.tar",
        .destination = flags & 4 ? join(sandbox.dest, "vendor") : sandbox.dest,
        .strip_components = flags & 2 ? 1 : 0,
    };
    struct cfbp_error err = CFBP_ERROR_INIT;
    char sha256[CFBP_DIGEST_HEX_SIZE];
    size_t queue_from = cfbpi_write_queue_files_before_start;
    struct cfbp_strbuf alone = CFBP_STRBUF_INIT, queued = CFBP_STRBUF_INIT;
    if (flags & 16) {
        cfbpi_write_queue_files_before_start = SIZE_MAX;
        cfbpi_archive_top_mode = false;
        int alone_result = cfbp_archive_install(&request, sha256, &err);
        cfbp_strbuf_append_format(&alone, "%d %s\n", alone_result, err.message ? err.message : "");
        fuzz_describe_tree(sandbox.dest, "dest", content_line, &alone);
        cfbp_error_clear(&err);
        struct cfbp_error ignored = CFBP_ERROR_INIT;
        if (cfbp_fs_remove_tree(sandbox.dest, &ignored) < 0)
            fuzz_fail("cannot empty the sandbox: %s", ignored.message);
        mkdir(sandbox.dest, 0755);
        cfbpi_write_queue_files_before_start = 0;
        cfbpi_archive_top_mode = true;
    }
    int result = cfbp_archive_install(&request, sha256, &err);
    cfbpi_write_queue_files_before_start = queue_from;
    if (result < 0 && (!err.message || !*err.message))
        fuzz_fail("a failed install said nothing");
    if (flags & 16) {
        cfbp_strbuf_append_format(&queued, "%d %s\n", result, err.message ? err.message : "");
        fuzz_describe_tree(sandbox.dest, "dest", content_line, &queued);
        if (strcmp(alone.buf, queued.buf) != 0)
            fuzz_fail("the write queue or top mode changed the install:\n--- without them\n%s\n"
                      "--- with them\n%s",
                      alone.buf, queued.buf);
    }
    cfbp_strbuf_release(&alone);
    cfbp_strbuf_release(&queued);
    cfbp_error_clear(&err);
    if (flags & 8)
        buildpack_writes();
    char *now = fingerprint();
    /* The archive itself lives beside the sandbox, not in it. */
    if (strcmp(now, sandbox.fingerprint) != 0)
        fuzz_fail("something outside the destination changed:\n--- before\n%s\n--- after\n%s",
                  sandbox.fingerprint, now);
    free(now);
    if (flags & 4)
        free((char *)request.destination);
    reset();
    return 0;
}
