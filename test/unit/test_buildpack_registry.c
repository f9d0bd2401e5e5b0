/*
 * test_buildpack_registry.c - named buildpacks on this machine, as
 * `cf create-buildpack` / `cf delete-buildpack` keep them (contract §2.1):
 * zips made here with libarchive and buildpack directories, registered in a
 * temporary CFBP_HOME, the saved buildpacks.yml read back, and every refusal
 * checked to leave nothing behind.
 */
#include "support.h"

#include "cfbp/buildpack_registry.h"
#include "cfbp/digest.h"
#include "cfbp/error.h"
#include "cfbp/strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct fixture {
    char *dir;
    char *home;       /* <dir>/home: the registry (not created in advance) */
    char *zip;        /* <dir>/bp.zip */
    char *source_dir; /* <dir>/source: a buildpack directory */
    struct cfbp_registry registry;
    struct cfbp_error err;
};

static const char manifest_fs4[] = "language: thing\nstack: cflinuxfs4\n";

static const struct test_entry zip_entries[] = {
    {"bin", 'd', 0755, NULL, 0},
    {"bin/supply", 'f', 0755, "#!/bin/sh\nexit 0\n", 0},
    {"bin/finalize", 'f', 0700, "#!/bin/sh\nexit 0\n", 0},
    {"manifest.yml", 'f', 0644, manifest_fs4, 0},
    {"VERSION", 'f', 0644, "1.0.0", 0},
};

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    fixture->dir = test_make_dir();
    fixture->home = test_path(fixture->dir, "home");
    fixture->zip = test_path(fixture->dir, "bp.zip");
    fixture->source_dir = test_path(fixture->dir, "source");
    test_make_archive(fixture->zip, TEST_ZIP, zip_entries,
                      sizeof(zip_entries) / sizeof(*zip_entries));
    char *detect = test_path(fixture->source_dir, "bin/detect");
    test_write_file(detect, "#!/bin/sh\necho dir\n", 0755);
    free(detect);
    if (cfbp_registry_load(&fixture->registry, fixture->home, &fixture->err) != 0)
        fail_msg("%s", fixture->err.message);
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    cfbp_registry_release(&fixture->registry);
    cfbp_error_clear(&fixture->err);
    free(fixture->home);
    free(fixture->zip);
    free(fixture->source_dir);
    test_remove_dir(fixture->dir);
    free(fixture);
    return 0;
}

/* --- helpers --- */

static int add(struct fixture *fixture, const char *name, const char *source, unsigned position)
{
    return cfbp_registry_add(&fixture->registry, name, source, position, &fixture->err);
}

static void must_add(struct fixture *fixture, const char *name, const char *source,
                     unsigned position)
{
    if (add(fixture, name, source, position) != 0)
        fail_msg("cannot add %s: %s", name, fixture->err.message);
    assert_null(fixture->err.message);
}

/* "name:position" for every buildpack, space-separated. */
static const char *order(const struct cfbp_registry *registry)
{
    static char text[1024];
    text[0] = '\0';
    for (size_t i = 0; i < registry->count; i++) {
        size_t used = strlen(text);
        snprintf(text + used, sizeof(text) - used, "%s%s:%u", i ? " " : "",
                 registry->buildpacks[i].name, registry->buildpacks[i].position);
    }
    return text;
}

static char *unpacked(struct fixture *fixture, const char *name)
{
    char *buildpacks = test_path(fixture->home, "buildpacks");
    char *path = test_path(buildpacks, name);
    free(buildpacks);
    return path;
}

static mode_t mode_of(const char *path)
{
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    return st.st_mode & 07777;
}

static char *make_zip(struct fixture *fixture, const char *name, const struct test_entry *entries,
                      size_t count)
{
    char *path = test_path(fixture->dir, name);
    test_make_archive(path, TEST_ZIP, entries, count);
    return path;
}

