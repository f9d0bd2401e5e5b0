/*
 * test_cfbp_package.c - the built `cfbp package` and `cfbp summary` on this
 * repository, checked the way an operator would: list the zip with unzip,
 * package twice and compare bytes, unpack the zip and stage with its own
 * bin/supply while every network route is closed.
 */
#include "support.h"

#include "cfbp/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ZIP_NAME "config-server-sidecar_buildpack-cached-cflinuxfs4-v"
/* A port nothing listens on: every proxy points here, so any network use fails. */
#define DEAD_PROXY "http://127.0.0.1:9"

struct fixture {
    char *dir, *output, *cache;
};

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    fixture->dir = test_make_dir();
    fixture->output = test_path(fixture->dir, "out");
    fixture->cache = test_path(fixture->dir, "cache");
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    free(fixture->output);
    free(fixture->cache);
    test_remove_dir(fixture->dir);
    free(fixture);
    return 0;
}

static char *cfbp(void)
{
    return test_path(test_program_dir(), "cfbp");
}

static char *version(void)
{
    char *path = test_path(CFBP_SOURCE_DIR, "VERSION");
    char *text = test_read_file(path);
    free(path);
    text[strcspn(text, "\n")] = '\0';
    return text;
}

/* Runs cfbp package on the repository; returns the run (caller frees). */
static struct test_run package(struct fixture *fixture, const char *output, const char *flag1,
                               const char *flag2)
{
    char *program = cfbp();
    char output_flag[1024], cache_flag[1024];
    snprintf(output_flag, sizeof(output_flag), "--output=%s", output);
    snprintf(cache_flag, sizeof(cache_flag), "--cachedir=%s", fixture->cache);
    char *argv[8] = {program, "package", (char *)flag1};
    size_t argc = 3;
    if (flag2)
        argv[argc++] = (char *)flag2;
    argv[argc++] = output_flag;
    argv[argc++] = cache_flag;
    argv[argc++] = CFBP_SOURCE_DIR;
    argv[argc] = NULL;
    char *env[] = {"http_proxy=" DEAD_PROXY,
                   "https_proxy=" DEAD_PROXY,
                   "HTTP_PROXY=" DEAD_PROXY,
                   "HTTPS_PROXY=" DEAD_PROXY,
                   "no_proxy=",
                   "NO_PROXY=",
                   NULL};
    struct test_run run = test_run_program(argv, NULL, env);
    free(program);
    return run;
}

static char *zip_path(const char *directory, const char *prefix)
{
    char *v = version();
    char name[256];
    snprintf(name, sizeof(name), "%s%s.zip", prefix, v);
    free(v);
    return test_path(directory, name);
}

static void assert_contains(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("expected '%s' in:\n%s", needle, text);
}

static void cached_zip_is_complete_and_reproducible(void **state)
{
    struct fixture *fixture = *state;
    struct test_run run = package(fixture, fixture->output, "--cached", "--stack=cflinuxfs4");
    if (run.status != 0)
        fail_msg("cfbp package failed:\n%s%s", run.out, run.err);
    char *zip = zip_path(fixture->output, ZIP_NAME);
    assert_true(test_exists(zip));
    char expected_line[2048];
    snprintf(expected_line, sizeof(expected_line), "cached buildpack created and saved as %s", zip);
    assert_contains(run.out, expected_line);
    assert_contains(run.out, test_sha256_of_file(zip));
    test_run_free(&run);

    /* unzip -Z: modes, no directories, the dependency stored. */
    char *listing_argv[] = {"/usr/bin/unzip", "-Z", zip, NULL};
    struct test_run listing = test_run_program(listing_argv, NULL, NULL);
    assert_int_equal(listing.status, 0);
    static const char *programs[] = {"bin/supply", "bin/finalize", "bin/detect", "bin/release",
                                     "bin/compile"};
    for (size_t i = 0; i < 5; i++) {
        char line[256];
        snprintf(line, sizeof(line), "-rwxr-xr-x  2.0 unx");
        assert_contains(listing.out, programs[i]);
        const char *at = strstr(listing.out, programs[i]);
        const char *start = at;
        while (start > listing.out && start[-1] != '\n')
            start--;
        assert_memory_equal(start, line, strlen(line));
    }
    assert_null(strstr(listing.out, "/\n")); /* no directory entries */
    char stored[128];
    snprintf(stored, sizeof(stored), "stor 80-Jan-01 00:00 dependencies/");
    assert_contains(listing.out, stored);
    assert_contains(listing.out, "/config-server-" CONFIG_SERVER_VERSION "-linux-x64.tgz\n");
    test_run_free(&listing);

    /* The packaged manifest. */
    char *manifest_argv[] = {"/usr/bin/unzip", "-p", zip, "manifest.yml", NULL};
    struct test_run manifest = test_run_program(manifest_argv, NULL, NULL);
    assert_contains(manifest.out, "\nstack: cflinuxfs4\n");
    assert_contains(manifest.out, "- file: dependencies/");
    assert_null(strstr(manifest.out, "cf_stacks"));
    assert_null(strstr(manifest.out, "local_dependencies"));
    test_run_free(&manifest);

    /* A second run gives the same bytes. */
    char *again = test_path(fixture->dir, "again");
    struct test_run second = package(fixture, again, "-cached", "-stack=cflinuxfs4");
    assert_int_equal(second.status, 0);
    char *zip2 = zip_path(again, ZIP_NAME);
    char first_sha[65];
    strcpy(first_sha, test_sha256_of_file(zip));
    assert_string_equal(test_sha256_of_file(zip2), first_sha);
    test_run_free(&second);
    free(zip2);
    free(again);
    free(zip);
}

