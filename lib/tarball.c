/*
 * tarball.c - reproducible .tgz archives of a directory tree (see tarball.h).
 *
 * The tree is walked depth first with every directory's entries sorted, so
 * member order depends only on the names. Format: pax restricted (plain
 * ustar headers unless a name is too long), gzip level 9, no timestamp.
 */
#include "cfbp/tarball.h"

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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define COPY_BLOCK (256 * 1024)

long long cfbp_source_date_epoch(void)
{
    const char *text = getenv("SOURCE_DATE_EPOCH");
    if (!text || !*text)
        return CFBP_DEFAULT_EPOCH;
    char *end;
    errno = 0;
    long long value = strtoll(text, &end, 10);
    if (errno || *end || value < 0)
        return CFBP_DEFAULT_EPOCH;
    return value;
}

struct writer {
    struct archive *archive;
    const struct cfbp_tarball_options *options;
    char *buffer;
    struct cfbp_error *err;
};

static int archive_error(struct writer *writer, const char *what)
{
    return cfbp_error_set(writer->err, CFBP_ERROR_IO, "cannot write %s: %s", what,
                          archive_error_string(writer->archive));
}

static mode_t normalised_mode(const struct writer *writer, const struct stat *st)
{
    if (writer->options->keep_modes)
        return st->st_mode & 07777;
    if (S_ISDIR(st->st_mode) || (st->st_mode & 0111))
        return 0755;
    return 0644;
}

static int copy_file_data(struct writer *writer, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cfbp_error_set_errno(writer->err, CFBP_ERROR_IO, errno, "cannot read %s", path);
    int result = 0;
    for (;;) {
        ssize_t got = cfbp_fs_read(fd, writer->buffer, COPY_BLOCK);
        if (got < 0) {
            result =
                cfbp_error_set_errno(writer->err, CFBP_ERROR_IO, errno, "cannot read %s", path);
            break;
        }
        if (got == 0)
            break;
        if (archive_write_data(writer->archive, writer->buffer, (size_t)got) != got) {
            result = archive_error(writer, path);
            break;
        }
    }
    close(fd);
    return result;
}

static int write_member(struct writer *writer, const char *path, const char *name,
                        const struct stat *st)
{
    struct archive_entry *entry = archive_entry_new();
    struct cfbp_strbuf member = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&member, writer->options->prefix ? writer->options->prefix : "");
    cfbp_strbuf_append_string(&member, name);
    if (!*name && member.len == 0)
        cfbp_strbuf_append_string(&member, "./"); /* the root itself, never "/" */
    if (S_ISDIR(st->st_mode) && member.buf[member.len - 1] != '/')
        cfbp_strbuf_append_char(&member, '/');
    archive_entry_set_pathname(entry, member.buf);
    archive_entry_set_uid(entry, 0);
    archive_entry_set_gid(entry, 0);
    archive_entry_set_mtime(
        entry, writer->options->keep_times ? st->st_mtime : (time_t)writer->options->mtime, 0);
    archive_entry_set_perm(entry, normalised_mode(writer, st));
    int result = 0;
    if (S_ISLNK(st->st_mode)) {
        char target[4096];
        ssize_t length = readlink(path, target, sizeof(target) - 1);
        if (length < 0) {
            result =
                cfbp_error_set_errno(writer->err, CFBP_ERROR_IO, errno, "cannot read %s", path);
        } else {
            target[length] = '\0';
            archive_entry_set_filetype(entry, AE_IFLNK);
            archive_entry_set_perm(entry, 0777);
            archive_entry_set_symlink(entry, target);
        }
    } else if (S_ISDIR(st->st_mode)) {
        archive_entry_set_filetype(entry, AE_IFDIR);
    } else if (S_ISREG(st->st_mode)) {
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_size(entry, st->st_size);
    } else {
        result = cfbp_error_set(writer->err, CFBP_ERROR_INVALID,
                                "cannot archive %s: only files, directories and links can be "
                                "archived",
                                path);
    }
    if (result == 0 && archive_write_header(writer->archive, entry) < ARCHIVE_WARN)
        result = archive_error(writer, member.buf);
    if (result == 0 && S_ISREG(st->st_mode) && st->st_size > 0)
        result = copy_file_data(writer, path);
    archive_entry_free(entry);
    cfbp_strbuf_release(&member);
    return result;
}

/* Writes the entries of directory (shown as name_prefix in the archive), sorted, recursively. */
static int write_directory(struct writer *writer, const char *directory, const char *name_prefix)
{
    struct cfbp_string_list names = CFBP_STRING_LIST_INIT;
    struct cfbp_strbuf path = CFBP_STRBUF_INIT, name = CFBP_STRBUF_INIT;
    int result = cfbp_fs_list_directory(directory, &names, writer->err);
    for (size_t i = 0; result == 0 && i < names.count; i++) {
        cfbp_path_join(&path, directory, names.items[i]);
        cfbp_strbuf_set(&name, name_prefix);
        cfbp_strbuf_append_string(&name, names.items[i]);
        struct stat st;
        if (lstat(path.buf, &st) < 0) {
            result =
                cfbp_error_set_errno(writer->err, CFBP_ERROR_IO, errno, "cannot read %s", path.buf);
            break;
        }
        result = write_member(writer, path.buf, name.buf, &st);
        if (result == 0 && S_ISDIR(st.st_mode)) {
            cfbp_strbuf_append_char(&name, '/');
            result = write_directory(writer, path.buf, name.buf);
        }
    }
    cfbp_string_list_clear(&names);
    cfbp_strbuf_release(&path);
    cfbp_strbuf_release(&name);
    return result;
}

int cfbp_tarball_write_tree(const char *path, const char *directory,
                            const struct cfbp_tarball_options *options, struct cfbp_error *err)
{
    struct cfbp_strbuf temp = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&temp, "%s.partial-%ld", path, (long)getpid());
    struct writer writer = {archive_write_new(), options, cfbp_xmalloc(COPY_BLOCK), err};
    if (!writer.archive)
        cfbp_alloc_failed(0);
    int result = 0;
    if (archive_write_add_filter_gzip(writer.archive) != ARCHIVE_OK ||
        archive_write_set_filter_option(writer.archive, "gzip", "timestamp", NULL) != ARCHIVE_OK ||
        archive_write_set_filter_option(writer.archive, "gzip", "compression-level", "9") !=
            ARCHIVE_OK ||
        archive_write_set_format_pax_restricted(writer.archive) != ARCHIVE_OK ||
        archive_write_open_filename(writer.archive, temp.buf) != ARCHIVE_OK)
        result = archive_error(&writer, path);
    if (result == 0 && options->include_root) {
        struct stat st;
        if (lstat(directory, &st) < 0)
            result = cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot read %s", directory);
        else
            result = write_member(&writer, directory, "", &st);
    }
    if (result == 0)
        result = write_directory(&writer, directory, "");
    if (archive_write_close(writer.archive) != ARCHIVE_OK && result == 0)
        result = archive_error(&writer, path);
    archive_write_free(writer.archive);
    free(writer.buffer);
    if (result == 0 && rename(temp.buf, path) < 0)
        result = cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot write %s", path);
    if (result < 0)
        unlink(temp.buf);
    cfbp_strbuf_release(&temp);
    return result;
}
