/*
 * alloc.h - memory allocation for the library and its programs.
 *
 * Running out of memory is the one failure the library does not report as a
 * cfbp_error: no caller could do anything useful with it, and threading it
 * through every string operation would hide the real error paths. Instead the
 * cfbp_x* functions call the program's failure handler, which must not return.
 * Programs install one with cfbp_alloc_set_failure_handler() that prints a
 * message and exits; without one the process is aborted.
 */
#ifndef CFBP_ALLOC_H
#define CFBP_ALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Called with the size that could not be allocated. Must not return. */
typedef void (*cfbp_alloc_failure_handler)(size_t size);

void cfbp_alloc_set_failure_handler(cfbp_alloc_failure_handler handler);

/*
 * Reports that size bytes could not be had (also for allocations made inside
 * other libraries, such as OpenSSL or libyaml contexts). Does not return.
 */
__attribute__((noreturn)) void cfbp_alloc_failed(size_t size);

/* malloc/calloc/realloc/strdup that never return NULL. */
void *cfbp_xmalloc(size_t size);
void *cfbp_xcalloc(size_t count, size_t size);
void *cfbp_xrealloc(void *pointer, size_t size);
char *cfbp_xstrdup(const char *text);
char *cfbp_xstrndup(const char *text, size_t length);

/* Grows *array (of *alloc elements of element_size) to hold at least need. */
void cfbp_grow_array(void **array, size_t *alloc, size_t need, size_t element_size);

#define CFBP_GROW(array, alloc, need)                                                              \
    cfbp_grow_array((void **)&(array), &(alloc), (need), sizeof(*(array)))

#ifdef __cplusplus
}
#endif

#endif
