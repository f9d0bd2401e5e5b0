/*
 * archive.c - safe, verified, all-or-nothing installation of one file
 * (see archive.h).
 *
 * libarchive reads; we write. Every member is created relative to a
 * descriptor of the work directory (workdir.h), through directories opened
 * with O_NOFOLLOW (or openat2 RESOLVE_NO_SYMLINKS, beneath.h), so no link in
 * the tree, planted by an earlier member or not, is ever followed by a write.
 * On top of that the tree keeps an invariant that makes every link it holds
 * resolve inside it:
 *
 *   - a directory, once made, stays a directory (a member may replace one
 *     only while it is empty);
 *   - a symlink may climb ("..") only at the start of its target and no
 *     higher than its own depth, then only descend;
 *   - a hard link to a symlink is such a symlink at the link's own place,
 *     so its target is checked again there;
 *   - a hard link to a directory, or to anything not yet in the tree, is
 *     refused.
 *
 * The climbs of a link go through the real directories above it (they stay
 * directories), and the links it descends through obey the same rule, so by
 * induction no target resolves outside.
 *
 * Every write, mode change and close is checked: a full disk or a file size
 * limit fails the install, which then removes the work directory and leaves
 * the destination exactly as it was (its times included). Directory modes
 * are applied last, once the tree is in place, so a read-only directory in
 * the archive cannot stop its own members from being written.
 *
 * Threads share the work. For tars, a reader thread reads the input (a
 * file, a pipe or a socket), hashes it and decompresses it
 * (archive_pipeline.h) while this thread parses the members and writes them;
 * for zips, which are read from a file, a second thread hashes the whole file
 * while this one extracts it. Either way the tree is placed only after the
 * digest matched. Once an archive has a few small files, they go to a write
 * queue (write_queue.h) whose thread creates them while this one goes on,
 * and writes some too when the queue is full: a node_modules is mostly the
 * kernel creating files, and that work then runs on both cores. Members
 * that depend on a queued file (at or under its path, a hard link, anything
 * that clears a place) wait for the queue first, so the tree and the error
 * are those of writing every member in order. Members are created in one
 * call where nothing stands in their way (O_EXCL first, clear_place only
 * when that fails), with their mode when the umask leaves it whole, through
 * a small cache of open directories.
 */
#include "cfbp/archive.h"

#include "archive_layout.h"
#include "archive_pipeline.h"
#include "write_queue.h"

#include "cfbp/alloc.h"
#include "cfbp/beneath.h"
#include "cfbp/cancel.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/path.h"
#include "cfbp/strbuf.h"
#include "cfbp/string_list.h"
#include "cfbp/workdir.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_BLOCK_SIZE (256 * 1024)
/* Member permissions kept: no setuid or setgid bits from an archive. */
#define FILE_MODE_MASK      01777
#define DIRECTORY_MODE_MASK 01777

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

/* --- checking members --- */

static size_t count_components(const char *path)
{
    size_t count = 1;
    for (; *path; path++)
        count += *path == '/';
    return count;
}

/*
 * True when a symlink at link_path (clean, relative to the root) with this
 * target resolves inside the root: ".." only at the start, at most as many as
 * the link's depth, then only descending (see the invariant above).
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

/* The most of a member's name a message shows: names can be longer than PATH_MAX. */
#define SHOWN_NAME_LIMIT 300

static int unsafe(struct cfbp_error *err, const char *archive_name, const char *member,
                  const char *why)
{
    size_t length = strlen(member);
    return cfbp_error_set(err, CFBP_ERROR_UNSAFE_ARCHIVE,
                          "refusing to extract %s: the member '%.*s%s' %s", archive_name,
                          (int)(length > SHOWN_NAME_LIMIT ? SHOWN_NAME_LIMIT : length), member,
                          length > SHOWN_NAME_LIMIT ? "..." : "", why);
}

enum member_verdict { MEMBER_EXTRACT, MEMBER_SKIP };

/*
 * Checks one member's names and type. Puts its clean, stripped path in
 * clean and, for a hard link, its target's in target. Returns
 * MEMBER_EXTRACT, MEMBER_SKIP (stripped away, or the "./" directory), or -1
 * with err set.
 */
static int check_member(struct archive_entry *entry, unsigned strip, const char *archive_name,
                        struct cfbp_strbuf *clean, struct cfbp_strbuf *target,
                        struct cfbp_error *err)
{
    const char *name = archive_entry_pathname(entry);
    if (!name)
        return cfbp_error_set(err, CFBP_ERROR_UNSAFE_ARCHIVE,
                              "refusing to extract %s: a member has no readable name",
                              archive_name);
    mode_t type = archive_entry_filetype(entry);
    const char *hardlink = archive_entry_hardlink(entry);
    if (name[0] == '/')
        return unsafe(err, archive_name, name, "has an absolute path");
    if (!cfbp_path_clean_relative(clean, name)) {
        bool is_dot = strspn(name, "./") == strlen(name) && !strstr(name, "..");
        return is_dot && type == AE_IFDIR
                   ? MEMBER_SKIP
                   : unsafe(err, archive_name, name, "has a '..' component or an empty name");
    }
    if (!strip_path(clean, strip))
        return MEMBER_SKIP;
    for (const char *component = clean->buf; *component;) {
        size_t length = strcspn(component, "/");
        char *copy = cfbp_xstrndup(component, length);
        bool temporary = cfbp_fs_is_write_temp_name(copy);
        bool work = cfbp_workdir_is_reserved_name(copy);
        free(copy);
        if (temporary)
            return unsafe(err, archive_name, name,
                          "has a name reserved for temporary files (.<name>.cfbp-<pid>-<n>), "
                          "which staging removes");
        /* At any depth: a later install into the directory holding it would read it. */
        if (work)
            return unsafe(err, archive_name, name,
                          "has a name reserved for the work directories of installs "
                          "(.cfbp-install-*, .<name>.cfbp-install-*)");
        component += length + (component[length] == '/');
    }
    if (hardlink) {
        if (hardlink[0] == '/' || !cfbp_path_clean_relative(target, hardlink) ||
            !strip_path(target, strip))
            return unsafe(err, archive_name, name, "is a hard link that leaves the destination");
        return MEMBER_EXTRACT;
    }
    if (type == AE_IFLNK) {
        const char *link_target = archive_entry_symlink(entry);
        if (!link_target || !symlink_stays_inside(clean->buf, link_target))
            return unsafe(err, archive_name, name,
                          "is a symlink whose target is absolute or leaves the destination");
        return MEMBER_EXTRACT;
    }
    if (type != AE_IFREG && type != AE_IFDIR)
        return unsafe(err, archive_name, name,
                      "is a device, fifo or socket; only files, directories and links are "
                      "allowed");
    return MEMBER_EXTRACT;
}

/* --- writing members --- */

struct directory_mode {
    char *path; /* relative to the root */
    mode_t mode;
    size_t order;
};

/*
 * A directory of the tree kept open. Directories stay directories, and one is
 * removed only while empty (clear_place), which drops it and everything under
 * it from the cache: a cached descriptor always names the directory its path
 * names now.
 */
struct open_directory {
    struct cfbp_strbuf path; /* relative to the root */
    int fd;                  /* -1: unused */
    unsigned long last_use;
    struct write_directory *shared; /* fd, once queued files go in it (write_queue.h) */
};

#define OPEN_DIRECTORY_CACHE_SIZE 16

/*
 * Where the tree is. The usual layout keeps it in the work directory's
 * "tree", beside the journal of its merge (LAYOUT_TREE). When the
 * destination is a directory, the work directory (made for
 * CFBP_WORKDIR_TOP: never read for a journal) may instead stand for the
 * tree's only top-level directory T (LAYOUT_TOP): the member T/x is written
 * at x, and at the end the work directory is renamed to T, when T is free
 * in the destination. The most common archive, one directory of everything,
 * then costs no directory of the install's own to make or remove. The first
 * member decides (LAYOUT_UNDECIDED until then); a member top mode cannot
 * hold (another top-level name, T as anything but a directory, a hard link
 * to outside T), or a T already in the destination, moves the tree to the
 * usual layout (use_tree_layout). Messages, the write queue and directory
 * modes know members by their names in the archive, whatever the layout.
 */
enum tree_layout { LAYOUT_UNDECIDED, LAYOUT_TOP, LAYOUT_TREE };

