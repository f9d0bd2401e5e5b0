/*
 * test_path.c - joining and taking apart path strings (pure string work).
 */
#include "support.h"

#include "cfbp/error.h"
#include "cfbp/path.h"
#include "cfbp/strbuf.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void check_join(const char *base, const char *name, const char *expected)
{
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    cfbp_strbuf_set(&out, "old contents are replaced");
    cfbp_path_join(&out, base, name);
    if (strcmp(out.buf, expected) != 0)
        fail_msg("join(\"%s\", \"%s\") = \"%s\", expected \"%s\"", base, name, out.buf, expected);
    assert_int_equal(out.len, strlen(expected));
    cfbp_strbuf_release(&out);
}

static void join_puts_exactly_one_slash_between(void **state)
{
    (void)state;
    check_join("a", "b", "a/b");
    check_join("a/", "b", "a/b");
    check_join("a", "/b", "a/b");
    check_join("a/", "/b", "a/b");
    check_join("a", "///b", "a/b");
    check_join("/", "b", "/b");
    check_join("/", "/b", "/b");
    check_join("/tmp/x", "a/b", "/tmp/x/a/b");
    check_join("/tmp/x", "bin/supply", "/tmp/x/bin/supply");
}

static void join_with_an_empty_base_stays_relative(void **state)
{
    (void)state;
    /* Go's filepath.Join("", "b") is "b": an empty base must not make the name absolute. */
    check_join("", "b", "b");
}

static void append_adds_one_slash(void **state)
{
    (void)state;
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    cfbp_strbuf_set(&out, "/deps");
    cfbp_path_append(&out, "0");
    assert_string_equal(out.buf, "/deps/0");
    cfbp_path_append(&out, "/bin");
    assert_string_equal(out.buf, "/deps/0/bin");
    cfbp_strbuf_set(&out, "/deps/");
    cfbp_path_append(&out, "//env");
    assert_string_equal(out.buf, "/deps/env");
    cfbp_strbuf_set(&out, "/");
    cfbp_path_append(&out, "etc");
    assert_string_equal(out.buf, "/etc");
    assert_int_equal(out.len, 4);
    cfbp_strbuf_release(&out);
}

static void check_basename(const char *path, const char *expected)
{
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    const char *result = cfbp_path_basename(&out, path);
    if (strcmp(result, expected) != 0)
        fail_msg("basename(\"%s\") = \"%s\", expected \"%s\"", path, result, expected);
    assert_ptr_equal(result, out.buf);
    assert_int_equal(out.len, strlen(expected));
    cfbp_strbuf_release(&out);
}

static void basename_takes_the_last_component(void **state)
{
    (void)state;
    check_basename("a", "a");
    check_basename("a/", "a");
    check_basename("a//", "a");
    check_basename("/a/b/", "b");
    check_basename("/a/b", "b");
    check_basename("dir/file.tar.gz", "file.tar.gz");
    check_basename("/a", "a");
}

static void basename_of_root_is_root(void **state)
{
    (void)state;
    /* Go's filepath.Base("/") is "/" and POSIX basename("/") is "/", never "". */
    check_basename("/", "/");
    check_basename("//", "/");
}

static void check_dirname(const char *path, const char *expected)
{
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    cfbp_strbuf_set(&out, "replaced");
    cfbp_path_dirname(&out, path);
    if (strcmp(out.buf, expected) != 0)
        fail_msg("dirname(\"%s\") = \"%s\", expected \"%s\"", path, out.buf, expected);
    cfbp_strbuf_release(&out);
}

static void dirname_takes_everything_before_the_last_component(void **state)
{
    (void)state;
    check_dirname("/", "/");
    check_dirname("a", ".");
    check_dirname("a/", ".");
    check_dirname("/a", "/");
    check_dirname("/a/b/", "/a");
    check_dirname("/a/b", "/a");
    check_dirname("a/b", "a");
    check_dirname("a//b", "a");
    check_dirname("//a", "/");
    check_dirname("/root/bin/supply", "/root/bin");
}

