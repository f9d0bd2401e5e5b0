/*
 * test_buildpack.c - finding the buildpack root, the title-cased language and
 * the version banner with the stack check (contract §3.7, §6.3, §12).
 */
#include "support.h"

#include "cfbp/buildpack.h"
#include "cfbp/digest.h"
#include "cfbp/error.h"
#include "cfbp/log.h"
#include "cfbp/manifest.h"
#include "cfbp/path.h"
#include "cfbp/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define SHA_A  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define RED    "\033[31;1m"
#define RESET  "\033[0m"
#define BANNER "-----> Config-Server-Sidecar Buildpack version 1.2.3\n"

struct fixture {
    char *root;
    char *saved_buildpack_dir;
    struct cfbp_manifest manifest;
    struct cfbp_error err;
    struct cfbp_strbuf out;
    char *log_text;
    size_t log_length;
    FILE *log_stream;
    struct cfbp_log log;
};

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    fixture->root = test_make_dir();
    const char *saved = getenv("BUILDPACK_DIR");
    fixture->saved_buildpack_dir = saved ? strdup(saved) : NULL;
    unsetenv("BUILDPACK_DIR");
    cfbp_strbuf_init(&fixture->out, 0);
    fixture->log_stream = open_memstream(&fixture->log_text, &fixture->log_length);
    cfbp_log_init(&fixture->log, fixture->log_stream, false);
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    if (fixture->saved_buildpack_dir)
        setenv("BUILDPACK_DIR", fixture->saved_buildpack_dir, 1);
    else
        unsetenv("BUILDPACK_DIR");
    free(fixture->saved_buildpack_dir);
    fclose(fixture->log_stream);
    free(fixture->log_text);
    cfbp_manifest_release(&fixture->manifest);
    cfbp_error_clear(&fixture->err);
    cfbp_strbuf_release(&fixture->out);
    test_remove_dir(fixture->root);
    free(fixture);
    return 0;
}

static const char *logged(struct fixture *fixture)
{
    fflush(fixture->log_stream);
    return fixture->log_text;
}

static void load_manifest(struct fixture *fixture, const char *manifest)
{
    char *path = test_path(fixture->root, "manifest.yml");
    test_write_file(path, manifest, 0644);
    free(path);
    path = test_path(fixture->root, "VERSION");
    test_write_file(path, "1.2.3\n", 0644);
    free(path);
    if (cfbp_manifest_load(&fixture->manifest, fixture->root, &fixture->err) != 0)
        fail_msg("cannot load the manifest: %s", fixture->err.message);
}

static const char *fs4_manifest = "language: config-server-sidecar\n"
                                  "dependencies:\n"
                                  "- name: config-server\n"
                                  "  version: 1.0.0\n"
                                  "  uri: https://example.com/cs.tgz\n"
                                  "  sha256: " SHA_A "\n"
                                  "  cf_stacks: [cflinuxfs4]\n"
                                  "- name: other\n"
                                  "  version: 2.0.0\n"
                                  "  uri: https://example.com/other.tgz\n"
                                  "  sha256: " SHA_A "\n"
                                  "  cf_stacks: [cflinuxfs4, cflinuxfs5]\n";

/* --- title --- */

static void check_title(const char *language, const char *expected)
{
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    cfbp_strbuf_set(&out, "replaced");
    cfbp_buildpack_title(language, &out);
    if (strcmp(out.buf, expected) != 0)
        fail_msg("title(\"%s\") = \"%s\", expected \"%s\"", language, out.buf, expected);
    cfbp_strbuf_release(&out);
}

static void titles_like_go_strings_title(void **state)
{
    (void)state;
    check_title("config-server-sidecar", "Config-Server-Sidecar");
    check_title("dotnet-core", "Dotnet-Core");
    check_title("node.js", "Node.Js");
    check_title("my_lang", "My_lang");
    check_title("php", "Php");
    check_title("go", "Go");
    check_title("PHP", "PHP");
    check_title("", "");
    check_title("a b", "A B");
    check_title("x1y", "X1y");
    check_title("1abc", "1abc");
    check_title("ruby-2go", "Ruby-2go");
    check_title("a--b", "A--B");
    check_title("-a", "-A");
    check_title("binary/static", "Binary/Static");
}

