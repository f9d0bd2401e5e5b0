/*
 * write_queue.h - a thread that creates small member files while the
 * extracting thread goes on with the next members (private to archive.c;
 * its names are cfbpi_, which libcfbp.so does not export: cmake/libcfbp.map).
 *
 * Where a tree has thousands of small files (a node_modules), the kernel's
 * work to create them is most of an install, and one thread doing it leaves
 * a core idle. The extracting thread reads a small file's bytes into a job
 * and queues it; this thread creates the file (O_EXCL, relative to a
 * directory the extractor opened), writes it and closes it, in queue order.
 * When the queue is full the extracting thread writes the file itself
 * rather than wait, so both threads create files.
 *
 * Order is kept where it matters. The extractor asks cfbpi_write_queue_touches()
 * before each member: a member whose path is a queued file, or lies under
 * one, waits for the queue (cfbpi_write_queue_settle) before it goes on, and
 * anything that removes or replaces a path settles first. A queued file
 * whose place was taken (EEXIST: an earlier member left something there) is
 * not written by this thread: settling hands it back, in order, for the
 * extractor to replace what stands there as it does for its own members.
 * After the first failure the thread writes nothing more, and settling
 * reports it; every file handed back came before it.
 *
 * Memory and descriptors stay bounded: at most WRITE_QUEUE_JOBS files and
 * WRITE_QUEUE_BYTES bytes of data queued, in at most WRITE_QUEUE_DIRECTORIES
 * directories held open for them. Everything here but the thread's own loop
 * runs on the extracting thread.
 */
#ifndef CFBP_WRITE_QUEUE_H
#define CFBP_WRITE_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define WRITE_QUEUE_JOBS        256
#define WRITE_QUEUE_BYTES       (4 * 1024 * 1024)
#define WRITE_QUEUE_DIRECTORIES 64
#define WRITE_QUEUE_FILE_SIZE   (256 * 1024) /* larger files are written by the extractor */

/*
 * How many small files the extractor writes itself before a queue is worth
 * its thread (4; tests set 0, to queue from the first file, or SIZE_MAX).
 */
extern size_t cfbpi_write_queue_files_before_start;

/* A directory that queued files go in: its descriptor stays open while anyone holds it. */
struct write_directory {
    int fd;
    unsigned holders;
    struct write_queue *queue;
};

/* A file to create. The caller fills the first part; the queue owns it once added. */
struct write_job {
    struct write_directory *parent; /* held by the job */
    char *path;                     /* relative to the root of the tree (messages, order) */
    size_t name_start;              /* its last component: path + name_start */
    mode_t create_mode;
    int chmod_mode; /* a mode to set after writing (the umask took bits), or -1 */
    off_t size;     /* the member's size: a hole at the end is kept */
    char *data;     /* bytes 0 to length of the file */
    size_t length;
    /* Kept by the queue. */
    int outcome; /* 0: written; EEXIST: handed back; another errno: failed */
    struct write_job *next;
    struct write_job *bucket_next;
};

struct write_queue;

/* A queue and its thread; NULL (errno set) when no thread could be started. */
struct write_queue *cfbpi_write_queue_start(void);

/* Holds fd (taken over) open for queued files; the caller holds it once. */
struct write_directory *cfbpi_write_directory_new(struct write_queue *queue, int fd);
void cfbpi_write_directory_hold(struct write_directory *directory);
/* Lets go of a directory: its descriptor closes with the last holder. */
void cfbpi_write_directory_release(struct write_directory *directory);

/*
 * Queues job (taken over) and returns true; or, when the queue is full,
 * returns false and the job stays the caller's, to write itself.
 */
bool cfbpi_write_queue_add(struct write_queue *queue, struct write_job *job);

/* Whether path, or a directory above it, is a file queued or handed back and not settled. */
bool cfbpi_write_queue_touches(struct write_queue *queue, const char *path);

/* Whether the thread has failed (cheap: to stop early). */
bool cfbpi_write_queue_failed(struct write_queue *queue);

/*
 * Waits until every queued file is done. Returns the files handed back
 * (their outcome EEXIST), in queue order, linked by next: the caller writes
 * them and frees them with cfbpi_write_job_free. *failure_errno and *failure_path
 * (owned by the queue) tell the thread's first failure, or 0 and NULL.
 */
struct write_job *cfbpi_write_queue_settle(struct write_queue *queue, int *failure_errno,
                                           const char **failure_path);

/* Stops the thread (dropping what is still queued) and frees the queue and its jobs. */
void cfbpi_write_queue_free(struct write_queue *queue);

/*
 * Writes a job's data into fd (its new file), keeps a hole at the end, sets
 * the mode and closes fd. Returns 0 or the errno of the first step that failed.
 */
int cfbpi_write_job_fill(int fd, const struct write_job *job);

/* Frees a job and lets go of its directory. */
void cfbpi_write_job_free(struct write_job *job);

#endif
