/*
 * test_zip.c - reproducible buildpack zips: every zip written here is read
 * back twice, once through libarchive's zip reader and once by walking its
 * central directory byte by byte, so the assertions never trust the writer.
 * Runs with TZ=UTC0: zip keeps DOS date/time in local time (zip.h).
 */
#include "support.h"

#include "cfbp/digest.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/zip.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <utime.h>

/* 2023-11-14 22:13:20 UTC: an even second, as DOS time can only hold those. */
#define MTIME 1700000000LL

struct fixture {
    char *dir;
    char *zip_path;
    struct cfbp_error err;
};

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    fixture->dir = test_make_dir();
    fixture->zip_path = test_path(fixture->dir, "out.zip");
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    cfbp_error_clear(&fixture->err);
    free(fixture->zip_path);
    test_remove_dir(fixture->dir);
    free(fixture);
    return 0;
}

/* --- reading files and zips back --- */

static unsigned char *read_bytes(const char *path, size_t *length)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        fail_msg("cannot open %s", path);
    size_t alloc = 1 << 16, used = 0;
    unsigned char *data = malloc(alloc);
    size_t got;
    while ((got = fread(data + used, 1, alloc - used, file)) > 0) {
        used += got;
        if (used == alloc)
            data = realloc(data, alloc *= 2);
    }
    fclose(file);
    *length = used;
    return data;
}

static void write_bytes(const char *path, const void *data, size_t length)
{
    FILE *file = fopen(path, "wb");
    if (!file || fwrite(data, 1, length, file) != length || fclose(file) != 0)
        fail_msg("cannot write %s", path);
}

static unsigned le16(const unsigned char *p)
{
    return (unsigned)p[0] | (unsigned)p[1] << 8;
}

static unsigned long le32(const unsigned char *p)
{
    return (unsigned long)le16(p) | (unsigned long)le16(p + 2) << 16;
}

/* One central directory record, with what its extra fields say. */
struct central_entry {
    char name[256];
    unsigned made_by, flags, method, dos_time, dos_date;
    unsigned long compressed_size, size, external;
    bool has_unix_owner; /* an "ux" (0x7875) field in the local header */
    unsigned long uid, gid;
    bool has_unix_time; /* a "UT" (0x5455) field with the mtime */
    unsigned long unix_mtime;
};

static void parse_extra(const unsigned char *extra, size_t length, struct central_entry *entry)
{
    size_t at = 0;
    while (at + 4 <= length) {
        unsigned id = le16(extra + at), size = le16(extra + at + 2);
        const unsigned char *body = extra + at + 4;
        if (at + 4 + size > length)
            fail_msg("%s: an extra field runs past its end", entry->name);
        if (id == 0x5455 && size >= 5 && (body[0] & 1)) {
            entry->has_unix_time = true;
            entry->unix_mtime = le32(body + 1);
        } else if (id == 0x7875 && size >= 3 && body[0] == 1) {
            unsigned uid_size = body[1];
            unsigned gid_size = body[2 + uid_size];
            entry->has_unix_owner = true;
            entry->uid = uid_size == 4 ? le32(body + 2) : uid_size == 2 ? le16(body + 2) : 99999;
            entry->gid = gid_size == 4   ? le32(body + 3 + uid_size)
                         : gid_size == 2 ? le16(body + 3 + uid_size)
                                         : 99999;
        }
        at += 4 + size;
    }
}

