/*
 * support.c - shared test helpers (see support.h).
 */
#include "support.h"

#include "../../lib/write_queue.h"

#include "cfbp/digest.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/path.h"
#include "cfbp/strbuf.h"
#include "cfbp/string_list.h"

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

char *test_make_dir(void)
{
    const char *base = getenv("TMPDIR");
    char *template = test_path(base && *base ? base : "/tmp", "cfbp-test-XXXXXX");
    if (!mkdtemp(template))
        fail_msg("cannot create a temporary directory: %s", strerror(errno));
    return template;
}

void test_remove_dir(char *path)
{
    if (!path)
        return;
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_fs_remove_tree(path, &err) < 0)
        fprintf(stderr, "warning: %s\n", err.message);
    cfbp_error_clear(&err);
    free(path);
}

char *test_path(const char *a, const char *b)
{
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    cfbp_path_join(&path, a, b);
    return cfbp_strbuf_detach(&path, NULL);
}

void test_write_file(const char *path, const char *text, mode_t mode)
{
    struct cfbp_error err = CFBP_ERROR_INIT;
    struct cfbp_strbuf directory = CFBP_STRBUF_INIT;
    cfbp_path_dirname(&directory, path);
    if (cfbp_fs_mkdir_p(directory.buf, 0755, &err) < 0 ||
        cfbp_fs_write_file(path, text, strlen(text), mode, &err) < 0)
        fail_msg("%s", err.message);
    cfbp_strbuf_release(&directory);
}

char *test_read_file(const char *path)
{
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_fs_read_file(path, 1 << 26, &text, &err) < 0) {
        cfbp_error_clear(&err);
        cfbp_strbuf_release(&text);
        return NULL;
    }
    return cfbp_strbuf_detach(&text, NULL);
}

bool test_exists(const char *path)
{
    return cfbp_fs_exists(path);
}

const char *test_sha256_of_file(const char *path)
{
    static char hex[CFBP_DIGEST_HEX_SIZE];
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_digest_of_file(CFBP_DIGEST_SHA256, path, hex, &err) < 0)
        fail_msg("%s", err.message);
    return hex;
}

size_t test_count_entries(const char *path)
{
    struct cfbp_string_list names = CFBP_STRING_LIST_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    size_t count = 0;
    if (cfbp_fs_type_of(path) != CFBP_FS_DIRECTORY)
        return 0;
    if (cfbp_fs_list_directory(path, &names, &err) < 0)
        fail_msg("%s", err.message);
    for (size_t i = 0; i < names.count; i++) {
        char *child = test_path(path, names.items[i]);
        count += 1 + test_count_entries(child);
        free(child);
    }
    cfbp_string_list_clear(&names);
    return count;
}

static void snapshot_entry(const char *path, const char *relative, bool with_times,
                           struct cfbp_strbuf *out)
{
    struct stat st;
    if (lstat(path, &st) < 0) {
        cfbp_strbuf_append_format(out, "%s missing\n", relative);
        return;
    }
    char type = S_ISDIR(st.st_mode)   ? 'd'
                : S_ISLNK(st.st_mode) ? 'l'
                : S_ISREG(st.st_mode) ? 'f'
                                      : 'o';
    cfbp_strbuf_append_format(out, "%s %c %04o", relative, type, (unsigned)(st.st_mode & 07777));
    if (type == 'f')
        cfbp_strbuf_append_format(out, " %lld %s", (long long)st.st_size,
                                  test_sha256_of_file(path));
    if (type == 'l') {
        char target[4096];
        ssize_t length = readlink(path, target, sizeof(target) - 1);
        target[length < 0 ? 0 : length] = '\0';
        cfbp_strbuf_append_format(out, " -> %s", target);
    }
    if (with_times && type != 'l')
        cfbp_strbuf_append_format(out, " %lld.%09ld", (long long)st.st_mtim.tv_sec,
                                  st.st_mtim.tv_nsec);
    cfbp_strbuf_append_char(out, '\n');
    if (type != 'd')
        return;
    struct cfbp_string_list names = CFBP_STRING_LIST_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_fs_list_directory(path, &names, &err) < 0)
        fail_msg("%s", err.message);
    for (size_t i = 0; i < names.count; i++) {
        char *child = test_path(path, names.items[i]);
        char *child_relative = strcmp(relative, ".") == 0 ? strdup(names.items[i])
                                                          : test_path(relative, names.items[i]);
        snapshot_entry(child, child_relative, with_times, out);
        free(child);
        free(child_relative);
    }
    cfbp_string_list_clear(&names);
}