bool cfbpi_archive_top_mode = true;
void (*cfbpi_archive_placing_hook)(int destination_fd, const char *name);

struct extractor {
    int root_fd; /* the tree: tree_fd, the work directory's in top mode, -1 before the first member
                  */
    enum tree_layout layout;
    struct cfbp_workdir *workdir; /* the install's, replaced when the layout changes */
    const char *destination;
    int tree_fd; /* the work directory's "tree" (LAYOUT_TREE), or -1 */
    const char *archive_name;
    unsigned strip;
    /* The directories members went into lately, kept open for the next ones. */
    struct open_directory parents[OPEN_DIRECTORY_CACHE_SIZE];
    unsigned long uses;
    /* The process's umask, or -1 when unknown: files made with their mode need no fchmod. */
    int umask;
    /* Directory members, whose modes are applied once the tree is in place. */
    struct directory_mode *directories;
    size_t directory_count, directory_alloc;
    /* Small files go to a second thread (write_queue.h) once there are a few. */
    struct write_queue *queue;
    size_t small_files;
    bool no_queue;       /* no thread could be started: all written here */
    bool settling;       /* writing the files the queue handed back */
    bool queue_reported; /* a failure of the queue is already in the error */
    /* The tree's top-level names: the first component of every member extracted. */
    char *top_name; /* while there is one */
    bool several_tops;
    bool implicit_top; /* top mode's T has no member of its own yet: its mode is 0755 & ~umask */
};

/*
 * The umask, read from /proc/self/status: umask(2) can only tell it by
 * changing it, which other threads of the program would see. -1 if unknown.
 */
static int current_umask(void)
{
    FILE *status = fopen("/proc/self/status", "re");
    if (!status)
        return -1;
    char line[256];
    unsigned value;
    int result = -1;
    while (fgets(line, sizeof(line), status))
        if (sscanf(line, "Umask: %o", &value) == 1) {
            result = (int)(value & 0777);
            break;
        }
    fclose(status);
    return result;
}

static void extractor_init(struct extractor *extractor, struct cfbp_workdir *workdir,
                           const char *destination, const char *archive_name, unsigned strip)
{
    memset(extractor, 0, sizeof(*extractor));
    extractor->root_fd = -1;
    extractor->tree_fd = -1;
    extractor->workdir = workdir;
    extractor->destination = destination;
    extractor->archive_name = archive_name;
    extractor->strip = strip;
    for (size_t i = 0; i < OPEN_DIRECTORY_CACHE_SIZE; i++) {
        cfbp_strbuf_init(&extractor->parents[i].path, 0);
        extractor->parents[i].fd = -1;
    }
    extractor->umask = current_umask();
}

/* Closes a cached directory (or lets the queued files that go in it close it). */
static void forget_parent_at(struct open_directory *entry)
{
    if (entry->shared)
        cfbpi_write_directory_release(entry->shared);
    else if (entry->fd >= 0)
        close(entry->fd);
    entry->fd = -1;
    entry->shared = NULL;
    cfbp_strbuf_reset(&entry->path);
}

static void forget_parents(struct extractor *extractor)
{
    for (size_t i = 0; i < OPEN_DIRECTORY_CACHE_SIZE; i++)
        forget_parent_at(&extractor->parents[i]);
}

/* Where the member clean is in the tree: after "T/" in top mode, "" for T itself. */
static const char *tree_path(const struct extractor *extractor, const char *clean)
{
    if (extractor->layout != LAYOUT_TOP)
        return clean;
    size_t length = strlen(extractor->top_name);
    return clean[length] == '/' ? clean + length + 1 : clean + length;
}

/* Drops the cached directory relative and those under it (it was removed). */
static void forget_parents_under(struct extractor *extractor, const char *relative)
{
    size_t length = strlen(relative);
    for (size_t i = 0; i < OPEN_DIRECTORY_CACHE_SIZE; i++) {
        struct open_directory *entry = &extractor->parents[i];
        if (entry->fd >= 0 && strncmp(entry->path.buf, relative, length) == 0 &&
            (entry->path.buf[length] == '\0' || entry->path.buf[length] == '/'))
            forget_parent_at(entry);
    }
}

static void extractor_release(struct extractor *extractor)
{
    forget_parents(extractor); /* before the queue: its directories count on it */
    cfbpi_write_queue_free(extractor->queue);
    extractor->queue = NULL;
    for (size_t i = 0; i < OPEN_DIRECTORY_CACHE_SIZE; i++)
        cfbp_strbuf_release(&extractor->parents[i].path);
    for (size_t i = 0; i < extractor->directory_count; i++)
        free(extractor->directories[i].path);
    free(extractor->directories);
    free(extractor->top_name);
    if (extractor->tree_fd >= 0)
        close(extractor->tree_fd);
}

/* Names a member for messages: "<archive> (member <path>)". */
static void member_display(struct cfbp_strbuf *out, const struct extractor *extractor,
                           const char *relative)
{
    size_t length = strlen(relative);
    cfbp_strbuf_reset(out);
    cfbp_strbuf_append_format(out, "%s (member %.*s%s)", extractor->archive_name,
                              (int)(length > SHOWN_NAME_LIMIT ? SHOWN_NAME_LIMIT : length),
                              relative, length > SHOWN_NAME_LIMIT ? "..." : "");
}

static int write_failure(struct cfbp_error *err, const struct extractor *extractor,
                         const char *member, int errnum)
{
    struct cfbp_strbuf display = CFBP_STRBUF_INIT;
    member_display(&display, extractor, member);
    cfbp_fs_write_error(err, errnum, display.buf);
    cfbp_strbuf_release(&display);
    return -1;
}

/* Splits relative into its directory (in parent) and its last component (returned). */
static const char *split_path(const char *relative, struct cfbp_strbuf *parent)
{
    const char *slash = strrchr(relative, '/');
    cfbp_strbuf_reset(parent);
    if (!slash)
        return relative;
    cfbp_strbuf_append(parent, relative, (size_t)(slash - relative));
    return slash + 1;
}

/*
 * Walks to the directory parent one component at a time, making missing
 * directories (0755) and replacing a symlink an earlier member left on the
 * way with a real directory, as libarchive does with its UNLINK and
 * SECURE_SYMLINKS options: the member goes where its name says, never where
 * a link points. Returns the directory's descriptor or -1.
 */
