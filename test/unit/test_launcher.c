/*
 * test_launcher.c - running one instance of a droplet (contract §4.6,
 * sidecar-series §1.3 and §6): droplets laid out by hand in temporary
 * directories (and one packed as a .tgz), whose processes are small shell
 * commands. Processes record their pids so the test can prove that nothing
 * is left running once the instance has stopped.
 */
#include "support.h"

#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/launcher.h"
#include "cfbp/process.h"
#include "cfbp/strbuf.h"
#include "cfbp/tarball.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct fixture {
    char *dir;
    char *droplet; /* <dir>/droplet: the unpacked droplet */
    char *pids;    /* <dir>/pids: where processes write their pids */
    char *tmp;     /* TMPDIR while the instance runs: must end up empty */
    char *saved_tmpdir;
    char *output_text;
    size_t output_length;
    FILE *output;
    struct cfbp_environment app_environment;
    struct cfbp_launcher_options options;
    int exit_status;
    double seconds;
    struct cfbp_error err;
};

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    fixture->dir = test_make_dir();
    fixture->droplet = test_path(fixture->dir, "droplet");
    fixture->pids = test_path(fixture->dir, "pids");
    fixture->tmp = test_path(fixture->dir, "tmp");
    mkdir(fixture->pids, 0755);
    mkdir(fixture->tmp, 0755);
    static const char *const directories[] = {"app", "deps", "profile.d", "tmp", "logs", NULL};
    for (const char *const *name = directories; *name; name++) {
        char *path = test_path(fixture->droplet, *name);
        if (cfbp_fs_mkdir_p(path, 0755, &fixture->err) < 0)
            fail_msg("%s", fixture->err.message);
        free(path);
    }
    const char *saved = getenv("TMPDIR");
    fixture->saved_tmpdir = saved ? strdup(saved) : NULL;
    setenv("TMPDIR", fixture->tmp, 1);
    fixture->output = open_memstream(&fixture->output_text, &fixture->output_length);
    fixture->options = (struct cfbp_launcher_options){
        .droplet = fixture->droplet,
        .port = 8080,
        .app_environment = &fixture->app_environment,
        .stop_fd = -1,
        .output = fixture->output,
    };
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    if (fixture->saved_tmpdir)
        setenv("TMPDIR", fixture->saved_tmpdir, 1);
    else
        unsetenv("TMPDIR");
    free(fixture->saved_tmpdir);
    fclose(fixture->output);
    free(fixture->output_text);
    cfbp_environment_release(&fixture->app_environment);
    cfbp_error_clear(&fixture->err);
    free(fixture->droplet);
    free(fixture->pids);
    free(fixture->tmp);
    test_remove_dir(fixture->dir);
    free(fixture);
    return 0;
}

/* --- droplets --- */

static void droplet_file(struct fixture *fixture, const char *name, const char *text, mode_t mode)
{
    char *path = test_path(fixture->droplet, name);
    test_write_file(path, text, mode);
    free(path);
}

/* staging_info.yml with start_command (JSON-escaped here) and optional extra members. */
static void staging_info(struct fixture *fixture, const char *start_command, const char *extra)
{
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&text, "{\"detected_buildpack\":\"test\",\"start_command\":\"");
    for (const char *c = start_command; *c; c++) {
        if (*c == '"' || *c == '\\')
            cfbp_strbuf_append_char(&text, '\\');
        cfbp_strbuf_append_char(&text, *c);
    }
    cfbp_strbuf_append_format(&text, "\"%s}\n", extra ? extra : "");
    droplet_file(fixture, "staging_info.yml", text.buf, 0644);
    cfbp_strbuf_release(&text);
}

/* A shell snippet that writes this shell's pid, and then a sleeper's, and waits. */
static char *sleeper(struct fixture *fixture, const char *name)
{
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&text,
                              "echo $$ > '%s/%s.pid'; sleep 30 & echo $! > '%s/%s-child.pid'; "
                              "wait",
                              fixture->pids, name, fixture->pids, name);
    return cfbp_strbuf_detach(&text, NULL);
}

/* --- running --- */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int launch(struct fixture *fixture)
{
    cfbp_error_clear(&fixture->err);
    fixture->exit_status = -12345;
    double start = now();
    int result = cfbp_launcher_run(&fixture->options, &fixture->exit_status, &fixture->err);
    fixture->seconds = now() - start;
    /* Whatever happened, the instance's home is gone. */
    assert_int_equal(test_count_entries(fixture->tmp), 0);
    return result;
}