char *test_snapshot(const char *root, bool with_times)
{
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    snapshot_entry(root, ".", with_times, &out);
    return cfbp_strbuf_detach(&out, NULL);
}

void test_assert_same_snapshot(const char *before, const char *after, const char *what)
{
    if (strcmp(before, after) == 0)
        return;
    fail_msg("%s changed.\n--- before\n%s--- after\n%s", what, before, after);
}

/* --- archives --- */

static void check(struct archive *archive, int status)
{
    if (status < ARCHIVE_WARN)
        fail_msg("libarchive: %s", archive_error_string(archive));
}

void test_make_archive(const char *path, enum test_archive_format format,
                       const struct test_entry *entries, size_t count)
{
    struct archive *archive = archive_write_new();
    switch (format) {
    case TEST_TGZ:
        check(archive, archive_write_add_filter_gzip(archive));
        check(archive, archive_write_set_format_pax_restricted(archive));
        break;
    case TEST_TXZ:
        check(archive, archive_write_add_filter_xz(archive));
        check(archive, archive_write_set_format_pax_restricted(archive));
        break;
    case TEST_TAR:
        check(archive, archive_write_set_format_pax_restricted(archive));
        break;
    case TEST_ZIP:
        check(archive, archive_write_set_format_zip(archive));
        break;
    }
    check(archive, archive_write_open_filename(archive, path));
    for (size_t i = 0; i < count; i++) {
        const struct test_entry *spec = &entries[i];
        struct archive_entry *entry = archive_entry_new();
        archive_entry_set_pathname(entry, spec->name);
        archive_entry_set_mtime(entry, 1700000000, 0);
        size_t size = 0;
        switch (spec->type) {
        case 'd':
            archive_entry_set_filetype(entry, AE_IFDIR);
            archive_entry_set_perm(entry, spec->mode ? spec->mode : 0755);
            break;
        case 'l':
            archive_entry_set_filetype(entry, AE_IFLNK);
            archive_entry_set_perm(entry, 0777);
            archive_entry_set_symlink(entry, spec->data);
            break;
        case 'h':
            archive_entry_set_filetype(entry, AE_IFREG);
            archive_entry_set_perm(entry, 0644);
            archive_entry_set_hardlink(entry, spec->data);
            break;
        case 'c':
            archive_entry_set_filetype(entry, AE_IFCHR);
            archive_entry_set_perm(entry, 0666);
            archive_entry_set_rdev(entry, makedev(1, 3));
            break;
        case 'p':
            archive_entry_set_filetype(entry, AE_IFIFO);
            archive_entry_set_perm(entry, 0644);
            break;
        default:
            archive_entry_set_filetype(entry, AE_IFREG);
            archive_entry_set_perm(entry, spec->mode ? spec->mode : 0644);
            size = spec->data ? strlen(spec->data) : spec->size;
            archive_entry_set_size(entry, (la_int64_t)size);
        }
        check(archive, archive_write_header(archive, entry));
        if (size && spec->data) {
            archive_write_data(archive, spec->data, size);
        } else if (size) {
            static char block[65536];
            unsigned long long state = 0x9e3779b97f4a7c15ull;
            for (size_t at = 0; at < size;) {
                size_t chunk = size - at < sizeof(block) ? size - at : sizeof(block);
                for (size_t j = 0; j < chunk; j++) {
                    if (spec->type == 'z') {
                        block[j] = 0;
                    } else if (spec->type == 'r') {
                        state ^= state << 13;
                        state ^= state >> 7;
                        state ^= state << 17;
                        block[j] = (char)(state >> 24);
                    } else {
                        block[j] = (char)('a' + (at + j) % 26);
                    }
                }
                if (archive_write_data(archive, block, chunk) < 0)
                    fail_msg("libarchive: %s", archive_error_string(archive));
                at += chunk;
            }
        }
        archive_entry_free(entry);
    }
    check(archive, archive_write_close(archive));
    archive_write_free(archive);
}

