/*
 * write_queue.c - small member files created on a second thread (see
 * write_queue.h).
 *
 * The jobs sit in a ring in queue order: the extractor adds at one end, the
 * thread takes them from the other, and the extractor takes finished ones
 * back (reclaim) to free them. Only the counters, the ring slots and the
 * failure are shared, under the lock; the table of queued paths and the
 * directory holders belong to the extractor alone, so a directory's
 * descriptor is closed on the extractor's thread, never while the thread
 * may still use it (a job holds its directory until it is reclaimed).
 */
#include "write_queue.h"

#include "cfbp/alloc.h"
#include "cfbp/fs.h"
#include "cfbp/text_table.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define WRITE_QUEUE_BUCKETS (2 * WRITE_QUEUE_JOBS) /* a power of two */

size_t cfbpi_write_queue_files_before_start = 4;

struct write_queue {
    pthread_mutex_t lock;
    pthread_cond_t work;     /* the thread waits for jobs */
    pthread_cond_t progress; /* the extractor waits for jobs to finish */
    pthread_t thread;
    /* Under the lock. */
    bool stopping;
    struct write_job *ring[WRITE_QUEUE_JOBS]; /* job n (from 0) at [n % JOBS] */
    uint64_t added, done;
    size_t bytes; /* data of the jobs added and not done */
    int failure_errno;
    char *failure_path;
    atomic_bool failed;
    /* The extractor's alone. */
    uint64_t reclaimed;
    size_t directories;                             /* write_directory holders alive */
    struct write_job *buckets[WRITE_QUEUE_BUCKETS]; /* jobs queued or handed back, by path */
    struct write_job *handed_back, **handed_back_end;
};

struct write_directory *cfbpi_write_directory_new(struct write_queue *queue, int fd)
{
    struct write_directory *directory = cfbp_xmalloc(sizeof(*directory));
    directory->fd = fd;
    directory->holders = 1;
    directory->queue = queue;
    queue->directories++;
    return directory;
}

void cfbpi_write_directory_hold(struct write_directory *directory)
{
    directory->holders++;
}

void cfbpi_write_directory_release(struct write_directory *directory)
{
    if (!directory || --directory->holders > 0)
        return;
    close(directory->fd);
    directory->queue->directories--;
    free(directory);
}

void cfbpi_write_job_free(struct write_job *job)
{
    if (!job)
        return;
    cfbpi_write_directory_release(job->parent);
    free(job->path);
    free(job->data);
    free(job);
}

int cfbpi_write_job_fill(int fd, const struct write_job *job)
{
    int saved = cfbp_fs_write_all(fd, job->data, job->length);
    if (!saved && job->size > (off_t)job->length && ftruncate(fd, job->size) < 0)
        saved = errno;
    if (!saved && job->chmod_mode >= 0 && fchmod(fd, (mode_t)job->chmod_mode) < 0)
        saved = errno;
    if (close(fd) < 0 && !saved)
        saved = errno;
    return saved;
}

/* Creates the job's file where nothing stands (EEXIST otherwise) and fills it. */
static int write_job_run(const struct write_job *job)
{
    int fd = openat(job->parent->fd, job->path + job->name_start,
                    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, job->create_mode);
    if (fd < 0)
        return errno;
    return cfbpi_write_job_fill(fd, job);
}

static void *write_queue_main(void *data)
{
    struct write_queue *queue = data;
    pthread_mutex_lock(&queue->lock);
    for (;;) {
        while (queue->done == queue->added && !queue->stopping)
            pthread_cond_wait(&queue->work, &queue->lock);
        if (queue->done == queue->added)
            break;
        struct write_job *job = queue->ring[queue->done % WRITE_QUEUE_JOBS];
        /* After a failure (or when dropped) nothing more is written: the install fails anyway. */
        bool skip = atomic_load(&queue->failed) || queue->stopping;
        pthread_mutex_unlock(&queue->lock);
        int outcome = skip ? ECANCELED : write_job_run(job);
        if (outcome != EEXIST) {
            free(job->data);
            job->data = NULL;
        }
        pthread_mutex_lock(&queue->lock);
        job->outcome = outcome;
        queue->bytes -= job->length;
        if (outcome && outcome != EEXIST && !atomic_load(&queue->failed)) {
            queue->failure_errno = outcome;
            queue->failure_path = cfbp_xstrdup(job->path);
            atomic_store(&queue->failed, true);
        }
        queue->done++;
        pthread_cond_signal(&queue->progress);
    }
    pthread_mutex_unlock(&queue->lock);
    return NULL;
}

struct write_queue *cfbpi_write_queue_start(void)
{
    struct write_queue *queue = cfbp_xcalloc(1, sizeof(*queue));
    pthread_mutex_init(&queue->lock, NULL);
    pthread_cond_init(&queue->work, NULL);
    pthread_cond_init(&queue->progress, NULL);
    atomic_init(&queue->failed, false);
    queue->handed_back_end = &queue->handed_back;
    int failed = pthread_create(&queue->thread, NULL, write_queue_main, queue);
    if (failed) {
        pthread_cond_destroy(&queue->progress);
        pthread_cond_destroy(&queue->work);
        pthread_mutex_destroy(&queue->lock);
        free(queue);
        errno = failed;
        return NULL;
    }
    return queue;
}

