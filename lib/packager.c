/*
 * packager.c - buildpack zips and their summary (see packager.h), and the
 * Go buildpack-packager's command line.
 *
 * cfbp_package is a pipeline over one struct package_run: check the
 * manifest and the profile options, copy the source and run pre_package,
 * collect the members, audit the programs, find every cached dependency,
 * rewrite the manifest, zip. Each stage either completes or leaves an error;
 * the copy is removed and an unfinished zip abandoned whatever happens. The
 * checks come in the Go packager's order, so the same mistake gets the same
 * message (contract §9.2).
 */
#include "cfbp/packager.h"

#include "cfbp/alloc.h"
#include "cfbp/cancel.h"
#include "cfbp/download.h"
#include "cfbp/elf_audit.h"
#include "cfbp/error.h"
#include "cfbp/fetch.h"
#include "cfbp/fs.h"
#include "cfbp/manifest.h"
#include "cfbp/path.h"
#include "cfbp/process.h"
#include "cfbp/strbuf.h"
#include "cfbp/string_list.h"
#include "cfbp/uri.h"
#include "cfbp/version.h"
#include "cfbp/yaml.h"
#include "cfbp/zip.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* How much of a failing pre_package's output an error message carries. */
#define OUTPUT_TAIL 4000

struct member {
    char *name;       /* the path inside the zip */
    char *path;       /* the file to read, or NULL for generated content */
    const char *data; /* generated content (manifest.yml, VERSION) */
    size_t length;
    mode_t mode;
    const struct cfbp_dependency *dependency; /* for cached dependencies: checked on the way */
    bool from_download_cache;                 /* a damaged copy there is removed */
};

struct package_run {
    const struct cfbp_package_options *options;
    struct cfbp_manifest manifest;
    char *source_root; /* absolute; the manifest may be re-read from the copy */
    char *version;
    struct cfbp_strbuf work_dir, copy_dir;
    struct member *members;
    size_t member_count, member_alloc;
    struct cfbp_strbuf packaged_manifest;
    struct cfbp_string_list excluded; /* dependency names a profile or exclude leaves out */
    struct cfbp_strbuf profile_part;  /* "-<profile>[+custom]", "-custom" or "" */
    mode_t version_mode;              /* VERSION's mode as the Go packager leaves it */
    mode_t new_file_mode;             /* 0666 less the umask: a file Go's os.Create makes */
    struct cfbp_package_result *result;
    struct cfbp_error *err;
};

static void report(const struct package_run *run, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static void report(const struct package_run *run, const char *format, ...)
{
    const struct cfbp_package_reporter *reporter = &run->options->reporter;
    if (!reporter->step)
        return;
    struct cfbp_strbuf message = CFBP_STRBUF_INIT;
    va_list args;
    va_start(args, format);
    cfbp_strbuf_append_vformat(&message, format, args);
    va_end(args);
    reporter->step(reporter->data, message.buf);
    cfbp_strbuf_release(&message);
}

/*
 * Ctrl-C or SIGTERM (cancel.h), seen at a safe point between files and
 * dependencies: failing here lets run_release remove the copy and write_zip
 * abandon its unfinished zip, as for any other failure.
 */
static int check_cancelled(const struct package_run *run)
{
    if (!cfbp_cancel_requested())
        return 0;
    return cfbp_error_set(run->err, CFBP_ERROR_CANCELLED, "packaging was cancelled");
}

static void warn(const struct package_run *run, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

static void warn(const struct package_run *run, const char *format, ...)
{
    const struct cfbp_package_reporter *reporter = &run->options->reporter;
    if (!reporter->warning && !reporter->step)
        return;
    struct cfbp_strbuf message = CFBP_STRBUF_INIT;
    va_list args;
    va_start(args, format);
    cfbp_strbuf_append_vformat(&message, format, args);
    va_end(args);
    if (reporter->warning)
        reporter->warning(reporter->data, message.buf);
    else
        reporter->step(reporter->data, message.buf);
    cfbp_strbuf_release(&message);
}

/* Appends text quoted as Go's %q (strconv.Quote) quotes it, for the Go packager's messages. */
static void append_go_quoted(struct cfbp_strbuf *out, const char *text)
{
    static const char escapes[] = "abtnvfr"; /* \a (7) to \r (13) */
    cfbp_strbuf_append_char(out, '"');
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (*c == '"' || *c == '\\') {
            cfbp_strbuf_append_char(out, '\\');
            cfbp_strbuf_append_char(out, (char)*c);
        } else if (*c >= 7 && *c <= 13) {
            cfbp_strbuf_append_char(out, '\\');
            cfbp_strbuf_append_char(out, escapes[*c - 7]);
        } else if (*c < 0x20 || *c == 0x7f) {
            cfbp_strbuf_append_format(out, "\\x%02x", *c);
        } else {
            cfbp_strbuf_append_char(out, (char)*c); /* UTF-8 passes through, as printable runes */
        }
    }
    cfbp_strbuf_append_char(out, '"');
}

void cfbp_package_zip_name(struct cfbp_strbuf *out, const char *language, bool cached,
                           const char *profile_part, const char *stack, const char *version)
{
    cfbp_strbuf_reset(out);
    cfbp_strbuf_append_format(out, "%s_buildpack%s%s", language ? language : "",
                              cached ? "-cached" : "", profile_part ? profile_part : "");
    if (stack)
        cfbp_strbuf_append_format(out, "-%s", stack);
    cfbp_strbuf_append_format(out, "-v%s.zip", version);
}

/* --- checking the manifest (§9.2 step 1) --- */

/* Whether the dependency is for the package's stack (§5.2). */
static bool for_stack(const struct package_run *run, const struct cfbp_dependency *dependency)
{
    if (run->options->stack)
        return cfbp_string_list_contains(&dependency->cf_stacks, run->options->stack);
    return dependency->cf_stacks.count > 0; /* --any-stack drops entries with no stack */
}

/* Whether the dependency goes into this package at all: its stack, and not excluded. */
static bool kept(const struct package_run *run, const struct cfbp_dependency *dependency)
{
    return for_stack(run, dependency) &&
           !cfbp_string_list_contains(&run->excluded, dependency->name);
}

/*
 * The Go packager's validateStack: an already packaged manifest is refused;
 * with --stack the stack must be listed and every default must resolve
 * among its versions. With --any-stack nothing more is checked (Go checks
 * defaults only for a named stack).
 */
/* An empty (or comments-only) manifest.yml: Go's packager fails on it too ("Could not cast
 * dependencies to []interface{}"). */
static int empty_manifest(struct package_run *run)
{
    return cfbp_error_set(run->err, CFBP_ERROR_INVALID,
                          "%s is empty: a buildpack manifest needs at least its language, "
                          "include_files and dependencies",
                          run->manifest.path);
}

static int check_manifest(struct package_run *run)
{
    const struct cfbp_manifest *manifest = &run->manifest;
    const char *stack = run->options->stack;
    if (!manifest->document.root || manifest->document.root->type != CFBP_YAML_MAPPING)
        return empty_manifest(run);
    if (manifest->stack)
        return cfbp_error_set(run->err, CFBP_ERROR_INVALID,
                              "Cannot package from already packaged buildpack manifest");
    if (!stack)
        return 0;
    bool stack_found = manifest->dependency_count == 0;
    for (size_t i = 0; i < manifest->dependency_count; i++)
        stack_found = stack_found || for_stack(run, &manifest->dependencies[i]);
    if (!stack_found)
        return cfbp_error_set(run->err, CFBP_ERROR_STACK, "Stack `%s` not found in manifest",
                              stack);
    for (size_t d = 0; d < manifest->default_count; d++) {
        struct cfbp_string_list versions = CFBP_STRING_LIST_INIT;
        for (size_t i = 0; i < manifest->dependency_count; i++)
            if (strcmp(manifest->dependencies[i].name, manifest->defaults[d].name) == 0 &&
                for_stack(run, &manifest->dependencies[i]))
                cfbp_string_list_append(&versions, manifest->dependencies[i].version);
        size_t match;
        struct cfbp_error ignored = CFBP_ERROR_INIT;
        int found = cfbp_version_find_match(manifest->defaults[d].version,
                                            (const char *const *)versions.items, versions.count,
                                            &match, &ignored);
        cfbp_error_clear(&ignored);
        cfbp_string_list_clear(&versions);
        if (found < 0)
            return cfbp_error_set(run->err, CFBP_ERROR_INVALID,
                                  "No matching default dependency `%s` for stack `%s`",
                                  manifest->defaults[d].name, stack);
    }
    return 0;
}

/* --- packaging profiles (libbuildpack's resolveExclusions) --- */

/*
 * packaging_profiles must have the shape Go's loader reads into
 * map[string]PackagingProfile{Description string; Exclude []string}: Go
 * refuses anything else whether or not a profile is used, and so do we.
 */
static int check_profiles_shape(const struct cfbp_manifest *manifest, struct cfbp_error *err)
{
    const struct cfbp_yaml_document *document = &manifest->document;
    const struct cfbp_yaml_node *profiles = cfbp_yaml_get(document->root, "packaging_profiles");
    if (cfbp_yaml_is_null(profiles))
        return 0;
    if (profiles->type != CFBP_YAML_MAPPING)
        return cfbp_yaml_error_at(document, profiles, err,
                                  "packaging_profiles must be a mapping of profile names, not %s",
                                  cfbp_yaml_describe(profiles));
    for (size_t i = 0; i < profiles->count; i++) {
        const struct cfbp_yaml_node *profile = profiles->values[i];
        const char *name =
            profiles->keys[i]->type == CFBP_YAML_SCALAR ? profiles->keys[i]->value : "?";
        if (profiles->keys[i]->type != CFBP_YAML_SCALAR)
            return cfbp_yaml_error_at(document, profiles->keys[i], err,
                                      "a packaging profile's name must be a string");
        if (cfbp_yaml_is_null(profile))
            continue;
        if (profile->type != CFBP_YAML_MAPPING)
            return cfbp_yaml_error_at(document, profile, err,
                                      "packaging profile %s must be a mapping, not %s", name,
                                      cfbp_yaml_describe(profile));
        const struct cfbp_yaml_node *description = cfbp_yaml_get(profile, "description");
        if (description && description->type != CFBP_YAML_SCALAR)
            return cfbp_yaml_error_at(document, description, err,
                                      "packaging profile %s: description must be text, not %s",
                                      name, cfbp_yaml_describe(description));
        const struct cfbp_yaml_node *exclude = cfbp_yaml_get(profile, "exclude");
        if (cfbp_yaml_is_null(exclude))
            continue;
        if (exclude->type != CFBP_YAML_SEQUENCE)
            return cfbp_yaml_error_at(document, exclude, err,
                                      "packaging profile %s: exclude must be a list of "
                                      "dependency names, not %s",
                                      name, cfbp_yaml_describe(exclude));
        for (size_t j = 0; j < exclude->count; j++)
            if (exclude->items[j]->type != CFBP_YAML_SCALAR)
                return cfbp_yaml_error_at(document, exclude->items[j], err,
                                          "packaging profile %s: exclude must list dependency "
                                          "names, not %s",
                                          name, cfbp_yaml_describe(exclude->items[j]));
    }
    return 0;
}

static bool is_dependency_name(const struct cfbp_manifest *manifest, const char *name)
{
    for (size_t i = 0; i < manifest->dependency_count; i++)
        if (strcmp(manifest->dependencies[i].name, name) == 0)
            return true;
    return false;
}

/* Go's profileNameRe, ^[a-z0-9_-]+$: a name safe inside a zip file name. */
static bool is_profile_name(const char *name)
{
    if (!*name)
        return false;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
            return false;
    return true;
}

/* Sets err to the Go packager's message: format's %s are each a name quoted as Go's %q. */
static int profile_error(struct cfbp_error *err, enum cfbp_error_kind kind, const char *before,
                         const char *first, const char *middle, const char *second,
                         const char *after)
{
    struct cfbp_strbuf message = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&message, before);
    append_go_quoted(&message, first);
    if (middle) {
        cfbp_strbuf_append_string(&message, middle);
        append_go_quoted(&message, second);
    }
    cfbp_strbuf_append_string(&message, after);
    cfbp_error_set(err, kind, "%s", message.buf);
    cfbp_strbuf_release(&message);
    return -1;
}