/* Nothing of name is left: no unpacked files, no temporary directories, no index entry. */
static void assert_nothing_left(struct fixture *fixture, const char *name)
{
    char *path = unpacked(fixture, name);
    assert_false(test_exists(path));
    free(path);
    char *buildpacks = test_path(fixture->home, "buildpacks");
    assert_int_equal(test_count_entries(buildpacks), 0);
    free(buildpacks);
    assert_null(cfbp_registry_find(&fixture->registry, name));
}

/* --- cases --- */

static void adds_a_zip_and_a_directory(void **state)
{
    struct fixture *fixture = *state;
    must_add(fixture, "zipped", fixture->zip, 0);
    must_add(fixture, "plain", fixture->source_dir, 0);
    assert_string_equal(order(&fixture->registry), "zipped:1 plain:2");

    const struct cfbp_registered_buildpack *zipped =
        cfbp_registry_find(&fixture->registry, "zipped");
    assert_non_null(zipped);
    struct cfbp_strbuf key = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&key, "zipped_%s", test_sha256_of_file(fixture->zip));
    assert_string_equal(zipped->key, key.buf);
    assert_string_equal(zipped->stack, "cflinuxfs4");
    char *root = unpacked(fixture, "zipped");
    assert_string_equal(zipped->root, root);
    char *supply = test_path(root, "bin/supply");
    char *finalize = test_path(root, "bin/finalize");
    assert_int_equal(mode_of(supply), 0755);
    assert_int_equal(mode_of(finalize), 0700);
    char *text = test_read_file(supply);
    assert_string_equal(text, "#!/bin/sh\nexit 0\n");
    free(text);

    /* A directory is copied; its path stands in for the zip's digest. */
    const struct cfbp_registered_buildpack *plain = cfbp_registry_find(&fixture->registry, "plain");
    assert_non_null(plain);
    char sha256[CFBP_DIGEST_HEX_SIZE];
    cfbp_digest_of_bytes(CFBP_DIGEST_SHA256, fixture->source_dir, strlen(fixture->source_dir),
                         sha256);
    cfbp_strbuf_reset(&key);
    cfbp_strbuf_append_format(&key, "plain_%s", sha256);
    assert_string_equal(plain->key, key.buf);
    assert_null(plain->stack);
    char *plain_root = unpacked(fixture, "plain");
    assert_string_equal(plain->root, plain_root);
    char *detect = test_path(plain_root, "bin/detect");
    assert_int_equal(mode_of(detect), 0755);
    assert_null(cfbp_registry_find(&fixture->registry, "other"));

    free(detect);
    free(plain_root);
    free(supply);
    free(finalize);
    free(root);
    cfbp_strbuf_release(&key);
}

/* `cfbp create-buildpack NAME DIR` on a fresh registry: nothing else made <home>/buildpacks yet. */
static void a_directory_can_be_the_first_buildpack(void **state)
{
    struct fixture *fixture = *state;
    must_add(fixture, "plain", fixture->source_dir, 0);
    assert_string_equal(order(&fixture->registry), "plain:1");
    char *root = unpacked(fixture, "plain");
    char *detect = test_path(root, "bin/detect");
    assert_true(test_exists(detect));
    free(detect);
    free(root);
}

static void positions_move_the_others_down(void **state)
{
    struct fixture *fixture = *state;
    must_add(fixture, "a", fixture->zip, 0);
    must_add(fixture, "b", fixture->source_dir, 0);
    must_add(fixture, "c", fixture->source_dir, 0);
    assert_string_equal(order(&fixture->registry), "a:1 b:2 c:3");
    must_add(fixture, "d", fixture->source_dir, 1);
    assert_string_equal(order(&fixture->registry), "d:1 a:2 b:3 c:4");
    must_add(fixture, "e", fixture->source_dir, 3);
    assert_string_equal(order(&fixture->registry), "d:1 a:2 e:3 b:4 c:5");
    must_add(fixture, "f", fixture->source_dir, 99);
    assert_string_equal(order(&fixture->registry), "d:1 a:2 e:3 b:4 c:5 f:6");
    must_add(fixture, "g", fixture->source_dir, 7); /* just past the end: last */
    must_add(fixture, "h", fixture->source_dir, 7); /* the last one's place */
    assert_string_equal(order(&fixture->registry), "d:1 a:2 e:3 b:4 c:5 f:6 h:7 g:8");
}

