/*
 * test_builder.c - staging tiny apps with buildpacks written here as shell
 * scripts, checked against the Cloud Foundry builder (contract §3, §4.1,
 * §4.2, §4.4, §4.5, §5.9, §8, §10).
 *
 * Every script appends what it saw to one record file; the builder's
 * temporary directory shows up there as $WORK and the build-artifacts cache
 * as $CACHE, so whole records can be compared. Droplets are read back with
 * libarchive. TMPDIR points into the fixture, so a staging that leaves its
 * temporary directory behind is caught too.
 */
#include "support.h"

#include "cfbp/builder.h"
#include "cfbp/buildpack_registry.h"
#include "cfbp/digest.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/process.h"
#include "cfbp/strbuf.h"
#include "cfbp/string_list.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct fixture {
    char *dir;
    char *app;     /* the app directory given to the builder */
    char *cache;   /* the build-artifacts cache */
    char *droplet; /* <dir>/out/droplet.tgz */
    char *result;  /* <dir>/out/result.json */
    char *record;  /* what the scripts saw */
    char *tmp;     /* TMPDIR while staging: must end up empty */
    char *saved_tmpdir;
    char *messages_text;
    size_t messages_length;
    FILE *messages;
    struct cfbp_environment app_environment;
    struct cfbp_registry registry;
    const char *buildpacks[16];
    struct cfbp_builder_options options;
    struct cfbp_error err;
};

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    fixture->dir = test_make_dir();
    fixture->app = test_path(fixture->dir, "app");
    fixture->cache = test_path(fixture->dir, "cache");
    fixture->droplet = test_path(fixture->dir, "out/droplet.tgz");
    fixture->result = test_path(fixture->dir, "out/result.json");
    fixture->record = test_path(fixture->dir, "record");
    fixture->tmp = test_path(fixture->dir, "tmp");
    mkdir(fixture->tmp, 0755);
    char *index = test_path(fixture->app, "index.html");
    test_write_file(index, "<h1>hello</h1>\n", 0644);
    free(index);
    const char *saved = getenv("TMPDIR");
    fixture->saved_tmpdir = saved ? strdup(saved) : NULL;
    setenv("TMPDIR", fixture->tmp, 1);
    fixture->messages = open_memstream(&fixture->messages_text, &fixture->messages_length);
    fixture->options = (struct cfbp_builder_options){
        .app_dir = fixture->app,
        .buildpacks = fixture->buildpacks,
        .stack = "cflinuxfs4",
        .droplet = fixture->droplet,
        .result = fixture->result,
        .cache_dir = fixture->cache,
        .app_name = "myapp",
        .memory = 256,
        .app_environment = &fixture->app_environment,
        .messages = fixture->messages,
        .stop_fd = -1,
    };
    char *home = test_path(fixture->dir, "registry");
    cfbp_registry_load(&fixture->registry, home, &fixture->err);
    free(home);
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
    fclose(fixture->messages);
    free(fixture->messages_text);
    cfbp_environment_release(&fixture->app_environment);
    cfbp_registry_release(&fixture->registry);
    cfbp_error_clear(&fixture->err);
    free(fixture->app);
    free(fixture->cache);
    free(fixture->droplet);
    free(fixture->result);
    free(fixture->record);
    free(fixture->tmp);
    test_remove_dir(fixture->dir);
    free(fixture);
    return 0;
}

/* --- buildpacks as shell scripts --- */

/* Every script starts with this: R is the record, N the buildpack, rec records the arguments. */
static const char preamble[] =
    "#!/bin/sh\n"
    "R='%s'\n"
    "N='%s'\n"
    "rec() { printf '%%s' \"$N:${0##*/}\" >> \"$R\"; for a in \"$@\"; do printf '|%%s' \"$a\" "
    ">> \"$R\"; done; echo >> \"$R\"; }\n";

/* Makes <dir>/buildpacks/<name>/bin and returns the buildpack's root. */
static char *make_buildpack(struct fixture *fixture, const char *name)
{
    char *buildpacks = test_path(fixture->dir, "buildpacks");
    char *root = test_path(buildpacks, name);
    char *bin = test_path(root, "bin");
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_fs_mkdir_p(bin, 0755, &err) < 0)
        fail_msg("%s", err.message);
    free(bin);
    free(buildpacks);
    return root;
}

static void add_script_mode(struct fixture *fixture, const char *root, const char *script,
                            const char *body, mode_t mode)
{
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    const char *name = strrchr(root, '/') + 1;
    cfbp_strbuf_append_format(&text, preamble, fixture->record, name);
    cfbp_strbuf_append_string(&text, body);
    char *bin = test_path(root, "bin");
    char *path = test_path(bin, script);
    test_write_file(path, text.buf, mode);
    free(path);
    free(bin);
    cfbp_strbuf_release(&text);
}

static void add_script(struct fixture *fixture, const char *root, const char *script,
                       const char *body)
{
    add_script_mode(fixture, root, script, body, 0755);
}

/* A buildpack with supply, finalize and release that record their arguments. */
static char *make_recording_buildpack(struct fixture *fixture, const char *name)
{
    char *root = make_buildpack(fixture, name);
    add_script(fixture, root, "supply", "rec \"$@\"\n");
    add_script(fixture, root, "finalize", "rec \"$@\"\n");
    add_script(fixture, root, "release",
               "rec \"$@\"\necho '---'\necho 'default_process_types:'\necho '  web: ./run'\n");
    return root;
}

static int stage(struct fixture *fixture, size_t count)
{
    fixture->options.buildpack_count = count;
    cfbp_error_clear(&fixture->err);
    int status = -1;
    int result = cfbp_builder_stage(&fixture->options, &status, &fixture->err);
    assert_int_equal(result, status ? -1 : 0);
    /* Whatever happened, the builder's temporary directory is gone. */
    assert_int_equal(test_count_entries(fixture->tmp), 0);
    return status;
}

static void must_stage(struct fixture *fixture, size_t count)
{
    int status = stage(fixture, count);
    if (status != 0)
        fail_msg("staging failed with %d: %s", status, fixture->err.message);
    assert_null(fixture->err.message);
}

static const char *messages(struct fixture *fixture)
{
    fflush(fixture->messages);
    return fixture->messages_text ? fixture->messages_text : "";
}

static void replace_all(struct cfbp_strbuf *text, const char *from, const char *to)
{
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    size_t length = strlen(from);
    const char *at = text->buf;
    for (const char *hit; (hit = strstr(at, from)) != NULL; at = hit + length) {
        cfbp_strbuf_append(&out, at, (size_t)(hit - at));
        cfbp_strbuf_append_string(&out, to);
    }
    cfbp_strbuf_append_string(&out, at);
    cfbp_strbuf_set(text, out.buf);
    cfbp_strbuf_release(&out);
}

/*
 * The record with the builder's work directory written as $WORK and the cache
 * as $CACHE. The work directory is found from the first recorded argument,
 * which is always BUILD_DIR (<work>/app).
 */
static char *record(struct fixture *fixture)
{
    char *text = test_read_file(fixture->record);
    if (!text)
        return strdup("");
    struct cfbp_strbuf normal = CFBP_STRBUF_INIT;
    cfbp_strbuf_set(&normal, text);
    const char *first = strchr(text, '|');
    if (first) {
        size_t length = strcspn(first + 1, "|\n");
        struct cfbp_strbuf work = CFBP_STRBUF_INIT;
        cfbp_strbuf_append(&work, first + 1, length);
        if (!cfbp_string_ends_with(work.buf, "/app"))
            fail_msg("the first argument %s is not <work>/app", work.buf);
        cfbp_strbuf_set_length(&work, work.len - 4);
        assert_true(cfbp_string_starts_with(work.buf, fixture->tmp));
        replace_all(&normal, work.buf, "$WORK");
        cfbp_strbuf_release(&work);
    }
    replace_all(&normal, fixture->cache, "$CACHE");
    free(text);
    return cfbp_strbuf_detach(&normal, NULL);
}

static void assert_record(struct fixture *fixture, const char *expected)
{
    char *text = record(fixture);
    if (strcmp(text, expected) != 0)
        fail_msg("the scripts recorded\n%s\nexpected\n%s", text, expected);
    free(text);
}

static const char *cache_name(const char *key)
{
    static char names[4][17];
    static int next;
    char *name = names[next++ % 4];
    cfbp_builder_cache_name(key, name);
    return name;
}

/* Every member of the droplet, one a line: "<name> <mode>". */
static char *droplet_members(const char *path)
{
    struct archive *archive = archive_read_new();
    archive_read_support_filter_gzip(archive);
    archive_read_support_format_tar(archive);
    if (archive_read_open_filename(archive, path, 16384) != ARCHIVE_OK)
        fail_msg("cannot read %s: %s", path, archive_error_string(archive));
    struct cfbp_strbuf list = CFBP_STRBUF_INIT;
    struct archive_entry *entry;
    while (archive_read_next_header(archive, &entry) == ARCHIVE_OK)
        cfbp_strbuf_append_format(&list, "%s %04o\n", archive_entry_pathname(entry),
                                  (unsigned)(archive_entry_perm(entry) & 07777));
    archive_read_free(archive);
    return cfbp_strbuf_detach(&list, NULL);
}