static struct write_job **bucket_of(struct write_queue *queue, const char *path, size_t length)
{
    return &queue->buckets[cfbp_text_hash(path, length) & (WRITE_QUEUE_BUCKETS - 1)];
}

static bool bucket_holds(struct write_queue *queue, const char *path, size_t length)
{
    for (struct write_job *job = *bucket_of(queue, path, length); job; job = job->bucket_next)
        if (strncmp(job->path, path, length) == 0 && job->path[length] == '\0')
            return true;
    return false;
}

static void bucket_remove(struct write_queue *queue, struct write_job *job)
{
    struct write_job **link = bucket_of(queue, job->path, strlen(job->path));
    while (*link != job)
        link = &(*link)->bucket_next;
    *link = job->bucket_next;
}

/* Takes back the finished jobs: written or failed ones are freed, EEXIST ones handed back. */
static void reclaim(struct write_queue *queue)
{
    pthread_mutex_lock(&queue->lock);
    uint64_t done = queue->done;
    pthread_mutex_unlock(&queue->lock);
    for (; queue->reclaimed < done; queue->reclaimed++) {
        struct write_job *job = queue->ring[queue->reclaimed % WRITE_QUEUE_JOBS];
        if (job->outcome == EEXIST) {
            /* It stays in the table: what comes after it must not pass it. */
            job->next = NULL;
            *queue->handed_back_end = job;
            queue->handed_back_end = &job->next;
            continue;
        }
        bucket_remove(queue, job);
        cfbpi_write_job_free(job);
    }
}

bool cfbpi_write_queue_add(struct write_queue *queue, struct write_job *job)
{
    reclaim(queue);
    if (queue->directories > WRITE_QUEUE_DIRECTORIES)
        return false;
    pthread_mutex_lock(&queue->lock);
    bool full = queue->added - queue->reclaimed >= WRITE_QUEUE_JOBS ||
                (queue->added != queue->done && queue->bytes + job->length > WRITE_QUEUE_BYTES);
    pthread_mutex_unlock(&queue->lock);
    if (full)
        return false;
    job->outcome = 0;
    job->next = NULL;
    struct write_job **bucket = bucket_of(queue, job->path, strlen(job->path));
    job->bucket_next = *bucket;
    *bucket = job;
    pthread_mutex_lock(&queue->lock);
    queue->ring[queue->added % WRITE_QUEUE_JOBS] = job;
    queue->added++;
    queue->bytes += job->length;
    pthread_cond_signal(&queue->work);
    pthread_mutex_unlock(&queue->lock);
    return true;
}

bool cfbpi_write_queue_touches(struct write_queue *queue, const char *path)
{
    reclaim(queue);
    if (queue->reclaimed == queue->added && !queue->handed_back)
        return false;
    for (size_t i = 0;; i++)
        if (path[i] == '/' || path[i] == '\0') {
            if (i > 0 && bucket_holds(queue, path, i))
                return true;
            if (path[i] == '\0')
                return false;
        }
}

bool cfbpi_write_queue_failed(struct write_queue *queue)
{
    return atomic_load(&queue->failed);
}

struct write_job *cfbpi_write_queue_settle(struct write_queue *queue, int *failure_errno,
                                           const char **failure_path)
{
    pthread_mutex_lock(&queue->lock);
    while (queue->done < queue->added)
        pthread_cond_wait(&queue->progress, &queue->lock);
    *failure_errno = queue->failure_errno;
    *failure_path = queue->failure_path;
    pthread_mutex_unlock(&queue->lock);
    reclaim(queue);
    struct write_job *handed_back = queue->handed_back;
    for (struct write_job *job = handed_back; job; job = job->next)
        bucket_remove(queue, job);
    queue->handed_back = NULL;
    queue->handed_back_end = &queue->handed_back;
    return handed_back;
}

void cfbpi_write_queue_free(struct write_queue *queue)
{
    if (!queue)
        return;
    pthread_mutex_lock(&queue->lock);
    queue->stopping = true;
    pthread_cond_signal(&queue->work);
    pthread_mutex_unlock(&queue->lock);
    pthread_join(queue->thread, NULL);
    for (; queue->reclaimed < queue->added; queue->reclaimed++)
        cfbpi_write_job_free(queue->ring[queue->reclaimed % WRITE_QUEUE_JOBS]);
    while (queue->handed_back) {
        struct write_job *job = queue->handed_back;
        queue->handed_back = job->next;
        cfbpi_write_job_free(job);
    }
    free(queue->failure_path);
    pthread_cond_destroy(&queue->progress);
    pthread_cond_destroy(&queue->work);
    pthread_mutex_destroy(&queue->lock);
    free(queue);
}
