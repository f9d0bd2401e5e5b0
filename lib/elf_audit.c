/*
 * elf_audit.c - checking a program's library needs against a stack (see
 * elf_audit.h).
 *
 * What each stack offers comes from its package receipt (contract §16), the
 * dpkg listing its repository publishes with every release:
 * receipt.cflinuxfs4.x86_64 of cloudfoundry/cflinuxfs4 and
 * receipt.cflinuxfs5.x86_64 of cloudfoundry/cflinuxfs5. The receipt gives the
 * package versions; the newest symbol version each library defines follows
 * from that upstream release (its version script), and the comment by each
 * table says which. Symbol versions name the newest interface a program uses
 * from a library, so "not newer than the stack's" is the whole rule. The
 * tables list the libraries a C buildpack links (glibc, the C and C++
 * runtimes, and what libcfbp links), not the whole receipt: a library missing
 * here is refused, never guessed to be present.
 */
#include "cfbp/elf_audit.h"

#include "cfbp/error.h"
#include "cfbp/json.h"
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
    const char *also;        /* a version name outside the family it provides too, or NULL */
};

struct stack {
    const char *name;
    const char *ubuntu; /* for advice: build on this release or older */
    const struct stack_library *libraries;
    size_t library_count;
    int curl[3]; /* the libcurl release: functions newer than it are not there */
    const char *curl_description;
};

/* glibc's other libraries, which all carry the GLIBC_ versions of their release. */
/* clang-format off */
#define GLIBC_LIBRARIES(minor, text)                                                               \
    {"libm.so.6", "GLIBC_", {2, minor, 0}, text, NULL},                                            \
    {"libpthread.so.0", "GLIBC_", {2, minor, 0}, text, NULL},                                      \
    {"libdl.so.2", "GLIBC_", {2, minor, 0}, text, NULL},                                           \
    {"librt.so.1", "GLIBC_", {2, minor, 0}, text, NULL},                                           \
    {"libresolv.so.2", "GLIBC_", {2, minor, 0}, text, NULL},                                       \
    {"ld-linux-x86-64.so.2", "GLIBC_", {2, minor, 0}, text, NULL}
/* clang-format on */

/*
 * cflinuxfs4, Ubuntu 22.04 "jammy" (receipt.cflinuxfs4.x86_64):
 *   libc6 2.35-0ubuntu3            GLIBC_2.35; no GLIBC_ABI_DT_RELR (glibc 2.36)
 *   libssl3 3.0.2-0ubuntu1         OPENSSL_3.0.0 (3.0.3 added the first newer one)
 *   libcurl4 7.81.0 (OpenSSL)      CURL_OPENSSL_4, an ABI name: see curl_functions
 *   libarchive13 3.6.0, libyaml-0-2 0.2.2, libbz2-1.0 1.0.8: unversioned symbols
 *   zlib1g 1.2.11                  ZLIB_1.2.9 is its newest (1.2.12 added ZLIB_1.2.12)
 *   liblzma5 5.2.5                 XZ_5.2
 *   libnettle8 3.7.3               NETTLE_8, an ABI name (not checked: libcfbp uses
 *                                  only its SHA-256 and MD5, there since nettle 2)
 *   libelf1 0.186                  elfutils; its ELFUTILS_ versions are not checked
 *   libgcc-s1, libstdc++6 12.3.0   GCC_12.0.0, GLIBCXX_3.4.30 (gcc 12)
 */