/* --- processes --- */

const char *test_program_dir(void)
{
#ifdef CFBP_TEST_PROGRAM_DIR
    return CFBP_TEST_PROGRAM_DIR;
#else
    const char *dir = getenv("CFBP_TEST_PROGRAM_DIR");
    return dir ? dir : "build/bin";
#endif
}

/* environ plus env (later entries win; "NAME=" removes NAME). */
static char **merged_environment(char *const *env)
{
    size_t count = 0, extra = 0;
    while (environ[count])
        count++;
    while (env && env[extra])
        extra++;
    char **merged = calloc(count + extra + 1, sizeof(*merged));
    size_t used = 0;
    for (size_t i = 0; i < count; i++) {
        size_t name_length = strcspn(environ[i], "=");
        bool replaced = false;
        for (size_t j = 0; j < extra; j++)
            if (strncmp(env[j], environ[i], name_length + 1) == 0)
                replaced = true;
        if (!replaced)
            merged[used++] = environ[i];
    }
    for (size_t j = 0; j < extra; j++)
        if (env[j][strlen(env[j]) - 1] != '=')
            merged[used++] = env[j];
    merged[used] = NULL;
    return merged;
}

static void drain_into(int fd, struct cfbp_strbuf *out, bool *open)
{
    char buffer[8192];
    ssize_t got = read(fd, buffer, sizeof(buffer));
    if (got > 0)
        cfbp_strbuf_append(out, buffer, (size_t)got);
    else if (got == 0 || (errno != EINTR && errno != EAGAIN))
        *open = false;
}

struct test_run test_run_program(char *const *argv, const char *directory, char *const *env)
{
    int out_pipe[2], err_pipe[2];
    if (pipe2(out_pipe, O_CLOEXEC) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0)
        fail_msg("pipe: %s", strerror(errno));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], 2);
    if (directory)
        posix_spawn_file_actions_addchdir_np(&actions, directory);
    char **environment = merged_environment(env);
    struct timespec start, end;
    clock_gettime(CLOCK_MONOTONIC, &start);
    pid_t pid;
    int spawned = posix_spawn(&pid, argv[0], &actions, NULL, argv, environment);
    posix_spawn_file_actions_destroy(&actions);
    free(environment);
    close(out_pipe[1]);
    close(err_pipe[1]);
    if (spawned != 0)
        fail_msg("cannot run %s: %s", argv[0], strerror(spawned));
    struct cfbp_strbuf out = CFBP_STRBUF_INIT, err = CFBP_STRBUF_INIT;
    bool out_open = true, err_open = true;
    while (out_open || err_open) {
        struct pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
        if (poll(fds, 2, -1) < 0 && errno != EINTR)
            break;
        if (out_open && fds[0].revents)
            drain_into(out_pipe[0], &out, &out_open);
        if (err_open && fds[1].revents)
            drain_into(err_pipe[0], &err, &err_open);
    }
    close(out_pipe[0]);
    close(err_pipe[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    clock_gettime(CLOCK_MONOTONIC, &end);
    struct test_run run;
    run.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    run.out = cfbp_strbuf_detach(&out, NULL);
    run.err = cfbp_strbuf_detach(&err, NULL);
    run.seconds = (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9;
    return run;
}

void test_run_free(struct test_run *run)
{
    free(run->out);
    free(run->err);
    run->out = run->err = NULL;
}

pid_t test_start_program(char *const *argv, const char *directory, char *const *env,
                         const char *log_path)
{
    int log = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log < 0)
        fail_msg("cannot open %s: %s", log_path, strerror(errno));
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attributes;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attributes);
    posix_spawn_file_actions_adddup2(&actions, log, 1);
    posix_spawn_file_actions_adddup2(&actions, log, 2);
    if (directory)
        posix_spawn_file_actions_addchdir_np(&actions, directory);
    posix_spawnattr_setpgroup(&attributes, 0);
    posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETPGROUP);
    char **environment = merged_environment(env);
    pid_t pid;
    int spawned = posix_spawn(&pid, argv[0], &actions, &attributes, argv, environment);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attributes);
    free(environment);
    close(log);
    if (spawned != 0)
        fail_msg("cannot run %s: %s", argv[0], strerror(spawned));
    return pid;
}

