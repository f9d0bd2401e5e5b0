/*
 * test_elf_audit.c - will a program run on cflinuxfs4 or cflinuxfs5
 * (contract §16)?
 *
 * The programs are real: the project's own built programs, and small C
 * programs compiled here with /usr/bin/cc (gcc 12 on glibc 2.36, newer than
 * cflinuxfs4's 2.35, older than cflinuxfs5's 2.39), so each refusal is about a
 * real symbol version or a real DT_NEEDED entry. What this machine's
 * libraries are too old to ask for (GLIBC_2.40, OPENSSL_3.2.0, libcurl 8.8's
 * curl_multi_waitfds) is asked of small stand-in libraries built here with
 * the right soname and version script, so the linker writes the same
 * DT_NEEDED and version needs a newer system would. Programs the compiler
 * cannot make here (32-bit, no DT_RELR support) are skipped, not failed.
 */
#include "support.h"

#include "cfbp/elf_audit.h"
#include "cfbp/error.h"
#include "cfbp/strbuf.h"

/* The functions libcfbp's libcurl loader resolves (a private header of lib/). */
#include "../../lib/curl_loader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Compiled once for the whole group; NULL when this machine cannot make it. */
struct programs {
    char *dir;
    char *hello;         /* dynamic, libc only */
    char *maths;         /* dynamic, libm too */
    char *cxx;           /* C++: libstdc++, libgcc_s */
    char *glibc_2_35;    /* needs GLIBC_2.35 (_dl_find_object): the newest the stack has */
    char *glibc_2_36;    /* needs GLIBC_2.36 (arc4random) */
    char *libelf;        /* needs libelf.so.1 (on both stacks) */
    char *absent;        /* needs libcmocka.so.0, on no stack */
    char *openssl_3_0_3; /* needs OPENSSL_3.0.3 (OPENSSL_strcasecmp) */
    char *curl_ws;       /* calls curl_ws_send (libcurl 7.86.0) */
    char *glibc_2_40;    /* needs GLIBC_2.40 from a stand-in libm.so.6 */
    char *openssl_3_2;   /* needs OPENSSL_3.2.0 from a stand-in libcrypto.so.3 */
    char *curl_waitfds;  /* calls curl_multi_waitfds from a stand-in libcurl.so.4 */
    char *static_hello;
    char *relr;                /* needs GLIBC_ABI_DT_RELR (glibc 2.36) */
    char *m32;                 /* a 32-bit program */
    char *zlib_old, *zlib_new; /* zlib: crc32 (any version), crc32_combine_gen (ZLIB_1.2.12) */
    /* Programs with a .note.dlopen (https://systemd.io/ELF_DLOPEN_METADATA/), libc only else. */
    char *loads_curl;       /* required libcurl.so.4 (on both stacks) */
    char *loads_absent;     /* required libcmocka.so.0 (on no stack) */
    char *suggests_absent;  /* suggested libcmocka.so.0: optional, not refused */
    char *loads_either;     /* libcmocka.so.0 or libz.so.1: one of them is enough */
    char *bad_note;         /* a payload that is not JSON */
    char *curl_loader_uses; /* calls every function lib/curl_loader.c resolves, -lcurl */
};

static struct programs programs;

struct fixture {
    char *dir;
    struct cfbp_error err;
};

static const char hello_source[] = "#include <stdio.h>\n"
                                   "int main(void) { puts(\"hello\"); return 0; }\n";

/* Compiles source with the given extra arguments; NULL (and a note) when cc refuses. */
static char *compile(const char *name, const char *extension, const char *source,
                     const char *compiler, const char *const *arguments)
{
    char source_name[64];
    snprintf(source_name, sizeof(source_name), "%s.%s", name, extension);
    char *source_path = test_path(programs.dir, source_name);
    char *program = test_path(programs.dir, name);
    test_write_file(source_path, source, 0644);
    char *argv[16];
    size_t argc = 0;
    argv[argc++] = (char *)compiler;
    argv[argc++] = "-o";
    argv[argc++] = program;
    argv[argc++] = source_path;
    for (size_t i = 0; arguments && arguments[i]; i++)
        argv[argc++] = (char *)arguments[i];
    argv[argc] = NULL;
    struct test_run run = test_run_program(argv, programs.dir, NULL);
    if (run.status != 0) {
        fprintf(stderr, "note: %s cannot build %s here: %s", compiler, name, run.err);
        free(program);
        program = NULL;
    }
    test_run_free(&run);
    free(source_path);
    return program;
}

/*
 * Builds a stand-in shared library called soname whose one function, symbol,
 * has the symbol version version, and a program that calls it; returns the
 * program (NULL when cc refuses).
 */
