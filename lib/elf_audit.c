/*
 * elf_audit.c - checking a program's library needs against a stack (see
 * elf_audit.h).
 *
 * What cflinuxfs4 offers comes from its package receipt (contract §16):
 * Ubuntu 22.04 with glibc 2.35, libcurl 7.81 (OpenSSL flavour), libarchive
 * 3.6.0, libyaml 0.2.2, OpenSSL 3.0.2, zlib, liblzma, libbz2, libgcc and
 * libstdc++ of gcc 11. Symbol versions name the newest interface a program
 * uses from a library, so "not newer than the stack's" is the whole rule.
 */
#include "cfbp/elf_audit.h"

#include "cfbp/error.h"
#include "cfbp/strbuf.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A library on the stack, and the newest version of each version family it provides. */
struct stack_library {
    const char *soname;
    const char *family;      /* symbol version prefix, e.g. "GLIBC_"; NULL: any version ok */
    int newest[3];           /* the newest version in that family */
    const char *description; /* for messages: "glibc 2.35" */
};

#define GLIBC_2_35                                                                                 \
    {                                                                                              \
        2, 35, 0                                                                                   \
    }
static const struct stack_library cflinuxfs4[] = {
    {"libc.so.6", "GLIBC_", GLIBC_2_35, "glibc 2.35"},
    {"libm.so.6", "GLIBC_", GLIBC_2_35, "glibc 2.35"},
    {"libpthread.so.0", "GLIBC_", GLIBC_2_35, "glibc 2.35"},
    {"libdl.so.2", "GLIBC_", GLIBC_2_35, "glibc 2.35"},
    {"librt.so.1", "GLIBC_", GLIBC_2_35, "glibc 2.35"},
    {"libresolv.so.2", "GLIBC_", GLIBC_2_35, "glibc 2.35"},
    {"ld-linux-x86-64.so.2", "GLIBC_", GLIBC_2_35, "glibc 2.35"},
    {"libcrypto.so.3", "OPENSSL_", {3, 0, 0}, "OpenSSL 3.0.2"},
    {"libssl.so.3", "OPENSSL_", {3, 0, 0}, "OpenSSL 3.0.2"},
    {"libcurl.so.4", NULL, {0, 0, 0}, "libcurl 7.81.0"},
    {"libarchive.so.13", NULL, {0, 0, 0}, "libarchive 3.6.0"},
    {"libyaml-0.so.2", NULL, {0, 0, 0}, "libyaml 0.2.2"},
    {"libz.so.1", "ZLIB_", {1, 2, 11}, "zlib 1.2.11"},
    {"liblzma.so.5", "XZ_", {5, 2, 0}, "xz 5.2.5"},
    {"libbz2.so.1.0", NULL, {0, 0, 0}, "bzip2 1.0.8"},
    {"libgcc_s.so.1", "GCC_", {11, 0, 0}, "gcc 11"},
    {"libstdc++.so.6", "GLIBCXX_", {3, 4, 29}, "gcc 11"},
};

/*
 * Functions newer than the stack's copies of libraries that do not version
 * their symbols by release (libcurl versions everything CURL_OPENSSL_4), so
 * only the name tells. From libcurl's symbols-in-versions list.
 */
static const struct {
    const char *symbol;
    const char *since;
} newer_than_cflinuxfs4[] = {
    {"curl_easy_header", "libcurl 7.83.0"},      {"curl_easy_nextheader", "libcurl 7.83.0"},
    {"curl_ws_recv", "libcurl 7.86.0"},          {"curl_ws_send", "libcurl 7.86.0"},
    {"curl_ws_meta", "libcurl 7.86.0"},          {"curl_global_trace", "libcurl 8.3.0"},
    {"curl_multi_get_handles", "libcurl 8.4.0"}, {"curl_multi_waitfds", "libcurl 8.8.0"},
    {"curl_easy_ssls_import", "libcurl 8.12.0"}, {"curl_easy_ssls_export", "libcurl 8.12.0"},
};

/* Version names that say nothing about age (e.g. CURL_OPENSSL_4 is the ABI name). */
static bool is_abi_name(const char *version)
{
    return strcmp(version, "CURL_OPENSSL_4") == 0 || strcmp(version, "CXXABI_1.3") == 0 ||
           strncmp(version, "CXXABI_", 7) == 0;
}

