/*
 * test_stacks_and_mirror.c - cflinuxfs5 and the staging-time dependency
 * mirror, through the real programs.
 *
 * cflinuxfs5: `cfbp package --cached --stack cflinuxfs5` on a fixture
 * buildpack whose bin/ holds programs compiled here (glibc 2.36, newer than
 * cflinuxfs4's and older than cflinuxfs5's), so the audit passes them for one
 * stack and refuses them for the other; and this repository's manifest lists
 * the config-server for both stacks.
 *
 * The mirror: the real supply with BP_DEPENDENCY_MIRROR pointing at a
 * loopback server while the manifest's uri names a host that cannot resolve
 * (.invalid, RFC 2606): the dependency comes from the mirror, or, when the
 * mirror serves other bytes, fails its sha256 and leaves nothing installed.
 */
#include "support.h"

#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/strbuf.h"

#include "http_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ARCHIVE_NAME    "config-server-1.0.0-linux-x64.tgz"
#define UNREACHABLE_URI "https://deps.cfbp.invalid/releases/v1.0.0/" ARCHIVE_NAME
#define MIRROR_PATH     "/mirror/deps.cfbp.invalid/releases/v1.0.0/" ARCHIVE_NAME
/* A port nothing listens on: every proxy points here, so any other network use fails. */
#define DEAD_PROXY "http://127.0.0.1:9"

struct fixture {
    char *dir, *root, *build, *cache, *deps, *dep, *archive;
    char sha256[65];
    struct test_http_server *server;
};

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    fixture->dir = test_make_dir();
    fixture->root = test_path(fixture->dir, "buildpack");
    fixture->build = test_path(fixture->dir, "app");
    fixture->cache = test_path(fixture->dir, "cache");
    fixture->deps = test_path(fixture->dir, "deps");
    fixture->dep = test_path(fixture->deps, "0");
    fixture->archive = test_path(fixture->dir, ARCHIVE_NAME);
    mkdir(fixture->root, 0755);
    mkdir(fixture->build, 0755);
    mkdir(fixture->deps, 0755);
    mkdir(fixture->dep, 0755);
    static const struct test_entry entries[] = {
        {"bin/", 'd', 0755, NULL, 0},
        {"bin/config-server", 'f', 0755, "#!/bin/sh\necho mirrored config-server\n", 0},
    };
    test_make_archive(fixture->archive, TEST_TGZ, entries, 2);
    strcpy(fixture->sha256, test_sha256_of_file(fixture->archive));
    char *version = test_path(fixture->root, "VERSION");
    test_write_file(version, "1.2.3", 0644);
    free(version);
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    if (fixture->server)
        test_http_server_stop(fixture->server);
    free(fixture->root);
    free(fixture->build);
    free(fixture->cache);
    free(fixture->deps);
    free(fixture->dep);
    free(fixture->archive);
    test_remove_dir(fixture->dir);
    free(fixture);
    return 0;
}

static void assert_contains(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("expected '%s' in:\n%s", needle, text);
}

static char *cfbp(void)
{
    return test_path(test_program_dir(), "cfbp");
}

/* --- cflinuxfs5 --- */

/* Compiles source into <root>/<name> with /usr/bin/cc and extra (NULL-terminated) arguments. */
static void compile_program(struct fixture *fixture, const char *name, const char *source,
                            const char *const *extra)
{
    char *path = test_path(fixture->root, name);
    char *bin = test_path(fixture->root, "bin");
    mkdir(bin, 0755);
    char *source_path = test_path(fixture->dir, "program.c");
    test_write_file(source_path, source, 0644);
    char *argv[12] = {"/usr/bin/cc", "-o", path, source_path};
    size_t argc = 4;
    for (size_t i = 0; extra && extra[i]; i++)
        argv[argc++] = (char *)extra[i];
    argv[argc] = NULL;
    struct test_run run = test_run_program(argv, NULL, NULL);
    if (run.status != 0)
        fail_msg("cannot compile %s: %s", name, run.err);
    test_run_free(&run);
    free(source_path);
    free(bin);
    free(path);
}