static void must_launch(struct fixture *fixture)
{
    if (launch(fixture) != 0)
        fail_msg("the instance did not run: %s", fixture->err.message);
    assert_null(fixture->err.message);
}

static const char *output(struct fixture *fixture)
{
    fflush(fixture->output);
    return fixture->output_text ? fixture->output_text : "";
}

/* The output lines that start with prefix, in order, without it. */
static char *lines(struct fixture *fixture, const char *prefix)
{
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    size_t length = strlen(prefix);
    for (const char *line = output(fixture); *line;) {
        const char *end = strchr(line, '\n');
        size_t line_length = end ? (size_t)(end - line) : strlen(line);
        if (line_length >= length && strncmp(line, prefix, length) == 0) {
            cfbp_strbuf_append(&out, line + length, line_length - length);
            cfbp_strbuf_append_char(&out, '\n');
        }
        line += line_length + (end ? 1 : 0);
    }
    return cfbp_strbuf_detach(&out, NULL);
}

static void assert_lines(struct fixture *fixture, const char *prefix, const char *expected)
{
    char *text = lines(fixture, prefix);
    bool same = strcmp(text, expected) == 0;
    if (!same)
        fprintf(stderr, "lines starting \"%s\":\n%s\nexpected:\n%s\nwhole output:\n%s\n", prefix,
                text, expected, output(fixture));
    free(text);
    if (!same)
        fail();
}

static pid_t read_pid(struct fixture *fixture, const char *name)
{
    struct cfbp_strbuf file = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&file, "%s/%s.pid", fixture->pids, name);
    char *text = test_read_file(file.buf);
    if (!text)
        fail_msg("%s was never written", file.buf);
    pid_t pid = (pid_t)atoi(text);
    assert_true(pid > 1);
    free(text);
    cfbp_strbuf_release(&file);
    return pid;
}

/* The recorded process is gone: at once for the launcher's own children, soon for theirs. */
static void assert_gone(struct fixture *fixture, const char *name)
{
    pid_t pid = read_pid(fixture, name);
    for (int i = 0; i < 300 && test_process_alive(pid); i++)
        usleep(10 * 1000);
    if (test_process_alive(pid))
        fail_msg("%s (pid %d) is still running", name, (int)pid);
}

/* --- output --- */

static void prefixes_every_line_as_cf_logs_does(void **state)
{
    struct fixture *fixture = *state;
    const char *command = "echo hello; echo oops >&2; echo; printf 'no newline'; exit 7";
    staging_info(fixture, command, NULL);
    must_launch(fixture);
    assert_int_equal(fixture->exit_status, 7);
    assert_lines(fixture, "[APP/PROC/WEB/0] OUT ",
                 "Invoking pre-start scripts.\n"
                 "Invoking start command.\n"
                 "hello\n"
                 "\n"
                 "no newline\n");
    assert_lines(fixture, "[APP/PROC/WEB/0] ERR ", "oops\n");
    assert_lines(fixture, "[cfbp] ",
                 "started APP/PROC/WEB/0: echo hello; echo oops >&2; echo; printf 'no newline'; "
                 "exit 7\n"
                 "APP/PROC/WEB/0 exited with status 7; stopping the instance\n");
    /* Nothing else was written: every line is one of the above. */
    const char *text = output(fixture);
    assert_int_equal(text[0], '[');
    for (const char *c = text; *c; c++)
        if (*c == '\n' && c[1])
            assert_int_equal(c[1], '[');
    assert_true(cfbp_string_ends_with(text, "\n"));
}

static void a_killed_process_reports_128_plus_the_signal(void **state)
{
    struct fixture *fixture = *state;
    staging_info(fixture, "kill -KILL $$", NULL);
    must_launch(fixture);
    assert_int_equal(fixture->exit_status, 128 + SIGKILL);
}

/* --- sidecars --- */

static const char launch_yml[] = "processes:\n"
                                 "- type: config-server\n"
                                 "  command: %s\n"
                                 "  platforms:\n"
                                 "    cloudfoundry:\n"
                                 "      sidecar_for: [web]\n"
                                 "- type: worker-helper\n"
                                 "  command: echo never-started\n"
                                 "  platforms:\n"
                                 "    cloudfoundry:\n"
                                 "      sidecar_for: [worker]\n"
                                 "- type: worker\n"
                                 "  command: echo never-started\n";

