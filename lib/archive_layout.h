/*
 * archive_layout.h - the settings of archive.c's tree layout (see enum
 * tree_layout there) that tests turn; not part of libcfbp's API (cfbpi_:
 * cmake/libcfbp.map).
 */
#ifndef CFBP_ARCHIVE_LAYOUT_H
#define CFBP_ARCHIVE_LAYOUT_H

#include <stdbool.h>

/*
 * Whether a tree may start in top mode, the work directory standing for
 * its only top-level directory (true; tests set false to compare the two
 * layouts).
 */
extern bool cfbpi_archive_top_mode;

/*
 * Called, when set, just before a tree of one top-level entry is renamed to
 * name in the destination (tests make name there, as something that takes
 * no lock could, to reach the merge that follows).
 */
extern void (*cfbpi_archive_placing_hook)(int destination_fd, const char *name);

#endif
