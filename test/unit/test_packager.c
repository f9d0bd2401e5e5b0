/*
 * test_packager.c - buildpack zips and their summary (contract §2.1, §5.2,
 * §9): small buildpack sources made here in temporary directories, a real
 * pre_package script, a dependency archive made with libarchive and served by
 * the loopback HTTP server or found in a mirror. Every zip is read back with
 * libarchive's zip reader; every failure must leave no zip, no partial file
 * and no temporary copy behind.
 */
#include "support.h"

#include "cfbp/digest.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/packager.h"
#include "cfbp/strbuf.h"

#include "http_server.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MTIME 1700000000LL

struct fixture {
    char *dir;
    char *source; /* the buildpack source */
    char *out;    /* output_dir */
    char *cache;  /* cache_dir */
    char *mirror; /* a mirror directory */
    char *tmp;    /* TMPDIR while the test runs: must end up empty */
    char *saved_tmpdir;
    char *archive; /* the dependency thing-1.2.3.tgz */
    char sha256[CFBP_DIGEST_HEX_SIZE];
    struct test_http_server *server;
    struct test_http_response dependency_script[1], not_found_script[1], wrong_script[1];
    struct cfbp_package_options options;
    struct cfbp_package_result result;
    struct cfbp_error err;
    struct cfbp_strbuf steps; /* each reported step, one a line */
    unsigned long long zip_done, zip_total, download_calls;
    mode_t umask; /* the process's, for the modes of files the packager creates */
};

static const struct test_entry archive_entries[] = {
    {"bin/thing", 'f', 0755, "#!/bin/sh\necho thing\n", 0},
    {"share/data", 'f', 0644, NULL, 20000},
};

/* SHA-256 values of entries that are never fetched. */
/* (with letters: an all-digit plain sha256 is a number to yaml.v2, see go_round_trip below) */
#define SHA_124     "111111111111111111111111111111111111111111111111111111111111111a"
#define SHA_NOSTACK "222222222222222222222222222222222222222222222222222222222222222b"

static const char pre_package_script[] = "#!/bin/sh\n"
                                         "set -e\n"
                                         "echo made by pre_package > generated.txt\n"
                                         "echo not shipped > unlisted.txt\n";

/* The source manifest: @BASE@ is where the dependencies live, @SHA@ the archive's digest. */
static const char manifest_template[] = "---\n"
                                        "# a comment the packaged manifest drops\n"
                                        "language: thing\n"
                                        "default_versions:\n"
                                        "- name: thing\n"
                                        "  version: 1.2.x\n"
                                        "dependency_deprecation_dates:\n"
                                        "- name: thing\n"
                                        "  version_line: 1.2.x\n"
                                        "  date: 2030-01-01\n"
                                        "  link: https://example.com/eol\n"
                                        "include_files:\n"
                                        "- VERSION\n"
                                        "- manifest.yml\n"
                                        "- bin/supply\n"
                                        "- bin/detect\n"
                                        "- README.md\n"
                                        "- generated.txt\n"
                                        "pre_package: ./pre.sh\n"
                                        "dependencies:\n"
                                        "- name: thing\n"
                                        "  version: 1.2.3\n"
                                        "  uri: @BASE@/thing-1.2.3.tgz\n"
                                        "  sha256: @SHA@\n"
                                        "  cf_stacks:\n"
                                        "  - cflinuxfs4\n"
                                        "  - cflinuxfs3\n"
                                        "  source: https://example.com/src.tgz\n"
                                        "  source_sha256: '0012'\n"
                                        "- name: thing\n"
                                        "  version: 1.2.4\n"
                                        "  uri: @BASE@/thing-1.2.4.tgz\n"
                                        "  sha256: " SHA_124 "\n"
                                        "  cf_stacks: [cflinuxfs3]\n"
                                        "- name: nostack\n"
                                        "  version: 0.1.0\n"
                                        "  uri: @BASE@/nostack-0.1.0.tgz\n"
                                        "  sha256: " SHA_NOSTACK "\n";

/* --- reporting --- */

static void record_step(void *data, const char *message)
{
    struct fixture *fixture = data;
    cfbp_strbuf_append_format(&fixture->steps, "%s\n", message);
}

static void record_warning(void *data, const char *message)
{
    struct fixture *fixture = data;
    cfbp_strbuf_append_format(&fixture->steps, "WARNING: %s\n", message);
}

static void record_progress(void *data, const char *what, unsigned long long done,
                            unsigned long long total)
{
    struct fixture *fixture = data;
    if (strcmp(what, "zip") == 0) {
        fixture->zip_done = done;
        fixture->zip_total = total;
    } else if (strcmp(what, "download") == 0) {
        fixture->download_calls++;
    }
}

/* --- set-up --- */

static void write_source_file(struct fixture *fixture, const char *name, const char *text,
                              mode_t mode)
{
    char *path = test_path(fixture->source, name);
    test_write_file(path, text, mode);
    free(path);
}

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    fixture->dir = test_make_dir();
    fixture->source = test_path(fixture->dir, "buildpack");
    fixture->out = test_path(fixture->dir, "out");
    fixture->cache = test_path(fixture->dir, "cache");
    fixture->mirror = test_path(fixture->dir, "mirror");
    fixture->umask = umask(022);
    umask(fixture->umask);
    fixture->tmp = test_path(fixture->dir, "tmp");
    mkdir(fixture->tmp, 0755);
    const char *tmpdir = getenv("TMPDIR");
    fixture->saved_tmpdir = tmpdir ? strdup(tmpdir) : NULL;
    setenv("TMPDIR", fixture->tmp, 1);
    fixture->archive = test_path(fixture->dir, "thing-1.2.3.tgz");
    test_make_archive(fixture->archive, TEST_TGZ, archive_entries,
                      sizeof(archive_entries) / sizeof(*archive_entries));
    strcpy(fixture->sha256, test_sha256_of_file(fixture->archive));

    write_source_file(fixture, "VERSION", "1.2.3\n", 0644);
    write_source_file(fixture, "bin/supply", "#!/bin/sh\necho supply\n", 0755);
    write_source_file(fixture, "bin/detect", "#!/bin/sh\nexit 1\n", 0750);
    write_source_file(fixture, "README.md", "# thing buildpack\n", 0600);
    write_source_file(fixture, "notes.txt", "not listed\n", 0644);
    write_source_file(fixture, "pre.sh", pre_package_script, 0755);

    fixture->dependency_script[0] =
        (struct test_http_response){.status = 200, .body_file = fixture->archive};
    fixture->not_found_script[0] = (struct test_http_response){.status = 404, .body = "not here\n"};
    fixture->wrong_script[0] =
        (struct test_http_response){.status = 200, .body = "not the archive\n"};

    fixture->options.source_dir = fixture->source;
    fixture->options.output_dir = fixture->out;
    fixture->options.stack = "cflinuxfs4";
    fixture->options.cache_dir = fixture->cache;
    fixture->options.mtime = MTIME;
    fixture->options.reporter =
        (struct cfbp_package_reporter){record_step, record_progress, fixture, record_warning};
    cfbp_strbuf_init(&fixture->steps, 0);
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    if (fixture->server)
        test_http_server_stop(fixture->server);
    if (fixture->saved_tmpdir)
        setenv("TMPDIR", fixture->saved_tmpdir, 1);
    else
        unsetenv("TMPDIR");
    free(fixture->saved_tmpdir);
    cfbp_package_result_release(&fixture->result);
    cfbp_error_clear(&fixture->err);
    cfbp_strbuf_release(&fixture->steps);
    free(fixture->source);
    free(fixture->out);
    free(fixture->cache);
    free(fixture->mirror);
    free(fixture->tmp);
    free(fixture->archive);
    test_remove_dir(fixture->dir);
    free(fixture);
    return 0;
}

/* Replaces every needle in text (a new string). */
static char *replace(const char *text, const char *needle, const char *value)
{
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    size_t length = strlen(needle);
    for (const char *at; (at = strstr(text, needle)) != NULL; text = at + length) {
        cfbp_strbuf_append(&out, text, (size_t)(at - text));
        cfbp_strbuf_append_string(&out, value);
    }
    cfbp_strbuf_append_string(&out, text);
    return cfbp_strbuf_detach(&out, NULL);
}

/* Writes the source manifest from a template with @BASE@ and @SHA@ filled in. */
static void write_manifest(struct fixture *fixture, const char *template, const char *base)
{
    char *with_base = replace(template, "@BASE@", base);
    char *text = replace(with_base, "@SHA@", fixture->sha256);
    write_source_file(fixture, "manifest.yml", text, 0644);
    free(with_base);
    free(text);
}

static void start_server(struct fixture *fixture)
{
    const struct test_http_route routes[] = {
        {"/deps/thing-1.2.3.tgz", fixture->dependency_script, 1},
        {"/mirror/thing-1.2.3.tgz", fixture->dependency_script, 1},
        {"/origin/thing-1.2.3.tgz", fixture->not_found_script, 1},
        {"/wrong/thing-1.2.3.tgz", fixture->wrong_script, 1},
        {"/missing/thing-1.2.3.tgz", fixture->not_found_script, 1},
    };
    fixture->server = test_http_server_start(routes, sizeof(routes) / sizeof(*routes));
}

static char *server_url(struct fixture *fixture, const char *path)
{
    return test_http_server_url(fixture->server, path);
}

static int package(struct fixture *fixture)
{
    cfbp_package_result_release(&fixture->result);
    cfbp_error_clear(&fixture->err);
    return cfbp_package(&fixture->options, &fixture->result, &fixture->err);
}

static void package_or_fail(struct fixture *fixture)
{
    if (package(fixture) < 0)
        fail_msg("cfbp_package: %s", fixture->err.message);
}

static void dependency_name(const char *uri, const char *file_name, struct cfbp_strbuf *out)
{
    char md5[CFBP_DIGEST_HEX_SIZE];
    cfbp_digest_of_bytes(CFBP_DIGEST_MD5, uri, strlen(uri), md5);
    cfbp_strbuf_reset(out);
    cfbp_strbuf_append_format(out, "dependencies/%s/%s", md5, file_name);
}

/* Regular files below path, recursively (test_count_entries counts directories too). */
static size_t count_files(const char *path)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return 0;
    if (!S_ISDIR(st.st_mode))
        return 1;
    size_t count = 0;
    DIR *dir = opendir(path);
    if (!dir)
        fail_msg("cannot list %s", path);
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        char *child = test_path(path, entry->d_name);
        count += count_files(child);
        free(child);
    }
    closedir(dir);
    return count;
}

/* Puts a copy of the dependency archive at path. */
static void copy_archive(struct fixture *fixture, const char *path)
{
    struct cfbp_error err = CFBP_ERROR_INIT;
    char *directory = strdup(path);
    *strrchr(directory, '/') = '\0';
    mkdir(directory, 0755);
    free(directory);
    if (cfbp_fs_copy_file(fixture->archive, path, 0644, &err) < 0)
        fail_msg("%s", err.message);
}