int cfbp_package_select(const struct cfbp_manifest *manifest,
                        const struct cfbp_package_options *options,
                        struct cfbp_string_list *excluded, struct cfbp_strbuf *profile_part,
                        struct cfbp_error *err)
{
    const char *profile = options->profile ? options->profile : "";
    cfbp_strbuf_reset(profile_part);
    if (check_profiles_shape(manifest, err) < 0)
        return -1;
    if (!options->cached && (*profile || options->exclude_count || options->include_count))
        return cfbp_error_set(err, CFBP_ERROR_USAGE,
                              "--profile/--exclude/--include are only "
                              "valid for cached buildpacks");
    if (!*profile && options->include_count)
        return cfbp_error_set(err, CFBP_ERROR_USAGE, "--include requires --profile");
    if (!options->cached)
        return 0;
    /* 1. The profile's exclusions. */
    if (*profile) {
        if (!is_profile_name(profile))
            return profile_error(err, CFBP_ERROR_USAGE, "profile name ", profile, NULL, NULL,
                                 " is invalid: must match ^[a-z0-9_-]+$");
        const struct cfbp_yaml_node *profiles =
            cfbp_yaml_get(manifest->document.root, "packaging_profiles");
        const struct cfbp_yaml_node *chosen = NULL;
        bool found = false;
        for (size_t i = 0; profiles && profiles->type == CFBP_YAML_MAPPING && i < profiles->count;
             i++) {
            if (strcmp(profiles->keys[i]->value, profile) == 0) {
                chosen = profiles->values[i];
                found = true;
            }
        }
        if (!found)
            return profile_error(err, CFBP_ERROR_NOT_FOUND, "packaging profile ", profile, NULL,
                                 NULL, " not found in manifest");
        const struct cfbp_yaml_node *names = cfbp_yaml_get(chosen, "exclude");
        for (size_t i = 0; names && names->type == CFBP_YAML_SEQUENCE && i < names->count; i++) {
            const char *name = names->items[i]->value;
            if (!is_dependency_name(manifest, name))
                return profile_error(err, CFBP_ERROR_NOT_FOUND, "profile ", profile,
                                     " references unknown dependency ", name, "");
            if (!cfbp_string_list_contains(excluded, name))
                cfbp_string_list_append(excluded, name);
        }
    }
    /* 2. The explicit exclusions are added. */
    for (size_t i = 0; i < options->exclude_count; i++) {
        const char *name = options->exclude[i];
        if (!is_dependency_name(manifest, name))
            return profile_error(err, CFBP_ERROR_NOT_FOUND, "dependency ", name, NULL, NULL,
                                 " not found in manifest");
        if (!cfbp_string_list_contains(excluded, name))
            cfbp_string_list_append(excluded, name);
    }
    /* 3. The inclusions take exclusions back; one that takes nothing back is a mistake. */
    size_t effective_includes = 0;
    for (size_t i = 0; i < options->include_count; i++) {
        const char *name = options->include[i];
        if (!is_dependency_name(manifest, name))
            return profile_error(err, CFBP_ERROR_NOT_FOUND, "dependency ", name, NULL, NULL,
                                 " not found in manifest");
        size_t at = 0;
        while (at < excluded->count && strcmp(excluded->items[at], name) != 0)
            at++;
        if (at == excluded->count)
            return profile_error(err, CFBP_ERROR_USAGE, "--include ", name, NULL, NULL,
                                 " has no effect: dependency is not excluded by the profile or "
                                 "--exclude");
        free(excluded->items[at]);
        memmove(&excluded->items[at], &excluded->items[at + 1],
                (excluded->count - at - 1) * sizeof(*excluded->items));
        excluded->count--;
        effective_includes++;
    }
    cfbp_string_list_sort(excluded);
    /* +custom only when something was changed on top of the profile. */
    if (*profile)
        cfbp_strbuf_append_format(profile_part, "-%s%s", profile,
                                  options->exclude_count || effective_includes ? "+custom" : "");
    else if (options->exclude_count)
        cfbp_strbuf_append_string(profile_part, "-custom");
    return 0;
}