static char *droplet_file(const char *path, const char *name)
{
    struct archive *archive = archive_read_new();
    archive_read_support_filter_gzip(archive);
    archive_read_support_format_tar(archive);
    assert_int_equal(archive_read_open_filename(archive, path, 16384), ARCHIVE_OK);
    struct archive_entry *entry;
    char *result = NULL;
    while (!result && archive_read_next_header(archive, &entry) == ARCHIVE_OK) {
        if (strcmp(archive_entry_pathname(entry), name) != 0)
            continue;
        struct cfbp_strbuf data = CFBP_STRBUF_INIT;
        char block[8192];
        la_ssize_t got;
        while ((got = archive_read_data(archive, block, sizeof(block))) > 0)
            cfbp_strbuf_append(&data, block, (size_t)got);
        result = cfbp_strbuf_detach(&data, NULL);
    }
    archive_read_free(archive);
    return result;
}

static void assert_result_json(struct fixture *fixture, const char *expected)
{
    char *text = test_read_file(fixture->result);
    assert_non_null(text);
    assert_string_equal(text, expected);
    free(text);
}

/* A tree as text: every path, its mode and a file's contents, sorted. */
static void snapshot_into(const char *root, const char *relative, struct cfbp_strbuf *out)
{
    char *path = relative[0] ? test_path(root, relative) : strdup(root);
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    cfbp_strbuf_append_format(out, "%s %o", relative, (unsigned)st.st_mode);
    if (S_ISREG(st.st_mode)) {
        char *text = test_read_file(path);
        cfbp_strbuf_append_format(out, " =%s", text);
        free(text);
    }
    cfbp_strbuf_append_char(out, '\n');
    if (S_ISDIR(st.st_mode)) {
        struct cfbp_string_list names = CFBP_STRING_LIST_INIT;
        struct cfbp_error err = CFBP_ERROR_INIT;
        assert_int_equal(cfbp_fs_list_directory(path, &names, &err), 0);
        for (size_t i = 0; i < names.count; i++) {
            char *child =
                relative[0] ? test_path(relative, names.items[i]) : strdup(names.items[i]);
            snapshot_into(root, child, out);
            free(child);
        }
        cfbp_string_list_clear(&names);
    }
    free(path);
}

static char *snapshot(const char *root)
{
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    snapshot_into(root, "", &out);
    return cfbp_strbuf_detach(&out, NULL);
}

/* --- arguments, indices and caches (§3, §4.1, §4.2, §10.3-10.5) --- */

static void each_script_gets_the_builders_arguments(void **state)
{
    struct fixture *fixture = *state;
    char *supplier = make_buildpack(fixture, "supplier");
    add_script(fixture, supplier, "supply",
               "rec \"$@\"\necho \"deps when supply runs: $(ls \"$3\" | tr '\\n' ' ')\" >> "
               "\"$R\"\necho \"cwd: $(pwd) home: $HOME\" >> \"$R\"\n");
    char *final = make_recording_buildpack(fixture, "final");
    fixture->buildpacks[0] = supplier;
    fixture->buildpacks[1] = final;
    must_stage(fixture, 2);
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&expected,
                              "supplier:supply|$WORK/app|$CACHE/%s|$WORK/contents/deps|0\n"
                              "deps when supply runs: 0 1 \n"
                              "cwd: $WORK/home home: $WORK/home\n"
                              "final:supply|$WORK/app|$CACHE/final|$WORK/contents/deps|1\n"
                              "final:finalize|$WORK/app|$CACHE/final|$WORK/contents/deps|1|"
                              "$WORK/contents/profile.d\n"
                              "final:release|$WORK/app\n",
                              cache_name(supplier));
    assert_record(fixture, expected.buf);
    assert_string_equal(messages(fixture), "");
    cfbp_strbuf_release(&expected);
    free(supplier);
    free(final);
}

static void cache_names_are_xxh64_of_the_key(void **state)
{
    (void)state;
    char name[17];
    cfbp_builder_cache_name("", name);
    assert_string_equal(name, "ef46db3751d8e999");
    cfbp_builder_cache_name("abc", name);
    assert_string_equal(name, "44bc2cf5ad770999");
}

/* Stages count buildpacks b00.. whose scripts record "<name>:<script>:<idx>:<cache dir name>". */
static void stage_many(struct fixture *fixture, size_t count, char **roots)
{
    for (size_t i = 0; i < count; i++) {
        char name[8];
        snprintf(name, sizeof(name), "b%02zu", i);
        roots[i] = make_buildpack(fixture, name);
        const char *body = "echo \"$N:${0##*/}:$4:${2##*/}\" >> \"$R\"\n";
        add_script(fixture, roots[i], "supply", body);
        if (i == count - 1) {
            add_script(fixture, roots[i], "finalize", body);
            add_script(fixture, roots[i], "release",
                       "echo \"$N:release\" >> \"$R\"\necho 'default_process_types: {web: x}'\n");
        }
        fixture->buildpacks[i] = roots[i];
    }
    must_stage(fixture, count);
}

static void check_indices(struct fixture *fixture, size_t count, const char *const *indices)
{
    char **roots = calloc(count, sizeof(*roots));
    stage_many(fixture, count, roots);
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    for (size_t i = 0; i + 1 < count; i++)
        cfbp_strbuf_append_format(&expected, "b%02zu:supply:%s:%s\n", i, indices[i],
                                  cache_name(roots[i]));
    cfbp_strbuf_append_format(&expected, "b%02zu:supply:%s:final\n", count - 1, indices[count - 1]);
    cfbp_strbuf_append_format(&expected, "b%02zu:finalize:%s:final\n", count - 1,
                              indices[count - 1]);
    cfbp_strbuf_append_format(&expected, "b%02zu:release\n", count - 1);
    assert_record(fixture, expected.buf);
    /* Every index is in the droplet. */
    char *members = droplet_members(fixture->droplet);
    for (size_t i = 0; i < count; i++) {
        struct cfbp_strbuf member = CFBP_STRBUF_INIT;
        cfbp_strbuf_append_format(&member, "\n./deps/%s/ 0755\n", indices[i]);
        if (!strstr(members, member.buf))
            fail_msg("%s is not in the droplet:\n%s", member.buf + 1, members);
        cfbp_strbuf_release(&member);
    }
    free(members);
    cfbp_strbuf_release(&expected);
    for (size_t i = 0; i < count; i++)
        free(roots[i]);
    free(roots);
}

static void one_buildpack_gets_index_0(void **state)
{
    static const char *const indices[] = {"0"};
    check_indices(*state, 1, indices);
}

static void ten_buildpacks_get_two_digit_indices(void **state)
{
    static const char *const indices[] = {"00", "01", "02", "03", "04",
                                          "05", "06", "07", "08", "09"};
    check_indices(*state, 10, indices);
}

static void eleven_buildpacks_end_at_10(void **state)
{
    static const char *const indices[] = {"00", "01", "02", "03", "04", "05",
                                          "06", "07", "08", "09", "10"};
    check_indices(*state, 11, indices);
}

/*
 * count buildpacks p00, p01, ...: each supply writes a launch.yml with a worker
 * "w<i>", the final finalize one with web "from-launch-yml", and the final
 * release says web "from-release" (and records that it ran).
 */
static void stage_with_launch_yml_everywhere(struct fixture *fixture, size_t count, char **roots)
{
    for (size_t i = 0; i < count; i++) {
        char name[8];
        snprintf(name, sizeof(name), "p%02zu", i);
        roots[i] = make_buildpack(fixture, name);
        struct cfbp_strbuf body = CFBP_STRBUF_INIT;
        if (i + 1 < count) {
            cfbp_strbuf_append_format(&body,
                                      "printf 'processes:\\n- type: w%02zu\\n  command: run\\n' > "
                                      "\"$3/$4/launch.yml\"\n",
                                      i);
            add_script(fixture, roots[i], "supply", body.buf);
        } else {
            add_script(fixture, roots[i], "finalize",
                       "printf 'processes:\\n- type: web\\n  command: from-launch-yml\\n' > "
                       "\"$3/$4/launch.yml\"\n");
            add_script(fixture, roots[i], "release",
                       "echo released >> \"$R\"\necho 'default_process_types: {web: "
                       "from-release}'\n");
        }
        cfbp_strbuf_release(&body);
        fixture->buildpacks[i] = roots[i];
    }
    must_stage(fixture, count);
}

/*
 * The builder looks for launch.yml at deps/<i>/ with i not padded (§17): with
 * 10 buildpacks (deps/00 ... deps/09) it finds none, runs release, and a
 * WARNING names each launch.yml that Cloud Foundry will not read.
 */
static void ten_buildpacks_have_their_launch_yml_ignored_as_on_cloud_foundry(void **state)
{
    struct fixture *fixture = *state;
    char *roots[10];
    stage_with_launch_yml_everywhere(fixture, 10, roots);
    char *text = test_read_file(fixture->result);
    assert_non_null(strstr(text, "\"process_types\":{\"web\":\"from-release\"},\"processes\":[{"
                                 "\"type\":\"web\",\"command\":\"from-release\"}],"
                                 "\"execution_metadata\""));
    assert_record(fixture, "released\n");
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&expected,
                              "WARNING: with 10 or more buildpacks, Cloud Foundry's builder looks "
                              "for launch.yml at deps/3/, not deps/03/, so it ignores the "
                              "deps/03/launch.yml that buildpack %s wrote: the processes and "
                              "sidecars declared there (w03) will not run on Cloud Foundry, and "
                              "cfbp stage ignores them too. Declare them in the app manifest "
                              "(processes:, sidecars:) instead.\n",
                              roots[3]);
    assert_non_null(strstr(messages(fixture), expected.buf));
    cfbp_strbuf_reset(&expected);
    cfbp_strbuf_append_format(&expected,
                              "so it ignores the deps/09/launch.yml that buildpack %s wrote: the "
                              "processes and sidecars declared there (web) will not run on Cloud "
                              "Foundry (bin/release runs instead), and cfbp stage ignores them "
                              "too.",
                              roots[9]);
    assert_non_null(strstr(messages(fixture), expected.buf));
    assert_int_equal(test_count_lines(messages(fixture)), 10);
    cfbp_strbuf_release(&expected);
    free(text);
    for (size_t i = 0; i < 10; i++)
        free(roots[i]);
}

