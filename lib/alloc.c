/*
 * alloc.c - allocation wrappers that never return NULL.
 *
 * See alloc.h for why out-of-memory is handled by a program-supplied handler
 * rather than reported as an error.
 */
#include "cfbp/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static cfbp_alloc_failure_handler failure_handler;

void cfbp_alloc_set_failure_handler(cfbp_alloc_failure_handler handler)
{
    failure_handler = handler;
}

_Noreturn void cfbp_alloc_failed(size_t size)
{
    if (failure_handler)
        failure_handler(size);
    /* The handler must not return; without one there is no sane way on. */
    abort();
}

void *cfbp_xmalloc(size_t size)
{
    void *pointer = malloc(size ? size : 1);
    if (!pointer)
        cfbp_alloc_failed(size);
    return pointer;
}

void *cfbp_xcalloc(size_t count, size_t size)
{
    void *pointer = calloc(count ? count : 1, size ? size : 1);
    if (!pointer)
        cfbp_alloc_failed(count * size);
    return pointer;
}

void *cfbp_xrealloc(void *pointer, size_t size)
{
    void *grown = realloc(pointer, size ? size : 1);
    if (!grown)
        cfbp_alloc_failed(size);
    return grown;
}

char *cfbp_xstrdup(const char *text)
{
    return cfbp_xstrndup(text, strlen(text));
}

char *cfbp_xstrndup(const char *text, size_t length)
{
    char *copy = cfbp_xmalloc(length + 1);
    memcpy(copy, text, length);
    copy[length] = '\0';
    return copy;
}

void cfbp_grow_array(void **array, size_t *alloc, size_t need, size_t element_size)
{
    if (need <= *alloc)
        return;
    size_t grown = *alloc ? *alloc : 8;
    while (grown < need) {
        if (grown > SIZE_MAX / 2)
            cfbp_alloc_failed(SIZE_MAX);
        grown *= 2;
    }
    if (grown > SIZE_MAX / element_size)
        cfbp_alloc_failed(SIZE_MAX);
    *array = cfbp_xrealloc(*array, grown * element_size);
    *alloc = grown;
}