static int read_version(struct package_run *run)
{
    if (run->options->version) {
        run->version = cfbp_xstrdup(run->options->version);
        return 0;
    }
    struct cfbp_strbuf path = CFBP_STRBUF_INIT, text = CFBP_STRBUF_INIT;
    cfbp_path_join(&path, run->source_root, "VERSION");
    int result = cfbp_fs_read_file(path.buf, 4096, &text, run->err);
    cfbp_strbuf_trim(&text);
    if (result < 0)
        cfbp_error_prefix(run->err, "unable to read VERSION file (or pass --version)");
    else if (text.len == 0)
        result = cfbp_error_set(run->err, CFBP_ERROR_INVALID, "%s is empty", path.buf);
    else
        run->version = cfbp_strbuf_detach(&text, NULL);
    cfbp_strbuf_release(&path);
    cfbp_strbuf_release(&text);
    return result;
}

/* --- the working copy and pre_package (§9.2 steps 2, 3, 5) --- */

/* Not copied: git metadata, the Go packager's `tests`, and CMake build trees. */
static bool skip_in_copy(const char *relative, void *data)
{
    const char *source = data;
    if (strchr(relative, '/'))
        return false;
    if (strcmp(relative, ".git") == 0 || strcmp(relative, "tests") == 0)
        return true;
    struct cfbp_strbuf cache = CFBP_STRBUF_INIT;
    cfbp_path_join(&cache, source, relative);
    cfbp_path_append(&cache, "CMakeCache.txt");
    bool build_tree = cfbp_fs_exists(cache.buf);
    cfbp_strbuf_release(&cache);
    return build_tree;
}

static int make_copy(struct package_run *run)
{
    const char *temp = getenv("TMPDIR");
    if (cfbp_fs_make_temp_dir(temp && *temp ? temp : "/tmp", "cfbp-package-", &run->work_dir,
                              run->err) < 0)
        return -1;
    cfbp_path_join(&run->copy_dir, run->work_dir.buf, "buildpack");
    if (cfbp_fs_copy_tree(run->source_root, run->copy_dir.buf, skip_in_copy, run->source_root,
                          run->err) < 0)
        return -1;
    /* Go's os.WriteFile keeps the mode of a VERSION the copy already has (§9.2 step 3). */
    struct cfbp_strbuf path = CFBP_STRBUF_INIT;
    cfbp_path_join(&path, run->copy_dir.buf, "VERSION");
    struct stat st;
    run->version_mode = lstat(path.buf, &st) == 0 && S_ISREG(st.st_mode)
                            ? st.st_mode & 07777
                            : (run->new_file_mode & 0644);
    int result = cfbp_fs_write_file(path.buf, run->version, strlen(run->version), run->version_mode,
                                    run->err);
    cfbp_strbuf_release(&path);
    return result;
}

static int run_pre_package(struct package_run *run)
{
    const char *command = run->manifest.pre_package;
    if (!command)
        return 0;
    report(run, "Running pre_package: %s", command);
    struct cfbp_strbuf program = CFBP_STRBUF_INIT, output = CFBP_STRBUF_INIT;
    if (command[0] == '/')
        cfbp_strbuf_set(&program, command);
    else
        cfbp_path_join(&program, run->copy_dir.buf, command);
    char *argv[] = {program.buf, NULL};
    /* In a group of its own, so that a cancel request stops it and whatever it started
     * (SIGTERM, then SIGKILL); its stdin is /dev/null, as Go's exec gives it, so that a
     * group outside the terminal's foreground never stops on a read. */
    struct cfbp_process_spec spec = CFBP_PROCESS_SPEC_INIT;
    spec.argv = argv;
    spec.directory = run->copy_dir.buf;
    spec.new_process_group = true;
    spec.stdin_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    struct cfbp_process_run watch = CFBP_PROCESS_RUN_INIT;
    watch.output = &output;
    watch.merge_stderr = true;
    watch.stop_fd = cfbp_cancel_fd();
    int status = 0;
    int result = cfbp_process_run_spec(&spec, &watch, &status, run->err);
    if (spec.stdin_fd >= 0)
        close(spec.stdin_fd);
    if (result < 0 && watch.stopped) {
        cfbp_error_set(run->err, CFBP_ERROR_CANCELLED,
                       "pre_package %s was stopped: packaging "
                       "was cancelled",
                       command);
    } else if (result < 0) {
        cfbp_error_prefix(run->err, "pre_package");
    } else if (cfbp_cancel_requested()) {
        result = check_cancelled(run); /* it ended as the request came */
    } else if (status != 0) {
        /* The Go packager prints all of it on failure: the caller may want to as well. */
        free(run->result->pre_package_output);
        run->result->pre_package_output = cfbp_xstrdup(output.buf ? output.buf : "");
        run->result->pre_package_status = status;
        size_t skip = output.len > OUTPUT_TAIL ? output.len - OUTPUT_TAIL : 0;
        result = cfbp_error_set(run->err, CFBP_ERROR_FAILED,
                                "pre_package %s failed with exit status %d; its output%s:\n%s",
                                command, status, skip ? " (the end)" : "", output.buf + skip);
    }
    cfbp_strbuf_release(&program);
    cfbp_strbuf_release(&output);
    return result;
}

/* pre_package may rewrite manifest.yml: the copy's is the one that is packaged. */
static int reload_manifest(struct package_run *run)
{
    struct cfbp_manifest reloaded;
    if (cfbp_manifest_load_without_version(&reloaded, run->copy_dir.buf, run->err) < 0)
        return cfbp_error_prefix(run->err, "after pre_package");
    cfbp_manifest_release(&run->manifest);
    run->manifest = reloaded;
    return check_manifest(run);
}

/* --- members --- */

static struct member *add_member(struct package_run *run, const char *name)
{
    CFBP_GROW(run->members, run->member_alloc, run->member_count + 1);
    struct member *member = &run->members[run->member_count++];
    memset(member, 0, sizeof(*member));
    member->name = cfbp_xstrdup(name);
    return member;
}

static int add_included_files(struct package_run *run)
{
    struct cfbp_strbuf name = CFBP_STRBUF_INIT, path = CFBP_STRBUF_INIT;
    int result = 0;
    const struct cfbp_string_list *files = &run->manifest.include_files;
    for (size_t i = 0; result == 0 && i < files->count; i++) {
        if (!cfbp_path_clean_relative(&name, files->items[i])) {
            result = cfbp_error_set(run->err, CFBP_ERROR_INVALID,
                                    "include_files entry '%s' must be a path inside the buildpack",
                                    files->items[i]);
            break;
        }
        struct member *member = add_member(run, name.buf);
        if (strcmp(name.buf, "VERSION") == 0) {
            member->data = run->version; /* written without a newline (§5.3) */
            member->length = strlen(run->version);
            member->mode = run->version_mode;
            continue;
        }
        cfbp_path_join(&path, run->copy_dir.buf, name.buf);
        struct stat st;
        if (strcmp(name.buf, "manifest.yml") == 0) {
            /* The packaged manifest, filled in later; Go rewrites the file, which keeps its mode.
             */
            member->mode = stat(path.buf, &st) == 0 ? st.st_mode & 07777 : 0644;
            continue;
        }
        if (stat(path.buf, &st) < 0) {
            result = cfbp_error_set_errno(run->err, CFBP_ERROR_NOT_FOUND, errno,
                                          "failed to open included_file: %s", name.buf);
        } else if (!S_ISREG(st.st_mode)) {
            result = cfbp_error_set(run->err, CFBP_ERROR_INVALID,
                                    "included_file %s is not a file; list files in include_files",
                                    name.buf);
        } else {
            member->path = cfbp_xstrdup(path.buf);
            member->mode = st.st_mode & 07777; /* as Go's zip.FileInfoHeader takes it */
        }
    }
    cfbp_strbuf_release(&name);
    cfbp_strbuf_release(&path);
    return result;
}