static char *compile_against_stand_in(const char *name, const char *soname, const char *version,
                                      const char *symbol)
{
    char file[128];
    snprintf(file, sizeof(file), "%s-stand-in", name);
    char *directory = test_path(programs.dir, file);
    mkdir(directory, 0755);
    char *map = test_path(directory, "version.map");
    char text[256];
    snprintf(text, sizeof(text), "%s { global: %s; local: *; };\n", version, symbol);
    test_write_file(map, text, 0644);
    char *library = test_path(directory, soname);
    char *source = test_path(directory, "stand-in.c");
    snprintf(text, sizeof(text), "int %s(void) { return 0; }\n", symbol);
    test_write_file(source, text, 0644);
    char soname_option[128], map_option[512];
    snprintf(soname_option, sizeof(soname_option), "-Wl,-soname,%s", soname);
    snprintf(map_option, sizeof(map_option), "-Wl,--version-script=%s", map);
    char *argv[] = {"/usr/bin/cc", "-shared",     "-fPIC",    "-nostdlib", "-o",
                    library,       soname_option, map_option, source,      NULL};
    struct test_run run = test_run_program(argv, programs.dir, NULL);
    char *program = NULL;
    if (run.status != 0) {
        fprintf(stderr, "note: cannot build the stand-in %s here: %s", soname, run.err);
    } else {
        snprintf(text, sizeof(text), "int %s(void);\nint main(void) { return %s(); }\n", symbol,
                 symbol);
        const char *const arguments[] = {library, NULL};
        program = compile(name, "c", text, "/usr/bin/cc", arguments);
    }
    test_run_free(&run);
    free(directory);
    free(map);
    free(library);
    free(source);
    return program;
}

/*
 * A program (libc only) carrying a dlopen note whose payload is json, as
 * lib/curl_loader.c writes one: owner "FDO", type 0x407c0c0a, the JSON
 * NUL-terminated and counted with its NUL.
 */
static char *compile_with_dlopen_note(const char *name, const char *json)
{
    struct cfbp_strbuf source = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&source, "#include <stdint.h>\n#define PAYLOAD \"");
    for (const char *c = json; *c; c++)
        cfbp_strbuf_append_format(&source, "%s%c", *c == '"' || *c == '\\' ? "\\" : "", *c);
    cfbp_strbuf_append_string(&source,
                              "\"\n"
                              "__attribute__((used, section(\".note.dlopen\"), aligned(4)))\n"
                              "static const struct {\n"
                              "    uint32_t name_size, payload_size, type;\n"
                              "    char name[4];\n"
                              "    char payload[sizeof(PAYLOAD)];\n"
                              "} note = {4, sizeof(PAYLOAD), 0x407c0c0a, \"FDO\", PAYLOAD};\n"
                              "int main(void) { return 0; }\n");
    char *program = compile(name, "c", source.buf, "/usr/bin/cc", NULL);
    cfbp_strbuf_release(&source);
    return program;
}

/* A program that takes the address of every function libcfbp's loader resolves, from -lcurl. */
static char *compile_curl_loader_uses(void)
{
    size_t count;
    const char *const *names = cfbp_curl_function_names(&count);
    struct cfbp_strbuf source = CFBP_STRBUF_INIT;
    for (size_t i = 0; i < count; i++)
        cfbp_strbuf_append_format(&source, "void %s(void);\n", names[i]);
    cfbp_strbuf_append_string(&source, "int main(int argc, char **argv) {\n"
                                       "    (void)argv;\n"
                                       "    void (*const functions[])(void) = {");
    for (size_t i = 0; i < count; i++)
        cfbp_strbuf_append_format(&source, "%s%s", i ? ", " : "", names[i]);
    cfbp_strbuf_append_format(&source, "};\n    return functions[(unsigned)argc %% %zu] == 0;\n}\n",
                              count);
    static const char *const lcurl[] = {"-lcurl", NULL};
    char *program = compile("curl-loader-uses", "c", source.buf, "/usr/bin/cc", lcurl);
    cfbp_strbuf_release(&source);
    return program;
}