static int walk_replacing_links(struct extractor *extractor, const char *parent, const char *member,
                                struct cfbp_error *err)
{
    int current = openat(extractor->root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct cfbp_strbuf component = CFBP_STRBUF_INIT;
    for (const char *cursor = parent; current >= 0 && *cursor;) {
        size_t length = strcspn(cursor, "/");
        cfbp_strbuf_reset(&component);
        cfbp_strbuf_append(&component, cursor, length);
        cursor += length + (cursor[length] == '/');
        if (cfbp_fs_type_at(current, component.buf) == CFBP_FS_SYMLINK &&
            unlinkat(current, component.buf, 0) < 0) {
            write_failure(err, extractor, member, errno);
            close(current);
            current = -1;
            break;
        }
        if (mkdirat(current, component.buf, 0755) < 0 && errno != EEXIST) {
            write_failure(err, extractor, member, errno);
            close(current);
            current = -1;
            break;
        }
        int next = openat(current, component.buf, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (next < 0)
            cfbp_error_set(err, CFBP_ERROR_INVALID,
                           "cannot extract %s: the member '%s' is inside something that is not a "
                           "directory",
                           extractor->archive_name, member);
        close(current);
        current = next;
    }
    cfbp_strbuf_release(&component);
    return current;
}

/*
 * The directory for a member (see walk_replacing_links), kept open for the
 * next members (the least recently used one is closed to make room).
 * Returns its cache entry, or NULL.
 */
static struct open_directory *open_parent(struct extractor *extractor, const char *parent,
                                          const char *member, struct cfbp_error *err)
{
    struct open_directory *slot = &extractor->parents[0];
    for (size_t i = 0; i < OPEN_DIRECTORY_CACHE_SIZE; i++) {
        struct open_directory *entry = &extractor->parents[i];
        if (entry->fd >= 0 && strcmp(entry->path.buf, parent) == 0) {
            entry->last_use = ++extractor->uses;
            return entry;
        }
        if (slot->fd >= 0 && (entry->fd < 0 || entry->last_use < slot->last_use))
            slot = entry;
    }
    forget_parent_at(slot);
    struct cfbp_error why = CFBP_ERROR_INIT;
    int fd = cfbp_beneath_open_directory_at(extractor->root_fd, ".", parent, true, 0755, &why);
    if (fd < 0 && why.kind != CFBP_ERROR_UNSAFE_PATH && why.kind != CFBP_ERROR_IO) {
        cfbp_error_move(err, &why);
        return NULL;
    }
    cfbp_error_clear(&why);
    if (fd < 0)
        fd = walk_replacing_links(extractor, parent, member, err);
    if (fd < 0)
        return NULL;
    slot->fd = fd;
    slot->last_use = ++extractor->uses;
    cfbp_strbuf_set(&slot->path, parent);
    return slot;
}

/*
 * Waits for the write queue, then writes the files it handed back (their
 * place was taken), in order, as members written here are: so that whatever
 * comes next sees the tree as if every member before it was written in
 * order. Reports the earliest failure: a handed-back file's, else the
 * queue's own (every handed-back file came before it).
 */
static int write_job_here(struct extractor *extractor, struct write_job *job,
                          struct cfbp_error *err);

static int settle_queue(struct extractor *extractor, struct cfbp_error *err)
{
    if (!extractor->queue || extractor->settling)
        return 0;
    extractor->settling = true;
    int failure_errno;
    const char *failure_path;
    struct write_job *jobs =
        cfbpi_write_queue_settle(extractor->queue, &failure_errno, &failure_path);
    int result = 0;
    while (jobs) {
        struct write_job *job = jobs;
        jobs = job->next;
        if (result == 0)
            result = write_job_here(extractor, job, err);
        cfbpi_write_job_free(job);
    }
    if (result == 0 && failure_errno)
        result = write_failure(err, extractor, failure_path, failure_errno);
    if (result < 0)
        extractor->queue_reported = true;
    extractor->settling = false;
    return result;
}

/*
 * Makes room for a new member at name: a file or link there goes, an empty
 * directory goes, a directory holding anything is an error (directories
 * stay directories).
 */
static int clear_place(struct extractor *extractor, int parent_fd, const char *name,
                       const char *member, struct cfbp_error *err)
{
    /* What is removed here may be where a queued file goes: the queue goes first. */
    if (settle_queue(extractor, err) < 0)
        return -1;
    enum cfbp_fs_type type = cfbp_fs_type_at(parent_fd, name);
    if (type == CFBP_FS_MISSING)
        return 0;
    /* An empty directory may go, and with it its descriptor in the cache. */
    if (type == CFBP_FS_DIRECTORY) {
        if (unlinkat(parent_fd, name, AT_REMOVEDIR) == 0) {
            forget_parents_under(extractor, tree_path(extractor, member));
            return 0;
        }
        return unsafe(err, extractor->archive_name, member,
                      "would replace a directory that holds other members");
    }
    if (unlinkat(parent_fd, name, 0) < 0 && errno != ENOENT) {
        struct cfbp_strbuf display = CFBP_STRBUF_INIT;
        member_display(&display, extractor, member);
        cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot replace %s", display.buf);
        cfbp_strbuf_release(&display);
        return -1;
    }
    return 0;
}

static int read_failure(struct cfbp_error *err, struct archive *reader, const char *archive_name)
{
    const char *why = archive_error_string(reader);
    return cfbp_error_set(err, CFBP_ERROR_INVALID, "cannot extract %s: %s", archive_name,
                          why ? why : "unknown libarchive error");
}

static int pwrite_all(int fd, const char *data, size_t length, off_t offset)
{
    while (length > 0) {
        ssize_t written = pwrite(fd, data, length, offset);
        if (written < 0 && errno == EINTR)
            continue;
        if (written < 0)
            return errno;
        if (written == 0)
            return ENOSPC;
        data += written;
        length -= (size_t)written;
        offset += written;
    }
    return 0;
}

/*
 * Creates a file: first as if nothing stood at its place (the common case,
 * one call), then, when something does, after clear_place made room.
 */
static int create_member(struct extractor *extractor, int parent_fd, const char *name,
                         const char *member, int flags, mode_t mode, struct cfbp_error *err)
{
    int fd = openat(parent_fd, name, flags, mode);
    if (fd < 0 && errno == EEXIST) {
        if (clear_place(extractor, parent_fd, name, member, err) < 0)
            return -1;
        fd = openat(parent_fd, name, flags, mode);
    }
    if (fd < 0)
        write_failure(err, extractor, member, errno);
    return fd;
}

/*
 * The mode a file is created with: its own when the umask leaves it whole,
 * so that no fchmod is needed after (*chmod_mode -1); otherwise 0600, and
 * *chmod_mode is the mode to set once it is written.
 */
static mode_t creation_mode(const struct extractor *extractor, struct archive_entry *entry,
                            int *chmod_mode)
{
    mode_t mode = archive_entry_perm(entry) & FILE_MODE_MASK;
    bool whole =
        extractor->umask >= 0 && !(mode & ~(mode_t)0777) && !(mode & (mode_t)extractor->umask);
    *chmod_mode = whole ? -1 : (int)mode;
    return whole ? mode : 0600;
}

/* A piece of a member's data. */
struct data_block {
    const void *data;
    size_t size;
    la_int64_t offset;
};

/* The next piece of the current member's data: 1, or 0 at its end, or -1 (err set). */
static int next_block(struct extractor *extractor, struct archive *reader, struct data_block *block,
                      struct cfbp_error *err)
{
    for (;;) {
        int status = archive_read_data_block(reader, &block->data, &block->size, &block->offset);
        if (status == ARCHIVE_EOF)
            return 0;
        if (status != ARCHIVE_OK && status != ARCHIVE_WARN)
            return read_failure(err, reader, extractor->archive_name);
        if (block->size > 0)
            return 1;
    }
}

/*
 * Writes a regular file's data at the offsets libarchive gives (holes stay
 * holes): first the held blocks, already read, then the rest of the member.
 */
static int write_regular(struct extractor *extractor, struct archive *reader,
                         struct archive_entry *entry, int parent_fd, const char *name,
                         const char *member, const struct data_block *held, size_t held_count,
                         struct cfbp_error *err)
{
    int chmod_mode;
    mode_t mode = creation_mode(extractor, entry, &chmod_mode);
    int fd = create_member(extractor, parent_fd, name, member,
                           O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode, err);
    if (fd < 0)
        return -1;
    int saved = 0, result = 0;
    la_int64_t end = 0;
    for (size_t i = 0;; i++) {
        struct data_block block;
        if (i < held_count)
            block = held[i];
        else if ((result = next_block(extractor, reader, &block, err)) <= 0)
            break;
        result = 0;
        saved = pwrite_all(fd, block.data, block.size, (off_t)block.offset);
        if (saved)
            break;
        if (block.offset + (la_int64_t)block.size > end)
            end = block.offset + (la_int64_t)block.size;
    }
    la_int64_t size = archive_entry_size_is_set(entry) ? archive_entry_size(entry) : 0;
    if (result == 0 && !saved && size > end && ftruncate(fd, (off_t)size) < 0)
        saved = errno;
    if (result == 0 && !saved && chmod_mode >= 0 && fchmod(fd, (mode_t)chmod_mode) < 0)
        saved = errno;
    if (close(fd) < 0 && result == 0 && !saved)
        saved = errno;
    if (result == 0 && saved)
        result = write_failure(err, extractor, member, saved);
    return result;
}

/* Writes a file the queue handed back (see settle_queue), or had no room for, here. */
static int write_job_here(struct extractor *extractor, struct write_job *job,
                          struct cfbp_error *err)
{
    int fd =
        create_member(extractor, job->parent->fd, job->path + job->name_start, job->path,
                      O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, job->create_mode, err);
    if (fd < 0)
        return -1;
    int saved = cfbpi_write_job_fill(fd, job);
    return saved ? write_failure(err, extractor, job->path, saved) : 0;
}

/* Whether a regular file goes to the write queue (starting it when there are a few). */
static bool worth_queueing(struct extractor *extractor, struct archive_entry *entry)
{
    if (!archive_entry_size_is_set(entry) || archive_entry_size(entry) < 0 ||
        archive_entry_size(entry) > WRITE_QUEUE_FILE_SIZE)
        return false;
    if (!extractor->queue && !extractor->no_queue &&
        extractor->small_files++ >= cfbpi_write_queue_files_before_start) {
        /* Without a second thread, everything is written here as before. */
        extractor->queue = cfbpi_write_queue_start();
        extractor->no_queue = extractor->queue == NULL;
    }
    return extractor->queue != NULL;
}

/*
 * Reads a small regular file's data and queues it for the write queue's
 * thread. Data out of the ordinary (a sparse map going back, bytes past the
 * member's size) is written here instead, from where it was.
 */
static int queue_regular(struct extractor *extractor, struct archive *reader,
                         struct archive_entry *entry, struct open_directory *parent,
                         const char *name, const char *member, struct cfbp_error *err)
{
    size_t size = (size_t)archive_entry_size(entry);
    struct write_job *job = cfbp_xcalloc(1, sizeof(*job));
    job->data = cfbp_xmalloc(size ? size : 1);
    int more;
    struct data_block block;
    while ((more = next_block(extractor, reader, &block, err)) > 0) {
        if (block.offset < (la_int64_t)job->length || block.offset > (la_int64_t)size ||
            block.size > size - (size_t)block.offset) {
            struct data_block held[2] = {{job->data, job->length, 0}, block};
            size_t first = job->length == 0; /* nothing read before this block */
            int result = write_regular(extractor, reader, entry, parent->fd, name, member,
                                       held + first, 2 - first, err);
            cfbpi_write_job_free(job);
            return result;
        }
        /* A hole inside a small file is written as zeros. */
        memset(job->data + job->length, 0, (size_t)block.offset - job->length);
        memcpy(job->data + block.offset, block.data, block.size);
        job->length = (size_t)block.offset + block.size;
    }
    if (more < 0) {
        cfbpi_write_job_free(job);
        return -1;
    }
    if (!parent->shared)
        parent->shared = cfbpi_write_directory_new(extractor->queue, parent->fd);
    cfbpi_write_directory_hold(parent->shared);
    job->parent = parent->shared;
    job->path = cfbp_xstrdup(member);
    job->name_start = (size_t)(name - member);
    job->create_mode = creation_mode(extractor, entry, &job->chmod_mode);
    job->size = (off_t)size;
    if (cfbpi_write_queue_add(extractor->queue, job))
        return 0;
    /* The queue is full: this thread writes too rather than wait. */
    int result = write_job_here(extractor, job, err);
    cfbpi_write_job_free(job);
    return result;
}

static void remember_directory(struct extractor *extractor, const char *relative, mode_t mode)
{
    CFBP_GROW(extractor->directories, extractor->directory_alloc, extractor->directory_count + 1);
    struct directory_mode *entry = &extractor->directories[extractor->directory_count];
    entry->path = cfbp_xstrdup(relative);
    entry->mode = mode & DIRECTORY_MODE_MASK;
    entry->order = extractor->directory_count++;
}

static int make_directory(struct extractor *extractor, int parent_fd, const char *name,
                          const char *member, mode_t mode, struct cfbp_error *err)
{
    /* mkdirat first: a directory that is already there is the common case after it. */
    if (mkdirat(parent_fd, name, 0700) < 0) {
        if (errno != EEXIST)
            return write_failure(err, extractor, member, errno);
        if (cfbp_fs_type_at(parent_fd, name) != CFBP_FS_DIRECTORY) {
            if (clear_place(extractor, parent_fd, name, member, err) < 0)
                return -1;
            if (mkdirat(parent_fd, name, 0700) < 0)
                return write_failure(err, extractor, member, errno);
        }
    }
    remember_directory(extractor, member, mode);
    return 0;
}

static int make_symlink(struct extractor *extractor, int parent_fd, const char *name,
                        const char *member, const char *target, struct cfbp_error *err)
{
    if (symlinkat(target, parent_fd, name) == 0)
        return 0;
    if (errno != EEXIST)
        return write_failure(err, extractor, member, errno);
    if (clear_place(extractor, parent_fd, name, member, err) < 0)
        return -1;
    if (symlinkat(target, parent_fd, name) < 0)
        return write_failure(err, extractor, member, errno);
    return 0;
}

/* Reads the target of the symlink name in directory_fd, whatever its length. */
static int read_link_at(int directory_fd, const char *name, struct cfbp_strbuf *out)
{
    struct stat st;
    if (fstatat(directory_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISLNK(st.st_mode))
        return -1;
    size_t size = (size_t)st.st_size + 1;
    cfbp_strbuf_reset(out);
    cfbp_strbuf_grow(out, size);
    ssize_t length = readlinkat(directory_fd, name, out->buf, size);
    if (length < 0 || (size_t)length >= size)
        return -1; /* changed while we looked: refuse rather than guess */
    cfbp_strbuf_set_length(out, (size_t)length);
    return 0;
}

/*
 * A hard link to target (clean, relative to the root), which must already be
 * in the tree and be a file or a symlink that is safe at the link's place.
 */
static int make_hardlink(struct extractor *extractor, int parent_fd, const char *name,
                         const char *member, const char *target, struct cfbp_error *err)
{
    if (strcmp(member, target) == 0)
        return 0; /* a link to itself changes nothing */
    struct cfbp_strbuf target_parent = CFBP_STRBUF_INIT;
    const char *target_name = split_path(tree_path(extractor, target), &target_parent);
    struct cfbp_error why = CFBP_ERROR_INIT;
    int target_fd =
        cfbp_beneath_open_directory_at(extractor->root_fd, ".", target_parent.buf, false, 0, &why);
    int result = 0;
    enum cfbp_fs_type type =
        target_fd < 0 ? CFBP_FS_MISSING : cfbp_fs_type_at(target_fd, target_name);
    if (why.kind == CFBP_ERROR_UNSAFE_PATH) {
        result = unsafe(err, extractor->archive_name, member, "is a hard link through a symlink");
    } else if (type == CFBP_FS_MISSING) {
        result = cfbp_error_set(err, CFBP_ERROR_INVALID,
                                "cannot extract %s: the member '%s' is a hard link to '%s', which "
                                "is not in the archive before it",
                                extractor->archive_name, member, target);
    } else if (type == CFBP_FS_DIRECTORY || type == CFBP_FS_OTHER) {
        result = unsafe(err, extractor->archive_name, member,
                        "is a hard link to a directory or a special file");
    } else if (type == CFBP_FS_SYMLINK) {
        /* A second name for a symlink is a symlink at this place: check it here. */
        struct cfbp_strbuf link_target = CFBP_STRBUF_INIT;
        if (read_link_at(target_fd, target_name, &link_target) < 0 ||
            !symlink_stays_inside(member, link_target.buf))
            result = unsafe(err, extractor->archive_name, member,
                            "is a hard link to a symlink whose target leaves the destination "
                            "from the link's place");
        cfbp_strbuf_release(&link_target);
    }
    cfbp_error_clear(&why);
    /* clear_place may close the cached parent: only when it is not ours here. */
    if (result == 0 && clear_place(extractor, parent_fd, name, member, err) < 0)
        result = -1;
    if (result == 0 && linkat(target_fd, target_name, parent_fd, name, 0) < 0)
        result = write_failure(err, extractor, member, errno);
    if (target_fd >= 0)
        close(target_fd);
    cfbp_strbuf_release(&target_parent);
    return result;
}

/* --- the tree's layout --- */

/*
 * The work directory holds the extracted tree and, during a merge, the
 * merge's journal and what the tree's entries displaced from the destination
 * (beneath.h), so that a failed or killed merge can be undone.
 */
#define TREE_NAME "tree"

static int make_work_subdirectory(const struct cfbp_workdir *workdir, const char *name,
                                  struct cfbp_error *err)
{
    int fd = -1;
    if (mkdirat(workdir->fd, name, 0700) == 0)
        fd = openat(workdir->fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        struct cfbp_strbuf path = CFBP_STRBUF_INIT;
        cfbp_path_join(&path, workdir->path, name);
        cfbp_fs_write_error(err, errno, path.buf);
        cfbp_strbuf_release(&path);
    }
    return fd;
}

/* Makes the work directory's "tree" the tree (LAYOUT_TREE). */
static int make_tree(struct extractor *extractor, struct cfbp_error *err)
{
    extractor->tree_fd = make_work_subdirectory(extractor->workdir, TREE_NAME, err);
    if (extractor->tree_fd < 0)
        return -1;
    extractor->root_fd = extractor->tree_fd;
    extractor->layout = LAYOUT_TREE;
    return 0;
}

/* Gives top mode's T made on the way to its first member the mode open_parent gives. */
static int give_implicit_top_its_mode(const struct extractor *extractor, int top_fd,
                                      struct cfbp_error *err)
{
    if (extractor->implicit_top && fchmod(top_fd, 0755 & ~(mode_t)extractor->umask) < 0)
        return write_failure(err, extractor, extractor->top_name, errno);
    return 0;
}

/*
 * Moves the tree to the usual layout (see enum tree_layout). Before the
 * first member, the work directory only takes the name of one that may
 * hold a journal. After it, a second work directory is made, and the first,
 * which holds T, moves into its tree as T. With locked, the caller holds the
 * destination lock.
 */
static int use_tree_layout(struct extractor *extractor, bool locked, struct cfbp_error *err)
{
    if (extractor->layout == LAYOUT_UNDECIDED &&
        cfbp_workdir_make_journaled(extractor->workdir) == 0)
        return make_tree(extractor, err);
    bool holds_top = extractor->layout == LAYOUT_TOP;
    struct cfbp_workdir first = *extractor->workdir, next;
    if (cfbp_workdir_create_another(&next, extractor->destination, locked, err) < 0)
        return -1;
    int tree_fd = make_work_subdirectory(&next, TREE_NAME, err);
    if (tree_fd >= 0 && holds_top &&
        renameat2(AT_FDCWD, first.path, tree_fd, extractor->top_name, RENAME_NOREPLACE) < 0) {
        cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot move %s to %s/%s/%s", first.path,
                             next.path, TREE_NAME, extractor->top_name);
        close(tree_fd);
        tree_fd = -1;
    }
    if (tree_fd < 0) {
        /* The first stays the install's, for it to remove once the write queue is done. */
        cfbp_workdir_remove(&next);
        return -1;
    }
    forget_parents(extractor); /* known by their places in the first */
    *extractor->workdir = next;
    extractor->tree_fd = extractor->root_fd = tree_fd;
    extractor->layout = LAYOUT_TREE;
    if (!holds_top) {
        cfbp_workdir_remove(&first); /* empty: nothing was extracted */
        return 0;
    }
    /* Its directory is the tree's T now, in a work directory only its owner enters. */
    int result = give_implicit_top_its_mode(extractor, first.fd, err);
    cfbp_workdir_release(&first);
    return result;
}

/* Whether top mode holds the member clean (see enum tree_layout). */
static bool top_holds(const struct extractor *extractor, const char *clean, bool directory,
                      const char *target)
{
    const char *top = extractor->top_name;
    size_t length = strlen(top);
    if (strncmp(clean, top, length) != 0 ||
        !(clean[length] == '/' || (clean[length] == '\0' && directory)))
        return false;
    return !target || (strncmp(target, top, length) == 0 && target[length] == '/');
}

/*
 * Keeps the layout right for the member clean: the first member decides
 * whether the tree starts in top mode, and a member top mode cannot hold
 * ends it.
 */
static int follow_layout(struct extractor *extractor, struct archive_entry *entry,
                         const char *clean, const char *target, struct cfbp_error *err)
{
    if (extractor->layout == LAYOUT_TREE)
        return 0;
    const char *hardlink = archive_entry_hardlink(entry) ? target : NULL;
    bool directory = !hardlink && archive_entry_filetype(entry) == AE_IFDIR;
    if (extractor->layout == LAYOUT_TOP)
        return top_holds(extractor, clean, directory, hardlink)
                   ? 0
                   : use_tree_layout(extractor, false, err);
    size_t length = strcspn(clean, "/");
    if (hardlink || (clean[length] != '/' && !directory))
        return use_tree_layout(extractor, false, err);
    extractor->layout = LAYOUT_TOP;
    extractor->root_fd = extractor->workdir->fd;
    /*
     * T made on the way to its first member gets the mode open_parent gives
     * when it is placed or moves to the usual layout, not now: until then it
     * is in the destination, its contents not yet verified, and only its
     * owner may enter it.
     */
    extractor->implicit_top = clean[length] == '/';
    return 0;
}

/* Keeps the tree's top-level name while there is only one (see place_single_entry). */
static void note_top_name(struct extractor *extractor, const char *member)
{
    size_t length = strcspn(member, "/");
    if (extractor->several_tops)
        return;
    if (!extractor->top_name)
        extractor->top_name = cfbp_xstrndup(member, length);
    else if (strlen(extractor->top_name) != length ||
             strncmp(extractor->top_name, member, length) != 0)
        extractor->several_tops = true;
}

static int extract_member(struct extractor *extractor, struct archive *reader,
                          struct archive_entry *entry, struct cfbp_error *err)
{
    struct cfbp_strbuf clean = CFBP_STRBUF_INIT, target = CFBP_STRBUF_INIT,
                       parent = CFBP_STRBUF_INIT;
    int result =
        check_member(entry, extractor->strip, extractor->archive_name, &clean, &target, err);
    /*
     * A member at or under a queued file, and a hard link (its target may be
     * queued), waits for the queue; so does every member once it failed.
     */
    if (result == MEMBER_EXTRACT && extractor->queue &&
        (archive_entry_hardlink(entry) || cfbpi_write_queue_failed(extractor->queue) ||
         cfbpi_write_queue_touches(extractor->queue, clean.buf)) &&
        settle_queue(extractor, err) < 0)
        result = -1;
    if (result == MEMBER_EXTRACT) {
        note_top_name(extractor, clean.buf);
        if (follow_layout(extractor, entry, clean.buf, target.buf, err) < 0)
            result = -1;
    }
    if (result == MEMBER_EXTRACT && *tree_path(extractor, clean.buf) == '\0') {
        /* T itself in top mode: the work directory, whose mode is applied with the others' */
        remember_directory(extractor, clean.buf, archive_entry_perm(entry));
    } else if (result == MEMBER_EXTRACT) {
        const char *name = split_path(tree_path(extractor, clean.buf), &parent);
        struct open_directory *directory = open_parent(extractor, parent.buf, clean.buf, err);
        int parent_fd = directory ? directory->fd : -1;
        mode_t type = archive_entry_filetype(entry);
        if (!directory)
            result = -1;
        else if (archive_entry_hardlink(entry))
            result = make_hardlink(extractor, parent_fd, name, clean.buf, target.buf, err);
        else if (type == AE_IFDIR)
            result = make_directory(extractor, parent_fd, name, clean.buf,
                                    archive_entry_perm(entry), err);
        else if (type == AE_IFLNK)
            result = make_symlink(extractor, parent_fd, name, clean.buf,
                                  archive_entry_symlink(entry), err);
        else if (worth_queueing(extractor, entry))
            result = queue_regular(extractor, reader, entry, directory, name, clean.buf, err);
        else
            result =
                write_regular(extractor, reader, entry, parent_fd, name, clean.buf, NULL, 0, err);
    }
    cfbp_strbuf_release(&clean);
    cfbp_strbuf_release(&target);
    cfbp_strbuf_release(&parent);
    return result < 0 ? -1 : 0;
}

/*
 * Waits for the write queue to finish and stops it. When a member queued
 * before the one that failed failed too, its failure is the one told (as
 * writing them in order would have told it).
 */
static int finish_queue(struct extractor *extractor, int result, struct cfbp_error *err)
{
    if (!extractor->queue)
        return result;
    struct cfbp_error earlier = CFBP_ERROR_INIT;
    if (!extractor->queue_reported && settle_queue(extractor, &earlier) < 0) {
        cfbp_error_clear(err);
        cfbp_error_move(err, &earlier);
        result = -1;
    }
    cfbp_error_clear(&earlier);
    forget_parents(extractor); /* before the queue: its directories count on it */
    cfbpi_write_queue_free(extractor->queue);
    extractor->queue = NULL;
    return result;
}

static int extract_members(struct extractor *extractor, struct archive *reader,
                           struct cfbp_error *err)
{
    int result = 0;
    for (;;) {
        struct archive_entry *entry;
        int status = archive_read_next_header(reader, &entry);
        if (status == ARCHIVE_EOF)
            break;
        if (status != ARCHIVE_OK && status != ARCHIVE_WARN) { /* RETRY is a damaged header too */
            result = read_failure(err, reader, extractor->archive_name);
            break;
        }
        if (extract_member(extractor, reader, entry, err) < 0) {
            result = -1;
            break;
        }
    }
    return finish_queue(extractor, result, err);
}

/* Sorts directory modes so that children come before parents and the last word wins. */
static int compare_directories(const void *a, const void *b)
{
    const struct directory_mode *left = a, *right = b;
    int order = strcmp(right->path, left->path);
    if (order)
        return order;
    return left->order < right->order ? 1 : -1;
}

/* Opens the directory member relative of the tree at root_fd, never through a link; -1 if not. */
static int open_tree_directory(const struct extractor *extractor, int root_fd, const char *root,
                               const char *relative)
{
    struct cfbp_error ignored = CFBP_ERROR_INIT;
    const char *path = tree_path(extractor, relative);
    int fd = *path ? cfbp_beneath_open_directory_at(root_fd, root, path, false, 0, &ignored)
                   : dup(root_fd);
    cfbp_error_clear(&ignored);
    return fd;
}

/*
 * Gives the directory members their modes, relative to the placed tree
 * root_fd; through the journal of a merge, when there is one, so that
 * undoing the merge gives the directories their old modes back. Best effort:
 * a directory that was replaced by a later member, or that belongs to
 * someone else (tar as a user cannot change it either), is left as it is.
 */
static void apply_directory_modes(struct extractor *extractor, int root_fd, const char *root,
                                  struct cfbp_beneath_journal *journal)
{
    if (extractor->directory_count == 0)
        return;
    qsort(extractor->directories, extractor->directory_count, sizeof(*extractor->directories),
          compare_directories);
    const char *previous = NULL;
    for (size_t i = 0; i < extractor->directory_count; i++) {
        const struct directory_mode *entry = &extractor->directories[i];
        if (previous && strcmp(previous, entry->path) == 0)
            continue;
        previous = entry->path;
        struct cfbp_error ignored = CFBP_ERROR_INIT;
        if (journal) {
            cfbp_beneath_journal_chmod(journal, root_fd, root, entry->path, entry->mode, &ignored);
            cfbp_error_clear(&ignored);
            continue;
        }
        int fd = open_tree_directory(extractor, root_fd, root, entry->path);
        if (fd < 0)
            continue;
        if (fchmod(fd, entry->mode) < 0) {
            /* nothing to undo: the contents are in place either way */
        }
        close(fd);
    }
}

/*
 * Gives the directory members of the tree at root_fd, whose modes
 * apply_directory_modes applied, their owner's access back, as they were
 * made: a placing that has to merge after all moves their entries, and
 * applies the modes again, last. Best effort, as applying them.
 */
static void reopen_directories(struct extractor *extractor, int root_fd, const char *root)
{
    /* Sorted children first by apply_directory_modes: from the end, parents open first. */
    for (size_t i = extractor->directory_count; i-- > 0;) {
        int fd = open_tree_directory(extractor, root_fd, root, extractor->directories[i].path);
        if (fd < 0)
            continue;
        if (fchmod(fd, extractor->directories[i].mode | S_IRWXU) < 0) {
            /* the merge says what it cannot move */
        }
        close(fd);
    }
}

/* --- extraction --- */

static int checksum_mismatch(struct cfbp_error *err, const char *expected, const char *actual)
{
    return cfbp_error_set(err, CFBP_ERROR_CHECKSUM,
                          "sha256 mismatch: expected sha256 %s, actual sha256 %s", expected,
                          actual);
}

static la_ssize_t read_pipeline_block(struct archive *archive, void *data, const void **block)
{
    struct archive_pipeline *pipeline = data;
    ssize_t got = cfbpi_archive_pipeline_next(pipeline, block);
    if (got < 0)
        archive_set_error(archive, EIO, "%s", cfbpi_archive_pipeline_message(pipeline));
    return got;
}

/*
 * Extracts a tar (of any compression) from fd, which may be a pipe or a
 * socket: the pipeline's thread reads, hashes and decompresses
 * (archive_pipeline.h) while this one writes the members.
 */
static int extract_tar_stream(struct extractor *extractor, int fd, enum cfbp_archive_kind kind,
                              const struct cfbp_archive_request *request,
                              char actual_sha256[CFBP_DIGEST_HEX_SIZE], struct cfbp_error *err)
{
    /* Without a digest to compare, gzip's own CRC-32 is the only check of the bytes. */
    struct archive_pipeline *pipeline =
        cfbpi_archive_pipeline_start(fd, kind, request->expected_sha256 == NULL);
    if (!pipeline)
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno,
                                    "cannot extract %s: cannot start a thread", request->file_name);
    struct archive *archive = archive_read_new();
    if (!archive)
        cfbp_alloc_failed(0);
    archive_read_support_format_tar(archive);
    int result;
    if (archive_read_open(archive, pipeline, NULL, read_pipeline_block, NULL) != ARCHIVE_OK)
        result = read_failure(err, archive, request->file_name);
    else
        result = extract_members(extractor, archive, err);
    archive_read_free(archive);
    struct archive_pipeline_outcome outcome;
    cfbpi_archive_pipeline_finish(pipeline, result == 0, &outcome);
    memcpy(actual_sha256, outcome.sha256, CFBP_DIGEST_HEX_SIZE);
    if (outcome.cancelled) {
        cfbp_error_clear(err);
        result = cfbp_error_set(err, CFBP_ERROR_CANCELLED, "extracting %s was cancelled",
                                request->file_name);
    } else if (outcome.read_errno && result == 0) {
        result = cfbp_error_set_errno(err, CFBP_ERROR_IO, outcome.read_errno, "cannot read %s",
                                      request->source);
    } else if (outcome.integrity_error && result == 0) {
        result = cfbp_error_set(err, CFBP_ERROR_INVALID, "cannot extract %s: %s",
                                request->file_name, outcome.integrity_error);
    }
    bool complete = outcome.complete && !outcome.read_errno;
    cfbpi_archive_pipeline_outcome_release(&outcome);
    if (!complete || outcome.cancelled)
        return result; /* the digest of a partly read file means nothing */
    bool mismatch = request->expected_sha256 && strcmp(actual_sha256, request->expected_sha256);
    if (mismatch && result < 0 && err->kind != CFBP_ERROR_IO) {
        /* A damaged download usually shows as both; the digest says which it was. */
        struct cfbp_error extraction = CFBP_ERROR_INIT;
        cfbp_error_move(&extraction, err);
        checksum_mismatch(err, request->expected_sha256, actual_sha256);
        cfbp_error_append(err, " (and it could not be extracted: %s)", extraction.message);
        cfbp_error_clear(&extraction);
        return -1;
    }
    if (mismatch && result == 0)
        return checksum_mismatch(err, request->expected_sha256, actual_sha256);
    return result;
}

/* The SHA-256 of a whole file, computed by a thread of its own with pread(2). */
struct file_hasher {
    int fd;
    pthread_t thread;
    struct cfbp_digest digest;
    int read_errno;
    bool cancelled;
};

static void *hash_file(void *data)
{
    struct file_hasher *hasher = data;
    char *buffer = cfbp_xmalloc(READ_BLOCK_SIZE);
    for (off_t offset = 0;;) {
        if (cfbp_cancel_requested()) {
            hasher->cancelled = true;
            break;
        }
        ssize_t got = pread(hasher->fd, buffer, READ_BLOCK_SIZE, offset);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            hasher->read_errno = errno;
        if (got <= 0)
            break;
        cfbp_digest_update(&hasher->digest, buffer, (size_t)got);
        offset += got;
    }
    free(buffer);
    return NULL;
}

/*
 * A zip needs its central directory, at the end, so it is read from a file:
 * one thread hashes the whole file (pread, which leaves the offset alone)
 * while this one extracts it from the same descriptor. The tree is placed
 * only after the digest matched, and a mismatch is reported as such whatever
 * the extraction said, as when the zip was hashed before it was extracted.
 */
static int extract_zip(struct extractor *extractor, int fd,
                       const struct cfbp_archive_request *request,
                       char actual_sha256[CFBP_DIGEST_HEX_SIZE], struct cfbp_error *err)
{
    struct file_hasher hasher = {.fd = fd};
    cfbp_digest_start(&hasher.digest, CFBP_DIGEST_SHA256);
    int failed = pthread_create(&hasher.thread, NULL, hash_file, &hasher);
    if (failed) {
        cfbp_digest_release(&hasher.digest);
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, failed,
                                    "cannot extract %s: cannot start a thread", request->file_name);
    }
    struct archive *archive = archive_read_new();
    if (!archive)
        cfbp_alloc_failed(0);
    archive_read_support_format_zip(archive);
    int result;
    if (archive_read_open_fd(archive, fd, READ_BLOCK_SIZE) != ARCHIVE_OK)
        result = read_failure(err, archive, request->file_name);
    else
        result = extract_members(extractor, archive, err);
    archive_read_free(archive);
    pthread_join(hasher.thread, NULL);
    cfbp_digest_finish_hex(&hasher.digest, actual_sha256);
    if (hasher.cancelled) {
        cfbp_error_clear(err);
        return cfbp_error_set(err, CFBP_ERROR_CANCELLED, "extracting %s was cancelled",
                              request->file_name);
    }
    if (hasher.read_errno) {
        cfbp_error_clear(err);
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, hasher.read_errno, "cannot read %s",
                                    request->source);
    }
    if (request->expected_sha256 && strcmp(actual_sha256, request->expected_sha256)) {
        cfbp_error_clear(err);
        return checksum_mismatch(err, request->expected_sha256, actual_sha256);
    }
    return result;
}

