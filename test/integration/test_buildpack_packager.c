/*
 * test_buildpack_packager.c - cfbp as the Go buildpack-packager (contract
 * §9.1): a fake Cloud Foundry buildpack repository made here, with its own
 * scripts/package.sh in the shape every Cloud Foundry buildpack has (it runs
 * .bin/buildpack-packager build ... | xargs -n1 | grep '\.zip$' and moves
 * that file), .bin/buildpack-packager a link to the built cfbp, and its
 * dependencies served by the loopback HTTP server. Packaged uncached,
 * cached, and cached with a packaging profile; each zip is read back with
 * unzip (names, modes, sizes, packaged manifest). Then the Go program's
 * other words: help, commands, flags, summary, usage errors and exit codes.
 */
#include "support.h"

#include "cfbp/strbuf.h"

#include "http_server.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
    char *dir, *repo, *home, *out;
    char *core, *agent; /* the dependency archives */
    char core_sha[65], agent_sha[65];
    struct test_http_response core_script[1], agent_script[1];
    struct test_http_server *server;
};

/* The buildpack's own packaging script: written for this test, in the shape of theirs. */
static const char package_script[] =
    "#!/usr/bin/env bash\n"
    "set -euo pipefail\n"
    "root=\"$(cd \"$(dirname \"${BASH_SOURCE[0]}\")/..\" && pwd)\"\n"
    "version=\"\" cached=false stack=cflinuxfs4 output=\"${root}/build/buildpack.zip\"\n"
    "extra=()\n"
    "while [[ $# -gt 0 ]]; do\n"
    "  case \"$1\" in\n"
    "    --version) version=\"$2\"; shift 2 ;;\n"
    "    --cached) cached=true; shift ;;\n"
    "    --stack) stack=\"$2\"; shift 2 ;;\n"
    "    --output) output=\"$2\"; shift 2 ;;\n"
    "    --profile|--exclude|--include) extra+=(\"$1=$2\"); shift 2 ;;\n"
    "    *) echo \"unknown argument $1\" >&2; exit 1 ;;\n"
    "  esac\n"
    "done\n"
    "[[ -n \"${version}\" ]] || version=\"$(cat \"${root}/VERSION\")\"\n"
    "stack_flag=--any-stack\n"
    "[[ \"${stack}\" == any ]] || stack_flag=\"--stack=${stack}\"\n"
    "echo \"Building ${version} (cached: ${cached})\"\n"
    "mkdir -p \"$(dirname \"${output}\")\"\n"
    "cd \"${root}\"\n"
    "file=\"$(\"${root}/.bin/buildpack-packager\" build \"--version=${version}\" "
    "\"--cached=${cached}\" \"${stack_flag}\" ${extra[@]+\"${extra[@]}\"} "
    "| xargs -n1 | grep -e '\\.zip$')\"\n"
    "echo \"packaged: ${file}\"\n"
    "mv \"${file}\" \"${output}\"\n";

static const char manifest_template[] = "---\n"
                                        "language: fake\n"
                                        "default_versions:\n"
                                        "- name: core\n"
                                        "  version: 1.x\n"
                                        "dependency_deprecation_dates:\n"
                                        "include_files:\n"
                                        "- README.md\n"
                                        "- VERSION\n"
                                        "- bin/detect\n"
                                        "- bin/supply\n"
                                        "- manifest.yml\n"
                                        "pre_package: scripts/build.sh\n"
                                        "packaging_profiles:\n"
                                        "  minimal:\n"
                                        "    description: the core only, no agent\n"
                                        "    exclude:\n"
                                        "    - agent\n"
                                        "dependencies:\n"
                                        "- name: core\n"
                                        "  version: 1.0.0\n"
                                        "  uri: @BASE@/core-1.0.0.tgz\n"
                                        "  sha256: @CORE@\n"
                                        "  cf_stacks:\n"
                                        "  - cflinuxfs4\n"
                                        "- name: agent\n"
                                        "  version: 2.0.0\n"
                                        "  uri: @BASE@/agent-2.0.0.tgz\n"
                                        "  sha256: @AGENT@\n"
                                        "  cf_stacks:\n"
                                        "  - cflinuxfs4\n";