static int group_setup(void **state)
{
    (void)state;
    programs.dir = test_make_dir();
    programs.hello = compile("hello", "c", hello_source, "/usr/bin/cc", NULL);
    static const char *const libm[] = {"-lm", NULL};
    programs.maths = compile("maths", "c",
                             "#include <math.h>\n#include <stdio.h>\n"
                             "int main(int argc, char **argv) {\n"
                             "    (void)argv;\n"
                             "    printf(\"%f\\n\", exp((double)argc) + log((double)argc));\n"
                             "    return 0;\n}\n",
                             "/usr/bin/cc", libm);
    programs.glibc_2_35 = compile("glibc-2.35", "c",
                                  "#define _GNU_SOURCE\n#include <dlfcn.h>\n"
                                  "int main(void) {\n"
                                  "    struct dl_find_object found;\n"
                                  "    return _dl_find_object((void *)main, &found);\n}\n",
                                  "/usr/bin/cc", NULL);
    programs.glibc_2_36 = compile("glibc-2.36", "c",
                                  "#include <stdlib.h>\n"
                                  "int main(void) { return (int)(arc4random() & 1); }\n",
                                  "/usr/bin/cc", NULL);
    static const char *const lelf[] = {"-lelf", NULL};
    programs.libelf = compile("with-libelf", "c",
                              "#include <libelf.h>\n"
                              "int main(void) { return elf_version(EV_CURRENT) == EV_NONE; }\n",
                              "/usr/bin/cc", lelf);
    static const char *const lcmocka[] = {"-lcmocka", NULL};
    programs.absent =
        compile("with-cmocka", "c",
                "#include <stdarg.h>\n#include <stddef.h>\n#include <setjmp.h>\n"
                "#include <stdint.h>\n#include <cmocka.h>\n"
                "int main(void) { cmocka_set_message_output(CM_OUTPUT_STDOUT); return 0; }\n",
                "/usr/bin/cc", lcmocka);
    static const char *const lcrypto[] = {"-lcrypto", NULL};
    programs.openssl_3_0_3 =
        compile("openssl-3.0.3", "c",
                "#include <openssl/crypto.h>\n"
                "int main(int argc, char **argv) {\n"
                "    return OPENSSL_strcasecmp(argv[0], argc ? \"a\" : \"b\");\n}\n",
                "/usr/bin/cc", lcrypto);
    static const char *const lcurl[] = {"-lcurl", NULL};
    programs.curl_ws = compile("curl-ws", "c",
                               "#include <curl/curl.h>\n"
                               "int main(void) {\n"
                               "    size_t sent;\n"
                               "    return (int)curl_ws_send(NULL, \"x\", 1, &sent, 0, 0);\n}\n",
                               "/usr/bin/cc", lcurl);
    programs.glibc_2_40 =
        compile_against_stand_in("glibc-2.40", "libm.so.6", "GLIBC_2.40", "cfbp_newer_maths");
    programs.openssl_3_2 = compile_against_stand_in("openssl-3.2", "libcrypto.so.3",
                                                    "OPENSSL_3.2.0", "cfbp_newer_crypto");
    programs.curl_waitfds = compile_against_stand_in("curl-waitfds", "libcurl.so.4",
                                                     "CURL_OPENSSL_4", "curl_multi_waitfds");
    static const char *const static_link[] = {"-static", NULL};
    programs.static_hello = compile("static-hello", "c", hello_source, "/usr/bin/cc", static_link);
    static const char *const relr[] = {"-Wl,-z,pack-relative-relocs", NULL};
    programs.relr = compile("relr", "c", hello_source, "/usr/bin/cc", relr);
    static const char *const m32[] = {"-m32", NULL};
    programs.m32 = compile("hello32", "c", hello_source, "/usr/bin/cc", m32);
    static const char *const lz[] = {"-lz", NULL};
    programs.zlib_old =
        compile("zlib-old", "c",
                "#include <zlib.h>\n"
                "int main(void) {\n"
                "    return (int)(crc32(0, (const unsigned char *)\"a\", 1) & 1);\n}\n",
                "/usr/bin/cc", lz);
    programs.zlib_new = compile("zlib-new", "c",
                                "#include <zlib.h>\n"
                                "int main(void) { return (int)(crc32_combine_gen(3) & 1); }\n",
                                "/usr/bin/cc", lz);
    programs.loads_curl = compile_with_dlopen_note(
        "loads-curl", "[{\"feature\":\"download\",\"description\":\"HTTP\","
                      "\"priority\":\"required\",\"soname\":[\"libcurl.so.4\"]}]");
    programs.loads_absent = compile_with_dlopen_note(
        "loads-absent", "[{\"feature\":\"download\",\"soname\":[\"libcurl.so.4\"]},"
                        "{\"feature\":\"tests\",\"priority\":\"required\","
                        "\"soname\":[\"libcmocka.so.0\"]}]");
    programs.suggests_absent = compile_with_dlopen_note(
        "suggests-absent",
        "[{\"feature\":\"tests\",\"priority\":\"suggested\",\"soname\":[\"libcmocka.so.0\"]}]");
    programs.loads_either = compile_with_dlopen_note(
        "loads-either", "[{\"feature\":\"compression\",\"soname\":[\"libcmocka.so.0\","
                        "\"libz.so.1\"]}]");
    programs.bad_note = compile_with_dlopen_note("bad-note", "[{\"soname\":[\"libz.so.1\"]");
    programs.curl_loader_uses = compile_curl_loader_uses();
    if (access("/usr/bin/g++", X_OK) == 0)
        programs.cxx = compile("cxx", "cc",
                               "#include <iostream>\n#include <string>\n"
                               "int main() { std::string s(\"hi\"); std::cout << s << std::endl; "
                               "return 0; }\n",
                               "/usr/bin/g++", NULL);
    if (!programs.hello || !programs.maths || !programs.glibc_2_35 || !programs.glibc_2_36 ||
        !programs.libelf || !programs.static_hello || !programs.absent || !programs.openssl_3_0_3 ||
        !programs.curl_ws || !programs.glibc_2_40 || !programs.openssl_3_2 ||
        !programs.curl_waitfds || !programs.loads_curl || !programs.loads_absent ||
        !programs.suggests_absent || !programs.loads_either || !programs.bad_note ||
        !programs.curl_loader_uses) {
        fprintf(stderr, "cannot compile the test programs with /usr/bin/cc\n");
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    char **all[] = {&programs.hello,
                    &programs.maths,
                    &programs.cxx,
                    &programs.glibc_2_35,
                    &programs.glibc_2_36,
                    &programs.libelf,
                    &programs.static_hello,
                    &programs.relr,
                    &programs.m32,
                    &programs.zlib_old,
                    &programs.zlib_new,
                    &programs.absent,
                    &programs.openssl_3_0_3,
                    &programs.curl_ws,
                    &programs.glibc_2_40,
                    &programs.openssl_3_2,
                    &programs.curl_waitfds,
                    &programs.loads_curl,
                    &programs.loads_absent,
                    &programs.suggests_absent,
                    &programs.loads_either,
                    &programs.bad_note,
                    &programs.curl_loader_uses};
    for (size_t i = 0; i < sizeof(all) / sizeof(*all); i++) {
        free(*all[i]);
        *all[i] = NULL;
    }
    test_remove_dir(programs.dir);
    programs.dir = NULL;
    return 0;
}

static int setup(void **state)
{
    struct fixture *fixture = calloc(1, sizeof(*fixture));
    fixture->dir = test_make_dir();
    *state = fixture;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *fixture = *state;
    cfbp_error_clear(&fixture->err);
    test_remove_dir(fixture->dir);
    free(fixture);
    return 0;
}

static void assert_passes_on(struct fixture *fixture, const char *path, const char *shown,
                             const char *stack)
{
    assert_true(cfbp_elf_is_elf(path));
    if (cfbp_elf_audit(path, shown, stack, &fixture->err) < 0)
        fail_msg("%s should run on %s: %s", shown, stack, fixture->err.message);
    assert_null(fixture->err.message);
}

static void assert_passes(struct fixture *fixture, const char *path, const char *shown)
{
    assert_passes_on(fixture, path, shown, "cflinuxfs4");
}

/* Refused on stack with kind INVALID and exactly message. */
static void assert_refused_on(struct fixture *fixture, const char *path, const char *shown,
                              const char *stack, const char *message)
{
    assert_int_equal(cfbp_elf_audit(path, shown, stack, &fixture->err), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_INVALID);
    assert_string_equal(fixture->err.message, message);
    cfbp_error_clear(&fixture->err);
}

static void assert_refused(struct fixture *fixture, const char *path, const char *shown,
                           const char *message)
{
    assert_refused_on(fixture, path, shown, "cflinuxfs4", message);
}

static unsigned char *read_bytes(const char *path, size_t *length)
{
    FILE *file = fopen(path, "rb");
    if (!file)
        fail_msg("cannot open %s", path);
    fseek(file, 0, SEEK_END);
    *length = (size_t)ftell(file);
    fseek(file, 0, SEEK_SET);
    unsigned char *data = malloc(*length ? *length : 1);
    if (fread(data, 1, *length, file) != *length)
        fail_msg("cannot read %s", path);
    fclose(file);
    return data;
}

static char *write_bytes(struct fixture *fixture, const char *name, const void *data, size_t length)
{
    char *path = test_path(fixture->dir, name);
    FILE *file = fopen(path, "wb");
    if (!file || fwrite(data, 1, length, file) != length || fclose(file) != 0)
        fail_msg("cannot write %s", path);
    chmod(path, 0755);
    return path;
}

/* --- the tests --- */

static void knows_cflinuxfs4_and_cflinuxfs5(void **state)
{
    (void)state;
    assert_true(cfbp_elf_knows_stack("cflinuxfs4"));
    assert_true(cfbp_elf_knows_stack("cflinuxfs5"));
    assert_false(cfbp_elf_knows_stack("cflinuxfs6"));
    assert_false(cfbp_elf_knows_stack("cflinuxfs"));
    assert_false(cfbp_elf_knows_stack("cflinuxfs3"));
    assert_false(cfbp_elf_knows_stack("cflinuxfs2"));
    assert_false(cfbp_elf_knows_stack("CFLINUXFS4"));
    assert_false(cfbp_elf_knows_stack("cflinuxfs4 "));
    assert_false(cfbp_elf_knows_stack(""));
    assert_false(cfbp_elf_knows_stack(NULL));
}

/* Every program the buildpack zip ships, built on this Debian 12 machine, on both stacks. */
static void the_built_programs_run_on_both_stacks(void **state)
{
    struct fixture *fixture = *state;
    static const char *const names[] = {"supply", "finalize", "detect", "release", "compile"};
    static const char *const stacks[] = {"cflinuxfs4", "cflinuxfs5"};
    for (size_t s = 0; s < sizeof(stacks) / sizeof(*stacks); s++) {
        for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
            char *path = test_path(test_program_dir(), names[i]);
            char shown[64];
            snprintf(shown, sizeof(shown), "bin/%s", names[i]);
#ifdef __SANITIZE_ADDRESS__
            /* A sanitizer build needs the sanitizer runtime, which no stack has. */
            char message[256];
            snprintf(message, sizeof(message),
                     "%s needs libasan.so.8, which %s does not have; link it statically or "
                     "drop the dependency",
                     shown, stacks[s]);
            assert_true(cfbp_elf_is_elf(path));
            assert_refused_on(fixture, path, shown, stacks[s], message);
#else
            assert_passes_on(fixture, path, shown, stacks[s]);
#endif
            free(path);
        }
        /* The sidecar is fully static in every build. */
        char *server = test_path(test_program_dir(), "config-server");
        assert_passes_on(fixture, server, "config-server", stacks[s]);
        free(server);
    }
}