static void assert_nothing_left(struct fixture *fixture)
{
    assert_int_equal(test_count_entries(fixture->out), 0);
    assert_int_equal(test_count_entries(fixture->tmp), 0);
    assert_null(fixture->result.zip_path);
}

static void assert_failed(struct fixture *fixture, enum cfbp_error_kind kind, const char *message)
{
    assert_int_equal(package(fixture), -1);
    assert_non_null(fixture->err.message);
    if (!strstr(fixture->err.message, message))
        fail_msg("expected \"%s\" in: %s", message, fixture->err.message);
    assert_int_equal(fixture->err.kind, kind);
    assert_nothing_left(fixture);
}

/* --- reading the zip back --- */

struct member {
    char *name;
    char *data; /* NUL-terminated */
    size_t size;
    mode_t mode;
};

struct zip_contents {
    struct member members[32];
    size_t count;
};

static void read_zip(const char *path, struct zip_contents *zip)
{
    struct archive *archive = archive_read_new();
    archive_read_support_format_zip(archive);
    if (archive_read_open_filename(archive, path, 65536) != ARCHIVE_OK)
        fail_msg("libarchive cannot open %s: %s", path, archive_error_string(archive));
    struct archive_entry *entry;
    zip->count = 0;
    int status;
    while ((status = archive_read_next_header(archive, &entry)) == ARCHIVE_OK) {
        assert_true(zip->count < 32);
        struct member *member = &zip->members[zip->count++];
        member->name = strdup(archive_entry_pathname(entry));
        member->mode = archive_entry_mode(entry);
        struct cfbp_strbuf data = CFBP_STRBUF_INIT;
        char block[16384];
        la_ssize_t got;
        while ((got = archive_read_data(archive, block, sizeof(block))) > 0)
            cfbp_strbuf_append(&data, block, (size_t)got);
        if (got < 0)
            fail_msg("%s: %s", member->name, archive_error_string(archive));
        member->data = cfbp_strbuf_detach(&data, &member->size);
    }
    if (status != ARCHIVE_EOF)
        fail_msg("libarchive: %s", archive_error_string(archive));
    archive_read_free(archive);
}

/* The size of one member, found by reading the headers only; -1 when it is missing. */
static long long member_size(const char *path, const char *name)
{
    struct archive *archive = archive_read_new();
    archive_read_support_format_zip(archive);
    if (archive_read_open_filename(archive, path, 65536) != ARCHIVE_OK)
        fail_msg("libarchive cannot open %s: %s", path, archive_error_string(archive));
    struct archive_entry *entry;
    long long size = -1;
    while (size < 0 && archive_read_next_header(archive, &entry) == ARCHIVE_OK)
        if (strcmp(archive_entry_pathname(entry), name) == 0)
            size = (long long)archive_entry_size(entry);
    archive_read_free(archive);
    return size;
}

static void free_zip(struct zip_contents *zip)
{
    for (size_t i = 0; i < zip->count; i++) {
        free(zip->members[i].name);
        free(zip->members[i].data);
    }
    zip->count = 0;
}

static const struct member *find(const struct zip_contents *zip, const char *name)
{
    for (size_t i = 0; i < zip->count; i++)
        if (strcmp(zip->members[i].name, name) == 0)
            return &zip->members[i];
    fail_msg("%s is not in the zip", name);
    return NULL;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The zip holds exactly these names (in any order), each a regular file. */
static void assert_names(const struct zip_contents *zip, const char *const *names, size_t count)
{
    const char *actual[32], *expected[32];
    assert_true(count <= 32);
    for (size_t i = 0; i < zip->count; i++) {
        actual[i] = zip->members[i].name;
        assert_int_equal(zip->members[i].mode & S_IFMT, S_IFREG);
    }
    for (size_t i = 0; i < count; i++)
        expected[i] = names[i];
    qsort(actual, zip->count, sizeof(*actual), compare_names);
    qsort(expected, count, sizeof(*expected), compare_names);
    struct cfbp_strbuf shown = CFBP_STRBUF_INIT;
    for (size_t i = 0; i < zip->count; i++)
        cfbp_strbuf_append_format(&shown, " %s", actual[i]);
    if (zip->count != count)
        fail_msg("the zip holds%s", shown.buf);
    for (size_t i = 0; i < count; i++)
        if (strcmp(actual[i], expected[i]) != 0)
            fail_msg("the zip holds%s", shown.buf);
    cfbp_strbuf_release(&shown);
}

static void assert_member(const struct zip_contents *zip, const char *name, const char *text,
                          mode_t mode)
{
    const struct member *member = find(zip, name);
    assert_string_equal(member->data, text);
    assert_int_equal(member->size, strlen(text));
    assert_int_equal(member->mode, S_IFREG | mode);
}

static void assert_member_is_file(const struct zip_contents *zip, const char *name,
                                  const char *path)
{
    const struct member *member = find(zip, name);
    char actual[CFBP_DIGEST_HEX_SIZE];
    cfbp_digest_of_bytes(CFBP_DIGEST_SHA256, member->data, member->size, actual);
    assert_string_equal(actual, test_sha256_of_file(path));
    assert_int_equal(member->mode, S_IFREG | 0644);
}

static void assert_result_matches_file(struct fixture *fixture, const char *zip_name)
{
    char *expected = test_path(fixture->out, zip_name);
    assert_non_null(fixture->result.zip_path);
    assert_string_equal(fixture->result.zip_path, expected);
    struct stat st;
    assert_int_equal(stat(expected, &st), 0);
    assert_int_equal(fixture->result.size, (unsigned long long)st.st_size);
    assert_string_equal(fixture->result.sha256, test_sha256_of_file(expected));
    free(expected);
}

static void assert_step(struct fixture *fixture, const char *line)
{
    struct cfbp_strbuf needle = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&needle, "%s\n", line);
    if (!strstr(fixture->steps.buf, needle.buf))
        fail_msg("no step \"%s\" in:\n%s", line, fixture->steps.buf);
    cfbp_strbuf_release(&needle);
}

/* The packaged manifest of manifest_template for one stack (§5.2). */
static char *expected_stack_manifest(struct fixture *fixture, const char *base, const char *file)
{
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&text, "default_versions:\n"
                                     "- name: thing\n"
                                     "  version: 1.2.x\n"
                                     "dependencies:\n");
    if (file)
        cfbp_strbuf_append_format(&text, "- file: %s\n  name: thing\n", file);
    else
        cfbp_strbuf_append_string(&text, "- name: thing\n");
    cfbp_strbuf_append_format(&text,
                              "  sha256: %s\n"
                              "  source: https://example.com/src.tgz\n"
                              "  source_sha256: \"0012\"\n"
                              "  uri: %s/thing-1.2.3.tgz\n"
                              "  version: 1.2.3\n",
                              fixture->sha256, base);
    cfbp_strbuf_append_string(&text, "dependency_deprecation_dates:\n"
                                     "- date: \"2030-01-01\"\n"
                                     "  link: https://example.com/eol\n"
                                     "  name: thing\n"
                                     "  version_line: 1.2.x\n"
                                     "include_files:\n"
                                     "- VERSION\n"
                                     "- manifest.yml\n"
                                     "- bin/supply\n"
                                     "- bin/detect\n"
                                     "- README.md\n"
                                     "- generated.txt\n"
                                     "language: thing\n"
                                     "pre_package: ./pre.sh\n"
                                     "stack: cflinuxfs4\n");
    return cfbp_strbuf_detach(&text, NULL);
}

static const char *const shipped_files[] = {"VERSION",    "manifest.yml", "bin/supply",
                                            "bin/detect", "README.md",    "generated.txt"};
#define SHIPPED_COUNT (sizeof(shipped_files) / sizeof(*shipped_files))

/* --- zip names (§9.3) --- */

static void names_zips_as_the_go_packager_does(void **state)
{
    (void)state;
    static const struct {
        const char *language;
        bool cached;
        const char *profile_part, *stack, *version, *expected;
    } cases[] = {
        {"ruby", false, NULL, NULL, "1.2.3", "ruby_buildpack-v1.2.3.zip"},
        {"ruby", true, NULL, NULL, "1.2.3", "ruby_buildpack-cached-v1.2.3.zip"},
        {"go", false, NULL, "cflinuxfs4", "1.10.30", "go_buildpack-cflinuxfs4-v1.10.30.zip"},
        {"go", true, "", "cflinuxfs4", "1.10.30", "go_buildpack-cached-cflinuxfs4-v1.10.30.zip"},
        {"dotnet-core", true, NULL, "cflinuxfs4", "9.9.9",
         "dotnet-core_buildpack-cached-cflinuxfs4-v9.9.9.zip"},
        {"config-server-sidecar", false, NULL, "cflinuxfs3", "1.0.0-rc.1",
         "config-server-sidecar_buildpack-cflinuxfs3-v1.0.0-rc.1.zip"},
        /* libbuildpack's packager_test.go names, profile part before the stack */
        {"ruby", true, "-minimal", "cflinuxfs4", "1.0.0",
         "ruby_buildpack-cached-minimal-cflinuxfs4-v1.0.0.zip"},
        {"ruby", true, "-no-profiler+custom", "cflinuxfs4", "1.0.0",
         "ruby_buildpack-cached-no-profiler+custom-cflinuxfs4-v1.0.0.zip"},
        {"ruby", true, "-custom", NULL, "1.0.0", "ruby_buildpack-cached-custom-v1.0.0.zip"},
        {NULL, false, NULL, NULL, "1", "_buildpack-v1.zip"}, /* no language: Go's "" */
    };
    struct cfbp_strbuf name = CFBP_STRBUF_INIT;
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        cfbp_strbuf_set(&name, "left over from before");
        cfbp_package_zip_name(&name, cases[i].language, cases[i].cached, cases[i].profile_part,
                              cases[i].stack, cases[i].version);
        assert_string_equal(name.buf, cases[i].expected);
    }
    cfbp_strbuf_release(&name);
}

/* --- summary (§9.4) --- */

static void assert_summary(struct fixture *fixture, const char *manifest, const char *expected)
{
    write_source_file(fixture, "manifest.yml", manifest, 0644);
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    if (cfbp_package_summary(fixture->source, &out, &fixture->err) < 0)
        fail_msg("%s", fixture->err.message);
    assert_string_equal(out.buf, expected);
    cfbp_strbuf_release(&out);
}

