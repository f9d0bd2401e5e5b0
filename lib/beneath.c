/*
 * beneath.c - reading and writing inside a directory without following links
 * (see beneath.h).
 *
 * Resolution is openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) when the kernel
 * has it: one system call, and the kernel refuses any link or "..". When it
 * is missing (ENOSYS, or EPERM from a seccomp filter that predates it), or
 * when it fails for a reason worth explaining (a missing directory to create,
 * a link to name in the message), the same path is walked one component at a
 * time with O_NOFOLLOW, which is what decides and words the answer.
 */
#include "cfbp/beneath.h"

#include "cfbp/alloc.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/path.h"
#include "cfbp/strbuf.h"
#include "cfbp/string_list.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define TEMP_ATTEMPTS 100

static bool portable_walk_forced;
static int openat2_unavailable; /* set once the kernel said it has no openat2 */

void cfbp_beneath_force_portable_walk(bool portable)
{
    portable_walk_forced = portable;
}

/* --- roots --- */

static int open_root(struct cfbp_beneath *root, const char *path, struct cfbp_error *err)
{
    root->path = NULL;
    root->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (root->fd < 0)
        return cfbp_error_set_errno(err, errno == ENOENT ? CFBP_ERROR_NOT_FOUND : CFBP_ERROR_IO,
                                    errno, "cannot open the directory %s", path);
    root->path = cfbp_xstrdup(path);
    return 0;
}

int cfbp_beneath_open(struct cfbp_beneath *root, const char *path, struct cfbp_error *err)
{
    return open_root(root, path, err);
}

int cfbp_beneath_open_create(struct cfbp_beneath *root, const char *path, struct cfbp_error *err)
{
    root->fd = -1;
    root->path = NULL;
    if (cfbp_fs_mkdir_p(path, 0755, err) < 0)
        return -1;
    return open_root(root, path, err);
}

void cfbp_beneath_close(struct cfbp_beneath *root)
{
    if (root->fd >= 0)
        close(root->fd);
    free(root->path);
    root->fd = -1;
    root->path = NULL;
}

/* --- resolving --- */

static bool is_dot(const char *component, size_t length)
{
    return length == 1 && component[0] == '.';
}

static bool is_dot_dot(const char *component, size_t length)
{
    return length == 2 && component[0] == '.' && component[1] == '.';
}

/* Refuses absolute paths and ".." components: nothing here may climb. */
static int check_relative(const char *display, const char *relative, struct cfbp_error *err)
{
    if (relative[0] == '/')
        return cfbp_error_set(err, CFBP_ERROR_UNSAFE_PATH,
                              "refusing %s under %s: the path is absolute", relative, display);
    for (const char *cursor = relative; *cursor;) {
        size_t length = strcspn(cursor, "/");
        if (is_dot_dot(cursor, length))
            return cfbp_error_set(err, CFBP_ERROR_UNSAFE_PATH,
                                  "refusing %s under %s: the path has a '..' component", relative,
                                  display);
        cursor += length;
        while (*cursor == '/')
            cursor++;
    }
    return 0;
}

static int openat2_directory(int directory_fd, const char *relative)
{
    struct open_how how;
    memset(&how, 0, sizeof(how));
    how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    long fd = syscall(SYS_openat2, directory_fd, relative, &how, sizeof(how));
    if (fd < 0 && (errno == ENOSYS || errno == EPERM || errno == E2BIG))
        openat2_unavailable = 1;
    return (int)fd;
}

/* Explains why component (under the directory shown as display) could not be opened. */
static int explain_component(int parent_fd, const char *component, int saved,
                             const struct cfbp_strbuf *display, struct cfbp_error *err)
{
    struct stat st;
    if ((saved == ELOOP || saved == ENOTDIR || saved == EEXIST) &&
        fstatat(parent_fd, component, &st, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISLNK(st.st_mode))
            return cfbp_error_set(err, CFBP_ERROR_UNSAFE_PATH,
                                  "refusing to go through %s: it is a symbolic link, and nothing "
                                  "is read or written through links here",
                                  display->buf);
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, ENOTDIR, "cannot use %s as a directory",
                                    display->buf);
    }
    return cfbp_error_set_errno(err, saved == ENOENT ? CFBP_ERROR_NOT_FOUND : CFBP_ERROR_IO, saved,
                                "cannot open the directory %s", display->buf);
}

static int walk_directory(int directory_fd, const char *display_root, const char *relative,
                          bool create, mode_t mode, struct cfbp_error *err)
{
    int current = openat(directory_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (current < 0)
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot open the directory %s",
                                    display_root);
    struct cfbp_strbuf display = CFBP_STRBUF_INIT, component = CFBP_STRBUF_INIT;
    cfbp_strbuf_set(&display, display_root);
    for (const char *cursor = relative; *cursor;) {
        size_t length = strcspn(cursor, "/");
        if (length > 0 && !is_dot(cursor, length)) {
            cfbp_strbuf_reset(&component);
            cfbp_strbuf_append(&component, cursor, length);
            cfbp_path_append(&display, component.buf);
            int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
            int next = openat(current, component.buf, flags);
            if (next < 0 && errno == ENOENT && create) {
                if (mkdirat(current, component.buf, mode) == 0 || errno == EEXIST)
                    next = openat(current, component.buf, flags);
            }
            if (next < 0) {
                explain_component(current, component.buf, errno, &display, err);
                close(current);
                current = -1;
                break;
            }
            close(current);
            current = next;
        }
        cursor += length;
        while (*cursor == '/')
            cursor++;
    }
    cfbp_strbuf_release(&display);
    cfbp_strbuf_release(&component);
    return current;
}

int cfbp_beneath_open_directory_at(int directory_fd, const char *display, const char *relative,
                                   bool create, mode_t mode, struct cfbp_error *err)
{
    if (check_relative(display, relative, err) < 0)
        return -1;
    if (*relative && !portable_walk_forced && !openat2_unavailable) {
        int fd = openat2_directory(directory_fd, relative);
        if (fd >= 0)
            return fd;
        /* Anything else is decided and explained by the walk. */
    }
    return walk_directory(directory_fd, display, relative, create, mode, err);
}

int cfbp_beneath_open_directory(const struct cfbp_beneath *root, const char *relative, bool create,
                                mode_t mode, struct cfbp_error *err)
{
    return cfbp_beneath_open_directory_at(root->fd, root->path, relative, create, mode, err);
}

/*
 * Splits relative into its directory (opened, created when create) and its
 * last component (into name). Returns the directory's fd or -1.
 */