static const struct stack_library cflinuxfs4_libraries[] = {
    {"libc.so.6", "GLIBC_", {2, 35, 0}, "glibc 2.35", NULL},
    GLIBC_LIBRARIES(35, "glibc 2.35"),
    {"libcrypto.so.3", "OPENSSL_", {3, 0, 0}, "OpenSSL 3.0.2", NULL},
    {"libssl.so.3", "OPENSSL_", {3, 0, 0}, "OpenSSL 3.0.2", NULL},
    {"libcurl.so.4", NULL, {0, 0, 0}, "libcurl 7.81.0", NULL},
    {"libarchive.so.13", NULL, {0, 0, 0}, "libarchive 3.6.0", NULL},
    {"libyaml-0.so.2", NULL, {0, 0, 0}, "libyaml 0.2.2", NULL},
    {"libz.so.1", "ZLIB_", {1, 2, 11}, "zlib 1.2.11", NULL},
    {"liblzma.so.5", "XZ_", {5, 2, 0}, "xz 5.2.5", NULL},
    {"libbz2.so.1.0", NULL, {0, 0, 0}, "bzip2 1.0.8", NULL},
    {"libnettle.so.8", NULL, {0, 0, 0}, "nettle 3.7.3", NULL},
    {"libelf.so.1", NULL, {0, 0, 0}, "elfutils 0.186", NULL},
    {"libgcc_s.so.1", "GCC_", {12, 0, 0}, "gcc 12", NULL},
    {"libstdc++.so.6", "GLIBCXX_", {3, 4, 30}, "gcc 12", NULL},
};

/*
 * cflinuxfs5, Ubuntu 24.04 "noble" (receipt.cflinuxfs5.x86_64; the t64
 * packages of noble's 64-bit time_t transition keep their sonames):
 *   libc6 2.39-0ubuntu8            GLIBC_2.39, and GLIBC_ABI_DT_RELR (since 2.36)
 *   libssl3t64 3.0.13-0ubuntu3     OPENSSL_3.0.9 (3.0.3, 3.0.8 and 3.0.9 added versions)
 *   libcurl4t64 8.5.0 (OpenSSL)    CURL_OPENSSL_4, an ABI name: see curl_functions
 *   libarchive13t64 3.7.2, libyaml-0-2 0.2.5, libbz2-1.0 1.0.8: unversioned symbols
 *   zlib1g 1.3                     ZLIB_1.2.12 (1.3 added no version)
 *   liblzma5 5.6.1+really5.4.5     XZ_5.4 (the package is xz 5.4.5)
 *   libnettle8t64 3.9.1            NETTLE_8, as on cflinuxfs4
 *   libelf1t64 0.190               elfutils; its ELFUTILS_ versions are not checked
 *   libgcc-s1, libstdc++6 14.2.0   GCC_14.0.0, GLIBCXX_3.4.33 (gcc 14)
 */
static const struct stack_library cflinuxfs5_libraries[] = {
    {"libc.so.6", "GLIBC_", {2, 39, 0}, "glibc 2.39", "GLIBC_ABI_DT_RELR"},
    GLIBC_LIBRARIES(39, "glibc 2.39"),
    {"libcrypto.so.3", "OPENSSL_", {3, 0, 9}, "OpenSSL 3.0.13", NULL},
    {"libssl.so.3", "OPENSSL_", {3, 0, 9}, "OpenSSL 3.0.13", NULL},
    {"libcurl.so.4", NULL, {0, 0, 0}, "libcurl 8.5.0", NULL},
    {"libarchive.so.13", NULL, {0, 0, 0}, "libarchive 3.7.2", NULL},
    {"libyaml-0.so.2", NULL, {0, 0, 0}, "libyaml 0.2.5", NULL},
    {"libz.so.1", "ZLIB_", {1, 2, 12}, "zlib 1.3", NULL},
    {"liblzma.so.5", "XZ_", {5, 4, 0}, "xz 5.4.5", NULL},
    {"libbz2.so.1.0", NULL, {0, 0, 0}, "bzip2 1.0.8", NULL},
    {"libnettle.so.8", NULL, {0, 0, 0}, "nettle 3.9.1", NULL},
    {"libelf.so.1", NULL, {0, 0, 0}, "elfutils 0.190", NULL},
    {"libgcc_s.so.1", "GCC_", {14, 0, 0}, "gcc 14", NULL},
    {"libstdc++.so.6", "GLIBCXX_", {3, 4, 33}, "gcc 14", NULL},
};