/* Walks the end record and the central directory; returns the number of entries. */
static size_t read_central_directory(const char *path, struct central_entry *entries, size_t max)
{
    size_t length;
    unsigned char *zip = read_bytes(path, &length);
    if (length < 22)
        fail_msg("%s is too short to be a zip", path);
    size_t end = length - 22;
    while (end > 0 && le32(zip + end) != 0x06054b50)
        end--;
    if (le32(zip + end) != 0x06054b50)
        fail_msg("%s has no end of central directory record", path);
    size_t count = le16(zip + end + 10);
    size_t at = le32(zip + end + 16);
    assert_true(count <= max);
    for (size_t i = 0; i < count; i++) {
        struct central_entry *entry = &entries[i];
        memset(entry, 0, sizeof(*entry));
        assert_int_equal(le32(zip + at), 0x02014b50);
        entry->made_by = le16(zip + at + 4);
        entry->flags = le16(zip + at + 8);
        entry->method = le16(zip + at + 10);
        entry->dos_time = le16(zip + at + 12);
        entry->dos_date = le16(zip + at + 14);
        entry->compressed_size = le32(zip + at + 20);
        entry->size = le32(zip + at + 24);
        size_t name_length = le16(zip + at + 28), extra_length = le16(zip + at + 30),
               comment_length = le16(zip + at + 32);
        entry->external = le32(zip + at + 38);
        size_t local = le32(zip + at + 42);
        assert_true(name_length < sizeof(entry->name));
        memcpy(entry->name, zip + at + 46, name_length);
        parse_extra(zip + at + 46 + name_length, extra_length, entry);
        /* The local header carries the full "ux" and "UT" fields. */
        assert_int_equal(le32(zip + local), 0x04034b50);
        size_t local_name = le16(zip + local + 26), local_extra = le16(zip + local + 28);
        assert_int_equal(local_name, name_length);
        assert_memory_equal(zip + local + 30, entry->name, name_length);
        parse_extra(zip + local + 30 + local_name, local_extra, entry);
        at += 46 + name_length + extra_length + comment_length;
    }
    free(zip);
    return count;
}

static const struct central_entry *find_central(const struct central_entry *entries, size_t count,
                                                const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(entries[i].name, name) == 0)
            return &entries[i];
    fail_msg("%s is not in the central directory", name);
    return NULL;
}

/* One member as libarchive's zip reader sees it. */
struct member {
    char *name;
    unsigned char *data;
    size_t size;
    mode_t mode;
    la_int64_t uid, gid;
    time_t mtime;
};

static size_t read_members(const char *path, struct member *members, size_t max)
{
    struct archive *archive = archive_read_new();
    archive_read_support_format_zip(archive);
    if (archive_read_open_filename(archive, path, 65536) != ARCHIVE_OK)
        fail_msg("libarchive cannot open %s: %s", path, archive_error_string(archive));
    struct archive_entry *entry;
    size_t count = 0;
    int status;
    while ((status = archive_read_next_header(archive, &entry)) == ARCHIVE_OK) {
        assert_true(count < max);
        struct member *member = &members[count++];
        member->name = strdup(archive_entry_pathname(entry));
        member->mode = archive_entry_mode(entry);
        member->uid = archive_entry_uid(entry);
        member->gid = archive_entry_gid(entry);
        member->mtime = archive_entry_mtime(entry);
        size_t alloc = 4096;
        member->data = malloc(alloc);
        member->size = 0;
        for (;;) {
            if (member->size == alloc)
                member->data = realloc(member->data, alloc *= 2);
            la_ssize_t got =
                archive_read_data(archive, member->data + member->size, alloc - member->size);
            if (got < 0)
                fail_msg("%s: %s", member->name, archive_error_string(archive));
            if (got == 0)
                break;
            member->size += (size_t)got;
        }
    }
    if (status != ARCHIVE_EOF)
        fail_msg("libarchive: %s", archive_error_string(archive));
    archive_read_free(archive);
    return count;
}

static void free_members(struct member *members, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(members[i].name);
        free(members[i].data);
    }
}

static const struct member *find_member(const struct member *members, size_t count,
                                        const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(members[i].name, name) == 0)
            return &members[i];
    fail_msg("%s is not in the zip", name);
    return NULL;
}

static void assert_member(const struct member *members, size_t count, const char *name,
                          const void *data, size_t size, mode_t mode)
{
    const struct member *member = find_member(members, count, name);
    assert_int_equal(member->size, size);
    if (size)
        assert_memory_equal(member->data, data, size);
    assert_int_equal(member->mode, S_IFREG | mode);
}

/* --- writing --- */

