/*
 * test_static_binary.c - build/bin/config-server must run on any Linux stack.
 *
 * The sidecar is dropped into cflinuxfs4 containers (and whatever comes
 * after), so it may not depend on the stack's libc: no program interpreter
 * (PT_INTERP) and no shared libraries (DT_NEEDED). The ELF headers are read
 * here directly rather than trusting a tool's output format.
 */
#include <elf.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static const char *binary_path;

static unsigned char *read_whole(const char *path, size_t *length)
{
    FILE *file = fopen(path, "rb");
    assert_non_null(file);
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    assert_true(size > (long)sizeof(Elf64_Ehdr));
    fseek(file, 0, SEEK_SET);
    unsigned char *data = malloc((size_t)size);
    assert_int_equal(fread(data, 1, (size_t)size, file), (size_t)size);
    fclose(file);
    *length = (size_t)size;
    return data;
}

/* Counts DT_NEEDED entries in the dynamic segment described by header. */
static int needed_libraries(const unsigned char *data, size_t length, const Elf64_Phdr *header)
{
    assert_true(header->p_offset + header->p_filesz <= length);
    int needed = 0;
    for (size_t at = 0; at + sizeof(Elf64_Dyn) <= header->p_filesz; at += sizeof(Elf64_Dyn)) {
        Elf64_Dyn entry;
        memcpy(&entry, data + header->p_offset + at, sizeof(entry));
        if (entry.d_tag == DT_NULL)
            break;
        if (entry.d_tag == DT_NEEDED)
            needed++;
    }
    return needed;
}

static void test_has_no_interpreter_and_no_shared_libraries(void **state)
{
    (void)state;
    size_t length;
    unsigned char *data = read_whole(binary_path, &length);
    Elf64_Ehdr elf;
    memcpy(&elf, data, sizeof(elf));
    assert_memory_equal(elf.e_ident, ELFMAG, SELFMAG);
    assert_int_equal(elf.e_ident[EI_CLASS], ELFCLASS64);
    assert_int_equal(elf.e_machine, EM_X86_64);
    assert_true(elf.e_phnum > 0);
    assert_true(elf.e_phoff + (size_t)elf.e_phnum * sizeof(Elf64_Phdr) <= length);
    int loads = 0;
    for (size_t i = 0; i < elf.e_phnum; i++) {
        Elf64_Phdr header;
        memcpy(&header, data + elf.e_phoff + i * sizeof(header), sizeof(header));
        assert_int_not_equal(header.p_type, PT_INTERP);
        if (header.p_type == PT_DYNAMIC)
            assert_int_equal(needed_libraries(data, length, &header), 0);
        if (header.p_type == PT_LOAD)
            loads++;
    }
    assert_true(loads > 0);
    free(data);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s path/to/config-server\n", argv[0]);
        return 2;
    }
    binary_path = argv[1];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_has_no_interpreter_and_no_shared_libraries),
    };
    return cmocka_run_group_tests_name("config-server static binary", tests, NULL, NULL);
}
