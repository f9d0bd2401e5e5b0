/*
 * test_end_to_end.c - the whole path an app team takes, on this machine:
 * `cfbp package` makes the buildpack zips, `cfbp stage` stages the fixture
 * apps with them (and the local Ruby stand-in), `cfbp run` runs the droplet,
 * and the app answers / and /config through its sidecar.
 *
 * The uncached zip downloads config-server from a loopback server at staging;
 * the cached zip stages with every proxy pointed at a closed port and no
 * server at all, so any network use would fail.
 */
#include "support.h"

#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/path.h"
#include "cfbp/strbuf.h"
#include "cfbp/string_list.h"

#include "http_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ARTIFACT_NAME "config-server-" CONFIG_SERVER_VERSION "-linux-x64.tgz"
#define GREETING      "Hi, I'm an app with a sidecar!"
#define CONFIG_JSON   "{\"Scope\":\"some-service.admin\",\"Password\":\"not-a-real-p4$$w0rd\"}\n"
#define DEAD_PROXY    "http://127.0.0.1:9"
#define SIDECAR_LINE  "[APP/PROC/WEB/SIDECAR/CONFIG-SERVER/0] OUT listening 127.0.0.1:"

struct world {
    char *dir;
    char *cached_zip, *uncached_zip;
    char *ruby; /* the Ruby stand-in buildpack */
    struct test_http_server *server;
};

static struct world world;

/* --- helpers --- */

static char *cfbp(void)
{
    return test_path(test_program_dir(), "cfbp");
}

static char *fixture(const char *name)
{
    char *fixtures = test_path(CFBP_SOURCE_DIR, "fixtures");
    char *path = test_path(fixtures, name);
    free(fixtures);
    return path;
}

static void assert_contains(const char *text, const char *needle)
{
    if (!strstr(text, needle))
        fail_msg("expected '%s' in:\n%s", needle, text);
}

static unsigned short free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in address = {.sin_family = AF_INET};
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t length = sizeof(address);
    if (bind(fd, (struct sockaddr *)&address, sizeof(address)) < 0 ||
        getsockname(fd, (struct sockaddr *)&address, &length) < 0)
        fail_msg("no free port");
    close(fd);
    return ntohs(address.sin_port);
}

/* The zip `cfbp package` wrote into output (the only .zip there). */
static char *zip_in(const char *output)
{
    struct cfbp_string_list names = CFBP_STRING_LIST_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_fs_list_directory(output, &names, &err) < 0 || names.count != 1)
        fail_msg("expected one zip in %s", output);
    char *zip = test_path(output, names.items[0]);
    cfbp_string_list_clear(&names);
    return zip;
}

static void package(const char *source, const char *output, const char *flags[])
{
    char *program = cfbp();
    char output_flag[1024], cache_flag[1024];
    snprintf(output_flag, sizeof(output_flag), "--output=%s", output);
    snprintf(cache_flag, sizeof(cache_flag), "--cachedir=%s/package-cache", world.dir);
    char *argv[12] = {program, "package"};
    size_t argc = 2;
    for (; *flags && argc < 8; flags++)
        argv[argc++] = (char *)*flags;
    argv[argc++] = output_flag;
    argv[argc++] = cache_flag;
    argv[argc++] = (char *)source;
    argv[argc] = NULL;
    struct test_run run = test_run_program(argv, NULL, NULL);
    if (run.status != 0)
        fail_msg("cfbp package failed:\n%s%s", run.out, run.err);
    test_run_free(&run);
    free(program);
}

static bool skip_build_trees(const char *relative, void *data)
{
    (void)data;
    return strcmp(relative, ".git") == 0 || strncmp(relative, "build", 5) == 0;
}

/* A copy of this repository whose manifest downloads config-server from the loopback server. */
static char *source_with_loopback_uri(void)
{
    char *source = test_path(world.dir, "source");
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_fs_copy_tree(CFBP_SOURCE_DIR, source, skip_build_trees, NULL, &err) < 0)
        fail_msg("%s", err.message);
    char *manifest_path = test_path(source, "manifest.yml");
    char *text = test_read_file(manifest_path);
    char *uri = strstr(text, "  uri: ");
    char *end = strchr(uri, '\n');
    char *url = test_http_server_url(world.server, "/" ARTIFACT_NAME);
    struct cfbp_strbuf rewritten = CFBP_STRBUF_INIT;
    cfbp_strbuf_append(&rewritten, text, (size_t)(uri - text));
    cfbp_strbuf_append_format(&rewritten, "  uri: %s%s", url, end);
    test_write_file(manifest_path, rewritten.buf, 0644);
    cfbp_strbuf_release(&rewritten);
    free(url);
    free(text);
    free(manifest_path);
    return source;
}