bool cfbp_elf_knows_stack(const char *stack)
{
    return stack && strcmp(stack, "cflinuxfs4") == 0;
}

bool cfbp_elf_is_elf(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    unsigned char magic[4];
    bool result = read(fd, magic, 4) == 4 && memcmp(magic, ELFMAG, SELFMAG) == 0;
    close(fd);
    return result;
}

static const struct stack_library *find_library(const char *soname)
{
    for (size_t i = 0; i < sizeof(cflinuxfs4) / sizeof(*cflinuxfs4); i++)
        if (strcmp(cflinuxfs4[i].soname, soname) == 0)
            return &cflinuxfs4[i];
    return NULL;
}

/* Parses "2.35" or "3.0.0" after a family prefix; false when it is not numeric. */
static bool parse_version(const char *text, int out[3])
{
    out[0] = out[1] = out[2] = 0;
    for (int i = 0; i < 3 && *text; i++) {
        char *end;
        long value = strtol(text, &end, 10);
        if (end == text)
            return false;
        out[i] = (int)value;
        text = *end == '.' ? end + 1 : end;
        if (*end != '.' && *end != '\0')
            return false;
    }
    return true;
}

static int compare_versions(const int a[3], const int b[3])
{
    for (int i = 0; i < 3; i++)
        if (a[i] != b[i])
            return a[i] < b[i] ? -1 : 1;
    return 0;
}

static int check_needed(const char *soname, const char *shown, const char *stack,
                        struct cfbp_error *err)
{
    if (find_library(soname))
        return 0;
    return cfbp_error_set(err, CFBP_ERROR_INVALID,
                          "%s needs %s, which %s does not have; link it statically or drop the "
                          "dependency",
                          shown, soname, stack);
}

static int check_version(const char *soname, const char *version, const char *shown,
                         const char *stack, struct cfbp_error *err)
{
    const struct stack_library *library = find_library(soname);
    if (!library)
        return check_needed(soname, shown, stack, err);
    if (!library->family || is_abi_name(version))
        return 0;
    size_t prefix = strlen(library->family);
    int wanted[3];
    if (strncmp(version, library->family, prefix) != 0 || !parse_version(version + prefix, wanted))
        return cfbp_error_set(err, CFBP_ERROR_INVALID,
                              "%s needs the symbol version %s from %s, which %s (%s) does not "
                              "provide",
                              shown, version, soname, stack, library->description);
    if (compare_versions(wanted, library->newest) > 0)
        return cfbp_error_set(err, CFBP_ERROR_INVALID,
                              "%s needs %s from %s, but %s has %s; build it against older "
                              "libraries (e.g. on Ubuntu 22.04) or link statically",
                              shown, version, soname, stack, library->description);
    return 0;
}

static int check_symbols(Elf *elf, const GElf_Shdr *header, Elf_Data *data, const char *shown,
                         const char *stack, struct cfbp_error *err)
{
    size_t count = header->sh_entsize ? header->sh_size / header->sh_entsize : 0;
    for (size_t i = 0; i < count; i++) {
        GElf_Sym symbol;
        if (!gelf_getsym(data, (int)i, &symbol) || symbol.st_shndx != SHN_UNDEF)
            continue;
        const char *name = elf_strptr(elf, header->sh_link, symbol.st_name);
        for (size_t j = 0;
             name && j < sizeof(newer_than_cflinuxfs4) / sizeof(*newer_than_cflinuxfs4); j++)
            if (strcmp(name, newer_than_cflinuxfs4[j].symbol) == 0)
                return cfbp_error_set(err, CFBP_ERROR_INVALID,
                                      "%s calls %s, which needs %s, but %s has libcurl 7.81.0",
                                      shown, name, newer_than_cflinuxfs4[j].since, stack);
    }
    return 0;
}

/* True when the program headers say the program is dynamically linked. */
static bool has_dynamic_segment(Elf *elf)
{
    size_t count = 0;
    if (elf_getphdrnum(elf, &count) != 0)
        return false;
    for (size_t i = 0; i < count; i++) {
        GElf_Phdr header;
        if (gelf_getphdr(elf, (int)i, &header) && header.p_type == PT_DYNAMIC)
            return true;
    }
    return false;
}