static void sidecars_run_beside_web_and_stop_with_it(void **state)
{
    struct fixture *fixture = *state;
    /* The web process waits for both sidecars, then exits 3. */
    char *side = sleeper(fixture, "config-server");
    struct cfbp_strbuf sidecar = CFBP_STRBUF_INIT, yml = CFBP_STRBUF_INIT, web = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&sidecar, "\"echo side; echo side-err >&2; touch ../tmp/one; %s\"",
                              side);
    cfbp_strbuf_append_format(&yml, launch_yml, sidecar.buf);
    droplet_file(fixture, "deps/0/launch.yml", yml.buf, 0644);
    char *mine = sleeper(fixture, "mine");
    struct cfbp_strbuf manifest = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&manifest,
                              "applications:\n"
                              "- name: app\n"
                              "  sidecars:\n"
                              "  - name: my_side\n"
                              "    process_types: [web]\n"
                              "    command: \"echo mine; touch ../tmp/two; %s\"\n"
                              "  - name: for-worker\n"
                              "    process_types: [worker]\n"
                              "    command: echo never-started\n",
                              mine);
    droplet_file(fixture, "app/manifest.yml", manifest.buf, 0644);
    char *web_sleeper = sleeper(fixture, "web");
    /* Web exits only once every sleeper has recorded both its pids, or a loaded machine
     * could stop the instance before a pid file was written. */
    cfbp_strbuf_append_format(&web,
                              "(%s) & while [ ! -f ../tmp/one ] || [ ! -f ../tmp/two ] || "
                              "[ ! -s '%s/config-server-child.pid' ] || "
                              "[ ! -s '%s/mine-child.pid' ] || [ ! -s '%s/web-child.pid' ]; "
                              "do sleep 0.05; done; echo web; exit 3",
                              web_sleeper, fixture->pids, fixture->pids, fixture->pids);
    staging_info(fixture, web.buf, NULL);
    must_launch(fixture);
    assert_int_equal(fixture->exit_status, 3);
    assert_lines(fixture, "[APP/PROC/WEB/SIDECAR/CONFIG-SERVER/0] OUT ",
                 "Invoking pre-start scripts.\nInvoking start command.\nside\n");
    assert_lines(fixture, "[APP/PROC/WEB/SIDECAR/CONFIG-SERVER/0] ERR ", "side-err\n");
    assert_lines(fixture, "[APP/PROC/WEB/SIDECAR/MY_SIDE/0] OUT ",
                 "Invoking pre-start scripts.\nInvoking start command.\nmine\n");
    assert_lines(fixture, "[APP/PROC/WEB/0] OUT ",
                 "Invoking pre-start scripts.\nInvoking start command.\nweb\n");
    assert_null(strstr(output(fixture), "never-started\n"));
    struct cfbp_strbuf started = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&started,
                              "started APP/PROC/WEB/0: %s\n"
                              "started APP/PROC/WEB/SIDECAR/CONFIG-SERVER/0: echo side; echo "
                              "side-err >&2; touch ../tmp/one; %s\n"
                              "started APP/PROC/WEB/SIDECAR/MY_SIDE/0: echo mine; touch "
                              "../tmp/two; %s\n"
                              "APP/PROC/WEB/0 exited with status 3; stopping the instance\n",
                              web.buf, side, mine);
    assert_lines(fixture, "[cfbp] ", started.buf);
    /* Everything is gone, the sleepers the processes started included. */
    static const char *const names[] = {
        "config-server", "config-server-child", "mine", "mine-child", "web", "web-child"};
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
        assert_gone(fixture, names[i]);
    /* SIGTERM did it, not the 10 s grace period's SIGKILL. */
    assert_true(fixture->seconds < 8);
    cfbp_strbuf_release(&started);
    cfbp_strbuf_release(&manifest);
    cfbp_strbuf_release(&sidecar);
    cfbp_strbuf_release(&yml);
    cfbp_strbuf_release(&web);
    free(web_sleeper);
    free(mine);
    free(side);
}

static void a_sidecar_ending_stops_web(void **state)
{
    struct fixture *fixture = *state;
    char *web = sleeper(fixture, "web");
    staging_info(fixture, web, NULL);
    struct cfbp_strbuf yml = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&yml,
                              "processes:\n- type: quitter\n  command: \"while [ ! -s "
                              "'%s/web-child.pid' ]; do sleep 0.05; done; echo bye; exit 9\"\n"
                              "  platforms: {cloudfoundry: {sidecar_for: [web]}}\n",
                              fixture->pids);
    droplet_file(fixture, "deps/1/launch.yml", yml.buf, 0644);
    must_launch(fixture);
    assert_int_equal(fixture->exit_status, 9);
    assert_lines(fixture, "[cfbp] APP/PROC/WEB/SIDECAR/QUITTER/0 exited",
                 " with status 9; stopping the instance\n");
    assert_lines(fixture, "[APP/PROC/WEB/SIDECAR/QUITTER/0] OUT ",
                 "Invoking pre-start scripts.\nInvoking start command.\nbye\n");
    assert_gone(fixture, "web");
    assert_gone(fixture, "web-child");
    cfbp_strbuf_release(&yml);
    free(web);
}