static int setup_world(void **state)
{
    (void)state;
    world.dir = test_make_dir();
    world.ruby = fixture("buildpacks/ruby");
    static struct test_http_response artifact = {200,   NULL, CONFIG_SERVER_ARTIFACT, 0, 0,
                                                 false, NULL};
    struct test_http_route route = {"/" ARTIFACT_NAME, &artifact, 1};
    world.server = test_http_server_start(&route, 1);
    char *cached = test_path(world.dir, "cached"), *uncached = test_path(world.dir, "uncached");
    const char *cached_flags[] = {"--cached", "--stack=cflinuxfs4", "--quiet", NULL};
    const char *uncached_flags[] = {"--any-stack", "--quiet", NULL};
    package(CFBP_SOURCE_DIR, cached, cached_flags);
    char *source = source_with_loopback_uri();
    package(source, uncached, uncached_flags);
    world.cached_zip = zip_in(cached);
    world.uncached_zip = zip_in(uncached);
    free(source);
    free(cached);
    free(uncached);
    return 0;
}

static int teardown_world(void **state)
{
    (void)state;
    test_http_server_stop(world.server);
    free(world.cached_zip);
    free(world.uncached_zip);
    free(world.ruby);
    test_remove_dir(world.dir);
    return 0;
}

/* One staging and run: its own CFBP_HOME, cache and droplet. */
struct trial {
    char *dir, *home, *cache, *droplet, *result;
    char home_env[1024];
};

static int setup(void **state)
{
    struct trial *trial = calloc(1, sizeof(*trial));
    trial->dir = test_make_dir();
    trial->home = test_path(trial->dir, "cfbp-home");
    trial->cache = test_path(trial->dir, "cache");
    trial->droplet = test_path(trial->dir, "droplet.tgz");
    trial->result = test_path(trial->dir, "result.json");
    snprintf(trial->home_env, sizeof(trial->home_env), "CFBP_HOME=%s", trial->home);
    *state = trial;
    return 0;
}

static int teardown(void **state)
{
    struct trial *trial = *state;
    free(trial->home);
    free(trial->cache);
    free(trial->droplet);
    free(trial->result);
    test_remove_dir(trial->dir);
    free(trial);
    return 0;
}

/* cfbp stage APP -b B... with proxies closed when offline. */
static struct test_run stage(struct trial *trial, const char *app, const char *const *buildpacks,
                             bool offline)
{
    char *program = cfbp();
    char droplet_flag[1024], cache_flag[1024];
    snprintf(droplet_flag, sizeof(droplet_flag), "--droplet=%s", trial->droplet);
    snprintf(cache_flag, sizeof(cache_flag), "--cache=%s", trial->cache);
    char *argv[32] = {program, "stage", (char *)app, droplet_flag, cache_flag};
    size_t argc = 5;
    for (; buildpacks && *buildpacks && argc < 29; buildpacks++) {
        argv[argc++] = "-b";
        argv[argc++] = (char *)*buildpacks;
    }
    argv[argc] = NULL;
    char *online_env[] = {
        trial->home_env, "http_proxy=", "https_proxy=", "HTTP_PROXY=", "HTTPS_PROXY=", NULL};
    char *offline_env[] = {trial->home_env,
                           "http_proxy=" DEAD_PROXY,
                           "https_proxy=" DEAD_PROXY,
                           "HTTP_PROXY=" DEAD_PROXY,
                           "HTTPS_PROXY=" DEAD_PROXY,
                           "no_proxy=",
                           "NO_PROXY=",
                           NULL};
    struct test_run run = test_run_program(argv, NULL, offline ? offline_env : online_env);
    free(program);
    return run;
}

static void assert_staged(struct test_run *run)
{
    if (run->status != 0)
        fail_msg("cfbp stage failed (%d):\n%s%s", run->status, run->out, run->err);
}

static char *result_json(struct trial *trial)
{
    char *text = test_read_file(trial->result);
    assert_non_null(text);
    return text;
}

/*
 * Runs the droplet, checks / and /config and the sidecar's start line, stops
 * the instance and checks nothing still listens. sidecar_port NULL: the
 * buildpack's default (8082); otherwise it is passed with --env.
 */