static void plain_dynamic_programs_pass(void **state)
{
    struct fixture *fixture = *state;
    assert_passes(fixture, programs.hello, "bin/hello");
    assert_passes(fixture, programs.maths, "bin/maths");
    if (programs.cxx)
        assert_passes(fixture, programs.cxx, "bin/cxx");
}

static void glibc_2_35_is_the_newest_allowed(void **state)
{
    struct fixture *fixture = *state;
    assert_passes(fixture, programs.glibc_2_35, "bin/find-object");
}

static void refuses_a_symbol_newer_than_glibc_2_35(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(cfbp_elf_audit(programs.glibc_2_36, "bin/tool", "cflinuxfs4", &fixture->err),
                     -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_INVALID);
    const char *message = fixture->err.message;
    if (!strstr(message, "bin/tool") || !strstr(message, "GLIBC_2.36") ||
        !strstr(message, "libc.so.6") || strstr(message, programs.glibc_2_36))
        fail_msg("the message should name bin/tool, GLIBC_2.36 and libc.so.6: %s", message);
    assert_string_equal(message, "bin/tool needs GLIBC_2.36 from libc.so.6, but cflinuxfs4 has "
                                 "glibc 2.35; build it against older libraries (e.g. on Ubuntu "
                                 "22.04) or link statically");
}