static void a_later_launch_yml_replaces_an_earlier_sidecar(void **state)
{
    struct fixture *fixture = *state;
    staging_info(fixture, "while [ ! -f ../tmp/done ]; do sleep 0.05; done; exit 0", NULL);
    droplet_file(fixture, "deps/0/launch.yml",
                 "processes:\n- type: side\n  command: echo first\n"
                 "  platforms: {cloudfoundry: {sidecar_for: [web]}}\n",
                 0644);
    droplet_file(fixture, "deps/1/launch.yml",
                 "processes:\n- type: side\n  command: echo second; touch ../tmp/done\n"
                 "  platforms: {cloudfoundry: {sidecar_for: [worker, web]}}\n",
                 0644);
    must_launch(fixture);
    assert_lines(fixture, "[cfbp] started APP/PROC/WEB/SIDECAR/SIDE/0: ",
                 "echo second; touch ../tmp/done\n");
}

static void a_manifest_sidecar_named_like_a_buildpack_sidecar_is_refused(void **state)
{
    struct fixture *fixture = *state;
    staging_info(fixture, "echo should-not-run", NULL);
    droplet_file(fixture, "deps/0/launch.yml",
                 "processes:\n- type: config-server\n  command: echo should-not-run\n"
                 "  platforms: {cloudfoundry: {sidecar_for: [web]}}\n",
                 0644);
    droplet_file(fixture, "app/manifest.yml",
                 "applications:\n- name: app\n  sidecars:\n  - name: config-server\n"
                 "    process_types: [web]\n    command: echo should-not-run\n",
                 0644);
    assert_int_equal(launch(fixture), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_INVALID);
    assert_string_equal(fixture->err.message,
                        "Buildpack defined sidecar 'config-server' conflicts with an existing "
                        "user-defined sidecar. Consider renaming 'config-server'.");
    assert_string_equal(output(fixture), "");
}

/* --- the start sequence (§4.6) --- */

static void profile_scripts_are_sourced_in_the_launchers_order(void **state)
{
    struct fixture *fixture = *state;
    droplet_file(fixture, "profile.d/b.sh", "echo ../profile.d/b.sh; export B=b\n", 0755);
    droplet_file(fixture, "profile.d/a.sh", "echo ../profile.d/a.sh; export A=a\n", 0644);
    droplet_file(fixture, "app/.profile.d/c.sh", "echo .profile.d/c.sh; export A=\"$A-c\"\n", 0755);
    droplet_file(fixture, "app/.profile", "echo .profile; export A=\"$A-profile\"\n", 0644);
    staging_info(fixture, "echo \"A=$A B=$B i=${i-unset} pwd=${PWD##*/}\"; exit 0", NULL);
    must_launch(fixture);
    assert_int_equal(fixture->exit_status, 0);
    assert_lines(fixture, "[APP/PROC/WEB/0] OUT ",
                 "Invoking pre-start scripts.\n"
                 "../profile.d/a.sh\n"
                 "../profile.d/b.sh\n"
                 ".profile.d/c.sh\n"
                 ".profile\n"
                 "Invoking start command.\n"
                 "A=a-c-profile B=b i=unset pwd=app\n");
}

/*
 * The launcher sources through an unquoted variable (§17): "sp ace.sh" is
 * split and fails to load, with bash's own message for the launcher's line,
 * after a WARNING of ours; the other scripts still load.
 */
static void a_profile_script_with_a_space_fails_to_load_as_on_cloud_foundry(void **state)
{
    struct fixture *fixture = *state;
    droplet_file(fixture, "profile.d/sp ace.sh", "export SPACE=loaded\n", 0755);
    droplet_file(fixture, "profile.d/z.sh", "export Z=loaded\n", 0755);
    staging_info(fixture, "echo \"space=${SPACE-unset} z=$Z\"", NULL);
    must_launch(fixture);
    assert_lines(fixture, "[APP/PROC/WEB/0] OUT ",
                 "Invoking pre-start scripts.\nInvoking start command.\nspace=unset z=loaded\n");
    assert_lines(fixture, "[APP/PROC/WEB/0] ERR ",
                 "/tmp/lifecycle/launcher: line 8: ../profile.d/sp: No such file or directory\n");
    assert_non_null(strstr(output(fixture),
                           "WARNING: Cloud Foundry's launcher sources profile scripts through an "
                           "unquoted variable, so bash splits or expands the name "
                           "'../profile.d/sp ace.sh' and does not source that file (it tries "
                           "'../profile.d/sp'); cfbp run does the same."));
}

