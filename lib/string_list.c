/*
 * string_list.c - owned lists of strings (see string_list.h).
 */
#include "cfbp/string_list.h"

#include "cfbp/alloc.h"
#include "cfbp/strbuf.h"

#include <stdlib.h>
#include <string.h>

void cfbp_string_list_append_owned(struct cfbp_string_list *list, char *text)
{
    CFBP_GROW(list->items, list->alloc, list->count + 1);
    list->items[list->count++] = text;
}

void cfbp_string_list_append(struct cfbp_string_list *list, const char *text)
{
    cfbp_string_list_append_owned(list, cfbp_xstrdup(text));
}

bool cfbp_string_list_contains(const struct cfbp_string_list *list, const char *text)
{
    for (size_t i = 0; i < list->count; i++)
        if (strcmp(list->items[i], text) == 0)
            return true;
    return false;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void cfbp_string_list_sort(struct cfbp_string_list *list)
{
    if (list->count > 1)
        qsort(list->items, list->count, sizeof(*list->items), compare_strings);
}

void cfbp_string_list_join(const struct cfbp_string_list *list, const char *separator,
                           struct cfbp_strbuf *out)
{
    for (size_t i = 0; i < list->count; i++) {
        if (i)
            cfbp_strbuf_append_string(out, separator);
        cfbp_strbuf_append_string(out, list->items[i]);
    }
}

void cfbp_string_list_clear(struct cfbp_string_list *list)
{
    for (size_t i = 0; i < list->count; i++)
        free(list->items[i]);
    free(list->items);
    list->items = NULL;
    list->count = 0;
    list->alloc = 0;
}