/* A fixture buildpack: a dependency for both stacks, read from a file:// URI. */
static void write_fixture_buildpack(struct fixture *fixture)
{
    /* arc4random is GLIBC_2.36: on cflinuxfs5 (2.39), not on cflinuxfs4 (2.35). */
    compile_program(fixture, "bin/supply",
                    "#include <stdlib.h>\n"
                    "int main(void) { return (int)(arc4random() & 1); }\n",
                    NULL);
    compile_program(fixture, "bin/finalize",
                    "#include <stdio.h>\nint main(void) { puts(\"finalize\"); return 0; }\n", NULL);
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&text,
                              "language: fixture\n"
                              "default_versions:\n"
                              "- name: config-server\n"
                              "  version: 1.0.x\n"
                              "include_files:\n"
                              "- bin/supply\n"
                              "- bin/finalize\n"
                              "- manifest.yml\n"
                              "- VERSION\n"
                              "dependencies:\n"
                              "- name: config-server\n"
                              "  version: 1.0.0\n"
                              "  uri: file://%s\n"
                              "  sha256: %s\n"
                              "  cf_stacks:\n"
                              "  - cflinuxfs4\n"
                              "  - cflinuxfs5\n",
                              fixture->archive, fixture->sha256);
    char *manifest = test_path(fixture->root, "manifest.yml");
    test_write_file(manifest, text.buf, 0644);
    free(manifest);
    cfbp_strbuf_release(&text);
}

static struct test_run package(struct fixture *fixture, const char *stack_flag)
{
    char *program = cfbp();
    char *output = test_path(fixture->dir, "out");
    char output_flag[1024], cache_flag[1024];
    snprintf(output_flag, sizeof(output_flag), "--output=%s", output);
    snprintf(cache_flag, sizeof(cache_flag), "--cachedir=%s/package-cache", fixture->dir);
    char *argv[] = {program,     "package",  "--cached",    (char *)stack_flag,
                    output_flag, cache_flag, fixture->root, NULL};
    char *env[] = {"http_proxy=" DEAD_PROXY, "https_proxy=" DEAD_PROXY, "HTTP_PROXY=" DEAD_PROXY,
                   "HTTPS_PROXY=" DEAD_PROXY, NULL};
    struct test_run run = test_run_program(argv, NULL, env);
    free(output);
    free(program);
    return run;
}

static void packages_and_audits_for_cflinuxfs5(void **state)
{
    struct fixture *fixture = *state;
    write_fixture_buildpack(fixture);
    struct test_run run = package(fixture, "--stack=cflinuxfs5");
    if (run.status != 0)
        fail_msg("cfbp package --stack cflinuxfs5 failed (%d):\n%s%s", run.status, run.out,
                 run.err);
    char *output = test_path(fixture->dir, "out");
    char *zip = test_path(output, "fixture_buildpack-cached-cflinuxfs5-v1.2.3.zip");
    if (!test_exists(zip))
        fail_msg("no %s:\n%s%s", zip, run.out, run.err);
    assert_contains(run.out, "cached buildpack created and saved as ");
    char *manifest_argv[] = {"/usr/bin/unzip", "-p", zip, "manifest.yml", NULL};
    struct test_run manifest = test_run_program(manifest_argv, NULL, NULL);
    assert_int_equal(manifest.status, 0);
    assert_contains(manifest.out, "\nstack: cflinuxfs5\n");
    /* As the Go packager writes it for --stack (contract §5.2): cf_stacks go. */
    assert_null(strstr(manifest.out, "cf_stacks"));
    assert_null(strstr(manifest.out, "cflinuxfs4"));
    char *listing_argv[] = {"/usr/bin/unzip", "-Z1", zip, NULL};
    struct test_run listing = test_run_program(listing_argv, NULL, NULL);
    assert_contains(listing.out, "bin/supply\n");
    assert_contains(listing.out, "dependencies/");
    test_run_free(&listing);
    test_run_free(&manifest);
    test_run_free(&run);

    /* The same programs are too new for cflinuxfs4: refused, and no zip. */
    struct test_run old = package(fixture, "--stack=cflinuxfs4");
    assert_int_not_equal(old.status, 0);
    char *all = NULL;
    if (asprintf(&all, "%s%s", old.out, old.err) < 0)
        fail();
    assert_contains(all, "bin/supply needs GLIBC_2.36 from libc.so.6, but cflinuxfs4 has glibc "
                         "2.35");
    char *old_zip = test_path(output, "fixture_buildpack-cached-cflinuxfs4-v1.2.3.zip");
    assert_false(test_exists(old_zip));
    free(all);
    free(old_zip);
    test_run_free(&old);
    free(zip);
    free(output);
}