static char *replace(const char *text, const char *needle, const char *value)
{
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    const char *at;
    while ((at = strstr(text, needle))) {
        cfbp_strbuf_append(&out, text, (size_t)(at - text));
        cfbp_strbuf_append_string(&out, value);
        text = at + strlen(needle);
    }
    cfbp_strbuf_append_string(&out, text);
    return cfbp_strbuf_detach(&out, NULL);
}

static void write_repo_file(struct fixture *fixture, const char *name, const char *text,
                            mode_t mode)
{
    char *path = test_path(fixture->repo, name);
    test_write_file(path, text, mode);
    chmod(path, mode); /* whatever the umask */
    free(path);
}

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    fixture->dir = test_make_dir();
    fixture->repo = test_path(fixture->dir, "fake-buildpack");
    fixture->home = test_path(fixture->dir, "home");
    fixture->out = test_path(fixture->dir, "out");
    mkdir(fixture->home, 0755);
    fixture->core = test_path(fixture->dir, "core-1.0.0.tgz");
    fixture->agent = test_path(fixture->dir, "agent-2.0.0.tgz");
    const struct test_entry core[] = {{"bin/core", 'f', 0755, "#!/bin/sh\necho core\n", 0}};
    const struct test_entry agent[] = {{"agent.jar", 'r', 0644, NULL, 300000}};
    test_make_archive(fixture->core, TEST_TGZ, core, 1);
    test_make_archive(fixture->agent, TEST_TGZ, agent, 1);
    strcpy(fixture->core_sha, test_sha256_of_file(fixture->core));
    strcpy(fixture->agent_sha, test_sha256_of_file(fixture->agent));
    fixture->core_script[0] = (struct test_http_response){.body_file = fixture->core};
    fixture->agent_script[0] = (struct test_http_response){.body_file = fixture->agent};
    const struct test_http_route routes[] = {
        {"/deps/core-1.0.0.tgz", fixture->core_script, 1},
        {"/deps/agent-2.0.0.tgz", fixture->agent_script, 1},
    };
    fixture->server = test_http_server_start(routes, 2);

    char *base = test_http_server_url(fixture->server, "/deps");
    char *a = replace(manifest_template, "@BASE@", base);
    char *b = replace(a, "@CORE@", fixture->core_sha);
    char *manifest = replace(b, "@AGENT@", fixture->agent_sha);
    write_repo_file(fixture, "manifest.yml", manifest, 0644);
    free(manifest);
    free(b);
    free(a);
    free(base);
    write_repo_file(fixture, "VERSION", "0.0.1\n", 0644);
    write_repo_file(fixture, "README.md", "# fake buildpack\n", 0644);
    write_repo_file(fixture, "bin/detect", "#!/bin/sh\nexit 0\n", 0755);
    write_repo_file(fixture, "src/supply.sh", "#!/bin/sh\necho supplying\n", 0755);
    /* pre_package builds bin/supply, as the Go buildpacks' scripts/build.sh do */
    write_repo_file(fixture, "scripts/build.sh",
                    "#!/usr/bin/env bash\nset -e\necho building the supply program\n"
                    "mkdir -p bin\ncp src/supply.sh bin/supply\n",
                    0755);
    write_repo_file(fixture, "scripts/package.sh", package_script, 0755);
    write_repo_file(fixture, "tests/not-shipped", "x\n", 0644);
    /* .bin/buildpack-packager, where the real scripts install the Go binary */
    char *bin = test_path(fixture->repo, ".bin");
    mkdir(bin, 0755);
    char *link = test_path(bin, "buildpack-packager");
    char *cfbp = test_path(test_program_dir(), "cfbp");
    assert_int_equal(symlink(cfbp, link), 0);
    free(cfbp);
    free(link);
    free(bin);
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    test_http_server_stop(fixture->server);
    free(fixture->core);
    free(fixture->agent);
    free(fixture->out);
    free(fixture->home);
    free(fixture->repo);
    test_remove_dir(fixture->dir);
    free(fixture);
    return 0;
}