/* Every shipped ELF program must run on the stack(s) the zip is for (contract §16). */
static int audit_programs(struct package_run *run)
{
    struct cfbp_string_list stacks = CFBP_STRING_LIST_INIT;
    if (run->options->stack) {
        cfbp_string_list_append(&stacks, run->options->stack);
    } else {
        for (size_t i = 0; i < run->manifest.dependency_count; i++)
            for (size_t j = 0; j < run->manifest.dependencies[i].cf_stacks.count; j++)
                if (!cfbp_string_list_contains(&stacks,
                                               run->manifest.dependencies[i].cf_stacks.items[j]))
                    cfbp_string_list_append(&stacks,
                                            run->manifest.dependencies[i].cf_stacks.items[j]);
        if (stacks.count == 0)
            cfbp_string_list_append(&stacks, "cflinuxfs4");
    }
    int result = 0;
    for (size_t s = 0; result == 0 && s < stacks.count; s++) {
        if (!cfbp_elf_knows_stack(stacks.items[s])) {
            report(run, "Not checking programs for %s: its libraries are not known",
                   stacks.items[s]);
            continue;
        }
        for (size_t i = 0; result == 0 && i < run->member_count; i++) {
            const struct member *member = &run->members[i];
            if (member->path && !member->dependency && cfbp_elf_is_elf(member->path))
                result = cfbp_elf_audit(member->path, member->name, stacks.items[s], run->err);
        }
        if (result == 0)
            report(run, "Checked the programs against %s", stacks.items[s]);
    }
    cfbp_string_list_clear(&stacks);
    return result;
}

/* --- dependencies (§9.2 step 7) --- */

static void dependency_member_name(const struct cfbp_dependency *dependency,
                                   struct cfbp_strbuf *out)
{
    char md5[CFBP_DIGEST_HEX_SIZE];
    struct cfbp_strbuf file_name = CFBP_STRBUF_INIT;
    cfbp_digest_of_bytes(CFBP_DIGEST_MD5, dependency->uri, strlen(dependency->uri), md5);
    cfbp_strbuf_reset(out);
    cfbp_strbuf_append_format(out, "dependencies/%s/%s", md5,
                              cfbp_uri_file_name(&file_name, dependency->uri));
    cfbp_strbuf_release(&file_name);
}

static bool is_url(const char *text)
{
    return cfbp_uri_scheme_of(text) != CFBP_URI_OTHER;
}

static void download_progress(void *data, unsigned long long received, unsigned long long total)
{
    const struct package_run *run = data;
    const struct cfbp_package_reporter *reporter = &run->options->reporter;
    if (reporter->progress)
        reporter->progress(reporter->data, "download", received, total);
}

/*
 * Checks an md5-only dependency's file (the manifest gives no sha256; Go's
 * packager cannot package those cached at all, its check wants a sha256).
 */
static int check_md5(struct package_run *run, const struct cfbp_dependency *dependency,
                     const char *path)
{
    return cfbp_digest_check_file(CFBP_DIGEST_MD5, path, dependency->md5, run->err);
}

/* Downloads url into path (download.h), refusing the wrong digest. */
static int download(struct package_run *run, const struct cfbp_dependency *dependency,
                    const char *url, const char *path)
{
    struct cfbp_strbuf shown = CFBP_STRBUF_INIT, directory = CFBP_STRBUF_INIT;
    cfbp_uri_redact(&shown, url);
    report(run, "Downloading %s %s from %s", dependency->name, dependency->version, shown.buf);
    cfbp_path_dirname(&directory, path);
    struct cfbp_fetch_options fetch;
    cfbp_fetch_options_init(&fetch);
    fetch.progress = download_progress;
    fetch.progress_data = run;
    struct cfbp_download request = CFBP_DOWNLOAD_INIT;
    request.uri = url;
    request.path = path;
    request.sha256 = dependency->sha256;
    request.md5 = dependency->md5;
    request.mode = run->new_file_mode; /* Go's os.Create's mode, so later runs zip the same */
    request.fetch = &fetch;
    char actual[CFBP_DIGEST_HEX_SIZE];
    int result = cfbp_fs_mkdir_p(directory.buf, 0755, run->err);
    if (result == 0)
        result = cfbp_download_verified(&request, actual, run->err);
    if (result < 0)
        rmdir(directory.buf); /* only when empty: nothing half-downloaded stays cached */
    cfbp_strbuf_release(&shown);
    cfbp_strbuf_release(&directory);
    return result;
}

/* Words a dependency's error as the Go packager does: "<uri> (<name> <version>): ...". */
static int dependency_error(struct package_run *run, const struct cfbp_dependency *dependency)
{
    struct cfbp_strbuf shown = CFBP_STRBUF_INIT;
    cfbp_uri_redact(&shown, dependency->uri);
    cfbp_error_set(run->err, run->err->kind, "%s (%s %s): %s%s", shown.buf, dependency->name,
                   dependency->version, run->err->kind == CFBP_ERROR_CHECKSUM ? "dependency " : "",
                   run->err->message);
    cfbp_strbuf_release(&shown);
    return -1;
}

/* The directory or base URL of --mirror, joined with a file name. */
static void mirror_location(const char *mirror, const char *file_name, struct cfbp_strbuf *out)
{
    cfbp_strbuf_set(out, mirror);
    while (out->len > 1 && out->buf[out->len - 1] == '/')
        cfbp_strbuf_set_length(out, out->len - 1);
    cfbp_strbuf_append_format(out, "/%s", file_name);
}

/*
 * Puts in member->path the local file holding the dependency's bytes, from
 * the first of (see packager.h): local_dependencies, the download cache,
 * then --mirror instead of the uri (a directory is read in place, a URL
 * downloaded into the cache), or the uri itself (file:// read in place).
 */
static int find_dependency(struct package_run *run, const struct cfbp_dependency *dependency,
                           const char *local_dependencies, struct member *member)
{
    const struct cfbp_package_options *options = run->options;
    struct cfbp_strbuf file_name = CFBP_STRBUF_INIT, path = CFBP_STRBUF_INIT,
                       url = CFBP_STRBUF_INIT, cached = CFBP_STRBUF_INIT;
    cfbp_uri_file_name(&file_name, dependency->uri);
    cfbp_path_join(&cached, options->cache_dir, member->name);
    int result = 0;
    if (local_dependencies) {
        cfbp_path_join(&path, run->copy_dir.buf, local_dependencies);
        cfbp_path_append(&path, file_name.buf);
    }
    /* A file Go's packager would have copied into its cache gets the mode os.Create gives. */
    member->mode = run->new_file_mode;
    struct stat st;
    if (options->mirror && !is_url(options->mirror)) {
        /* An explicit mirror is the source of every dependency: nothing else is looked at. */
        mirror_location(options->mirror, file_name.buf, &path);
        if (!cfbp_fs_is_file(path.buf))
            result = cfbp_error_set(run->err, CFBP_ERROR_NOT_FOUND, "the mirror %s has no %s",
                                    options->mirror, file_name.buf);
    } else if (options->mirror) {
        mirror_location(options->mirror, file_name.buf, &url);
        result = download(run, dependency, url.buf, cached.buf);
        cfbp_strbuf_set(&path, cached.buf);
        member->from_download_cache = true;
    } else if (local_dependencies && cfbp_fs_is_file(path.buf)) {
        /* built by pre_package */
    } else if (cfbp_fs_is_file(cached.buf) && stat(cached.buf, &st) == 0) {
        cfbp_strbuf_set(&path, cached.buf);
        member->from_download_cache = true;
        member->mode = st.st_mode & 07777; /* Go zips the cached file with its own mode */
    } else if (cfbp_uri_scheme_of(dependency->uri) == CFBP_URI_FILE) {
        result = cfbp_uri_file_path(&path, dependency->uri, run->err);
    } else {
        cfbp_strbuf_set(&url, dependency->uri);
        result = download(run, dependency, url.buf, cached.buf);
        cfbp_strbuf_set(&path, cached.buf);
        member->from_download_cache = true;
    }
    if (result == 0)
        member->path = cfbp_strbuf_detach(&path, NULL);
    cfbp_strbuf_release(&file_name);
    cfbp_strbuf_release(&path);
    cfbp_strbuf_release(&url);
    cfbp_strbuf_release(&cached);
    return result;
}