static void the_registry_is_saved_and_read_back(void **state)
{
    struct fixture *fixture = *state;
    must_add(fixture, "zipped", fixture->zip, 0);
    must_add(fixture, "plain", fixture->source_dir, 0);

    char *index = test_path(fixture->home, "buildpacks.yml");
    char *text = test_read_file(index);
    assert_non_null(text);
    const struct cfbp_registered_buildpack *zipped = &fixture->registry.buildpacks[0];
    const struct cfbp_registered_buildpack *plain = &fixture->registry.buildpacks[1];
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&expected,
                              "# Buildpacks registered with cfbp create-buildpack, in position "
                              "order.\n"
                              "buildpacks:\n"
                              "- name: zipped\n"
                              "  position: 1\n"
                              "  key: %s\n"
                              "  stack: cflinuxfs4\n"
                              "  root: %s\n"
                              "- name: plain\n"
                              "  position: 2\n"
                              "  key: %s\n"
                              "  root: %s\n",
                              zipped->key, zipped->root, plain->key, plain->root);
    assert_string_equal(text, expected.buf);

    struct cfbp_registry again;
    assert_int_equal(cfbp_registry_load(&again, fixture->home, &fixture->err), 0);
    assert_string_equal(again.home, fixture->home);
    assert_int_equal(again.count, 2);
    for (size_t i = 0; i < again.count; i++) {
        const struct cfbp_registered_buildpack *a = &again.buildpacks[i];
        const struct cfbp_registered_buildpack *b = &fixture->registry.buildpacks[i];
        assert_string_equal(a->name, b->name);
        assert_int_equal(a->position, b->position);
        assert_string_equal(a->key, b->key);
        assert_string_equal(a->root, b->root);
        if (b->stack)
            assert_string_equal(a->stack, b->stack);
        else
            assert_null(a->stack);
    }
    cfbp_registry_release(&again);
    cfbp_strbuf_release(&expected);
    free(text);
    free(index);
}

static void a_missing_registry_is_empty_and_a_broken_one_is_an_error(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(fixture->registry.count, 0);
    assert_string_equal(fixture->registry.home, fixture->home);
    assert_false(test_exists(fixture->home)); /* loading creates nothing */

    char *index = test_path(fixture->home, "buildpacks.yml");
    test_write_file(index, "buildpacks:\n- name: x\n  key: k\n", 0644);
    struct cfbp_registry broken;
    assert_int_equal(cfbp_registry_load(&broken, fixture->home, &fixture->err), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_INVALID);
    assert_non_null(strstr(fixture->err.message, "buildpacks[0] has no 'root'"));
    assert_int_equal(broken.count, 0);
    assert_string_equal(broken.home, fixture->home);
    cfbp_registry_release(&broken);
    cfbp_error_clear(&fixture->err);

    test_write_file(index, "buildpacks: {a: b}\n", 0644);
    assert_int_equal(cfbp_registry_load(&broken, fixture->home, &fixture->err), -1);
    assert_non_null(strstr(fixture->err.message, "buildpacks must be a list"));
    cfbp_registry_release(&broken);
    free(index);
}

static void a_zip_with_one_top_directory(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_entry nested[] = {
        {"thing-buildpack-1.0/bin/supply", 'f', 0755, "#!/bin/sh\n", 0},
        {"thing-buildpack-1.0/manifest.yml", 'f', 0644, "stack: cflinuxfs3\n", 0},
    };
    char *zip = make_zip(fixture, "nested.zip", nested, 2);
    must_add(fixture, "nested", zip, 0);
    const struct cfbp_registered_buildpack *entry =
        cfbp_registry_find(&fixture->registry, "nested");
    char *top = unpacked(fixture, "nested");
    char *root = test_path(top, "thing-buildpack-1.0");
    assert_string_equal(entry->root, root);
    assert_string_equal(entry->stack, "cflinuxfs3");
    char *supply = test_path(root, "bin/supply");
    assert_int_equal(mode_of(supply), 0755);
    free(supply);
    free(root);
    free(top);
    free(zip);
}