/* --- single files --- */

/* Copies fd into the new file name of the directory directory_fd (0644), hashing the bytes. */
static int copy_hashing(int fd, int directory_fd, const char *name, const char *display,
                        const struct cfbp_archive_request *request,
                        char actual_sha256[CFBP_DIGEST_HEX_SIZE], struct cfbp_error *err)
{
    int out =
        openat(directory_fd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (out < 0)
        return cfbp_fs_write_error(err, errno, display);
    struct hashing_reader reader = {.fd = fd};
    reader.buffer = cfbp_xmalloc(READ_BLOCK_SIZE);
    cfbp_digest_start(&reader.digest, CFBP_DIGEST_SHA256);
    int result = 0, saved = 0;
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
        saved = cfbp_fs_write_all(out, reader.buffer, (size_t)got);
        if (saved)
            break;
    }
    cfbp_digest_finish_hex(&reader.digest, actual_sha256);
    free(reader.buffer);
    if (!saved && fchmod(out, 0644) < 0)
        saved = errno;
    if (close(out) < 0 && !saved)
        saved = errno;
    if (result == 0 && saved)
        result = cfbp_fs_write_error(err, saved, display);
    if (result == 0 && request->expected_sha256 && strcmp(actual_sha256, request->expected_sha256))
        result = checksum_mismatch(err, request->expected_sha256, actual_sha256);
    return result;
}