/* The member already holding this dependency file (the same uri listed for two stacks). */
static const struct member *same_file(const struct package_run *run, const char *name)
{
    for (size_t i = 0; i < run->member_count; i++)
        if (strcmp(run->members[i].name, name) == 0)
            return &run->members[i];
    return NULL;
}

static int add_dependencies(struct package_run *run)
{
    if (!run->options->cache_dir)
        return cfbp_error_set(run->err, CFBP_ERROR_USAGE,
                              "a cached package needs a download cache directory");
    const struct cfbp_yaml_node *local =
        cfbp_yaml_get(run->manifest.document.root, "local_dependencies");
    if (local && local->type != CFBP_YAML_SCALAR)
        return cfbp_yaml_error_at(&run->manifest.document, local, run->err,
                                  "local_dependencies must be a directory name");
    struct cfbp_strbuf name = CFBP_STRBUF_INIT;
    int result = 0;
    for (size_t i = 0; result == 0 && i < run->manifest.dependency_count; i++) {
        const struct cfbp_dependency *dependency = &run->manifest.dependencies[i];
        if (!kept(run, dependency))
            continue;
        if (check_cancelled(run) < 0) {
            result = -1;
            break;
        }
        if (!dependency->sha256 && !dependency->md5) {
            result = cfbp_error_set(run->err, CFBP_ERROR_INVALID, "it has no sha256 to check");
            dependency_error(run, dependency);
            break;
        }
        dependency_member_name(dependency, &name);
        const struct member *earlier = same_file(run, name.buf);
        if (earlier && earlier->dependency) {
            const struct cfbp_dependency *first = earlier->dependency;
            bool same = first->sha256 && dependency->sha256
                            ? strcmp(first->sha256, dependency->sha256) == 0
                            : first->md5 && dependency->md5 && !first->sha256 &&
                                  !dependency->sha256 && strcmp(first->md5, dependency->md5) == 0;
            if (!same)
                result =
                    cfbp_error_set(run->err, CFBP_ERROR_INVALID,
                                   "%s is listed twice with different digests", dependency->uri);
            continue; /* one copy serves both entries */
        }
        if (!dependency->sha256)
            warn(run,
                 "%s %s: the manifest gives only an md5 digest, which is weaker than sha256 "
                 "(checked by md5; add its sha256)",
                 dependency->name, dependency->version);
        struct member *member = add_member(run, name.buf);
        member->dependency = dependency;
        result = find_dependency(run, dependency, local ? local->value : NULL, member);
        if (result < 0)
            dependency_error(run, dependency);
    }
    cfbp_strbuf_release(&name);
    return result;
}

/* --- the packaged manifest (§5.2) --- */

/*
 * How the Go packager's map round trip (yaml.v2 into map[string]interface{}
 * and back, contract §5.2) rewrites plain scalars: null in any spelling
 * (also an empty value) becomes `null`, YAML 1.1 booleans `true`/`false`,
 * integers decimal, floats as strconv.FormatFloat(f, 'g', -1, 64) writes
 * them; dates and base-60 numbers stay strings, written quoted.
 */
static void set_scalar(struct cfbp_yaml_node *node, const char *text)
{
    free(node->value);
    node->value = cfbp_xstrdup(text);
    node->value_length = strlen(text);
}

/* Go's strconv.ParseInt/ParseUint with base 0, after yaml.v2 dropped the underscores. */
static bool go_parse_integer(const char *text, struct cfbp_strbuf *out)
{
    const char *digits = text;
    bool negative = *digits == '-';
    if (*digits == '-' || *digits == '+')
        digits++;
    int base = 10;
    if (digits[0] == '0' && (digits[1] == 'x' || digits[1] == 'X'))
        base = 16, digits += 2;
    else if (digits[0] == '0' && (digits[1] == 'o' || digits[1] == 'O'))
        base = 8, digits += 2;
    else if (digits[0] == '0' && (digits[1] == 'b' || digits[1] == 'B'))
        base = 2, digits += 2;
    else if (digits[0] == '0' && digits[1])
        base = 8, digits += 1;
    if (!*digits || *digits == '-' || *digits == '+')
        return false;
    errno = 0;
    char *end;
    unsigned long long magnitude = strtoull(digits, &end, base);
    if (*end || errno == ERANGE)
        return false;
    cfbp_strbuf_reset(out);
    if (negative && magnitude <= (unsigned long long)LLONG_MAX + 1)
        cfbp_strbuf_append_format(out, "-%llu", magnitude);
    else if (negative)
        return false;
    else if (text[0] == '+' && magnitude > (unsigned long long)LLONG_MAX)
        return false; /* ParseUint takes no sign */
    else
        cfbp_strbuf_append_format(out, "%llu", magnitude);
    if (strcmp(out->buf, "-0") == 0)
        cfbp_strbuf_set(out, "0");
    return true;
}

/* strconv.FormatFloat(value, 'g', -1, 64): the shortest digits that read back the same. */
static void go_format_float(double value, struct cfbp_strbuf *out)
{
    cfbp_strbuf_reset(out);
    if (isnan(value)) {
        cfbp_strbuf_set(out, ".nan");
        return;
    }
    if (isinf(value)) {
        cfbp_strbuf_set(out, value < 0 ? "-.inf" : ".inf");
        return;
    }
    if (value == 0) {
        cfbp_strbuf_set(out, signbit(value) ? "-0" : "0");
        return;
    }
    char text[64];
    for (int precision = 1; precision <= 17; precision++) {
        snprintf(text, sizeof(text), "%.*e", precision - 1, value);
        if (strtod(text, NULL) == value)
            break;
    }
    /* text is [-]d[.ddd]e[+-]xx: take its digits and decimal exponent. */
    char digits[32];
    size_t count = 0;
    const char *c = text;
    if (*c == '-')
        cfbp_strbuf_append_char(out, *c++);
    for (; *c && *c != 'e'; c++)
        if (*c != '.')
            digits[count++] = *c;
    while (count > 1 && digits[count - 1] == '0')
        count--;
    int exponent = atoi(c + 1);
    if (exponent < -4 || exponent >= 6) { /* Go's %e choice when the precision is shortest */
        cfbp_strbuf_append_char(out, digits[0]);
        if (count > 1) {
            cfbp_strbuf_append_char(out, '.');
            cfbp_strbuf_append(out, digits + 1, count - 1);
        }
        cfbp_strbuf_append_format(out, "e%c%02d", exponent < 0 ? '-' : '+', abs(exponent));
    } else if (exponent < 0) {
        cfbp_strbuf_append_string(out, "0.");
        for (int i = -1; i > exponent; i--)
            cfbp_strbuf_append_char(out, '0');
        cfbp_strbuf_append(out, digits, count);
    } else {
        for (int i = 0; i <= exponent; i++)
            cfbp_strbuf_append_char(out, (size_t)i < count ? digits[i] : '0');
        if (count > (size_t)exponent + 1) {
            cfbp_strbuf_append_char(out, '.');
            cfbp_strbuf_append(out, digits + exponent + 1, count - (size_t)exponent - 1);
        }
    }
}

/* yaml.v2's float syntax: ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$ */
static bool go_parse_float(const char *text, double *value)
{
    static const char *const specials[] = {".inf",  ".Inf",  ".INF",  "+.inf", "+.Inf", "+.INF",
                                           "-.inf", "-.Inf", "-.INF", ".nan",  ".NaN",  ".NAN"};
    for (size_t i = 0; i < sizeof(specials) / sizeof(*specials); i++)
        if (strcmp(text, specials[i]) == 0) {
            *value = text[strlen(text) - 1] == 'n' || text[strlen(text) - 1] == 'N'
                         ? NAN
                         : (text[0] == '-' ? -INFINITY : INFINITY);
            return true;
        }
    const char *c = text;
    if (*c == '-' || *c == '+')
        c++;
    size_t before = strspn(c, "0123456789");
    c += before;
    size_t after = 0;
    if (*c == '.') {
        after = strspn(c + 1, "0123456789");
        c += 1 + after;
    }
    if (before == 0 && after == 0)
        return false;
    if (*c == 'e' || *c == 'E') {
        c++;
        if (*c == '-' || *c == '+')
            c++;
        size_t exponent = strspn(c, "0123456789");
        if (exponent == 0)
            return false;
        c += exponent;
    }
    if (*c)
        return false;
    errno = 0;
    *value = strtod(text, NULL);
    return errno != ERANGE || fabs(*value) < 1; /* Go refuses an overflow, keeps it a string */
}

