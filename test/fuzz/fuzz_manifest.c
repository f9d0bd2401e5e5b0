/*
 * fuzz_manifest.c - the buildpack manifest (lib/manifest.c) on any bytes.
 *
 * The input is written as manifest.yml in a directory of the process's own
 * and loaded the way `cfbp package` loads it. A load either fails naming the
 * file, or what it read holds what manifest.h promises (no NULL text, digests
 * in lowercase hex, an md5 only without a sha256) and every lookup works on
 * it: each dependency is found by name and version on its stacks, default
 * versions resolve to a visible entry of that name or fail with a sentence.
 * The same bytes are then applied as an override.yml (deps/0/override.yml,
 * contract §5.7) and looked up again. The lenient load `summary` uses must
 * accept whatever the checked load accepts, and fail only naming the file.
 */
#include "fuzz_support.h"

#include "cfbp/digest.h"
#include "cfbp/error.h"
#include "cfbp/manifest.h"
#include "cfbp/strbuf.h"
#include "cfbp/string_list.h"

#include <stdbool.h>
#include <string.h>

static const char *const stacks[] = {"cflinuxfs4", "cflinuxfs3", ""};

static void check_lookups(const struct cfbp_manifest *manifest)
{
    for (size_t s = 0; s < sizeof(stacks) / sizeof(*stacks); s++) {
        const char *stack = stacks[s];
        cfbp_manifest_supports_stack(manifest, stack);
        for (size_t i = 0; i < manifest->dependency_count; i++) {
            const struct cfbp_dependency *dependency = &manifest->dependencies[i];
            if (!cfbp_manifest_dependency_on_stack(manifest, dependency, stack))
                continue;
            const struct cfbp_dependency *found =
                cfbp_manifest_find(manifest, dependency->name, dependency->version, stack);
            if (!found || strcmp(found->name, dependency->name) != 0 ||
                strcmp(found->version, dependency->version) != 0)
                fuzz_fail("%s %s is on %s but not found", dependency->name, dependency->version,
                          stack);
            struct cfbp_string_list versions = CFBP_STRING_LIST_INIT;
            cfbp_manifest_versions(manifest, dependency->name, stack, &versions);
            if (!cfbp_string_list_contains(&versions, dependency->version))
                fuzz_fail("the versions of %s on %s leave out %s", dependency->name, stack,
                          dependency->version);
            cfbp_string_list_clear(&versions);
        }
        for (size_t i = 0; i < manifest->default_count; i++) {
            const char *name = manifest->defaults[i].name;
            const struct cfbp_dependency *chosen = NULL;
            struct cfbp_error err = CFBP_ERROR_INIT;
            if (cfbp_manifest_default_version(manifest, name, stack, &chosen, &err) < 0) {
                if (!err.message || !*err.message)
                    fuzz_fail("the default version of %s failed without a message", name);
                cfbp_error_clear(&err);
                continue;
            }
            if (!chosen || strcmp(chosen->name, name) != 0 ||
                !cfbp_manifest_dependency_on_stack(manifest, chosen, stack))
                fuzz_fail("the default version of %s on %s is not a visible %s", name, stack, name);
        }
    }
}

static void check_values(const struct cfbp_manifest *manifest)
{
    if (!manifest->language)
        fuzz_fail("a loaded manifest has no language text");
    for (size_t i = 0; i < manifest->dependency_count; i++) {
        const struct cfbp_dependency *dependency = &manifest->dependencies[i];
        if (!dependency->name || !dependency->version || !dependency->uri ||
            !dependency->defined_in)
            fuzz_fail("dependency %zu has a NULL name, version, uri or file", i);
        if (dependency->sha256 && !cfbp_digest_is_sha256_hex(dependency->sha256))
            fuzz_fail("dependency %zu has the sha256 '%s'", i, dependency->sha256);
        if (dependency->md5 && (dependency->sha256 || !cfbp_digest_is_md5_hex(dependency->md5)))
            fuzz_fail("dependency %zu has the md5 '%s'", i, dependency->md5);
    }
    for (size_t i = 0; i < manifest->deprecation_count; i++) {
        const struct cfbp_deprecation *entry = &manifest->deprecations[i];
        if (!entry->date || entry->month < 1 || entry->month > 12 || entry->day < 1 ||
            entry->day > 31)
            fuzz_fail("deprecation %zu has the date '%s'", i, entry->date ? entry->date : "");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct cfbp_strbuf path = CFBP_STRBUF_INIT, deps = CFBP_STRBUF_INIT;
    fuzz_write_file("manifest.yml", data, size, &path);
    struct cfbp_manifest manifest;
    struct cfbp_error err = CFBP_ERROR_INIT;
    bool listed = cfbp_manifest_load_for_summary(&manifest, fuzz_directory(), &err) == 0;
    if (listed)
        cfbp_manifest_release(&manifest);
    else
        fuzz_expect_prefix(err.message, path.buf);
    cfbp_error_clear(&err);
    if (cfbp_manifest_load_without_version(&manifest, fuzz_directory(), &err) < 0) {
        fuzz_expect_prefix(err.message, path.buf);
        cfbp_error_clear(&err);
    } else {
        if (!listed)
            fuzz_fail("the checked load accepts what the summary's load refuses");
        check_values(&manifest);
        check_lookups(&manifest);
        fuzz_write_file("deps/0/override.yml", data, size, &path);
        cfbp_strbuf_append_format(&deps, "%s/deps", fuzz_directory());
        if (cfbp_manifest_apply_overrides(&manifest, deps.buf, &err) == 0) {
            check_values(&manifest);
            check_lookups(&manifest);
        } else
            fuzz_expect_prefix(err.message, path.buf);
        cfbp_error_clear(&err);
        cfbp_manifest_release(&manifest);
    }
    cfbp_strbuf_release(&deps);
    cfbp_strbuf_release(&path);
    return 0;
}