static int open_parent(const struct cfbp_beneath *root, const char *relative, bool create,
                       struct cfbp_strbuf *name, struct cfbp_error *err)
{
    struct cfbp_strbuf clean = CFBP_STRBUF_INIT, parent = CFBP_STRBUF_INIT;
    int fd = -1;
    if (check_relative(root->path, relative, err) < 0) {
        /* refused */
    } else if (!cfbp_path_clean_relative(&clean, relative)) {
        cfbp_error_set(err, CFBP_ERROR_UNSAFE_PATH, "refusing '%s' under %s: it names no file",
                       relative, root->path);
    } else {
        const char *slash = strrchr(clean.buf, '/');
        if (slash) {
            cfbp_strbuf_append(&parent, clean.buf, (size_t)(slash - clean.buf));
            cfbp_strbuf_set(name, slash + 1);
        } else {
            cfbp_strbuf_set(name, clean.buf);
        }
        fd = cfbp_beneath_open_directory(root, parent.buf, create, 0755, err);
    }
    cfbp_strbuf_release(&clean);
    cfbp_strbuf_release(&parent);
    return fd;
}

static void display_path(struct cfbp_strbuf *out, const struct cfbp_beneath *root,
                         const char *relative)
{
    cfbp_path_join(out, root->path, relative);
}

enum cfbp_fs_type cfbp_beneath_type_of(const struct cfbp_beneath *root, const char *relative)
{
    struct cfbp_error ignored = CFBP_ERROR_INIT;
    struct cfbp_strbuf name = CFBP_STRBUF_INIT;
    enum cfbp_fs_type type = CFBP_FS_MISSING;
    int fd = open_parent(root, relative, false, &name, &ignored);
    if (fd >= 0) {
        type = cfbp_fs_type_at(fd, name.buf);
        close(fd);
    }
    cfbp_error_clear(&ignored);
    cfbp_strbuf_release(&name);
    return type;
}

/* --- writing --- */

/* A name for a new temporary entry beside name: ".<name>.cfbp-XXXXXX". */
static void temp_name(struct cfbp_strbuf *out, const char *name)
{
    static unsigned long long state;
    if (!state) {
        struct timespec now;
        clock_gettime(CLOCK_REALTIME, &now);
        state =
            ((unsigned long long)now.tv_nsec << 16) ^ (unsigned long long)getpid() ^ 0x5bd1e995u;
    }
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    cfbp_strbuf_reset(out);
    /* Keep the name within NAME_MAX however long the target's name is. */
    size_t keep = strlen(name) > 200 ? 200 : strlen(name);
    cfbp_strbuf_append_char(out, '.');
    cfbp_strbuf_append(out, name, keep);
    cfbp_strbuf_append_string(out, ".cfbp-");
    unsigned long long bits = state;
    for (int i = 0; i < 6; i++, bits /= 62)
        cfbp_strbuf_append_char(out, letters[bits % 62]);
}

/* Fails when a directory stands at name: a file cannot replace it. */
static int check_not_directory(int parent_fd, const char *name, const char *display,
                               struct cfbp_error *err)
{
    if (cfbp_fs_type_at(parent_fd, name) == CFBP_FS_DIRECTORY)
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, EISDIR,
                                    "cannot write %s: a directory is in the way", display);
    return 0;
}

/*
 * Makes a new entry under the temporary name temp of the directory parent.
 * Returns 0 or an errno value; EEXIST means "try another name".
 */
typedef int (*make_entry_fn)(int parent, const char *temp, const void *data);

struct file_content {
    const void *data;
    size_t length;
    mode_t mode;
};

static int make_file(int parent, const char *temp, const void *data)
{
    const struct file_content *content = data;
    int fd = openat(parent, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0)
        return errno;
    int saved = cfbp_fs_write_all(fd, content->data, content->length);
    if (!saved && fchmod(fd, content->mode) < 0)
        saved = errno;
    if (close(fd) < 0 && !saved)
        saved = errno;
    if (saved)
        unlinkat(parent, temp, 0);
    return saved;
}

static int make_link(int parent, const char *temp, const void *data)
{
    return symlinkat(data, parent, temp) == 0 ? 0 : errno;
}

/*
 * Puts a new entry at relative atomically: made under a temporary name
 * beside it, then renamed over whatever stands there (rename replaces a link
 * instead of following it; a directory there is an error).
 */
static int replace_entry(const struct cfbp_beneath *root, const char *relative, make_entry_fn make,
                         const void *data, struct cfbp_error *err)
{
    struct cfbp_strbuf name = CFBP_STRBUF_INIT, temp = CFBP_STRBUF_INIT, display = CFBP_STRBUF_INIT;
    display_path(&display, root, relative);
    int parent = open_parent(root, relative, true, &name, err);
    int result = parent < 0 ? -1 : check_not_directory(parent, name.buf, display.buf, err);
    int saved = EEXIST;
    for (int attempt = 0; result == 0 && saved == EEXIST && attempt < TEMP_ATTEMPTS; attempt++) {
        temp_name(&temp, name.buf);
        saved = make(parent, temp.buf, data);
    }
    if (result == 0 && !saved && renameat(parent, temp.buf, parent, name.buf) < 0) {
        saved = errno;
        unlinkat(parent, temp.buf, 0);
    }
    if (result == 0 && saved)
        result = cfbp_fs_write_error(err, saved, display.buf);
    if (parent >= 0)
        close(parent);
    cfbp_strbuf_release(&name);
    cfbp_strbuf_release(&temp);
    cfbp_strbuf_release(&display);
    return result;
}

int cfbp_beneath_write_file(const struct cfbp_beneath *root, const char *relative, const void *data,
                            size_t length, mode_t mode, struct cfbp_error *err)
{
    struct file_content content = {data, length, mode};
    return replace_entry(root, relative, make_file, &content, err);
}

int cfbp_beneath_symlink(const struct cfbp_beneath *root, const char *relative, const char *target,
                         struct cfbp_error *err)
{
    return replace_entry(root, relative, make_link, target, err);
}

int cfbp_beneath_mkdir_p(const struct cfbp_beneath *root, const char *relative, mode_t mode,
                         struct cfbp_error *err)
{
    int fd = cfbp_beneath_open_directory(root, relative, true, mode, err);
    if (fd < 0)
        return -1;
    close(fd);
    return 0;
}

/* --- reading --- */

int cfbp_beneath_open_file(const struct cfbp_beneath *root, const char *relative,
                           struct cfbp_error *err)
{
    struct cfbp_strbuf name = CFBP_STRBUF_INIT, display = CFBP_STRBUF_INIT;
    display_path(&display, root, relative);
    int fd = -1;
    int parent = open_parent(root, relative, false, &name, err);
    if (parent >= 0) {
        fd = cfbp_fs_open_regular_at(parent, name.buf, display.buf, err);
        close(parent);
    }
    cfbp_strbuf_release(&name);
    cfbp_strbuf_release(&display);
    return fd;
}

