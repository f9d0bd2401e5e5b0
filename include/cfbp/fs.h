/*
 * fs.h - file system operations with cfbp_error reporting.
 *
 * Files are written atomically (a temporary name in the same directory, then
 * rename), so a failure such as a full disk leaves either the old file or
 * none, never half of a new one. Trees are removed without following links.
 */
#ifndef CFBP_FS_H
#define CFBP_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_strbuf;
struct cfbp_string_list;
struct cfbp_error;

enum cfbp_fs_type {
    CFBP_FS_MISSING = 0,
    CFBP_FS_FILE,
    CFBP_FS_DIRECTORY,
    CFBP_FS_SYMLINK,
    CFBP_FS_OTHER
};

/* What is at path, without following a final symlink. */
enum cfbp_fs_type cfbp_fs_type_of(const char *path);
/* What is at name in the directory directory_fd, without following a final symlink. */
enum cfbp_fs_type cfbp_fs_type_at(int directory_fd, const char *name);
/* True when path is a directory, following symlinks. */
bool cfbp_fs_is_directory(const char *path);
/* True when path is a regular file, following symlinks. */
bool cfbp_fs_is_file(const char *path);
/* True when something (even a dangling symlink) is at path. */
bool cfbp_fs_exists(const char *path);

/* Creates path and missing parents with mode (before umask). Existing directories are fine. */
int cfbp_fs_mkdir_p(const char *path, mode_t mode, struct cfbp_error *err);
/*
 * Removes path and everything under it; a missing path is not an error.
 * Links are removed, never followed, and any depth works with a couple of
 * file descriptors.
 */
int cfbp_fs_remove_tree(const char *path, struct cfbp_error *err);
/*
 * Opens the directory name of the directory directory_fd (read-only, never
 * through a link); one its owner may not read (it is this process's) is
 * given mode 0700 first, as removing it needs. -1 with errno.
 */
int cfbp_fs_open_own_directory_at(int directory_fd, const char *name);
/* cfbp_fs_remove_tree for the entry name of the directory directory_fd; display names it. */
int cfbp_fs_remove_at(int directory_fd, const char *name, const char *display,
                      struct cfbp_error *err);
/* Creates a new directory "<parent>/<prefix>XXXXXX" (mode 0700) and puts its path in out. */
int cfbp_fs_make_temp_dir(const char *parent, const char *prefix, struct cfbp_strbuf *out,
                          struct cfbp_error *err);
/* Puts the names in directory path (without "." and "..") into names, sorted. */
int cfbp_fs_list_directory(const char *path, struct cfbp_string_list *names,
                           struct cfbp_error *err);

/* Like cfbp_fs_list_directory for the directory fd, which it takes over and closes. */
int cfbp_fs_list_fd(int fd, const char *display, struct cfbp_string_list *names,
                    struct cfbp_error *err);

/*
 * Reads the whole file into out (replacing it); files over max_bytes are an
 * error, and so is anything but a regular file (a fifo would hang the read).
 * Never reads more than max_bytes + 1 bytes.
 */
int cfbp_fs_read_file(const char *path, size_t max_bytes, struct cfbp_strbuf *out,
                      struct cfbp_error *err);
/* Reads what is left of fd into out, as cfbp_fs_read_file does; display names it. */
int cfbp_fs_read_fd(int fd, const char *display, size_t max_bytes, struct cfbp_strbuf *out,
                    struct cfbp_error *err);
/*
 * Opens the regular file name of the directory directory_fd for reading: a
 * symlink there is refused (CFBP_ERROR_UNSAFE_PATH), and so is a fifo or a
 * device. Returns the descriptor or -1.
 */
int cfbp_fs_open_regular_at(int directory_fd, const char *name, const char *display,
                            struct cfbp_error *err);

/*
 * Sets err to "cannot write <path>: <reason>" with what to do about a full
 * disk, a disk quota or a file size limit. Returns -1.
 */
int cfbp_fs_write_error(struct cfbp_error *err, int errnum, const char *path);
/* Atomically replaces path with data, then sets mode (exactly, umask not applied). */
int cfbp_fs_write_file(const char *path, const void *data, size_t length, mode_t mode,
                       struct cfbp_error *err);
/* Atomically copies src to dst with mode. */
int cfbp_fs_copy_file(const char *src, const char *dst, mode_t mode, struct cfbp_error *err);
/*
 * Moves every entry of src_dir into dest_dir: missing entries are renamed in,
 * directories present on both sides are merged, anything else in dest_dir is
 * replaced. src_dir is removed. Both must be on one file system. Links inside
 * either tree are never followed (cfbp_beneath_merge_move).
 */
int cfbp_fs_merge_move(const char *src_dir, const char *dest_dir, struct cfbp_error *err);

/* Decides whether to skip an entry while copying; relative is its path under the source. */
typedef bool (*cfbp_fs_skip_fn)(const char *relative, void *data);

/*
 * Copies the tree at from into to (created; must not exist yet), like
 * `cp -a` without owners: files keep their mode, directories their mode,
 * symlinks are copied as symlinks (never followed). skip may be NULL.
 */
int cfbp_fs_copy_tree(const char *from, const char *to, cfbp_fs_skip_fn skip, void *skip_data,
                      struct cfbp_error *err);

/*
 * Makes a file size limit (ulimit -f) fail writes with EFBIG, which the
 * calls here report, instead of raising SIGXFSZ, which would kill the
 * program without a word. A handler, not SIG_IGN, so that programs started
 * later get the default back at exec. Programs call it once at start.
 */
void cfbp_fs_catch_file_size_limit(void);

/* read(2), retried when a signal interrupts it: the byte count, 0 at the end, -1 (errno). */
ssize_t cfbp_fs_read(int fd, void *buffer, size_t size);

/* Writes all of data to fd, retrying short writes. Returns 0 or an errno value. */
int cfbp_fs_write_all(int fd, const void *data, size_t length);

/*
 * True when name (one path component) has the form of the temporary files
 * the stager writes beside their targets, ".<name>.cfbp-<pid>-<n>". A run
 * removes those of dead processes at start-up, so no archive member may have
 * such a name (cfbp_archive_install refuses it).
 */
bool cfbp_fs_is_write_temp_name(const char *name);
/* The pid in such a name, or 0 when name is not one. */
long cfbp_fs_write_temp_pid(const char *name);

#ifdef __cplusplus
}
#endif

#endif
