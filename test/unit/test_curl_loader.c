/*
 * test_curl_loader.c - libcurl loaded on first use (lib/curl_loader.c).
 *
 * The loader resolves every function of CFBP_CURL_FUNCTIONS from the
 * system's libcurl.so.4, once, whichever thread asks first; the curl_* names
 * lib/ uses then call the real libcurl. What happens when libcurl cannot be
 * loaded is tested on the real supply (test/integration/test_curl_loading.c),
 * where nothing else has loaded libcurl before.
 */
#include "support.h"

#include "cfbp/error.h"

#include "../../lib/curl_loader.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static void loads_every_function(void **state)
{
    (void)state;
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_curl_load(&err) < 0)
        fail_msg("%s", err.message);
    assert_null(err.message);
    /* Loading again is remembered, not repeated. */
    assert_int_equal(cfbp_curl_load(&err), 0);
    size_t count;
    const char *const *names = cfbp_curl_function_names(&count);
    const struct cfbp_curl_api *api = cfbp_curl_api();
    /* One name per member of the table, each resolved. */
    assert_int_equal(count * sizeof(void (*)(void)), sizeof(*api));
    void (*members[sizeof(*api) / sizeof(void (*)(void))])(void);
    memcpy(members, api, sizeof(*api));
    for (size_t i = 0; i < count; i++)
        if (!members[i])
            fail_msg("%s was not resolved", names[i]);
}

/* The curl_* names of lib/ call the real libcurl, not the stand-ins. */
static void the_names_call_libcurl(void **state)
{
    (void)state;
    assert_string_equal(curl_easy_strerror(CURLE_OK), "No error");
    assert_int_equal(curl_global_init(CURL_GLOBAL_DEFAULT), CURLE_OK);
    CURLU *url = curl_url();
    assert_non_null(url);
    assert_int_equal(curl_url_set(url, CURLUPART_URL, "https://user@Example.com:8443/a/b?c=d", 0),
                     CURLUE_OK);
    char *host = NULL;
    assert_int_equal(curl_url_get(url, CURLUPART_HOST, &host, 0), CURLUE_OK);
    assert_string_equal(host, "Example.com");
    curl_free(host);
    assert_int_equal(curl_url_set(url, CURLUPART_URL, "http://[::1", 0), CURLUE_BAD_IPV6);
    assert_non_null(strstr(curl_url_strerror(CURLUE_BAD_IPV6), "IPv6"));
    curl_url_cleanup(url);
    CURL *curl = curl_easy_init();
    assert_non_null(curl);
    assert_int_equal(curl_easy_setopt(curl, CURLOPT_URL, "http://127.0.0.1:9/"), CURLE_OK);
    long port = -1;
    assert_int_equal(curl_easy_getinfo(curl, CURLINFO_PRIMARY_PORT, &port), CURLE_OK);
    assert_int_equal(port, 0); /* nothing was connected yet */
    curl_easy_cleanup(curl);
}

static void *load_in_thread(void *result)
{
    struct cfbp_error err = CFBP_ERROR_INIT;
    *(int *)result = cfbp_curl_load(&err);
    cfbp_error_clear(&err);
    return NULL;
}

/* Many threads asking at once all get the same loaded table. */
static void loads_once_from_many_threads(void **state)
{
    (void)state;
    pthread_t threads[8];
    int results[8];
    for (size_t i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, load_in_thread, &results[i]), 0);
    for (size_t i = 0; i < 8; i++) {
        pthread_join(threads[i], NULL);
        assert_int_equal(results[i], 0);
    }
    const struct cfbp_curl_api *api = cfbp_curl_api();
    assert_ptr_equal(api, cfbp_curl_api());
    assert_string_equal(curl_easy_strerror(CURLE_OK), "No error");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loads_once_from_many_threads),
        cmocka_unit_test(loads_every_function),
        cmocka_unit_test(the_names_call_libcurl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
