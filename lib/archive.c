/*
 * archive.c - safe, verified, all-or-nothing installation of one file
 * (see archive.h).
 *
 * Extraction uses libarchive's disk writer with its symlink and ".." guards
 * on, but names and link targets are checked here first, more strictly:
 * libarchive resolves names against the process's working directory, so each
 * member is rewritten to an absolute path under the (symlink-free, realpath'd)
 * staging directory, and only names that cannot leave it get that far.
 */
#include "cfbp/archive.h"

#include "cfbp/alloc.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/path.h"
#include "cfbp/strbuf.h"
#include "cfbp/string_list.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_BLOCK_SIZE (256 * 1024)
#define STAGING_PREFIX  ".cfbp-install-"

enum cfbp_archive_kind cfbp_archive_kind_of(const char *file_name)
{
    static const struct {
        const char *suffix;
        enum cfbp_archive_kind kind;
    } suffixes[] = {
        {".tar.gz", CFBP_ARCHIVE_TAR_GZ}, {".tgz", CFBP_ARCHIVE_TAR_GZ},
        {".tar.xz", CFBP_ARCHIVE_TAR_XZ}, {".tar", CFBP_ARCHIVE_TAR},
        {".zip", CFBP_ARCHIVE_ZIP},       {".sh", CFBP_ARCHIVE_SCRIPT},
    };
    for (size_t i = 0; i < sizeof(suffixes) / sizeof(*suffixes); i++)
        if (cfbp_string_ends_with(file_name, suffixes[i].suffix))
            return suffixes[i].kind;
    return CFBP_ARCHIVE_PLAIN;
}

/* --- reading while hashing --- */

struct hashing_reader {
    int fd;
    struct cfbp_digest digest;
    char *buffer;
    int read_errno;
};

static la_ssize_t read_block(struct archive *archive, void *data, const void **block)
{
    struct hashing_reader *reader = data;
    ssize_t got = cfbp_fs_read(reader->fd, reader->buffer, READ_BLOCK_SIZE);
    if (got < 0) {
        reader->read_errno = errno;
        archive_set_error(archive, errno, "%s", strerror(errno));
        return -1;
    }
    cfbp_digest_update(&reader->digest, reader->buffer, (size_t)got);
    *block = reader->buffer;
    return got;
}

/* Hashes whatever libarchive did not read (tar padding, trailing bytes). */
static int drain(struct hashing_reader *reader)
{
    for (;;) {
        ssize_t got = cfbp_fs_read(reader->fd, reader->buffer, READ_BLOCK_SIZE);
        if (got < 0)
            return reader->read_errno = errno;
        if (got == 0)
            return 0;
        cfbp_digest_update(&reader->digest, reader->buffer, (size_t)got);
    }
}

/* --- checking members --- */

static size_t count_components(const char *path)
{
    size_t count = 1;
    for (; *path; path++)
        count += *path == '/';
    return count;
}

/*
 * A symlink may climb ("..") only at the start of its target and no higher
 * than its own directory's depth; after the first normal component it may
 * only descend. The directories it climbs through are real: with
 * SECURE_SYMLINKS and UNLINK, libarchive replaces a link standing on a
 * member's path instead of following it. Links it descends through obey the
 * same rule, so by induction no target can resolve outside the destination.
 */
static bool symlink_stays_inside(const char *link_path, const char *target)
{
    if (*target == '\0' || *target == '/')
        return false;
    size_t depth = count_components(link_path) - 1;
    size_t climbs = 0;
    bool descended = false;
    const char *cursor = target;
    while (*cursor) {
        size_t length = strcspn(cursor, "/");
        if (length == 2 && cursor[0] == '.' && cursor[1] == '.') {
            if (descended || ++climbs > depth)
                return false;
        } else if (length > 0 && !(length == 1 && cursor[0] == '.')) {
            descended = true;
        }
        cursor += length;
        while (*cursor == '/')
            cursor++;
    }
    return true;
}

/* Drops strip leading components; false when nothing is left. */
static bool strip_path(struct cfbp_strbuf *path, unsigned strip)
{
    for (unsigned i = 0; i < strip; i++) {
        char *slash = strchr(path->buf, '/');
        if (!slash)
            return false;
        size_t rest = path->len - (size_t)(slash + 1 - path->buf);
        memmove(path->buf, slash + 1, rest);
        cfbp_strbuf_set_length(path, rest);
    }
    return path->len > 0;
}