static struct cfbp_zip *open_zip(struct fixture *fixture, const char *path, long long mtime)
{
    struct cfbp_zip *zip = NULL;
    if (cfbp_zip_open(&zip, path, mtime, &fixture->err) < 0)
        fail_msg("%s", fixture->err.message);
    return zip;
}

static void add_bytes(struct fixture *fixture, struct cfbp_zip *zip, const char *name,
                      const char *text, mode_t mode)
{
    if (cfbp_zip_add_bytes(zip, name, text, strlen(text), mode, &fixture->err) < 0)
        fail_msg("%s: %s", name, fixture->err.message);
}

static void add_file(struct fixture *fixture, struct cfbp_zip *zip, const char *name,
                     const char *path, mode_t mode)
{
    if (cfbp_zip_add_file(zip, name, path, mode, NULL, &fixture->err) < 0)
        fail_msg("%s: %s", name, fixture->err.message);
}

static void commit(struct fixture *fixture, struct cfbp_zip *zip, unsigned long long *size,
                   char sha256[CFBP_DIGEST_HEX_SIZE])
{
    if (cfbp_zip_commit(zip, size, sha256, &fixture->err) < 0)
        fail_msg("%s", fixture->err.message);
}

static char *scratch_file(struct fixture *fixture, const char *name, const char *text)
{
    char *path = test_path(fixture->dir, name);
    test_write_file(path, text, 0644);
    return path;
}

/* Bytes deflate cannot shrink much: a linear congruential sequence. */
static unsigned char *noise(size_t size, unsigned seed)
{
    unsigned char *data = malloc(size ? size : 1);
    unsigned long state = seed;
    for (size_t i = 0; i < size; i++) {
        state = state * 6364136223846793005UL + 1442695040888963407UL;
        data[i] = (unsigned char)(state >> 56);
    }
    return data;
}

static size_t count_open_files(void)
{
    DIR *dir = opendir("/proc/self/fd");
    if (!dir)
        fail_msg("cannot list /proc/self/fd");
    size_t count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL)
        if (entry->d_name[0] != '.')
            count++;
    closedir(dir);
    return count;
}

/* --- the tests --- */

static void members_are_unix_files_owned_by_root_at_the_fixed_time(void **state)
{
    struct fixture *fixture = *state;
    char *readme = scratch_file(fixture, "README.md", "# readme\n");
    chmod(readme, 0600); /* the mode given to add_file wins over the file's own */
    struct cfbp_zip *zip = open_zip(fixture, fixture->zip_path, MTIME);
    add_bytes(fixture, zip, "bin/supply", "#!/bin/sh\necho supply\n", 0755);
    add_file(fixture, zip, "README.md", readme, 0644);
    add_bytes(fixture, zip, "lib/secret", "s3cret\n", 0600);
    unsigned long long size;
    char sha256[CFBP_DIGEST_HEX_SIZE];
    commit(fixture, zip, &size, sha256);

    struct central_entry entries[8];
    assert_int_equal(read_central_directory(fixture->zip_path, entries, 8), 3);
    static const struct {
        const char *name;
        mode_t mode;
    } expected[] = {{"bin/supply", 0755}, {"README.md", 0644}, {"lib/secret", 0600}};
    struct tm utc;
    time_t mtime = (time_t)MTIME;
    gmtime_r(&mtime, &utc);
    for (size_t i = 0; i < 3; i++) {
        const struct central_entry *entry = find_central(entries, 3, expected[i].name);
        assert_int_equal(entry->made_by >> 8, 3); /* made by Unix */
        assert_int_equal(entry->external, (unsigned long)(S_IFREG | expected[i].mode) << 16);
        assert_int_equal(entry->dos_time >> 11, utc.tm_hour);
        assert_int_equal((entry->dos_time >> 5) & 63, utc.tm_min);
        assert_int_equal((entry->dos_time & 31) * 2, utc.tm_sec);
        assert_int_equal((entry->dos_date >> 9) + 1980, utc.tm_year + 1900);
        assert_int_equal((entry->dos_date >> 5) & 15, utc.tm_mon + 1);
        assert_int_equal(entry->dos_date & 31, utc.tm_mday);
        assert_true(entry->has_unix_time);
        assert_int_equal(entry->unix_mtime, (unsigned long)MTIME);
        assert_true(entry->has_unix_owner);
        assert_int_equal(entry->uid, 0);
        assert_int_equal(entry->gid, 0);
    }
    struct member members[8];
    size_t count = read_members(fixture->zip_path, members, 8);
    assert_int_equal(count, 3);
    for (size_t i = 0; i < count; i++) {
        assert_int_equal(members[i].uid, 0);
        assert_int_equal(members[i].gid, 0);
        assert_int_equal(members[i].mtime, (time_t)MTIME);
    }
    assert_member(members, count, "bin/supply", "#!/bin/sh\necho supply\n", 22, 0755);
    assert_member(members, count, "README.md", "# readme\n", 9, 0644);
    assert_member(members, count, "lib/secret", "s3cret\n", 7, 0600);
    free_members(members, count);
    free(readme);
}

