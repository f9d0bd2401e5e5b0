/*
 * stager.c - staging directories and the files in them (see stager.h).
 *
 * The multi-buildpack contract lives in DEPS_DIR: each buildpack's bin/,
 * lib/, include/, pkgconfig/, env/ and profile.d/ are found by listing the
 * deps directory, never by assuming which indices exist.
 */
#include "cfbp/stager.h"

#include "cfbp/alloc.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/log.h"
#include "cfbp/path.h"
#include "cfbp/strbuf.h"
#include "cfbp/string_list.h"
#include "cfbp/yaml.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUILDPACK_METADATA "BUILDPACK_METADATA"

static int absolute_directory(const char *path, const char *what, bool create, char **out,
                              struct cfbp_error *err)
{
    struct cfbp_strbuf absolute = CFBP_STRBUF_INIT;
    if (!*path)
        return cfbp_error_set(err, CFBP_ERROR_USAGE, "%s is empty", what);
    int result = cfbp_path_absolute(&absolute, path, err);
    if (result == 0 && create)
        result = cfbp_fs_mkdir_p(absolute.buf, 0755, err);
    if (result == 0 && !cfbp_fs_is_directory(absolute.buf))
        result =
            cfbp_error_set(err, CFBP_ERROR_USAGE, "%s %s is not a directory", what, absolute.buf);
    if (result == 0)
        *out = cfbp_strbuf_detach(&absolute, NULL);
    cfbp_strbuf_release(&absolute);
    return result;
}

int cfbp_stager_init(struct cfbp_stager *stager, enum cfbp_stager_phase phase, int argc,
                     char *const *argv, struct cfbp_error *err)
{
    memset(stager, 0, sizeof(*stager));
    bool finalize = phase == CFBP_PHASE_FINALIZE;
    if (argc != 4 && !(finalize && argc == 5))
        return cfbp_error_set(err, CFBP_ERROR_USAGE,
                              "expected the arguments BUILD_DIR CACHE_DIR DEPS_DIR DEPS_IDX%s, "
                              "got %d argument%s",
                              finalize ? " [PROFILE_DIR]" : "", argc, argc == 1 ? "" : "s");
    const char *idx = argv[3];
    if (!*idx || strchr(idx, '/') || strcmp(idx, ".") == 0 || strcmp(idx, "..") == 0)
        return cfbp_error_set(err, CFBP_ERROR_USAGE,
                              "DEPS_IDX '%s' must be one directory name, such as 0 or 03", idx);
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    int result = 0;
    if (absolute_directory(argv[0], "BUILD_DIR", false, &stager->build_dir, err) < 0 ||
        absolute_directory(argv[1], "CACHE_DIR", true, &stager->cache_dir, err) < 0 ||
        absolute_directory(argv[2], "DEPS_DIR", false, &stager->deps_dir, err) < 0)
        result = -1;
    if (result == 0) {
        stager->deps_idx = cfbp_xstrdup(idx);
        cfbp_path_join(&path, stager->deps_dir, idx);
        result = absolute_directory(path.buf, "the deps directory", true, &stager->dep_dir, err);
    }
    if (result == 0) {
        if (argc == 5 && *argv[4]) {
            result = cfbp_path_absolute(&path, argv[4], err);
        } else {
            cfbp_path_join(&path, stager->build_dir, ".profile.d");
        }
        if (result == 0)
            stager->profile_dir = cfbp_strbuf_detach(&path, NULL);
    }
    cfbp_strbuf_release(&path);
    if (result < 0)
        cfbp_stager_release(stager);
    return result;
}

void cfbp_stager_release(struct cfbp_stager *stager)
{
    free(stager->build_dir);
    free(stager->cache_dir);
    free(stager->deps_dir);
    free(stager->deps_idx);
    free(stager->dep_dir);
    free(stager->profile_dir);
    memset(stager, 0, sizeof(*stager));
}

