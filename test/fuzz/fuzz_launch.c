/*
 * fuzz_launch.c - launch.yml (cfbp_launch_read and cfbp_launch_write in
 * lib/launch.c) on any bytes.
 *
 * The input is written as launch.yml and read as the builder reads a
 * buildpack's. A read either fails naming the file, or what it read can be
 * written and read back to the same processes: types, commands, memory and
 * the process types each sidecar is for.
 */
#include "fuzz_support.h"

#include "cfbp/error.h"
#include "cfbp/launch.h"
#include "cfbp/strbuf.h"

#include <string.h>

static void check_same(const struct cfbp_launch *a, const struct cfbp_launch *b)
{
    if (a->count != b->count)
        fuzz_fail("%zu processes came back as %zu", a->count, b->count);
    for (size_t i = 0; i < a->count; i++) {
        const struct cfbp_launch_process *x = &a->processes[i], *y = &b->processes[i];
        if (strcmp(x->type, y->type) != 0 || strcmp(x->command, y->command) != 0 ||
            x->memory != y->memory || x->sidecar_for.count != y->sidecar_for.count)
            fuzz_fail("process %zu (%s: %s) came back as (%s: %s)", i, x->type, x->command, y->type,
                      y->command);
        for (size_t j = 0; j < x->sidecar_for.count; j++)
            if (strcmp(x->sidecar_for.items[j], y->sidecar_for.items[j]) != 0)
                fuzz_fail("process %zu is a sidecar for %s, then for %s", i,
                          x->sidecar_for.items[j], y->sidecar_for.items[j]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cfbp_strbuf path = CFBP_STRBUF_INIT, written = CFBP_STRBUF_INIT;
    fuzz_write_file("launch.yml", data, size, &path);
    struct cfbp_launch launch;
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_launch_read(&launch, path.buf, &err) < 0) {
        fuzz_expect_prefix(err.message, path.buf);
        cfbp_error_clear(&err);
    } else {
        cfbp_strbuf_append_format(&written, "%s/written-launch.yml", fuzz_directory());
        if (cfbp_launch_write(&launch, written.buf, &err) < 0)
            fuzz_fail("cannot write what was read: %s", err.message);
        struct cfbp_launch again;
        if (cfbp_launch_read(&again, written.buf, &err) < 0)
            fuzz_fail("cannot read what was written: %s", err.message);
        check_same(&launch, &again);
        cfbp_launch_release(&again);
        cfbp_launch_release(&launch);
    }
    cfbp_strbuf_release(&written);
    cfbp_strbuf_release(&path);
    return 0;
}