static void cached_zip_stages_without_a_network(void **state)
{
    struct fixture *fixture = *state;
    struct test_run run = package(fixture, fixture->output, "--cached", "--stack=cflinuxfs4");
    assert_int_equal(run.status, 0);
    test_run_free(&run);
    char *zip = zip_path(fixture->output, ZIP_NAME);
    char *root = test_path(fixture->dir, "buildpack");
    char *unzip_argv[] = {"/usr/bin/unzip", "-q", zip, "-d", root, NULL};
    struct test_run unzipped = test_run_program(unzip_argv, NULL, NULL);
    assert_int_equal(unzipped.status, 0);
    test_run_free(&unzipped);
    char *app = test_path(fixture->dir, "app");
    char *cache = test_path(fixture->dir, "staging-cache");
    char *deps = test_path(fixture->dir, "deps");
    char *dep = test_path(deps, "0");
    mkdir(app, 0755);
    mkdir(deps, 0755);
    mkdir(dep, 0755);
    char *supply = test_path(root, "bin/supply");
    char *argv[] = {supply, app, cache, deps, "0", NULL};
    char *env[] = {"CF_STACK=cflinuxfs4",
                   "http_proxy=" DEAD_PROXY,
                   "https_proxy=" DEAD_PROXY,
                   "HTTP_PROXY=" DEAD_PROXY,
                   "HTTPS_PROXY=" DEAD_PROXY,
                   "no_proxy=",
                   "NO_PROXY=",
                   "BUILDPACK_DIR=",
                   NULL};
    struct test_run staged = test_run_program(argv, NULL, env);
    if (staged.status != 0)
        fail_msg("supply from the zip failed:\n%s%s", staged.out, staged.err);
    assert_contains(staged.out, "       Copy [");
    assert_null(strstr(staged.out, "Download ["));
    char *binary = test_path(dep, "bin/config-server");
    assert_int_equal(access(binary, X_OK), 0);
    char *version_argv[] = {binary, "--version", NULL};
    struct test_run sidecar = test_run_program(version_argv, NULL, NULL);
    assert_string_equal(sidecar.out, "config-server " CONFIG_SERVER_VERSION "\n");
    test_run_free(&sidecar);
    test_run_free(&staged);
    free(binary);
    free(supply);
    free(dep);
    free(deps);
    free(cache);
    free(app);
    free(root);
    free(zip);
}

static void uncached_zip_has_no_dependencies(void **state)
{
    struct fixture *fixture = *state;
    struct test_run run = package(fixture, fixture->output, "--any-stack", NULL);
    if (run.status != 0)
        fail_msg("cfbp package failed:\n%s%s", run.out, run.err);
    assert_contains(run.out, "uncached buildpack created and saved as ");
    char *zip = zip_path(fixture->output, "config-server-sidecar_buildpack-v");
    char *listing_argv[] = {"/usr/bin/unzip", "-Z1", zip, NULL};
    struct test_run listing = test_run_program(listing_argv, NULL, NULL);
    /* include_files in manifest.yml's order, as the Go packager zips them */
    assert_string_equal(listing.out, "bin/supply\nbin/finalize\nbin/detect\nbin/release\n"
                                     "bin/compile\nmanifest.yml\nVERSION\nREADME.md\n");
    char *manifest_argv[] = {"/usr/bin/unzip", "-p", zip, "manifest.yml", NULL};
    struct test_run manifest = test_run_program(manifest_argv, NULL, NULL);
    assert_contains(manifest.out,
                    "- cf_stacks:\n  - cflinuxfs4\n  - cflinuxfs5\n  name: config-server\n");
    assert_null(strstr(manifest.out, "file:"));
    assert_null(strstr(manifest.out, "stack: "));
    test_run_free(&manifest);
    test_run_free(&listing);
    test_run_free(&run);
    free(zip);
}

/* cfbp package words the Go packager's stack rule in its own error format (a usage error, 2);
 * buildpack-packager mode keeps Go's lines (test_buildpack_packager.c). */
static void stack_flags_are_checked_as_the_go_packager_does(void **state)
{
    struct fixture *fixture = *state;
    struct test_run none = package(fixture, fixture->output, "--cached", NULL);
    assert_int_equal(none.status, 2);
    assert_non_null(strstr(none.err, "cfbp package: must either specify a stack or pass "
                                     "--any-stack\n"));
    struct test_run both = package(fixture, fixture->output, "--stack=cflinuxfs4", "--any-stack");
    assert_int_equal(both.status, 2);
    assert_non_null(
        strstr(both.err, "cfbp package: cannot specify a stack AND pass --any-stack\n"));
    assert_false(test_exists(fixture->output));
    test_run_free(&none);
    test_run_free(&both);
}

static void summary_lists_the_dependencies(void **state)
{
    (void)state;
    char *program = cfbp();
    char *argv[] = {program, "summary", CFBP_SOURCE_DIR, NULL};
    struct test_run run = test_run_program(argv, NULL, NULL);
    assert_int_equal(run.status, 0);
    assert_string_equal(run.out,
                        "\nPackaged binaries:\n\n"
                        "| name | version | cf_stacks |\n|-|-|-|\n"
                        "| config-server | " CONFIG_SERVER_VERSION " | cflinuxfs4, cflinuxfs5 |\n"
                        "\nDefault binary versions:\n\n"
                        "| name | version |\n|-|-|\n"
                        "| config-server | 1.0.x |\n\n");
    test_run_free(&run);
    free(program);
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(cached_zip_is_complete_and_reproducible),
        TEST(cached_zip_stages_without_a_network),
        TEST(uncached_zip_has_no_dependencies),
        TEST(stack_flags_are_checked_as_the_go_packager_does),
        TEST(summary_lists_the_dependencies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
