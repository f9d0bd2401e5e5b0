/*
 * fuzz_support.h - what the fuzz targets in test/fuzz share.
 *
 * Each fuzz_<name>.c defines LLVMFuzzerTestOneInput, runs one reader of
 * libcfbp on the input, and checks properties that must hold whatever the
 * bytes: besides crashes, sanitizer reports and leaks, a property that does
 * not hold calls fuzz_fail, which aborts, so libFuzzer keeps the input.
 *
 * Readers that take a path get the input written to a file in a directory of
 * the process's own (removed at exit).
 */
#ifndef CFBP_FUZZ_SUPPORT_H
#define CFBP_FUZZ_SUPPORT_H

#include <stddef.h>
#include <stdint.h>

struct cfbp_strbuf;
struct stat;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a NUL-terminated copy (free it); NULs inside stay. */
char *fuzz_text(const uint8_t *data, size_t size);

/* A directory for this process alone, made on first use and removed at exit. */
const char *fuzz_directory(void);

/* Writes data to <fuzz_directory()>/<name>, making directories in name, and sets path to it. */
void fuzz_write_file(const char *name, const void *data, size_t size, struct cfbp_strbuf *path);

/* Prints "property failed: <message>" and aborts: a finding. */
_Noreturn void fuzz_fail(const char *format, ...) __attribute__((format(printf, 1, 2)));

/*
 * Describes the tree at path: line(path, relative, st, out) for it, with st
 * NULL when it is missing, then for what a directory holds, as listed;
 * relative names each entry from relative.
 */
typedef void (*fuzz_tree_line)(const char *path, const char *relative, const struct stat *st,
                               struct cfbp_strbuf *out);
void fuzz_describe_tree(const char *path, const char *relative, fuzz_tree_line line,
                        struct cfbp_strbuf *out);

/* Fails unless message names the place: starts with prefix. */
void fuzz_expect_prefix(const char *message, const char *prefix);

#endif