/* --- find_root --- */

static void root_from_argv0(void **state)
{
    struct fixture *fixture = *state;
    char *program = test_path(fixture->root, "bin/supply");
    assert_int_equal(cfbp_buildpack_find_root(program, &fixture->out, &fixture->err), 0);
    assert_string_equal(fixture->out.buf, fixture->root);
    free(program);
    program = test_path(fixture->root, "bin/../bin//supply");
    assert_int_equal(cfbp_buildpack_find_root(program, &fixture->out, &fixture->err), 0);
    assert_string_equal(fixture->out.buf, fixture->root);
    free(program);
    assert_int_equal(cfbp_buildpack_find_root("/supply", &fixture->out, &fixture->err), 0);
    assert_string_equal(fixture->out.buf, "/");
    assert_null(fixture->err.message);
}

static void root_from_a_relative_argv0(void **state)
{
    struct fixture *fixture = *state;
    char *saved = getcwd(NULL, 0);
    assert_int_equal(chdir(fixture->root), 0);
    char *cwd = getcwd(NULL, 0);
    int result = cfbp_buildpack_find_root("bin/finalize", &fixture->out, &fixture->err);
    assert_int_equal(chdir(saved), 0);
    assert_int_equal(result, 0);
    assert_string_equal(fixture->out.buf, cwd);
    free(cwd);
    free(saved);
}

static void root_from_buildpack_dir(void **state)
{
    struct fixture *fixture = *state;
    char *elsewhere = test_path(fixture->root, "elsewhere/../bp");
    setenv("BUILDPACK_DIR", elsewhere, 1);
    char *program = test_path(fixture->root, "bin/supply");
    assert_int_equal(cfbp_buildpack_find_root(program, &fixture->out, &fixture->err), 0);
    char *expected = test_path(fixture->root, "bp");
    assert_string_equal(fixture->out.buf, expected);
    free(expected);

    /* An empty BUILDPACK_DIR counts as unset. */
    setenv("BUILDPACK_DIR", "", 1);
    assert_int_equal(cfbp_buildpack_find_root(program, &fixture->out, &fixture->err), 0);
    assert_string_equal(fixture->out.buf, fixture->root);
    free(program);
    free(elsewhere);
}

static void root_from_proc_self_exe(void **state)
{
    struct fixture *fixture = *state;
    /* This test program lives in <build>/tests/, so its "root" is <build>. */
    char *self = realpath("/proc/self/exe", NULL);
    assert_non_null(self);
    struct cfbp_strbuf bin = CFBP_STRBUF_INIT, root = CFBP_STRBUF_INIT;
    cfbp_path_dirname(&bin, self);
    cfbp_path_dirname(&root, bin.buf);
    assert_int_equal(cfbp_buildpack_find_root("unit_test_buildpack", &fixture->out, &fixture->err),
                     0);
    assert_string_equal(fixture->out.buf, root.buf);
    assert_int_equal(cfbp_buildpack_find_root(NULL, &fixture->out, &fixture->err), 0);
    assert_string_equal(fixture->out.buf, root.buf);
    cfbp_strbuf_release(&bin);
    cfbp_strbuf_release(&root);
    free(self);
}

/* --- check_valid --- */

static void logs_the_banner_for_a_supported_stack(void **state)
{
    struct fixture *fixture = *state;
    load_manifest(fixture, fs4_manifest);
    assert_int_equal(
        cfbp_buildpack_check_valid(&fixture->manifest, "cflinuxfs4", &fixture->log, &fixture->err),
        0);
    assert_null(fixture->err.message);
    assert_string_equal(logged(fixture), BANNER);
    assert_int_equal(
        cfbp_buildpack_check_valid(&fixture->manifest, "cflinuxfs5", &fixture->log, &fixture->err),
        0);
    assert_string_equal(logged(fixture), BANNER BANNER);
}