/* True when some directory on the way to relative (under root) is a symlink. */
static bool passes_through_symlink(const char *root, const char *relative)
{
    struct cfbp_strbuf partial = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&partial, root);
    bool found = false;
    const char *cursor = relative;
    for (;;) {
        const char *slash = strchr(cursor, '/');
        if (!slash)
            break;
        cfbp_strbuf_append_char(&partial, '/');
        cfbp_strbuf_append(&partial, cursor, (size_t)(slash - cursor));
        if (cfbp_fs_type_of(partial.buf) == CFBP_FS_SYMLINK) {
            found = true;
            break;
        }
        cursor = slash + 1;
    }
    cfbp_strbuf_release(&partial);
    return found;
}

static int unsafe(struct cfbp_error *err, const char *archive_name, const char *member,
                  const char *why)
{
    return cfbp_error_set(err, CFBP_ERROR_UNSAFE_ARCHIVE,
                          "refusing to extract %s: the member '%s' %s", archive_name, member, why);
}

enum member_verdict { MEMBER_EXTRACT, MEMBER_SKIP };

/*
 * Checks one member and rewrites its names to absolute paths under root.
 * Returns MEMBER_EXTRACT, MEMBER_SKIP (stripped away, or the "./" directory),
 * or -1 with err set.
 */
static int prepare_member(struct archive_entry *entry, const char *root, unsigned strip,
                          const char *archive_name, struct cfbp_error *err)
{
    const char *name = archive_entry_pathname(entry);
    if (!name)
        return cfbp_error_set(err, CFBP_ERROR_UNSAFE_ARCHIVE,
                              "refusing to extract %s: a member has no readable name",
                              archive_name);
    struct cfbp_strbuf clean = CFBP_STRBUF_INIT, target = CFBP_STRBUF_INIT;
    int result = MEMBER_EXTRACT;
    mode_t type = archive_entry_filetype(entry);
    const char *hardlink = archive_entry_hardlink(entry);
    if (name[0] == '/') {
        result = unsafe(err, archive_name, name, "has an absolute path");
    } else if (!cfbp_path_clean_relative(&clean, name)) {
        bool is_dot = strspn(name, "./") == strlen(name) && !strstr(name, "..");
        result = is_dot && type == AE_IFDIR
                     ? MEMBER_SKIP
                     : unsafe(err, archive_name, name, "has a '..' component or an empty name");
    } else if (!strip_path(&clean, strip)) {
        result = MEMBER_SKIP;
    } else if (hardlink) {
        if (hardlink[0] == '/' || !cfbp_path_clean_relative(&target, hardlink) ||
            !strip_path(&target, strip))
            result = unsafe(err, archive_name, name, "is a hard link that leaves the destination");
        else if (passes_through_symlink(root, target.buf))
            result = unsafe(err, archive_name, name, "is a hard link through a symlink");
    } else if (type == AE_IFLNK) {
        const char *link_target = archive_entry_symlink(entry);
        if (!link_target || !symlink_stays_inside(clean.buf, link_target))
            result = unsafe(err, archive_name, name,
                            "is a symlink whose target is absolute or leaves the destination");
    } else if (type != AE_IFREG && type != AE_IFDIR) {
        result = unsafe(err, archive_name, name,
                        "is a device, fifo or socket; only files, directories and links are "
                        "allowed");
    }
    if (result == MEMBER_EXTRACT) {
        struct cfbp_strbuf absolute = CFBP_STRBUF_INIT;
        cfbp_path_join(&absolute, root, clean.buf);
        archive_entry_set_pathname(entry, absolute.buf);
        if (hardlink) {
            cfbp_path_join(&absolute, root, target.buf);
            archive_entry_set_hardlink(entry, absolute.buf);
        }
        archive_entry_set_perm(entry, archive_entry_perm(entry) & ~(mode_t)(S_ISUID | S_ISGID));
        cfbp_strbuf_release(&absolute);
    }
    cfbp_strbuf_release(&clean);
    cfbp_strbuf_release(&target);
    return result;
}

/* --- extraction --- */

static int archive_failure(struct cfbp_error *err, struct archive *archive,
                           const char *archive_name)
{
    const char *why = archive_error_string(archive);
    return cfbp_error_set(err, CFBP_ERROR_INVALID, "cannot extract %s: %s", archive_name,
                          why ? why : "unknown libarchive error");
}

static int copy_member_data(struct archive *reader, struct archive *writer,
                            const char *archive_name, struct cfbp_error *err)
{
    for (;;) {
        const void *block;
        size_t size;
        la_int64_t offset;
        int status = archive_read_data_block(reader, &block, &size, &offset);
        if (status == ARCHIVE_EOF)
            return 0;
        if (status < ARCHIVE_WARN)
            return archive_failure(err, reader, archive_name);
        if (archive_write_data_block(writer, block, size, offset) < ARCHIVE_WARN)
            return archive_failure(err, writer, archive_name);
    }
}