int cfbp_beneath_read_file(const struct cfbp_beneath *root, const char *relative, size_t max_bytes,
                           struct cfbp_strbuf *out, struct cfbp_error *err)
{
    int fd = cfbp_beneath_open_file(root, relative, err);
    if (fd < 0)
        return -1;
    struct cfbp_strbuf display = CFBP_STRBUF_INIT;
    display_path(&display, root, relative);
    int result = cfbp_fs_read_fd(fd, display.buf, max_bytes, out, err);
    close(fd);
    cfbp_strbuf_release(&display);
    return result;
}

int cfbp_beneath_list_directory(const struct cfbp_beneath *root, const char *relative,
                                struct cfbp_string_list *names, struct cfbp_error *err)
{
    int fd = cfbp_beneath_open_directory(root, relative, false, 0, err);
    if (fd < 0)
        return -1;
    struct cfbp_strbuf display = CFBP_STRBUF_INIT;
    display_path(&display, root, relative);
    int result = cfbp_fs_list_fd(fd, display.buf, names, err);
    cfbp_strbuf_release(&display);
    return result;
}

/* --- merging --- */

/*
 * A merge changes the destination one step at a time, and records each step
 * before taking it: in memory always, and in the journal file when it has
 * one. Undoing walks the steps newest first and reverses only what it finds
 * done, judged by inode numbers (see beneath.h). Replacing is one
 * renameat2(RENAME_EXCHANGE): at every moment the name holds the old entry or
 * the new one, and the old one lands in the source tree, where undoing finds
 * it. Where the file system cannot swap (EINVAL), the old entry is put aside
 * first and the new one moved in after, both steps journaled.
 *
 * The journal is text, one record a line, each written with one write(2):
 *
 *     cfbp-merge-journal 1 /<source>
 *     add /<directory> /<name> <its inode>
 *     swap /<directory> /<name> <new entry's inode> <old entry's inode>
 *     aside /<directory> /<name> <number in the aside directory> <its inode>
 *     mode /<directory> <mode before, octal> <its inode>
 *     commit
 *
 * Paths are relative to the two tops, and any byte that could split a
 * record is escaped as %XX.
 */
#define JOURNAL_NAME   "journal"
#define ASIDE_NAME     "displaced"
#define JOURNAL_HEADER "cfbp-merge-journal 1"
#define JOURNAL_MAX    ((size_t)1 << 30)
#define NEED_PARENT    0300 /* write and search: to add or take away entries */
#define NEED_MOVED     0200 /* write: a directory that changes parents rewrites its ".." */

enum step_kind { STEP_ADD, STEP_SWAP, STEP_ASIDE, STEP_MODE, STEP_COMMIT };

static const char *const step_names[] = {"add", "swap", "aside", "mode", "commit"};

struct step {
    enum step_kind kind;
    char *directory;      /* relative to both tops, "" for the tops (MODE: the directory) */
    char *name;           /* ADD SWAP ASIDE: the entry */
    ino_t moved;          /* ADD SWAP: the source entry; MODE: the directory */
    ino_t displaced;      /* SWAP ASIDE: the destination entry it replaces */
    unsigned long number; /* ASIDE: its name in the aside directory */
    mode_t mode;          /* MODE: the mode before */
};

struct cfbp_beneath_journal {
    int work_fd; /* not owned */
    char *work_display;
    char *source_name;
    char *source_display;
    int source_fd;
    bool owns_source;
    int fd; /* the journal file, -1 for a merge kept in memory only */
    int aside_fd;
    bool owns_aside;
    unsigned long aside_count;
    bool keep;    /* keep what is replaced, so that the merge can be undone */
    bool pending; /* steps taken that are neither committed nor undone */
    struct step *steps;
    size_t step_count, step_alloc;
};

/* A directory made writable for a moment, and the mode to give it back. */
struct lent {
    int fd;
    mode_t mode;
};

struct merge {
    struct cfbp_beneath_journal *journal;
    int dest_fd;
    const char *dest_display;
    bool recording;    /* lends are journaled (not while undoing: undoing restores the originals) */
    struct lent *held; /* parent directories lent until restore_held */
    size_t held_count, held_alloc;
};

static void (*step_hook)(unsigned long moment, void *data);
static void *step_hook_data;
static unsigned long step_moment;
static bool exchange_forced_off;
static bool exchange_unsupported; /* set once a file system said it cannot swap */

void cfbp_beneath_set_step_hook(void (*hook)(unsigned long moment, void *data), void *data)
{
    step_hook = hook;
    step_hook_data = data;
    step_moment = 0;
}

void cfbp_beneath_force_no_exchange(bool no_exchange)
{
    exchange_forced_off = no_exchange;
}

static void reach_moment(const struct cfbp_beneath_journal *journal)
{
    if (step_hook && journal->fd >= 0)
        step_hook(step_moment++, step_hook_data);
}

/* --- journal records --- */

/* Appends " /<text>" with bytes that could split a record escaped as %XX. */
static void format_field(struct cfbp_strbuf *line, const char *text)
{
    cfbp_strbuf_append_string(line, " /");
    for (const unsigned char *byte = (const unsigned char *)text; *byte; byte++) {
        if (*byte <= ' ' || *byte >= 0x7f || *byte == '%')
            cfbp_strbuf_append_format(line, "%%%02X", *byte);
        else
            cfbp_strbuf_append_char(line, (char)*byte);
    }
}

static void format_step(struct cfbp_strbuf *line, const struct step *step)
{
    cfbp_strbuf_reset(line);
    cfbp_strbuf_append_string(line, step_names[step->kind]);
    if (step->kind != STEP_COMMIT)
        format_field(line, step->directory);
    switch (step->kind) {
    case STEP_ADD:
        format_field(line, step->name);
        cfbp_strbuf_append_format(line, " %llu", (unsigned long long)step->moved);
        break;
    case STEP_SWAP:
        format_field(line, step->name);
        cfbp_strbuf_append_format(line, " %llu %llu", (unsigned long long)step->moved,
                                  (unsigned long long)step->displaced);
        break;
    case STEP_ASIDE:
        format_field(line, step->name);
        cfbp_strbuf_append_format(line, " %lu %llu", step->number,
                                  (unsigned long long)step->displaced);
        break;
    case STEP_MODE:
        cfbp_strbuf_append_format(line, " %o %llu", (unsigned)step->mode,
                                  (unsigned long long)step->moved);
        break;
    case STEP_COMMIT:
        break;
    }
    cfbp_strbuf_append_char(line, '\n');
}