static void refuses_an_unsupported_stack(void **state)
{
    struct fixture *fixture = *state;
    load_manifest(fixture, fs4_manifest);
    assert_int_equal(
        cfbp_buildpack_check_valid(&fixture->manifest, "cflinuxfs3", &fixture->log, &fixture->err),
        -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_STACK);
    const char *expected = "Stack not supported by buildpack: required stack cflinuxfs3 was not "
                           "found; this buildpack supports cflinuxfs4, cflinuxfs5";
    assert_string_equal(fixture->err.message, expected);
    assert_string_equal(logged(fixture), BANNER); /* the program prints the error, once */
}

static void an_empty_stack_keeps_libbuildpacks_double_space(void **state)
{
    struct fixture *fixture = *state;
    load_manifest(fixture, fs4_manifest);
    const char *expected = "Stack not supported by buildpack: required stack  was not found "
                           "(CF_STACK is not set; Cloud Foundry sets it when staging); this "
                           "buildpack supports cflinuxfs4, cflinuxfs5";
    assert_int_equal(
        cfbp_buildpack_check_valid(&fixture->manifest, "", &fixture->log, &fixture->err), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_STACK);
    assert_string_equal(fixture->err.message, expected);
    cfbp_error_clear(&fixture->err);
    assert_int_equal(
        cfbp_buildpack_check_valid(&fixture->manifest, NULL, &fixture->log, &fixture->err), -1);
    assert_string_equal(fixture->err.message, expected);
}

static void a_manifest_without_dependencies_supports_every_stack(void **state)
{
    struct fixture *fixture = *state;
    load_manifest(fixture, "language: php\n");
    assert_int_equal(
        cfbp_buildpack_check_valid(&fixture->manifest, "anything", &fixture->log, &fixture->err),
        0);
    assert_int_equal(
        cfbp_buildpack_check_valid(&fixture->manifest, "", &fixture->log, &fixture->err), 0);
    assert_string_equal(logged(fixture), "-----> Php Buildpack version 1.2.3\n"
                                         "-----> Php Buildpack version 1.2.3\n");
}

static void a_packaged_manifest_supports_only_its_stack(void **state)
{
    struct fixture *fixture = *state;
    load_manifest(fixture, "language: dotnet-core\n"
                           "stack: cflinuxfs4\n"
                           "dependencies:\n"
                           "- name: x\n"
                           "  version: 1.0.0\n"
                           "  uri: https://example.com/x.tgz\n"
                           "  sha256: " SHA_A "\n");
    assert_int_equal(
        cfbp_buildpack_check_valid(&fixture->manifest, "cflinuxfs4", &fixture->log, &fixture->err),
        0);
    assert_int_equal(
        cfbp_buildpack_check_valid(&fixture->manifest, "cflinuxfs3", &fixture->log, &fixture->err),
        -1);
    assert_string_equal(fixture->err.message, "Stack not supported by buildpack: required stack "
                                              "cflinuxfs3 was not found; this buildpack supports "
                                              "cflinuxfs4");
    assert_string_equal(logged(fixture), "-----> Dotnet-Core Buildpack version 1.2.3\n"
                                         "-----> Dotnet-Core Buildpack version 1.2.3\n");
}

/* --- locate_root --- */

static char *make_bin(struct fixture *fixture, const char *under)
{
    char *directory = test_path(fixture->root, under);
    char *supply = test_path(directory, "bin/supply");
    test_write_file(supply, "#!/bin/sh\n", 0755);
    free(supply);
    return directory;
}

static void assert_malformed(struct fixture *fixture, const char *directory, const char *shown)
{
    cfbp_strbuf_set(&fixture->out, "untouched");
    assert_int_equal(cfbp_buildpack_locate_root(directory, shown, &fixture->out, &fixture->err),
                     -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_INVALID);
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&expected, "malformed buildpack does not contain a /bin dir: %s",
                              shown);
    assert_string_equal(fixture->err.message, expected.buf);
    cfbp_strbuf_release(&expected);
    cfbp_error_clear(&fixture->err);
}