static void a_buildpack_without_bin_is_refused(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_entry no_bin[] = {
        {"README.md", 'f', 0644, "no bin here\n", 0},
        {"lib/thing", 'f', 0644, "x", 0},
    };
    char *zip = make_zip(fixture, "malformed.zip", no_bin, 2);
    assert_int_equal(add(fixture, "malformed", zip, 0), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_INVALID);
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&expected, "malformed buildpack does not contain a /bin dir: %s",
                              zip);
    assert_string_equal(fixture->err.message, expected.buf);
    assert_nothing_left(fixture, "malformed");
    char *index = test_path(fixture->home, "buildpacks.yml");
    assert_false(test_exists(index));
    cfbp_error_clear(&fixture->err);

    /* A directory without bin/ likewise, and the registry is unchanged. */
    must_add(fixture, "good", fixture->zip, 0);
    char *empty_dir = test_path(fixture->dir, "empty-dir");
    char *readme = test_path(empty_dir, "README");
    test_write_file(readme, "x", 0644);
    assert_int_equal(add(fixture, "bad", empty_dir, 1), -1);
    cfbp_strbuf_reset(&expected);
    cfbp_strbuf_append_format(&expected, "malformed buildpack does not contain a /bin dir: %s",
                              empty_dir);
    assert_string_equal(fixture->err.message, expected.buf);
    char *bad = unpacked(fixture, "bad");
    assert_false(test_exists(bad));
    assert_string_equal(order(&fixture->registry), "good:1");
    struct cfbp_registry again;
    assert_int_equal(cfbp_registry_load(&again, fixture->home, &fixture->err), 0);
    assert_string_equal(order(&again), "good:1");
    cfbp_registry_release(&again);

    free(bad);
    free(readme);
    free(empty_dir);
    free(index);
    cfbp_strbuf_release(&expected);
    free(zip);
}

static void a_taken_name_is_refused(void **state)
{
    struct fixture *fixture = *state;
    must_add(fixture, "thing", fixture->zip, 0);
    char *root = unpacked(fixture, "thing");
    char *supply = test_path(root, "bin/supply");
    assert_int_equal(add(fixture, "thing", fixture->source_dir, 0), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_USAGE);
    assert_string_equal(fixture->err.message, "buildpack thing already exists; delete it first "
                                              "(cfbp delete-buildpack thing)");
    /* The registered one is untouched. */
    assert_string_equal(order(&fixture->registry), "thing:1");
    assert_true(test_exists(supply));
    char *detect = test_path(root, "bin/detect");
    assert_false(test_exists(detect));
    free(detect);
    free(supply);
    free(root);
}

static void unsafe_names_are_refused(void **state)
{
    struct fixture *fixture = *state;
    static const char *const names[] = {"",          ".",    "..",        "a/b",
                                        "../escape", "/abs", "tab\there", "new\nline"};
    for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
        assert_int_equal(add(fixture, names[i], fixture->zip, 0), -1);
        assert_int_equal(fixture->err.kind, CFBP_ERROR_USAGE);
        struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
        cfbp_strbuf_append_format(&expected, "'%s' cannot be a buildpack name", names[i]);
        assert_string_equal(fixture->err.message, expected.buf);
        cfbp_strbuf_release(&expected);
        cfbp_error_clear(&fixture->err);
    }
    assert_false(test_exists(fixture->home));
    assert_int_equal(test_count_entries(fixture->dir), 4); /* bp.zip, source/bin/detect */
}

