/*
 * replay.c - runs a fuzz target's seed corpus once, without libFuzzer.
 *
 * In the gcc builds (build/, build-asan/) every fuzz target is linked with
 * this main instead of libFuzzer, and ctest runs it on corpus/<name>/: the
 * targets keep compiling, and every seed (crash inputs added after a fix
 * included) is a regression test under ASan and UBSan too.
 *
 *   fuzz_<name> FILE_OR_DIRECTORY...
 */
#include "fuzz_support.h"

#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/strbuf.h"
#include "cfbp/string_list.h"

#include <stdio.h>
#include <stdlib.h>

static int replay_file(const char *path)
{
    struct cfbp_strbuf data = CFBP_STRBUF_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_fs_read_file(path, 64u << 20, &data, &err) < 0) {
        fprintf(stderr, "replay: %s\n", err.message);
        cfbp_error_clear(&err);
        return -1;
    }
    LLVMFuzzerTestOneInput((const uint8_t *)data.buf, data.len);
    cfbp_strbuf_release(&data);
    return 0;
}

int main(int argc, char **argv)
{
    size_t inputs = 0;
    int status = 0;
    for (int i = 1; i < argc; i++) {
        if (!cfbp_fs_is_directory(argv[i])) {
            status |= replay_file(argv[i]);
            inputs++;
            continue;
        }
        struct cfbp_string_list names = CFBP_STRING_LIST_INIT;
        struct cfbp_error err = CFBP_ERROR_INIT;
        if (cfbp_fs_list_directory(argv[i], &names, &err) < 0) {
            fprintf(stderr, "replay: %s\n", err.message);
            cfbp_error_clear(&err);
            return 1;
        }
        cfbp_string_list_sort(&names);
        struct cfbp_strbuf path = CFBP_STRBUF_INIT;
        for (size_t n = 0; n < names.count; n++) {
            cfbp_strbuf_reset(&path);
            cfbp_strbuf_append_format(&path, "%s/%s", argv[i], names.items[n]);
            if (!cfbp_fs_is_file(path.buf))
                continue;
            status |= replay_file(path.buf);
            inputs++;
        }
        cfbp_strbuf_release(&path);
        cfbp_string_list_clear(&names);
    }
    printf("replayed %zu inputs\n", inputs);
    return status ? 1 : 0;
}
