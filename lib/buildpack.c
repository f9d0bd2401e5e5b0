/*
 * buildpack.c - finding the buildpack root and checking it fits the stack
 * (see buildpack.h).
 */
#include "cfbp/buildpack.h"

#include "cfbp/archive.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/log.h"
#include "cfbp/manifest.h"
#include "cfbp/path.h"
#include "cfbp/strbuf.h"
#include "cfbp/string_list.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cfbp_buildpack_find_root(const char *argv0, struct cfbp_strbuf *out, struct cfbp_error *err)
{
    const char *from_environment = getenv("BUILDPACK_DIR");
    if (from_environment && *from_environment)
        return cfbp_path_absolute(out, from_environment, err);
    struct cfbp_strbuf program = CFBP_STRBUF_INIT, directory = CFBP_STRBUF_INIT;
    int result = 0;
    if (argv0 && strchr(argv0, '/')) {
        cfbp_strbuf_set(&program, argv0);
    } else {
        char link[4096];
        ssize_t length = readlink("/proc/self/exe", link, sizeof(link) - 1);
        if (length < 0)
            result = cfbp_error_set_errno(err, CFBP_ERROR_IO, errno,
                                          "cannot tell where this program is; set BUILDPACK_DIR "
                                          "to the buildpack's root");
        else
            cfbp_strbuf_append(&program, link, (size_t)length);
    }
    if (result == 0) {
        cfbp_path_dirname(&directory, program.buf);
        cfbp_path_append(&directory, "..");
        result = cfbp_path_absolute(out, directory.buf, err);
    }
    cfbp_strbuf_release(&program);
    cfbp_strbuf_release(&directory);
    return result;
}

void cfbp_buildpack_title(const char *language, struct cfbp_strbuf *out)
{
    cfbp_strbuf_reset(out);
    bool word_start = true;
    for (const char *c = language; *c; c++) {
        unsigned char ch = (unsigned char)*c;
        cfbp_strbuf_append_char(out, word_start ? (char)toupper(ch) : (char)ch);
        /* Like Go's isSeparator: letters, digits and '_' continue a word. */
        word_start = !(isalnum(ch) || ch == '_' || ch >= 0x80);
    }
}

int cfbp_buildpack_check_valid(const struct cfbp_manifest *manifest, const char *stack,
                               struct cfbp_log *log, struct cfbp_error *err)
{
    struct cfbp_strbuf title = CFBP_STRBUF_INIT;
    cfbp_buildpack_title(manifest->language, &title);
    cfbp_log_begin_step(log, "%s Buildpack version %s", title.buf, manifest->version);
    cfbp_strbuf_release(&title);
    if (cfbp_manifest_supports_stack(manifest, stack))
        return 0;
    /* The first sentence is libbuildpack's, double space for an empty stack included (§12). */
    cfbp_error_set(err, CFBP_ERROR_STACK,
                   "Stack not supported by buildpack: required stack %s was not found",
                   stack ? stack : "");
    struct cfbp_string_list stacks = CFBP_STRING_LIST_INIT;
    if (manifest->stack)
        cfbp_string_list_append(&stacks, manifest->stack);
    for (size_t i = 0; i < manifest->dependency_count; i++)
        for (size_t j = 0; j < manifest->dependencies[i].cf_stacks.count; j++)
            if (!cfbp_string_list_contains(&stacks, manifest->dependencies[i].cf_stacks.items[j]))
                cfbp_string_list_append(&stacks, manifest->dependencies[i].cf_stacks.items[j]);
    struct cfbp_strbuf supported = CFBP_STRBUF_INIT;
    cfbp_string_list_join(&stacks, ", ", &supported);
    if (!stack || !*stack)
        cfbp_error_append(err, " (CF_STACK is not set; Cloud Foundry sets it when staging)");
    cfbp_error_append(err, "; this buildpack supports %s",
                      supported.len ? supported.buf : "no stack");
    cfbp_strbuf_release(&supported);
    cfbp_string_list_clear(&stacks);
    return -1;
}

static bool has_bin(const char *directory)
{
    struct cfbp_strbuf bin = CFBP_STRBUF_INIT;
    cfbp_path_join(&bin, directory, "bin");
    bool result = cfbp_fs_is_directory(bin.buf);
    cfbp_strbuf_release(&bin);
    return result;
}

int cfbp_buildpack_locate_root(const char *directory, const char *shown, struct cfbp_strbuf *root,
                               struct cfbp_error *err)
{
    if (has_bin(directory)) {
        cfbp_strbuf_set(root, directory);
        return 0;
    }
    struct cfbp_string_list names = CFBP_STRING_LIST_INIT;
    struct cfbp_error ignored = CFBP_ERROR_INIT;
    int result = -1;
    if (cfbp_fs_list_directory(directory, &names, &ignored) == 0 && names.count == 1) {
        cfbp_path_join(root, directory, names.items[0]);
        if (cfbp_fs_type_of(root->buf) == CFBP_FS_DIRECTORY && has_bin(root->buf))
            result = 0;
    }
    cfbp_error_clear(&ignored);
    cfbp_string_list_clear(&names);
    if (result < 0)
        cfbp_error_set(err, CFBP_ERROR_INVALID,
                       "malformed buildpack does not contain a /bin dir: %s", shown);
    return result;
}

int cfbp_buildpack_unpack_zip(const char *zip, const char *destination, char sha256[65],
                              struct cfbp_error *err)
{
    /* The name decides the format: whatever the file is called, read it as a zip. */
    struct cfbp_archive_request request = {
        .source = zip,
        .file_name = "buildpack.zip",
        .destination = destination,
    };
    if (cfbp_archive_install(&request, sha256, err) < 0)
        return cfbp_error_prefix(err, "cannot unpack the buildpack %s", zip);
    return 0;
}