static void no_profile_scripts_is_fine(void **state)
{
    struct fixture *fixture = *state;
    char *profile = test_path(fixture->droplet, "profile.d");
    rmdir(profile);
    free(profile);
    staging_info(fixture, "echo ran", NULL);
    must_launch(fixture);
    assert_lines(fixture, "[APP/PROC/WEB/0] OUT ",
                 "Invoking pre-start scripts.\nInvoking start command.\nran\n");
    assert_lines(fixture, "[APP/PROC/WEB/0] ERR ", "");
}

static const char print_environment[] =
    "for v in HOME TMPDIR DEPS_DIR PORT INSTANCE_GUID INSTANCE_INDEX CF_INSTANCE_GUID "
    "CF_INSTANCE_INDEX CF_INSTANCE_IP CF_INSTANCE_INTERNAL_IP CF_INSTANCE_PORT CF_INSTANCE_PORTS "
    "CF_INSTANCE_ADDR MEMORY_LIMIT LANG PATH VCAP_SERVICES VCAP_APPLICATION "
    "GREETING FROM_CALLER CFBP_TEST_SECRET; do eval \"x=\\${$v-(unset)}\"; printf '%s=%s\\n' "
    "\"$v\" \"$x\"; done; [ \"$PWD\" = \"$HOME\" ] && echo pwd-is-home; [ -d \"$TMPDIR\" ] && "
    "[ -d \"$DEPS_DIR\" ] && echo dirs-exist";

/* text with every from replaced by to. */
static char *replace_all(char *text, const char *from, const char *to)
{
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    for (const char *at = text, *hit;; at = hit + strlen(from)) {
        hit = strstr(at, from);
        if (!hit) {
            cfbp_strbuf_append_string(&out, at);
            break;
        }
        cfbp_strbuf_append(&out, at, (size_t)(hit - at));
        cfbp_strbuf_append_string(&out, to);
    }
    free(text);
    return cfbp_strbuf_detach(&out, NULL);
}

/*
 * The environment lines with the instance's home written as $H and its
 * GUID, a fresh random one each run, as $GUID.
 */
static char *environment_lines(struct fixture *fixture)
{
    char *text = lines(fixture, "[APP/PROC/WEB/0] OUT ");
    const char *guid = strstr(text, "\nINSTANCE_GUID=");
    assert_non_null(guid);
    guid += strlen("\nINSTANCE_GUID=");
    assert_int_equal(strcspn(guid, "\n"), 36);
    char value[37];
    memcpy(value, guid, 36);
    value[36] = '\0';
    for (size_t i = 0; i < 36; i++) {
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        assert_true(dash ? value[i] == '-' : strchr("0123456789abcdef", value[i]) != NULL);
    }
    text = replace_all(text, value, "$GUID");
    const char *home = strstr(text, "HOME=");
    assert_non_null(home);
    home += 5;
    struct cfbp_strbuf instance = CFBP_STRBUF_INIT, normal = CFBP_STRBUF_INIT;
    cfbp_strbuf_append(&instance, home, strcspn(home, "\n"));
    assert_true(cfbp_string_ends_with(instance.buf, "/app"));
    cfbp_strbuf_set_length(&instance, instance.len - 4);
    assert_true(cfbp_string_starts_with(instance.buf, fixture->tmp));
    for (const char *at = text, *hit; *at; at = hit + instance.len) {
        hit = strstr(at, instance.buf);
        if (!hit) {
            cfbp_strbuf_append_string(&normal, at);
            break;
        }
        cfbp_strbuf_append(&normal, at, (size_t)(hit - at));
        cfbp_strbuf_append_string(&normal, "$H");
    }
    cfbp_strbuf_release(&instance);
    free(text);
    return cfbp_strbuf_detach(&normal, NULL);
}

