/*
 * stager.c - staging directories and the files in them (see stager.h).
 *
 * The multi-buildpack contract lives in DEPS_DIR: each buildpack's bin/,
 * lib/, include/, pkgconfig/, env/ and profile.d/ are found by listing the
 * deps directory, never by assuming which indices exist.
 */
#include "cfbp/stager.h"

#include "cfbp/alloc.h"
#include "cfbp/beneath.h"
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
            if (result == 0) {
                stager->profile_root = cfbp_xstrdup(path.buf);
                stager->profile_relative = cfbp_xstrdup("");
            }
        } else {
            cfbp_path_join(&path, stager->build_dir, ".profile.d");
            stager->profile_root = cfbp_xstrdup(stager->build_dir);
            stager->profile_relative = cfbp_xstrdup(".profile.d");
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
    cfbp_string_list_clear(&stager->dep_dir_entries);
    if (stager->dep_dir_remembered)
        cfbp_workdir_restore_times(&stager->dep_dir_times, false);
    free(stager->build_dir);
    free(stager->cache_dir);
    free(stager->deps_dir);
    free(stager->deps_idx);
    free(stager->dep_dir);
    free(stager->profile_dir);
    free(stager->profile_root);
    free(stager->profile_relative);
    memset(stager, 0, sizeof(*stager));
}

int cfbp_stager_remember_dep_dir(struct cfbp_stager *stager, struct cfbp_error *err)
{
    cfbp_string_list_clear(&stager->dep_dir_entries);
    if (cfbp_fs_list_directory(stager->dep_dir, &stager->dep_dir_entries, err) < 0)
        return -1;
    if (stager->dep_dir_remembered)
        cfbp_workdir_restore_times(&stager->dep_dir_times, false);
    cfbp_workdir_save_times(&stager->dep_dir_times, stager->dep_dir);
    stager->dep_dir_remembered = true;
    return 0;
}