/* Takes the next space-separated token of a record; false when there is none. */
static bool next_token(const char **cursor, const char *end, const char **token, size_t *length)
{
    if (*cursor >= end || **cursor != ' ')
        return false;
    *token = ++*cursor;
    while (*cursor < end && **cursor != ' ')
        ++*cursor;
    *length = (size_t)(*cursor - *token);
    return *length > 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static bool parse_field(const char **cursor, const char *end, char **out)
{
    const char *token;
    size_t length;
    if (!next_token(cursor, end, &token, &length) || token[0] != '/')
        return false;
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    for (size_t i = 1; i < length; i++) {
        if (token[i] != '%') {
            cfbp_strbuf_append_char(&text, token[i]);
            continue;
        }
        int high = i + 2 < length ? hex_value(token[i + 1]) : -1;
        int low = i + 2 < length ? hex_value(token[i + 2]) : -1;
        if (high < 0 || low < 0) {
            cfbp_strbuf_release(&text);
            return false;
        }
        cfbp_strbuf_append_char(&text, (char)(high * 16 + low));
        i += 2;
    }
    *out = cfbp_strbuf_detach(&text, NULL);
    return true;
}

static bool parse_number(const char **cursor, const char *end, int base, unsigned long long *out)
{
    const char *token;
    size_t length;
    if (!next_token(cursor, end, &token, &length) || length > 30)
        return false;
    char digits[32];
    memcpy(digits, token, length);
    digits[length] = '\0';
    char *stop;
    errno = 0;
    *out = strtoull(digits, &stop, base);
    return errno == 0 && *stop == '\0' && digits[0] != '-';
}

static bool parse_step(const char *line, const char *end, struct step *step)
{
    memset(step, 0, sizeof(*step));
    size_t kind_length = strcspn(line, " \n");
    bool known = false;
    for (size_t i = 0; i < sizeof(step_names) / sizeof(*step_names); i++) {
        if (strlen(step_names[i]) == kind_length && !strncmp(line, step_names[i], kind_length)) {
            step->kind = (enum step_kind)i;
            known = true;
        }
    }
    const char *cursor = line + kind_length;
    if (!known)
        return false;
    if (step->kind == STEP_COMMIT)
        return cursor == end;
    unsigned long long first = 0, second = 0;
    bool parsed = parse_field(&cursor, end, &step->directory);
    if (parsed && step->kind != STEP_MODE)
        parsed = parse_field(&cursor, end, &step->name);
    parsed = parsed && parse_number(&cursor, end, step->kind == STEP_MODE ? 8 : 10, &first);
    if (parsed && step->kind != STEP_ADD)
        parsed = parse_number(&cursor, end, 10, &second);
    /* An entry's name is one component: a damaged journal must not move anything elsewhere. */
    if (!parsed || cursor != end ||
        (step->name && (!*step->name || strchr(step->name, '/') || !strcmp(step->name, ".") ||
                        !strcmp(step->name, ".."))))
        return false;
    switch (step->kind) {
    case STEP_ADD:
        step->moved = (ino_t)first;
        break;
    case STEP_SWAP:
        step->moved = (ino_t)first;
        step->displaced = (ino_t)second;
        break;
    case STEP_ASIDE:
        step->number = (unsigned long)first;
        step->displaced = (ino_t)second;
        break;
    case STEP_MODE:
        step->mode = (mode_t)(first & 07777);
        step->moved = (ino_t)second;
        break;
    case STEP_COMMIT:
        break;
    }
    return true;
}

static void free_steps(struct cfbp_beneath_journal *journal)
{
    for (size_t i = 0; i < journal->step_count; i++) {
        free(journal->steps[i].directory);
        free(journal->steps[i].name);
    }
    free(journal->steps);
    journal->steps = NULL;
    journal->step_count = journal->step_alloc = 0;
}

/*
 * Records a step before it is taken: appended to the journal file with one
 * write(2) (a record cut short by a kill has no newline and is ignored, as
 * is the step it would have described, which was not taken), then kept in
 * memory for undoing in this process.
 */
static int record_step(struct cfbp_beneath_journal *journal, const struct step *step,
                       struct cfbp_error *err)
{
    if (journal->fd >= 0) {
        struct cfbp_strbuf line = CFBP_STRBUF_INIT;
        format_step(&line, step);
        reach_moment(journal);
        int saved = cfbp_fs_write_all(journal->fd, line.buf, line.len);
        cfbp_strbuf_release(&line);
        if (saved) {
            struct cfbp_strbuf path = CFBP_STRBUF_INIT;
            cfbp_path_join(&path, journal->work_display, JOURNAL_NAME);
            cfbp_fs_write_error(err, saved, path.buf);
            cfbp_strbuf_release(&path);
            errno = saved;
            return -1;
        }
        reach_moment(journal);
    }
    CFBP_GROW(journal->steps, journal->step_alloc, journal->step_count + 1);
    struct step *copy = &journal->steps[journal->step_count++];
    *copy = *step;
    copy->directory = cfbp_xstrdup(step->directory);
    copy->name = step->name ? cfbp_xstrdup(step->name) : NULL;
    if (step->kind != STEP_COMMIT)
        journal->pending = true;
    return 0;
}

/* --- lending write permission --- */

static void join_relative(struct cfbp_strbuf *out, const char *directory, const char *name)
{
    if (*directory)
        cfbp_path_join(out, directory, name);
    else
        cfbp_strbuf_set(out, name);
}

/*
 * Makes a directory of ours lacking need writable: the directory fd itself
 * (name NULL) or its entry name, when that is a directory. relative is its
 * path in the destination (NULL outside it), for the journal. Returns 1 with
 * *lent filled, 0 when there was nothing to lend, -1 when the journal could
 * not be written (errno set).
 */
static int lend_directory(struct merge *merge, int fd, const char *name, const char *relative,
                          mode_t need, struct lent *lent)
{
    int directory = name ? openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                         : fcntl(fd, F_DUPFD_CLOEXEC, 0);
    struct stat st;
    if (directory < 0)
        return 0;
    if (fstat(directory, &st) < 0 || st.st_uid != geteuid() || (st.st_mode & need) == need) {
        close(directory);
        return 0;
    }
    if (merge->recording && relative) {
        struct step step = {.kind = STEP_MODE, .mode = st.st_mode & 07777, .moved = st.st_ino};
        struct cfbp_strbuf path = CFBP_STRBUF_INIT;
        if (name)
            join_relative(&path, relative, name);
        else
            cfbp_strbuf_set(&path, relative);
        step.directory = path.buf;
        struct cfbp_error ignored = CFBP_ERROR_INIT;
        int recorded = record_step(merge->journal, &step, &ignored);
        int saved = errno;
        cfbp_strbuf_release(&path);
        cfbp_error_clear(&ignored);
        if (recorded < 0) {
            close(directory);
            errno = saved;
            return -1;
        }
    }
    if (fchmod(directory, (st.st_mode & 07777) | need) < 0) {
        close(directory);
        return 0;
    }
    lent->fd = directory;
    lent->mode = st.st_mode & 07777;
    return 1;
}

static void give_back(struct lent *lent)
{
    fchmod(lent->fd, lent->mode);
    close(lent->fd);
}

/* Gives the parent directories lent since the last call their modes back, newest first. */
static void restore_held(struct merge *merge)
{
    for (size_t i = merge->held_count; i > 0; i--)
        give_back(&merge->held[i - 1]);
    merge->held_count = 0;
}

/* One end of a rename: an entry of a directory, whose path in the destination is relative. */
struct end {
    int fd;
    const char *name;
    const char *relative; /* NULL outside the destination */
};

static int rename_entries(const struct end *from, const struct end *to, unsigned flags)
{
    if (renameat2(from->fd, from->name, to->fd, to->name, flags) == 0)
        return 0;
    /* Some file systems cannot promise RENAME_NOREPLACE; the caller saw the place empty. */
    if (errno == EINVAL && flags == RENAME_NOREPLACE)
        return renameat(from->fd, from->name, to->fd, to->name);
    return -1;
}

/*
 * renameat2 from one end to the other. Refused for want of permission, it
 * lends write permission to what must change and is ours: both parent
 * directories (kept until restore_held, as the next entries of the same
 * directory need them too) and a directory that changes parents (given back
 * at once if it stays in, or comes into, the destination; one that leaves
 * for the work directory keeps it, so that the work directory can be
 * removed), then tries again.
 */
static int rename_lending(struct merge *merge, const struct end *from, const struct end *to,
                          unsigned flags)
{
    if (rename_entries(from, to, flags) == 0)
        return 0;
    if (errno != EACCES && errno != EPERM)
        return -1;
    int refused = errno;
    struct lent moving[2];
    bool lent_moving[2] = {false, false};
    int lent = 0, status = 0;
    const struct end *ends[2] = {from, to};
    for (int i = 0; i < 2 && status >= 0; i++) {
        CFBP_GROW(merge->held, merge->held_alloc, merge->held_count + 1);
        status = lend_directory(merge, ends[i]->fd, NULL, ends[i]->relative, NEED_PARENT,
                                &merge->held[merge->held_count]);
        if (status > 0) {
            merge->held_count++;
            lent++;
        }
    }
    for (int i = 0; i < 2 && status >= 0; i++) {
        if (i == 1 && !(flags & RENAME_EXCHANGE))
            break;
        status = lend_directory(merge, ends[i]->fd, ends[i]->name, ends[i]->relative, NEED_MOVED,
                                &moving[i]);
        lent_moving[i] = status > 0;
        lent += status > 0;
    }
    int result = -1, saved = status < 0 ? errno : refused;
    if (status >= 0 && lent > 0) {
        result = rename_entries(from, to, flags);
        saved = errno;
    }
    /* moving[0] came from "from" and is now at "to" when it worked; moving[1] the other way. */
    for (int i = 0; i < 2; i++) {
        if (!lent_moving[i])
            continue;
        const struct end *now_in = result < 0 ? ends[i] : ends[1 - i];
        if (now_in->relative)
            give_back(&moving[i]);
        else
            close(moving[i].fd);
    }
    errno = saved;
    return result;
}

/* --- the merge --- */

static void source_path(struct cfbp_strbuf *out, const struct merge *merge, const char *relative,
                        const char *name)
{
    cfbp_path_join(out, merge->journal->source_display, relative);
    if (name)
        cfbp_path_append(out, name);
}

static void destination_path(struct cfbp_strbuf *out, const struct merge *merge,
                             const char *relative, const char *name)
{
    cfbp_path_join(out, merge->dest_display, relative);
    if (name)
        cfbp_path_append(out, name);
}

static int open_pair(struct merge *merge, const char *relative, int *src, int *dest,
                     struct cfbp_error *err)
{
    *src = cfbp_beneath_open_directory_at(merge->journal->source_fd, merge->journal->source_display,
                                          relative, false, 0, err);
    *dest = *src < 0 ? -1
                     : cfbp_beneath_open_directory_at(merge->dest_fd, merge->dest_display, relative,
                                                      false, 0, err);
    if (*dest >= 0)
        return 0;
    if (*src >= 0)
        close(*src);
    *src = -1;
    return -1;
}

/* The directory for entries put aside (where the file system cannot swap), made when needed. */
static int aside_directory(struct cfbp_beneath_journal *journal, struct cfbp_error *err)
{
    if (journal->aside_fd >= 0)
        return journal->aside_fd;
    int fd = -1;
    if (journal->work_fd >= 0 &&
        (mkdirat(journal->work_fd, ASIDE_NAME, 0700) == 0 || errno == EEXIST))
        fd = openat(journal->work_fd, ASIDE_NAME, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        struct cfbp_strbuf path = CFBP_STRBUF_INIT;
        cfbp_path_join(&path, journal->work_display ? journal->work_display : ".", ASIDE_NAME);
        cfbp_fs_write_error(err, errno, path.buf);
        cfbp_strbuf_release(&path);
        return -1;
    }
    journal->aside_fd = fd;
    journal->owns_aside = true;
    return fd;
}

/* Renames the source entry into the destination, where nothing stands. */
static int add_entry(struct merge *merge, const char *relative, const struct end *source,
                     const struct end *destination, ino_t inode, struct cfbp_error *err)
{
    struct step step = {.kind = STEP_ADD,
                        .directory = (char *)relative,
                        .name = (char *)source->name,
                        .moved = inode};
    if (record_step(merge->journal, &step, err) < 0)
        return -1;
    if (rename_lending(merge, source, destination, RENAME_NOREPLACE) == 0)
        return 0;
    int saved = errno;
    struct cfbp_strbuf display = CFBP_STRBUF_INIT;
    destination_path(&display, merge, relative, destination->name);
    cfbp_fs_write_error(err, saved, display.buf);
    cfbp_strbuf_release(&display);
    return -1;
}

/*
 * Where the file system cannot swap: the old entry is put aside (or, when
 * nothing is kept, removed), then the new one is moved in.
 */
static int replace_in_two_steps(struct merge *merge, const char *relative, const struct end *source,
                                const struct end *destination, const struct stat *from,
                                const struct stat *to, struct cfbp_error *err)
{
    struct cfbp_strbuf display = CFBP_STRBUF_INIT;
    destination_path(&display, merge, relative, destination->name);
    int result = 0;
    if (!merge->journal->keep) {
        result = cfbp_fs_remove_at(destination->fd, destination->name, display.buf, err);
    } else {
        int aside = aside_directory(merge->journal, err);
        char number[32];
        snprintf(number, sizeof(number), "%lu", merge->journal->aside_count);
        struct step step = {.kind = STEP_ASIDE,
                            .directory = (char *)relative,
                            .name = (char *)destination->name,
                            .number = merge->journal->aside_count,
                            .displaced = to->st_ino};
        struct end put_aside = {aside, number, NULL};
        if (aside < 0 || record_step(merge->journal, &step, err) < 0) {
            result = -1;
        } else {
            merge->journal->aside_count++; /* never reused, even after a failed rename */
            if (rename_lending(merge, destination, &put_aside, RENAME_NOREPLACE) < 0)
                result = cfbp_fs_write_error(err, errno, display.buf);
        }
    }
    cfbp_strbuf_release(&display);
    return result < 0 ? -1 : add_entry(merge, relative, source, destination, from->st_ino, err);
}

/* Replaces the destination entry with the source one: a swap, so the name is never empty. */
static int swap_entry(struct merge *merge, const char *relative, const struct end *source,
                      const struct end *destination, const struct stat *from, const struct stat *to,
                      struct cfbp_error *err)
{
    if (exchange_forced_off || exchange_unsupported)
        return replace_in_two_steps(merge, relative, source, destination, from, to, err);
    struct step step = {.kind = STEP_SWAP,
                        .directory = (char *)relative,
                        .name = (char *)source->name,
                        .moved = from->st_ino,
                        .displaced = to->st_ino};
    if (record_step(merge->journal, &step, err) < 0)
        return -1;
    struct cfbp_strbuf display = CFBP_STRBUF_INIT;
    int result = 0;
    if (rename_lending(merge, source, destination, RENAME_EXCHANGE) == 0) {
        /* Swapped: the old entry is in the source tree now. */
        if (!merge->journal->keep) {
            source_path(&display, merge, relative, source->name);
            result = cfbp_fs_remove_at(source->fd, source->name, display.buf, err);
        }
    } else if (errno == EINVAL || errno == ENOSYS) {
        exchange_unsupported = true; /* the journaled swap did not happen: nothing to undo */
        result = replace_in_two_steps(merge, relative, source, destination, from, to, err);
    } else {
        int saved = errno;
        destination_path(&display, merge, relative, destination->name);
        result = cfbp_fs_write_error(err, saved, display.buf);
    }
    cfbp_strbuf_release(&display);
    return result;
}

static int merge_entry(struct merge *merge, const char *relative, int src, int dest,
                       const char *name, struct cfbp_string_list *pending, struct cfbp_error *err)
{
    struct stat from, to;
    struct cfbp_strbuf display = CFBP_STRBUF_INIT;
    if (fstatat(src, name, &from, AT_SYMLINK_NOFOLLOW) < 0) {
        int saved = errno;
        source_path(&display, merge, relative, name);
        cfbp_error_set_errno(err, CFBP_ERROR_IO, saved, "cannot read %s", display.buf);
        cfbp_strbuf_release(&display);
        return -1;
    }
    bool there = fstatat(dest, name, &to, AT_SYMLINK_NOFOLLOW) == 0;
    if (!there && errno != ENOENT) {
        int saved = errno;
        destination_path(&display, merge, relative, name);
        cfbp_error_set_errno(err, CFBP_ERROR_IO, saved, "cannot read %s", display.buf);
        cfbp_strbuf_release(&display);
        return -1;
    }
    if (there && S_ISDIR(from.st_mode) && S_ISDIR(to.st_mode)) {
        join_relative(&display, relative, name);
        cfbp_string_list_append(pending, display.buf);
        cfbp_strbuf_release(&display);
        return 0;
    }
    struct end source = {src, name, NULL}, destination = {dest, name, relative};
    if (!there)
        return add_entry(merge, relative, &source, &destination, from.st_ino, err);
    return swap_entry(merge, relative, &source, &destination, &from, &to, err);
}

/* Removes the merged (now empty) source directories, deepest first. */
static int remove_merged(struct merge *merge, const struct cfbp_string_list *pending,
                         struct cfbp_error *err)
{
    struct cfbp_strbuf parent = CFBP_STRBUF_INIT, display = CFBP_STRBUF_INIT;
    int result = 0;
    for (size_t i = pending->count; result == 0 && i > 1; i--) {
        const char *relative = pending->items[i - 1];
        const char *slash = strrchr(relative, '/');
        cfbp_strbuf_reset(&parent);
        if (slash)
            cfbp_strbuf_append(&parent, relative, (size_t)(slash - relative));
        int fd = cfbp_beneath_open_directory_at(
            merge->journal->source_fd, merge->journal->source_display, parent.buf, false, 0, err);
        if (fd < 0) {
            result = -1;
            break;
        }
        if (unlinkat(fd, slash ? slash + 1 : relative, AT_REMOVEDIR) < 0) {
            int saved = errno;
            source_path(&display, merge, relative, NULL);
            result =
                cfbp_error_set_errno(err, CFBP_ERROR_IO, saved, "cannot remove %s", display.buf);
        }
        close(fd);
    }
    cfbp_strbuf_release(&parent);
    cfbp_strbuf_release(&display);
    return result;
}

/*
 * Directories are merged breadth first from a work list of paths relative to
 * the two tops, each opened afresh beneath its top: no descriptor is held per
 * level, so a tree of any depth merges within a few descriptors.
 */
static int merge_trees(struct merge *merge, struct cfbp_error *err)
{
    struct cfbp_string_list pending = CFBP_STRING_LIST_INIT, names = CFBP_STRING_LIST_INIT;
    struct cfbp_strbuf from = CFBP_STRBUF_INIT;
    cfbp_string_list_append(&pending, "");
    int result = 0;
    for (size_t next = 0; result == 0 && next < pending.count; next++) {
        const char *relative = pending.items[next];
        int src, dest;
        result = open_pair(merge, relative, &src, &dest, err);
        cfbp_string_list_clear(&names);
        if (result == 0) {
            source_path(&from, merge, relative, NULL);
            result = cfbp_fs_list_fd(dup(src), from.buf, &names, err);
        }
        for (size_t i = 0; result == 0 && i < names.count; i++)
            result = merge_entry(merge, relative, src, dest, names.items[i], &pending, err);
        restore_held(merge);
        if (src >= 0)
            close(src);
        if (dest >= 0)
            close(dest);
    }
    if (result == 0 && !merge->journal->keep)
        result = remove_merged(merge, &pending, err);
    cfbp_string_list_clear(&pending);
    cfbp_string_list_clear(&names);
    cfbp_strbuf_release(&from);
    return result;
}

/* --- undoing --- */

/* The inode of name in fd, or 0 when nothing is there (0 is never a file's inode). */
static ino_t inode_at(int fd, const char *name)
{
    struct stat st;
    return fd >= 0 && fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? st.st_ino : 0;
}

/* Reverses one step if it was taken and not yet reversed. */
static int undo_step(struct merge *merge, const struct step *step, struct cfbp_error *err)
{
    int src, dest;
    if (open_pair(merge, step->directory, &src, &dest, err) < 0)
        return -1;
    struct end source = {src, step->name, NULL}, destination = {dest, step->name, step->directory};
    char number[32];
    snprintf(number, sizeof(number), "%lu", step->number);
    struct end put_aside = {merge->journal->aside_fd, number, NULL};
    ino_t here = inode_at(dest, step->name);
    int result = 0;
    if (step->kind == STEP_ADD && here == step->moved && inode_at(src, step->name) == 0)
        result = rename_lending(merge, &destination, &source, RENAME_NOREPLACE);
    else if (step->kind == STEP_SWAP && here == step->moved &&
             inode_at(src, step->name) == step->displaced)
        result = rename_lending(merge, &source, &destination, RENAME_EXCHANGE);
    else if (step->kind == STEP_ASIDE && here == 0 &&
             inode_at(put_aside.fd, number) == step->displaced)
        result = rename_lending(merge, &put_aside, &destination, RENAME_NOREPLACE);
    if (result < 0) {
        int saved = errno;
        struct cfbp_strbuf display = CFBP_STRBUF_INIT;
        destination_path(&display, merge, step->directory, step->name);
        cfbp_error_set_errno(err, CFBP_ERROR_IO, saved, "cannot put %s back as it was",
                             display.buf);
        cfbp_strbuf_release(&display);
    }
    restore_held(merge);
    close(src);
    close(dest);
    return result;
}

/* Gives a directory its mode from before the merge, if it is still the same directory. */
static int undo_mode(struct merge *merge, const struct step *step, struct cfbp_error *err)
{
    struct cfbp_error ignored = CFBP_ERROR_INIT;
    int fd = cfbp_beneath_open_directory_at(merge->dest_fd, merge->dest_display, step->directory,
                                            false, 0, &ignored);
    cfbp_error_clear(&ignored);
    if (fd < 0)
        return 0; /* moved back out of the destination: nothing to give back */
    struct stat st;
    int result = 0;
    if (fstat(fd, &st) == 0 && st.st_ino == step->moved && (st.st_mode & 07777) != step->mode &&
        fchmod(fd, step->mode) < 0) {
        int saved = errno;
        struct cfbp_strbuf display = CFBP_STRBUF_INIT;
        destination_path(&display, merge, step->directory, NULL);
        result =
            cfbp_error_set_errno(err, CFBP_ERROR_IO, saved, "cannot give %s its mode %04o back",
                                 display.buf, (unsigned)step->mode);
        cfbp_strbuf_release(&display);
    }
    close(fd);
    return result;
}

/*
 * Undoes the journal's steps newest first: entries back where they were,
 * then the modes of the directories, oldest last, so that each ends with
 * the mode it had before the merge. Carries on past a failure, so that as
 * much as possible is put back, and reports the first.
 */
static int undo_steps(struct merge *merge, struct cfbp_error *err)
{
    struct cfbp_beneath_journal *journal = merge->journal;
    size_t count = journal->step_count;
    if (count > 0 && journal->steps[count - 1].kind == STEP_COMMIT)
        return 0;
    merge->recording = false;
    struct cfbp_error first = CFBP_ERROR_INIT;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = count; i > 0; i--) {
            const struct step *step = &journal->steps[i - 1];
            struct cfbp_error why = CFBP_ERROR_INIT;
            int status = 0;
            if (pass == 0 && step->kind != STEP_MODE && step->kind != STEP_COMMIT)
                status = undo_step(merge, step, &why);
            else if (pass == 1 && step->kind == STEP_MODE)
                status = undo_mode(merge, step, &why);
            if (status < 0 && !first.message)
                cfbp_error_move(&first, &why);
            cfbp_error_clear(&why);
        }
    }
    restore_held(merge);
    if (first.message) {
        if (err)
            cfbp_error_move(err, &first);
        cfbp_error_clear(&first);
        return -1;
    }
    journal->pending = false;
    /* Undone: the journal must never be applied again, even if removing the work directory
     * is interrupted. */
    if (journal->work_fd >= 0)
        unlinkat(journal->work_fd, JOURNAL_NAME, 0);
    return 0;
}

