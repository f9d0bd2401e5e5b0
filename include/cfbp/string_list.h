/*
 * string_list.h - an owned, ordered list of C strings.
 *
 * Used for stacks, include_files, directory listings and the like. The list
 * owns copies of the strings it holds.
 */
#ifndef CFBP_STRING_LIST_H
#define CFBP_STRING_LIST_H

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_string_list {
    char **items;
    size_t count;
    size_t alloc;
};

#define CFBP_STRING_LIST_INIT                                                                      \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Appends a copy of text. */
void cfbp_string_list_append(struct cfbp_string_list *list, const char *text);
/* Appends text, taking ownership of the malloc'd string. */
void cfbp_string_list_append_owned(struct cfbp_string_list *list, char *text);
bool cfbp_string_list_contains(const struct cfbp_string_list *list, const char *text);
/* Sorts bytewise (strcmp order). */
void cfbp_string_list_sort(struct cfbp_string_list *list);
/* Joins the items with separator into out (appending). */
struct cfbp_strbuf;
void cfbp_string_list_join(const struct cfbp_string_list *list, const char *separator,
                           struct cfbp_strbuf *out);
void cfbp_string_list_clear(struct cfbp_string_list *list);

#ifdef __cplusplus
}
#endif

#endif