int cfbp_stager_check_not_after_v3(const char *sentinel_path, struct cfbp_error *err)
{
    if (!cfbp_fs_exists(sentinel_path))
        return 0;
    return cfbp_error_set(err, CFBP_ERROR_FAILED,
                          "You are running a V2 buildpack after a V3 buildpack. This is "
                          "unsupported. (found %s)",
                          sentinel_path);
}

/* --- files in the deps directory --- */

int cfbp_stager_write_config_yml(const struct cfbp_stager *stager, const char *name,
                                 const char *version, const struct cfbp_yaml_node *config,
                                 struct cfbp_error *err)
{
    struct cfbp_yaml_node *root = cfbp_yaml_new_mapping();
    cfbp_yaml_set(root, "config", config ? cfbp_yaml_copy(config) : cfbp_yaml_new_mapping());
    cfbp_yaml_set(root, "name", cfbp_yaml_new_string(name));
    cfbp_yaml_set(root, "version", cfbp_yaml_new_string(version));
    struct cfbp_strbuf text = CFBP_STRBUF_INIT, path = CFBP_STRBUF_INIT;
    int result = cfbp_yaml_emit(&text, root, CFBP_YAML_EMIT_SORT_KEYS, err);
    cfbp_path_join(&path, stager->dep_dir, "config.yml");
    if (result == 0)
        result = cfbp_fs_write_file(path.buf, text.buf, text.len, 0644, err);
    cfbp_yaml_free(root);
    cfbp_strbuf_release(&text);
    cfbp_strbuf_release(&path);
    return result;
}

static bool is_file_name(const char *name)
{
    return *name && !strchr(name, '/') && strcmp(name, ".") != 0 && strcmp(name, "..") != 0;
}

static int write_in_subdirectory(const struct cfbp_stager *stager, const char *subdirectory,
                                 const char *name, const char *body, mode_t mode,
                                 struct cfbp_error *err)
{
    if (!is_file_name(name))
        return cfbp_error_set(err, CFBP_ERROR_USAGE, "'%s' is not a file name", name);
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    cfbp_path_join(&path, stager->dep_dir, subdirectory);
    int result = cfbp_fs_mkdir_p(path.buf, 0755, err);
    cfbp_path_append(&path, name);
    if (result == 0)
        result = cfbp_fs_write_file(path.buf, body, strlen(body), mode, err);
    cfbp_strbuf_release(&path);
    return result;
}

int cfbp_stager_write_env_file(const struct cfbp_stager *stager, const char *name,
                               const char *value, struct cfbp_error *err)
{
    return write_in_subdirectory(stager, "env", name, value, 0644, err);
}

int cfbp_stager_write_profile_d(const struct cfbp_stager *stager, const char *script_name,
                                const char *body, struct cfbp_error *err)
{
    return write_in_subdirectory(stager, "profile.d", script_name, body, 0755, err);
}

/* Length of the component of path starting at path[0] (path is past any '/'). */
static size_t component_length(const char *path)
{
    return strcspn(path, "/");
}

/* Sets out to the relative path from directory from to to (both absolute and clean). */
static void relative_path(struct cfbp_strbuf *out, const char *from, const char *to)
{
    /* Skip the components the two paths share. */
    while (*from == '/' && *to == '/') {
        size_t length = component_length(from + 1);
        if (length != component_length(to + 1) || memcmp(from + 1, to + 1, length) != 0 ||
            length == 0)
            break;
        from += 1 + length;
        to += 1 + length;
    }
    cfbp_strbuf_reset(out);
    for (const char *c = from; *c; c++)
        if (*c == '/')
            cfbp_strbuf_append_string(out, "../");
    cfbp_strbuf_append_string(out, *to == '/' ? to + 1 : to);
    if (out->len == 0)
        cfbp_strbuf_append_char(out, '.');
}