static void writes_no_directory_entries(void **state)
{
    struct fixture *fixture = *state;
    struct cfbp_zip *zip = open_zip(fixture, fixture->zip_path, MTIME);
    add_bytes(fixture, zip, "a/b/c.txt", "c\n", 0644);
    add_bytes(fixture, zip, "a/d.txt", "d\n", 0644);
    add_bytes(fixture, zip, "bin/supply", "s\n", 0755);
    unsigned long long size;
    char sha256[CFBP_DIGEST_HEX_SIZE];
    commit(fixture, zip, &size, sha256);
    struct central_entry entries[8];
    size_t count = read_central_directory(fixture->zip_path, entries, 8);
    assert_int_equal(count, 3);
    assert_string_equal(entries[0].name, "a/b/c.txt");
    assert_string_equal(entries[1].name, "a/d.txt");
    assert_string_equal(entries[2].name, "bin/supply");
    for (size_t i = 0; i < count; i++)
        assert_int_equal((entries[i].external >> 16) & S_IFMT, S_IFREG);
    struct member members[8];
    count = read_members(fixture->zip_path, members, 8);
    assert_int_equal(count, 3);
    for (size_t i = 0; i < count; i++)
        assert_int_equal(members[i].mode & S_IFMT, S_IFREG);
    free_members(members, count);
}

static void stores_compressed_members_and_deflates_the_rest(void **state)
{
    struct fixture *fixture = *state;
    static const struct {
        const char *name;
        bool stored;
    } cases[] = {
        {"dependencies/0123/dep-1.0.0.tgz", true},
        {"dep.tar.gz", true},
        {"dep.gz", true},
        {"dep.xz", true},
        {"dep.tar.xz", true},
        {"dep.zip", true},
        {"lib/app.jar", true},
        {"README.txt", false},
        {"bin/supply", false},
        {"manifest.yml", false},
        {"dep.tar", false},
        {"tgz", false},
        {"dep.tgz.txt", false},
        {"VERSION", false},
    };
    size_t n = sizeof(cases) / sizeof(*cases);
    /* Very compressible content: a deflated member must come out much smaller. */
    char content[4096];
    memset(content, 'x', sizeof(content) - 1);
    content[sizeof(content) - 1] = '\0';
    struct cfbp_zip *zip = open_zip(fixture, fixture->zip_path, MTIME);
    for (size_t i = 0; i < n; i++) {
        if (cfbp_zip_should_store(cases[i].name) != cases[i].stored)
            fail_msg("cfbp_zip_should_store(\"%s\") is %d", cases[i].name, !cases[i].stored);
        add_bytes(fixture, zip, cases[i].name, content, 0644);
    }
    unsigned long long size;
    char sha256[CFBP_DIGEST_HEX_SIZE];
    commit(fixture, zip, &size, sha256);
    struct central_entry entries[32];
    assert_int_equal(read_central_directory(fixture->zip_path, entries, 32), n);
    for (size_t i = 0; i < n; i++) {
        const struct central_entry *entry = find_central(entries, n, cases[i].name);
        if (entry->method != (cases[i].stored ? 0u : 8u))
            fail_msg("%s: compression method %u", cases[i].name, entry->method);
        assert_int_equal(entry->size, strlen(content));
        if (cases[i].stored)
            assert_int_equal(entry->compressed_size, strlen(content));
        else
            assert_true(entry->compressed_size < 200);
    }
    struct member members[32];
    size_t count = read_members(fixture->zip_path, members, 32);
    assert_int_equal(count, n);
    for (size_t i = 0; i < n; i++)
        assert_member(members, count, cases[i].name, content, strlen(content), 0644);
    free_members(members, count);
}