static void run_and_check(struct trial *trial, const char *sidecar_port)
{
    unsigned short port = free_port();
    char port_flag[32], env_flag[64], url[64], log_path[1024];
    snprintf(port_flag, sizeof(port_flag), "--port=%u", port);
    snprintf(env_flag, sizeof(env_flag), "--env=CONFIG_SERVER_PORT=%s",
             sidecar_port ? sidecar_port : "");
    snprintf(log_path, sizeof(log_path), "%s/run.log", trial->dir);
    char *program = cfbp();
    char *argv[] = {program, "run", trial->droplet, port_flag, sidecar_port ? env_flag : NULL,
                    NULL};
    pid_t pid = test_start_program(argv, NULL, NULL, log_path);
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", port);
    bool up = test_wait_for_http(url, 30);
    char *greeting = NULL, *config = NULL;
    long greeting_status = up ? test_http_get(url, &greeting) : 0;
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/config", port);
    long config_status = up ? test_http_get(url, &config) : 0;
    int exit_status = test_stop_program(pid, SIGINT);
    char *log = test_read_file(log_path);
    if (!up)
        fail_msg("the app never answered on port %u; cfbp run said:\n%s", port, log);
    assert_int_equal(greeting_status, 200);
    assert_string_equal(greeting, GREETING);
    assert_int_equal(config_status, 200);
    assert_string_equal(config, CONFIG_JSON);
    assert_int_equal(exit_status, 0);
    char sidecar_line[128];
    snprintf(sidecar_line, sizeof(sidecar_line), SIDECAR_LINE "%s...\n",
             sidecar_port ? sidecar_port : "8082");
    assert_contains(log, sidecar_line);
    assert_contains(log, "[APP/PROC/WEB/SIDECAR/CONFIG-SERVER/0] OUT Received a request for "
                         "config.\n");
    assert_contains(log, "[cfbp] stopping the instance\n");
    /* Nothing is left listening: not the app, not the sidecar. */
    snprintf(url, sizeof(url), "http://127.0.0.1:%u/", port);
    assert_int_equal(test_http_get(url, NULL), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%s/config/", sidecar_port ? sidecar_port : "8082");
    assert_int_equal(test_http_get(url, NULL), 0);
    free(log);
    free(greeting);
    free(config);
    free(program);
}

/* run_and_check with the sidecar's port given through --env, on a port nothing uses. */
static void run_with_a_free_sidecar_port(struct trial *trial)
{
    char port[16];
    snprintf(port, sizeof(port), "%u", free_port());
    run_and_check(trial, port);
}

/* result.json's sidecar entry for the buildpack-declared sidecar at deps index idx. */
static void assert_sidecar_in_result(struct trial *trial, const char *idx)
{
    char *json = result_json(trial);
    char expected[256];
    snprintf(expected, sizeof(expected),
             "\"sidecars\":[{\"name\":\"config-server\",\"process_types\":[\"web\"],\"command\":"
             "\"$DEPS_DIR/%s/bin/config-server\",\"memory\":64}]",
             idx);
    assert_contains(json, expected);
    free(json);
}

/* --- the cases --- */

static void uncached_zip_with_the_buildpack_sidecar(void **state)
{
    struct trial *trial = *state;
    char *app = fixture("rubyapp-buildpack-sidecar");
    const char *buildpacks[] = {world.uncached_zip, world.ruby, NULL};
    struct test_run run = stage(trial, app, buildpacks, false);
    assert_staged(&run);
    assert_contains(run.out, "       Download [http://127.0.0.1:");
    assert_sidecar_in_result(trial, "0");
    run_and_check(trial, NULL); /* the port comes from the buildpack's profile.d default */
    test_run_free(&run);
    free(app);
}

static void uncached_zip_with_the_seed_manifest(void **state)
{
    struct trial *trial = *state;
    char *app = fixture("rubyapp");
    const char *buildpacks[] = {world.uncached_zip, world.ruby, NULL};
    struct test_run run = stage(trial, app, buildpacks, false);
    assert_staged(&run);
    assert_contains(run.out, "The app's manifest declares the config-server sidecar");
    char *json = result_json(trial);
    assert_null(strstr(json, "\"sidecars\"")); /* no clash with the app's own sidecar */
    free(json);
    run_with_a_free_sidecar_port(trial);
    test_run_free(&run);
    free(app);
}

static void cached_zip_offline_with_the_buildpack_sidecar(void **state)
{
    struct trial *trial = *state;
    char *app = fixture("rubyapp-buildpack-sidecar");
    const char *buildpacks[] = {world.cached_zip, world.ruby, NULL};
    struct test_run run = stage(trial, app, buildpacks, true);
    assert_staged(&run);
    assert_contains(run.out, "       Copy [");
    assert_null(strstr(run.out, "Download ["));
    assert_sidecar_in_result(trial, "0");
    run_with_a_free_sidecar_port(trial);
    test_run_free(&run);
    free(app);
}

static void cached_zip_offline_with_the_seed_manifest(void **state)
{
    struct trial *trial = *state;
    char *app = fixture("rubyapp");
    const char *buildpacks[] = {world.cached_zip, world.ruby, NULL};
    struct test_run run = stage(trial, app, buildpacks, true);
    assert_staged(&run);
    assert_null(strstr(run.out, "Download ["));
    run_with_a_free_sidecar_port(trial);
    test_run_free(&run);
    free(app);
}

static void our_buildpack_as_the_final_one(void **state)
{
    struct trial *trial = *state;
    /* The dependency-free Perl app: no Ruby, our buildpack alone (supply + finalize). */
    char *app = fixture("perlapp");
    const char *buildpacks[] = {world.cached_zip, NULL};
    struct test_run run = stage(trial, app, buildpacks, true);
    assert_staged(&run);
    assert_contains(run.out, "-----> Finalizing config-server-sidecar");
    char *json = result_json(trial);
    assert_contains(json, "\"detected_buildpack\":\"config-server-sidecar\"");
    free(json);
    run_with_a_free_sidecar_port(trial);
    test_run_free(&run);
    free(app);
}

/* A supply buildpack that leaves a marker naming its index. */
static char *marker_buildpack(struct trial *trial, int number, const char *supply_exit)
{
    char name[32];
    snprintf(name, sizeof(name), "marker-%d", number);
    char *root = test_path(trial->dir, name);
    char *supply = test_path(root, "bin/supply");
    char script[256];
    snprintf(script, sizeof(script),
             "#!/bin/sh\necho \"marker %d supplying at index $4\"\nprintf '%%s' \"$4\" > "
             "\"$3/$4/marker\"\nexit %s\n",
             number, supply_exit);
    test_write_file(supply, script, 0755);
    free(supply);
    return root;
}

/*
 * With 10 buildpacks ours gets DEPS_IDX 03, and Cloud Foundry's builder never
 * reads deps/03/launch.yml (§17): cfbp stage ignores it too and says so, and
 * so does the buildpack, which names the manifest fix and prepares
 * ./config-server for it. With the fix (the seed's manifest) the sidecar runs.
 */
static void ten_buildpacks_get_padded_indices(void **state)
{
    struct trial *trial = *state;
    char *app = fixture("rubyapp-buildpack-sidecar");
    const char *buildpacks[11];
    char *markers[8];
    size_t n = 0;
    for (int i = 0; i < 3; i++)
        buildpacks[n++] = markers[i] = marker_buildpack(trial, i, "0");
    buildpacks[n++] = world.cached_zip; /* index 03 */
    for (int i = 3; i < 8; i++)
        buildpacks[n++] = markers[i] = marker_buildpack(trial, i, "0");
    buildpacks[n++] = world.ruby; /* index 09, final */
    buildpacks[n] = NULL;
    struct test_run run = stage(trial, app, buildpacks, true);
    assert_staged(&run);
    assert_contains(run.out, "marker 0 supplying at index 00\n");
    assert_contains(run.out, "marker 7 supplying at index 08\n");
    assert_contains(run.out, "With 10 or more buildpacks Cloud Foundry's builder ignores "
                             "deps/03/launch.yml (it looks for deps/3/launch.yml), so the "
                             "config-server sidecar declared there will not run.");
    assert_contains(run.out, "    command: ./config-server\n");
    assert_contains(run.err, "WARNING: with 10 or more buildpacks, Cloud Foundry's builder looks "
                             "for launch.yml at deps/3/, not deps/03/, so it ignores the "
                             "deps/03/launch.yml that buildpack ");
    char *json = result_json(trial);
    assert_null(strstr(json, "\"sidecars\""));
    size_t keys = 0;
    for (const char *at = strstr(json, "{\"key\":"); at; at = strstr(at + 1, "{\"key\":"))
        keys++;
    assert_int_equal(keys, 10);
    free(json);
    test_run_free(&run);
    free(app);

    /* The fix the warning names: the app's manifest declares the sidecar. */
    app = fixture("rubyapp");
    run = stage(trial, app, buildpacks, true);
    assert_staged(&run);
    assert_null(strstr(run.out, "WARNING"));
    assert_null(strstr(run.err, "WARNING"));
    run_with_a_free_sidecar_port(trial);
    for (int i = 0; i < 8; i++)
        free(markers[i]);
    test_run_free(&run);
    free(app);
}

static void failing_supply_gives_225(void **state)
{
    struct trial *trial = *state;
    char *app = fixture("rubyapp");
    char *failing = marker_buildpack(trial, 1, "7");
    const char *buildpacks[] = {failing, world.cached_zip, world.ruby, NULL};
    struct test_run run = stage(trial, app, buildpacks, true);
    assert_int_equal(run.status, 225);
    assert_contains(run.err, "Failed to run all supply scripts: exit status 7\n");
    assert_false(test_exists(trial->droplet));
    assert_false(test_exists(trial->result)); /* the builder writes none when a supply fails */
    test_run_free(&run);
    free(failing);
    free(app);
}

static void supply_buildpack_without_supply_gives_225(void **state)
{
    struct trial *trial = *state;
    char *app = fixture("rubyapp");
    char *legacy = test_path(trial->dir, "legacy");
    char *compile = test_path(legacy, "bin/compile");
    test_write_file(compile, "#!/bin/sh\nexit 0\n", 0755);
    const char *buildpacks[] = {legacy, world.ruby, NULL};
    struct test_run run = stage(trial, app, buildpacks, true);
    assert_int_equal(run.status, 225);
    assert_contains(run.err, "Error: one of the buildpacks chosen to supply dependencies does "
                             "not support multi-buildpack apps");
    test_run_free(&run);
    free(compile);
    free(legacy);
    free(app);
}

static void restage_reuses_the_cache(void **state)
{
    struct trial *trial = *state;
    char *app = fixture("rubyapp-buildpack-sidecar");
    const char *buildpacks[] = {world.uncached_zip, world.ruby, NULL};
    unsigned before = test_http_server_hits(world.server, "/" ARTIFACT_NAME);
    struct test_run first = stage(trial, app, buildpacks, false);
    assert_staged(&first);
    assert_contains(first.out, "Download [");
    struct test_run second = stage(trial, app, buildpacks, false);
    assert_staged(&second);
    assert_null(strstr(second.out, "Download ["));
    char copy_line[1200];
    snprintf(copy_line, sizeof(copy_line), "       Copy [%s/", trial->cache);
    assert_contains(second.out, copy_line);
    assert_int_equal(test_http_server_hits(world.server, "/" ARTIFACT_NAME), before + 1);
    test_run_free(&first);
    test_run_free(&second);
    free(app);
}

static void registered_buildpacks_by_name(void **state)
{
    struct trial *trial = *state;
    char *program = cfbp();
    char *env[] = {trial->home_env, NULL};
    char *ours[] = {
        program, "create-buildpack", "config-server-sidecar_buildpack", world.cached_zip, "1",
        NULL};
    char *ruby[] = {program, "create-buildpack", "ruby_buildpack", world.ruby, NULL};
    struct test_run created = test_run_program(ours, NULL, env);
    assert_int_equal(created.status, 0);
    test_run_free(&created);
    created = test_run_program(ruby, NULL, env);
    assert_int_equal(created.status, 0);
    test_run_free(&created);
    char *list_argv[] = {program, "buildpacks", NULL};
    struct test_run list = test_run_program(list_argv, NULL, env);
    assert_contains(list.out, "1        config-server-sidecar_buildpack");
    assert_contains(list.out, "2        ruby_buildpack");
    test_run_free(&list);
    /* No -b: the app manifest names both buildpacks, as `cf push` reads it. */
    char *app = fixture("rubyapp");
    struct test_run run = stage(trial, app, NULL, true);
    assert_staged(&run);
    char *json = result_json(trial);
    assert_contains(json, "\"key\":\"config-server-sidecar_buildpack_");
    free(json);
    test_run_free(&run);
    free(app);
    free(program);
}

static void detection_without_a_match_gives_222(void **state)
{
    struct trial *trial = *state;
    char *program = cfbp();
    char *env[] = {trial->home_env, NULL};
    char *ours[] = {program, "create-buildpack", "config-server-sidecar_buildpack",
                    world.cached_zip, NULL};
    struct test_run created = test_run_program(ours, NULL, env);
    assert_int_equal(created.status, 0);
    test_run_free(&created);
    /* An app without a manifest naming buildpacks: detection runs, and ours declines. */
    char *app = test_path(trial->dir, "plain-app");
    char *index = test_path(app, "index.html");
    test_write_file(index, "hello\n", 0644);
    struct test_run run = stage(trial, app, NULL, true);
    assert_int_equal(run.status, 222);
    assert_contains(run.err, "None of the buildpacks detected a compatible application\n");
    assert_contains(run.err, "this is a supply buildpack");
    test_run_free(&run);
    free(index);
    free(app);
    free(program);
}

/* --- hostile buildpacks: bounded output, nothing left behind --- */

/* A fresh directory for TMPDIR, and "TMPDIR=<it>" for the environment. */
static char *fresh_tmpdir(struct trial *trial, char *variable, size_t size)
{
    char *tmp = test_path(trial->dir, "tmp");
    mkdir(tmp, 0755);
    snprintf(variable, size, "TMPDIR=%s", tmp);
    return tmp;
}

/* A final buildpack in <trial>/<name> whose finalize succeeds and whose release is given. */
static char *final_buildpack(struct trial *trial, const char *name, const char *release)
{
    char *root = test_path(trial->dir, name);
    char *finalize = test_path(root, "bin/finalize");
    char *release_path = test_path(root, "bin/release");
    test_write_file(finalize, "#!/bin/sh\nexit 0\n", 0755);
    test_write_file(release_path, release, 0755);
    free(finalize);
    free(release_path);
    return root;
}

static char *plain_app(struct trial *trial)
{
    char *app = test_path(trial->dir, "plain-app");
    char *index = test_path(app, "index.html");
    test_write_file(index, "hello\n", 0644);
    free(index);
    return app;
}

struct measured_run {
    int status;
    char *log;       /* stdout and stderr */
    long max_rss_kb; /* the peak RSS of cfbp and of the children it waited for */
};

/* cfbp stage APP -b BUILDPACK with env added, measured with wait4. */
static struct measured_run stage_measured(struct trial *trial, const char *app,
                                          const char *buildpack, char *const *env)
{
    char *program = cfbp();
    char *log_path = test_path(trial->dir, "stage.log");
    char droplet_flag[1024], cache_flag[1024];
    snprintf(droplet_flag, sizeof(droplet_flag), "--droplet=%s", trial->droplet);
    snprintf(cache_flag, sizeof(cache_flag), "--cache=%s", trial->cache);
    char *argv[] = {program,    "stage", (char *)app,       droplet_flag,
                    cache_flag, "-b",    (char *)buildpack, NULL};
    extern char **environ;
    struct cfbp_string_list environment = CFBP_STRING_LIST_INIT;
    for (char **entry = environ; *entry; entry++) {
        bool replaced = false;
        for (char *const *extra = env; *extra; extra++)
            replaced |= strncmp(*entry, *extra, strcspn(*extra, "=") + 1) == 0;
        if (!replaced)
            cfbp_string_list_append(&environment, *entry);
    }
    for (char *const *extra = env; *extra; extra++)
        cfbp_string_list_append(&environment, *extra);
    char **envp = calloc(environment.count + 1, sizeof(*envp));
    memcpy(envp, environment.items, environment.count * sizeof(*envp));
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, program, &actions, NULL, argv, envp), 0);
    posix_spawn_file_actions_destroy(&actions);
    int wait_status;
    struct rusage usage;
    assert_int_equal(wait4(pid, &wait_status, 0, &usage), pid);
    struct measured_run run = {
        .status = WIFEXITED(wait_status) ? WEXITSTATUS(wait_status) : 128 + WTERMSIG(wait_status),
        .log = test_read_file(log_path),
        .max_rss_kb = usage.ru_maxrss,
    };
    free(envp);
    cfbp_string_list_clear(&environment);
    free(log_path);
    free(program);
    return run;
}