static void refuses_a_library_the_stack_lacks(void **state)
{
    struct fixture *fixture = *state;
    assert_refused(fixture, programs.absent, "bin/tool",
                   "bin/tool needs libcmocka.so.0, which cflinuxfs4 does not have; link it "
                   "statically or drop the dependency");
    /* libelf1 is in both receipts. */
    assert_passes(fixture, programs.libelf, "bin/tool");
}

static void refuses_dt_relr_which_glibc_2_35_cannot_load(void **state)
{
    struct fixture *fixture = *state;
    if (!programs.relr)
        skip();
    assert_refused(fixture, programs.relr, "bin/relr",
                   "bin/relr needs the symbol version GLIBC_ABI_DT_RELR from libc.so.6, which "
                   "cflinuxfs4 (glibc 2.35) does not provide");
}

static void checks_the_versions_of_other_stack_libraries(void **state)
{
    struct fixture *fixture = *state;
    if (!programs.zlib_old || !programs.zlib_new)
        skip(); /* no zlib headers here */
    assert_passes(fixture, programs.zlib_old, "bin/zlib-old");
    assert_refused(fixture, programs.zlib_new, "bin/zlib-new",
                   "bin/zlib-new needs ZLIB_1.2.12 from libz.so.1, but cflinuxfs4 has zlib 1.2.11; "
                   "build it against older libraries (e.g. on Ubuntu 22.04) or link statically");
}

static void a_static_program_passes(void **state)
{
    struct fixture *fixture = *state;
    assert_passes(fixture, programs.static_hello, "bin/static");
}

static void a_script_is_not_elf(void **state)
{
    struct fixture *fixture = *state;
    char *script = test_path(fixture->dir, "supply");
    test_write_file(script, "#!/bin/sh\nexec \"$0.real\" \"$@\"\n", 0755);
    assert_false(cfbp_elf_is_elf(script));
    assert_int_equal(cfbp_elf_audit(script, "bin/supply", "cflinuxfs4", &fixture->err), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_INVALID);
    assert_true(
        cfbp_string_starts_with(fixture->err.message, "bin/supply is not a readable ELF file"));
    free(script);
}