static void summarises_the_contract_example(void **state)
{
    struct fixture *fixture = *state;
    assert_summary(fixture,
                   "language: ruby\n"
                   "default_versions:\n"
                   "- name: ruby\n"
                   "  version: 1.2.3\n"
                   "dependencies:\n"
                   "- name: ruby\n"
                   "  version: 1.2.3\n"
                   "  uri: https://example.com/ruby-1.2.3.tgz\n"
                   "  sha256: " SHA_124 "\n"
                   "  cf_stacks: [cflinuxfs2]\n",
                   "\nPackaged binaries:\n\n"
                   "| name | version | cf_stacks |\n|-|-|-|\n"
                   "| ruby | 1.2.3 | cflinuxfs2 |\n"
                   "\nDefault binary versions:\n\n"
                   "| name | version |\n|-|-|\n"
                   "| ruby | 1.2.3 |\n");
}

static void sorts_by_name_then_version_with_sorted_stacks(void **state)
{
    struct fixture *fixture = *state;
    assert_summary(fixture,
                   "language: ruby\n"
                   "default_versions:\n"
                   "- {name: ruby, version: 1.2.x}\n"
                   "- {name: go, version: 1.0.0}\n"
                   "dependencies:\n"
                   "- {name: ruby, version: 1.2.10, uri: 'https://e.com/r10', sha256: " SHA_124
                   ", cf_stacks: [cflinuxfs4, cflinuxfs3]}\n"
                   "- {name: ruby, version: 1.10.0, uri: 'https://e.com/r110', sha256: " SHA_124
                   ", cf_stacks: [cflinuxfs4]}\n"
                   "- {name: ruby, version: 1.2.9, uri: 'https://e.com/r9', sha256: " SHA_124
                   ", cf_stacks: [cflinuxfs4, cflinuxfs2, cflinuxfs3]}\n"
                   "- {name: go, version: 1.0.0, uri: 'https://e.com/g', sha256: " SHA_124
                   ", cf_stacks: []}\n",
                   "\nPackaged binaries:\n\n"
                   "| name | version | cf_stacks |\n|-|-|-|\n"
                   "| go | 1.0.0 |  |\n"
                   "| ruby | 1.2.9 | cflinuxfs2, cflinuxfs3, cflinuxfs4 |\n"
                   "| ruby | 1.2.10 | cflinuxfs3, cflinuxfs4 |\n"
                   "| ruby | 1.10.0 | cflinuxfs4 |\n"
                   "\nDefault binary versions:\n\n"
                   "| name | version |\n|-|-|\n"
                   "| ruby | 1.2.x |\n"
                   "| go | 1.0.0 |\n");
}

static void adds_a_modules_column_when_any_dependency_has_modules(void **state)
{
    struct fixture *fixture = *state;
    assert_summary(fixture,
                   "language: php\n"
                   "dependencies:\n"
                   "- name: php\n"
                   "  version: 8.1.0\n"
                   "  uri: https://example.com/php.tgz\n"
                   "  sha256: " SHA_124 "\n"
                   "  cf_stacks: [cflinuxfs4]\n"
                   "  dependencies:\n"
                   "  - name: zlib\n"
                   "  - name: amqp\n"
                   "    version: 1.0.0\n"
                   "- name: composer\n"
                   "  version: 2.0.0\n"
                   "  uri: https://example.com/composer.phar\n"
                   "  sha256: " SHA_124 "\n"
                   "  cf_stacks: [cflinuxfs4]\n",
                   "\nPackaged binaries:\n\n"
                   "| name | version | cf_stacks | modules |\n|-|-|-|-|\n"
                   "| composer | 2.0.0 | cflinuxfs4 |  |\n"
                   "| php | 8.1.0 | cflinuxfs4 | amqp, zlib |\n");
}

static void lists_packaging_profiles(void **state)
{
    struct fixture *fixture = *state;
    assert_summary(fixture,
                   "language: java\n"
                   "default_versions:\n"
                   "- {name: jdk, version: 17.x}\n"
                   "packaging_profiles:\n"
                   "  minimal:\n"
                   "    description: without the agents\n"
                   "    exclude: [agent]\n"
                   "  full:\n"
                   "    description: everything\n",
                   "\nDefault binary versions:\n\n"
                   "| name | version |\n|-|-|\n"
                   "| jdk | 17.x |\n"
                   "\nPackaging profiles:\n\n"
                   "  full         everything\n"
                   "  minimal      without the agents\n");
}

static void summarises_nothing_as_nothing(void **state)
{
    struct fixture *fixture = *state;
    assert_summary(fixture, "language: empty\n", "");
    assert_summary(fixture, "language: empty\ndependencies: []\ndefault_versions: []\n", "");
}

/* --- packaging, uncached --- */

static void ships_exactly_the_include_files(void **state)
{
    struct fixture *fixture = *state;
    write_manifest(fixture, manifest_template, "https://example.com/deps");
    package_or_fail(fixture);
    assert_result_matches_file(fixture, "thing_buildpack-cflinuxfs4-v1.2.3.zip");
    assert_int_equal(test_count_entries(fixture->out), 1);
    struct zip_contents zip;
    read_zip(fixture->result.zip_path, &zip);
    assert_names(&zip, shipped_files, SHIPPED_COUNT);
    /* The Go packager's order: include_files as listed (§9.2 step 8). */
    for (size_t i = 0; i < SHIPPED_COUNT; i++)
        assert_string_equal(zip.members[i].name, shipped_files[i]);
    /* and its modes: each file's own permission bits, 0750 and 0600 included */
    assert_member(&zip, "VERSION", "1.2.3", 0644);
    assert_member(&zip, "bin/supply", "#!/bin/sh\necho supply\n", 0755);
    assert_member(&zip, "bin/detect", "#!/bin/sh\nexit 1\n", 0750);
    assert_member(&zip, "README.md", "# thing buildpack\n", 0600);
    assert_member(&zip, "generated.txt", "made by pre_package\n", 0666 & ~fixture->umask);
    char *manifest = expected_stack_manifest(fixture, "https://example.com/deps", NULL);
    assert_member(&zip, "manifest.yml", manifest, 0644);
    free(manifest);
    free_zip(&zip);
    /* pre_package ran in a copy, which is gone. */
    char *generated = test_path(fixture->source, "generated.txt");
    assert_false(test_exists(generated));
    free(generated);
    assert_int_equal(test_count_entries(fixture->tmp), 0);
    assert_step(fixture, "Running pre_package: ./pre.sh");
    assert_step(fixture, "Checked the programs against cflinuxfs4");
    struct cfbp_strbuf writing = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&writing, "Writing %s", fixture->result.zip_path);
    assert_step(fixture, writing.buf);
    cfbp_strbuf_release(&writing);
    assert_true(fixture->zip_total > 0);
    assert_int_equal(fixture->zip_done, fixture->zip_total);
    assert_int_equal(fixture->download_calls, 0);
}

static void any_stack_keeps_cf_stacks_and_drops_entries_without_them(void **state)
{
    struct fixture *fixture = *state;
    write_manifest(fixture, manifest_template, "https://example.com/deps");
    fixture->options.stack = NULL;
    fixture->options.any_stack = true;
    package_or_fail(fixture);
    assert_result_matches_file(fixture, "thing_buildpack-v1.2.3.zip");
    struct zip_contents zip;
    read_zip(fixture->result.zip_path, &zip);
    assert_names(&zip, shipped_files, SHIPPED_COUNT);
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&expected,
                              "default_versions:\n"
                              "- name: thing\n"
                              "  version: 1.2.x\n"
                              "dependencies:\n"
                              "- cf_stacks:\n"
                              "  - cflinuxfs4\n"
                              "  - cflinuxfs3\n"
                              "  name: thing\n"
                              "  sha256: %s\n"
                              "  source: https://example.com/src.tgz\n"
                              "  source_sha256: \"0012\"\n"
                              "  uri: https://example.com/deps/thing-1.2.3.tgz\n"
                              "  version: 1.2.3\n"
                              "- cf_stacks:\n"
                              "  - cflinuxfs3\n"
                              "  name: thing\n"
                              "  sha256: " SHA_124 "\n"
                              "  uri: https://example.com/deps/thing-1.2.4.tgz\n"
                              "  version: 1.2.4\n"
                              "dependency_deprecation_dates:\n"
                              "- date: \"2030-01-01\"\n"
                              "  link: https://example.com/eol\n"
                              "  name: thing\n"
                              "  version_line: 1.2.x\n"
                              "include_files:\n"
                              "- VERSION\n"
                              "- manifest.yml\n"
                              "- bin/supply\n"
                              "- bin/detect\n"
                              "- README.md\n"
                              "- generated.txt\n"
                              "language: thing\n"
                              "pre_package: ./pre.sh\n",
                              fixture->sha256);
    assert_member(&zip, "manifest.yml", expected.buf, 0644);
    cfbp_strbuf_release(&expected);
    free_zip(&zip);
}

static void the_version_option_overrides_the_version_file(void **state)
{
    struct fixture *fixture = *state;
    write_manifest(fixture, manifest_template, "https://example.com/deps");
    write_source_file(fixture, "VERSION", "  1.2.3 \r\n\n", 0644);
    package_or_fail(fixture);
    assert_result_matches_file(fixture, "thing_buildpack-cflinuxfs4-v1.2.3.zip");
    struct zip_contents zip;
    read_zip(fixture->result.zip_path, &zip);
    assert_member(&zip, "VERSION", "1.2.3", 0644);
    free_zip(&zip);

    fixture->options.version = "2.0.0-rc.1";
    package_or_fail(fixture);
    assert_result_matches_file(fixture, "thing_buildpack-cflinuxfs4-v2.0.0-rc.1.zip");
    read_zip(fixture->result.zip_path, &zip);
    assert_member(&zip, "VERSION", "2.0.0-rc.1", 0644);
    free_zip(&zip);
    /* The source's own VERSION is not touched. */
    char *version = test_path(fixture->source, "VERSION");
    char *text = test_read_file(version);
    assert_string_equal(text, "  1.2.3 \r\n\n");
    free(text);
    free(version);
}

static void writes_into_the_source_without_an_output_dir(void **state)
{
    struct fixture *fixture = *state;
    write_manifest(fixture, manifest_template, "https://example.com/deps");
    fixture->options.output_dir = NULL;
    package_or_fail(fixture);
    char *expected = test_path(fixture->source, "thing_buildpack-cflinuxfs4-v1.2.3.zip");
    assert_string_equal(fixture->result.zip_path, expected);
    assert_string_equal(fixture->result.sha256, test_sha256_of_file(expected));
    free(expected);
}

