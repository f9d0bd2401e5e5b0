/*
 * test_digest.c - SHA-256 and MD5 through OpenSSL EVP, streamed.
 */
#include "support.h"

#include "cfbp/digest.h"
#include "cfbp/error.h"
#include "cfbp/strbuf.h"

#include <stdlib.h>
#include <string.h>

#define SHA256_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA256_ABC   "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define MD5_EMPTY    "d41d8cd98f00b204e9800998ecf8427e"
#define MD5_ABC      "900150983cd24fb0d6963f7d28e17f72"
/* SHA-256 of one million 'a' (FIPS 180-2 test vector). */
#define SHA256_MILLION_A "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"

static void digests_known_vectors(void **state)
{
    (void)state;
    char hex[CFBP_DIGEST_HEX_SIZE];
    cfbp_digest_of_bytes(CFBP_DIGEST_SHA256, "", 0, hex);
    assert_string_equal(hex, SHA256_EMPTY);
    cfbp_digest_of_bytes(CFBP_DIGEST_SHA256, "abc", 3, hex);
    assert_string_equal(hex, SHA256_ABC);
    memset(hex, 'x', sizeof(hex));
    cfbp_digest_of_bytes(CFBP_DIGEST_MD5, "", 0, hex);
    assert_string_equal(hex, MD5_EMPTY);
    assert_int_equal(strlen(hex), 32);
    cfbp_digest_of_bytes(CFBP_DIGEST_MD5, "abc", 3, hex);
    assert_string_equal(hex, MD5_ABC);
    /* Bytes, not C strings: a NUL counts. */
    cfbp_digest_of_bytes(CFBP_DIGEST_MD5, "abc\0", 4, hex);
    assert_string_not_equal(hex, MD5_ABC);
}

static void md5_of_a_uri_names_the_cache_directory(void **state)
{
    (void)state;
    /* The packager's dependencies/<md5hex(uri)>/ path (contract §5.2). */
    char hex[CFBP_DIGEST_HEX_SIZE];
    const char *uri = "https://example.com/dep.tgz";
    cfbp_digest_of_bytes(CFBP_DIGEST_MD5, uri, strlen(uri), hex);
    assert_string_equal(hex, "b48151d82f936c10545ed3e2356818eb");
}

static void streams_in_pieces(void **state)
{
    (void)state;
    char hex[CFBP_DIGEST_HEX_SIZE];
    struct cfbp_digest digest;
    cfbp_digest_start(&digest, CFBP_DIGEST_SHA256);
    cfbp_digest_update(&digest, "a", 1);
    cfbp_digest_update(&digest, "", 0);
    cfbp_digest_update(&digest, NULL, 0);
    cfbp_digest_update(&digest, "bc", 2);
    cfbp_digest_finish_hex(&digest, hex);
    assert_string_equal(hex, SHA256_ABC);
    assert_null(digest.context);

    char block[1000];
    memset(block, 'a', sizeof(block));
    cfbp_digest_start(&digest, CFBP_DIGEST_SHA256);
    for (int i = 0; i < 1000; i++)
        cfbp_digest_update(&digest, block, sizeof(block));
    cfbp_digest_finish_hex(&digest, hex);
    assert_string_equal(hex, SHA256_MILLION_A);

    /* Released without finishing: nothing leaks (ASan checks). */
    cfbp_digest_start(&digest, CFBP_DIGEST_MD5);
    cfbp_digest_update(&digest, "x", 1);
    cfbp_digest_release(&digest);
    assert_null(digest.context);
}

static void digests_files(void **state)
{
    (void)state;
    char *dir = test_make_dir();
    char *path = test_path(dir, "file");
    char hex[CFBP_DIGEST_HEX_SIZE];
    struct cfbp_error err = CFBP_ERROR_INIT;

    test_write_file(path, "", 0644);
    assert_int_equal(cfbp_digest_of_file(CFBP_DIGEST_SHA256, path, hex, &err), 0);
    assert_string_equal(hex, SHA256_EMPTY);
    test_write_file(path, "abc", 0644);
    assert_int_equal(cfbp_digest_of_file(CFBP_DIGEST_MD5, path, hex, &err), 0);
    assert_string_equal(hex, MD5_ABC);

    /* Larger than the read block, so it takes several reads. */
    char *big = malloc(1000001);
    memset(big, 'a', 1000000);
    big[1000000] = '\0';
    test_write_file(path, big, 0644);
    free(big);
    assert_int_equal(cfbp_digest_of_file(CFBP_DIGEST_SHA256, path, hex, &err), 0);
    assert_string_equal(hex, SHA256_MILLION_A);
    assert_null(err.message);

    char *missing = test_path(dir, "missing");
    assert_int_equal(cfbp_digest_of_file(CFBP_DIGEST_SHA256, missing, hex, &err), -1);
    assert_int_equal(err.kind, CFBP_ERROR_NOT_FOUND);
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&expected, "cannot read %s: No such file or directory", missing);
    assert_string_equal(err.message, expected.buf);
    cfbp_error_clear(&err);

    assert_int_equal(cfbp_digest_of_file(CFBP_DIGEST_SHA256, dir, hex, &err), -1);
    assert_int_equal(err.kind, CFBP_ERROR_IO);
    cfbp_strbuf_reset(&expected);
    cfbp_strbuf_append_format(&expected, "cannot read %s: Is a directory", dir);
    assert_string_equal(err.message, expected.buf);
    cfbp_error_clear(&err);

    cfbp_strbuf_release(&expected);
    free(missing);
    free(path);
    test_remove_dir(dir);
}

static void recognises_sha256_hex(void **state)
{
    (void)state;
    assert_true(cfbp_digest_is_sha256_hex(SHA256_ABC));
    assert_true(cfbp_digest_is_sha256_hex(
        "0000000000000000000000000000000000000000000000000000000000000000"));
    assert_false(cfbp_digest_is_sha256_hex(""));
    assert_false(cfbp_digest_is_sha256_hex(MD5_ABC));
    assert_false(cfbp_digest_is_sha256_hex(SHA256_ABC "0"));
    assert_false(cfbp_digest_is_sha256_hex(
        "BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD"));
    assert_false(cfbp_digest_is_sha256_hex(
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ag"));
    assert_false(cfbp_digest_is_sha256_hex(
        " a7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(digests_known_vectors),
        cmocka_unit_test(md5_of_a_uri_names_the_cache_directory),
        cmocka_unit_test(streams_in_pieces),
        cmocka_unit_test(digests_files),
        cmocka_unit_test(recognises_sha256_hex),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