static void sets_the_launchers_environment(void **state)
{
    struct fixture *fixture = *state;
    setenv("CFBP_TEST_SECRET", "must not leak", 1);
    staging_info(fixture, print_environment, NULL);
    must_launch(fixture);
    unsetenv("CFBP_TEST_SECRET");
    char *text = environment_lines(fixture);
    assert_string_equal(
        text,
        "Invoking pre-start scripts.\n"
        "Invoking start command.\n"
        "HOME=$H/app\n"
        "TMPDIR=$H/tmp\n"
        "DEPS_DIR=$H/deps\n"
        "PORT=8080\n"
        "INSTANCE_GUID=$GUID\n"
        "INSTANCE_INDEX=0\n"
        "CF_INSTANCE_GUID=$GUID\n"
        "CF_INSTANCE_INDEX=0\n"
        "CF_INSTANCE_IP=127.0.0.1\n"
        "CF_INSTANCE_INTERNAL_IP=127.0.0.1\n"
        "CF_INSTANCE_PORT=8080\n"
        "CF_INSTANCE_PORTS=[{\"external\":8080,\"internal\":8080}]\n"
        "CF_INSTANCE_ADDR=127.0.0.1:8080\n"
        "MEMORY_LIMIT=1024m\n"
        "LANG=en_US.UTF-8\n"
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
        "VCAP_SERVICES={}\n"
        "VCAP_APPLICATION={\"application_id\":\"00000000-0000-0000-0000-000000000000\","
        "\"application_name\":\"app\",\"application_uris\":[],\"host\":\"0.0.0.0\","
        "\"instance_id\":\"$GUID\",\"instance_index\":0,"
        "\"limits\":{\"disk\":1024,\"fds\":16384,\"mem\":1024},\"name\":\"app\","
        "\"organization_name\":\"local\",\"port\":8080,\"space_name\":\"local\",\"uris\":[]}\n"
        "GREETING=(unset)\n"
        "FROM_CALLER=(unset)\n"
        "CFBP_TEST_SECRET=(unset)\n"
        "pwd-is-home\n"
        "dirs-exist\n");
    free(text);
}

static void the_app_manifest_gives_command_env_name_and_memory(void **state)
{
    struct fixture *fixture = *state;
    staging_info(fixture, "echo from-staging-info; exit 1", NULL);
    struct cfbp_strbuf manifest = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&manifest, "applications:\n"
                                         "- name: manifest-app\n"
                                         "  memory: 64M\n"
                                         "  env:\n"
                                         "    GREETING: hello from the manifest\n"
                                         "    FROM_CALLER: overridden\n"
                                         "    PORT: 1\n"
                                         "  command: |\n"
                                         "    ");
    cfbp_strbuf_append_string(&manifest, print_environment);
    cfbp_strbuf_append_string(&manifest, "\n");
    droplet_file(fixture, "app/manifest.yml", manifest.buf, 0644);
    cfbp_environment_set(&fixture->app_environment, "FROM_CALLER", "the caller");
    cfbp_environment_set(&fixture->app_environment, "HOME", "/not/allowed");
    fixture->options.port = 9090;
    must_launch(fixture);
    char *text = environment_lines(fixture);
    assert_null(strstr(text, "from-staging-info"));
    assert_string_equal(
        text,
        "Invoking pre-start scripts.\n"
        "Invoking start command.\n"
        "HOME=$H/app\n"
        "TMPDIR=$H/tmp\n"
        "DEPS_DIR=$H/deps\n"
        "PORT=9090\n"
        "INSTANCE_GUID=$GUID\n"
        "INSTANCE_INDEX=0\n"
        "CF_INSTANCE_GUID=$GUID\n"
        "CF_INSTANCE_INDEX=0\n"
        "CF_INSTANCE_IP=127.0.0.1\n"
        "CF_INSTANCE_INTERNAL_IP=127.0.0.1\n"
        "CF_INSTANCE_PORT=9090\n"
        "CF_INSTANCE_PORTS=[{\"external\":9090,\"internal\":9090}]\n"
        "CF_INSTANCE_ADDR=127.0.0.1:9090\n"
        "MEMORY_LIMIT=64m\n"
        "LANG=en_US.UTF-8\n"
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
        "VCAP_SERVICES={}\n"
        "VCAP_APPLICATION={\"application_id\":\"00000000-0000-0000-0000-000000000000\","
        "\"application_name\":\"manifest-app\",\"application_uris\":[],\"host\":\"0.0.0.0\","
        "\"instance_id\":\"$GUID\",\"instance_index\":0,"
        "\"limits\":{\"disk\":1024,\"fds\":16384,\"mem\":64},\"name\":\"manifest-app\","
        "\"organization_name\":\"local\",\"port\":9090,\"space_name\":\"local\",\"uris\":[]}\n"
        "GREETING=hello from the manifest\n"
        "FROM_CALLER=the caller\n"
        "CFBP_TEST_SECRET=(unset)\n"
        "pwd-is-home\n"
        "dirs-exist\n");
    free(text);

    /* The caller's name and memory win over the manifest's. */
    fclose(fixture->output);
    free(fixture->output_text);
    fixture->output_text = NULL;
    fixture->output = open_memstream(&fixture->output_text, &fixture->output_length);
    fixture->options.output = fixture->output;
    fixture->options.app_name = "named <by> caller";
    fixture->options.memory = 2048;
    must_launch(fixture);
    text = environment_lines(fixture);
    assert_non_null(strstr(text, "\nMEMORY_LIMIT=2048m\n"));
    assert_non_null(strstr(text, "\"application_name\":\"named \\u003cby\\u003e caller\""));
    assert_non_null(strstr(text, "\"limits\":{\"disk\":1024,\"fds\":16384,\"mem\":2048}"));
    free(text);
    cfbp_strbuf_release(&manifest);
}