static void content_round_trips(void **state)
{
    struct fixture *fixture = *state;
    static const unsigned char binary[] = {0, 1, 2, 0xff, 0, 'P', 'K', 3, 4, 0, 0x7f, '\n'};
    char *binary_path = test_path(fixture->dir, "binary.gz");
    write_bytes(binary_path, binary, sizeof(binary));
    char *empty_path = scratch_file(fixture, "empty", "");
    unsigned char *random = noise(70000, 7);
    char *random_path = test_path(fixture->dir, "random.bin");
    write_bytes(random_path, random, 70000);

    struct cfbp_zip *zip = open_zip(fixture, fixture->zip_path, MTIME);
    assert_int_equal(
        cfbp_zip_add_bytes(zip, "bytes/binary", binary, sizeof(binary), 0644, &fixture->err), 0);
    assert_int_equal(cfbp_zip_add_bytes(zip, "bytes/empty", "", 0, 0644, &fixture->err), 0);
    add_file(fixture, zip, "files/binary.gz", binary_path, 0644);
    add_file(fixture, zip, "files/empty", empty_path, 0600);
    add_file(fixture, zip, "files/random.bin", random_path, 0755);
    unsigned long long size;
    char sha256[CFBP_DIGEST_HEX_SIZE];
    commit(fixture, zip, &size, sha256);

    struct member members[8];
    size_t count = read_members(fixture->zip_path, members, 8);
    assert_int_equal(count, 5);
    assert_member(members, count, "bytes/binary", binary, sizeof(binary), 0644);
    assert_member(members, count, "bytes/empty", "", 0, 0644);
    assert_member(members, count, "files/binary.gz", binary, sizeof(binary), 0644);
    assert_member(members, count, "files/empty", "", 0, 0600);
    assert_member(members, count, "files/random.bin", random, 70000, 0755);
    free_members(members, count);
    free(random);
    free(binary_path);
    free(empty_path);
    free(random_path);
}

static void write_sample(struct fixture *fixture, const char *path, long long mtime,
                         const char *readme, unsigned long long *size,
                         char sha256[CFBP_DIGEST_HEX_SIZE])
{
    struct cfbp_zip *zip = open_zip(fixture, path, mtime);
    add_bytes(fixture, zip, "VERSION", "1.2.3", 0644);
    add_bytes(fixture, zip, "bin/supply", "#!/bin/sh\nexit 0\n", 0755);
    add_file(fixture, zip, "README.md", readme, 0644);
    add_file(fixture, zip, "dependencies/abc/dep.tgz", readme, 0644);
    commit(fixture, zip, size, sha256);
}