/*
 * Issue "hostile inputs": release output was read whole, so 100 MB of it
 * took cfbp stage to a peak of 346 MB. It is cut at 1 MiB now: refused with
 * 224, the script killed, memory small.
 */
static void a_release_printing_100_mb_is_refused_in_little_memory(void **state)
{
    struct trial *trial = *state;
    char tmp_variable[1100];
    char *tmp = fresh_tmpdir(trial, tmp_variable, sizeof(tmp_variable));
    char *buildpack = final_buildpack(trial, "flood",
                                      "#!/bin/sh\nprintf 'default_process_types:\\n  web: '\n"
                                      "head -c 104857600 /dev/zero | tr '\\0' a\necho\n");
    char *app = plain_app(trial);
    char *env[] = {trial->home_env, tmp_variable, NULL};
    struct measured_run run = stage_measured(trial, app, buildpack, env);
    print_message("cfbp stage with 100 MB of release output: exit %d, peak RSS %ld KB\n",
                  run.status, run.max_rss_kb);
    assert_int_equal(run.status, 224);
    char expected[2048];
    snprintf(expected, sizeof(expected),
             "Failed to build droplet release: buildpack %s printed more than 1 MiB (1048576 "
             "bytes) on stdout from bin/release, the most that is read; the script was stopped\n",
             buildpack);
    assert_contains(run.log, expected);
    /* Sanitizers keep shadow memory and quarantine; the plain build stays far lower. */
    long limit_kb =
        getenv("ASAN_OPTIONS") || strstr(test_program_dir(), "asan") ? 192 * 1024 : 64 * 1024;
    assert_true(run.max_rss_kb < limit_kb);
    assert_int_equal(test_count_entries(tmp), 0);
    assert_false(test_exists(trial->droplet));
    free(run.log);
    free(app);
    free(buildpack);
    free(tmp);
}

