/*
 * curl_loader.h - libcurl, loaded the first time it is needed (private to lib/).
 *
 * A cached buildpack never downloads, so its supply and finalize must not pay
 * for loading libcurl and the libraries libcurl needs (TLS, LDAP, Kerberos,
 * SSH, IDN, ...) when they start. libcfbp therefore does not link libcurl:
 * this module dlopen()s libcurl.so.4 on first use and resolves the functions
 * libcfbp calls. Including this header instead of <curl/curl.h> keeps the
 * curl types and constants and turns each of those curl_* names into a call
 * through the loaded table, so the code using them reads as plain libcurl.
 *
 * The functions libcfbp uses must be in CFBP_CURL_FUNCTIONS (a name missing
 * there is an undefined symbol at link time, as libcurl is not linked), and
 * they must all exist in the oldest stack's libcurl: test_elf_audit checks
 * the list against the release table of elf_audit.c. The library is
 * declared in the binary's .note.dlopen (curl_loader.c), which `cfbp
 * package` audits like a DT_NEEDED entry (elf_audit.c, contract §16).
 */
#ifndef CFBP_CURL_LOADER_H
#define CFBP_CURL_LOADER_H

#include <curl/curl.h>
#include <stddef.h>

struct cfbp_error;

/* Not part of libcfbp.so's ABI, though named cfbp_ (cmake/libcfbp.map exports cfbp_*). */
#define CFBP_CURL_PRIVATE __attribute__((visibility("hidden")))

/* The soname loaded, as the stacks ship it (libcurl4 on cflinuxfs4 and cflinuxfs5). */
#define CFBP_CURL_SONAME "libcurl.so.4"

/* X(name, return type, parameters): every libcurl function libcfbp calls. */
#define CFBP_CURL_FUNCTIONS(X)                                                                     \
    X(curl_global_init, CURLcode, (long flags))                                                    \
    X(curl_easy_init, CURL *, (void))                                                              \
    X(curl_easy_setopt, CURLcode, (CURL * curl, CURLoption option, ...))                           \
    X(curl_easy_perform, CURLcode, (CURL * curl))                                                  \
    X(curl_easy_getinfo, CURLcode, (CURL * curl, CURLINFO info, ...))                              \
    X(curl_easy_cleanup, void, (CURL * curl))                                                      \
    X(curl_easy_strerror, const char *, (CURLcode code))                                           \
    X(curl_free, void, (void *pointer))                                                            \
    X(curl_url, CURLU *, (void))                                                                   \
    X(curl_url_cleanup, void, (CURLU * url))                                                       \
    X(curl_url_set, CURLUcode,                                                                     \
      (CURLU * url, CURLUPart part, const char *content, unsigned int flags))                      \
    X(curl_url_get, CURLUcode, (CURLU * url, CURLUPart part, char **content, unsigned int flags))  \
    X(curl_url_strerror, const char *, (CURLUcode code))

/* The loaded functions, one member per name. */
struct cfbp_curl_api {
#define CFBP_CURL_MEMBER(name, result, parameters) result(*name) parameters;
    CFBP_CURL_FUNCTIONS(CFBP_CURL_MEMBER)
#undef CFBP_CURL_MEMBER
};

/*
 * Loads libcurl.so.4 and resolves every function above, once per process
 * (thread-safe). 0 when libcurl is usable; otherwise -1 and an error (kind
 * FAILED) such as "cannot load libcurl.so.4 (libcurl.so.4: cannot open shared
 * object file: ...): install libcurl4". Call it where a failure can be
 * reported, before the first curl_* call; the outcome is remembered.
 */
CFBP_CURL_PRIVATE int cfbp_curl_load(struct cfbp_error *err);

/*
 * The function table. Loads libcurl if that has not been tried yet; when it
 * cannot be loaded, the table's functions fail as libcurl does when out of
 * memory (NULL handles, CURLE_FAILED_INIT, CURLUE_OUT_OF_MEMORY), so a call
 * without cfbp_curl_load() first is never a crash.
 */
CFBP_CURL_PRIVATE const struct cfbp_curl_api *cfbp_curl_api(void);

/* The names of the functions resolved, in table order, for the ELF audit's tests. */
CFBP_CURL_PRIVATE const char *const *cfbp_curl_function_names(size_t *count);

#ifndef CFBP_CURL_LOADER_IMPLEMENTATION
/*
 * Each curl_* name used in lib/ becomes a call through the table. <curl/curl.h>
 * may define curl_easy_setopt and curl_easy_getinfo as type-checking macros
 * (typecheck-gcc.h); they are replaced, as their expansion calls the symbol,
 * which is not linked (their compile-time check of option types is lost).
 */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_global_init   (cfbp_curl_api()->curl_global_init)
#define curl_easy_init     (cfbp_curl_api()->curl_easy_init)
#define curl_easy_setopt   (cfbp_curl_api()->curl_easy_setopt)
#define curl_easy_perform  (cfbp_curl_api()->curl_easy_perform)
#define curl_easy_getinfo  (cfbp_curl_api()->curl_easy_getinfo)
#define curl_easy_cleanup  (cfbp_curl_api()->curl_easy_cleanup)
#define curl_easy_strerror (cfbp_curl_api()->curl_easy_strerror)
#define curl_free          (cfbp_curl_api()->curl_free)
#define curl_url           (cfbp_curl_api()->curl_url)
#define curl_url_cleanup   (cfbp_curl_api()->curl_url_cleanup)
#define curl_url_set       (cfbp_curl_api()->curl_url_set)
#define curl_url_get       (cfbp_curl_api()->curl_url_get)
#define curl_url_strerror  (cfbp_curl_api()->curl_url_strerror)
#endif

#endif