static void the_copy_skips_git_and_tests(void **state)
{
    struct fixture *fixture = *state;
    char *manifest = replace(manifest_template, "- generated.txt\n", "- listing.txt\n");
    write_manifest(fixture, manifest, "https://example.com/deps");
    free(manifest);
    write_source_file(fixture, "pre.sh", "#!/bin/sh\nls -A > listing.txt\n", 0755);
    write_source_file(fixture, ".git/HEAD", "ref: refs/heads/main\n", 0644);
    write_source_file(fixture, "tests/test.sh", "#!/bin/sh\n", 0755);
    write_source_file(fixture, "lib/tests/kept.txt", "nested tests dirs are copied\n", 0644);
    package_or_fail(fixture);
    struct zip_contents zip;
    read_zip(fixture->result.zip_path, &zip);
    assert_member(&zip, "listing.txt",
                  "README.md\nVERSION\nbin\nlib\nlisting.txt\nmanifest.yml\nnotes.txt\npre.sh\n",
                  0644);
    free_zip(&zip);
}

static void pre_package_sees_the_version_being_packaged(void **state)
{
    struct fixture *fixture = *state;
    write_manifest(fixture, manifest_template, "https://example.com/deps");
    write_source_file(fixture, "pre.sh", "#!/bin/sh\ncat VERSION > generated.txt\n", 0755);
    fixture->options.version = "3.0.0";
    package_or_fail(fixture);
    struct zip_contents zip;
    read_zip(fixture->result.zip_path, &zip);
    assert_member(&zip, "generated.txt", "3.0.0", 0644);
    free_zip(&zip);
}

static void other_keys_are_written_as_yaml_v2_writes_them(void **state)
{
    struct fixture *fixture = *state;
    write_source_file(
        fixture, "manifest.yml",
        "language: probe\n"
        "include_files: [manifest.yml]\n"
        "exclude_files: [.gitignore]\n"
        "url_to_dependency_map: [{match: 'go(\\d+\\.\\d+)', name: go, version: $1}]\n"
        "default_versions:\n"
        "- {name: go, version: '1.10'}\n"
        "flags: {empty: '', word: 'yes', octal: '0755', time: '12:30', colon: 'a: b'}\n"
        "dependencies:\n"
        "- {name: go, version: '1.10', uri: 'https://e.com/go.tgz', sha256: " SHA_124
        ", cf_stacks: [cflinuxfs4]}\n",
        0644);
    package_or_fail(fixture);
    struct zip_contents zip;
    read_zip(fixture->result.zip_path, &zip);
    assert_member(&zip, "manifest.yml",
                  "default_versions:\n"
                  "- name: go\n"
                  "  version: \"1.10\"\n"
                  "dependencies:\n"
                  "- name: go\n"
                  "  sha256: " SHA_124 "\n"
                  "  uri: https://e.com/go.tgz\n"
                  "  version: \"1.10\"\n"
                  "exclude_files:\n"
                  "- .gitignore\n"
                  "flags:\n"
                  "  colon: 'a: b'\n"
                  "  empty: \"\"\n"
                  "  octal: \"0755\"\n"
                  "  time: \"12:30\"\n"
                  "  word: \"yes\"\n"
                  "include_files:\n"
                  "- manifest.yml\n"
                  "language: probe\n"
                  "stack: cflinuxfs4\n"
                  "url_to_dependency_map:\n"
                  "- match: go(\\d+\\.\\d+)\n"
                  "  name: go\n"
                  "  version: $1\n",
                  0644);
    free_zip(&zip);
}

/* --- refusals --- */

static void pre_package_failures_carry_its_output(void **state)
{
    struct fixture *fixture = *state;
    write_manifest(fixture, manifest_template, "https://example.com/deps");
    write_source_file(fixture, "pre.sh",
                      "#!/bin/sh\necho compiling step one\necho boom: no compiler >&2\nexit 3\n",
                      0755);
    assert_failed(fixture, CFBP_ERROR_FAILED, "exit status 3");
    if (!strstr(fixture->err.message, "compiling step one") ||
        !strstr(fixture->err.message, "boom: no compiler") ||
        !strstr(fixture->err.message, "./pre.sh"))
        fail_msg("the output should be in: %s", fixture->err.message);
}

static void refuses_a_missing_include_file(void **state)
{
    struct fixture *fixture = *state;
    char *manifest = replace(manifest_template, "- README.md\n", "- README.md\n- bin/missing\n");
    write_manifest(fixture, manifest, "https://example.com/deps");
    free(manifest);
    assert_failed(fixture, CFBP_ERROR_NOT_FOUND, "failed to open included_file: bin/missing");
    assert_true(
        cfbp_string_starts_with(fixture->err.message, "failed to open included_file: bin/missing"));
}

static void refuses_include_files_outside_the_buildpack(void **state)
{
    struct fixture *fixture = *state;
    char *manifest = replace(manifest_template, "- README.md\n", "- ../outside.txt\n");
    write_manifest(fixture, manifest, "https://example.com/deps");
    free(manifest);
    char *outside = test_path(fixture->dir, "outside.txt");
    test_write_file(outside, "secret\n", 0644);
    free(outside);
    assert_failed(fixture, CFBP_ERROR_INVALID, "../outside.txt");
}

static void refuses_an_already_packaged_manifest(void **state)
{
    struct fixture *fixture = *state;
    char *manifest =
        replace(manifest_template, "language: thing\n", "language: thing\nstack: cflinuxfs4\n");
    write_manifest(fixture, manifest, "https://example.com/deps");
    free(manifest);
    assert_failed(fixture, CFBP_ERROR_INVALID,
                  "Cannot package from already packaged buildpack manifest");
    assert_string_equal(fixture->err.message,
                        "Cannot package from already packaged buildpack manifest");
}

/* An empty or comments-only manifest.yml crashed packaging (found by an adversarial review). */
static void refuses_an_empty_manifest(void **state)
{
    struct fixture *fixture = *state;
    const char *texts[] = {"", "# only a comment\n", "~\n", "[a, b]\n"};
    for (size_t i = 0; i < sizeof(texts) / sizeof(*texts); i++) {
        write_source_file(fixture, "manifest.yml", texts[i], 0644);
        fixture->options.any_stack = true;
        fixture->options.stack = NULL;
        assert_int_equal(package(fixture), -1);
        assert_non_null(fixture->err.message);
        assert_nothing_left(fixture);
        cfbp_error_clear(&fixture->err);
    }
}

static void refuses_a_stack_no_dependency_lists(void **state)
{
    struct fixture *fixture = *state;
    write_manifest(fixture, manifest_template, "https://example.com/deps");
    fixture->options.stack = "cflinuxfs9";
    assert_failed(fixture, CFBP_ERROR_STACK, "Stack `cflinuxfs9` not found in manifest");
    assert_string_equal(fixture->err.message, "Stack `cflinuxfs9` not found in manifest");
}

static void refuses_a_default_the_stack_cannot_satisfy(void **state)
{
    struct fixture *fixture = *state;
    char *manifest = replace(manifest_template, "  version: 1.2.x\n", "  version: 1.2.4\n");
    write_manifest(fixture, manifest, "https://example.com/deps");
    free(manifest);
    assert_failed(fixture, CFBP_ERROR_INVALID,
                  "No matching default dependency `thing` for stack `cflinuxfs4`");
    assert_string_equal(fixture->err.message,
                        "No matching default dependency `thing` for stack `cflinuxfs4`");
    /* cflinuxfs3 has 1.2.4. */
    fixture->options.stack = "cflinuxfs3";
    package_or_fail(fixture);
}

/* Writes manifest_template padded with a comment to exactly size bytes. */
static void write_manifest_of_size(struct fixture *fixture, size_t size)
{
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&text, manifest_template);
    char *with_base = replace(text.buf, "@BASE@", "https://example.com/deps");
    char *filled = replace(with_base, "@SHA@", fixture->sha256);
    cfbp_strbuf_set(&text, filled);
    free(with_base);
    free(filled);
    cfbp_strbuf_append_char(&text, '#');
    while (text.len < size - 1)
        cfbp_strbuf_append_char(&text, 'x');
    cfbp_strbuf_append_char(&text, '\n');
    assert_int_equal(text.len, size);
    write_source_file(fixture, "manifest.yml", text.buf, 0644);
    cfbp_strbuf_release(&text);
}

static void refuses_a_manifest_over_1_mib(void **state)
{
    struct fixture *fixture = *state;
    write_manifest_of_size(fixture, 1024 * 1024);
    package_or_fail(fixture); /* exactly 1 MiB is allowed */
    unlink(fixture->result.zip_path);
    cfbp_package_result_release(&fixture->result);
    write_manifest_of_size(fixture, 1024 * 1024 + 1);
    assert_failed(fixture, CFBP_ERROR_INVALID, "larger than 1048576 bytes");
}

/*
 * Cloud Controller refuses a zip whose manifest.yml is over 1 MiB (§2.1). The
 * source manifest here is under the limit, but the packaged one grows past it
 * (each cached entry gains a file: line), so the zip would be refused at
 * upload: the packager must refuse to make it.
 */
static void refuses_a_packaged_manifest_over_1_mib(void **state)
{
    struct fixture *fixture = *state;
    struct cfbp_strbuf manifest = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&manifest, "language: thing\n"
                                         "include_files: [manifest.yml]\n"
                                         "dependencies:\n");
    /* Every entry is the same file (one mirror file), under a different directory. */
    size_t entries = 0;
    while (manifest.len < 1000 * 1000) {
        cfbp_strbuf_append_format(&manifest,
                                  "- name: thing\n"
                                  "  version: 1.2.%zu\n"
                                  "  uri: https://example.com/%05zu/thing-1.2.3.tgz\n"
                                  "  sha256: %s\n"
                                  "  cf_stacks: [cflinuxfs4]\n",
                                  entries, entries, fixture->sha256);
        entries++;
    }
    write_source_file(fixture, "manifest.yml", manifest.buf, 0644);
    assert_true(manifest.len < 1024 * 1024);
    cfbp_strbuf_release(&manifest);
    char *mirrored = test_path(fixture->mirror, "thing-1.2.3.tgz");
    copy_archive(fixture, mirrored);
    fixture->options.cached = true;
    fixture->options.mirror = fixture->mirror;
    int result = package(fixture);
    free(mirrored);
    if (result == 0)
        print_error("made %s although its manifest.yml has %lld bytes (%zu entries)\n",
                    fixture->result.zip_path, member_size(fixture->result.zip_path, "manifest.yml"),
                    entries);
    assert_int_equal(result, -1);
    assert_non_null(strstr(fixture->err.message, "manifest.yml"));
    assert_nothing_left(fixture);
}

/* --- packaging, cached --- */