/* --- the calls --- */

static void merge_init(struct merge *merge, struct cfbp_beneath_journal *journal, int dest_fd,
                       const char *dest_display)
{
    memset(merge, 0, sizeof(*merge));
    merge->journal = journal;
    merge->dest_fd = dest_fd;
    merge->dest_display = dest_display;
    merge->recording = true;
}

static void merge_release(struct merge *merge)
{
    restore_held(merge);
    free(merge->held);
}

int cfbp_beneath_merge_move(int src_fd, const char *src_display, int dest_fd,
                            const char *dest_display, int trash_fd, struct cfbp_error *err)
{
    struct cfbp_beneath_journal journal = {.work_fd = -1,
                                           .source_display = (char *)src_display,
                                           .source_fd = src_fd,
                                           .fd = -1,
                                           .aside_fd = trash_fd,
                                           .keep = trash_fd >= 0};
    struct merge merge;
    merge_init(&merge, &journal, dest_fd, dest_display);
    int result = merge_trees(&merge, err);
    restore_held(&merge);
    if (result < 0 && journal.keep)
        undo_steps(&merge, NULL);
    merge_release(&merge);
    free_steps(&journal);
    return result;
}

static struct cfbp_beneath_journal *journal_new(int work_fd, const char *work_display,
                                                const char *source_name)
{
    struct cfbp_beneath_journal *journal = cfbp_xcalloc(1, sizeof(*journal));
    journal->work_fd = work_fd;
    journal->work_display = cfbp_xstrdup(work_display);
    journal->source_name = cfbp_xstrdup(source_name);
    struct cfbp_strbuf source = CFBP_STRBUF_INIT;
    cfbp_path_join(&source, work_display, source_name);
    journal->source_display = cfbp_strbuf_detach(&source, NULL);
    journal->source_fd = -1;
    journal->owns_source = true;
    journal->fd = -1;
    journal->aside_fd = -1;
    journal->keep = true;
    return journal;
}