/*
 * With 12 buildpacks the unpadded lookups deps/10/ and deps/11/ are real
 * directories again: the supply buildpack at 10 and the final one at 11 have
 * their launch.yml read, those at 0-9 not.
 */
static void twelve_buildpacks_have_launch_yml_read_from_position_10_on(void **state)
{
    struct fixture *fixture = *state;
    char *roots[12];
    stage_with_launch_yml_everywhere(fixture, 12, roots);
    char *text = test_read_file(fixture->result);
    assert_non_null(strstr(text, "\"process_types\":{\"w10\":\"run\",\"web\":"
                                 "\"from-launch-yml\"},\"processes\":[{\"type\":\"w10\","
                                 "\"command\":\"run\"},{\"type\":\"web\",\"command\":"
                                 "\"from-launch-yml\"}],"));
    assert_record(fixture, ""); /* release was skipped */
    assert_int_equal(test_count_lines(messages(fixture)), 10);
    assert_null(strstr(messages(fixture), "deps/10/launch.yml"));
    free(text);
    for (size_t i = 0; i < 12; i++)
        free(roots[i]);
}

/* Fewer than 10: every launch.yml is read and nothing is said. */
static void nine_buildpacks_have_every_launch_yml_read(void **state)
{
    struct fixture *fixture = *state;
    char *roots[9];
    stage_with_launch_yml_everywhere(fixture, 9, roots);
    char *text = test_read_file(fixture->result);
    assert_non_null(strstr(text, "\"w00\":\"run\""));
    assert_non_null(strstr(text, "\"w07\":\"run\""));
    assert_non_null(strstr(text, "\"web\":\"from-launch-yml\""));
    assert_record(fixture, "");
    assert_string_equal(messages(fixture), "");
    free(text);
    for (size_t i = 0; i < 9; i++)
        free(roots[i]);
}

static void the_cache_keeps_final_and_the_current_supply_caches(void **state)
{
    struct fixture *fixture = *state;
    char *supplier = make_buildpack(fixture, "supplier");
    add_script(fixture, supplier, "supply", "echo new > \"$2/new\"\n");
    char *final = make_recording_buildpack(fixture, "final");
    add_script(fixture, final, "finalize", "ls \"$2\" >> \"$R\"\n");
    const char *supplier_cache = cache_name(supplier);
    static const char *const planted[] = {"stale.txt", "0123456789abcdef/old", "final/kept", NULL};
    for (const char *const *name = planted; *name; name++) {
        char *path = test_path(fixture->cache, *name);
        test_write_file(path, "planted", 0644);
        free(path);
    }
    char *supplier_dir = test_path(fixture->cache, supplier_cache);
    char *old = test_path(supplier_dir, "old");
    test_write_file(old, "planted", 0644);
    fixture->buildpacks[0] = supplier;
    fixture->buildpacks[1] = final;
    must_stage(fixture, 2);
    assert_record(fixture, "final:supply|$WORK/app|$CACHE/final|$WORK/contents/deps|1\n"
                           "kept\n"
                           "final:release|$WORK/app\n");
    struct cfbp_string_list names = CFBP_STRING_LIST_INIT;
    assert_int_equal(cfbp_fs_list_directory(fixture->cache, &names, &fixture->err), 0);
    assert_int_equal(names.count, 2);
    assert_string_equal(names.items[0], supplier_cache);
    assert_string_equal(names.items[1], "final");
    cfbp_string_list_clear(&names);
    assert_true(test_exists(old));
    char *fresh = test_path(supplier_dir, "new");
    assert_true(test_exists(fresh));

    /* Staging with the final buildpack alone drops the supply cache too. */
    fixture->buildpacks[0] = final;
    must_stage(fixture, 1);
    assert_false(test_exists(supplier_dir));
    char *kept = test_path(fixture->cache, "final/kept");
    assert_true(test_exists(kept));
    free(kept);
    free(fresh);
    free(old);
    free(supplier_dir);
    free(supplier);
    free(final);
}

/* --- the staging environment (§4.4) --- */

static void scripts_get_the_staging_environment(void **state)
{
    struct fixture *fixture = *state;
    char *final = make_buildpack(fixture, "final");
    add_script(fixture, final, "finalize",
               "for v in PATH LANG HOME CF_STACK MEMORY_LIMIT VCAP_APPLICATION VCAP_SERVICES "
               "FOO http_proxy HTTPS_PROXY NO_PROXY SSL_CERT_FILE CFBP_TEST_SECRET; do\n"
               "  eval \"x=\\${$v-(unset)}\"; printf '%s=%s\\n' \"$v\" \"$x\" >> \"$R\"\n"
               "done\n"
               "env | cut -d= -f1 | grep -v -x -e PWD -e SHLVL -e _ -e OLDPWD | LC_ALL=C sort | "
               "tr '\\n' ' ' >> \"$R\"\n");
    add_script(fixture, final, "release", "echo '--- {}'\n");
    const char *saved_file = getenv("SSL_CERT_FILE"), *saved_dir = getenv("SSL_CERT_DIR");
    char *cert_file = saved_file ? strdup(saved_file) : NULL;
    char *cert_dir = saved_dir ? strdup(saved_dir) : NULL;
    setenv("SSL_CERT_FILE", "/certs/ca.pem", 1);
    unsetenv("SSL_CERT_DIR");
    setenv("http_proxy", "http://proxy.example:3128", 1);
    setenv("HTTPS_PROXY", "http://secure-proxy.example:3128", 1);
    setenv("NO_PROXY", "localhost,127.0.0.1", 1);
    setenv("CFBP_TEST_SECRET", "must not leak", 1);
    cfbp_environment_set(&fixture->app_environment, "FOO", "bar baz");
    cfbp_environment_set(&fixture->app_environment, "CF_STACK", "not-the-app's-to-set");
    cfbp_environment_set(&fixture->app_environment, "HTTPS_PROXY", "http://app-proxy:1");
    fixture->buildpacks[0] = final;
    int status = stage(fixture, 1);
    unsetenv("http_proxy");
    unsetenv("HTTPS_PROXY");
    unsetenv("NO_PROXY");
    unsetenv("CFBP_TEST_SECRET");
    if (cert_file)
        setenv("SSL_CERT_FILE", cert_file, 1);
    else
        unsetenv("SSL_CERT_FILE");
    if (cert_dir)
        setenv("SSL_CERT_DIR", cert_dir, 1);
    free(cert_file);
    free(cert_dir);
    assert_int_equal(status, 0);
    char *text = test_read_file(fixture->record);
    struct cfbp_strbuf normal = CFBP_STRBUF_INIT;
    cfbp_strbuf_set(&normal, text);
    /* HOME is <work>/home. */
    const char *home = strstr(text, "HOME=") + 5;
    struct cfbp_strbuf work = CFBP_STRBUF_INIT;
    cfbp_strbuf_append(&work, home, strcspn(home, "\n"));
    assert_true(cfbp_string_ends_with(work.buf, "/home"));
    cfbp_strbuf_set_length(&work, work.len - 5);
    replace_all(&normal, work.buf, "$WORK");
    assert_string_equal(
        normal.buf,
        "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n"
        "LANG=en_US.UTF-8\n"
        "HOME=$WORK/home\n"
        "CF_STACK=cflinuxfs4\n"
        "MEMORY_LIMIT=256m\n"
        "VCAP_APPLICATION={\"application_id\":\"00000000-0000-0000-0000-000000000000\","
        "\"application_name\":\"myapp\",\"application_uris\":[],\"limits\":{\"disk\":1024,"
        "\"fds\":16384,\"mem\":256},\"name\":\"myapp\",\"organization_name\":\"local\","
        "\"space_name\":\"local\",\"uris\":[]}\n"
        "VCAP_SERVICES={}\n"
        "FOO=bar baz\n"
        "http_proxy=http://proxy.example:3128\n"
        "HTTPS_PROXY=http://app-proxy:1\n"
        "NO_PROXY=localhost,127.0.0.1\n"
        "SSL_CERT_FILE=/certs/ca.pem\n"
        "CFBP_TEST_SECRET=(unset)\n"
        "CF_STACK FOO HOME HTTPS_PROXY LANG MEMORY_LIMIT NO_PROXY PATH SSL_CERT_FILE "
        "VCAP_APPLICATION VCAP_SERVICES http_proxy ");
    cfbp_strbuf_release(&work);
    cfbp_strbuf_release(&normal);
    free(text);
    free(final);
}