/* True while pid is a process that has not ended (a zombie has ended). */
bool test_process_alive(pid_t pid)
{
    if (kill(pid, 0) != 0)
        return false;
    char path[64], text[512] = "";
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *file = fopen(path, "r");
    if (!file)
        return false;
    size_t got = fread(text, 1, sizeof(text) - 1, file);
    fclose(file);
    text[got] = '\0';
    const char *state = strrchr(text, ')');
    return state && state[1] == ' ' && state[2] != 'Z' && state[2] != 'X';
}

int test_stop_program(pid_t pid, int signal_number)
{
    kill(pid, signal_number);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static size_t collect_body(char *data, size_t size, size_t count, void *user)
{
    cfbp_strbuf_append(user, data, size * count);
    return size * count;
}

long test_http_get(const char *url, char **body)
{
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    CURL *curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_body);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &text);
    long status = 0;
    if (curl_easy_perform(curl) == CURLE_OK)
        curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    if (body)
        *body = cfbp_strbuf_detach(&text, NULL);
    else
        cfbp_strbuf_release(&text);
    return status;
}

bool test_wait_for_http(const char *url, double seconds)
{
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    for (;;) {
        if (test_http_get(url, NULL) != 0)
            return true;
        clock_gettime(CLOCK_MONOTONIC, &now);
        if ((double)(now.tv_sec - start.tv_sec) + (double)(now.tv_nsec - start.tv_nsec) / 1e9 >
            seconds)
            return false;
        usleep(100 * 1000);
    }
}

double test_cpu_seconds(void)
{
    struct timespec now;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
    return (double)now.tv_sec + (double)now.tv_nsec / 1e9;
}

void test_check_cpu_time(const char *what, double started, double limit)
{
#if defined(__SANITIZE_ADDRESS__)
    limit *= 5;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
    limit *= 5;
#endif
#endif
    double spent = test_cpu_seconds() - started;
    if (spent > limit)
        fail_msg("%s took %.2f s of CPU time, over %.1f s", what, spent, limit);
}

void test_use_write_queue_setting(void)
{
    const char *from = getenv("CFBP_TEST_WRITE_QUEUE_FROM");
    if (from && *from)
        cfbpi_write_queue_files_before_start = (size_t)strtoull(from, NULL, 10);
}

size_t test_count_lines(const char *text)
{
    size_t lines = 0;
    for (; *text; text++)
        lines += *text == '\n';
    return lines;
}

char *test_in_child_with_file_size_limit(unsigned long long limit,
                                         int (*body)(void *data, struct cfbp_error *err),
                                         void *data)
{
    int pipe_fds[2];
    assert_int_equal(pipe(pipe_fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(pipe_fds[0]);
        cfbp_fs_catch_file_size_limit();
        struct rlimit rlimit = {(rlim_t)limit, (rlim_t)limit};
        setrlimit(RLIMIT_FSIZE, &rlimit);
        struct cfbp_error err = CFBP_ERROR_INIT;
        int status = body(data, &err);
        const char *message = err.message ? err.message : "failed without a message";
        if (status < 0 && write(pipe_fds[1], message, strlen(message)) < 0)
            _exit(3);
        _exit(status < 0 ? 1 : 0);
    }
    close(pipe_fds[1]);
    char message[4096];
    ssize_t length = read(pipe_fds[0], message, sizeof(message) - 1);
    close(pipe_fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) > 1)
        fail_msg("the child under a file size limit ended with status %d", status);
    if (WEXITSTATUS(status) == 0)
        return NULL;
    message[length < 0 ? 0 : length] = '\0';
    return strdup(message);
}