int cfbp_beneath_journal_start(struct cfbp_beneath_journal **out, int work_fd,
                               const char *work_display, const char *source_name,
                               struct cfbp_error *err)
{
    struct cfbp_beneath_journal *journal = journal_new(work_fd, work_display, source_name);
    *out = journal;
    journal->source_fd =
        cfbp_beneath_open_directory_at(work_fd, work_display, source_name, false, 0, err);
    if (journal->source_fd < 0)
        return -1;
    journal->fd = openat(work_fd, JOURNAL_NAME,
                         O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
    int saved = journal->fd < 0 ? errno : 0;
    if (!saved) {
        struct cfbp_strbuf header = CFBP_STRBUF_INIT;
        cfbp_strbuf_set(&header, JOURNAL_HEADER);
        format_field(&header, source_name);
        cfbp_strbuf_append_char(&header, '\n');
        saved = cfbp_fs_write_all(journal->fd, header.buf, header.len);
        cfbp_strbuf_release(&header);
    }
    if (saved) {
        struct cfbp_strbuf path = CFBP_STRBUF_INIT;
        cfbp_path_join(&path, work_display, JOURNAL_NAME);
        cfbp_fs_write_error(err, saved, path.buf);
        cfbp_strbuf_release(&path);
        return -1;
    }
    return 0;
}

int cfbp_beneath_journal_merge(struct cfbp_beneath_journal *journal, int dest_fd,
                               const char *dest_display, struct cfbp_error *err)
{
    struct merge merge;
    merge_init(&merge, journal, dest_fd, dest_display);
    int result = merge_trees(&merge, err);
    restore_held(&merge);
    if (result < 0 && undo_steps(&merge, NULL) < 0)
        cfbp_error_append(err,
                          "; not everything could be put back yet: the next install into "
                          "%s does it",
                          dest_display);
    merge_release(&merge);
    return result;
}

int cfbp_beneath_journal_chmod(struct cfbp_beneath_journal *journal, int dest_fd,
                               const char *dest_display, const char *relative, mode_t mode,
                               struct cfbp_error *err)
{
    int fd = cfbp_beneath_open_directory_at(dest_fd, dest_display, relative, false, 0, err);
    if (fd < 0)
        return -1;
    struct stat st;
    int result = 0;
    if (fstat(fd, &st) < 0) {
        result = cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot read %s/%s", dest_display,
                                      relative);
    } else if ((st.st_mode & 07777) != (mode & 07777)) {
        struct step step = {.kind = STEP_MODE,
                            .directory = (char *)relative,
                            .mode = st.st_mode & 07777,
                            .moved = st.st_ino};
        if (record_step(journal, &step, err) < 0)
            result = -1;
        else if (fchmod(fd, mode & 07777) < 0)
            result =
                cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot change the mode of %s/%s",
                                     dest_display, relative);
    }
    close(fd);
    return result;
}