static void a_32_bit_program_is_refused(void **state)
{
    struct fixture *fixture = *state;
    if (!programs.m32)
        skip(); /* no 32-bit libc here */
    assert_true(cfbp_elf_is_elf(programs.m32));
    assert_refused(fixture, programs.m32, "bin/hello32",
                   "bin/hello32 is not a 64-bit x86 program, which cflinuxfs4 needs");
}

static void other_machines_and_classes_are_refused(void **state)
{
    struct fixture *fixture = *state;
    /* The same program marked as aarch64 (e_machine 183). */
    size_t length;
    unsigned char *data = read_bytes(programs.hello, &length);
    data[18] = 183;
    data[19] = 0;
    char *arm = write_bytes(fixture, "hello-arm64", data, length);
    free(data);
    assert_true(cfbp_elf_is_elf(arm));
    assert_refused(fixture, arm, "bin/arm",
                   "bin/arm is not a 64-bit x86 program, which cflinuxfs4 needs");
    /* A bare 32-bit i386 executable header. */
    unsigned char header[52] = {0x7f, 'E', 'L', 'F', 1, 1, 1, 0};
    header[16] = 2;  /* ET_EXEC */
    header[18] = 3;  /* EM_386 */
    header[20] = 1;  /* EV_CURRENT */
    header[40] = 52; /* e_ehsize */
    header[46] = 40; /* e_shentsize */
    char *i386 = write_bytes(fixture, "i386", header, sizeof(header));
    assert_true(cfbp_elf_is_elf(i386));
    assert_refused(fixture, i386, "bin/i386",
                   "bin/i386 is not a 64-bit x86 program, which cflinuxfs4 needs");
    free(arm);
    free(i386);
}

static void an_unknown_stack_is_an_error(void **state)
{
    struct fixture *fixture = *state;
    assert_int_equal(cfbp_elf_audit(programs.hello, "bin/hello", "cflinuxfs3", &fixture->err), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_INVALID);
    assert_string_equal(fixture->err.message, "cannot check bin/hello for the stack cflinuxfs3: "
                                              "only cflinuxfs4 and cflinuxfs5 are known");
    cfbp_error_clear(&fixture->err);
    assert_int_equal(cfbp_elf_audit(programs.hello, "bin/hello", NULL, &fixture->err), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_INVALID);
    assert_string_equal(fixture->err.message, "cannot check bin/hello for the stack (none): only "
                                              "cflinuxfs4 and cflinuxfs5 are known");
}

static void missing_empty_and_truncated_files(void **state)
{
    struct fixture *fixture = *state;
    char *missing = test_path(fixture->dir, "missing");
    assert_false(cfbp_elf_is_elf(missing));
    assert_int_equal(cfbp_elf_audit(missing, "bin/missing", "cflinuxfs4", &fixture->err), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_IO);
    assert_non_null(strstr(fixture->err.message, missing));
    cfbp_error_clear(&fixture->err);

    char *empty = write_bytes(fixture, "empty", "", 0);
    assert_false(cfbp_elf_is_elf(empty));
    char *three = write_bytes(fixture, "three", "\177EL", 3);
    assert_false(cfbp_elf_is_elf(three));

    char *truncated = write_bytes(fixture, "truncated", "\177ELF\2\1\1\0garbage", 15);
    assert_true(cfbp_elf_is_elf(truncated));
    assert_int_equal(cfbp_elf_audit(truncated, "bin/truncated", "cflinuxfs4", &fixture->err), -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_INVALID);
    assert_true(
        cfbp_string_starts_with(fixture->err.message, "bin/truncated is not a readable ELF file"));
    free(missing);
    free(empty);
    free(three);
    free(truncated);
}

/*
 * The loader finds DT_NEEDED through the program headers (PT_DYNAMIC); section
 * headers are optional, and "sstrip"-style tools remove them. Such a program
 * still needs libcmocka.so.0 and still fails to start on cflinuxfs4, so the
 * audit must not pass it because it found no sections to read.
 */
static void refuses_a_program_whose_section_headers_are_stripped(void **state)
{
    struct fixture *fixture = *state;
    size_t length;
    unsigned char *data = read_bytes(programs.absent, &length);
    memset(data + 0x28, 0, 8); /* e_shoff */
    memset(data + 0x3c, 0, 4); /* e_shnum, e_shstrndx */
    char *stripped = write_bytes(fixture, "with-cmocka-sstripped", data, length);
    free(data);
    /* It still runs here, where libcmocka.so.0 exists. */
    char *argv[] = {stripped, NULL};
    struct test_run run = test_run_program(argv, NULL, NULL);
    assert_int_equal(run.status, 0);
    test_run_free(&run);
    int result = cfbp_elf_audit(stripped, "bin/tool", "cflinuxfs4", &fixture->err);
    free(stripped);
    assert_int_equal(result, -1);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_INVALID);
    /* Its needs cannot be read from sections: refused outright rather than guessed. */
    assert_non_null(strstr(fixture->err.message, "bin/tool is dynamically linked but has no "
                                                 "section headers"));
}