static int extract_members(struct archive *reader, const char *root, unsigned strip,
                           const char *archive_name, struct cfbp_error *err)
{
    struct archive *writer = archive_write_disk_new();
    if (!writer)
        cfbp_alloc_failed(0);
    archive_write_disk_set_options(writer, ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_UNLINK |
                                               ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                               ARCHIVE_EXTRACT_SECURE_NODOTDOT);
    int result = 0;
    for (;;) {
        struct archive_entry *entry;
        int status = archive_read_next_header(reader, &entry);
        if (status == ARCHIVE_EOF)
            break;
        if (status < ARCHIVE_WARN) {
            result = archive_failure(err, reader, archive_name);
            break;
        }
        int verdict = prepare_member(entry, root, strip, archive_name, err);
        if (verdict < 0) {
            result = -1;
            break;
        }
        if (verdict == MEMBER_SKIP)
            continue;
        if (archive_write_header(writer, entry) < ARCHIVE_WARN) {
            result = archive_failure(err, writer, archive_name);
            break;
        }
        if (archive_entry_size(entry) > 0 &&
            copy_member_data(reader, writer, archive_name, err) < 0) {
            result = -1;
            break;
        }
        if (archive_write_finish_entry(writer) < ARCHIVE_WARN) {
            result = archive_failure(err, writer, archive_name);
            break;
        }
    }
    /* close() applies deferred directory modes, so it must run on success. */
    if (archive_write_close(writer) < ARCHIVE_WARN && result == 0)
        result = archive_failure(err, writer, archive_name);
    archive_write_free(writer);
    return result;
}

static int checksum_mismatch(struct cfbp_error *err, const char *expected, const char *actual)
{
    return cfbp_error_set(err, CFBP_ERROR_CHECKSUM,
                          "sha256 mismatch: expected sha256 %s, actual sha256 %s", expected,
                          actual);
}

/* Extracts a tar (of any compression) from fd into root, hashing as it reads. */
static int extract_tar_stream(int fd, enum cfbp_archive_kind kind, const char *root,
                              const struct cfbp_archive_request *request,
                              char actual_sha256[CFBP_DIGEST_HEX_SIZE], struct cfbp_error *err)
{
    struct hashing_reader reader = {.fd = fd};
    reader.buffer = cfbp_xmalloc(READ_BLOCK_SIZE);
    cfbp_digest_start(&reader.digest, CFBP_DIGEST_SHA256);
    struct archive *archive = archive_read_new();
    if (!archive)
        cfbp_alloc_failed(0);
    if (kind == CFBP_ARCHIVE_TAR_GZ)
        archive_read_support_filter_gzip(archive);
    else if (kind == CFBP_ARCHIVE_TAR_XZ)
        archive_read_support_filter_xz(archive);
    archive_read_support_format_tar(archive);
    int result;
    if (archive_read_open(archive, &reader, NULL, read_block, NULL) != ARCHIVE_OK)
        result = archive_failure(err, archive, request->file_name);
    else
        result = extract_members(archive, root, request->strip_components, request->file_name, err);
    archive_read_free(archive);
    bool read_failed = reader.read_errno != 0;
    int drain_errno = read_failed ? 0 : drain(&reader);
    cfbp_digest_finish_hex(&reader.digest, actual_sha256);
    free(reader.buffer);
    if (drain_errno && result == 0)
        result = cfbp_error_set_errno(err, CFBP_ERROR_IO, drain_errno, "cannot read %s",
                                      request->source);
    if (read_failed || drain_errno)
        return result; /* the digest of a partly read file means nothing */
    bool mismatch = request->expected_sha256 && strcmp(actual_sha256, request->expected_sha256);
    if (mismatch && result < 0) {
        /* A damaged download usually shows as both; the digest says which it was. */
        struct cfbp_error extraction = CFBP_ERROR_INIT;
        cfbp_error_move(&extraction, err);
        checksum_mismatch(err, request->expected_sha256, actual_sha256);
        cfbp_error_append(err, " (and it could not be extracted: %s)", extraction.message);
        cfbp_error_clear(&extraction);
        return -1;
    }
    if (mismatch)
        return checksum_mismatch(err, request->expected_sha256, actual_sha256);
    return result;
}