static void refuses_a_program_needing_a_library_cflinuxfs5_lacks(void **state)
{
    struct fixture *fixture = *state;
    write_fixture_buildpack(fixture);
    static const char *const lcmocka[] = {"-lcmocka", NULL};
    compile_program(fixture, "bin/finalize",
                    "#include <stdarg.h>\n#include <stddef.h>\n#include <setjmp.h>\n"
                    "#include <stdint.h>\n#include <cmocka.h>\n"
                    "int main(void) { cmocka_set_message_output(CM_OUTPUT_STDOUT); return 0; }\n",
                    lcmocka);
    struct test_run run = package(fixture, "--stack=cflinuxfs5");
    assert_int_not_equal(run.status, 0);
    char *all = NULL;
    if (asprintf(&all, "%s%s", run.out, run.err) < 0)
        fail();
    assert_contains(all, "bin/finalize needs libcmocka.so.0, which cflinuxfs5 does not have; "
                         "link it statically or drop the dependency");
    char *output = test_path(fixture->dir, "out");
    char *zip = test_path(output, "fixture_buildpack-cached-cflinuxfs5-v1.2.3.zip");
    assert_false(test_exists(zip));
    free(zip);
    free(output);
    free(all);
    test_run_free(&run);
}

/* This repository's buildpack offers the config-server on both stacks. */
static void our_manifest_lists_both_stacks(void **state)
{
    (void)state;
    char *program = cfbp();
    char *argv[] = {program, "summary", CFBP_SOURCE_DIR, NULL};
    struct test_run run = test_run_program(argv, NULL, NULL);
    assert_int_equal(run.status, 0);
    assert_contains(run.out,
                    "| config-server | " CONFIG_SERVER_VERSION " | cflinuxfs4, cflinuxfs5 |\n");
    test_run_free(&run);
    free(program);
}

/* --- the mirror --- */

/* Our buildpack's supply in a buildpack root whose manifest downloads from uri. */
static void write_supply_buildpack(struct fixture *fixture, const char *uri)
{
    char *bin = test_path(fixture->root, "bin");
    char *supply = test_path(bin, "supply");
    char *built = test_path(test_program_dir(), "supply");
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_fs_mkdir_p(bin, 0755, &err) < 0 || cfbp_fs_copy_file(built, supply, 0755, &err) < 0)
        fail_msg("%s", err.message);
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&text,
                              "language: config-server-sidecar\n"
                              "default_versions:\n"
                              "- name: config-server\n"
                              "  version: 1.0.x\n"
                              "dependencies:\n"
                              "- name: config-server\n"
                              "  version: 1.0.0\n"
                              "  uri: %s\n"
                              "  sha256: %s\n"
                              "  cf_stacks:\n"
                              "  - cflinuxfs4\n"
                              "  - cflinuxfs5\n",
                              uri, fixture->sha256);
    char *manifest = test_path(fixture->root, "manifest.yml");
    test_write_file(manifest, text.buf, 0644);
    free(manifest);
    cfbp_strbuf_release(&text);
    free(built);
    free(supply);
    free(bin);
}

static void serve(struct fixture *fixture, const struct test_http_response *response)
{
    struct test_http_route route = {MIRROR_PATH, response, 1};
    fixture->server = test_http_server_start(&route, 1);
}