/*
 * The .sh case (the file becomes the destination) and plain copies (into
 * the destination directory): written in a work directory, then renamed into
 * place, which replaces a link standing there instead of following it.
 */
static int install_single_file(int fd, bool as_destination,
                               const struct cfbp_archive_request *request,
                               char actual_sha256[CFBP_DIGEST_HEX_SIZE], struct cfbp_error *err)
{
    struct cfbp_strbuf final_path = CFBP_STRBUF_INIT, base = CFBP_STRBUF_INIT,
                       display = CFBP_STRBUF_INIT;
    struct cfbp_string_list made = CFBP_STRING_LIST_INIT;
    struct cfbp_workdir workdir = CFBP_WORKDIR_INIT;
    struct cfbp_destination_lock lock = CFBP_DESTINATION_LOCK_INIT;
    if (as_destination)
        cfbp_strbuf_set(&final_path, request->destination);
    else
        cfbp_path_join(&final_path, request->destination, request->file_name);
    const char *name = cfbp_path_basename(&base, final_path.buf);
    struct cfbp_strbuf directory = CFBP_STRBUF_INIT;
    cfbp_path_dirname(&directory, final_path.buf);
    struct cfbp_saved_times times;
    cfbp_workdir_save_times(&times, directory.buf);
    int result = 0;
    if (cfbp_fs_type_of(final_path.buf) == CFBP_FS_DIRECTORY)
        result = cfbp_error_set(err, CFBP_ERROR_IO, "cannot install %s: a directory is in the way",
                                final_path.buf);
    if (result == 0)
        result = cfbp_workdir_mkdir_p(directory.buf, &made, err);
    if (result == 0)
        result = cfbp_workdir_create(&workdir, final_path.buf, "", err);
    if (result == 0) {
        cfbp_path_join(&display, workdir.path, name);
        result = copy_hashing(fd, workdir.fd, name, display.buf, request, actual_sha256, err);
    }
    if (result == 0 && request->before_placing)
        result = request->before_placing(request->before_placing_data, err);
    if (result == 0)
        result = cfbp_destination_lock(&lock, final_path.buf, err);
    if (result == 0 && cfbp_fs_type_of(final_path.buf) == CFBP_FS_DIRECTORY)
        result = cfbp_error_set(err, CFBP_ERROR_IO, "cannot install %s: a directory is in the way",
                                final_path.buf);
    if (result == 0 && rename(display.buf, final_path.buf) < 0)
        result = cfbp_fs_write_error(err, errno, final_path.buf);
    cfbp_destination_unlock(&lock);
    cfbp_workdir_remove(&workdir);
    if (result < 0)
        cfbp_workdir_undo_mkdir(&made);
    cfbp_workdir_restore_times(&times, result < 0);
    cfbp_string_list_clear(&made);
    cfbp_strbuf_release(&final_path);
    cfbp_strbuf_release(&base);
    cfbp_strbuf_release(&display);
    cfbp_strbuf_release(&directory);
    return result;
}