int cfbp_beneath_journal_commit(struct cfbp_beneath_journal *journal, struct cfbp_error *err)
{
    struct step step = {.kind = STEP_COMMIT, .directory = ""};
    if (record_step(journal, &step, err) < 0)
        return -1;
    journal->pending = false;
    return 0;
}

int cfbp_beneath_journal_undo(struct cfbp_beneath_journal *journal, int dest_fd,
                              const char *dest_display, struct cfbp_error *err)
{
    struct merge merge;
    merge_init(&merge, journal, dest_fd, dest_display);
    int result = undo_steps(&merge, err);
    merge_release(&merge);
    return result;
}

bool cfbp_beneath_journal_pending(const struct cfbp_beneath_journal *journal)
{
    return journal && journal->pending;
}

void cfbp_beneath_journal_close(struct cfbp_beneath_journal *journal)
{
    if (!journal)
        return;
    if (journal->fd >= 0)
        close(journal->fd);
    if (journal->owns_source && journal->source_fd >= 0)
        close(journal->source_fd);
    if (journal->owns_aside && journal->aside_fd >= 0)
        close(journal->aside_fd);
    free_steps(journal);
    free(journal->work_display);
    free(journal->source_name);
    free(journal->source_display);
    free(journal);
}

/* Reads the journal's steps; a last record without its newline was cut short and is ignored. */
static int read_journal(struct cfbp_beneath_journal **out, int work_fd, const char *work_display,
                        int fd, struct cfbp_error *err)
{
    struct cfbp_strbuf path = CFBP_STRBUF_INIT, text = CFBP_STRBUF_INIT;
    cfbp_path_join(&path, work_display, JOURNAL_NAME);
    int result = cfbp_fs_read_fd(fd, path.buf, JOURNAL_MAX, &text, err);
    const char *cursor = text.buf, *end = text.buf + text.len;
    const char *newline = result == 0 ? memchr(cursor, '\n', (size_t)(end - cursor)) : NULL;
    char *source_name = NULL;
    const char *header_end = cursor + strlen(JOURNAL_HEADER);
    if (result == 0 && newline && (size_t)(newline - cursor) > strlen(JOURNAL_HEADER) &&
        !strncmp(cursor, JOURNAL_HEADER, strlen(JOURNAL_HEADER)) &&
        parse_field(&header_end, newline, &source_name) && header_end == newline) {
        *out = journal_new(work_fd, work_display, source_name);
        for (cursor = newline + 1; result == 0 && cursor < end; cursor = newline + 1) {
            newline = memchr(cursor, '\n', (size_t)(end - cursor));
            if (!newline)
                break; /* cut short by a kill: its step was not taken */
            struct step step;
            if (!parse_step(cursor, newline, &step)) {
                free(step.directory);
                free(step.name);
                result = cfbp_error_set(err, CFBP_ERROR_INVALID,
                                        "cannot undo the install interrupted in %s: its journal "
                                        "%s is damaged; check %s against its dependency, then "
                                        "remove %s",
                                        work_display, path.buf, work_display, work_display);
                break;
            }
            CFBP_GROW((*out)->steps, (*out)->step_alloc, (*out)->step_count + 1);
            (*out)->steps[(*out)->step_count++] = step;
        }
    } else if (result == 0 && newline) {
        result = cfbp_error_set(err, CFBP_ERROR_INVALID,
                                "cannot undo the install interrupted in %s: %s is not a journal of "
                                "ours; remove %s",
                                work_display, path.buf, work_display);
    }
    /* No newline at all: killed while writing the header, before any step. */
    free(source_name);
    cfbp_strbuf_release(&path);
    cfbp_strbuf_release(&text);
    return result;
}