/* Every way cfbp stage can fail leaves TMPDIR as it found it. */
static void failed_stagings_leave_tmpdir_empty(void **state)
{
    struct trial *trial = *state;
    char tmp_variable[1100];
    char *tmp = fresh_tmpdir(trial, tmp_variable, sizeof(tmp_variable));
    char *app = plain_app(trial);
    char *env[] = {trial->home_env, tmp_variable, NULL};
    char *good =
        final_buildpack(trial, "good", "#!/bin/sh\necho 'default_process_types: {web: ./run}'\n");
    char *failing = final_buildpack(trial, "failing", "#!/bin/sh\nexit 9\n");
    char *config =
        final_buildpack(trial, "config", "#!/bin/sh\necho 'default_process_types: {web: ./run}'\n");
    char *finalize = test_path(config, "bin/finalize");
    test_write_file(finalize,
                    "#!/bin/sh\nhead -c 3000000 /dev/zero | tr '\\0' '[' > \"$3/$4/config.yml\"\n",
                    0755);
    char *missing = test_path(trial->dir, "no-such-buildpack");
    char *no_app = test_path(trial->dir, "no-such-app");
    struct {
        const char *app, *buildpack;
        int status;
        const char *message;
    } cases[] = {
        {no_app, good, 1, "the app directory"},
        {app, missing, 1, "is not a registered buildpack, a directory or a zip"},
        {app, failing, 224, "Failed to build droplet release: exit status 9"},
        {app, config, 1, "wrote a config.yml of 3000000 bytes"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct measured_run run = stage_measured(trial, cases[i].app, cases[i].buildpack, env);
        if (run.status != cases[i].status || !strstr(run.log, cases[i].message))
            fail_msg("case %zu: exit %d, expected %d and '%s':\n%s", i, run.status, cases[i].status,
                     cases[i].message, run.log);
        assert_int_equal(test_count_entries(tmp), 0);
        free(run.log);
    }
    /* An oversized Procfile, and a droplet that cannot be written. */
    char *procfile = test_path(app, "Procfile");
    struct cfbp_strbuf big = CFBP_STRBUF_INIT;
    while (big.len <= (1 << 20))
        cfbp_strbuf_append_string(&big, "web: ./run\n");
    test_write_file(procfile, big.buf, 0644);
    struct measured_run run = stage_measured(trial, app, good, env);
    assert_int_equal(run.status, 1);
    assert_contains(run.log, "Failed to read command from Procfile: the Procfile is ");
    assert_int_equal(test_count_entries(tmp), 0);
    free(run.log);
    unlink(procfile);
    char *blocker = test_path(trial->dir, "blocker");
    test_write_file(blocker, "not a directory\n", 0644);
    free(trial->droplet);
    trial->droplet = test_path(blocker, "droplet.tgz");
    run = stage_measured(trial, app, good, env);
    assert_int_equal(run.status, 1);
    assert_contains(run.log, "/blocker: Not a directory"); /* result.json goes there first */
    assert_int_equal(test_count_entries(tmp), 0);
    free(run.log);
    cfbp_strbuf_release(&big);
    free(blocker);
    free(procfile);
    free(finalize);
    free(missing);
    free(no_app);
    free(good);
    free(failing);
    free(config);
    free(app);
    free(tmp);
}

/* Stops cfbp stage with signal_number while a supply script sleeps; checks what is left. */
static void assert_signal_stops_staging_cleanly(struct trial *trial, int signal_number)
{
    char tmp_variable[1100];
    char *tmp = fresh_tmpdir(trial, tmp_variable, sizeof(tmp_variable));
    char *app = plain_app(trial);
    char *good =
        final_buildpack(trial, "good", "#!/bin/sh\necho 'default_process_types: {web: ./run}'\n");
    char *slow = test_path(trial->dir, "slow");
    char *supply = test_path(slow, "bin/supply");
    char *pids = test_path(trial->dir, "slow.pids");
    unlink(pids);
    char script[2048];
    snprintf(script, sizeof(script),
             "#!/bin/sh\necho 'slow supply running'\nsleep 60 &\n"
             "echo \"$$ $!\" > '%s.part' && mv '%s.part' '%s'\nwait\n",
             pids, pids, pids);
    test_write_file(supply, script, 0755);
    char *program = cfbp(), *log = test_path(trial->dir, "signal.log");
    char droplet_flag[1024], cache_flag[1024];
    snprintf(droplet_flag, sizeof(droplet_flag), "--droplet=%s", trial->droplet);
    snprintf(cache_flag, sizeof(cache_flag), "--cache=%s", trial->cache);
    char *argv[] = {program, "stage", app, droplet_flag, cache_flag, "-b", slow, "-b", good, NULL};
    char *env[] = {trial->home_env, tmp_variable, NULL};
    pid_t stager = test_start_program(argv, NULL, env, log);
    char *text = NULL;
    for (int i = 0; i < 3000 && !(text = test_read_file(pids)); i++)
        usleep(10 * 1000);
    assert_non_null(text);
    int script_pid = 0, sleep_pid = 0;
    assert_int_equal(sscanf(text, "%d %d", &script_pid, &sleep_pid), 2);
    assert_true(test_count_entries(tmp) > 0); /* staging is under way in TMPDIR */
    time_t sent = time(NULL);
    int status = test_stop_program(stager, signal_number);
    assert_int_equal(status, 128 + signal_number);
    assert_true(time(NULL) - sent < 5);
    char *output = test_read_file(log);
    char expected[64];
    snprintf(expected, sizeof(expected), "cfbp stage: stopped by SIG%s\n",
             sigabbrev_np(signal_number));
    assert_contains(output, expected);
    assert_int_equal(test_count_entries(tmp), 0);
    assert_false(test_process_alive(script_pid));
    assert_false(test_process_alive(sleep_pid));
    assert_false(test_exists(trial->droplet));
    free(output);
    free(text);
    free(log);
    free(program);
    free(pids);
    free(supply);
    free(slow);
    free(good);
    free(app);
    free(tmp);
}

static void sigterm_or_sigint_during_a_slow_supply_leaves_nothing(void **state)
{
    struct trial *trial = *state;
    assert_signal_stops_staging_cleanly(trial, SIGTERM);
    assert_signal_stops_staging_cleanly(trial, SIGINT);
}

/*
 * `cfbp stage | head -c 100`: the reader goes away while a supply script
 * prints. The script dies of SIGPIPE, which is not the buildpack's failure:
 * cfbp stage ends as on a SIGPIPE of its own (141), writes nothing and
 * leaves nothing in TMPDIR.
 */
static void a_closed_output_pipe_stops_staging_as_sigpipe(void **state)
{
    struct trial *trial = *state;
    char tmp_variable[1100];
    char *tmp = fresh_tmpdir(trial, tmp_variable, sizeof(tmp_variable));
    char *app = plain_app(trial);
    char *chatty =
        final_buildpack(trial, "chatty", "#!/bin/sh\necho 'default_process_types: {web: ./run}'\n");
    char *supply = test_path(chatty, "bin/supply");
    test_write_file(supply, "#!/bin/sh\nyes spam\n", 0755);
    int output[2];
    assert_int_equal(pipe(output), 0);
    char *program = cfbp();
    char droplet_flag[1024];
    snprintf(droplet_flag, sizeof(droplet_flag), "--droplet=%s", trial->droplet);
    char *argv[] = {program, "stage", app, droplet_flag, "-b", chatty, NULL};
    char *env[] = {trial->home_env, tmp_variable, "PATH=/usr/bin:/bin", NULL};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, output[1], STDOUT_FILENO);
    posix_spawn_file_actions_addclose(&actions, output[0]);
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, program, &actions, NULL, argv, env), 0);
    posix_spawn_file_actions_destroy(&actions);
    close(output[1]);
    char block[100];
    ssize_t got = read(output[0], block, sizeof(block)); /* what `head -c 100` takes */
    assert_true(got > 0);
    close(output[0]);
    int wait_status;
    assert_int_equal(waitpid(pid, &wait_status, 0), pid);
    assert_true(WIFEXITED(wait_status));
    assert_int_equal(WEXITSTATUS(wait_status), 128 + SIGPIPE);
    assert_false(test_exists(trial->droplet));
    assert_false(test_exists(trial->result));
    assert_int_equal(test_count_entries(tmp), 0);
    free(program);
    free(supply);
    free(chatty);
    free(app);
    free(tmp);
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(uncached_zip_with_the_buildpack_sidecar),
        TEST(uncached_zip_with_the_seed_manifest),
        TEST(cached_zip_offline_with_the_buildpack_sidecar),
        TEST(cached_zip_offline_with_the_seed_manifest),
        TEST(our_buildpack_as_the_final_one),
        TEST(ten_buildpacks_get_padded_indices),
        TEST(failing_supply_gives_225),
        TEST(supply_buildpack_without_supply_gives_225),
        TEST(restage_reuses_the_cache),
        TEST(registered_buildpacks_by_name),
        TEST(detection_without_a_match_gives_222),
        TEST(a_release_printing_100_mb_is_refused_in_little_memory),
        TEST(failed_stagings_leave_tmpdir_empty),
        TEST(sigterm_or_sigint_during_a_slow_supply_leaves_nothing),
        TEST(a_closed_output_pipe_stops_staging_as_sigpipe),
    };
    return cmocka_run_group_tests(tests, setup_world, teardown_world);
}