/* --- placing the tree --- */

/*
 * Merges the extracted tree into the destination directory with a journal:
 * the merge, then the directory modes, then the commit. A failure at any
 * point undoes all of it; a kill leaves the journal for the next install,
 * which undoes it (workdir.h). Sets *keep_workdir when undoing did not
 * finish, so that the work directory stays for the next install to finish it.
 */
static int merge_tree(struct extractor *extractor, struct cfbp_workdir *workdir, int destination_fd,
                      const char *destination, bool *keep_workdir, struct cfbp_error *err)
{
    struct cfbp_beneath_journal *journal = NULL;
    int result = cfbp_beneath_journal_start(&journal, workdir->fd, workdir->path, TREE_NAME, err);
    if (result == 0)
        result = cfbp_beneath_journal_merge(journal, destination_fd, destination, err);
    if (result == 0) {
        apply_directory_modes(extractor, destination_fd, destination, journal);
        result = cfbp_beneath_journal_commit(journal, err);
        if (result < 0 && cfbp_beneath_journal_undo(journal, destination_fd, destination, NULL) < 0)
            cfbp_error_append(err,
                              "; not everything could be put back yet: the next install "
                              "into %s does it",
                              destination);
    }
    *keep_workdir = cfbp_beneath_journal_pending(journal);
    cfbp_beneath_journal_close(journal);
    return result;
}