static void the_same_input_gives_the_same_bytes(void **state)
{
    struct fixture *fixture = *state;
    char *readme = scratch_file(fixture, "README.md", "# the same every time\n");
    char *first = test_path(fixture->dir, "first.zip");
    char *second = test_path(fixture->dir, "second.zip");
    char *later = test_path(fixture->dir, "later.zip");
    unsigned long long first_size, second_size, later_size;
    char first_sha[CFBP_DIGEST_HEX_SIZE], second_sha[CFBP_DIGEST_HEX_SIZE],
        later_sha[CFBP_DIGEST_HEX_SIZE];
    write_sample(fixture, first, MTIME, readme, &first_size, first_sha);
    sleep(1); /* a clock read anywhere would now differ */
    utime(readme, NULL);
    write_sample(fixture, second, MTIME, readme, &second_size, second_sha);
    write_sample(fixture, later, MTIME + 86400, readme, &later_size, later_sha);

    size_t first_length, second_length;
    unsigned char *a = read_bytes(first, &first_length);
    unsigned char *b = read_bytes(second, &second_length);
    assert_int_equal(first_length, second_length);
    assert_memory_equal(a, b, first_length);
    free(a);
    free(b);
    assert_int_equal(first_size, first_length);
    assert_string_equal(first_sha, test_sha256_of_file(first));
    assert_string_equal(second_sha, first_sha);
    assert_int_equal(second_size, first_size);
    /* The mtime is really what the members carry. */
    assert_string_equal(later_sha, test_sha256_of_file(later));
    assert_string_not_equal(later_sha, first_sha);
    struct stat st;
    assert_int_equal(stat(later, &st), 0);
    assert_int_equal(later_size, (unsigned long long)st.st_size);
    free(first);
    free(second);
    free(later);
    free(readme);
}

static void refuses_a_file_with_the_wrong_digest(void **state)
{
    struct fixture *fixture = *state;
    char *dep_dir = test_path(fixture->dir, "deps");
    char *dep = test_path(dep_dir, "dep.tgz");
    test_write_file(dep, "not the bytes you expect\n", 0644);
    char actual[CFBP_DIGEST_HEX_SIZE];
    strcpy(actual, test_sha256_of_file(dep));
    char expected[CFBP_DIGEST_HEX_SIZE];
    cfbp_digest_of_bytes(CFBP_DIGEST_SHA256, "the real bytes\n", 15, expected);

    char *out_dir = test_path(fixture->dir, "out");
    mkdir(out_dir, 0755);
    char *zip_path = test_path(out_dir, "bp.zip");
    struct cfbp_zip *zip = open_zip(fixture, zip_path, MTIME);
    /* The right digest passes... */
    assert_int_equal(
        cfbp_zip_add_file(zip, "dependencies/x/ok.tgz", dep, 0644, actual, &fixture->err), 0);
    /* ...the wrong one does not. */
    assert_int_equal(
        cfbp_zip_add_file(zip, "dependencies/x/dep.tgz", dep, 0644, expected, &fixture->err), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_CHECKSUM);
    if (!strstr(fixture->err.message, expected) || !strstr(fixture->err.message, actual))
        fail_msg("both digests should be named: %s", fixture->err.message);
    cfbp_zip_abandon(zip);
    assert_false(test_exists(zip_path));
    assert_int_equal(test_count_entries(out_dir), 0);
    free(zip_path);
    free(out_dir);
    free(dep);
    free(dep_dir);
}

static void abandon_leaves_nothing_behind(void **state)
{
    struct fixture *fixture = *state;
    char *out_dir = test_path(fixture->dir, "out");
    mkdir(out_dir, 0755);
    char *zip_path = test_path(out_dir, "bp.zip");
    char *readme = scratch_file(fixture, "README.md", "readme\n");
    struct cfbp_zip *zip = open_zip(fixture, zip_path, MTIME);
    add_bytes(fixture, zip, "VERSION", "1.0.0", 0644);
    add_file(fixture, zip, "README.md", readme, 0644);
    /* Unfinished: nothing under the final name yet, one temporary file beside it. */
    assert_false(test_exists(zip_path));
    assert_int_equal(test_count_entries(out_dir), 1);
    cfbp_zip_abandon(zip);
    assert_false(test_exists(zip_path));
    assert_int_equal(test_count_entries(out_dir), 0);
    cfbp_zip_abandon(NULL);
    free(readme);
    free(zip_path);
    free(out_dir);
}