static void go_round_trip_scalar(const struct package_run *run, struct cfbp_yaml_node *node,
                                 bool string_key)
{
    if (node->quoted)
        return;
    enum cfbp_yaml_meaning meaning = cfbp_yaml_meaning_of(node);
    if (string_key) {
        /* Top-level keys are read into map[string]...: strings, quoted if they need it;
         * a null key is the empty string. */
        if (meaning == CFBP_YAML_NULL)
            set_scalar(node, "");
        if (meaning != CFBP_YAML_STRING)
            node->quoted = true;
        return;
    }
    struct cfbp_strbuf text = CFBP_STRBUF_INIT;
    struct cfbp_strbuf plain = CFBP_STRBUF_INIT;
    double number;
    switch (meaning) {
    case CFBP_YAML_STRING:
    case CFBP_YAML_MERGE:
        break;
    case CFBP_YAML_NULL:
        set_scalar(node, "null");
        break;
    case CFBP_YAML_BOOL: {
        char first = node->value[0];
        bool yes =
            first == 'y' || first == 'Y' || first == 't' || first == 'T' ||
            ((first == 'o' || first == 'O') && (node->value[1] == 'n' || node->value[1] == 'N'));
        set_scalar(node, yes ? "true" : "false");
        break;
    }
    case CFBP_YAML_TIMESTAMP:
        node->quoted = true; /* read as a string, and a string that reads as a date is quoted */
        break;
    case CFBP_YAML_INT:
    case CFBP_YAML_FLOAT:
        for (const char *c = node->value; *c; c++)
            if (*c != '_')
                cfbp_strbuf_append_char(&plain, *c);
        if (meaning == CFBP_YAML_INT && go_parse_integer(plain.buf, &text)) {
        } else if (go_parse_float(meaning == CFBP_YAML_INT ? plain.buf : node->value, &number)) {
            go_format_float(number, &text);
        } else {
            node->quoted = true; /* "1:20" and the like stay strings */
            break;
        }
        /* `version: 1.10` is packaged as 1.1: what Go does, but rarely what was meant. */
        if (strcmp(text.buf, node->value) != 0)
            warn(run,
                 "manifest.yml:%zu:%zu: %s is a number to Go's yaml.v2, so the packaged "
                 "manifest says %s (as the Go packager writes it); quote it to keep its text",
                 node->line, node->column, node->value, text.buf);
        set_scalar(node, text.buf);
        break;
    }
    cfbp_strbuf_release(&text);
    cfbp_strbuf_release(&plain);
}

static void go_round_trip(const struct package_run *run, struct cfbp_yaml_node *node,
                          bool top_level)
{
    if (node->type == CFBP_YAML_SCALAR) {
        go_round_trip_scalar(run, node, false);
        return;
    }
    for (size_t i = 0; i < node->count; i++) {
        if (node->type == CFBP_YAML_SEQUENCE) {
            go_round_trip(run, node->items[i], false);
        } else {
            if (node->keys[i]->type == CFBP_YAML_SCALAR)
                go_round_trip_scalar(run, node->keys[i], top_level);
            else
                go_round_trip(run, node->keys[i], false);
            go_round_trip(run, node->values[i], false);
        }
    }
}

static int write_packaged_manifest(struct package_run *run)
{
    const struct cfbp_package_options *options = run->options;
    if (!run->manifest.document.root || run->manifest.document.root->type != CFBP_YAML_MAPPING)
        return empty_manifest(run); /* pre_package emptied it */
    struct cfbp_yaml_node *root = cfbp_yaml_copy(run->manifest.document.root);
    cfbp_yaml_remove(root, "local_dependencies"); /* cfbp's, for packaging only */
    struct cfbp_yaml_node *entries = cfbp_yaml_get(root, "dependencies");
    struct cfbp_yaml_node *kept_entries = cfbp_yaml_new_sequence();
    struct cfbp_strbuf file = CFBP_STRBUF_INIT;
    /* The tree's entries are in the order manifest.dependencies was read from. */
    for (size_t i = 0; entries && i < entries->count && i < run->manifest.dependency_count; i++) {
        const struct cfbp_dependency *dependency = &run->manifest.dependencies[i];
        if (!kept(run, dependency))
            continue;
        struct cfbp_yaml_node *entry = cfbp_yaml_copy(entries->items[i]);
        if (options->stack)
            cfbp_yaml_remove(entry, "cf_stacks");
        if (options->cached) {
            dependency_member_name(dependency, &file);
            cfbp_yaml_set(entry, "file", cfbp_yaml_new_string(file.buf));
        }
        cfbp_yaml_append(kept_entries, entry);
    }
    if (entries)
        cfbp_yaml_set(root, "dependencies", kept_entries);
    else
        cfbp_yaml_free(kept_entries);
    if (options->stack)
        cfbp_yaml_set(root, "stack", cfbp_yaml_new_string(options->stack));
    go_round_trip(run, root, true);
    int result = cfbp_yaml_emit(&run->packaged_manifest, root,
                                CFBP_YAML_EMIT_SORT_KEYS | CFBP_YAML_EMIT_GO_WIDTH, run->err);
    cfbp_yaml_free(root);
    /* file: lines make the packaged manifest longer than the source (§2.1's limit). */
    if (result == 0 && run->packaged_manifest.len > CFBP_MANIFEST_MAX_BYTES)
        result = cfbp_error_set(run->err, CFBP_ERROR_INVALID,
                                "the packaged manifest.yml would be %zu bytes, over the 1 MiB "
                                "Cloud Controller accepts (\"buildpack manifest is too large\")",
                                run->packaged_manifest.len);
    cfbp_strbuf_release(&file);
    for (size_t i = 0; result == 0 && i < run->member_count; i++) {
        if (!run->members[i].path && !run->members[i].data) {
            run->members[i].data = run->packaged_manifest.buf;
            run->members[i].length = run->packaged_manifest.len;
        }
    }
    return result;
}

/* --- the zip (§9.2 step 8, made reproducible) --- */

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The zip keeps the Go packager's order; a name twice would be two entries, so it is refused. */
static int check_unique_names(struct package_run *run)
{
    const char **names = cfbp_xcalloc(run->member_count ? run->member_count : 1, sizeof(*names));
    for (size_t i = 0; i < run->member_count; i++)
        names[i] = run->members[i].name;
    qsort(names, run->member_count, sizeof(*names), compare_names);
    int status = 0;
    for (size_t i = 1; status == 0 && i < run->member_count; i++)
        if (strcmp(names[i - 1], names[i]) == 0)
            status = cfbp_error_set(run->err, CFBP_ERROR_INVALID, "%s would be in the zip twice",
                                    names[i]);
    free(names);
    return status;
}

static void zip_progress(void *data, unsigned long long done, unsigned long long total)
{
    const struct package_run *run = data;
    if (run->options->reporter.progress)
        run->options->reporter.progress(run->options->reporter.data, "zip", done, total);
}