static void the_app_can_give_its_services(void **state)
{
    struct fixture *fixture = *state;
    char *final = make_buildpack(fixture, "final");
    add_script(fixture, final, "finalize", "echo \"$VCAP_SERVICES $MEMORY_LIMIT\" >> \"$R\"\n");
    add_script(fixture, final, "release", "echo '--- {}'\n");
    cfbp_environment_set(&fixture->app_environment, "VCAP_SERVICES", "{\"p-mysql\":[]}");
    fixture->options.memory = 1024;
    fixture->buildpacks[0] = final;
    must_stage(fixture, 1);
    assert_record(fixture, "{\"p-mysql\":[]} 1024m\n");
    free(final);
}

/* --- process types (§3.5, §5.10, §10.6) --- */

static void release_is_skipped_when_the_final_buildpack_wrote_launch_yml(void **state)
{
    struct fixture *fixture = *state;
    char *supplier = make_buildpack(fixture, "supplier");
    add_script(fixture, supplier, "supply",
               "printf 'processes:\\n- type: web\\n  command: from-supply\\n- type: sidecar\\n  "
               "command: side\\n  limits: {memory: 32}\\n  platforms:\\n    cloudfoundry:\\n      "
               "sidecar_for: [web]\\n' > \"$3/$4/launch.yml\"\n");
    char *final = make_recording_buildpack(fixture, "final");
    add_script(
        fixture, final, "finalize",
        "printf 'processes:\\n- type: worker\\n  command: work\\n' > \"$3/$4/launch.yml\"\n");
    fixture->buildpacks[0] = supplier;
    fixture->buildpacks[1] = final;
    must_stage(fixture, 2);
    assert_record(fixture, "final:supply|$WORK/app|$CACHE/final|$WORK/contents/deps|1\n");
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(
        &expected,
        "{\"lifecycle_metadata\":{\"buildpack_key\":\"%s\",\"detected_buildpack\":\"\","
        "\"buildpacks\":[{\"key\":\"%s\",\"name\":\"\"},{\"key\":\"%s\",\"name\":\"\"}]},"
        "\"process_types\":{\"web\":\"from-supply\",\"worker\":\"work\"},\"processes\":[{"
        "\"type\":\"web\",\"command\":\"from-supply\"},{\"type\":\"worker\",\"command\":\"work\"}"
        "],\"sidecars\":[{\"name\":\"sidecar\",\"process_types\":[\"web\"],\"command\":\"side\","
        "\"memory\":32}],\"execution_metadata\":\"\",\"lifecycle_type\":\"buildpack\"}\n",
        final, supplier, final);
    assert_result_json(fixture, expected.buf);
    char *info = droplet_file(fixture->droplet, "./staging_info.yml");
    assert_string_equal(info, "{\"detected_buildpack\":\"\",\"start_command\":\"from-supply\"}\n");
    free(info);
    cfbp_strbuf_release(&expected);
    free(supplier);
    free(final);
}

static void release_output_that_is_not_yaml_fails_with_224(void **state)
{
    struct fixture *fixture = *state;
    char *final = make_recording_buildpack(fixture, "final");
    add_script(fixture, final, "release", "echo 'default_process_types: [unclosed'\n");
    fixture->buildpacks[0] = final;
    assert_int_equal(stage(fixture, 1), CFBP_BUILDER_RELEASE_FAILED);
    assert_true(cfbp_string_starts_with(fixture->err.message,
                                        "Failed to build droplet release: buildpack's release "
                                        "output invalid: release output"));
    assert_false(test_exists(fixture->droplet));
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&expected,
                              "{\"lifecycle_metadata\":{\"buildpack_key\":\"%s\","
                              "\"detected_buildpack\":\"\",\"buildpacks\":[{\"key\":\"%s\","
                              "\"name\":\"\"}]},\"process_types\":null,\"execution_metadata\":\"\","
                              "\"lifecycle_type\":\"buildpack\"}\n",
                              final, final);
    assert_result_json(fixture, expected.buf);

    /* default_process_types that is not a map is invalid too. */
    add_script(fixture, final, "release", "echo 'default_process_types: web'\n");
    assert_int_equal(stage(fixture, 1), CFBP_BUILDER_RELEASE_FAILED);
    assert_string_equal(fixture->err.message,
                        "Failed to build droplet release: buildpack's release output invalid: "
                        "release output:1:24: default_process_types must map process types to "
                        "commands");
    cfbp_strbuf_release(&expected);
    free(final);
}

static void a_failing_release_fails_with_224(void **state)
{
    struct fixture *fixture = *state;
    char *final = make_recording_buildpack(fixture, "final");
    add_script(fixture, final, "release", "echo 'default_process_types: {web: x}'\nexit 3\n");
    fixture->buildpacks[0] = final;
    assert_int_equal(stage(fixture, 1), CFBP_BUILDER_RELEASE_FAILED);
    assert_string_equal(fixture->err.message, "Failed to build droplet release: exit status 3");
    assert_false(test_exists(fixture->droplet));
    assert_true(test_exists(fixture->result));
    free(final);
}

static void a_procfile_wins_over_release(void **state)
{
    struct fixture *fixture = *state;
    char *procfile = test_path(fixture->app, "Procfile");
    test_write_file(procfile, "worker: bin/worker\nweb: bin/web --port $PORT\n", 0644);
    char *final = make_recording_buildpack(fixture, "final");
    add_script(fixture, final, "release",
               "echo 'default_process_types:'\necho '  web: from-release'\necho '  clock: tick'\n");
    fixture->buildpacks[0] = final;
    must_stage(fixture, 1);
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(
        &expected,
        "{\"lifecycle_metadata\":{\"buildpack_key\":\"%s\",\"detected_buildpack\":\"\","
        "\"buildpacks\":[{\"key\":\"%s\",\"name\":\"\"}]},\"process_types\":{\"clock\":\"tick\","
        "\"web\":\"bin/web --port $PORT\",\"worker\":\"bin/worker\"},\"processes\":[{\"type\":"
        "\"clock\",\"command\":\"tick\"},{\"type\":\"web\",\"command\":\"bin/web --port $PORT\"},"
        "{\"type\":\"worker\",\"command\":\"bin/worker\"}],\"execution_metadata\":\"\","
        "\"lifecycle_type\":\"buildpack\"}\n",
        final, final);
    assert_result_json(fixture, expected.buf);
    char *info = droplet_file(fixture->droplet, "./staging_info.yml");
    assert_string_equal(
        info, "{\"detected_buildpack\":\"\",\"start_command\":\"bin/web --port $PORT\"}\n");
    free(info);
    cfbp_strbuf_release(&expected);
    free(final);
    free(procfile);
}

static void a_procfile_that_is_not_yaml_fails_with_1(void **state)
{
    struct fixture *fixture = *state;
    char *procfile = test_path(fixture->app, "Procfile");
    test_write_file(procfile, "web: [unclosed\n", 0644);
    char *final = make_recording_buildpack(fixture, "final");
    fixture->buildpacks[0] = final;
    assert_int_equal(stage(fixture, 1), CFBP_BUILDER_FAILED);
    assert_string_equal(fixture->err.message, "Failed to read command from Procfile: invalid YAML");
    assert_false(test_exists(fixture->droplet));
    /* A Procfile that is YAML but not a map of strings fails the same way. */
    test_write_file(procfile, "- web\n", 0644);
    assert_int_equal(stage(fixture, 1), CFBP_BUILDER_FAILED);
    assert_string_equal(fixture->err.message, "Failed to read command from Procfile: invalid YAML");
    free(final);
    free(procfile);
}

static void no_start_command_is_only_a_message(void **state)
{
    struct fixture *fixture = *state;
    char *final = make_recording_buildpack(fixture, "final");
    add_script(fixture, final, "release", "echo '--- {}'\n");
    add_script(fixture, final, "finalize",
               "printf 'name: Empty\\nversion: 0.1\\nconfig: {entrypoint_prefix: tini}\\n' > "
               "\"$3/$4/config.yml\"\n");
    fixture->buildpacks[0] = final;
    must_stage(fixture, 1);
    assert_string_equal(messages(fixture), "No start command specified by buildpack or via "
                                           "Procfile.\nApp will not start unless a command is "
                                           "provided at runtime.\n");
    char *info = droplet_file(fixture->droplet, "./staging_info.yml");
    assert_string_equal(info, "{\"detected_buildpack\":\"Empty\",\"start_command\":\"\","
                              "\"config\":{\"entrypoint_prefix\":\"tini\"}}\n");
    free(info);
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&expected,
                              "{\"lifecycle_metadata\":{\"buildpack_key\":\"%s\","
                              "\"detected_buildpack\":\"Empty\",\"buildpacks\":[{\"key\":\"%s\","
                              "\"name\":\"Empty\",\"version\":\"0.1\",\"config\":{"
                              "\"entrypoint_prefix\":\"tini\"}}]},\"process_types\":{},"
                              "\"execution_metadata\":\"\",\"lifecycle_type\":\"buildpack\"}\n",
                              final, final);
    assert_result_json(fixture, expected.buf);
    cfbp_strbuf_release(&expected);
    free(final);
}

/* --- failures (§8) --- */