int cfbp_stager_add_bin_link(const struct cfbp_stager *stager, const char *target, const char *name,
                             struct cfbp_error *err)
{
    if (!is_file_name(name))
        return cfbp_error_set(err, CFBP_ERROR_USAGE, "'%s' is not a file name", name);
    struct cfbp_strbuf bin = CFBP_STRBUF_INIT, link = CFBP_STRBUF_INIT,
                       absolute_target = CFBP_STRBUF_INIT, relative = CFBP_STRBUF_INIT;
    cfbp_path_join(&bin, stager->dep_dir, "bin");
    cfbp_path_join(&link, bin.buf, name);
    int result = cfbp_fs_mkdir_p(bin.buf, 0755, err);
    if (result == 0)
        result = cfbp_path_absolute(&absolute_target, target, err);
    if (result == 0) {
        relative_path(&relative, bin.buf, absolute_target.buf);
        unlink(link.buf);
        if (symlink(relative.buf, link.buf) < 0)
            result = cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot create the link %s",
                                          link.buf);
    }
    cfbp_strbuf_release(&bin);
    cfbp_strbuf_release(&link);
    cfbp_strbuf_release(&absolute_target);
    cfbp_strbuf_release(&relative);
    return result;
}

/* --- environments --- */

/* The deps directory's entries that are directories, highest index (lexically) first. */
static int list_deps_descending(const struct cfbp_stager *stager, struct cfbp_string_list *out,
                                struct cfbp_error *err)
{
    struct cfbp_string_list names = CFBP_STRING_LIST_INIT;
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    int result = cfbp_fs_list_directory(stager->deps_dir, &names, err);
    for (size_t i = names.count; result == 0 && i > 0; i--) {
        cfbp_path_join(&path, stager->deps_dir, names.items[i - 1]);
        if (cfbp_fs_is_directory(path.buf))
            cfbp_string_list_append(out, names.items[i - 1]);
    }
    cfbp_string_list_clear(&names);
    cfbp_strbuf_release(&path);
    return result;
}

struct search_path {
    const char *variable;
    const char *subdirectory;
};

static const struct search_path staging_paths[] = {
    {"PATH", "bin"},      {"LD_LIBRARY_PATH", "lib"},       {"LIBRARY_PATH", "lib"},
    {"CPATH", "include"}, {"PKG_CONFIG_PATH", "pkgconfig"},
};

/* Line order of 000_multi-supply.sh; Go leaves it to map order, we fix it. */
static const struct search_path launch_paths[] = {
    {"PATH", "bin"},
    {"LD_LIBRARY_PATH", "lib"},
    {"LIBRARY_PATH", "lib"},
};

static int set_env_files(const struct cfbp_stager *stager, const struct cfbp_string_list *deps,
                         struct cfbp_error *err)
{
    struct cfbp_strbuf directory = CFBP_STRBUF_INIT, file = CFBP_STRBUF_INIT,
                       value = CFBP_STRBUF_INIT;
    int result = 0;
    /* Highest index first, so the lowest index is applied last and wins. */
    for (size_t i = 0; result == 0 && i < deps->count; i++) {
        struct cfbp_string_list names = CFBP_STRING_LIST_INIT;
        cfbp_path_join(&directory, stager->deps_dir, deps->items[i]);
        cfbp_path_append(&directory, "env");
        if (cfbp_fs_is_directory(directory.buf))
            result = cfbp_fs_list_directory(directory.buf, &names, err);
        for (size_t j = 0; result == 0 && j < names.count; j++) {
            cfbp_path_join(&file, directory.buf, names.items[j]);
            if (cfbp_fs_type_of(file.buf) != CFBP_FS_FILE)
                continue;
            result = cfbp_fs_read_file(file.buf, 1 << 20, &value, err);
            if (result == 0 && setenv(names.items[j], value.buf, 1) < 0)
                result = cfbp_error_set_errno(err, CFBP_ERROR_INVALID, errno,
                                              "cannot set %s from %s", names.items[j], file.buf);
        }
        cfbp_string_list_clear(&names);
    }
    cfbp_strbuf_release(&directory);
    cfbp_strbuf_release(&file);
    cfbp_strbuf_release(&value);
    return result;
}