static void a_missing_source_is_not_found(void **state)
{
    struct fixture *fixture = *state;
    char *missing = test_path(fixture->dir, "missing.zip");
    assert_int_equal(add(fixture, "missing", missing, 0), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_NOT_FOUND);
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&expected, "%s does not exist", missing);
    assert_string_equal(fixture->err.message, expected.buf);
    cfbp_strbuf_release(&expected);
    free(missing);
}

static void a_zip_that_is_not_a_zip_is_refused(void **state)
{
    struct fixture *fixture = *state;
    char *junk = test_path(fixture->dir, "junk.zip");
    test_write_file(junk, "this is not a zip\n", 0644);
    assert_int_equal(add(fixture, "junk", junk, 0), -1);
    assert_true(cfbp_string_starts_with(fixture->err.message, "cannot unpack the buildpack "));
    assert_nothing_left(fixture, "junk");
    free(junk);
}

static void remove_renumbers_and_deletes_the_files(void **state)
{
    struct fixture *fixture = *state;
    must_add(fixture, "a", fixture->zip, 0);
    must_add(fixture, "b", fixture->zip, 0);
    must_add(fixture, "c", fixture->source_dir, 0);
    char *b_root = unpacked(fixture, "b");
    assert_true(test_exists(b_root));
    assert_int_equal(cfbp_registry_remove(&fixture->registry, "b", &fixture->err), 0);
    assert_string_equal(order(&fixture->registry), "a:1 c:2");
    assert_false(test_exists(b_root));
    char *a_root = unpacked(fixture, "a");
    assert_true(test_exists(a_root));

    struct cfbp_registry again;
    assert_int_equal(cfbp_registry_load(&again, fixture->home, &fixture->err), 0);
    assert_string_equal(order(&again), "a:1 c:2");
    cfbp_registry_release(&again);

    assert_int_equal(cfbp_registry_remove(&fixture->registry, "b", &fixture->err), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_NOT_FOUND);
    assert_string_equal(fixture->err.message, "buildpack b does not exist");
    cfbp_error_clear(&fixture->err);

    assert_int_equal(cfbp_registry_remove(&fixture->registry, "a", &fixture->err), 0);
    assert_int_equal(cfbp_registry_remove(&fixture->registry, "c", &fixture->err), 0);
    assert_int_equal(fixture->registry.count, 0);
    char *buildpacks = test_path(fixture->home, "buildpacks");
    assert_int_equal(test_count_entries(buildpacks), 0);
    /* The name can be used again. */
    must_add(fixture, "b", fixture->source_dir, 0);
    assert_string_equal(order(&fixture->registry), "b:1");
    free(buildpacks);
    free(a_root);
    free(b_root);
}

static void a_manifest_over_one_mebibyte_is_refused(void **state)
{
    struct fixture *fixture = *state;
    const size_t limit = 1024 * 1024;
    struct test_entry entries[] = {
        {"bin/supply", 'f', 0755, "#!/bin/sh\n", 0},
        {"manifest.yml", 'f', 0644, NULL, limit + 1},
    };
    char *zip = make_zip(fixture, "big.zip", entries, 2);
    assert_int_equal(add(fixture, "big", zip, 0), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_INVALID);
    char *root = unpacked(fixture, "big");
    char *manifest = test_path(root, "manifest.yml");
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&expected, "buildpack manifest is too large (%s)", manifest);
    assert_string_equal(fixture->err.message, expected.buf);
    assert_nothing_left(fixture, "big");
    cfbp_error_clear(&fixture->err);

    /* Exactly 1 MiB is allowed (a plain scalar of pattern bytes, with no stack). */
    entries[1].size = limit;
    free(zip);
    zip = make_zip(fixture, "limit.zip", entries, 2);
    must_add(fixture, "limit", zip, 0);
    assert_null(cfbp_registry_find(&fixture->registry, "limit")->stack);

    cfbp_strbuf_release(&expected);
    free(manifest);
    free(root);
    free(zip);
}