static void a_failing_final_buildpack_fails_with_223(void **state)
{
    struct fixture *fixture = *state;
    char *supplier = make_buildpack(fixture, "supplier");
    add_script(fixture, supplier, "supply",
               "printf 'name: supplied\\nversion: 1.0\\n' > \"$3/$4/config.yml\"\n");
    char *final = make_recording_buildpack(fixture, "final");
    add_script(fixture, final, "finalize",
               "printf 'name: finisher\\noutput_metadata: {reason: <broken>}\\n' > "
               "\"$3/$4/config.yml\"\nexit 7\n");
    fixture->buildpacks[0] = supplier;
    fixture->buildpacks[1] = final;
    assert_int_equal(stage(fixture, 2), CFBP_BUILDER_COMPILE_FAILED);
    assert_string_equal(fixture->err.message,
                        "Failed to compile droplet: Failed to run finalize script: exit status 7");
    assert_false(test_exists(fixture->droplet));
    /* config.yml is read on failure too, so buildpacks can report why there. */
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(
        &expected,
        "{\"lifecycle_metadata\":{\"buildpack_key\":\"%s\","
        "\"detected_buildpack\":\"finisher\",\"buildpacks\":[{\"key\":\"%s\","
        "\"name\":\"supplied\",\"version\":\"1.0\"},{\"key\":\"%s\","
        "\"name\":\"finisher\",\"output_metadata\":{\"reason\":"
        "\"\\u003cbroken\\u003e\"}}]},\"process_types\":null,\"execution_metadata\":\"\","
        "\"lifecycle_type\":\"buildpack\"}\n",
        final, supplier, final);
    assert_result_json(fixture, expected.buf);

    add_script(fixture, final, "supply", "exit 5\n");
    assert_int_equal(stage(fixture, 2), CFBP_BUILDER_COMPILE_FAILED);
    assert_string_equal(fixture->err.message, "Failed to compile droplet: Failed to run all "
                                              "supply scripts: exit status 5");
    cfbp_strbuf_release(&expected);
    free(supplier);
    free(final);
}

static void a_failing_supply_buildpack_fails_with_225(void **state)
{
    struct fixture *fixture = *state;
    char *supplier = make_buildpack(fixture, "supplier");
    add_script(fixture, supplier, "supply", "exit 4\n");
    char *final = make_recording_buildpack(fixture, "final");
    fixture->buildpacks[0] = supplier;
    fixture->buildpacks[1] = final;
    assert_int_equal(stage(fixture, 2), CFBP_BUILDER_SUPPLY_FAILED);
    assert_string_equal(fixture->err.message, "Failed to run all supply scripts: exit status 4");
    assert_record(fixture, ""); /* the final buildpack never ran */
    assert_false(test_exists(fixture->droplet));

    /* A supply buildpack without bin/supply: nothing runs at all. */
    char *no_supply = make_buildpack(fixture, "no-supply");
    add_script(fixture, no_supply, "finalize", "rec \"$@\"\n");
    fixture->buildpacks[0] = final;
    fixture->buildpacks[1] = no_supply;
    fixture->buildpacks[2] = final;
    assert_int_equal(stage(fixture, 3), CFBP_BUILDER_SUPPLY_FAILED);
    assert_string_equal(fixture->err.message,
                        "Error: one of the buildpacks chosen to supply dependencies does not "
                        "support multi-buildpack apps");
    assert_record(fixture, "");
    free(no_supply);
    free(supplier);
    free(final);
}

/* A buildpack that is not there fails as a download does (1). */
static void a_missing_buildpack_fails_with_1(void **state)
{
    struct fixture *fixture = *state;
    char *missing = test_path(fixture->dir, "no-such-buildpack");
    fixture->buildpacks[0] = missing;
    assert_int_equal(stage(fixture, 1), CFBP_BUILDER_FAILED);
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(
        &expected, "buildpack %s is not a registered buildpack, a directory or a zip", missing);
    assert_string_equal(fixture->err.message, expected.buf);
    assert_false(test_exists(fixture->result));
    cfbp_strbuf_release(&expected);
    free(missing);
}

/*
 * A named buildpack without bin/ (§17): as a supply buildpack, the builder
 * says so twice (once on its own, once in its failure) before running any
 * supply; as the final one, once, after the supply buildpacks ran. 225
 * either way, and no result.json.
 */
static void a_buildpack_without_bin_fails_with_225_where_the_builder_checks(void **state)
{
    struct fixture *fixture = *state;
    char *malformed = test_path(fixture->dir, "nobin");
    char *readme = test_path(malformed, "README");
    test_write_file(readme, "no bin\n", 0644);
    char *supplier = make_recording_buildpack(fixture, "supplier");
    char *final = make_recording_buildpack(fixture, "final");
    struct cfbp_strbuf line = CFBP_STRBUF_INIT, expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&line, "malformed buildpack does not contain a /bin dir: %s",
                              malformed);
    cfbp_strbuf_append_format(&expected, "Failed to run all supply scripts: %s", line.buf);

    /* Second of three: nothing runs, not even the supply buildpack before it. */
    fixture->buildpacks[0] = supplier;
    fixture->buildpacks[1] = malformed;
    fixture->buildpacks[2] = final;
    assert_int_equal(stage(fixture, 3), CFBP_BUILDER_SUPPLY_FAILED);
    assert_string_equal(fixture->err.message, expected.buf);
    cfbp_strbuf_append_char(&line, '\n');
    assert_string_equal(messages(fixture), line.buf);
    assert_record(fixture, "");
    assert_false(test_exists(fixture->result));
    assert_false(test_exists(fixture->droplet));

    /* Final: the supply buildpack runs first; the error is said once. */
    fixture->buildpacks[1] = malformed;
    assert_int_equal(stage(fixture, 2), CFBP_BUILDER_SUPPLY_FAILED);
    assert_string_equal(fixture->err.message, expected.buf);
    assert_string_equal(messages(fixture), line.buf); /* nothing added */
    char cache[17];
    cfbp_builder_cache_name(supplier, cache);
    cfbp_strbuf_reset(&expected);
    cfbp_strbuf_append_format(&expected,
                              "supplier:supply|$WORK/app|$CACHE/%s|$WORK/contents/deps|0\n", cache);
    assert_record(fixture, expected.buf);

    assert_false(test_exists(fixture->result));

    /* Alone, the same. */
    fixture->buildpacks[0] = malformed;
    assert_int_equal(stage(fixture, 1), CFBP_BUILDER_SUPPLY_FAILED);
    cfbp_strbuf_reset(&expected);
    cfbp_strbuf_append_format(&expected,
                              "Failed to run all supply scripts: malformed buildpack does not "
                              "contain a /bin dir: %s",
                              malformed);
    assert_string_equal(fixture->err.message, expected.buf);
    assert_false(test_exists(fixture->result));
    cfbp_strbuf_release(&line);
    cfbp_strbuf_release(&expected);
    free(readme);
    free(malformed);
    free(supplier);
    free(final);
}

/*
 * A script that cannot start or that dies of a signal fails in os/exec's
 * words, as the builder prints them: "fork/exec <path>: <errno>", "signal:
 * killed".
 */
static void scripts_fail_in_the_builders_words(void **state)
{
    struct fixture *fixture = *state;
    char *supplier = make_buildpack(fixture, "supplier");
    add_script_mode(fixture, supplier, "supply", "exit 0\n", 0644);
    char *final = make_recording_buildpack(fixture, "final");
    fixture->buildpacks[0] = supplier;
    fixture->buildpacks[1] = final;
    assert_int_equal(stage(fixture, 2), CFBP_BUILDER_SUPPLY_FAILED);
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&expected,
                              "Failed to run all supply scripts: fork/exec %s/bin/supply: "
                              "permission denied",
                              supplier);
    assert_string_equal(fixture->err.message, expected.buf);
    assert_false(test_exists(fixture->result));

    add_script(fixture, supplier, "supply", "kill -KILL $$\n");
    assert_int_equal(stage(fixture, 2), CFBP_BUILDER_SUPPLY_FAILED);
    assert_string_equal(fixture->err.message, "Failed to run all supply scripts: signal: killed");

    /* A script with no #! line is not an executable to execve. */
    char *bin = test_path(supplier, "bin/supply");
    test_write_file(bin, "exit 0\n", 0755);
    assert_int_equal(stage(fixture, 2), CFBP_BUILDER_SUPPLY_FAILED);
    cfbp_strbuf_reset(&expected);
    cfbp_strbuf_append_format(&expected,
                              "Failed to run all supply scripts: fork/exec %s/bin/supply: exec "
                              "format error",
                              supplier);
    assert_string_equal(fixture->err.message, expected.buf);

    /* The final buildpack's finalize, killed: 223 with result.json. */
    fixture->buildpacks[0] = final;
    add_script(fixture, final, "finalize", "kill -TERM $$\n");
    assert_int_equal(stage(fixture, 1), CFBP_BUILDER_COMPILE_FAILED);
    assert_string_equal(fixture->err.message,
                        "Failed to compile droplet: Failed to run finalize script: signal: "
                        "terminated");
    assert_true(test_exists(fixture->result));
    cfbp_strbuf_release(&expected);
    free(bin);
    free(supplier);
    free(final);
}

/* --- the compile path (§3.4, §10.5) --- */