int cfbp_stager_set_staging_environment(const struct cfbp_stager *stager, struct cfbp_error *err)
{
    struct cfbp_string_list deps = CFBP_STRING_LIST_INIT;
    struct cfbp_strbuf value = CFBP_STRBUF_INIT, path = CFBP_STRBUF_INIT;
    int result = list_deps_descending(stager, &deps, err);
    for (size_t v = 0; result == 0 && v < sizeof(staging_paths) / sizeof(*staging_paths); v++) {
        cfbp_strbuf_reset(&value);
        for (size_t i = 0; i < deps.count; i++) {
            cfbp_path_join(&path, stager->deps_dir, deps.items[i]);
            cfbp_path_append(&path, staging_paths[v].subdirectory);
            if (!cfbp_fs_is_directory(path.buf))
                continue;
            if (value.len)
                cfbp_strbuf_append_char(&value, ':');
            cfbp_strbuf_append_string(&value, path.buf);
        }
        if (value.len == 0)
            continue;
        const char *old = getenv(staging_paths[v].variable);
        if (old && *old)
            cfbp_strbuf_append_format(&value, ":%s", old);
        setenv(staging_paths[v].variable, value.buf, 1);
    }
    if (result == 0)
        result = set_env_files(stager, &deps, err);
    cfbp_string_list_clear(&deps);
    cfbp_strbuf_release(&value);
    cfbp_strbuf_release(&path);
    return result;
}

static void multi_supply_script(const struct cfbp_stager *stager,
                                const struct cfbp_string_list *deps, struct cfbp_strbuf *script)
{
    struct cfbp_strbuf path = CFBP_STRBUF_INIT, dirs = CFBP_STRBUF_INIT;
    for (size_t v = 0; v < sizeof(launch_paths) / sizeof(*launch_paths); v++) {
        cfbp_strbuf_reset(&dirs);
        for (size_t i = 0; i < deps->count; i++) {
            cfbp_path_join(&path, stager->deps_dir, deps->items[i]);
            cfbp_path_append(&path, launch_paths[v].subdirectory);
            if (!cfbp_fs_is_directory(path.buf))
                continue;
            cfbp_strbuf_append_format(&dirs, "%s$DEPS_DIR/%s/%s", dirs.len ? ":" : "",
                                      deps->items[i], launch_paths[v].subdirectory);
        }
        if (dirs.len == 0)
            continue;
        const char *variable = launch_paths[v].variable;
        cfbp_strbuf_append_format(script,
                                  "export %s=%s$([[ ! -z \"${%s:-}\" ]] && echo \":$%s\")\n",
                                  variable, dirs.buf, variable, variable);
    }
    cfbp_strbuf_release(&path);
    cfbp_strbuf_release(&dirs);
}

/* Copies the regular files of deps/<idx>/profile.d to <profile_dir>/<idx>_<name>. */
static int copy_profile_scripts(const struct cfbp_stager *stager, const char *idx,
                                struct cfbp_error *err)
{
    struct cfbp_strbuf directory = CFBP_STRBUF_INIT, source = CFBP_STRBUF_INIT,
                       target = CFBP_STRBUF_INIT;
    struct cfbp_string_list names = CFBP_STRING_LIST_INIT;
    cfbp_path_join(&directory, stager->deps_dir, idx);
    cfbp_path_append(&directory, "profile.d");
    int result = 0;
    if (cfbp_fs_type_of(directory.buf) == CFBP_FS_DIRECTORY)
        result = cfbp_fs_list_directory(directory.buf, &names, err);
    for (size_t i = 0; result == 0 && i < names.count; i++) {
        struct stat st;
        cfbp_path_join(&source, directory.buf, names.items[i]);
        if (lstat(source.buf, &st) < 0 || !S_ISREG(st.st_mode))
            continue; /* symlinks are skipped, as libbuildpack does */
        cfbp_path_join(&target, stager->profile_dir, idx);
        cfbp_strbuf_append_format(&target, "_%s", names.items[i]);
        result = cfbp_fs_copy_file(source.buf, target.buf, st.st_mode & 07777, err);
    }
    cfbp_string_list_clear(&names);
    cfbp_strbuf_release(&directory);
    cfbp_strbuf_release(&source);
    cfbp_strbuf_release(&target);
    return result;
}