static void commit_renames_into_place(void **state)
{
    struct fixture *fixture = *state;
    char *out_dir = test_path(fixture->dir, "out");
    mkdir(out_dir, 0755);
    char *zip_path = test_path(out_dir, "bp.zip");
    test_write_file(zip_path, "an older zip\n", 0644);
    struct cfbp_zip *zip = open_zip(fixture, zip_path, MTIME);
    add_bytes(fixture, zip, "VERSION", "2.0.0", 0644);
    char *old = test_read_file(zip_path);
    assert_string_equal(old, "an older zip\n"); /* untouched until the commit */
    free(old);
    unsigned long long size;
    char sha256[CFBP_DIGEST_HEX_SIZE];
    commit(fixture, zip, &size, sha256);
    assert_int_equal(test_count_entries(out_dir), 1);
    struct member members[2];
    size_t count = read_members(zip_path, members, 2);
    assert_int_equal(count, 1);
    assert_member(members, count, "VERSION", "2.0.0", 5, 0644);
    free_members(members, count);
    free(zip_path);
    free(out_dir);
}

struct progress_log {
    size_t calls;
    unsigned long long last_done, total;
    bool went_backwards, total_changed;
};

static void record_progress(void *data, unsigned long long done, unsigned long long total)
{
    struct progress_log *log = data;
    if (log->calls && done < log->last_done)
        log->went_backwards = true;
    if (total != log->total)
        log->total_changed = true;
    log->calls++;
    log->last_done = done;
}

static void reports_progress_over_all_file_data(void **state)
{
    struct fixture *fixture = *state;
    unsigned char *big = noise(2500000, 3);
    char *big_path = test_path(fixture->dir, "big.bin");
    write_bytes(big_path, big, 2500000);
    free(big);
    char *small = scratch_file(fixture, "small.txt", "small\n");
    unsigned long long total = 2500000 + 6;
    struct progress_log log = {0, 0, total, false, false};
    struct cfbp_zip *zip = open_zip(fixture, fixture->zip_path, MTIME);
    cfbp_zip_set_progress(zip, total, record_progress, &log);
    add_file(fixture, zip, "big.bin", big_path, 0644);
    add_file(fixture, zip, "small.txt", small, 0644);
    unsigned long long size;
    char sha256[CFBP_DIGEST_HEX_SIZE];
    commit(fixture, zip, &size, sha256);
    assert_true(log.calls >= 3); /* the big file goes in blocks */
    assert_false(log.went_backwards);
    assert_false(log.total_changed);
    assert_int_equal(log.last_done, total);
    free(big_path);
    free(small);
}

static void streams_a_large_file(void **state)
{
    struct fixture *fixture = *state;
    size_t size = 6 * 1024 * 1024 + 123;
    unsigned char *data = noise(size, 11);
    char *path = test_path(fixture->dir, "large.bin");
    write_bytes(path, data, size);
    char expected[CFBP_DIGEST_HEX_SIZE];
    cfbp_digest_of_bytes(CFBP_DIGEST_SHA256, data, size, expected);
    free(data);
    struct cfbp_zip *zip = open_zip(fixture, fixture->zip_path, MTIME);
    assert_int_equal(cfbp_zip_add_file(zip, "large.bin", path, 0644, expected, &fixture->err), 0);
    unsigned long long zip_size;
    char sha256[CFBP_DIGEST_HEX_SIZE];
    commit(fixture, zip, &zip_size, sha256);
    struct central_entry entries[2];
    assert_int_equal(read_central_directory(fixture->zip_path, entries, 2), 1);
    assert_int_equal(entries[0].size, size);
    assert_int_equal(entries[0].method, 8);
    struct member members[2];
    size_t count = read_members(fixture->zip_path, members, 2);
    assert_int_equal(count, 1);
    assert_int_equal(members[0].size, size);
    char actual[CFBP_DIGEST_HEX_SIZE];
    cfbp_digest_of_bytes(CFBP_DIGEST_SHA256, members[0].data, members[0].size, actual);
    assert_string_equal(actual, expected);
    assert_string_equal(sha256, test_sha256_of_file(fixture->zip_path));
    free_members(members, count);
    free(path);
}