static char **environment(struct fixture *fixture)
{
    static char home[4096];
    snprintf(home, sizeof(home), "HOME=%s", fixture->home);
    static char *env[] = {
        home, "http_proxy=", "https_proxy=", "HTTP_PROXY=", "HTTPS_PROXY=", "SOURCE_DATE_EPOCH=",
        NULL};
    return env;
}

/* Runs scripts/package.sh with arguments (NULL-terminated) from the repository's parent. */
static struct test_run package_script_run(struct fixture *fixture, const char *const *arguments)
{
    char *script = test_path(fixture->repo, "scripts/package.sh");
    char *argv[16] = {"/bin/bash", script};
    size_t argc = 2;
    for (size_t i = 0; arguments[i]; i++)
        argv[argc++] = (char *)arguments[i];
    argv[argc] = NULL;
    struct test_run run = test_run_program(argv, fixture->dir, environment(fixture));
    free(script);
    return run;
}

static void assert_contains(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("expected '%s' in:\n%s", needle, text);
}

/* unzip -Z -l's lines, reduced to "mode size name" (zipinfo: permissions, size, name). */
static char *listing(const char *zip)
{
    char *argv[] = {"/usr/bin/unzip", "-Z", "-l", (char *)zip, NULL};
    struct test_run run = test_run_program(argv, NULL, NULL);
    assert_int_equal(run.status, 0);
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    char *saveptr = NULL;
    for (char *line = strtok_r(run.out, "\n", &saveptr); line;
         line = strtok_r(NULL, "\n", &saveptr)) {
        char mode[16], version[16], system[16], name[1024];
        unsigned long long size;
        if (line[0] != '-' || sscanf(line, "%15s %15s %15s %llu %*s %*s %*s %*s %*s %1023s", mode,
                                     version, system, &size, name) != 5)
            continue;
        cfbp_strbuf_append_format(&out, "%s %llu %s\n", mode, size, name);
    }
    test_run_free(&run);
    return cfbp_strbuf_detach(&out, NULL);
}

static char *packaged_manifest(const char *zip)
{
    char *argv[] = {"/usr/bin/unzip", "-p", (char *)zip, "manifest.yml", NULL};
    struct test_run run = test_run_program(argv, NULL, NULL);
    assert_int_equal(run.status, 0);
    char *text = strdup(run.out);
    test_run_free(&run);
    return text;
}

/* dependencies/<md5(uri)>/<file>, as the packager names it. */
static char *dependency_member(struct fixture *fixture, const char *file)
{
    char *base = test_http_server_url(fixture->server, "/deps/");
    char uri[1024];
    snprintf(uri, sizeof(uri), "%s%s", base, file);
    free(base);
    char *argv[] = {"/bin/sh", "-c", "printf %s \"$0\" | md5sum | cut -c1-32", uri, NULL};
    struct test_run run = test_run_program(argv, NULL, NULL);
    run.out[strcspn(run.out, "\n")] = '\0';
    struct cfbp_strbuf name = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&name, "dependencies/%s/%s", run.out, file);
    test_run_free(&run);
    return cfbp_strbuf_detach(&name, NULL);
}