static void cached_downloads_once_into_the_cache(void **state)
{
    struct fixture *fixture = *state;
    start_server(fixture);
    char *base = server_url(fixture, "/deps");
    write_manifest(fixture, manifest_template, base);
    fixture->options.cached = true;
    package_or_fail(fixture);
    assert_result_matches_file(fixture, "thing_buildpack-cached-cflinuxfs4-v1.2.3.zip");
    assert_int_equal(test_http_server_hits(fixture->server, "/deps/thing-1.2.3.tgz"), 1);

    struct cfbp_strbuf uri = CFBP_STRBUF_INIT, member = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&uri, "%s/thing-1.2.3.tgz", base);
    dependency_name(uri.buf, "thing-1.2.3.tgz", &member);
    char *cached = test_path(fixture->cache, member.buf);
    assert_string_equal(test_sha256_of_file(cached), fixture->sha256);
    assert_int_equal(count_files(fixture->cache), 1);

    struct zip_contents zip;
    read_zip(fixture->result.zip_path, &zip);
    const char *names[SHIPPED_COUNT + 1];
    memcpy(names, shipped_files, sizeof(shipped_files));
    names[SHIPPED_COUNT] = member.buf;
    assert_names(&zip, names, SHIPPED_COUNT + 1);
    assert_member_is_file(&zip, member.buf, fixture->archive);
    char *manifest = expected_stack_manifest(fixture, base, member.buf);
    assert_member(&zip, "manifest.yml", manifest, 0644);
    free(manifest);
    free_zip(&zip);
    struct cfbp_strbuf step = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&step, "Downloading thing 1.2.3 from %s", uri.buf);
    assert_step(fixture, step.buf);
    assert_true(fixture->download_calls > 0);
    char first_sha[CFBP_DIGEST_HEX_SIZE];
    strcpy(first_sha, fixture->result.sha256);

    /* Again, from the cache: no request, the same zip. */
    package_or_fail(fixture);
    assert_int_equal(test_http_server_hits(fixture->server, "/deps/thing-1.2.3.tgz"), 1);
    assert_string_equal(fixture->result.sha256, first_sha);
    assert_int_equal(test_count_entries(fixture->tmp), 0);
    cfbp_strbuf_release(&step);
    cfbp_strbuf_release(&uri);
    cfbp_strbuf_release(&member);
    free(cached);
    free(base);
}

static void two_packages_of_the_same_source_are_identical(void **state)
{
    struct fixture *fixture = *state;
    start_server(fixture);
    char *base = server_url(fixture, "/deps");
    write_manifest(fixture, manifest_template, base);
    fixture->options.cached = true;
    char *first_out = test_path(fixture->dir, "first");
    fixture->options.output_dir = first_out;
    package_or_fail(fixture);
    char *first = strdup(fixture->result.zip_path);
    unsigned long long first_size = fixture->result.size;
    sleep(1); /* pre_package's files now have other mtimes */
    fixture->options.output_dir = fixture->out;
    package_or_fail(fixture);
    assert_result_matches_file(fixture, "thing_buildpack-cached-cflinuxfs4-v1.2.3.zip");
    assert_int_equal(fixture->result.size, first_size);
    assert_string_equal(test_sha256_of_file(first), fixture->result.sha256);
    free(first);
    free(first_out);
    free(base);
}

static void takes_dependencies_from_a_mirror_directory(void **state)
{
    struct fixture *fixture = *state;
    start_server(fixture);
    char *base = server_url(fixture, "/origin");
    write_manifest(fixture, manifest_template, base);
    char *mirrored = test_path(fixture->mirror, "thing-1.2.3.tgz");
    copy_archive(fixture, mirrored);
    fixture->options.cached = true;
    fixture->options.mirror = fixture->mirror;
    package_or_fail(fixture);
    assert_int_equal(test_http_server_hits(fixture->server, "/origin/thing-1.2.3.tgz"), 0);
    struct cfbp_strbuf uri = CFBP_STRBUF_INIT, member = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&uri, "%s/thing-1.2.3.tgz", base);
    dependency_name(uri.buf, "thing-1.2.3.tgz", &member);
    struct zip_contents zip;
    read_zip(fixture->result.zip_path, &zip);
    assert_member_is_file(&zip, member.buf, fixture->archive);
    char *manifest = expected_stack_manifest(fixture, base, member.buf);
    assert_member(&zip, "manifest.yml", manifest, 0644);
    free(manifest);
    free_zip(&zip);
    cfbp_strbuf_release(&uri);
    cfbp_strbuf_release(&member);
    free(mirrored);
    free(base);
}

static void takes_dependencies_from_a_mirror_url(void **state)
{
    struct fixture *fixture = *state;
    start_server(fixture);
    char *base = server_url(fixture, "/origin");
    write_manifest(fixture, manifest_template, base);
    char *mirror = server_url(fixture, "/mirror/");
    fixture->options.cached = true;
    fixture->options.mirror = mirror;
    package_or_fail(fixture);
    assert_int_equal(test_http_server_hits(fixture->server, "/origin/thing-1.2.3.tgz"), 0);
    assert_int_equal(test_http_server_hits(fixture->server, "/mirror/thing-1.2.3.tgz"), 1);
    struct cfbp_strbuf uri = CFBP_STRBUF_INIT, member = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&uri, "%s/thing-1.2.3.tgz", base);
    dependency_name(uri.buf, "thing-1.2.3.tgz", &member);
    /* Cached under the manifest's URI, whatever mirror it came from. */
    char *cached = test_path(fixture->cache, member.buf);
    assert_string_equal(test_sha256_of_file(cached), fixture->sha256);
    struct zip_contents zip;
    read_zip(fixture->result.zip_path, &zip);
    assert_member_is_file(&zip, member.buf, fixture->archive);
    free_zip(&zip);
    /* Without the trailing slash too; an explicit mirror is asked every time, never the
     * cache, so that what it serves is what is packaged (the README's promise). */
    free(mirror);
    mirror = server_url(fixture, "/mirror");
    fixture->options.mirror = mirror;
    package_or_fail(fixture);
    assert_int_equal(test_http_server_hits(fixture->server, "/mirror/thing-1.2.3.tgz"), 2);
    unlink(cached);
    package_or_fail(fixture);
    assert_int_equal(test_http_server_hits(fixture->server, "/mirror/thing-1.2.3.tgz"), 3);
    assert_int_equal(test_http_server_hits(fixture->server, "/origin/thing-1.2.3.tgz"), 0);
    cfbp_strbuf_release(&uri);
    cfbp_strbuf_release(&member);
    free(cached);
    free(mirror);
    free(base);
}

static void refuses_a_corrupted_mirror_file(void **state)
{
    struct fixture *fixture = *state;
    write_manifest(fixture, manifest_template, "https://example.com/deps");
    char *mirrored = test_path(fixture->mirror, "thing-1.2.3.tgz");
    test_write_file(mirrored, "corrupted in the mirror\n", 0644);
    char actual[CFBP_DIGEST_HEX_SIZE];
    strcpy(actual, test_sha256_of_file(mirrored));
    fixture->options.cached = true;
    fixture->options.mirror = fixture->mirror;
    assert_failed(fixture, CFBP_ERROR_CHECKSUM, actual);
    if (!strstr(fixture->err.message, fixture->sha256))
        fail_msg("the expected digest should be named: %s", fixture->err.message);
    if (!strstr(fixture->err.message, "https://example.com/deps/thing-1.2.3.tgz (thing 1.2.3)"))
        fail_msg("the dependency should be named: %s", fixture->err.message);
    free(mirrored);
}

static void refuses_wrong_bytes_from_the_server_and_caches_nothing(void **state)
{
    struct fixture *fixture = *state;
    start_server(fixture);
    char *base = server_url(fixture, "/wrong");
    write_manifest(fixture, manifest_template, base);
    fixture->options.cached = true;
    char actual[CFBP_DIGEST_HEX_SIZE];
    cfbp_digest_of_bytes(CFBP_DIGEST_SHA256, "not the archive\n", 16, actual);
    assert_failed(fixture, CFBP_ERROR_CHECKSUM, actual);
    if (!strstr(fixture->err.message, fixture->sha256))
        fail_msg("the expected digest should be named: %s", fixture->err.message);
    assert_int_equal(count_files(fixture->cache), 0);
    /* A second try asks again rather than trusting a bad copy. */
    assert_failed(fixture, CFBP_ERROR_CHECKSUM, actual);
    assert_int_equal(test_http_server_hits(fixture->server, "/wrong/thing-1.2.3.tgz"), 2);
    free(base);
}

static void a_missing_download_fails_without_showing_credentials(void **state)
{
    struct fixture *fixture = *state;
    start_server(fixture);
    struct cfbp_strbuf base = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&base, "http://user:s3cr3t@127.0.0.1:%u/missing",
                              (unsigned)test_http_server_port(fixture->server));
    write_manifest(fixture, manifest_template, base.buf);
    fixture->options.cached = true;
    assert_failed(fixture, CFBP_ERROR_HTTP, "404");
    if (strstr(fixture->err.message, "s3cr3t") || strstr(fixture->steps.buf, "s3cr3t"))
        fail_msg("the password is shown: %s\n%s", fixture->err.message, fixture->steps.buf);
    assert_non_null(strstr(fixture->err.message, "thing-1.2.3.tgz (thing 1.2.3)"));
    assert_int_equal(count_files(fixture->cache), 0);
    cfbp_strbuf_release(&base);
}

static void takes_dependencies_pre_package_built(void **state)
{
    struct fixture *fixture = *state;
    start_server(fixture);
    char *base = server_url(fixture, "/origin");
    char *manifest = replace(manifest_template, "pre_package: ./pre.sh\n",
                             "pre_package: ./pre.sh\nlocal_dependencies: artifacts\n");
    write_manifest(fixture, manifest, base);
    free(manifest);
    /* The manifest's digest is the archive's; pre_package copies it from outside. */
    struct cfbp_strbuf script = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&script, "%smkdir -p artifacts\ncp '%s' artifacts/thing-1.2.3.tgz\n",
                              pre_package_script, fixture->archive);
    write_source_file(fixture, "pre.sh", script.buf, 0755);
    cfbp_strbuf_release(&script);
    fixture->options.cached = true;
    package_or_fail(fixture);
    assert_int_equal(test_http_server_hits(fixture->server, "/origin/thing-1.2.3.tgz"), 0);
    assert_int_equal(count_files(fixture->cache), 0);
    struct cfbp_strbuf uri = CFBP_STRBUF_INIT, member = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&uri, "%s/thing-1.2.3.tgz", base);
    dependency_name(uri.buf, "thing-1.2.3.tgz", &member);
    struct zip_contents zip;
    read_zip(fixture->result.zip_path, &zip);
    assert_member_is_file(&zip, member.buf, fixture->archive);
    /* local_dependencies is cfbp's, not part of the packaged manifest. */
    char *expected = expected_stack_manifest(fixture, base, member.buf);
    assert_member(&zip, "manifest.yml", expected, 0644);
    free(expected);
    free_zip(&zip);
    cfbp_strbuf_release(&uri);
    cfbp_strbuf_release(&member);
    free(base);
}

