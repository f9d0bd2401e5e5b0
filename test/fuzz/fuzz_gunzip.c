/*
 * fuzz_gunzip.c - the gzip side of extraction (lib/archive_pipeline.c): any
 * bytes named .tgz are read by zlib on the reader thread and their tar by
 * libarchive on the extracting one.
 *
 * Besides crashes, sanitizer reports, leaks and hangs (a thread waiting for
 * the other forever), the property: the CRC-32 is skipped when a SHA-256 is
 * expected, so a file that installs when gzip's own checks are made must
 * install, the same tree, when only its digest is checked; and an install
 * that fails leaves no destination.
 */
#include "fuzz_support.h"

#include "cfbp/archive.h"
#include "cfbp/digest.h"
#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/path.h"
#include "cfbp/strbuf.h"
#include "cfbp/string_list.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Names, kinds, sizes and contents of a tree, one line each, sorted as listed. */
static void describe(const char *path, const char *relative, struct cfbp_strbuf *out)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return;
    cfbp_strbuf_append_format(out, "%s %o %lld", relative, (unsigned)(st.st_mode & S_IFMT),
                              (long long)st.st_size);
    if (S_ISREG(st.st_mode)) {
        char hex[CFBP_DIGEST_HEX_SIZE];
        struct cfbp_error err = CFBP_ERROR_INIT;
        if (cfbp_digest_of_file(CFBP_DIGEST_SHA256, path, hex, &err) < 0)
            fuzz_fail("%s", err.message);
        cfbp_strbuf_append_format(out, " %s", hex);
    }
    cfbp_strbuf_append_char(out, '\n');
    if (!S_ISDIR(st.st_mode))
        return;
    struct cfbp_string_list names = CFBP_STRING_LIST_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_fs_list_directory(path, &names, &err) < 0)
        fuzz_fail("%s", err.message);
    struct cfbp_strbuf child = CFBP_STRBUF_INIT, child_relative = CFBP_STRBUF_INIT;
    for (size_t i = 0; i < names.count; i++) {
        cfbp_path_join(&child, path, names.items[i]);
        cfbp_path_join(&child_relative, relative, names.items[i]);
        describe(child.buf, child_relative.buf, out);
    }
    cfbp_string_list_clear(&names);
    cfbp_strbuf_release(&child);
    cfbp_strbuf_release(&child_relative);
}

/* Installs source into destination; returns 0 or -1 and leaves the message in err. */
static int install(const char *source, const char *destination, const char *sha256,
                   struct cfbp_error *err)
{
    struct cfbp_archive_request request = {
        .source = source,
        .file_name = "dependency.tgz",
        .expected_sha256 = sha256,
        .destination = destination,
    };
    char actual[CFBP_DIGEST_HEX_SIZE];
    int result = cfbp_archive_install(&request, actual, err);
    if (result < 0 && cfbp_fs_exists(destination))
        fuzz_fail("a failed install left %s: %s", destination, err->message);
    return result;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cfbp_strbuf source = CFBP_STRBUF_INIT, checked = CFBP_STRBUF_INIT,
                       digested = CFBP_STRBUF_INIT;
    fuzz_write_file("dependency.tgz", data, size, &source);
    cfbp_path_join(&checked, fuzz_directory(), "checked");
    cfbp_path_join(&digested, fuzz_directory(), "digested");
    char sha256[CFBP_DIGEST_HEX_SIZE];
    cfbp_digest_of_bytes(CFBP_DIGEST_SHA256, data, size, sha256);
    struct cfbp_error with_crc = CFBP_ERROR_INIT, with_digest = CFBP_ERROR_INIT;
    int crc_result = install(source.buf, checked.buf, NULL, &with_crc);
    int digest_result = install(source.buf, digested.buf, sha256, &with_digest);
    if (crc_result == 0 && digest_result < 0)
        fuzz_fail("installs with gzip's checks but not with its digest: %s", with_digest.message);
    if (crc_result == 0) {
        struct cfbp_strbuf one = CFBP_STRBUF_INIT, two = CFBP_STRBUF_INIT;
        describe(checked.buf, ".", &one);
        describe(digested.buf, ".", &two);
        if (strcmp(one.buf, two.buf) != 0)
            fuzz_fail("the two installs differ:\n%s---\n%s", one.buf, two.buf);
        cfbp_strbuf_release(&one);
        cfbp_strbuf_release(&two);
    }
    struct cfbp_error ignored = CFBP_ERROR_INIT;
    cfbp_fs_remove_tree(checked.buf, &ignored);
    cfbp_error_clear(&ignored);
    cfbp_fs_remove_tree(digested.buf, &ignored);
    cfbp_error_clear(&ignored);
    cfbp_error_clear(&with_crc);
    cfbp_error_clear(&with_digest);
    cfbp_strbuf_release(&source);
    cfbp_strbuf_release(&checked);
    cfbp_strbuf_release(&digested);
    return 0;
}