static void the_compile_path_drops_the_final_deps_directory(void **state)
{
    struct fixture *fixture = *state;
    char *supplier = make_buildpack(fixture, "supplier");
    add_script(fixture, supplier, "supply",
               "mkdir -p \"$3/$4/bin\"; echo tool > \"$3/$4/bin/tool\"\n");
    char *legacy = make_buildpack(fixture, "legacy");
    add_script(fixture, legacy, "compile",
               "rec \"$@\"\necho \"deps: $(ls \"${1%/app}/contents/deps\" | tr '\\n' ' ')\" >> "
               "\"$R\"\necho compiled > \"$1/compiled.txt\"\n");
    add_script(fixture, legacy, "release", "echo 'default_process_types: {web: ./run}'\n");
    fixture->buildpacks[0] = supplier;
    fixture->buildpacks[1] = legacy;
    must_stage(fixture, 2);
    assert_record(fixture, "legacy:compile|$WORK/app|$CACHE/final\ndeps: 0 \n");
    assert_string_equal(messages(fixture),
                        "Warning: the last buildpack is not compatible with multi-buildpack apps "
                        "and cannot make use of any dependencies supplied by the buildpacks "
                        "specified before it\n");
    char *members = droplet_members(fixture->droplet);
    assert_non_null(strstr(members, "./deps/0/bin/tool 0644\n"));
    assert_null(strstr(members, "./deps/1/"));
    assert_non_null(strstr(members, "./app/compiled.txt 0644\n"));
    free(members);

    /* Alone, a compile buildpack gets no warning. */
    fclose(fixture->messages);
    free(fixture->messages_text);
    fixture->messages_text = NULL;
    fixture->messages = open_memstream(&fixture->messages_text, &fixture->messages_length);
    fixture->options.messages = fixture->messages;
    fixture->buildpacks[0] = legacy;
    unlink(fixture->record);
    must_stage(fixture, 1);
    assert_string_equal(messages(fixture), "");
    assert_record(fixture, "legacy:compile|$WORK/app|$CACHE/final\ndeps: \n");
    free(supplier);
    free(legacy);
}

/* A legacy buildpack fails as the builder says it (§17): 223 twice-wrapped, 224 without release. */
static void a_legacy_buildpack_fails_in_the_builders_words(void **state)
{
    struct fixture *fixture = *state;
    char *legacy = make_buildpack(fixture, "legacy");
    add_script(fixture, legacy, "compile", "exit 6\n");
    fixture->buildpacks[0] = legacy;
    assert_int_equal(stage(fixture, 1), CFBP_BUILDER_COMPILE_FAILED);
    assert_string_equal(fixture->err.message,
                        "Failed to compile droplet: Failed to compile droplet: exit status 6");
    assert_true(test_exists(fixture->result));

    add_script(fixture, legacy, "compile", "exit 0\n");
    assert_int_equal(stage(fixture, 1), CFBP_BUILDER_RELEASE_FAILED);
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&expected,
                              "Failed to build droplet release: fork/exec %s/bin/release: no such "
                              "file or directory",
                              legacy);
    assert_string_equal(fixture->err.message, expected.buf);
    assert_string_equal(messages(fixture), ""); /* no warning of ours before it */
    cfbp_strbuf_reset(&expected);
    cfbp_strbuf_append_format(&expected,
                              "{\"lifecycle_metadata\":{\"buildpack_key\":\"%s\","
                              "\"detected_buildpack\":\"\",\"buildpacks\":[{\"key\":\"%s\","
                              "\"name\":\"\"}]},\"process_types\":null,\"execution_metadata\":"
                              "\"\",\"lifecycle_type\":\"buildpack\"}\n",
                              legacy, legacy);
    assert_result_json(fixture, expected.buf);
    assert_false(test_exists(fixture->droplet));
    cfbp_strbuf_release(&expected);
    free(legacy);
}

/* A failed staging leaves no droplet or result.json of an earlier one at its output paths. */
static void a_failed_staging_removes_earlier_outputs(void **state)
{
    struct fixture *fixture = *state;
    char *final = make_recording_buildpack(fixture, "final");
    fixture->buildpacks[0] = final;
    must_stage(fixture, 1);
    assert_true(test_exists(fixture->droplet));
    assert_true(test_exists(fixture->result));
    add_script(fixture, final, "supply", "exit 1\n");
    assert_int_equal(stage(fixture, 1), CFBP_BUILDER_COMPILE_FAILED);
    assert_false(test_exists(fixture->droplet));
    char *text = test_read_file(fixture->result);
    assert_non_null(strstr(text, "\"process_types\":null"));
    free(text);
    /* A failure before the build (the supply phase) writes no result.json: the old one goes. */
    add_script(fixture, final, "supply", "rec \"$@\"\n");
    must_stage(fixture, 1);
    char *supplier = make_buildpack(fixture, "supplier");
    add_script(fixture, supplier, "supply", "exit 2\n");
    fixture->buildpacks[0] = supplier;
    fixture->buildpacks[1] = final;
    assert_int_equal(stage(fixture, 2), CFBP_BUILDER_SUPPLY_FAILED);
    assert_false(test_exists(fixture->droplet));
    assert_false(test_exists(fixture->result));
    free(supplier);
    free(final);
}

/* Profile scripts the launcher's unquoted `source $env_file` will split get a WARNING (§17). */
static void profile_scripts_with_spaces_are_warned_about(void **state)
{
    struct fixture *fixture = *state;
    char *final = make_recording_buildpack(fixture, "final");
    add_script(fixture, final, "finalize",
               "echo 'export A=1' > \"$5/sp ace.sh\"\nmkdir -p \"$1/.profile.d\"\n"
               "echo 'export B=1' > \"$1/.profile.d/star*.sh\"\n"
               "echo 'export C=1' > \"$1/.profile.d/fine.sh\"\n");
    fixture->buildpacks[0] = final;
    must_stage(fixture, 1);
    const char *text = messages(fixture);
    assert_non_null(strstr(text, "WARNING: Cloud Foundry's launcher sources profile scripts "
                                 "through an unquoted variable, so bash splits or expands the "
                                 "name '../profile.d/sp ace.sh' and does not source that file "
                                 "(it tries '../profile.d/sp')"));
    assert_non_null(strstr(text, "'.profile.d/star*.sh'"));
    assert_null(strstr(text, "fine.sh"));
    assert_int_equal(test_count_lines(text), 2);
    free(final);
}

/* --- detection (§3.1, §10.4) --- */

static void register_directory(struct fixture *fixture, const char *name, const char *root)
{
    /* Registering a directory first needs <home>/buildpacks (see test_buildpack_registry). */
    char *buildpacks = test_path(fixture->registry.home, "buildpacks/.keep");
    test_write_file(buildpacks, "", 0644);
    free(buildpacks);
    if (cfbp_registry_add(&fixture->registry, name, root, 0, &fixture->err) != 0)
        fail_msg("cannot register %s: %s", name, fixture->err.message);
}

static void detection_picks_the_first_buildpack_that_detects(void **state)
{
    struct fixture *fixture = *state;
    char *other_stack = make_buildpack(fixture, "other-stack");
    add_script(fixture, other_stack, "detect", "rec \"$@\"\necho Other\n");
    char *manifest = test_path(other_stack, "manifest.yml");
    test_write_file(manifest, "stack: cflinuxfs3\n", 0644);
    char *never = make_buildpack(fixture, "never");
    add_script(fixture, never, "detect", "rec \"$@\"\nexit 1\n");
    char *no_detect = make_buildpack(fixture, "no-detect");
    add_script(fixture, no_detect, "supply", "rec \"$@\"\n");
    char *yes = make_recording_buildpack(fixture, "yes");
    add_script(fixture, yes, "detect", "rec \"$@\"\nprintf 'Yes Buildpack 1.0\\n\\r\\n'\n");
    char *also = make_recording_buildpack(fixture, "also");
    add_script(fixture, also, "detect", "rec \"$@\"\necho Also\n");
    register_directory(fixture, "other-stack", other_stack);
    register_directory(fixture, "never", never);
    register_directory(fixture, "no-detect", no_detect);
    register_directory(fixture, "yes", yes);
    register_directory(fixture, "also", also);
    fixture->options.registry = &fixture->registry;
    must_stage(fixture, 0);
    /* Scripts run from the registry's copies. */
    assert_record(fixture, "never:detect|$WORK/app\n"
                           "yes:detect|$WORK/app\n"
                           "yes:supply|$WORK/app|$CACHE/final|$WORK/contents/deps|0\n"
                           "yes:finalize|$WORK/app|$CACHE/final|$WORK/contents/deps|0|"
                           "$WORK/contents/profile.d\n"
                           "yes:release|$WORK/app\n");
    const char *key = cfbp_registry_find(&fixture->registry, "yes")->key;
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(
        &expected,
        "{\"lifecycle_metadata\":{\"buildpack_key\":\"%s\",\"detected_buildpack\":\"Yes "
        "Buildpack 1.0\",\"buildpacks\":[{\"key\":\"%s\",\"name\":\"Yes Buildpack "
        "1.0\"}]},\"process_types\":{\"web\":\"./run\"},\"processes\":[{\"type\":\"web\","
        "\"command\":\"./run\"}],\"execution_metadata\":\"\",\"lifecycle_type\":\"buildpack\"}\n",
        key, key);
    assert_result_json(fixture, expected.buf);
    char *members = droplet_members(fixture->droplet);
    assert_non_null(strstr(members, "./deps/0/ 0755\n"));
    assert_null(strstr(members, "./deps/1/"));
    free(members);
    cfbp_strbuf_release(&expected);
    free(manifest);
    free(other_stack);
    free(never);
    free(no_detect);
    free(yes);
    free(also);
}

static void config_yml_names_the_detected_buildpack(void **state)
{
    struct fixture *fixture = *state;
    char *named = make_recording_buildpack(fixture, "named");
    add_script(fixture, named, "detect", "echo from-detect\n");
    add_script(fixture, named, "supply", "echo 'name: from-config' > \"$3/$4/config.yml\"\n");
    register_directory(fixture, "named", named);
    fixture->options.registry = &fixture->registry;
    must_stage(fixture, 0);
    char *info = droplet_file(fixture->droplet, "./staging_info.yml");
    assert_string_equal(info,
                        "{\"detected_buildpack\":\"from-config\",\"start_command\":\"./run\"}\n");
    free(info);
    free(named);
}