/* --- cflinuxfs5 (Ubuntu 24.04): receipt.cflinuxfs5.x86_64 --- */

static void what_is_newer_than_cflinuxfs4_runs_on_cflinuxfs5(void **state)
{
    struct fixture *fixture = *state;
    const char *fs5 = "cflinuxfs5";
    assert_passes_on(fixture, programs.hello, "bin/hello", fs5);
    assert_passes_on(fixture, programs.maths, "bin/maths", fs5);
    if (programs.cxx)
        assert_passes_on(fixture, programs.cxx, "bin/cxx", fs5);
    assert_passes_on(fixture, programs.static_hello, "bin/static", fs5);
    assert_passes_on(fixture, programs.libelf, "bin/tool", fs5);
    /* glibc 2.36 (arc4random), OpenSSL 3.0.3, libcurl 7.86 and zlib 1.2.12 are all older than
     * noble's; each is refused on cflinuxfs4. */
    assert_passes_on(fixture, programs.glibc_2_36, "bin/tool", fs5);
    assert_passes_on(fixture, programs.openssl_3_0_3, "bin/tool", fs5);
    assert_refused(fixture, programs.openssl_3_0_3, "bin/tool",
                   "bin/tool needs OPENSSL_3.0.3 from libcrypto.so.3, but cflinuxfs4 has OpenSSL "
                   "3.0.2; build it against older libraries (e.g. on Ubuntu 22.04) or link "
                   "statically");
    assert_passes_on(fixture, programs.curl_ws, "bin/tool", fs5);
    assert_refused(fixture, programs.curl_ws, "bin/tool",
                   "bin/tool calls curl_ws_send, which needs libcurl 7.86.0, but cflinuxfs4 has "
                   "libcurl 7.81.0");
    if (programs.zlib_new)
        assert_passes_on(fixture, programs.zlib_new, "bin/zlib-new", fs5);
    /* glibc 2.36 and later load DT_RELR programs. */
    if (programs.relr)
        assert_passes_on(fixture, programs.relr, "bin/relr", fs5);
}

static void refuses_a_symbol_newer_than_glibc_2_39(void **state)
{
    struct fixture *fixture = *state;
    assert_refused_on(fixture, programs.glibc_2_40, "bin/tool", "cflinuxfs5",
                      "bin/tool needs GLIBC_2.40 from libm.so.6, but cflinuxfs5 has glibc 2.39; "
                      "build it against older libraries (e.g. on Ubuntu 24.04) or link "
                      "statically");
    assert_refused(fixture, programs.glibc_2_40, "bin/tool",
                   "bin/tool needs GLIBC_2.40 from libm.so.6, but cflinuxfs4 has glibc 2.35; "
                   "build it against older libraries (e.g. on Ubuntu 22.04) or link statically");
}

static void refuses_what_noble_lacks(void **state)
{
    struct fixture *fixture = *state;
    assert_refused_on(fixture, programs.absent, "bin/tool", "cflinuxfs5",
                      "bin/tool needs libcmocka.so.0, which cflinuxfs5 does not have; link it "
                      "statically or drop the dependency");
    /* noble has OpenSSL 3.0.13, not 3.2. */
    assert_refused_on(fixture, programs.openssl_3_2, "bin/tool", "cflinuxfs5",
                      "bin/tool needs OPENSSL_3.2.0 from libcrypto.so.3, but cflinuxfs5 has "
                      "OpenSSL 3.0.13; build it against older libraries (e.g. on Ubuntu 24.04) or "
                      "link statically");
    /* noble has libcurl 8.5.0; curl_multi_waitfds came in 8.8.0. */
    assert_refused_on(fixture, programs.curl_waitfds, "bin/tool", "cflinuxfs5",
                      "bin/tool calls curl_multi_waitfds, which needs libcurl 8.8.0, but "
                      "cflinuxfs5 has libcurl 8.5.0");
    /* A 64-bit x86 stack like the other. */
    if (programs.m32)
        assert_refused_on(fixture, programs.m32, "bin/hello32", "cflinuxfs5",
                          "bin/hello32 is not a 64-bit x86 program, which cflinuxfs5 needs");
}

/* --- libraries loaded at run time: the dlopen note --- */