static void fails_cleanly_in_a_missing_directory(void **state)
{
    struct fixture *fixture = *state;
    char *missing = test_path(fixture->dir, "missing/deeper/bp.zip");
    struct cfbp_zip *zip = NULL;
    assert_int_equal(cfbp_zip_open(&zip, missing, MTIME, &fixture->err), -1);
    assert_null(zip);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_IO);
    assert_non_null(strstr(fixture->err.message, missing));
    assert_non_null(strstr(fixture->err.message, "No such file or directory"));
    assert_int_equal(test_count_entries(fixture->dir), 0);
    free(missing);
}

static void refuses_a_missing_source_file(void **state)
{
    struct fixture *fixture = *state;
    char *missing = test_path(fixture->dir, "not-there.txt");
    struct cfbp_zip *zip = open_zip(fixture, fixture->zip_path, MTIME);
    assert_int_equal(cfbp_zip_add_file(zip, "x.txt", missing, 0644, NULL, &fixture->err), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_NOT_FOUND);
    assert_non_null(strstr(fixture->err.message, missing));
    cfbp_zip_abandon(zip);
    assert_int_equal(test_count_entries(fixture->dir), 0);
    free(missing);
}

static void a_commit_that_cannot_rename_leaves_nothing(void **state)
{
    struct fixture *fixture = *state;
    char *target = test_path(fixture->dir, "bp.zip");
    char *inside = test_path(target, "keep");
    test_write_file(inside, "x", 0644); /* the final name is a non-empty directory */
    struct cfbp_zip *zip = open_zip(fixture, target, MTIME);
    add_bytes(fixture, zip, "VERSION", "1", 0644);
    unsigned long long size = 77;
    char sha256[CFBP_DIGEST_HEX_SIZE] = "";
    assert_int_equal(cfbp_zip_commit(zip, &size, sha256, &fixture->err), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_IO);
    assert_non_null(strstr(fixture->err.message, target));
    assert_int_equal(test_count_entries(fixture->dir), 2); /* bp.zip/ and bp.zip/keep */
    free(inside);
    free(target);
}

/*
 * A write that fails while the central directory is flushed (a full disk,
 * here a file size limit) must fail the commit, remove the temporary file and
 * release everything, the file descriptor included.
 */
static void a_commit_that_cannot_write_releases_everything(void **state)
{
    struct fixture *fixture = *state;
    size_t files_before = count_open_files();
    struct cfbp_zip *zip = open_zip(fixture, fixture->zip_path, MTIME);
    add_bytes(fixture, zip, "VERSION", "1.0.0", 0644);
    add_bytes(fixture, zip, "bin/supply", "#!/bin/sh\nexit 0\n", 0755);
    struct rlimit saved, limited;
    getrlimit(RLIMIT_FSIZE, &saved);
    limited = saved;
    limited.rlim_cur = 64;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &limited);
    unsigned long long size;
    char sha256[CFBP_DIGEST_HEX_SIZE];
    int result = cfbp_zip_commit(zip, &size, sha256, &fixture->err);
    setrlimit(RLIMIT_FSIZE, &saved);
    signal(SIGXFSZ, old_handler);
    assert_int_equal(result, -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_IO);
    assert_non_null(strstr(fixture->err.message, fixture->zip_path));
    assert_int_equal(test_count_entries(fixture->dir), 0);
    assert_int_equal(count_open_files(), files_before);
}

int main(void)
{
    setenv("TZ", "UTC0", 1);
    tzset();
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(members_are_unix_files_owned_by_root_at_the_fixed_time),
        TEST(writes_no_directory_entries),
        TEST(stores_compressed_members_and_deflates_the_rest),
        TEST(content_round_trips),
        TEST(the_same_input_gives_the_same_bytes),
        TEST(refuses_a_file_with_the_wrong_digest),
        TEST(abandon_leaves_nothing_behind),
        TEST(commit_renames_into_place),
        TEST(reports_progress_over_all_file_data),
        TEST(streams_a_large_file),
        TEST(fails_cleanly_in_a_missing_directory),
        TEST(refuses_a_missing_source_file),
        TEST(a_commit_that_cannot_rename_leaves_nothing),
        TEST(a_commit_that_cannot_write_releases_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