static void the_package_script_makes_an_uncached_zip(void **state)
{
    struct fixture *fixture = *state;
    char *output = test_path(fixture->out, "uncached.zip");
    const char *arguments[] = {"--version", "1.2.3", "--output", output, NULL};
    struct test_run run = package_script_run(fixture, arguments);
    if (run.status != 0)
        fail_msg("package.sh failed:\n%s%s", run.out, run.err);
    /* The zip path came out of `xargs -n1 | grep '\.zip$'`: the one in the repository root. */
    char expected[4096];
    snprintf(expected, sizeof(expected), "packaged: %s/fake_buildpack-cflinuxfs4-v1.2.3.zip\n",
             fixture->repo);
    assert_contains(run.out, expected);
    assert_true(test_exists(output));
    char *list = listing(output);
    char *manifest = packaged_manifest(output);
    /* include_files in their order, each with its mode and size; VERSION without a newline */
    char want[1024];
    snprintf(want, sizeof(want),
             "-rw-r--r-- 17 README.md\n-rw-r--r-- 5 VERSION\n-rwxr-xr-x 17 bin/detect\n"
             "-rwxr-xr-x 25 bin/supply\n-rw-r--r-- %zu manifest.yml\n",
             strlen(manifest));
    assert_string_equal(list, want);
    assert_contains(manifest, "dependency_deprecation_dates: null\n");
    assert_contains(manifest, "\nstack: cflinuxfs4\n");
    assert_contains(manifest, "packaging_profiles:\n  minimal:\n    description: the core "
                              "only, no agent\n    exclude:\n    - agent\n");
    assert_null(strstr(manifest, "cf_stacks"));
    assert_null(strstr(manifest, "file:"));
    assert_null(strstr(manifest, "---"));
    free(manifest);
    free(list);
    test_run_free(&run);
    free(output);
}

static void the_package_script_makes_cached_zips_with_and_without_a_profile(void **state)
{
    struct fixture *fixture = *state;
    char *output = test_path(fixture->out, "cached.zip");
    const char *arguments[] = {"--version", "1.2.3", "--cached", "--output", output, NULL};
    struct test_run run = package_script_run(fixture, arguments);
    if (run.status != 0)
        fail_msg("package.sh failed:\n%s%s", run.out, run.err);
    char expected[4096];
    snprintf(expected, sizeof(expected),
             "packaged: %s/fake_buildpack-cached-cflinuxfs4-v1.2.3.zip\n", fixture->repo);
    assert_contains(run.out, expected);
    assert_int_equal(test_http_server_hits(fixture->server, "/deps/core-1.0.0.tgz"), 1);
    assert_int_equal(test_http_server_hits(fixture->server, "/deps/agent-2.0.0.tgz"), 1);
    char *core = dependency_member(fixture, "core-1.0.0.tgz");
    char *agent = dependency_member(fixture, "agent-2.0.0.tgz");
    struct stat core_stat, agent_stat;
    assert_int_equal(stat(fixture->core, &core_stat), 0);
    assert_int_equal(stat(fixture->agent, &agent_stat), 0);
    char *list = listing(output);
    char *manifest = packaged_manifest(output);
    struct cfbp_strbuf want = CFBP_STRBUF_INIT;
    mode_t mask = umask(022);
    umask(mask);
    const char *dependency_mode = (mask & 022) == 022 ? "-rw-r--r--" : "-rw-rw-r--";
    cfbp_strbuf_append_format(&want,
                              "-rw-r--r-- 17 README.md\n-rw-r--r-- 5 VERSION\n"
                              "-rwxr-xr-x 17 bin/detect\n-rwxr-xr-x 25 bin/supply\n"
                              "-rw-r--r-- %zu manifest.yml\n"
                              "%s %lld %s\n%s %lld %s\n",
                              strlen(manifest), dependency_mode, (long long)core_stat.st_size, core,
                              dependency_mode, (long long)agent_stat.st_size, agent);
    assert_string_equal(list, want.buf);
    char line[1024];
    snprintf(line, sizeof(line), "- file: %s\n  name: core\n", core);
    assert_contains(manifest, line);
    snprintf(line, sizeof(line), "- file: %s\n  name: agent\n", agent);
    assert_contains(manifest, line);
    free(manifest);
    free(list);
    test_run_free(&run);

    /* With the profile: the agent is neither downloaded nor listed, and the name says so. */
    char *minimal = test_path(fixture->out, "minimal.zip");
    const char *with_profile[] = {"--version", "1.2.3",    "--cached", "--profile",
                                  "minimal",   "--output", minimal,    NULL};
    run = package_script_run(fixture, with_profile);
    if (run.status != 0)
        fail_msg("package.sh --profile failed:\n%s%s", run.out, run.err);
    snprintf(expected, sizeof(expected),
             "packaged: %s/fake_buildpack-cached-minimal-cflinuxfs4-v1.2.3.zip\n", fixture->repo);
    assert_contains(run.out, expected);
    list = listing(minimal);
    manifest = packaged_manifest(minimal);
    cfbp_strbuf_reset(&want);
    cfbp_strbuf_append_format(&want,
                              "-rw-r--r-- 17 README.md\n-rw-r--r-- 5 VERSION\n"
                              "-rwxr-xr-x 17 bin/detect\n-rwxr-xr-x 25 bin/supply\n"
                              "-rw-r--r-- %zu manifest.yml\n%s %lld %s\n",
                              strlen(manifest), dependency_mode, (long long)core_stat.st_size,
                              core);
    assert_string_equal(list, want.buf);
    assert_null(strstr(manifest, "name: agent\n  sha256"));
    assert_contains(manifest, "  name: core\n");
    free(manifest);
    free(list);
    test_run_free(&run);

    /* --profile with --include: +custom; an include that takes nothing back is an error. */
    const char *custom[] = {"--version", "1.2.3", "--cached", "--profile", "minimal",
                            "--include", "agent", "--output", minimal,     NULL};
    run = package_script_run(fixture, custom);
    if (run.status != 0)
        fail_msg("package.sh --include failed:\n%s%s", run.out, run.err);
    snprintf(expected, sizeof(expected),
             "packaged: %s/fake_buildpack-cached-minimal+custom-cflinuxfs4-v1.2.3.zip\n",
             fixture->repo);
    assert_contains(run.out, expected);
    test_run_free(&run);
    const char *no_effect[] = {"--version", "1.2.3", "--cached", "--profile", "minimal",
                               "--include", "core",  "--output", minimal,     NULL};
    run = package_script_run(fixture, no_effect);
    assert_int_not_equal(run.status, 0);
    assert_contains(run.err, " error while creating zipfile: --include \"core\" has no effect: "
                             "dependency is not excluded by the profile or --exclude\n");
    test_run_free(&run);
    /* The downloads were cached: nothing was fetched twice. */
    assert_int_equal(test_http_server_hits(fixture->server, "/deps/core-1.0.0.tgz"), 1);
    cfbp_strbuf_release(&want);
    free(minimal);
    free(core);
    free(agent);
    free(output);
}