static int extract_zip(const char *root, const struct cfbp_archive_request *request,
                       char actual_sha256[CFBP_DIGEST_HEX_SIZE], struct cfbp_error *err)
{
    if (cfbp_digest_of_file(CFBP_DIGEST_SHA256, request->source, actual_sha256, err) < 0)
        return -1;
    if (request->expected_sha256 && strcmp(actual_sha256, request->expected_sha256))
        return checksum_mismatch(err, request->expected_sha256, actual_sha256);
    struct archive *archive = archive_read_new();
    if (!archive)
        cfbp_alloc_failed(0);
    archive_read_support_format_zip(archive);
    int result;
    if (archive_read_open_filename(archive, request->source, READ_BLOCK_SIZE) != ARCHIVE_OK)
        result = archive_failure(err, archive, request->file_name);
    else
        result = extract_members(archive, root, request->strip_components, request->file_name, err);
    archive_read_free(archive);
    return result;
}

/* --- single files --- */

/* Copies fd into the new file path (0644), hashing the bytes. */
static int copy_hashing(int fd, const char *path, const struct cfbp_archive_request *request,
                        char actual_sha256[CFBP_DIGEST_HEX_SIZE], struct cfbp_error *err)
{
    int out = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0)
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot write %s", path);
    struct hashing_reader reader = {.fd = fd};
    reader.buffer = cfbp_xmalloc(READ_BLOCK_SIZE);
    cfbp_digest_start(&reader.digest, CFBP_DIGEST_SHA256);
    int result = 0;
    for (;;) {
        ssize_t got = cfbp_fs_read(fd, reader.buffer, READ_BLOCK_SIZE);
        if (got < 0) {
            result =
                cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot read %s", request->source);
            break;
        }
        if (got == 0)
            break;
        cfbp_digest_update(&reader.digest, reader.buffer, (size_t)got);
        int saved = cfbp_fs_write_all(out, reader.buffer, (size_t)got);
        if (saved) {
            result = cfbp_error_set_errno(err, CFBP_ERROR_IO, saved, "cannot write %s", path);
            break;
        }
    }
    cfbp_digest_finish_hex(&reader.digest, actual_sha256);
    free(reader.buffer);
    if ((fchmod(out, 0644) < 0 || close(out) < 0) && result == 0)
        result = cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot write %s", path);
    if (result == 0 && request->expected_sha256 && strcmp(actual_sha256, request->expected_sha256))
        result = checksum_mismatch(err, request->expected_sha256, actual_sha256);
    return result;
}

/* The .sh case (the file becomes the destination) and plain copies. */
static int install_single_file(int fd, bool as_destination,
                               const struct cfbp_archive_request *request,
                               char actual_sha256[CFBP_DIGEST_HEX_SIZE], struct cfbp_error *err)
{
    struct cfbp_strbuf final_path = CFBP_STRBUF_INIT, temp = CFBP_STRBUF_INIT;
    struct cfbp_strbuf directory = CFBP_STRBUF_INIT, base = CFBP_STRBUF_INIT;
    if (as_destination) {
        cfbp_strbuf_set(&final_path, request->destination);
        cfbp_path_dirname(&directory, request->destination);
    } else {
        cfbp_path_join(&final_path, request->destination, request->file_name);
        cfbp_strbuf_set(&directory, request->destination);
    }
    int result = cfbp_fs_mkdir_p(directory.buf, 0755, err);
    if (result == 0) {
        cfbp_path_join(&temp, directory.buf, ".");
        cfbp_strbuf_append_string(&temp, cfbp_path_basename(&base, final_path.buf));
        cfbp_strbuf_append_format(&temp, ".cfbp-%ld", (long)getpid());
        unlink(temp.buf);
        result = copy_hashing(fd, temp.buf, request, actual_sha256, err);
        if (result == 0 && rename(temp.buf, final_path.buf) < 0)
            result = cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot move %s into place",
                                          final_path.buf);
        if (result < 0)
            unlink(temp.buf);
    }
    cfbp_strbuf_release(&final_path);
    cfbp_strbuf_release(&temp);
    cfbp_strbuf_release(&directory);
    cfbp_strbuf_release(&base);
    return result;
}

/* --- staging directory --- */

/* Removes staging directories a killed earlier run left inside directory. */
static void remove_stale_staging(const char *directory)
{
    struct cfbp_string_list names = CFBP_STRING_LIST_INIT;
    struct cfbp_error ignored = CFBP_ERROR_INIT;
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    if (cfbp_fs_list_directory(directory, &names, &ignored) == 0) {
        for (size_t i = 0; i < names.count; i++) {
            if (!cfbp_string_starts_with(names.items[i], STAGING_PREFIX))
                continue;
            cfbp_path_join(&path, directory, names.items[i]);
            cfbp_fs_remove_tree(path.buf, &ignored);
            cfbp_error_clear(&ignored);
        }
    }
    cfbp_error_clear(&ignored);
    cfbp_string_list_clear(&names);
    cfbp_strbuf_release(&path);
}

