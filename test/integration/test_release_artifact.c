/*
 * test_release_artifact.c - the config-server release archive the build
 * writes: what it holds, that it is reproducible in its details, and that
 * the committed manifest.yml lists its sha256.
 */
#include "support.h"

#include "cfbp/error.h"
#include "cfbp/manifest.h"
#include "cfbp/tarball.h"

#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void manifest_lists_the_built_artifact(void **state)
{
    (void)state;
    struct cfbp_manifest manifest;
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_manifest_load(&manifest, CFBP_SOURCE_DIR, &err) < 0)
        fail_msg("%s", err.message);
    const struct cfbp_dependency *dependency;
    if (cfbp_manifest_default_version(&manifest, "config-server", "cflinuxfs4", &dependency, &err) <
        0)
        fail_msg("%s", err.message);
    assert_string_equal(dependency->version, CONFIG_SERVER_VERSION);
    assert_true(strstr(dependency->uri, "/config-server-" CONFIG_SERVER_VERSION "-linux-x64.tgz"));
    const char *built = test_sha256_of_file(CONFIG_SERVER_ARTIFACT);
    if (strcmp(dependency->sha256, built) != 0)
        fail_msg("manifest.yml lists sha256 %s for config-server %s, but the build produced %s "
                 "(%s). If the config-server changed on purpose, run "
                 "scripts/update-artifact-sha256 and commit manifest.yml.",
                 dependency->sha256, dependency->version, built, CONFIG_SERVER_ARTIFACT);
    cfbp_manifest_release(&manifest);
}

static void artifact_holds_only_the_static_binary(void **state)
{
    (void)state;
    struct archive *archive = archive_read_new();
    archive_read_support_filter_gzip(archive);
    archive_read_support_format_tar(archive);
    assert_int_equal(archive_read_open_filename(archive, CONFIG_SERVER_ARTIFACT, 65536),
                     ARCHIVE_OK);
    static const char *names[] = {"bin/", "bin/config-server"};
    struct archive_entry *entry;
    size_t count = 0;
    char *binary = test_read_file(CONFIG_SERVER_STATIC_BINARY);
    assert_non_null(binary);
    while (archive_read_next_header(archive, &entry) == ARCHIVE_OK) {
        assert_true(count < 2);
        assert_string_equal(archive_entry_pathname(entry), names[count]);
        assert_int_equal(archive_entry_perm(entry), 0755);
        assert_int_equal(archive_entry_uid(entry), 0);
        assert_int_equal(archive_entry_gid(entry), 0);
        assert_int_equal(archive_entry_mtime(entry), cfbp_source_date_epoch());
        if (count == 1) {
            size_t size = (size_t)archive_entry_size(entry);
            char *data = malloc(size);
            assert_int_equal(archive_read_data(archive, data, size), (la_ssize_t)size);
            assert_memory_equal(data, binary, size);
            free(data);
        }
        count++;
    }
    assert_int_equal(count, 2);
    archive_read_free(archive);
    free(binary);
}

static void gzip_header_has_no_name_or_time(void **state)
{
    (void)state;
    FILE *file = fopen(CONFIG_SERVER_ARTIFACT, "rb");
    unsigned char header[10];
    assert_int_equal(fread(header, 1, sizeof(header), file), sizeof(header));
    fclose(file);
    assert_int_equal(header[0], 0x1f);
    assert_int_equal(header[1], 0x8b);
    assert_int_equal(header[3] & 0x08, 0);                              /* FNAME */
    assert_int_equal(header[4] | header[5] | header[6] | header[7], 0); /* MTIME */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(manifest_lists_the_built_artifact),
        cmocka_unit_test(artifact_holds_only_the_static_binary),
        cmocka_unit_test(gzip_header_has_no_name_or_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