/* §4.6 step 5: with config.entrypoint_prefix the launcher execs "<prefix> <command>". */
static void an_entrypoint_prefix_replaces_bash_c(void **state)
{
    struct fixture *fixture = *state;
    staging_info(fixture, "echo \"prefixed=${PREFIXED-no}\"",
                 ",\"config\":{\"entrypoint_prefix\":\"/usr/bin/env PREFIXED=yes bash -c\"}");
    must_launch(fixture);
    assert_lines(fixture, "[APP/PROC/WEB/0] OUT ",
                 "Invoking pre-start scripts.\nInvoking start command.\nprefixed=yes\n");
}

static void a_droplet_without_a_start_command_is_refused(void **state)
{
    struct fixture *fixture = *state;
    staging_info(fixture, "", NULL);
    assert_int_equal(launch(fixture), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_INVALID);
    assert_string_equal(fixture->err.message, "no start command specified or detected in droplet");
    assert_string_equal(output(fixture), "");

    droplet_file(fixture, "staging_info.yml", "{\"detected_buildpack\":\"x\"}\n", 0644);
    assert_int_equal(launch(fixture), -1);
    assert_string_equal(fixture->err.message, "no start command specified or detected in droplet");

    droplet_file(fixture, "staging_info.yml", "start_command: yaml, not json\n", 0644);
    assert_int_equal(launch(fixture), -1);
    assert_non_null(strstr(fixture->err.message, "staging_info.yml: "));

    /* A manifest command is enough, even without staging_info.yml. */
    char *info = test_path(fixture->droplet, "staging_info.yml");
    unlink(info);
    free(info);
    droplet_file(fixture, "app/manifest.yml",
                 "applications:\n- name: a\n  command: echo from-manifest; exit 4\n", 0644);
    must_launch(fixture);
    assert_int_equal(fixture->exit_status, 4);
}

/* --- stopping from outside --- */

struct stopper {
    struct fixture *fixture;
    int fd;
};

/* Waits until every process has written its pids, then asks the instance to stop. */
static void *stop_when_ready(void *data)
{
    struct stopper *stopper = data;
    static const char *const names[] = {"web-child", "side-child"};
    for (int i = 0; i < 1000; i++) {
        bool ready = true;
        for (size_t j = 0; j < 2; j++) {
            struct cfbp_strbuf path = CFBP_STRBUF_INIT;
            cfbp_strbuf_append_format(&path, "%s/%s.pid", stopper->fixture->pids, names[j]);
            char *text = test_read_file(path.buf);
            ready = ready && text && strchr(text, '\n');
            free(text);
            cfbp_strbuf_release(&path);
        }
        if (ready)
            break;
        usleep(10 * 1000);
    }
    ssize_t written = write(stopper->fd, "x", 1);
    (void)written;
    return NULL;
}

static void the_stop_fd_stops_everything(void **state)
{
    struct fixture *fixture = *state;
    char *web = sleeper(fixture, "web");
    char *side = sleeper(fixture, "side");
    staging_info(fixture, web, NULL);
    struct cfbp_strbuf yml = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&yml,
                              "processes:\n- type: side\n  command: \"%s\"\n"
                              "  platforms: {cloudfoundry: {sidecar_for: [web]}}\n",
                              side);
    droplet_file(fixture, "deps/0/launch.yml", yml.buf, 0644);
    int pipe_fds[2];
    assert_int_equal(pipe(pipe_fds), 0);
    fixture->options.stop_fd = pipe_fds[0];
    struct stopper stopper = {fixture, pipe_fds[1]};
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, stop_when_ready, &stopper), 0);
    int result = launch(fixture);
    pthread_join(thread, NULL);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    assert_int_equal(result, 0);
    assert_int_equal(fixture->exit_status, 0);
    assert_lines(fixture, "[cfbp] stopping", " the instance\n");
    assert_null(strstr(output(fixture), "exited with status"));
    static const char *const names[] = {"web", "web-child", "side", "side-child"};
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++)
        assert_gone(fixture, names[i]);
    assert_true(fixture->seconds < 8);
    cfbp_strbuf_release(&yml);
    free(web);
    free(side);
}