#define COUNT(array) (sizeof(array) / sizeof(*(array)))

static const struct stack stacks[] = {
    {"cflinuxfs4",
     "Ubuntu 22.04",
     cflinuxfs4_libraries,
     COUNT(cflinuxfs4_libraries),
     {7, 81, 0},
     "libcurl 7.81.0"},
    {"cflinuxfs5",
     "Ubuntu 24.04",
     cflinuxfs5_libraries,
     COUNT(cflinuxfs5_libraries),
     {8, 5, 0},
     "libcurl 8.5.0"},
};

/*
 * libcurl functions by the release that added them, for the releases after
 * the oldest stack's 7.81.0. libcurl versions every symbol CURL_OPENSSL_4,
 * so only the name tells. From libcurl's symbols-in-versions list. libcfbp
 * itself loads libcurl with dlopen (lib/curl_loader.c), so its calls are not
 * undefined symbols to check here: test_elf_audit audits a program calling
 * every function the loader resolves, which keeps that list within 7.81.0.
 */
static const struct {
    const char *symbol;
    int since[3];
} curl_functions[] = {
    {"curl_easy_header", {7, 83, 0}},      {"curl_easy_nextheader", {7, 83, 0}},
    {"curl_ws_recv", {7, 86, 0}},          {"curl_ws_send", {7, 86, 0}},
    {"curl_ws_meta", {7, 86, 0}},          {"curl_global_trace", {8, 3, 0}},
    {"curl_multi_get_handles", {8, 4, 0}}, {"curl_multi_waitfds", {8, 8, 0}},
    {"curl_easy_ssls_import", {8, 12, 0}}, {"curl_easy_ssls_export", {8, 12, 0}},
};

/* Version names that say nothing about age (e.g. CURL_OPENSSL_4 is the ABI name). */
static bool is_abi_name(const char *version)
{
    return strcmp(version, "CURL_OPENSSL_4") == 0 || strcmp(version, "CXXABI_1.3") == 0 ||
           strncmp(version, "CXXABI_", 7) == 0;
}

static const struct stack *find_stack(const char *name)
{
    for (size_t i = 0; name && i < COUNT(stacks); i++)
        if (strcmp(stacks[i].name, name) == 0)
            return &stacks[i];
    return NULL;
}

