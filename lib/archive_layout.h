/*
 * archive_layout.h - the one setting of archive.c's tree layout (see enum
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

#endif