static void reads_file_uris_from_disk(void **state)
{
    struct fixture *fixture = *state;
    struct cfbp_strbuf base = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&base, "file://%s", fixture->dir);
    write_manifest(fixture, manifest_template, base.buf);
    fixture->options.cached = true;
    package_or_fail(fixture);
    struct cfbp_strbuf uri = CFBP_STRBUF_INIT, member = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&uri, "%s/thing-1.2.3.tgz", base.buf);
    dependency_name(uri.buf, "thing-1.2.3.tgz", &member);
    struct zip_contents zip;
    read_zip(fixture->result.zip_path, &zip);
    assert_member_is_file(&zip, member.buf, fixture->archive);
    free_zip(&zip);
    cfbp_strbuf_release(&uri);
    cfbp_strbuf_release(&member);
    cfbp_strbuf_release(&base);
}

/* Compiles a C program into the buildpack source. */
static void compile_into_source(struct fixture *fixture, const char *name, const char *program)
{
    char *source = test_path(fixture->dir, "program.c");
    test_write_file(source, program, 0644);
    char *path = test_path(fixture->source, name);
    char *argv[] = {"/usr/bin/cc", "-o", path, source, NULL};
    struct test_run run = test_run_program(argv, NULL, NULL);
    if (run.status != 0)
        fail_msg("cc: %s", run.err);
    test_run_free(&run);
    free(path);
    free(source);
}

static void refuses_a_program_too_new_for_the_stack_before_zipping(void **state)
{
    struct fixture *fixture = *state;
    start_server(fixture);
    char *base = server_url(fixture, "/deps");
    char *manifest = replace(manifest_template, "- bin/detect\n", "- bin/detect\n- bin/finalize\n");
    write_manifest(fixture, manifest, base);
    free(manifest);
    /* A program that only needs what cflinuxfs4 has is shipped... */
    compile_into_source(fixture, "bin/finalize",
                        "#include <stdio.h>\nint main(void) { puts(\"finalize\"); return 0; }\n");
    package_or_fail(fixture);
    struct zip_contents zip;
    read_zip(fixture->result.zip_path, &zip);
    assert_int_equal(find(&zip, "bin/finalize")->mode, S_IFREG | 0755);
    assert_int_equal(zip.count, SHIPPED_COUNT + 1);
    free_zip(&zip);
    unlink(fixture->result.zip_path);
    cfbp_package_result_release(&fixture->result);

    /* ...one that needs GLIBC_2.36 is not, and nothing is downloaded or written. */
    compile_into_source(fixture, "bin/finalize",
                        "#include <stdlib.h>\n"
                        "int main(void) { return (int)(arc4random() & 1); }\n");
    fixture->options.cached = true;
    assert_failed(fixture, CFBP_ERROR_INVALID, "bin/finalize needs GLIBC_2.36 from libc.so.6");
    assert_int_equal(test_http_server_hits(fixture->server, "/deps/thing-1.2.3.tgz"), 0);
    assert_int_equal(count_files(fixture->cache), 0);
    /* --any-stack checks against every known stack the dependencies name. */
    fixture->options.stack = NULL;
    fixture->options.any_stack = true;
    fixture->options.cached = false;
    assert_failed(fixture, CFBP_ERROR_INVALID, "bin/finalize needs GLIBC_2.36 from libc.so.6");
    free(base);
}

/*
 * The Go packager's wording for a dependency with the wrong digest (contract
 * §9.2 step 7), whether the bytes came from a mirror or a download.
 */
static void checksum_errors_use_the_go_packager_wording(void **state)
{
    struct fixture *fixture = *state;
    start_server(fixture);
    char *base = server_url(fixture, "/wrong");
    write_manifest(fixture, manifest_template, base);
    fixture->options.cached = true;
    char actual[CFBP_DIGEST_HEX_SIZE];
    cfbp_digest_of_bytes(CFBP_DIGEST_SHA256, "not the archive\n", 16, actual);
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&expected,
                              "%s/thing-1.2.3.tgz (thing 1.2.3): dependency sha256 mismatch: "
                              "expected sha256 %s, actual sha256 %s",
                              base, fixture->sha256, actual);
    assert_failed(fixture, CFBP_ERROR_CHECKSUM, actual);
    bool downloaded_ok = cfbp_string_starts_with(fixture->err.message, expected.buf);
    char *downloaded = strdup(fixture->err.message);

    char *mirrored = test_path(fixture->mirror, "thing-1.2.3.tgz");
    test_write_file(mirrored, "not the archive\n", 0644);
    fixture->options.mirror = fixture->mirror;
    assert_failed(fixture, CFBP_ERROR_CHECKSUM, actual);
    bool mirrored_ok = cfbp_string_starts_with(fixture->err.message, expected.buf);
    if (!downloaded_ok || !mirrored_ok)
        print_error("expected messages starting \"%s\", got:\n%s\n%s\n", expected.buf, downloaded,
                    fixture->err.message);
    free(downloaded);
    free(mirrored);
    cfbp_strbuf_release(&expected);
    free(base);
    assert_true(downloaded_ok);
    assert_true(mirrored_ok);
}

/* --- the Go packager's command line (§9.1) --- */