static void locates_a_root_with_bin_at_the_top(void **state)
{
    struct fixture *fixture = *state;
    char *top = make_bin(fixture, "top");
    /* A second directory beside bin/ does not matter when bin/ is at the top. */
    char *lib = test_path(top, "lib/x");
    test_write_file(lib, "x", 0644);
    assert_int_equal(cfbp_buildpack_locate_root(top, "shown", &fixture->out, &fixture->err), 0);
    assert_string_equal(fixture->out.buf, top);
    assert_null(fixture->err.message);
    free(lib);
    free(top);
}

static void locates_a_root_one_directory_down(void **state)
{
    struct fixture *fixture = *state;
    char *nested = make_bin(fixture, "unpacked/buildpack-1.0");
    char *unpacked = test_path(fixture->root, "unpacked");
    assert_int_equal(cfbp_buildpack_locate_root(unpacked, "bp.zip", &fixture->out, &fixture->err),
                     0);
    assert_string_equal(fixture->out.buf, nested);
    free(unpacked);
    free(nested);
}

static void refuses_a_tree_without_bin(void **state)
{
    struct fixture *fixture = *state;
    /* Two entries: the nested bin/ is not looked for. */
    char *nested = make_bin(fixture, "two/buildpack-1.0");
    char *two = test_path(fixture->root, "two");
    char *readme = test_path(two, "README");
    test_write_file(readme, "x", 0644);
    assert_malformed(fixture, two, "https://example.com/bp.zip");

    /* Two levels down is too deep. */
    char *deep = make_bin(fixture, "deep/a/b");
    char *deep_top = test_path(fixture->root, "deep");
    assert_malformed(fixture, deep_top, "deep.zip");

    /* One entry that is a file, an empty directory, a missing one, bin as a file. */
    char *file_only = test_path(fixture->root, "file-only/bin.txt");
    test_write_file(file_only, "x", 0644);
    char *file_only_top = test_path(fixture->root, "file-only");
    assert_malformed(fixture, file_only_top, "file-only");
    char *empty = test_path(fixture->root, "empty");
    assert_int_equal(mkdir(empty, 0755), 0);
    assert_malformed(fixture, empty, "empty");
    char *missing = test_path(fixture->root, "missing");
    assert_malformed(fixture, missing, "missing");
    char *bin_file = test_path(fixture->root, "bin-file/bin");
    test_write_file(bin_file, "not a directory", 0755);
    char *bin_file_top = test_path(fixture->root, "bin-file");
    assert_malformed(fixture, bin_file_top, "bin-file");

    free(bin_file);
    free(bin_file_top);
    free(missing);
    free(empty);
    free(file_only);
    free(file_only_top);
    free(deep);
    free(deep_top);
    free(readme);
    free(two);
    free(nested);
}

/* --- unpack_zip --- */

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    return st.st_mode & 07777;
}

static void unpacks_a_zip_keeping_modes(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_entry entries[] = {
        {"bin/", 'd', 0755, NULL, 0},
        {"bin/supply", 'f', 0755, "#!/bin/sh\necho supply\n", 0},
        {"bin/finalize", 'f', 0700, "#!/bin/sh\n", 0},
        {"manifest.yml", 'f', 0644, "language: x\n", 0},
        {"private/key", 'f', 0600, "k", 0},
        {"lib/link", 'l', 0, "../manifest.yml", 0},
    };
    /* Whatever the file is called, it is read as a zip. */
    char *zip = test_path(fixture->root, "buildpack.download");
    test_make_archive(zip, TEST_ZIP, entries, sizeof(entries) / sizeof(*entries));
    char *destination = test_path(fixture->root, "out/bp");
    char sha256[CFBP_DIGEST_HEX_SIZE] = "";
    assert_int_equal(cfbp_buildpack_unpack_zip(zip, destination, sha256, &fixture->err), 0);
    assert_string_equal(sha256, test_sha256_of_file(zip));

    static const struct {
        const char *name;
        mode_t mode;
    } expected[] = {{"bin/supply", 0755},
                    {"bin/finalize", 0700},
                    {"manifest.yml", 0644},
                    {"private/key", 0600}};
    for (size_t i = 0; i < sizeof(expected) / sizeof(*expected); i++) {
        char *path = test_path(destination, expected[i].name);
        if (mode_of(path) != expected[i].mode)
            fail_msg("%s has mode %04o, expected %04o", expected[i].name, mode_of(path),
                     expected[i].mode);
        free(path);
    }
    char *supply = test_path(destination, "bin/supply");
    char *text = test_read_file(supply);
    assert_string_equal(text, "#!/bin/sh\necho supply\n");
    free(text);
    char *link = test_path(destination, "lib/link");
    char target[64] = "";
    assert_int_equal(readlink(link, target, sizeof(target) - 1), 15);
    assert_string_equal(target, "../manifest.yml");
    free(link);
    free(supply);
    free(destination);
    free(zip);
}