static struct test_run run_supply(struct fixture *fixture, const char *general,
                                  const char *host_specific)
{
    char *supply = test_path(fixture->root, "bin/supply");
    char *argv[] = {supply, fixture->build, fixture->cache, fixture->deps, "0", NULL};
    char general_setting[1024], host_setting[1024];
    snprintf(general_setting, sizeof(general_setting), "BP_DEPENDENCY_MIRROR=%s",
             general ? general : "");
    snprintf(host_setting, sizeof(host_setting), "BP_DEPENDENCY_MIRROR_DEPS_CFBP_INVALID=%s",
             host_specific ? host_specific : "");
    char *env[] = {"CF_STACK=cflinuxfs5",
                   "CONFIG_SERVER_SIDECAR=",
                   "BUILDPACK_DIR=",
                   "BP_DEBUG=",
                   "CFBP_DOWNLOAD_TIMEOUT=20",
                   "http_proxy=",
                   "https_proxy=",
                   "HTTP_PROXY=",
                   "HTTPS_PROXY=",
                   "no_proxy=",
                   "NO_PROXY=",
                   general_setting,
                   host_setting,
                   NULL};
    struct test_run run = test_run_program(argv, NULL, env);
    free(supply);
    return run;
}

static char *mirror_url(struct fixture *fixture, const char *credentials, const char *path)
{
    char *url = NULL;
    if (asprintf(&url, "http://%s127.0.0.1:%u%s", credentials ? credentials : "",
                 test_http_server_port(fixture->server), path) < 0)
        fail();
    return url;
}

static void supply_downloads_from_the_mirror(void **state)
{
    struct fixture *fixture = *state;
    struct test_http_response ok = {200, NULL, fixture->archive, 0, 0, false, NULL};
    serve(fixture, &ok);
    write_supply_buildpack(fixture, UNREACHABLE_URI);
    char *mirror = mirror_url(fixture, "operator:s3cret@", "/mirror/{originalHost}");
    struct test_run run = run_supply(fixture, mirror, NULL);
    if (run.status != 0)
        fail_msg("supply failed (%d):\n%s%s", run.status, run.out, run.err);
    assert_contains(run.out, "       Download [" UNREACHABLE_URI "]\n");
    char *shown = mirror_url(fixture, "-redacted-:-redacted-@", MIRROR_PATH);
    char line[1024];
    snprintf(line, sizeof(line), "       Using the mirror from BP_DEPENDENCY_MIRROR: %s\n", shown);
    assert_contains(run.out, line);
    /* One line, and the credentials nowhere. */
    assert_null(strstr(strstr(run.out, "Using the mirror") + 1, "Using the mirror"));
    assert_null(strstr(run.out, "s3cret"));
    assert_null(strstr(run.err, "s3cret"));
    assert_int_equal(test_http_server_hits(fixture->server, MIRROR_PATH), 1);
    char *installed = test_path(fixture->dep, "bin/config-server");
    assert_int_equal(access(installed, X_OK), 0);
    /* The app cache keeps it under the manifest's URI: a restage without the mirror uses it. */
    struct cfbp_error err = CFBP_ERROR_INIT;
    assert_int_equal(cfbp_fs_remove_tree(fixture->dep, &err), 0);
    mkdir(fixture->dep, 0755);
    struct test_run again = run_supply(fixture, NULL, NULL);
    if (again.status != 0)
        fail_msg("restage failed (%d):\n%s%s", again.status, again.out, again.err);
    assert_null(strstr(again.out, "Download ["));
    assert_int_equal(test_http_server_hits(fixture->server, MIRROR_PATH), 1);
    assert_int_equal(access(installed, X_OK), 0);
    test_run_free(&again);
    free(installed);
    free(shown);
    test_run_free(&run);
    free(mirror);
}

static void the_host_specific_mirror_wins(void **state)
{
    struct fixture *fixture = *state;
    struct test_http_response ok = {200, NULL, fixture->archive, 0, 0, false, NULL};
    serve(fixture, &ok);
    write_supply_buildpack(fixture, UNREACHABLE_URI);
    /* The general mirror is a dead port: using it would fail. */
    char *host_mirror = mirror_url(fixture, NULL, "/mirror/deps.cfbp.invalid");
    struct test_run run = run_supply(fixture, "http://127.0.0.1:9/{originalHost}", host_mirror);
    if (run.status != 0)
        fail_msg("supply failed (%d):\n%s%s", run.status, run.out, run.err);
    assert_contains(run.out, "Using the mirror from BP_DEPENDENCY_MIRROR_DEPS_CFBP_INVALID: ");
    assert_int_equal(test_http_server_hits(fixture->server, MIRROR_PATH), 1);
    test_run_free(&run);
    free(host_mirror);
}