/*
 * When detecting, the builder looks for the final launch.yml at the last
 * position of its order (the number of candidates less one, §10.6) while the
 * detected buildpack writes deps/0/: with two candidates it is ignored and
 * release runs; with one it is read.
 */
static void
a_detected_buildpacks_launch_yml_is_read_only_when_it_was_the_only_candidate(void **state)
{
    struct fixture *fixture = *state;
    char *never = make_buildpack(fixture, "never");
    add_script(fixture, never, "detect", "exit 1\n");
    char *yes = make_recording_buildpack(fixture, "yes");
    add_script(fixture, yes, "detect", "echo Yes\n");
    add_script(fixture, yes, "supply", "exit 0\n");
    add_script(fixture, yes, "finalize",
               "printf 'processes:\\n- type: web\\n  command: from-launch-yml\\n' > "
               "\"$3/$4/launch.yml\"\n");
    add_script(fixture, yes, "release",
               "echo released >> \"$R\"\necho 'default_process_types: {web: from-release}'\n");
    register_directory(fixture, "yes", yes);
    fixture->options.registry = &fixture->registry;
    must_stage(fixture, 0);
    char *info = droplet_file(fixture->droplet, "./staging_info.yml");
    assert_string_equal(info, "{\"detected_buildpack\":\"Yes\",\"start_command\":"
                              "\"from-launch-yml\"}\n");
    free(info);
    assert_record(fixture, "");
    assert_string_equal(messages(fixture), "");

    register_directory(fixture, "never", never);
    must_stage(fixture, 0);
    info = droplet_file(fixture->droplet, "./staging_info.yml");
    assert_string_equal(info,
                        "{\"detected_buildpack\":\"Yes\",\"start_command\":\"from-release\"}\n");
    free(info);
    assert_record(fixture, "released\n");
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&expected,
                              "WARNING: when it detects among 2 buildpacks, Cloud Foundry's "
                              "builder looks for launch.yml at deps/1/, not deps/0/, so it "
                              "ignores the deps/0/launch.yml that buildpack yes wrote");
    assert_non_null(strstr(messages(fixture), expected.buf));
    cfbp_strbuf_release(&expected);
    free(never);
    free(yes);
}

static void nothing_detected_fails_with_222(void **state)
{
    struct fixture *fixture = *state;
    char *never = make_buildpack(fixture, "never");
    add_script(fixture, never, "detect", "exit 1\n");
    char *not_executable = make_buildpack(fixture, "not-executable");
    add_script_mode(fixture, not_executable, "detect", "exit 0\n", 0644);
    register_directory(fixture, "never", never);
    register_directory(fixture, "not-executable", not_executable);
    fixture->options.registry = &fixture->registry;
    assert_int_equal(stage(fixture, 0), CFBP_BUILDER_DETECT_FAILED);
    assert_string_equal(fixture->err.message,
                        "None of the buildpacks detected a compatible application");
    /* The builder writes no result.json when nothing detected. */
    assert_false(test_exists(fixture->result));
    assert_false(test_exists(fixture->droplet));

    /* No registry at all is the same. */
    fixture->options.registry = NULL;
    assert_int_equal(stage(fixture, 0), CFBP_BUILDER_DETECT_FAILED);
    free(never);
    free(not_executable);
}

/* --- hostile buildpacks: bounded reads, cleanup, stops --- */

/* The pid a script wrote into <dir>/<name>, or 0 when it never did. */
static pid_t pid_from(struct fixture *fixture, const char *name)
{
    char *path = test_path(fixture->dir, name);
    char *text = test_read_file(path);
    pid_t pid = text ? (pid_t)atoi(text) : 0;
    free(text);
    free(path);
    return pid;
}

static bool gone_within(pid_t pid, int milliseconds)
{
    for (int waited = 0; waited < milliseconds && test_process_alive(pid); waited += 10)
        usleep(10 * 1000);
    return !test_process_alive(pid);
}

static void endless_release_output_is_cut_at_1_mib_with_224(void **state)
{
    struct fixture *fixture = *state;
    char *final = make_recording_buildpack(fixture, "final");
    struct cfbp_strbuf body = CFBP_STRBUF_INIT, expected = CFBP_STRBUF_INIT;
    /* A helper left running in the background and endless output: both are killed. */
    cfbp_strbuf_append_format(&body,
                              "sleep 30 & echo $! > '%s/helper.pid'\n"
                              "echo 'default_process_types:'\nexec yes '  web: x'\n",
                              fixture->dir);
    add_script(fixture, final, "release", body.buf);
    fixture->buildpacks[0] = final;
    assert_int_equal(stage(fixture, 1), CFBP_BUILDER_RELEASE_FAILED);
    cfbp_strbuf_append_format(&expected,
                              "Failed to build droplet release: buildpack %s printed more than "
                              "1 MiB (1048576 bytes) on stdout from bin/release, the most that is "
                              "read; the script was stopped",
                              final);
    assert_string_equal(fixture->err.message, expected.buf);
    assert_false(test_exists(fixture->droplet));
    assert_true(test_exists(fixture->result)); /* the minimal one, as for any 224 */
    assert_true(gone_within(pid_from(fixture, "helper.pid"), 2000));
    cfbp_strbuf_release(&body);
    cfbp_strbuf_release(&expected);
    free(final);
}

static void endless_detect_output_is_cut_at_64_kib_with_1(void **state)
{
    struct fixture *fixture = *state;
    char *chatty = make_recording_buildpack(fixture, "chatty");
    add_script(fixture, chatty, "detect", "exec yes Chatty\n");
    register_directory(fixture, "chatty", chatty);
    fixture->options.registry = &fixture->registry;
    assert_int_equal(stage(fixture, 0), CFBP_BUILDER_FAILED);
    assert_string_equal(fixture->err.message,
                        "Failed to detect: buildpack chatty printed more than 64 KiB (65536 "
                        "bytes) on stdout from bin/detect, the most that is read; the script was "
                        "stopped");
    assert_false(test_exists(fixture->droplet));
    free(chatty);
}

static void an_oversized_procfile_launch_yml_or_config_yml_is_refused(void **state)
{
    struct fixture *fixture = *state;
    char *final = make_recording_buildpack(fixture, "final");
    fixture->buildpacks[0] = final;
    /* A Procfile one byte over the limit. */
    struct cfbp_strbuf big = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&big, "web: ./run\n");
    while (big.len < (1 << 20))
        cfbp_strbuf_append_string(&big, "# padding\n");
    cfbp_strbuf_set_length(&big, (1 << 20) + 1);
    char *procfile = test_path(fixture->app, "Procfile");
    test_write_file(procfile, big.buf, 0644);
    assert_int_equal(stage(fixture, 1), CFBP_BUILDER_FAILED);
    assert_string_equal(fixture->err.message,
                        "Failed to read command from Procfile: the Procfile is 1048577 bytes, more "
                        "than the 1 MiB (1048576 bytes) that is read");
    assert_false(test_exists(fixture->droplet));
    unlink(procfile);

    /* A config.yml of 2 MiB fails a staging that went well... */
    add_script(fixture, final, "finalize",
               "head -c 2097152 /dev/zero | tr '\\0' '#' > \"$3/$4/config.yml\"\n");
    assert_int_equal(stage(fixture, 1), CFBP_BUILDER_FAILED);
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&expected,
                              "buildpack %s wrote a config.yml of 2097152 bytes "
                              "(deps/0/config.yml), more than the 1 MiB (1048576 bytes) that is "
                              "read",
                              final);
    assert_string_equal(fixture->err.message, expected.buf);
    assert_false(test_exists(fixture->droplet));
    /* ...and is only warned about in one that failed anyway. */
    add_script(fixture, final, "release", "exit 3\n");
    assert_int_equal(stage(fixture, 1), CFBP_BUILDER_RELEASE_FAILED);
    assert_string_equal(fixture->err.message, "Failed to build droplet release: exit status 3");
    cfbp_strbuf_reset(&expected);
    cfbp_strbuf_append_format(&expected,
                              "WARNING: buildpack %s wrote a config.yml of 2097152 bytes, more "
                              "than the 1 MiB (1048576 bytes) that is read; it is ignored\n",
                              final);
    assert_non_null(strstr(messages(fixture), expected.buf));

    /* A launch.yml over its limit. */
    add_script(fixture, final, "finalize",
               "head -c 2097152 /dev/zero | tr '\\0' '#' > \"$3/$4/launch.yml\"\n");
    assert_int_equal(stage(fixture, 1), CFBP_BUILDER_FAILED);
    assert_true(cfbp_string_starts_with(fixture->err.message,
                                        "cannot read the launch.yml at deps index 0: "));
    assert_non_null(strstr(fixture->err.message, "is larger than 1048576 bytes"));
    cfbp_strbuf_release(&expected);
    cfbp_strbuf_release(&big);
    free(procfile);
    free(final);
}