int cfbp_beneath_journal_recover(int work_fd, const char *work_display, int dest_fd,
                                 const char *dest_display, struct cfbp_error *err)
{
    int fd = openat(work_fd, JOURNAL_NAME, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return 0;
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    cfbp_path_join(&path, work_display, JOURNAL_NAME);
    if (fd < 0) {
        int saved = errno;
        cfbp_error_set_errno(err, CFBP_ERROR_IO, saved,
                             "cannot undo the install interrupted in %s: cannot read %s",
                             work_display, path.buf);
        cfbp_strbuf_release(&path);
        return -1;
    }
    struct cfbp_beneath_journal *journal = NULL;
    int result = read_journal(&journal, work_fd, work_display, fd, err);
    close(fd);
    if (result == 0 && journal && journal->step_count > 0 &&
        journal->steps[journal->step_count - 1].kind != STEP_COMMIT) {
        journal->source_fd = cfbp_beneath_open_directory_at(work_fd, work_display,
                                                            journal->source_name, false, 0, err);
        journal->aside_fd =
            openat(work_fd, ASIDE_NAME, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        journal->owns_aside = true;
        struct merge merge;
        merge_init(&merge, journal, dest_fd, dest_display);
        result = journal->source_fd < 0 ? -1 : undo_steps(&merge, err);
        merge_release(&merge);
        if (result < 0)
            cfbp_error_prefix(err, "cannot undo the install interrupted in %s", work_display);
    }
    /* Undone (or nothing to undo): the journal must never be applied again. */
    if (result == 0 && unlinkat(work_fd, JOURNAL_NAME, 0) < 0 && errno != ENOENT)
        result = cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot remove %s", path.buf);
    cfbp_beneath_journal_close(journal);
    cfbp_strbuf_release(&path);
    return result;
}