/* Runs .bin/buildpack-packager in the repository. */
static struct test_run packager(struct fixture *fixture, const char *const *arguments)
{
    char *program = test_path(fixture->repo, ".bin/buildpack-packager");
    char *argv[16] = {program};
    size_t argc = 1;
    for (size_t i = 0; arguments[i]; i++)
        argv[argc++] = (char *)arguments[i];
    argv[argc] = NULL;
    struct test_run run = test_run_program(argv, fixture->repo, environment(fixture));
    free(program);
    return run;
}

/* "YYYY/MM/DD HH:MM:SS " then message: Go's log line. */
static void assert_log_line(const char *text, const char *message)
{
    size_t length = strlen(text);
    if (length < 20 || text[4] != '/' || text[7] != '/' || text[10] != ' ' || text[13] != ':' ||
        text[16] != ':' || text[19] != ' ' || strcmp(text + 20, message) != 0)
        fail_msg("expected a Go log line '<time> %s', got '%s'", message, text);
}

static void speaks_as_the_go_program_does(void **state)
{
    struct fixture *fixture = *state;
    static const char explain[] =
        "Usage: buildpack-packager <flags> <subcommand> <subcommand args>\n\n"
        "Subcommands:\n"
        "\tcommands         list all command names\n"
        "\tflags            describe all known top-level flags\n"
        "\thelp             describe subcommands and their syntax\n\n"
        "Subcommands for Custom:\n"
        "\tbuild            Create a buildpack zipfile from the current directory\n"
        "\tsummary          Print out list of dependencies of this buildpack\n\n";
    const char *none[] = {NULL};
    struct test_run run = packager(fixture, none);
    assert_int_equal(run.status, 2);
    assert_string_equal(run.out, "");
    assert_string_equal(run.err, explain);
    test_run_free(&run);

    const char *help[] = {"help", NULL};
    run = packager(fixture, help);
    assert_int_equal(run.status, 0);
    assert_string_equal(run.out, explain);
    test_run_free(&run);

    const char *unknown[] = {"bogus", NULL};
    run = packager(fixture, unknown);
    assert_int_equal(run.status, 2);
    assert_string_equal(run.err, explain);
    test_run_free(&run);

    const char *commands[] = {"commands", NULL};
    run = packager(fixture, commands);
    assert_int_equal(run.status, 0);
    assert_string_equal(run.out, "help\nflags\ncommands\nsummary\nbuild\n");
    test_run_free(&run);

    const char *top_flag[] = {"-x", "build", NULL};
    run = packager(fixture, top_flag);
    assert_int_equal(run.status, 2);
    assert_true(strncmp(run.err, "flag provided but not defined: -x\nUsage: ", 41) == 0);
    test_run_free(&run);

    const char *bad_flag[] = {"build", "--any-stack", "--bogus", NULL};
    run = packager(fixture, bad_flag);
    assert_int_equal(run.status, 2);
    assert_true(
        strncmp(run.err, "flag provided but not defined: -bogus\nbuild -stack <stack>", 58) == 0);
    assert_contains(run.err, "  -cachedir string\n    \tcache dir (default \"");
    assert_string_equal(run.out, "");
    test_run_free(&run);

    const char *no_stack[] = {"build", "-cached", NULL};
    run = packager(fixture, no_stack);
    assert_int_equal(run.status, 1);
    assert_log_line(run.err, "error: must either specify a stack or pass -any-stack\n");
    test_run_free(&run);

    const char *both[] = {"build", "-stack", "cflinuxfs4", "-any-stack", NULL};
    run = packager(fixture, both);
    assert_int_equal(run.status, 1);
    assert_log_line(run.err, "error: cannot specify a stack AND pass -any-stack\n");
    test_run_free(&run);

    const char *uncached_profile[] = {"build", "--any-stack", "--profile=minimal", NULL};
    run = packager(fixture, uncached_profile);
    assert_int_equal(run.status, 1);
    assert_log_line(run.err, "error while creating zipfile: --profile/--exclude/--include are "
                             "only valid for cached buildpacks\n");
    test_run_free(&run);

    const char *summary[] = {"summary", NULL};
    run = packager(fixture, summary);
    assert_int_equal(run.status, 0);
    assert_string_equal(run.out, "\nPackaged binaries:\n\n"
                                 "| name | version | cf_stacks |\n|-|-|-|\n"
                                 "| agent | 2.0.0 | cflinuxfs4 |\n"
                                 "| core | 1.0.0 | cflinuxfs4 |\n"
                                 "\nDefault binary versions:\n\n"
                                 "| name | version |\n|-|-|\n"
                                 "| core | 1.x |\n"
                                 "\nPackaging profiles:\n\n"
                                 "  minimal      the core only, no agent\n\n");
    test_run_free(&run);

    /* A failing pre_package: its output on stdout (as Go prints it), exec's error logged. */
    write_repo_file(fixture, "scripts/build.sh",
                    "#!/bin/sh\necho compiling\necho no compiler here >&2\nexit 3\n", 0755);
    const char *build[] = {"build", "--any-stack", NULL};
    run = packager(fixture, build);
    assert_int_equal(run.status, 1);
    assert_string_equal(run.out, "compiling\nno compiler here\n\n");
    assert_log_line(run.err, "error while creating zipfile: exit status 3\n");
    test_run_free(&run);
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(the_package_script_makes_an_uncached_zip),
        TEST(the_package_script_makes_cached_zips_with_and_without_a_profile),
        TEST(speaks_as_the_go_program_does),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