void cfbp_stager_rollback_dep_dir(struct cfbp_stager *stager)
{
    if (!stager->dep_dir_remembered)
        return;
    struct cfbp_string_list names = CFBP_STRING_LIST_INIT;
    struct cfbp_error ignored = CFBP_ERROR_INIT;
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    if (cfbp_fs_list_directory(stager->dep_dir, &names, &ignored) == 0) {
        for (size_t i = 0; i < names.count; i++) {
            if (cfbp_string_list_contains(&stager->dep_dir_entries, names.items[i]))
                continue;
            cfbp_path_join(&path, stager->dep_dir, names.items[i]);
            cfbp_fs_remove_tree(path.buf, &ignored);
            cfbp_error_clear(&ignored);
        }
    }
    cfbp_workdir_restore_times(&stager->dep_dir_times, true);
    stager->dep_dir_remembered = false;
    cfbp_error_clear(&ignored);
    cfbp_string_list_clear(&names);
    cfbp_strbuf_release(&path);
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

/* Writes relative beneath root without following any link on the way (beneath.h). */
static int write_beneath(const char *root_path, const char *relative, const void *data,
                         size_t length, mode_t mode, struct cfbp_error *err)
{
    struct cfbp_beneath root = CFBP_BENEATH_INIT;
    int result = cfbp_beneath_open(&root, root_path, err);
    if (result == 0)
        result = cfbp_beneath_write_file(&root, relative, data, length, mode, err);
    cfbp_beneath_close(&root);
    return result;
}

int cfbp_stager_write_config_yml(const struct cfbp_stager *stager, const char *name,
                                 const char *version, const struct cfbp_yaml_node *config,
                                 struct cfbp_error *err)
{
    struct cfbp_yaml_node *root = cfbp_yaml_new_mapping();
    cfbp_yaml_set(root, "config", config ? cfbp_yaml_copy(config) : cfbp_yaml_new_mapping());
    cfbp_yaml_set(root, "name", cfbp_yaml_new_string(name));
    cfbp_yaml_set(root, "version", cfbp_yaml_new_string(version));
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    int result = cfbp_yaml_emit(&text, root, CFBP_YAML_EMIT_SORT_KEYS, err);
    if (result == 0)
        result = write_beneath(stager->dep_dir, "config.yml", text.buf, text.len, 0644, err);
    cfbp_yaml_free(root);
    cfbp_strbuf_release(&text);
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
    cfbp_path_join(&path, subdirectory, name);
    int result = write_beneath(stager->dep_dir, path.buf, body, strlen(body), mode, err);
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
    struct cfbp_beneath root = CFBP_BENEATH_INIT;
    cfbp_path_join(&bin, stager->dep_dir, "bin");
    cfbp_path_join(&link, "bin", name);
    int result = cfbp_path_absolute(&absolute_target, target, err);
    if (result == 0)
        result = cfbp_beneath_open(&root, stager->dep_dir, err);
    if (result == 0) {
        relative_path(&relative, bin.buf, absolute_target.buf);
        result = cfbp_beneath_symlink(&root, link.buf, relative.buf, err);
    }
    cfbp_beneath_close(&root);
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

/* The names of the regular files in deps/<idx>/<subdirectory>; links on the way mean none. */
static int list_deps_files(const struct cfbp_beneath *deps, const char *idx,
                           const char *subdirectory, struct cfbp_string_list *names,
                           struct cfbp_error *err)
{
    struct cfbp_strbuf directory = CFBP_STRBUF_INIT, file = CFBP_STRBUF_INIT;
    struct cfbp_string_list all = CFBP_STRING_LIST_INIT;
    cfbp_path_join(&directory, idx, subdirectory);
    int result = 0;
    if (cfbp_beneath_type_of(deps, directory.buf) == CFBP_FS_DIRECTORY)
        result = cfbp_beneath_list_directory(deps, directory.buf, &all, err);
    for (size_t i = 0; result == 0 && i < all.count; i++) {
        cfbp_path_join(&file, directory.buf, all.items[i]);
        if (cfbp_beneath_type_of(deps, file.buf) == CFBP_FS_FILE)
            cfbp_string_list_append(names, all.items[i]);
    }
    cfbp_string_list_clear(&all);
    cfbp_strbuf_release(&directory);
    cfbp_strbuf_release(&file);
    return result;
}

static int set_env_files(const struct cfbp_stager *stager, const struct cfbp_string_list *deps,
                         struct cfbp_error *err)
{
    struct cfbp_strbuf file = CFBP_STRBUF_INIT, value = CFBP_STRBUF_INIT;
    struct cfbp_beneath root = CFBP_BENEATH_INIT;
    int result = cfbp_beneath_open(&root, stager->deps_dir, err);
    /* Highest index first, so the lowest index is applied last and wins. */
    for (size_t i = 0; result == 0 && i < deps->count; i++) {
        struct cfbp_string_list names = CFBP_STRING_LIST_INIT;
        result = list_deps_files(&root, deps->items[i], "env", &names, err);
        for (size_t j = 0; result == 0 && j < names.count; j++) {
            cfbp_path_join(&file, deps->items[i], "env");
            cfbp_path_append(&file, names.items[j]);
            result = cfbp_beneath_read_file(&root, file.buf, 1 << 20, &value, err);
            if (result == 0 && setenv(names.items[j], value.buf, 1) < 0)
                result =
                    cfbp_error_set_errno(err, CFBP_ERROR_INVALID, errno, "cannot set %s from %s/%s",
                                         names.items[j], stager->deps_dir, file.buf);
        }
        cfbp_string_list_clear(&names);
    }
    cfbp_beneath_close(&root);
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
static int copy_profile_scripts(const struct cfbp_stager *stager, const struct cfbp_beneath *deps,
                                const struct cfbp_beneath *profile, const char *idx,
                                struct cfbp_error *err)
{
    struct cfbp_strbuf source = CFBP_STRBUF_INIT, target = CFBP_STRBUF_INIT,
                       body = CFBP_STRBUF_INIT;
    struct cfbp_string_list names = CFBP_STRING_LIST_INIT;
    /* Links are skipped, as libbuildpack does. */
    int result = list_deps_files(deps, idx, "profile.d", &names, err);
    for (size_t i = 0; result == 0 && i < names.count; i++) {
        cfbp_path_join(&source, idx, "profile.d");
        cfbp_path_append(&source, names.items[i]);
        int fd = cfbp_beneath_open_file(deps, source.buf, err);
        struct stat st;
        if (fd < 0 || fstat(fd, &st) < 0) {
            if (fd >= 0)
                close(fd);
            result = -1;
            break;
        }
        cfbp_path_join(&target, stager->deps_dir, source.buf);
        result = cfbp_fs_read_fd(fd, target.buf, 1 << 20, &body, err);
        close(fd);
        cfbp_strbuf_reset(&target);
        if (*stager->profile_relative)
            cfbp_strbuf_append_format(&target, "%s/", stager->profile_relative);
        cfbp_strbuf_append_format(&target, "%s_%s", idx, names.items[i]);
        if (result == 0)
            result = cfbp_beneath_write_file(profile, target.buf, body.buf, body.len,
                                             st.st_mode & 07777, err);
    }
    cfbp_string_list_clear(&names);
    cfbp_strbuf_release(&source);
    cfbp_strbuf_release(&target);
    cfbp_strbuf_release(&body);
    return result;
}

int cfbp_stager_set_launch_environment(const struct cfbp_stager *stager, struct cfbp_error *err)
{
    struct cfbp_string_list deps = CFBP_STRING_LIST_INIT;
    struct cfbp_strbuf script = CFBP_STRBUF_INIT, path = CFBP_STRBUF_INIT;
    struct cfbp_beneath deps_root = CFBP_BENEATH_INIT, profile = CFBP_BENEATH_INIT;
    int result = list_deps_descending(stager, &deps, err);
    if (result == 0)
        result = cfbp_beneath_open_create(&profile, stager->profile_root, err);
    if (result == 0)
        result = cfbp_beneath_open(&deps_root, stager->deps_dir, err);
    if (result == 0) {
        multi_supply_script(stager, &deps, &script);
        cfbp_path_join(&path, stager->profile_relative, "000_multi-supply.sh");
        result = cfbp_beneath_write_file(&profile, path.buf, script.buf, script.len, 0755, err);
    }
    for (size_t i = deps.count; result == 0 && i > 0; i--)
        result = copy_profile_scripts(stager, &deps_root, &profile, deps.items[i - 1], err);
    cfbp_beneath_close(&deps_root);
    cfbp_beneath_close(&profile);
    cfbp_string_list_clear(&deps);
    cfbp_strbuf_release(&script);
    cfbp_strbuf_release(&path);
    return result;
}

/* --- BUILDPACK_METADATA --- */

void cfbp_stager_check_buildpack_metadata(const struct cfbp_stager *stager, const char *language,
                                          const char *version, struct cfbp_log *log)
{
    struct cfbp_strbuf path = CFBP_STRBUF_INIT, text = CFBP_STRBUF_INIT;
    struct cfbp_yaml_document doc = CFBP_YAML_DOCUMENT_INIT;
    struct cfbp_error ignored = CFBP_ERROR_INIT;
    struct cfbp_beneath cache = CFBP_BENEATH_INIT;
    cfbp_path_join(&path, stager->cache_dir, BUILDPACK_METADATA);
    if (cfbp_beneath_open(&cache, stager->cache_dir, &ignored) == 0 &&
        cfbp_beneath_read_file(&cache, BUILDPACK_METADATA, 1 << 16, &text, &ignored) == 0 &&
        cfbp_yaml_load_string(&doc, path.buf, text.buf, text.len, &ignored) == 0) {
        const struct cfbp_yaml_node *old_language = cfbp_yaml_get(doc.root, "language");
        const struct cfbp_yaml_node *old_version = cfbp_yaml_get(doc.root, "version");
        if (old_language && old_version && old_language->type == CFBP_YAML_SCALAR &&
            old_version->type == CFBP_YAML_SCALAR && strcmp(old_language->value, language) == 0 &&
            strcmp(old_version->value, version) != 0)
            cfbp_log_warning(log, "buildpack version changed from %s to %s", old_version->value,
                             version);
    }
    cfbp_yaml_document_release(&doc);
    cfbp_beneath_close(&cache);
    cfbp_error_clear(&ignored);
    cfbp_strbuf_release(&path);
    cfbp_strbuf_release(&text);
}

int cfbp_stager_write_buildpack_metadata(const struct cfbp_stager *stager, const char *language,
                                         const char *version, struct cfbp_error *err)
{
    struct cfbp_yaml_node *root = cfbp_yaml_new_mapping();
    cfbp_yaml_set(root, "language", cfbp_yaml_new_string(language));
    cfbp_yaml_set(root, "version", cfbp_yaml_new_string(version));
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    int result = cfbp_yaml_emit(&text, root, 0, err);
    if (result == 0)
        result =
            write_beneath(stager->cache_dir, BUILDPACK_METADATA, text.buf, text.len, 0644, err);
    cfbp_yaml_free(root);
    cfbp_strbuf_release(&text);
    return result;
}