bool cfbp_elf_knows_stack(const char *stack)
{
    return find_stack(stack) != NULL;
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

static const struct stack_library *find_library(const struct stack *stack, const char *soname)
{
    for (size_t i = 0; i < stack->library_count; i++)
        if (strcmp(stack->libraries[i].soname, soname) == 0)
            return &stack->libraries[i];
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

static int check_needed(const char *soname, const char *shown, const struct stack *stack,
                        struct cfbp_error *err)
{
    if (find_library(stack, soname))
        return 0;
    return cfbp_error_set(err, CFBP_ERROR_INVALID,
                          "%s needs %s, which %s does not have; link it statically or drop the "
                          "dependency",
                          shown, soname, stack->name);
}

static int check_version(const char *soname, const char *version, const char *shown,
                         const struct stack *stack, struct cfbp_error *err)
{
    const struct stack_library *library = find_library(stack, soname);
    if (!library)
        return check_needed(soname, shown, stack, err);
    if (!library->family || is_abi_name(version) ||
        (library->also && strcmp(version, library->also) == 0))
        return 0;
    size_t prefix = strlen(library->family);
    int wanted[3];
    if (strncmp(version, library->family, prefix) != 0 || !parse_version(version + prefix, wanted))
        return cfbp_error_set(err, CFBP_ERROR_INVALID,
                              "%s needs the symbol version %s from %s, which %s (%s) does not "
                              "provide",
                              shown, version, soname, stack->name, library->description);
    if (compare_versions(wanted, library->newest) > 0)
        return cfbp_error_set(err, CFBP_ERROR_INVALID,
                              "%s needs %s from %s, but %s has %s; build it against older "
                              "libraries (e.g. on %s) or link statically",
                              shown, version, soname, stack->name, library->description,
                              stack->ubuntu);
    return 0;
}

static int check_symbols(Elf *elf, const GElf_Shdr *header, Elf_Data *data, const char *shown,
                         const struct stack *stack, struct cfbp_error *err)
{
    size_t count = header->sh_entsize ? header->sh_size / header->sh_entsize : 0;
    for (size_t i = 0; i < count; i++) {
        GElf_Sym symbol;
        if (!gelf_getsym(data, (int)i, &symbol) || symbol.st_shndx != SHN_UNDEF)
            continue;
        const char *name = elf_strptr(elf, header->sh_link, symbol.st_name);
        for (size_t j = 0; name && j < COUNT(curl_functions); j++)
            if (strcmp(name, curl_functions[j].symbol) == 0 &&
                compare_versions(curl_functions[j].since, stack->curl) > 0)
                return cfbp_error_set(err, CFBP_ERROR_INVALID,
                                      "%s calls %s, which needs libcurl %d.%d.%d, but %s has %s",
                                      shown, name, curl_functions[j].since[0],
                                      curl_functions[j].since[1], curl_functions[j].since[2],
                                      stack->name, stack->curl_description);
    }
    return 0;
}

/*
 * Libraries a program loads with dlopen() are not in DT_NEEDED; a program
 * declares them in an ELF note as systemd's "ELF dlopen metadata" describes
 * (https://systemd.io/ELF_DLOPEN_METADATA/; libcfbp's own, for libcurl, is in
 * lib/curl_loader.c): a note of owner "FDO" and type 0x407c0c0a, normally in
 * the section .note.dlopen, whose payload is a JSON array of objects with a
 * "soname" array (alternatives, any one will do), a "feature" name and a
 * "priority": "required" and "recommended" (the default) libraries are
 * audited like DT_NEEDED ones, "suggested" ones are optional by definition.
 */
#define DLOPEN_NOTE_OWNER "FDO"
#define DLOPEN_NOTE_TYPE  0x407c0c0aU

static int refuse_dlopen_note(const char *shown, const char *problem, struct cfbp_error *err)
{
    return cfbp_error_set(err, CFBP_ERROR_INVALID,
                          "%s has a .note.dlopen that %s, so what it loads at run time cannot "
                          "be checked; fix the note (https://systemd.io/ELF_DLOPEN_METADATA/)",
                          shown, problem);
}

/* One entry of the note's array: 0 when the stack has one of its sonames, or it is optional. */
static int check_dlopen_entry(const struct cfbp_json *entry, const char *shown,
                              const struct stack *stack, struct cfbp_error *err)
{
    const struct cfbp_json *sonames = cfbp_json_get(entry, "soname");
    const struct cfbp_json *priority = cfbp_json_get(entry, "priority");
    const struct cfbp_json *feature = cfbp_json_get(entry, "feature");
    if (!sonames || sonames->type != CFBP_JSON_ARRAY || sonames->count == 0)
        return refuse_dlopen_note(shown, "has an entry without a \"soname\" list", err);
    if (priority && !cfbp_json_string(priority))
        return refuse_dlopen_note(shown, "has a \"priority\" that is not a string", err);
    for (size_t i = 0; i < sonames->count; i++)
        if (!cfbp_json_string(sonames->values[i]))
            return refuse_dlopen_note(shown, "has a soname that is not a string", err);
    if (priority && strcmp(cfbp_json_string(priority), "suggested") == 0)
        return 0;
    struct cfbp_strbuf names = CFBP_STRBUF_INIT;
    for (size_t i = 0; i < sonames->count; i++) {
        const char *soname = cfbp_json_string(sonames->values[i]);
        if (find_library(stack, soname)) {
            cfbp_strbuf_release(&names);
            return 0;
        }
        cfbp_strbuf_append_format(&names, "%s%s", i == 0 ? "" : " or ", soname);
    }
    const char *feature_name = feature ? cfbp_json_string(feature) : NULL;
    cfbp_error_set(err, CFBP_ERROR_INVALID,
                   "%s loads %s at run time (dlopen%s%s%s), which %s does not have; link it "
                   "statically or drop the dependency",
                   shown, names.buf, feature_name ? ", for its feature \"" : "",
                   feature_name ? feature_name : "", feature_name ? "\"" : "", stack->name);
    cfbp_strbuf_release(&names);
    return -1;
}

static int check_dlopen_payload(const char *payload, size_t length, const char *shown,
                                const struct stack *stack, struct cfbp_error *err)
{
    /* The payload is NUL-terminated and may be padded with more NULs. */
    while (length > 0 && payload[length - 1] == '\0')
        length--;
    struct cfbp_json *entries = NULL;
    struct cfbp_error parse_error = CFBP_ERROR_INIT;
    if (memchr(payload, '\0', length) ||
        cfbp_json_parse(payload, length, &entries, &parse_error) < 0) {
        cfbp_error_clear(&parse_error);
        return refuse_dlopen_note(shown, "is not valid JSON", err);
    }
    int result = 0;
    if (entries->type != CFBP_JSON_ARRAY)
        result = refuse_dlopen_note(shown, "is not a JSON array", err);
    for (size_t i = 0; result == 0 && i < entries->count; i++)
        result = entries->values[i]->type == CFBP_JSON_OBJECT
                     ? check_dlopen_entry(entries->values[i], shown, stack, err)
                     : refuse_dlopen_note(shown, "has an entry that is not a JSON object", err);
    cfbp_json_free(entries);
    return result;
}

/* Every dlopen note in a SHT_NOTE section. */
static int check_dlopen_notes(Elf_Data *data, const char *shown, const struct stack *stack,
                              struct cfbp_error *err)
{
    size_t offset = 0, name_offset, payload_offset;
    GElf_Nhdr note;
    while ((offset = gelf_getnote(data, offset, &note, &name_offset, &payload_offset)) > 0) {
        const char *name = (const char *)data->d_buf + name_offset;
        if (note.n_type != DLOPEN_NOTE_TYPE || note.n_namesz != sizeof(DLOPEN_NOTE_OWNER) ||
            memcmp(name, DLOPEN_NOTE_OWNER, sizeof(DLOPEN_NOTE_OWNER)) != 0)
            continue;
        if (check_dlopen_payload((const char *)data->d_buf + payload_offset, note.n_descsz, shown,
                                 stack, err) < 0)
            return -1;
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
 * Walks the dynamic section (DT_NEEDED), the libraries loaded at run time
 * (dlopen notes), the version needs (SHT_GNU_verneed) and the undefined
 * symbols (SHT_DYNSYM).
 */
static int audit_sections(Elf *elf, const char *shown, const struct stack *stack,
                          struct cfbp_error *err)
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
        if (header.sh_type == SHT_NOTE && check_dlopen_notes(data, shown, stack, err) < 0)
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

int cfbp_elf_audit(const char *path, const char *shown_name, const char *stack_name,
                   struct cfbp_error *err)
{
    const struct stack *stack = find_stack(stack_name);
    if (!stack)
        return cfbp_error_set(err, CFBP_ERROR_INVALID,
                              "cannot check %s for the stack %s: only cflinuxfs4 and cflinuxfs5 "
                              "are known",
                              shown_name, stack_name ? stack_name : "(none)");
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
        result = cfbp_error_set(err, CFBP_ERROR_INVALID,
                                "%s is not a 64-bit x86 program, which %s needs", shown_name,
                                stack->name);
    else
        result = audit_sections(elf, shown_name, stack, err);
    if (elf)
        elf_end(elf);
    close(fd);
    return result;
}