static void a_droplet_that_cannot_be_written_leaves_no_temporary_files(void **state)
{
    struct fixture *fixture = *state;
    char *final = make_recording_buildpack(fixture, "final");
    fixture->buildpacks[0] = final;
    char *blocker = test_path(fixture->dir, "blocker");
    test_write_file(blocker, "a file, not a directory\n", 0644);
    char *droplet = test_path(blocker, "droplet.tgz");
    fixture->options.droplet = droplet;
    assert_int_equal(stage(fixture, 1), CFBP_BUILDER_FAILED); /* stage() checks TMPDIR */
    assert_true(
        cfbp_string_starts_with(fixture->err.message, "Failed to compress droplet filesystem: "));
    /* A config.yml that is not YAML is ignored, as the builder ignores it. */
    fixture->options.droplet = fixture->droplet;
    add_script(fixture, final, "finalize", "printf 'name: [[[\\n' > \"$3/$4/config.yml\"\n");
    must_stage(fixture, 1);
    free(droplet);
    free(blocker);
    free(final);
}

static void a_stop_request_ends_staging_and_its_scripts(void **state)
{
    struct fixture *fixture = *state;
    int stop[2];
    assert_int_equal(pipe(stop), 0);
    fixture->options.stop_fd = stop[0];
    char *slow = make_recording_buildpack(fixture, "slow");
    struct cfbp_strbuf body = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&body, "sleep 30 & echo $! > '%s/sleep.pid'\nwait\n", fixture->dir);
    add_script(fixture, slow, "supply", body.buf);
    char *final = make_recording_buildpack(fixture, "final");
    fixture->buildpacks[0] = slow;
    fixture->buildpacks[1] = final;
    /* The stop comes from another process once the supply script is running. */
    pid_t requester = fork();
    assert_true(requester >= 0);
    if (requester == 0) {
        for (int i = 0; i < 1000 && !pid_from(fixture, "sleep.pid"); i++)
            usleep(10 * 1000);
        _exit(write(stop[1], "x", 1) == 1 ? 0 : 1);
    }
    time_t started = time(NULL);
    assert_int_equal(stage(fixture, 2), CFBP_BUILDER_STOPPED); /* stage() checks TMPDIR */
    assert_true(time(NULL) - started < 5);
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&expected, "Staging stopped while buildpack %s ran bin/supply", slow);
    assert_string_equal(fixture->err.message, expected.buf);
    assert_true(gone_within(pid_from(fixture, "sleep.pid"), 2000));
    assert_false(test_exists(fixture->droplet));
    assert_false(test_exists(fixture->result)); /* a stopped staging writes nothing */
    waitpid(requester, NULL, 0);

    /* Asked before it starts: nothing runs at all. */
    assert_int_equal(stage(fixture, 2), CFBP_BUILDER_STOPPED);
    assert_string_equal(fixture->err.message, "Staging stopped");
    assert_record(fixture, "");
    close(stop[0]);
    close(stop[1]);
    cfbp_strbuf_release(&expected);
    cfbp_strbuf_release(&body);
    free(slow);
    free(final);
}

/* --- the droplet (§4.5, §10.7) --- */

static void the_droplet_is_laid_out_like_the_builders(void **state)
{
    struct fixture *fixture = *state;
    char *run = test_path(fixture->app, "bin/run");
    test_write_file(run, "#!/bin/sh\n", 0750);
    char *secret = test_path(fixture->app, "secret");
    test_write_file(secret, "s", 0600);
    char *git = test_path(fixture->app, ".git/HEAD");
    test_write_file(git, "ref", 0644);
    char *cfignore = test_path(fixture->app, ".cfignore");
    test_write_file(cfignore, "x\n", 0644);
    char *final = make_recording_buildpack(fixture, "final");
    add_script(fixture, final, "supply",
               "mkdir -p \"$3/$4/bin\"\nprintf tool > \"$3/$4/bin/tool\"\nchmod 0755 "
               "\"$3/$4/bin/tool\"\n");
    add_script(fixture, final, "finalize",
               "printf 'export A=1\\n' > \"$5/0_a.sh\"\nchmod 0755 \"$5/0_a.sh\"\n"
               "echo built > \"$1/built.txt\"\n");
    fixture->buildpacks[0] = final;
    must_stage(fixture, 1);
    char *members = droplet_members(fixture->droplet);
    /* The root is 0700: the builder makes it with os.MkdirTemp (§17). */
    assert_string_equal(members, "./ 0700\n"
                                 "./app/ 0755\n"
                                 "./app/bin/ 0755\n"
                                 "./app/bin/run 0750\n"
                                 "./app/built.txt 0644\n"
                                 "./app/index.html 0644\n"
                                 "./app/secret 0600\n"
                                 "./deps/ 0755\n"
                                 "./deps/0/ 0755\n"
                                 "./deps/0/bin/ 0755\n"
                                 "./deps/0/bin/tool 0755\n"
                                 "./logs/ 0755\n"
                                 "./profile.d/ 0755\n"
                                 "./profile.d/0_a.sh 0755\n"
                                 "./staging_info.yml 0644\n"
                                 "./tmp/ 0755\n");
    free(members);
    char *text = droplet_file(fixture->droplet, "./deps/0/bin/tool");
    assert_string_equal(text, "tool");
    free(text);
    text = droplet_file(fixture->droplet, "./app/built.txt");
    assert_string_equal(text, "built\n");
    free(text);
    free(final);
    free(cfignore);
    free(git);
    free(secret);
    free(run);
}

static void the_app_directory_is_never_changed(void **state)
{
    struct fixture *fixture = *state;
    char *run = test_path(fixture->app, "bin/run");
    test_write_file(run, "#!/bin/sh\n", 0750);
    char *before = snapshot(fixture->app);
    char *final = make_recording_buildpack(fixture, "final");
    add_script(fixture, final, "supply", "rm -rf \"$1\"/*; echo changed > \"$1/index.html\"\n");
    add_script(fixture, final, "finalize", "chmod 0600 \"$1/index.html\"; mkdir \"$1/new\"\n");
    fixture->buildpacks[0] = final;
    must_stage(fixture, 1);
    char *after = snapshot(fixture->app);
    assert_string_equal(after, before);
    char *text = droplet_file(fixture->droplet, "./app/index.html");
    assert_string_equal(text, "changed\n");
    free(text);
    free(after);
    free(before);
    free(final);
    free(run);
}

static void a_zip_buildpack_with_a_top_directory_stages(void **state)
{
    struct fixture *fixture = *state;
    static const char release[] = "#!/bin/sh\necho 'default_process_types: {web: zipped}'\n";
    static const struct test_entry entries[] = {
        {"top/bin/finalize", 'f', 0755, "#!/bin/sh\nexit 0\n", 0},
        {"top/bin/release", 'f', 0755, release, 0},
    };
    char *zip = test_path(fixture->dir, "bp.zip");
    test_make_archive(zip, TEST_ZIP, entries, 2);
    fixture->buildpacks[0] = zip;
    must_stage(fixture, 1);
    char *info = droplet_file(fixture->droplet, "./staging_info.yml");
    assert_string_equal(info, "{\"detected_buildpack\":\"\",\"start_command\":\"zipped\"}\n");
    free(info);
    free(zip);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(each_script_gets_the_builders_arguments),
        cmocka_unit_test(cache_names_are_xxh64_of_the_key),
        TEST(one_buildpack_gets_index_0),
        TEST(ten_buildpacks_get_two_digit_indices),
        TEST(eleven_buildpacks_end_at_10),
        TEST(ten_buildpacks_have_their_launch_yml_ignored_as_on_cloud_foundry),
        TEST(twelve_buildpacks_have_launch_yml_read_from_position_10_on),
        TEST(nine_buildpacks_have_every_launch_yml_read),
        TEST(the_cache_keeps_final_and_the_current_supply_caches),
        TEST(scripts_get_the_staging_environment),
        TEST(the_app_can_give_its_services),
        TEST(release_is_skipped_when_the_final_buildpack_wrote_launch_yml),
        TEST(release_output_that_is_not_yaml_fails_with_224),
        TEST(a_failing_release_fails_with_224),
        TEST(a_procfile_wins_over_release),
        TEST(a_procfile_that_is_not_yaml_fails_with_1),
        TEST(no_start_command_is_only_a_message),
        TEST(a_failing_final_buildpack_fails_with_223),
        TEST(a_failing_supply_buildpack_fails_with_225),
        TEST(a_missing_buildpack_fails_with_1),
        TEST(a_buildpack_without_bin_fails_with_225_where_the_builder_checks),
        TEST(scripts_fail_in_the_builders_words),
        TEST(endless_release_output_is_cut_at_1_mib_with_224),
        TEST(endless_detect_output_is_cut_at_64_kib_with_1),
        TEST(an_oversized_procfile_launch_yml_or_config_yml_is_refused),
        TEST(a_droplet_that_cannot_be_written_leaves_no_temporary_files),
        TEST(a_stop_request_ends_staging_and_its_scripts),
        TEST(the_compile_path_drops_the_final_deps_directory),
        TEST(a_legacy_buildpack_fails_in_the_builders_words),
        TEST(a_failed_staging_removes_earlier_outputs),
        TEST(profile_scripts_with_spaces_are_warned_about),
        TEST(detection_picks_the_first_buildpack_that_detects),
        TEST(config_yml_names_the_detected_buildpack),
        TEST(a_detected_buildpacks_launch_yml_is_read_only_when_it_was_the_only_candidate),
        TEST(nothing_detected_fails_with_222),
        TEST(the_droplet_is_laid_out_like_the_builders),
        TEST(the_app_directory_is_never_changed),
        TEST(a_zip_buildpack_with_a_top_directory_stages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