static void refuses_unsafe_zip_members(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_entry escape[] = {
        {"bin/supply", 'f', 0755, "#!/bin/sh\n", 0},
        {"../escaped", 'f', 0644, "x", 0},
    };
    static const struct test_entry absolute_link[] = {
        {"bin/supply", 'f', 0755, "#!/bin/sh\n", 0},
        {"bin/passwd", 'l', 0, "/etc/passwd", 0},
    };
    static const struct test_entry leaving_link[] = {
        {"bin/supply", 'f', 0755, "#!/bin/sh\n", 0},
        {"up", 'l', 0, "../../outside", 0},
    };
    const struct {
        const char *name;
        const struct test_entry *entries;
    } cases[] = {
        {"escape.zip", escape}, {"absolute.zip", absolute_link}, {"leaving.zip", leaving_link}};
    char *work = test_path(fixture->root, "work");
    assert_int_equal(mkdir(work, 0755), 0);
    for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
        char *zip = test_path(fixture->root, cases[i].name);
        test_make_archive(zip, TEST_ZIP, cases[i].entries, 2);
        char *destination = test_path(work, "bp");
        char sha256[CFBP_DIGEST_HEX_SIZE];
        assert_int_equal(cfbp_buildpack_unpack_zip(zip, destination, sha256, &fixture->err), -1);
        assert_int_equal(fixture->err.kind, CFBP_ERROR_UNSAFE_ARCHIVE);
        struct cfbp_strbuf prefix = CFBP_STRBUF_INIT;
        cfbp_strbuf_append_format(&prefix, "cannot unpack the buildpack %s: ", zip);
        if (!cfbp_string_starts_with(fixture->err.message, prefix.buf))
            fail_msg("%s: \"%s\"", cases[i].name, fixture->err.message);
        /* Nothing was left: no destination, nothing beside it. */
        assert_false(test_exists(destination));
        assert_int_equal(test_count_entries(work), 0);
        char *escaped = test_path(fixture->root, "escaped");
        assert_false(test_exists(escaped));
        free(escaped);
        cfbp_strbuf_release(&prefix);
        cfbp_error_clear(&fixture->err);
        free(destination);
        free(zip);
    }
    free(work);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(titles_like_go_strings_title),
        TEST(root_from_argv0),
        TEST(root_from_a_relative_argv0),
        TEST(root_from_buildpack_dir),
        TEST(root_from_proc_self_exe),
        TEST(logs_the_banner_for_a_supported_stack),
        TEST(refuses_an_unsupported_stack),
        TEST(an_empty_stack_keeps_libbuildpacks_double_space),
        TEST(a_manifest_without_dependencies_supports_every_stack),
        TEST(a_packaged_manifest_supports_only_its_stack),
        TEST(locates_a_root_with_bin_at_the_top),
        TEST(locates_a_root_one_directory_down),
        TEST(refuses_a_tree_without_bin),
        TEST(unpacks_a_zip_keeping_modes),
        TEST(refuses_unsafe_zip_members),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