/*
 * Whether the tree's only top-level entry, renamed into the destination,
 * stays writable by its owner (a rename to another directory needs that of
 * a directory) once its mode is applied; the last word on its mode counts.
 */
static bool top_stays_writable(const struct extractor *extractor)
{
    /* The latest by order: apply_directory_modes may have sorted them already. */
    const struct directory_mode *last = NULL;
    for (size_t i = 0; i < extractor->directory_count; i++) {
        const struct directory_mode *entry = &extractor->directories[i];
        if (strcmp(entry->path, extractor->top_name) == 0 && (!last || entry->order > last->order))
            last = entry;
    }
    return !last || last->mode & S_IWUSR;
}

/*
 * The common merge needs no journal: a tree of one entry whose name is free
 * in the destination goes there in one rename, which a kill cannot cut in
 * half. Its directory modes are applied first, in the work directory; an
 * entry whose own mode would then deny its owner writing (which a rename to
 * another directory needs) is left to the journaled merge, which applies
 * modes last. Returns 1 when placed, 0 when the merge is needed, -1 on
 * failure.
 */
static int place_single_entry(struct extractor *extractor, int tree_fd, const char *tree,
                              int destination_fd, const char *destination, struct cfbp_error *err)
{
    const char *name = extractor->top_name;
    struct stat st;
    if (!name || extractor->several_tops || fstatat(tree_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
        fstatat(destination_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT ||
        !top_stays_writable(extractor))
        return 0;
    apply_directory_modes(extractor, tree_fd, tree, NULL);
    if (cfbpi_archive_placing_hook)
        cfbpi_archive_placing_hook(destination_fd, name);
    if (renameat2(tree_fd, name, destination_fd, name, RENAME_NOREPLACE) == 0)
        return 1;
    if (errno == EEXIST) {
        /* made meanwhile, by something that takes no lock: merged into */
        reopen_directories(extractor, tree_fd, tree);
        return 0;
    }
    return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot move %s/%s to %s", tree, name,
                                destination);
}

/*
 * Top mode's placing (see enum tree_layout): the work directory, in the
 * destination, becomes T with one rename, as place_single_entry places a
 * tree of one entry, and is the install's no more. Returns 1 when placed, 0
 * when the usual layout and its merge are needed, -1 on failure.
 */
static int place_top(struct extractor *extractor, int destination_fd, const char *destination,
                     struct cfbp_error *err)
{
    const char *name = extractor->top_name;
    struct stat st;
    if (fstatat(destination_fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 || errno != ENOENT)
        return 0;
    struct cfbp_workdir *workdir = extractor->workdir;
    if (give_implicit_top_its_mode(extractor, workdir->fd, err) < 0)
        return -1;
    apply_directory_modes(extractor, workdir->fd, workdir->path, NULL);
    const char *base = strrchr(workdir->path, '/');
    base = base ? base + 1 : workdir->path;
    if (cfbpi_archive_placing_hook)
        cfbpi_archive_placing_hook(destination_fd, name);
    if (renameat2(destination_fd, base, destination_fd, name, RENAME_NOREPLACE) == 0) {
        cfbp_workdir_release(workdir);
        extractor->root_fd = -1;
        return 1;
    }
    if (errno == EEXIST) {
        /* made meanwhile, by something that takes no lock: merged into, from the usual layout */
        reopen_directories(extractor, workdir->fd, workdir->path);
        return 0;
    }
    return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot move %s to %s/%s", workdir->path,
                                destination, name);
}

/*
 * Moves the extracted tree into the destination under the destination lock:
 * in top mode, the work directory renamed to T when it can be (place_top);
 * otherwise merged into the destination when it is a directory (see
 * merge_tree), renamed to it when it is missing. Directory modes follow.
 */
static int place_tree(struct extractor *extractor, bool *keep_workdir, struct cfbp_error *err)
{
    const char *destination = extractor->destination;
    struct cfbp_destination_lock lock = CFBP_DESTINATION_LOCK_INIT;
    if (cfbp_destination_lock(&lock, destination, err) < 0)
        return -1;
    /* Another install may have been killed in its merge since ours began: undo that first. */
    int result = cfbp_workdir_remove_stale(&lock, destination, err);
    int destination_fd = result < 0 ? -1 : open(destination, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    bool placed = false;
    if (result == 0 && destination_fd >= 0 && extractor->layout == LAYOUT_TOP) {
        result = place_top(extractor, destination_fd, destination, err);
        placed = result != 0;
        result = result < 0 ? -1 : 0;
    } else if (result == 0 && destination_fd >= 0 && extractor->layout == LAYOUT_UNDECIDED) {
        placed = true; /* no member: nothing to merge */
    }
    if (result == 0 && !placed && extractor->layout != LAYOUT_TREE)
        result = use_tree_layout(extractor, true, err);
    struct cfbp_workdir *workdir = extractor->workdir;
    int tree_fd = extractor->tree_fd;
    struct cfbp_strbuf tree = CFBP_STRBUF_INIT;
    if (workdir->path)
        cfbp_path_join(&tree, workdir->path, TREE_NAME);
    if (result < 0 || placed) {
        /* that merge could not be undone (nothing is placed over it), or the tree is in place */
    } else if (destination_fd >= 0) {
        result = place_single_entry(extractor, tree_fd, tree.buf, destination_fd, destination, err);
        if (result == 0)
            result = merge_tree(extractor, workdir, destination_fd, destination, keep_workdir, err);
        else if (result > 0)
            result = 0;
    } else if (cfbp_fs_exists(destination)) {
        result =
            cfbp_error_set(err, CFBP_ERROR_IO,
                           "cannot install into %s: it exists and is not a directory", destination);
    } else if (fchmod(tree_fd, 0755) < 0) {
        result = cfbp_fs_write_error(err, errno, tree.buf);
    } else if (renameat2(AT_FDCWD, tree.buf, AT_FDCWD, destination, RENAME_NOREPLACE) < 0) {
        result = cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot move %s to %s", tree.buf,
                                      destination);
    } else {
        /* Best effort: the tree is in place, and only a directory of someone else's refuses. */
        destination_fd = open(destination, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (destination_fd >= 0)
            apply_directory_modes(extractor, destination_fd, destination, NULL);
    }
    if (destination_fd >= 0)
        close(destination_fd);
    cfbp_destination_unlock(&lock);
    cfbp_strbuf_release(&tree);
    return result;
}

static int install_archive(int fd, enum cfbp_archive_kind kind,
                           const struct cfbp_archive_request *request,
                           char actual_sha256[CFBP_DIGEST_HEX_SIZE], struct cfbp_error *err)
{
    struct cfbp_string_list made = CFBP_STRING_LIST_INIT;
    struct cfbp_workdir workdir = CFBP_WORKDIR_INIT;
    struct cfbp_strbuf parent = CFBP_STRBUF_INIT;
    struct cfbp_saved_times times;
    cfbp_workdir_save_times(&times, request->destination);
    cfbp_path_dirname(&parent, request->destination);
    bool keep_workdir = false;
    struct extractor extractor;
    extractor_init(&extractor, &workdir, request->destination, request->file_name,
                   request->strip_components);
    /* Top mode (see enum tree_layout) needs the umask, for the directory T stands for. */
    bool top = cfbpi_archive_top_mode && extractor.umask >= 0 &&
               cfbp_fs_is_directory(request->destination);
    int result = cfbp_workdir_mkdir_p(parent.buf, &made, err);
    if (result == 0)
        result =
            cfbp_workdir_create(&workdir, request->destination, top ? CFBP_WORKDIR_TOP : "", err);
    if (result == 0 && !(top && workdir.inside))
        result = top ? use_tree_layout(&extractor, false, err) : make_tree(&extractor, err);
    if (result == 0) {
        if (kind == CFBP_ARCHIVE_ZIP)
            result = extract_zip(&extractor, fd, request, actual_sha256, err);
        else
            result = extract_tar_stream(&extractor, fd, kind, request, actual_sha256, err);
        forget_parents(&extractor);
        if (result == 0 && request->before_placing)
            result = request->before_placing(request->before_placing_data, err);
        if (result == 0)
            result = place_tree(&extractor, &keep_workdir, err);
    }
    extractor_release(&extractor);
    /* A merge not wholly undone leaves its journal for the next install (workdir.h). */
    if (keep_workdir)
        cfbp_workdir_release(&workdir);
    else
        cfbp_workdir_remove(&workdir);
    if (result < 0)
        cfbp_workdir_undo_mkdir(&made);
    cfbp_workdir_restore_times(&times, result < 0);
    cfbp_string_list_clear(&made);
    cfbp_strbuf_release(&parent);
    return result;
}

int cfbp_archive_install_fd(const struct cfbp_archive_request *request, int fd,
                            char actual_sha256[CFBP_DIGEST_HEX_SIZE], struct cfbp_error *err)
{
    actual_sha256[0] = '\0';
    enum cfbp_archive_kind kind = cfbp_archive_kind_of(request->file_name);
    struct stat st;
    if (kind == CFBP_ARCHIVE_ZIP && (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)))
        return cfbp_error_set(err, CFBP_ERROR_INVALID,
                              "cannot extract %s from a stream: a zip is read from a file",
                              request->file_name);
    if (kind == CFBP_ARCHIVE_SCRIPT || kind == CFBP_ARCHIVE_PLAIN)
        return install_single_file(fd, kind == CFBP_ARCHIVE_SCRIPT, request, actual_sha256, err);
    return install_archive(fd, kind, request, actual_sha256, err);
}

int cfbp_archive_install(const struct cfbp_archive_request *request,
                         char actual_sha256[CFBP_DIGEST_HEX_SIZE], struct cfbp_error *err)
{
    actual_sha256[0] = '\0';
    int fd = open(request->source, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cfbp_error_set_errno(err, errno == ENOENT ? CFBP_ERROR_NOT_FOUND : CFBP_ERROR_IO,
                                    errno, "cannot read %s", request->source);
    int result = cfbp_archive_install_fd(request, fd, actual_sha256, err);
    close(fd);
    return result;
}