static void a_stop_asked_for_before_start_starts_nothing(void **state)
{
    struct fixture *fixture = *state;
    staging_info(fixture, "echo should-not-run; exit 3", NULL);
    int pipe_fds[2];
    assert_int_equal(pipe(pipe_fds), 0);
    assert_int_equal(write(pipe_fds[1], "x", 1), 1);
    fixture->options.stop_fd = pipe_fds[0];
    assert_int_equal(launch(fixture), 0); /* launch() checks the home is gone */
    assert_int_equal(fixture->exit_status, 0);
    assert_string_equal(output(fixture), "[cfbp] stopping the instance\n");
    close(pipe_fds[0]);
    close(pipe_fds[1]);
}

static void an_oversized_staging_info_is_refused(void **state)
{
    struct fixture *fixture = *state;
    struct cfbp_strbuf big = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&big, "{\"start_command\":\"");
    while (big.len < (1 << 20) + 10)
        cfbp_strbuf_append_string(&big, "echo hello; ");
    cfbp_strbuf_append_string(&big, "\"}\n");
    droplet_file(fixture, "staging_info.yml", big.buf, 0644);
    assert_int_equal(launch(fixture), -1);
    assert_non_null(strstr(fixture->err.message, "staging_info.yml is larger than 1048576 bytes"));
    assert_string_equal(output(fixture), "");
    cfbp_strbuf_release(&big);
}

/* --- a packed droplet --- */

static void a_droplet_tgz_runs_like_a_directory(void **state)
{
    struct fixture *fixture = *state;
    droplet_file(fixture, "app/bin/run", "#!/bin/sh\necho \"run from $(pwd)\"\nexit 6\n", 0755);
    droplet_file(fixture, "profile.d/0_env.sh", "export FROM_PROFILE=yes\n", 0755);
    staging_info(fixture, "echo profile=$FROM_PROFILE; ./bin/run", NULL);
    char *tgz = test_path(fixture->dir, "droplet.tgz");
    struct cfbp_tarball_options tarball = {
        .prefix = "./", .keep_modes = true, .keep_times = true, .include_root = true};
    assert_int_equal(cfbp_tarball_write_tree(tgz, fixture->droplet, &tarball, &fixture->err), 0);
    fixture->options.droplet = tgz;
    must_launch(fixture);
    assert_int_equal(fixture->exit_status, 6);
    char *text = lines(fixture, "[APP/PROC/WEB/0] OUT ");
    assert_true(cfbp_string_starts_with(text, "Invoking pre-start scripts.\nInvoking start "
                                              "command.\nprofile=yes\nrun from "));
    assert_true(cfbp_string_ends_with(text, "/app\n"));
    free(text);

    /* A droplet that is not there, or not a droplet, is an error. */
    char *missing = test_path(fixture->dir, "missing.tgz");
    fixture->options.droplet = missing;
    assert_int_equal(launch(fixture), -1);
    assert_non_null(fixture->err.message);
    free(missing);
    free(tgz);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(prefixes_every_line_as_cf_logs_does),
        TEST(a_killed_process_reports_128_plus_the_signal),
        TEST(sidecars_run_beside_web_and_stop_with_it),
        TEST(a_sidecar_ending_stops_web),
        TEST(a_later_launch_yml_replaces_an_earlier_sidecar),
        TEST(a_manifest_sidecar_named_like_a_buildpack_sidecar_is_refused),
        TEST(profile_scripts_are_sourced_in_the_launchers_order),
        TEST(a_profile_script_with_a_space_fails_to_load_as_on_cloud_foundry),
        TEST(no_profile_scripts_is_fine),
        TEST(sets_the_launchers_environment),
        TEST(the_app_manifest_gives_command_env_name_and_memory),
        TEST(an_entrypoint_prefix_replaces_bash_c),
        TEST(a_droplet_without_a_start_command_is_refused),
        TEST(the_stop_fd_stops_everything),
        TEST(a_droplet_tgz_runs_like_a_directory),
        TEST(a_stop_asked_for_before_start_starts_nothing),
        TEST(an_oversized_staging_info_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