static int write_zip(struct package_run *run, struct cfbp_package_result *result)
{
    const struct cfbp_package_options *options = run->options;
    struct cfbp_strbuf name = CFBP_STRBUF_INIT, path = CFBP_STRBUF_INIT;
    cfbp_package_zip_name(&name, run->manifest.language, options->cached, run->profile_part.buf,
                          options->stack, run->version);
    int status = cfbp_path_absolute(
        &path, options->output_dir ? options->output_dir : run->source_root, run->err);
    if (status == 0)
        status = cfbp_fs_mkdir_p(path.buf, 0755, run->err);
    cfbp_path_append(&path, name.buf);
    if (status == 0)
        status = check_unique_names(run);
    unsigned long long total = 0;
    for (size_t i = 0; i < run->member_count; i++) {
        struct stat st;
        if (run->members[i].path && stat(run->members[i].path, &st) == 0)
            total += (unsigned long long)st.st_size;
    }
    struct cfbp_zip *zip = NULL;
    if (status == 0)
        status = cfbp_zip_open(&zip, path.buf, options->mtime, run->err);
    if (status == 0) {
        report(run, "Writing %s", path.buf);
        cfbp_zip_set_progress(zip, total, zip_progress, run);
    }
    for (size_t i = 0; status == 0 && i < run->member_count; i++) {
        const struct member *member = &run->members[i];
        if (check_cancelled(run) < 0) {
            status = -1;
            break;
        }
        if (!member->path) {
            status = cfbp_zip_add_bytes(zip, member->name, member->data, member->length,
                                        member->mode, run->err);
            continue;
        }
        const struct cfbp_dependency *dependency = member->dependency;
        /* sha256 is checked as the file is zipped; an md5-only entry is read once more. */
        if (dependency && !dependency->sha256)
            status = check_md5(run, dependency, member->path);
        if (status == 0)
            status = cfbp_zip_add_file(zip, member->name, member->path, member->mode,
                                       dependency ? dependency->sha256 : NULL, run->err);
        if (status < 0 && dependency) {
            dependency_error(run, dependency);
            cfbp_error_append(run->err, " (in %s)", member->path);
            if (run->err->kind == CFBP_ERROR_CHECKSUM && member->from_download_cache) {
                /* Downloads are checked before they are cached: this copy went bad since. */
                unlink(member->path);
                cfbp_error_append(run->err, "; the damaged cached copy was removed, run "
                                            "cfbp package again to download it");
            }
        }
    }
    if (status == 0) {
        status = cfbp_zip_commit(zip, &result->size, result->sha256, run->err);
        if (status == 0)
            result->zip_path = cfbp_strbuf_detach(&path, NULL);
    } else if (zip) {
        cfbp_zip_abandon(zip);
    }
    cfbp_strbuf_release(&name);
    cfbp_strbuf_release(&path);
    return status;
}

/* --- the pipeline --- */

static void run_release(struct package_run *run)
{
    if (run->work_dir.len) {
        struct cfbp_error ignored = CFBP_ERROR_INIT;
        cfbp_fs_remove_tree(run->work_dir.buf, &ignored);
        cfbp_error_clear(&ignored);
    }
    for (size_t i = 0; i < run->member_count; i++) {
        free(run->members[i].name);
        free(run->members[i].path);
    }
    free(run->members);
    free(run->version);
    free(run->source_root);
    cfbp_manifest_release(&run->manifest);
    cfbp_strbuf_release(&run->work_dir);
    cfbp_strbuf_release(&run->copy_dir);
    cfbp_strbuf_release(&run->packaged_manifest);
    cfbp_strbuf_release(&run->profile_part);
    cfbp_string_list_clear(&run->excluded);
}

int cfbp_package(const struct cfbp_package_options *options, struct cfbp_package_result *result,
                 struct cfbp_error *err)
{
    memset(result, 0, sizeof(*result));
    struct package_run run = {.options = options, .result = result, .err = err};
    cfbp_strbuf_init(&run.work_dir, 0);
    cfbp_strbuf_init(&run.copy_dir, 0);
    cfbp_strbuf_init(&run.packaged_manifest, 0);
    cfbp_strbuf_init(&run.profile_part, 0);
    run.excluded = (struct cfbp_string_list)CFBP_STRING_LIST_INIT;
    /* umask can only be read by setting it: put it straight back. */
    mode_t mask = umask(022);
    umask(mask);
    run.new_file_mode = 0666 & ~mask;
    int status = cfbp_manifest_load_without_version(&run.manifest, options->source_dir, err);
    if (status == 0)
        run.source_root = cfbp_xstrdup(run.manifest.root);
    if (status == 0)
        status = read_version(&run);
    if (status == 0)
        status = check_manifest(&run);
    if (status == 0)
        status = cfbp_package_select(&run.manifest, options, &run.excluded, &run.profile_part, err);
    if (status == 0)
        status = make_copy(&run);
    if (status == 0)
        status = check_cancelled(&run);
    if (status == 0)
        status = run_pre_package(&run);
    if (status == 0 && run.manifest.pre_package)
        status = reload_manifest(&run);
    if (status == 0)
        status = add_included_files(&run);
    if (status == 0)
        status = check_cancelled(&run);
    if (status == 0)
        status = audit_programs(&run);
    if (status == 0 && options->cached)
        status = add_dependencies(&run);
    if (status == 0)
        status = write_packaged_manifest(&run);
    if (status == 0)
        status = write_zip(&run, result);
    run_release(&run);
    return status;
}

void cfbp_package_result_release(struct cfbp_package_result *result)
{
    free(result->zip_path);
    free(result->pre_package_output);
    memset(result, 0, sizeof(*result));
}

/* --- summary (§9.4) --- */

static int compare_dependencies(const void *a, const void *b)
{
    const struct cfbp_dependency *x = *(const struct cfbp_dependency *const *)a;
    const struct cfbp_dependency *y = *(const struct cfbp_dependency *const *)b;
    int by_name = strcmp(x->name, y->name);
    return by_name ? by_name : cfbp_version_compare(x->version, y->version);
}

static void append_profiles(const struct cfbp_yaml_node *profiles, struct cfbp_strbuf *out)
{
    if (!profiles || profiles->type != CFBP_YAML_MAPPING || profiles->count == 0)
        return;
    /* Sorted by name (Go's sort.Strings), each "  %-12s %s" with a null description as "". */
    struct cfbp_string_list names = CFBP_STRING_LIST_INIT;
    for (size_t i = 0; i < profiles->count; i++)
        if (profiles->keys[i]->type == CFBP_YAML_SCALAR)
            cfbp_string_list_append(&names, profiles->keys[i]->value);
    cfbp_string_list_sort(&names);
    cfbp_strbuf_append_string(out, "\nPackaging profiles:\n\n");
    for (size_t n = 0; n < names.count; n++) {
        const struct cfbp_yaml_node *description =
            cfbp_yaml_get(cfbp_yaml_get(profiles, names.items[n]), "description");
        bool text =
            description && description->type == CFBP_YAML_SCALAR && !cfbp_yaml_is_null(description);
        cfbp_strbuf_append_format(out, "  %-12s %s\n", names.items[n],
                                  text ? description->value : "");
    }
    cfbp_string_list_clear(&names);
}

int cfbp_package_summary(const char *source_dir, struct cfbp_strbuf *out, struct cfbp_error *err)
{
    struct cfbp_manifest manifest;
    /* Only what Go's summary refuses fails here: it lists what it can read. */
    if (cfbp_manifest_load_for_summary(&manifest, source_dir, err) < 0)
        return -1;
    size_t count = manifest.dependency_count;
    const struct cfbp_dependency **sorted = cfbp_xcalloc(count ? count : 1, sizeof(*sorted));
    bool modules = false;
    for (size_t i = 0; i < count; i++) {
        sorted[i] = &manifest.dependencies[i];
        modules = modules || manifest.dependencies[i].modules.count > 0;
    }
    qsort(sorted, count, sizeof(*sorted), compare_dependencies);
    struct cfbp_string_list stacks = CFBP_STRING_LIST_INIT, names = CFBP_STRING_LIST_INIT;
    struct cfbp_strbuf joined = CFBP_STRBUF_INIT, module_names = CFBP_STRBUF_INIT;
    if (count) {
        cfbp_strbuf_append_string(out, "\nPackaged binaries:\n\n");
        cfbp_strbuf_append_string(out, modules ? "| name | version | cf_stacks | modules |\n"
                                                 "|-|-|-|-|\n"
                                               : "| name | version | cf_stacks |\n|-|-|-|\n");
    }
    for (size_t i = 0; i < count; i++) {
        cfbp_string_list_clear(&stacks);
        for (size_t j = 0; j < sorted[i]->cf_stacks.count; j++)
            cfbp_string_list_append(&stacks, sorted[i]->cf_stacks.items[j]);
        cfbp_string_list_sort(&stacks);
        cfbp_strbuf_reset(&joined);
        cfbp_string_list_join(&stacks, ", ", &joined);
        cfbp_strbuf_append_format(out, "| %s | %s | %s |", sorted[i]->name, sorted[i]->version,
                                  joined.buf);
        if (modules) {
            cfbp_string_list_clear(&names);
            for (size_t j = 0; j < sorted[i]->modules.count; j++)
                cfbp_string_list_append(&names, sorted[i]->modules.items[j]);
            cfbp_string_list_sort(&names);
            cfbp_strbuf_reset(&module_names);
            cfbp_string_list_join(&names, ", ", &module_names);
            cfbp_strbuf_append_format(out, " %s |", module_names.buf);
        }
        cfbp_strbuf_append_char(out, '\n');
    }
    if (manifest.default_count) {
        cfbp_strbuf_append_string(out, "\nDefault binary versions:\n\n| name | version |\n|-|-|\n");
        for (size_t i = 0; i < manifest.default_count; i++)
            cfbp_strbuf_append_format(out, "| %s | %s |\n", manifest.defaults[i].name,
                                      manifest.defaults[i].version);
    }
    append_profiles(cfbp_yaml_get(manifest.document.root, "packaging_profiles"), out);
    cfbp_string_list_clear(&stacks);
    cfbp_string_list_clear(&names);
    cfbp_strbuf_release(&joined);
    cfbp_strbuf_release(&module_names);
    free(sorted);
    cfbp_manifest_release(&manifest);
    return 0;
}