static void parses_command_lines_as_go_flag_does(void **state)
{
    (void)state;
    static const struct {
        const char *line; /* arguments, split on spaces */
        unsigned mode;
        const char *error; /* Go's message, or NULL */
        /* what is expected: "cached any-stack quiet help stack=S version=V cachedir=D
         * profile=P exclude=E include=I output=O mirror=M args=A|B" */
        const char *expected;
    } cases[] = {
        {"", 0, NULL, ""},
        {"-cached -stack cflinuxfs4", 0, NULL, "cached stack=cflinuxfs4"},
        {"--cached --stack=cflinuxfs4", 0, NULL, "cached stack=cflinuxfs4"},
        {"--cached=true --any-stack", 0, NULL, "cached any-stack"},
        {"--cached=false --any-stack", 0, NULL, "any-stack"},
        {"-cached=1", 0, NULL, "cached"},
        {"-cached=t", 0, NULL, "cached"},
        {"-cached=T", 0, NULL, "cached"},
        {"-cached=TRUE", 0, NULL, "cached"},
        {"-cached=True", 0, NULL, "cached"},
        {"-cached -cached=0", 0, NULL, ""},
        {"-cached -cached=f", 0, NULL, ""},
        {"-cached -cached=F", 0, NULL, ""},
        {"-cached -cached=FALSE", 0, NULL, ""},
        {"-cached -cached=False", 0, NULL, ""},
        {"-cached=yes", 0, "invalid boolean value \"yes\" for -cached: parse error", NULL},
        {"-cached=", 0, "invalid boolean value \"\" for -cached: parse error", NULL},
        {"--any-stack=tRuE", 0, "invalid boolean value \"tRuE\" for -any-stack: parse error", NULL},
        /* a bool flag never takes the next argument: parsing stops at "false" */
        {"-cached false -any-stack", 0, NULL, "cached args=false|-any-stack"},
        {"-version 1.2.3 -cachedir /c", 0, NULL, "version=1.2.3 cachedir=/c"},
        {"--version=1.2.3 --cachedir=/c", 0, NULL, "version=1.2.3 cachedir=/c"},
        {"-version=a=b", 0, NULL, "version=a=b"},
        {"-stack=", 0, NULL, "stack="},
        {"-version -cached", 0, NULL, "version=-cached"}, /* a string flag takes anything */
        {"-stack cflinuxfs3 -stack cflinuxfs4", 0, NULL, "stack=cflinuxfs4"},
        {"-profile minimal -exclude a,b -include c", 0, NULL,
         "profile=minimal exclude=a,b include=c"},
        {"--profile=minimal --exclude=a,b --include=c", 0, NULL,
         "profile=minimal exclude=a,b include=c"},
        {"-version", 0, "flag needs an argument: -version", NULL},
        {"--stack", 0, "flag needs an argument: -stack", NULL},
        {"-bogus", 0, "flag provided but not defined: -bogus", NULL},
        {"--bogus=1", 0, "flag provided but not defined: -bogus", NULL},
        {"-output x", 0, "flag provided but not defined: -output", NULL},
        {"-uncached", 0, "flag provided but not defined: -uncached", NULL},
        {"---cached", 0, "bad flag syntax: ---cached", NULL},
        {"-=x", 0, "bad flag syntax: -=x", NULL},
        {"-h -bogus", 0, NULL, "help"},
        {"--help", 0, NULL, "help"},
        {"-help=1", 0, NULL, "help"},
        {"-cached extra -any-stack", 0, NULL, "cached args=extra|-any-stack"},
        {"-cached -- -any-stack", 0, NULL, "cached args=-any-stack"},
        {"- -cached", 0, NULL, "args=-|-cached"},
        /* cfbp package's own flags, and BUILDPACK_DIR anywhere */
        {"--output o --mirror m --quiet", CFBP_PACKAGE_FLAGS_CFBP, NULL, "quiet output=o mirror=m"},
        {"dir --cached=false --stack s", CFBP_PACKAGE_FLAGS_CFBP, NULL, "stack=s args=dir"},
        {"--quiet=false a -- -b", CFBP_PACKAGE_FLAGS_CFBP, NULL, "args=a|-b"},
        {"--bogus", CFBP_PACKAGE_FLAGS_CFBP, "flag provided but not defined: -bogus", NULL},
        {"-h", CFBP_PACKAGE_FLAGS_CFBP, NULL, "help"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        char *copy = strdup(cases[i].line);
        char *argv[16];
        int argc = 0;
        for (char *word = strtok(copy, " "); word; word = strtok(NULL, " "))
            argv[argc++] = word;
        argv[argc] = NULL;
        struct cfbp_package_flags flags;
        struct cfbp_error err = CFBP_ERROR_INIT;
        int status = cfbp_package_flags_parse(&flags, argc, argv, cases[i].mode, &err);
        if (cases[i].error) {
            if (status != -1 || !err.message || strcmp(err.message, cases[i].error) != 0)
                fail_msg("'%s': expected error '%s', got %d '%s'", cases[i].line, cases[i].error,
                         status, err.message ? err.message : "");
            assert_int_equal(err.kind, CFBP_ERROR_USAGE);
        } else {
            if (status != 0)
                fail_msg("'%s': unexpected error '%s'", cases[i].line, err.message);
            struct cfbp_strbuf got = CFBP_STRBUF_INIT;
            const char *words[] = {flags.cached ? "cached" : NULL,
                                   flags.any_stack ? "any-stack" : NULL,
                                   flags.quiet ? "quiet" : NULL, flags.help ? "help" : NULL};
            for (size_t w = 0; w < 4; w++)
                if (words[w])
                    cfbp_strbuf_append_format(&got, "%s%s", got.len ? " " : "", words[w]);
            const struct {
                const char *name, *value;
            } values[] = {{"stack", flags.stack},        {"version", flags.version},
                          {"cachedir", flags.cache_dir}, {"profile", flags.profile},
                          {"exclude", flags.exclude},    {"include", flags.include},
                          {"output", flags.output_dir},  {"mirror", flags.mirror}};
            for (size_t v = 0; v < sizeof(values) / sizeof(*values); v++)
                if (values[v].value)
                    cfbp_strbuf_append_format(&got, "%s%s=%s", got.len ? " " : "", values[v].name,
                                              values[v].value);
            if (flags.arguments.count) {
                cfbp_strbuf_append_format(&got, "%sargs=", got.len ? " " : "");
                cfbp_string_list_join(&flags.arguments, "|", &got);
            }
            if (strcmp(got.buf ? got.buf : "", cases[i].expected) != 0)
                fail_msg("'%s': expected '%s', got '%s'", cases[i].line, cases[i].expected,
                         got.buf ? got.buf : "");
            cfbp_strbuf_release(&got);
        }
        cfbp_error_clear(&err);
        cfbp_package_flags_release(&flags);
        free(copy);
    }
}

static void splits_names_as_the_go_packager_does(void **state)
{
    (void)state;
    static const struct {
        const char *text, *expected;
    } cases[] = {
        {"", ""},    {"a", "a"},     {"a,b", "a|b"},     {" a , b ,, ", "a|b"},
        {",,,", ""}, {"\ta\n", "a"}, {"a b,c", "a b|c"}, {"x,", "x"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        struct cfbp_string_list names = CFBP_STRING_LIST_INIT;
        struct cfbp_strbuf joined = CFBP_STRBUF_INIT;
        cfbp_package_split_names(cases[i].text, &names);
        cfbp_string_list_join(&names, "|", &joined);
        assert_string_equal(joined.buf ? joined.buf : "", cases[i].expected);
        cfbp_strbuf_release(&joined);
        cfbp_string_list_clear(&names);
    }
    struct cfbp_string_list none = CFBP_STRING_LIST_INIT;
    cfbp_package_split_names(NULL, &none);
    assert_int_equal(none.count, 0);
}

/* --- packaging profiles (libbuildpack's packaging_profiles) --- */

/* Three dependencies read from file:// URIs (@DIR@), all the same test archive. */
static const char profiles_template[] =
    "language: ruby\n"
    "include_files: [VERSION, manifest.yml]\n"
    "packaging_profiles:\n"
    "  minimal:\n"
    "    description: core only\n"
    "    exclude: [agent-dep, profiler-dep]\n"
    "  no-profiler:\n"
    "    description: everything but the profiler\n"
    "    exclude:\n"
    "    - profiler-dep\n"
    "  bad-exclude:\n"
    "    description: names a dependency that is not there\n"
    "    exclude: [no-such-dep]\n"
    "dependencies:\n"
    "- {name: core-dep, version: 1.0.0, uri: 'file://@DIR@/core.tgz', sha256: @SHA@,"
    " cf_stacks: [cflinuxfs4]}\n"
    "- {name: agent-dep, version: 1.0.0, uri: 'file://@DIR@/agent.tgz', sha256: @SHA@,"
    " cf_stacks: [cflinuxfs4]}\n"
    "- {name: profiler-dep, version: 1.0.0, uri: 'file://@DIR@/profiler.tgz', sha256: @SHA@,"
    " cf_stacks: [cflinuxfs4]}\n";

static void write_profiles_manifest(struct fixture *fixture)
{
    static const char *const files[] = {"core.tgz", "agent.tgz", "profiler.tgz"};
    for (size_t i = 0; i < 3; i++) {
        char *path = test_path(fixture->dir, files[i]);
        copy_archive(fixture, path);
        free(path);
    }
    char *with_dir = replace(profiles_template, "@DIR@", fixture->dir);
    char *text = replace(with_dir, "@SHA@", fixture->sha256);
    write_source_file(fixture, "manifest.yml", text, 0644);
    free(text);
    free(with_dir);
}

/* Packages with the profile options given as the Go packager's flags would. */
static int package_with_profile(struct fixture *fixture, const char *profile, const char *exclude,
                                const char *include)
{
    struct cfbp_string_list excluded = CFBP_STRING_LIST_INIT, included = CFBP_STRING_LIST_INIT;
    cfbp_package_split_names(exclude, &excluded);
    cfbp_package_split_names(include, &included);
    fixture->options.profile = profile;
    fixture->options.exclude = (const char *const *)excluded.items;
    fixture->options.exclude_count = excluded.count;
    fixture->options.include = (const char *const *)included.items;
    fixture->options.include_count = included.count;
    int status = package(fixture);
    fixture->options.exclude = fixture->options.include = NULL;
    fixture->options.exclude_count = fixture->options.include_count = 0;
    cfbp_string_list_clear(&excluded);
    cfbp_string_list_clear(&included);
    return status;
}

static void profiles_choose_the_dependencies_as_libbuildpack_does(void **state)
{
    struct fixture *fixture = *state;
    write_profiles_manifest(fixture);
    fixture->options.cached = true;
    static const struct {
        const char *profile, *exclude, *include;
        const char *zip;          /* the name, or NULL for an error */
        const char *dependencies; /* names in the packaged manifest, or the error */
    } cases[] = {
        {NULL, NULL, NULL, "ruby_buildpack-cached-cflinuxfs4-v1.2.3.zip",
         "core-dep agent-dep profiler-dep"},
        {"", "", "", "ruby_buildpack-cached-cflinuxfs4-v1.2.3.zip",
         "core-dep agent-dep profiler-dep"},
        {NULL, "agent-dep", NULL, "ruby_buildpack-cached-custom-cflinuxfs4-v1.2.3.zip",
         "core-dep profiler-dep"},
        {NULL, " agent-dep , profiler-dep,", NULL,
         "ruby_buildpack-cached-custom-cflinuxfs4-v1.2.3.zip", "core-dep"},
        {"minimal", NULL, NULL, "ruby_buildpack-cached-minimal-cflinuxfs4-v1.2.3.zip", "core-dep"},
        {"no-profiler", "agent-dep", NULL,
         "ruby_buildpack-cached-no-profiler+custom-cflinuxfs4-v1.2.3.zip", "core-dep"},
        {"minimal", NULL, "profiler-dep",
         "ruby_buildpack-cached-minimal+custom-cflinuxfs4-v1.2.3.zip", "core-dep profiler-dep"},
        {"no-profiler", "agent-dep", "profiler-dep",
         "ruby_buildpack-cached-no-profiler+custom-cflinuxfs4-v1.2.3.zip", "core-dep profiler-dep"},
        /* an exclude already in the profile still makes it custom, as in Go */
        {"minimal", "agent-dep", NULL, "ruby_buildpack-cached-minimal+custom-cflinuxfs4-v1.2.3.zip",
         "core-dep"},
        /* every error, in Go's words */
        {NULL, NULL, "core-dep", NULL, "--include requires --profile"},
        {"does-not-exist", NULL, NULL, NULL,
         "packaging profile \"does-not-exist\" not found in manifest"},
        {"my profile", NULL, NULL, NULL,
         "profile name \"my profile\" is invalid: must match ^[a-z0-9_-]+$"},
        {"../../etc/passwd", NULL, NULL, NULL,
         "profile name \"../../etc/passwd\" is invalid: must match ^[a-z0-9_-]+$"},
        {"Minimal", NULL, NULL, NULL,
         "profile name \"Minimal\" is invalid: must match ^[a-z0-9_-]+$"},
        {"bad-exclude", NULL, NULL, NULL,
         "profile \"bad-exclude\" references unknown dependency \"no-such-dep\""},
        {NULL, "no-such-dep", NULL, NULL, "dependency \"no-such-dep\" not found in manifest"},
        {"minimal", NULL, "no-such-dep", NULL, "dependency \"no-such-dep\" not found in manifest"},
        {"no-profiler", NULL, "core-dep", NULL,
         "--include \"core-dep\" has no effect: dependency is not excluded by the profile or "
         "--exclude"},
        {"no-profiler", "a\"b", NULL, NULL, "dependency \"a\\\"b\" not found in manifest"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        cfbp_package_result_release(&fixture->result);
        cfbp_error_clear(&fixture->err);
        int status =
            package_with_profile(fixture, cases[i].profile, cases[i].exclude, cases[i].include);
        if (!cases[i].zip) {
            if (status != -1 || strcmp(fixture->err.message, cases[i].dependencies) != 0)
                fail_msg("case %zu: expected '%s', got %d '%s'", i, cases[i].dependencies, status,
                         fixture->err.message ? fixture->err.message : "");
            assert_nothing_left(fixture);
            continue;
        }
        if (status != 0)
            fail_msg("case %zu failed: %s", i, fixture->err.message);
        char *expected_zip = test_path(fixture->out, cases[i].zip);
        assert_string_equal(fixture->result.zip_path, expected_zip);
        free(expected_zip);
        /* The packaged manifest lists exactly the kept entries; the zip holds only their files. */
        struct zip_contents zip;
        read_zip(fixture->result.zip_path, &zip);
        const struct member *manifest = find(&zip, "manifest.yml");
        struct cfbp_strbuf names = CFBP_STRBUF_INIT;
        for (const char *at = manifest->data; (at = strstr(at, "  name: ")); at += 8) {
            size_t length = strcspn(at + 8, "\n");
            cfbp_strbuf_append_format(&names, "%s%.*s", names.len ? " " : "", (int)length, at + 8);
        }
        assert_string_equal(names.buf, cases[i].dependencies);
        size_t files = 0;
        for (size_t m = 0; m < zip.count; m++)
            files += strncmp(zip.members[m].name, "dependencies/", 13) == 0;
        size_t listed = 1;
        for (const char *c = cases[i].dependencies; *c; c++)
            listed += *c == ' ';
        assert_int_equal(files, listed);
        /* the profiles stay in the packaged manifest, as Go's map round trip keeps them */
        if (!strstr(manifest->data, "packaging_profiles:\n  bad-exclude:\n"))
            fail_msg("packaging_profiles should stay:\n%s", manifest->data);
        cfbp_strbuf_release(&names);
        free_zip(&zip);
        /* the zip goes where the next case's would not collide */
        unlink(fixture->result.zip_path);
    }
}

static void profiles_are_for_cached_packages_only(void **state)
{
    struct fixture *fixture = *state;
    write_profiles_manifest(fixture);
    static const char *const message =
        "--profile/--exclude/--include are only valid for cached buildpacks";
    assert_int_equal(package_with_profile(fixture, "minimal", NULL, NULL), -1);
    assert_string_equal(fixture->err.message, message);
    cfbp_error_clear(&fixture->err);
    assert_int_equal(package_with_profile(fixture, NULL, "agent-dep", NULL), -1);
    assert_string_equal(fixture->err.message, message);
    cfbp_error_clear(&fixture->err);
    assert_int_equal(package_with_profile(fixture, "minimal", NULL, "agent-dep"), -1);
    assert_string_equal(fixture->err.message, message);
    assert_nothing_left(fixture);
    fixture->options.profile = NULL;
    cfbp_error_clear(&fixture->err);
    package_or_fail(fixture);
}

static void refuses_packaging_profiles_go_cannot_read(void **state)
{
    struct fixture *fixture = *state;
    static const char *const manifests[] = {
        "packaging_profiles: [minimal]\n",
        "packaging_profiles:\n  minimal: [agent]\n",
        "packaging_profiles:\n  minimal:\n    exclude: agent\n",
        "packaging_profiles:\n  minimal:\n    exclude: [[agent]]\n",
        "packaging_profiles:\n  minimal:\n    description: [a]\n",
    };
    for (size_t i = 0; i < sizeof(manifests) / sizeof(*manifests); i++) {
        struct cfbp_strbuf text = CFBP_STRBUF_INIT;
        cfbp_strbuf_append_format(&text,
                                  "language: thing\ninclude_files: [manifest.yml]\n"
                                  "dependencies: []\n%s",
                                  manifests[i]);
        write_source_file(fixture, "manifest.yml", text.buf, 0644);
        cfbp_error_clear(&fixture->err);
        assert_failed(fixture, CFBP_ERROR_INVALID, "manifest.yml:");
        cfbp_strbuf_release(&text);
    }
}

/* --- what Go's validation leaves alone, and its map round trip --- */

static void any_stack_does_not_check_default_versions(void **state)
{
    struct fixture *fixture = *state;
    write_source_file(fixture, "manifest.yml",
                      "language: thing\ninclude_files: [manifest.yml]\n"
                      "default_versions: [{name: thing, version: 9.x}]\n"
                      "dependencies:\n"
                      "- {name: thing, version: 1.2.3, uri: 'https://e.com/t.tgz', sha256: " SHA_124
                      ", cf_stacks: [cflinuxfs4]}\n",
                      0644);
    assert_failed(fixture, CFBP_ERROR_INVALID,
                  "No matching default dependency `thing` for stack `cflinuxfs4`");
    cfbp_error_clear(&fixture->err);
    fixture->options.stack = NULL;
    fixture->options.any_stack = true;
    package_or_fail(fixture);
}

static void empty_and_plain_values_are_written_as_the_go_round_trip_writes_them(void **state)
{
    struct fixture *fixture = *state;
    write_source_file(
        fixture, "manifest.yml",
        "language: thing\n"
        "include_files: [manifest.yml]\n"
        "dependency_deprecation_dates:\n"
        "tilde: ~\n"
        "Null: Null\n"
        "list: [~, '', yes, Off, 0755, 0x1F, 1_000, 08, 1.10, 1.5e3, 1e21, 0.0001, .5, -.inf, "
        "'1.10', 1:20, 2025-4-30]\n"
        "empty_list: []\n"
        "empty_map: {}\n"
        "long: a description that is long enough to be folded at eighty columns as yaml.v2 "
        "folds it\n"
        "dependencies: []\n",
        0644);
    package_or_fail(fixture);
    struct zip_contents zip;
    read_zip(fixture->result.zip_path, &zip);
    assert_member(&zip, "manifest.yml",
                  "\"\": null\n" /* a null key read into map[string]: the empty string */
                  "dependencies: []\n"
                  "dependency_deprecation_dates: null\n"
                  "empty_list: []\n"
                  "empty_map: {}\n"
                  "include_files:\n"
                  "- manifest.yml\n"
                  "language: thing\n"
                  "list:\n"
                  "- null\n"
                  "- \"\"\n"
                  "- true\n"
                  "- false\n"
                  "- 493\n"
                  "- 31\n"
                  "- 1000\n"
                  "- 8\n"
                  "- 1.1\n"
                  "- 1500\n"
                  "- 1e+21\n"
                  "- 0.0001\n"
                  "- 0.5\n"
                  "- -.inf\n"
                  "- \"1.10\"\n"
                  "- \"1:20\"\n"
                  "- \"2025-4-30\"\n"
                  "long: a description that is long enough to be folded at eighty columns as "
                  "yaml.v2\n"
                  "  folds it\n"
                  "stack: cflinuxfs4\n"
                  "tilde: null\n",
                  0644 & ~fixture->umask);
    free_zip(&zip);
    /* A number whose text changes is worth a word: `1.10` was probably a version. */
    assert_non_null(strstr(fixture->steps.buf, "WARNING: manifest.yml:6:"));
    assert_non_null(strstr(fixture->steps.buf, "1.10 is a number to Go's yaml.v2"));
}

/* --- --mirror first, md5-only dependencies --- */

static void an_explicit_mirror_comes_before_the_download_cache(void **state)
{
    struct fixture *fixture = *state;
    start_server(fixture);
    char *base = server_url(fixture, "/deps");
    write_manifest(fixture, manifest_template, base);
    fixture->options.cached = true;
    package_or_fail(fixture); /* a good copy is now in the download cache */
    assert_int_equal(test_http_server_hits(fixture->server, "/deps/thing-1.2.3.tgz"), 1);
    cfbp_package_result_release(&fixture->result);
    char *mirrored = test_path(fixture->mirror, "thing-1.2.3.tgz");
    test_write_file(mirrored, "corrupted in the mirror\n", 0644);
    char actual[CFBP_DIGEST_HEX_SIZE];
    strcpy(actual, test_sha256_of_file(mirrored));
    fixture->options.mirror = fixture->mirror;
    char *zip = test_path(fixture->out, "thing_buildpack-cached-cflinuxfs4-v1.2.3.zip");
    unlink(zip);
    assert_failed(fixture, CFBP_ERROR_CHECKSUM, actual);
    if (!strstr(fixture->err.message, fixture->sha256))
        fail_msg("the expected digest should be named: %s", fixture->err.message);
    assert_false(test_exists(zip));
    assert_int_equal(test_count_entries(fixture->tmp), 0);
    free(zip);
    free(mirrored);
    free(base);
}

static void md5_only_dependencies_are_checked_by_md5_with_a_warning(void **state)
{
    struct fixture *fixture = *state;
    char md5[CFBP_DIGEST_HEX_SIZE];
    struct cfbp_error err = CFBP_ERROR_INIT;
    assert_int_equal(cfbp_digest_of_file(CFBP_DIGEST_MD5, fixture->archive, md5, &err), 0);
    char *path = test_path(fixture->dir, "legacy-1.0.tgz");
    copy_archive(fixture, path);
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&text,
                              "language: thing\ninclude_files: [manifest.yml]\n"
                              "dependencies:\n"
                              "- {name: legacy, version: '1.0', uri: 'file://%s', md5: %s,"
                              " cf_stacks: [cflinuxfs4]}\n",
                              path, md5);
    write_source_file(fixture, "manifest.yml", text.buf, 0644);
    fixture->options.cached = true;
    package_or_fail(fixture);
    if (!strstr(fixture->steps.buf, "WARNING: legacy 1.0: the manifest gives only an md5"))
        fail_msg("expected the md5 warning in:\n%s", fixture->steps.buf);
    struct zip_contents zip;
    read_zip(fixture->result.zip_path, &zip);
    assert_int_equal(zip.count, 2);
    free_zip(&zip);
    /* The wrong bytes fail, naming both md5 digests. */
    unlink(fixture->result.zip_path);
    cfbp_package_result_release(&fixture->result);
    test_write_file(path, "not the archive\n", 0644);
    char actual[CFBP_DIGEST_HEX_SIZE];
    cfbp_digest_of_bytes(CFBP_DIGEST_MD5, "not the archive\n", 16, actual);
    assert_failed(fixture, CFBP_ERROR_CHECKSUM, actual);
    if (!strstr(fixture->err.message, md5) ||
        !strstr(fixture->err.message, "dependency md5 mismatch"))
        fail_msg("expected both md5 digests in: %s", fixture->err.message);
    cfbp_strbuf_release(&text);
    free(path);
}

int main(void)
{
    setenv("TZ", "UTC0", 1);
    tzset();
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(names_zips_as_the_go_packager_does),
        TEST(summarises_the_contract_example),
        TEST(sorts_by_name_then_version_with_sorted_stacks),
        TEST(adds_a_modules_column_when_any_dependency_has_modules),
        TEST(lists_packaging_profiles),
        TEST(summarises_nothing_as_nothing),
        TEST(ships_exactly_the_include_files),
        TEST(any_stack_keeps_cf_stacks_and_drops_entries_without_them),
        TEST(the_version_option_overrides_the_version_file),
        TEST(writes_into_the_source_without_an_output_dir),
        TEST(the_copy_skips_git_and_tests),
        TEST(pre_package_sees_the_version_being_packaged),
        TEST(other_keys_are_written_as_yaml_v2_writes_them),
        TEST(pre_package_failures_carry_its_output),
        TEST(refuses_a_missing_include_file),
        TEST(refuses_include_files_outside_the_buildpack),
        TEST(refuses_an_already_packaged_manifest),
        TEST(refuses_an_empty_manifest),
        TEST(refuses_a_stack_no_dependency_lists),
        TEST(refuses_a_default_the_stack_cannot_satisfy),
        TEST(refuses_a_manifest_over_1_mib),
        TEST(refuses_a_packaged_manifest_over_1_mib),
        TEST(cached_downloads_once_into_the_cache),
        TEST(two_packages_of_the_same_source_are_identical),
        TEST(takes_dependencies_from_a_mirror_directory),
        TEST(takes_dependencies_from_a_mirror_url),
        TEST(refuses_a_corrupted_mirror_file),
        TEST(refuses_wrong_bytes_from_the_server_and_caches_nothing),
        TEST(a_missing_download_fails_without_showing_credentials),
        TEST(takes_dependencies_pre_package_built),
        TEST(reads_file_uris_from_disk),
        TEST(refuses_a_program_too_new_for_the_stack_before_zipping),
        TEST(checksum_errors_use_the_go_packager_wording),
        TEST(parses_command_lines_as_go_flag_does),
        TEST(splits_names_as_the_go_packager_does),
        TEST(profiles_choose_the_dependencies_as_libbuildpack_does),
        TEST(profiles_are_for_cached_packages_only),
        TEST(refuses_packaging_profiles_go_cannot_read),
        TEST(any_stack_does_not_check_default_versions),
        TEST(empty_and_plain_values_are_written_as_the_go_round_trip_writes_them),
        TEST(an_explicit_mirror_comes_before_the_download_cache),
        TEST(md5_only_dependencies_are_checked_by_md5_with_a_warning),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