static void a_mirror_serving_other_bytes_fails_the_checksum(void **state)
{
    struct fixture *fixture = *state;
    struct test_http_response wrong = {200, "not the config-server\n", NULL, 0, 0, false, NULL};
    serve(fixture, &wrong);
    write_supply_buildpack(fixture, UNREACHABLE_URI);
    char *mirror = mirror_url(fixture, NULL, "/mirror/{originalHost}");
    struct test_run run = run_supply(fixture, mirror, NULL);
    assert_int_not_equal(run.status, 0);
    char *all = NULL;
    if (asprintf(&all, "%s%s", run.out, run.err) < 0)
        fail();
    char expected[512];
    snprintf(expected, sizeof(expected), "sha256 mismatch: expected sha256 %s, actual sha256 ",
             fixture->sha256);
    assert_contains(all, expected);
    char *shown = mirror_url(fixture, NULL, MIRROR_PATH);
    char source[1024];
    snprintf(source, sizeof(source), "(downloaded from %s, the mirror BP_DEPENDENCY_MIRROR names)",
             shown);
    assert_contains(all, source);
    /* Nothing installed, nothing cached. */
    assert_int_equal(test_count_entries(fixture->dep), 0);
    char *dependencies = test_path(fixture->cache, "dependencies");
    assert_true(!test_exists(dependencies) || test_count_entries(dependencies) == 0);
    free(dependencies);
    free(shown);
    free(all);
    test_run_free(&run);
    free(mirror);
}

static void a_bad_mirror_fails_staging_naming_the_variable(void **state)
{
    struct fixture *fixture = *state;
    write_supply_buildpack(fixture, UNREACHABLE_URI);
    struct test_run run = run_supply(fixture, "ftp://operator:s3cret@mirror.example.org/", NULL);
    /* A staging error, as any other: in the log, exit 1 (not a usage error's 2). */
    assert_int_equal(run.status, 1);
    char *all = NULL;
    if (asprintf(&all, "%s%s", run.out, run.err) < 0)
        fail();
    assert_contains(
        run.out,
        "**ERROR**\033[0m config-server 1.0.0: BP_DEPENDENCY_MIRROR=ftp://-redacted-:-redacted-@"
        "mirror.example.org/ is not a usable dependency mirror: its scheme "
        "is ftp");
    assert_null(strstr(all, "s3cret"));
    assert_int_equal(test_count_entries(fixture->dep), 0);
    free(all);
    test_run_free(&run);
}

/* A cached buildpack reads its own copy: the mirror is not asked. */
static void a_cached_dependency_ignores_the_mirror(void **state)
{
    struct fixture *fixture = *state;
    struct test_http_response ok = {200, NULL, fixture->archive, 0, 0, false, NULL};
    serve(fixture, &ok);
    write_supply_buildpack(fixture, UNREACHABLE_URI);
    char *manifest = test_path(fixture->root, "manifest.yml");
    char *text = test_read_file(manifest);
    char *with_file = NULL;
    if (asprintf(&with_file, "%s  file: %s\n", text, fixture->archive) < 0)
        fail();
    test_write_file(manifest, with_file, 0644);
    char *mirror = mirror_url(fixture, NULL, "/mirror/{originalHost}");
    struct test_run run = run_supply(fixture, mirror, NULL);
    if (run.status != 0)
        fail_msg("supply failed (%d):\n%s%s", run.status, run.out, run.err);
    assert_contains(run.out, "       Copy [");
    assert_null(strstr(run.out, "Using the mirror"));
    assert_int_equal(test_http_server_hits(fixture->server, MIRROR_PATH), 0);
    test_run_free(&run);
    free(mirror);
    free(with_file);
    free(text);
    free(manifest);
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(packages_and_audits_for_cflinuxfs5),
        TEST(refuses_a_program_needing_a_library_cflinuxfs5_lacks),
        TEST(our_manifest_lists_both_stacks),
        TEST(supply_downloads_from_the_mirror),
        TEST(the_host_specific_mirror_wins),
        TEST(a_mirror_serving_other_bytes_fails_the_checksum),
        TEST(a_bad_mirror_fails_staging_naming_the_variable),
        TEST(a_cached_dependency_ignores_the_mirror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