static void check_absolute(const char *path, const char *expected)
{
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    cfbp_strbuf_set(&out, "replaced");
    assert_int_equal(cfbp_path_absolute(&out, path, &err), 0);
    assert_null(err.message);
    if (strcmp(out.buf, expected) != 0)
        fail_msg("absolute(\"%s\") = \"%s\", expected \"%s\"", path, out.buf, expected);
    cfbp_strbuf_release(&out);
}

static void absolute_cleans_absolute_paths(void **state)
{
    (void)state;
    check_absolute("/", "/");
    check_absolute("/a/b", "/a/b");
    check_absolute("/a//b/", "/a/b");
    check_absolute("/a/./b/.", "/a/b");
    check_absolute("/a/b/../c", "/a/c");
    check_absolute("/a/b/../../..", "/");
    check_absolute("/..", "/");
    check_absolute("/../x", "/x");
    check_absolute("//x//y//", "/x/y");
}

static void absolute_resolves_against_the_working_directory(void **state)
{
    (void)state;
    char *saved = getcwd(NULL, 0);
    char *dir = test_make_dir();
    char *sub = test_path(dir, "sub");
    test_write_file(sub, "", 0644);
    free(sub);
    assert_int_equal(chdir(dir), 0);
    char *cwd = getcwd(NULL, 0);

    char *expected = test_path(cwd, "x/y");
    check_absolute("x/y", expected);
    check_absolute("./x//y/", expected);
    free(expected);
    check_absolute(".", cwd);
    check_absolute("", cwd);

    struct cfbp_strbuf parent = CFBP_STRBUF_INIT;
    cfbp_path_dirname(&parent, cwd);
    check_absolute("..", parent.buf);
    expected = test_path(parent.buf, "z");
    check_absolute("../z", expected);
    free(expected);
    cfbp_strbuf_release(&parent);

    assert_int_equal(chdir(saved), 0);
    free(cwd);
    free(saved);
    test_remove_dir(dir);
}

static void check_clean_relative(const char *path, bool ok, const char *expected)
{
    struct cfbp_strbuf out = CFBP_STRBUF_INIT;
    bool result = cfbp_path_clean_relative(&out, path);
    if (result != ok)
        fail_msg("clean_relative(\"%s\") returned %s, expected %s", path, result ? "true" : "false",
                 ok ? "true" : "false");
    if (ok && strcmp(out.buf, expected) != 0)
        fail_msg("clean_relative(\"%s\") = \"%s\", expected \"%s\"", path, out.buf, expected);
    cfbp_strbuf_release(&out);
}

static void clean_relative_cleans(void **state)
{
    (void)state;
    check_clean_relative("./a//b/./c", true, "a/b/c");
    check_clean_relative("a", true, "a");
    check_clean_relative("a/", true, "a");
    check_clean_relative("a/b/", true, "a/b");
    check_clean_relative("./bin/supply", true, "bin/supply");
    check_clean_relative("...", true, "...");
    check_clean_relative("..a/b..", true, "..a/b..");
    check_clean_relative(".hidden", true, ".hidden");
}

static void clean_relative_refuses_escapes(void **state)
{
    (void)state;
    check_clean_relative("", false, NULL);
    check_clean_relative("/abs", false, NULL);
    check_clean_relative("//abs", false, NULL);
    check_clean_relative("a/../b", false, NULL);
    check_clean_relative("..", false, NULL);
    check_clean_relative("../x", false, NULL);
    check_clean_relative("a/..", false, NULL);
    check_clean_relative("a//..//b", false, NULL);
    check_clean_relative(".", false, NULL);
    check_clean_relative("./", false, NULL);
    check_clean_relative(".//.", false, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(join_puts_exactly_one_slash_between),
        cmocka_unit_test(join_with_an_empty_base_stays_relative),
        cmocka_unit_test(append_adds_one_slash),
        cmocka_unit_test(basename_takes_the_last_component),
        cmocka_unit_test(basename_of_root_is_root),
        cmocka_unit_test(dirname_takes_everything_before_the_last_component),
        cmocka_unit_test(absolute_cleans_absolute_paths),
        cmocka_unit_test(absolute_resolves_against_the_working_directory),
        cmocka_unit_test(clean_relative_cleans),
        cmocka_unit_test(clean_relative_refuses_escapes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