/*
 * Creates the staging directory: inside destination when it exists, else
 * beside it. Its real path (no symlinks, for libarchive's guard) goes in root.
 */
static int make_staging(const char *destination, bool *destination_existed,
                        struct cfbp_strbuf *staging, struct cfbp_strbuf *root,
                        struct cfbp_error *err)
{
    enum cfbp_fs_type type = cfbp_fs_type_of(destination);
    *destination_existed = type != CFBP_FS_MISSING;
    int result;
    if (type == CFBP_FS_DIRECTORY ||
        (type == CFBP_FS_SYMLINK && cfbp_fs_is_directory(destination))) {
        remove_stale_staging(destination);
        result = cfbp_fs_make_temp_dir(destination, STAGING_PREFIX, staging, err);
    } else if (type != CFBP_FS_MISSING) {
        return cfbp_error_set(err, CFBP_ERROR_IO,
                              "cannot install into %s: it exists and is not a directory",
                              destination);
    } else {
        struct cfbp_strbuf parent = CFBP_STRBUF_INIT, base = CFBP_STRBUF_INIT,
                           prefix = CFBP_STRBUF_INIT;
        cfbp_path_dirname(&parent, destination);
        cfbp_strbuf_append_format(&prefix, ".%s%s", cfbp_path_basename(&base, destination),
                                  STAGING_PREFIX);
        result = cfbp_fs_mkdir_p(parent.buf, 0755, err);
        if (result == 0)
            result = cfbp_fs_make_temp_dir(parent.buf, prefix.buf, staging, err);
        cfbp_strbuf_release(&parent);
        cfbp_strbuf_release(&base);
        cfbp_strbuf_release(&prefix);
    }
    if (result < 0)
        return -1;
    char *real = realpath(staging->buf, NULL);
    if (!real) {
        int saved = errno;
        rmdir(staging->buf);
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, saved, "cannot resolve %s", staging->buf);
    }
    cfbp_strbuf_set(root, real);
    free(real);
    return 0;
}

static int place_staging(const char *staging, const char *destination, bool destination_existed,
                         struct cfbp_error *err)
{
    if (destination_existed)
        return cfbp_fs_merge_move(staging, destination, err);
    if (rename(staging, destination) < 0)
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot move %s to %s", staging,
                                    destination);
    if (chmod(destination, 0755) < 0) /* mkdtemp made it 0700 */
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot set the mode of %s",
                                    destination);
    return 0;
}

static int install_archive(int fd, enum cfbp_archive_kind kind,
                           const struct cfbp_archive_request *request,
                           char actual_sha256[CFBP_DIGEST_HEX_SIZE], struct cfbp_error *err)
{
    struct cfbp_strbuf staging = CFBP_STRBUF_INIT, root = CFBP_STRBUF_INIT;
    bool destination_existed;
    int result = make_staging(request->destination, &destination_existed, &staging, &root, err);
    if (result < 0) {
        cfbp_strbuf_release(&staging);
        cfbp_strbuf_release(&root);
        return -1;
    }
    if (kind == CFBP_ARCHIVE_ZIP)
        result = extract_zip(root.buf, request, actual_sha256, err);
    else
        result = extract_tar_stream(fd, kind, root.buf, request, actual_sha256, err);
    if (result == 0)
        result = place_staging(staging.buf, request->destination, destination_existed, err);
    if (result < 0) {
        struct cfbp_error ignored = CFBP_ERROR_INIT;
        cfbp_fs_remove_tree(staging.buf, &ignored);
        cfbp_error_clear(&ignored);
    }
    cfbp_strbuf_release(&staging);
    cfbp_strbuf_release(&root);
    return result;
}

int cfbp_archive_install(const struct cfbp_archive_request *request,
                         char actual_sha256[CFBP_DIGEST_HEX_SIZE], struct cfbp_error *err)
{
    actual_sha256[0] = '\0';
    int fd = open(request->source, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cfbp_error_set_errno(err, errno == ENOENT ? CFBP_ERROR_NOT_FOUND : CFBP_ERROR_IO,
                                    errno, "cannot read %s", request->source);
    enum cfbp_archive_kind kind = cfbp_archive_kind_of(request->file_name);
    int result;
    if (kind == CFBP_ARCHIVE_SCRIPT || kind == CFBP_ARCHIVE_PLAIN)
        result = install_single_file(fd, kind == CFBP_ARCHIVE_SCRIPT, request, actual_sha256, err);
    else
        result = install_archive(fd, kind, request, actual_sha256, err);
    close(fd);
    return result;
}