static void a_manifest_that_is_not_yaml_is_refused(void **state)
{
    struct fixture *fixture = *state;
    static const struct test_entry entries[] = {
        {"bin/supply", 'f', 0755, "#!/bin/sh\n", 0},
        {"manifest.yml", 'f', 0644, "language: x\nstack: [unclosed\n", 0},
    };
    char *zip = make_zip(fixture, "invalid.zip", entries, 2);
    assert_int_equal(add(fixture, "invalid", zip, 0), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_INVALID);
    assert_true(cfbp_string_starts_with(fixture->err.message, "buildpack manifest is not valid: "));
    assert_nothing_left(fixture, "invalid");
    cfbp_error_clear(&fixture->err);

    /* A directory's manifest is checked the same way. */
    char *manifest = test_path(fixture->source_dir, "manifest.yml");
    test_write_file(manifest, "a: b\na: c\n", 0644);
    assert_int_equal(add(fixture, "dup-keys", fixture->source_dir, 0), -1);
    assert_true(cfbp_string_starts_with(fixture->err.message, "buildpack manifest is not valid: "));
    assert_nothing_left(fixture, "dup-keys");
    free(manifest);
    free(zip);
}

static void the_home_comes_from_cfbp_home_or_home(void **state)
{
    struct fixture *fixture = *state;
    const char *saved_cfbp = getenv("CFBP_HOME");
    const char *saved_home = getenv("HOME");
    char *cfbp_copy = saved_cfbp ? strdup(saved_cfbp) : NULL;
    char *home_copy = saved_home ? strdup(saved_home) : NULL;
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;

    setenv("CFBP_HOME", fixture->home, 1);
    setenv("HOME", "/somewhere/else", 1);
    assert_int_equal(cfbp_registry_default_home(&out, &fixture->err), 0);
    assert_string_equal(out.buf, fixture->home);

    char *cwd = getcwd(NULL, 0);
    setenv("CFBP_HOME", "relative/registry", 1);
    cfbp_strbuf_reset(&out);
    assert_int_equal(cfbp_registry_default_home(&out, &fixture->err), 0);
    char *absolute = test_path(cwd, "relative/registry");
    assert_string_equal(out.buf, absolute);

    setenv("CFBP_HOME", "", 1);
    cfbp_strbuf_reset(&out);
    assert_int_equal(cfbp_registry_default_home(&out, &fixture->err), 0);
    assert_string_equal(out.buf, "/somewhere/else/.cfbp");

    unsetenv("CFBP_HOME");
    unsetenv("HOME");
    cfbp_strbuf_reset(&out);
    assert_int_equal(cfbp_registry_default_home(&out, &fixture->err), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_USAGE);
    assert_string_equal(fixture->err.message,
                        "neither CFBP_HOME nor HOME is set; set CFBP_HOME to a directory for "
                        "registered buildpacks");

    if (cfbp_copy)
        setenv("CFBP_HOME", cfbp_copy, 1);
    if (home_copy)
        setenv("HOME", home_copy, 1);
    free(cfbp_copy);
    free(home_copy);
    free(absolute);
    free(cwd);
    cfbp_strbuf_release(&out);
}

#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        TEST(adds_a_zip_and_a_directory),
        TEST(a_directory_can_be_the_first_buildpack),
        TEST(positions_move_the_others_down),
        TEST(the_registry_is_saved_and_read_back),
        TEST(a_missing_registry_is_empty_and_a_broken_one_is_an_error),
        TEST(a_zip_with_one_top_directory),
        TEST(a_buildpack_without_bin_is_refused),
        TEST(a_taken_name_is_refused),
        TEST(unsafe_names_are_refused),
        TEST(a_missing_source_is_not_found),
        TEST(a_zip_that_is_not_a_zip_is_refused),
        TEST(remove_renumbers_and_deletes_the_files),
        TEST(a_manifest_over_one_mebibyte_is_refused),
        TEST(a_manifest_that_is_not_yaml_is_refused),
        TEST(the_home_comes_from_cfbp_home_or_home),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