/* --- the Go packager's command line (§9.1) --- */

bool cfbp_package_parse_bool(const char *text, bool *value)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(*yes); i++) {
        if (strcmp(text, yes[i]) == 0) {
            *value = true;
            return true;
        }
        if (strcmp(text, no[i]) == 0) {
            *value = false;
            return true;
        }
    }
    return false;
}

void cfbp_package_split_names(const char *text, struct cfbp_string_list *out)
{
    /* strings.Split on ",", strings.TrimSpace on each, empty names dropped. */
    static const char space[] = " \t\n\v\f\r";
    while (text && *text) {
        size_t length = strcspn(text, ",");
        size_t start = 0, end = length;
        while (start < end && strchr(space, text[start]))
            start++;
        while (end > start && strchr(space, text[end - 1]))
            end--;
        if (end > start) {
            char *name = cfbp_xcalloc(end - start + 1, 1);
            memcpy(name, text + start, end - start);
            cfbp_string_list_append_owned(out, name);
        }
        text += length + (text[length] == ',');
    }
}

enum flag_kind { FLAG_BOOL, FLAG_STRING };

struct flag_definition {
    const char *name;
    enum flag_kind kind;
    size_t offset; /* of the bool or const char * in struct cfbp_package_flags */
    bool cfbp_only;
};

#define FLAG_AT(field) offsetof(struct cfbp_package_flags, field)

static const struct flag_definition flag_definitions[] = {
    {"cached", FLAG_BOOL, FLAG_AT(cached), false},
    {"any-stack", FLAG_BOOL, FLAG_AT(any_stack), false},
    {"version", FLAG_STRING, FLAG_AT(version), false},
    {"cachedir", FLAG_STRING, FLAG_AT(cache_dir), false},
    {"stack", FLAG_STRING, FLAG_AT(stack), false},
    {"profile", FLAG_STRING, FLAG_AT(profile), false},
    {"exclude", FLAG_STRING, FLAG_AT(exclude), false},
    {"include", FLAG_STRING, FLAG_AT(include), false},
    {"output", FLAG_STRING, FLAG_AT(output_dir), true},
    {"mirror", FLAG_STRING, FLAG_AT(mirror), true},
    {"quiet", FLAG_BOOL, FLAG_AT(quiet), true},
};

static int flag_error(struct cfbp_error *err, const char *format, const char *a, const char *b)
{
    /* Go's messages quote values with %q: build them with the same quoting. */
    struct cfbp_strbuf message = CFBP_STRBUF_INIT;
    for (const char *c = format; *c; c++) {
        if (c[0] == '%' && c[1] == 'q') {
            append_go_quoted(&message, a);
            a = b;
            c++;
        } else if (c[0] == '%' && c[1] == 's') {
            cfbp_strbuf_append_string(&message, a);
            a = b;
            c++;
        } else {
            cfbp_strbuf_append_char(&message, *c);
        }
    }
    cfbp_error_set(err, CFBP_ERROR_USAGE, "%s", message.buf);
    cfbp_strbuf_release(&message);
    return -1;
}

/*
 * One argument as Go's FlagSet.parseOne reads it. Returns 1 when it was a
 * flag (and *index moved past it and any value), 0 when it is not a flag,
 * 2 after "--" and -1 on an error.
 */
static int parse_one_flag(struct cfbp_package_flags *flags, int argc, char *const *argv, int *index,
                          unsigned mode, struct cfbp_error *err)
{
    const char *argument = argv[*index];
    if (strlen(argument) < 2 || argument[0] != '-')
        return 0;
    const char *name = argument + 1;
    if (name[0] == '-') {
        name++;
        if (!*name) { /* "--" ends the flags */
            (*index)++;
            return 2;
        }
    }
    if (!*name || name[0] == '-' || name[0] == '=')
        return flag_error(err, "bad flag syntax: %s", argument, NULL);
    (*index)++;
    const char *equals = strchr(name, '=');
    size_t name_length = equals ? (size_t)(equals - name) : strlen(name);
    const char *value = equals ? equals + 1 : NULL;
    const struct flag_definition *flag = NULL;
    for (size_t i = 0; i < sizeof(flag_definitions) / sizeof(*flag_definitions); i++) {
        const struct flag_definition *candidate = &flag_definitions[i];
        if ((!candidate->cfbp_only || (mode & CFBP_PACKAGE_FLAGS_CFBP)) &&
            strlen(candidate->name) == name_length &&
            strncmp(candidate->name, name, name_length) == 0)
            flag = candidate;
    }
    struct cfbp_strbuf bare = CFBP_STRBUF_INIT;
    cfbp_strbuf_append(&bare, name, name_length);
    int result = 1;
    if (!flag && (strcmp(bare.buf, "help") == 0 || strcmp(bare.buf, "h") == 0)) {
        flags->help = true; /* Go's special case, whatever value follows */
    } else if (!flag) {
        result = flag_error(err, "flag provided but not defined: -%s", bare.buf, NULL);
    } else if (flag->kind == FLAG_BOOL) {
        /* A bool flag never takes the next argument: only "-x=value". */
        bool *target = (bool *)((char *)flags + flag->offset);
        if (!value)
            *target = true;
        else if (!cfbp_package_parse_bool(value, target))
            result =
                flag_error(err, "invalid boolean value %q for -%s: parse error", value, bare.buf);
    } else {
        if (!value && *index < argc)
            value = argv[(*index)++];
        if (!value)
            result = flag_error(err, "flag needs an argument: -%s", bare.buf, NULL);
        else
            *(const char **)((char *)flags + flag->offset) = value;
    }
    cfbp_strbuf_release(&bare);
    return result;
}

int cfbp_package_flags_parse(struct cfbp_package_flags *flags, int argc, char *const *argv,
                             unsigned mode, struct cfbp_error *err)
{
    memset(flags, 0, sizeof(*flags));
    int index = 0;
    while (index < argc) {
        int parsed = parse_one_flag(flags, argc, argv, &index, mode, err);
        if (parsed < 0)
            return -1;
        if (flags->help)
            return 0;
        if (parsed == 1)
            continue;
        if (parsed == 2 || !(mode & CFBP_PACKAGE_FLAGS_CFBP)) {
            /* Go stops at the first argument that is not a flag, and after "--". */
            while (index < argc)
                cfbp_string_list_append(&flags->arguments, argv[index++]);
            break;
        }
        cfbp_string_list_append(&flags->arguments, argv[index++]); /* BUILDPACK_DIR */
    }
    return 0;
}

void cfbp_package_flags_release(struct cfbp_package_flags *flags)
{
    cfbp_string_list_clear(&flags->arguments);
}
