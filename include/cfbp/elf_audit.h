/*
 * elf_audit.h - will this program run on the target stack?
 *
 * A buildpack's programs run inside the stack's root file system, not on the
 * machine that built them (contract §16). A dynamically linked program runs
 * there only if every library it needs (DT_NEEDED) is on the stack and every
 * versioned symbol it needs (GLIBC_2.36, OPENSSL_3.1.0, ...) is not newer
 * than the stack's copy of that library. This reads both from the ELF file
 * with libelf and compares them with what the stack has. Libraries a program
 * loads at run time with dlopen() count as needed too when the program
 * declares them in a .note.dlopen ELF note (https://systemd.io/ELF_DLOPEN_METADATA/),
 * as libcfbp's programs declare libcurl.so.4.
 */
#ifndef CFBP_ELF_AUDIT_H
#define CFBP_ELF_AUDIT_H

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_error;

/* True when the file starts with the ELF magic. */
bool cfbp_elf_is_elf(const char *path);

/*
 * True when cfbp knows what stack offers: cflinuxfs4 (Ubuntu 22.04) and
 * cflinuxfs5 (Ubuntu 24.04), each from its package receipt.
 */
bool cfbp_elf_knows_stack(const char *stack);

/*
 * Checks the ELF file at path against stack. An error (kind INVALID) names
 * the program and the library or symbol version the stack lacks, e.g.
 * "bin/supply needs GLIBC_2.36 from libc.so.6, but cflinuxfs4 has glibc 2.35; ...",
 * "bin/tool needs libcmocka.so.0, which cflinuxfs5 does not have; ...",
 * "bin/tool loads libfoo.so.1 at run time (dlopen, for its feature "foo"),
 * which cflinuxfs4 does not have; ...".
 * shown_name is how the program is named in messages.
 */
int cfbp_elf_audit(const char *path, const char *shown_name, const char *stack,
                   struct cfbp_error *err);

#ifdef __cplusplus
}
#endif

#endif