static void audits_the_libraries_a_dlopen_note_names(void **state)
{
    struct fixture *fixture = *state;
    static const char *const stacks[] = {"cflinuxfs4", "cflinuxfs5"};
    for (size_t s = 0; s < sizeof(stacks) / sizeof(*stacks); s++) {
        assert_passes_on(fixture, programs.loads_curl, "bin/tool", stacks[s]);
        assert_passes_on(fixture, programs.suggests_absent, "bin/tool", stacks[s]);
        assert_passes_on(fixture, programs.loads_either, "bin/tool", stacks[s]);
        char message[256];
        snprintf(message, sizeof(message),
                 "bin/tool loads libcmocka.so.0 at run time (dlopen, for its feature \"tests\"), "
                 "which %s does not have; link it statically or drop the dependency",
                 stacks[s]);
        assert_refused_on(fixture, programs.loads_absent, "bin/tool", stacks[s], message);
    }
    /* What it loads cannot be told: refused, not passed. */
    assert_refused(
        fixture, programs.bad_note, "bin/tool",
        "bin/tool has a .note.dlopen that is not valid JSON, so what it loads at run "
        "time cannot be checked; fix the note (https://systemd.io/ELF_DLOPEN_METADATA/)");
}

/* The same program without its note would pass: the note is what the audit saw. */
static void a_program_without_the_note_is_not_refused(void **state)
{
    struct fixture *fixture = *state;
    size_t length;
    unsigned char *data = read_bytes(programs.loads_absent, &length);
    static const char type[] = {0x0a, 0x0c, 0x7c, 0x40, 'F', 'D', 'O', 0}; /* little-endian */
    unsigned char *note = memmem(data, length, type, sizeof(type));
    assert_non_null(note);
    note[0] = 0x0b; /* another note type: no longer a dlopen note */
    char *other = write_bytes(fixture, "loads-absent-other-type", data, length);
    free(data);
    assert_passes(fixture, other, "bin/tool");
    free(other);
}

/*
 * The built supply loads libcurl.so.4 (lib/curl_loader.c) and says so in its
 * note; renaming the soname in that note (same length) makes the audit refuse
 * it, which fails if supply had no note or the audit did not read it.
 */
static void the_built_supply_declares_libcurl(void **state)
{
    struct fixture *fixture = *state;
    char *supply = test_path(test_program_dir(), "supply");
    size_t length;
    unsigned char *data = read_bytes(supply, &length);
    free(supply);
    static const char declared[] = "\"soname\":[\"libcurl.so.4\"]";
    char *soname = memmem(data, length, declared, sizeof(declared) - 1);
    if (!soname)
        fail_msg("bin/supply has no dlopen note naming libcurl.so.4");
    memcpy(soname + strlen("\"soname\":[\""), "libcurX", 7);
    char *renamed = write_bytes(fixture, "supply-renamed", data, length);
    free(data);
    assert_int_equal(cfbp_elf_audit(renamed, "bin/supply", "cflinuxfs4", &fixture->err), -1);
    free(renamed);
    assert_int_equal(fixture->err.kind, CFBP_ERROR_INVALID);
    assert_string_equal(fixture->err.message,
                        "bin/supply loads libcurX.so.4 at run time (dlopen, for its feature "
                        "\"download\"), which cflinuxfs4 does not have; link it statically or "
                        "drop the dependency");
}

/*
 * Every function the loader resolves exists in the oldest stack's libcurl
 * (7.81.0): a program calling them all passes the audit's libcurl release
 * check, which refuses curl_ws_send (7.86.0) above.
 */
static void the_curl_loader_needs_nothing_newer_than_the_stacks(void **state)
{
    struct fixture *fixture = *state;
    size_t count;
    const char *const *names = cfbp_curl_function_names(&count);
    assert_true(count >= 10);
    assert_string_equal(names[0], "curl_global_init");
    assert_passes(fixture, programs.curl_loader_uses, "bin/tool");
    assert_passes_on(fixture, programs.curl_loader_uses, "bin/tool", "cflinuxfs5");
}

int main(void)
{
#define TEST(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
    const struct CMUnitTest tests[] = {
        TEST(knows_cflinuxfs4_and_cflinuxfs5),
        TEST(the_built_programs_run_on_both_stacks),
        TEST(plain_dynamic_programs_pass),
        TEST(glibc_2_35_is_the_newest_allowed),
        TEST(refuses_a_symbol_newer_than_glibc_2_35),
        TEST(refuses_a_library_the_stack_lacks),
        TEST(refuses_dt_relr_which_glibc_2_35_cannot_load),
        TEST(checks_the_versions_of_other_stack_libraries),
        TEST(a_static_program_passes),
        TEST(a_script_is_not_elf),
        TEST(a_32_bit_program_is_refused),
        TEST(other_machines_and_classes_are_refused),
        TEST(an_unknown_stack_is_an_error),
        TEST(missing_empty_and_truncated_files),
        TEST(refuses_a_program_whose_section_headers_are_stripped),
        TEST(what_is_newer_than_cflinuxfs4_runs_on_cflinuxfs5),
        TEST(refuses_a_symbol_newer_than_glibc_2_39),
        TEST(refuses_what_noble_lacks),
        TEST(audits_the_libraries_a_dlopen_note_names),
        TEST(a_program_without_the_note_is_not_refused),
        TEST(the_built_supply_declares_libcurl),
        TEST(the_curl_loader_needs_nothing_newer_than_the_stacks),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