/*
 * Walks the dynamic section (DT_NEEDED), the version needs (SHT_GNU_verneed)
 * and the undefined symbols (SHT_DYNSYM).
 */
static int audit_sections(Elf *elf, const char *shown, const char *stack, struct cfbp_error *err)
{
    bool dynamic_section_seen = false;
    Elf_Scn *section = NULL;
    while ((section = elf_nextscn(elf, section)) != NULL) {
        GElf_Shdr header;
        if (!gelf_getshdr(section, &header))
            continue;
        Elf_Data *data = elf_getdata(section, NULL);
        if (!data)
            continue;
        if (header.sh_type == SHT_DYNSYM &&
            check_symbols(elf, &header, data, shown, stack, err) < 0)
            return -1;
        if (header.sh_type == SHT_DYNAMIC) {
            dynamic_section_seen = true;
            size_t count = header.sh_entsize ? header.sh_size / header.sh_entsize : 0;
            for (size_t i = 0; i < count; i++) {
                GElf_Dyn entry;
                if (!gelf_getdyn(data, (int)i, &entry) || entry.d_tag != DT_NEEDED)
                    continue;
                const char *soname = elf_strptr(elf, header.sh_link, entry.d_un.d_val);
                if (soname && check_needed(soname, shown, stack, err) < 0)
                    return -1;
            }
        } else if (header.sh_type == SHT_GNU_verneed) {
            size_t offset = 0;
            for (size_t i = 0; i < header.sh_info; i++) {
                GElf_Verneed need;
                if (!gelf_getverneed(data, (int)offset, &need))
                    break;
                const char *soname = elf_strptr(elf, header.sh_link, need.vn_file);
                size_t aux_offset = offset + need.vn_aux;
                for (size_t j = 0; soname && j < need.vn_cnt; j++) {
                    GElf_Vernaux aux;
                    if (!gelf_getvernaux(data, (int)aux_offset, &aux))
                        break;
                    const char *version = elf_strptr(elf, header.sh_link, aux.vna_name);
                    if (version && check_version(soname, version, shown, stack, err) < 0)
                        return -1;
                    aux_offset += aux.vna_next;
                }
                if (!need.vn_next)
                    break;
                offset += need.vn_next;
            }
        }
    }
    /* Stripped section headers hide what a dynamic program needs: refuse to guess. */
    if (!dynamic_section_seen && has_dynamic_segment(elf))
        return cfbp_error_set(err, CFBP_ERROR_INVALID,
                              "%s is dynamically linked but has no section headers to read its "
                              "needs from; ship it unstripped (strip -s keeps them) or static",
                              shown);
    return 0;
}

int cfbp_elf_audit(const char *path, const char *shown_name, const char *stack,
                   struct cfbp_error *err)
{
    if (!cfbp_elf_knows_stack(stack))
        return cfbp_error_set(err, CFBP_ERROR_INVALID,
                              "cannot check %s for the stack %s: only cflinuxfs4 is known",
                              shown_name, stack ? stack : "(none)");
    if (elf_version(EV_CURRENT) == EV_NONE)
        return cfbp_error_set(err, CFBP_ERROR_FAILED, "libelf is unusable: %s", elf_errmsg(-1));
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return cfbp_error_set_errno(err, CFBP_ERROR_IO, errno, "cannot read %s", path);
    Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
    int result = 0;
    GElf_Ehdr header;
    if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &header))
        result = cfbp_error_set(err, CFBP_ERROR_INVALID, "%s is not a readable ELF file: %s",
                                shown_name, elf_errmsg(-1));
    else if (header.e_machine != EM_X86_64 || gelf_getclass(elf) != ELFCLASS64)
        result =
            cfbp_error_set(err, CFBP_ERROR_INVALID,
                           "%s is not a 64-bit x86 program, which %s needs", shown_name, stack);
    else
        result = audit_sections(elf, shown_name, stack, err);
    if (elf)
        elf_end(elf);
    close(fd);
    return result;
}