int cfbp_stager_set_launch_environment(const struct cfbp_stager *stager, struct cfbp_error *err)
{
    struct cfbp_string_list deps = CFBP_STRING_LIST_INIT;
    struct cfbp_strbuf script = CFBP_STRBUF_INIT, path = CFBP_STRBUF_INIT;
    int result = list_deps_descending(stager, &deps, err);
    if (result == 0)
        result = cfbp_fs_mkdir_p(stager->profile_dir, 0755, err);
    if (result == 0) {
        multi_supply_script(stager, &deps, &script);
        cfbp_path_join(&path, stager->profile_dir, "000_multi-supply.sh");
        result = cfbp_fs_write_file(path.buf, script.buf, script.len, 0755, err);
    }
    for (size_t i = deps.count; result == 0 && i > 0; i--)
        result = copy_profile_scripts(stager, deps.items[i - 1], err);
    cfbp_string_list_clear(&deps);
    cfbp_strbuf_release(&script);
    cfbp_strbuf_release(&path);
    return result;
}

/* --- BUILDPACK_METADATA --- */

void cfbp_stager_check_buildpack_metadata(const struct cfbp_stager *stager, const char *language,
                                          const char *version, struct cfbp_log *log)
{
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    struct cfbp_error ignored = CFBP_ERROR_INIT;
    cfbp_path_join(&path, stager->cache_dir, BUILDPACK_METADATA);
    if (cfbp_fs_is_file(path.buf) && cfbp_yaml_load_file(&doc, path.buf, 1 << 16, &ignored) == 0) {
        const struct cfbp_yaml_node *old_language = cfbp_yaml_get(doc.root, "language");
        const struct cfbp_yaml_node *old_version = cfbp_yaml_get(doc.root, "version");
        if (old_language && old_version && old_language->type == CFBP_YAML_SCALAR &&
            old_version->type == CFBP_YAML_SCALAR && strcmp(old_language->value, language) == 0 &&
            strcmp(old_version->value, version) != 0)
            cfbp_log_warning(log, "buildpack version changed from %s to %s", old_version->value,
                             version);
    }
    cfbp_yaml_document_release(&doc);
    cfbp_error_clear(&ignored);
    cfbp_strbuf_release(&path);
}

int cfbp_stager_write_buildpack_metadata(const struct cfbp_stager *stager, const char *language,
                                         const char *version, struct cfbp_error *err)
{
    struct cfbp_yaml_node *root = cfbp_yaml_new_mapping();
    cfbp_yaml_set(root, "language", cfbp_yaml_new_string(language));
    cfbp_yaml_set(root, "version", cfbp_yaml_new_string(version));
    struct cfbp_strbuf text = CFBP_STRBUF_INIT, path = CFBP_STRBUF_INIT;
    int result = cfbp_yaml_emit(&text, root, 0, err);
    cfbp_path_join(&path, stager->cache_dir, BUILDPACK_METADATA);
    if (result == 0)
        result = cfbp_fs_write_file(path.buf, text.buf, text.len, 0644, err);
    cfbp_yaml_free(root);
    cfbp_strbuf_release(&text);
    cfbp_strbuf_release(&path);
    return result;
}
