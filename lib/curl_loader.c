/*
 * curl_loader.c - libcurl, loaded the first time it is needed (see
 * curl_loader.h).
 *
 * pthread_once makes the load happen once, whichever thread asks first; the
 * table is written only inside it and read only after it, so readers need no
 * lock. libcurl stays loaded until the process ends (it is never dlclose()d:
 * its global state and its TLS library's must outlive every handle). Until a
 * load succeeds, the table holds stand-ins that fail the way libcurl fails
 * when it is out of memory.
 *
 * The binary declares the library it may load in an ELF note, as systemd's
 * "ELF dlopen metadata" describes (https://systemd.io/ELF_DLOPEN_METADATA/):
 * a section .note.dlopen holding a note of owner "FDO" and type 0x407c0c0a
 * whose payload is a JSON array of {"feature", "description", "priority",
 * "soname"} objects. Packagers read it to add the dependency, and `cfbp
 * package` audits it against the stack like a DT_NEEDED entry (elf_audit.c).
 */
#define CFBP_CURL_LOADER_IMPLEMENTATION
#include "curl_loader.h"

#include "cfbp/error.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * CFBP_ELF_NOTE_DLOPEN(variable, json): a .note.dlopen note with json (a
 * string literal) as its payload. "used" keeps the compiler from dropping it
 * and "retain" keeps the linker's --gc-sections from dropping it, as nothing
 * refers to it. The payload is NUL-terminated and counted with its NUL, as the
 * specification asks; the note header's fields are 4-byte words.
 */
#define CFBP_ELF_NOTE_DLOPEN_OWNER "FDO"
#define CFBP_ELF_NOTE_DLOPEN_TYPE  UINT32_C(0x407c0c0a)
#define CFBP_ELF_NOTE_DLOPEN(variable, json)                                                       \
    __attribute__((used, retain, section(".note.dlopen"), aligned(4))) static const struct {       \
        uint32_t name_size, description_size, type;                                                \
        char name[sizeof(CFBP_ELF_NOTE_DLOPEN_OWNER)];                                             \
        _Alignas(4) char description[sizeof(json)];                                                \
    } variable = {sizeof(CFBP_ELF_NOTE_DLOPEN_OWNER), sizeof(json), CFBP_ELF_NOTE_DLOPEN_TYPE,     \
                  CFBP_ELF_NOTE_DLOPEN_OWNER, json}

CFBP_ELF_NOTE_DLOPEN(
    curl_dlopen_note,
    "[{\"feature\":\"download\",\"description\":\"Downloads dependencies over "
    "HTTP and HTTPS, and reads URLs\",\"priority\":\"required\",\"soname\":[\"" CFBP_CURL_SONAME
    "\"]}]");

static const char *const function_names[] = {
#define CFBP_CURL_NAME(name, result, parameters) #name,
    CFBP_CURL_FUNCTIONS(CFBP_CURL_NAME)
#undef CFBP_CURL_NAME
};

const char *const *cfbp_curl_function_names(size_t *count)
{
    *count = sizeof(function_names) / sizeof(*function_names);
    return function_names;
}

/* --- stand-ins while libcurl is not loaded --- */

static CURLcode missing_global_init(long flags)
{
    (void)flags;
    return CURLE_FAILED_INIT;
}

static CURL *missing_easy_init(void)
{
    return NULL;
}

static CURLcode missing_easy_setopt(CURL *curl, CURLoption option, ...)
{
    (void)curl;
    (void)option;
    return CURLE_FAILED_INIT;
}

static CURLcode missing_easy_perform(CURL *curl)
{
    (void)curl;
    return CURLE_FAILED_INIT;
}

static CURLcode missing_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
    (void)curl;
    (void)info;
    return CURLE_FAILED_INIT;
}

/* Nothing was allocated by a libcurl that is not there: freeing is a no-op. */
static void missing_easy_cleanup(CURL *curl)
{
    (void)curl;
}

static const char *missing_easy_strerror(CURLcode code)
{
    (void)code;
    return "libcurl (" CFBP_CURL_SONAME ") is not loaded";
}

static void missing_free(void *pointer)
{
    (void)pointer;
}

static CURLU *missing_url(void)
{
    return NULL;
}

static void missing_url_cleanup(CURLU *url)
{
    (void)url;
}

static CURLUcode missing_url_set(CURLU *url, CURLUPart part, const char *content,
                                 unsigned int flags)
{
    (void)url;
    (void)part;
    (void)content;
    (void)flags;
    return CURLUE_OUT_OF_MEMORY;
}

static CURLUcode missing_url_get(CURLU *url, CURLUPart part, char **content, unsigned int flags)
{
    (void)url;
    (void)part;
    (void)flags;
    if (content)
        *content = NULL;
    return CURLUE_OUT_OF_MEMORY;
}

static const char *missing_url_strerror(CURLUcode code)
{
    (void)code;
    return "libcurl (" CFBP_CURL_SONAME ") is not loaded";
}

static const struct cfbp_curl_api missing_api = {
    .curl_global_init = missing_global_init,
    .curl_easy_init = missing_easy_init,
    .curl_easy_setopt = missing_easy_setopt,
    .curl_easy_perform = missing_easy_perform,
    .curl_easy_getinfo = missing_easy_getinfo,
    .curl_easy_cleanup = missing_easy_cleanup,
    .curl_easy_strerror = missing_easy_strerror,
    .curl_free = missing_free,
    .curl_url = missing_url,
    .curl_url_cleanup = missing_url_cleanup,
    .curl_url_set = missing_url_set,
    .curl_url_get = missing_url_get,
    .curl_url_strerror = missing_url_strerror,
};

/* --- loading --- */

static pthread_once_t load_once = PTHREAD_ONCE_INIT;
static struct cfbp_curl_api loaded_api;
static const struct cfbp_curl_api *api = &missing_api;
/* Why the load failed (dlerror's text), or empty. */
static char load_failure[512];

static void record_failure(const char *what, const char *detail)
{
    snprintf(load_failure, sizeof(load_failure), "%s%s", what, detail ? detail : "");
}

static void load(void)
{
    /* RTLD_LOCAL: libcurl's symbols stay out of the global scope of the program. */
    void *library = dlopen(CFBP_CURL_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        record_failure("", dlerror());
        return;
    }
    struct cfbp_curl_api resolved;
    /* dlsym returns an object pointer; POSIX guarantees it converts to a function pointer. */
#define CFBP_CURL_RESOLVE(name, result, parameters)                                                \
    {                                                                                              \
        void *symbol = dlsym(library, #name);                                                      \
        if (!symbol) {                                                                             \
            record_failure("it has no " #name ": ", dlerror());                                    \
            dlclose(library);                                                                      \
            return;                                                                                \
        }                                                                                          \
        memcpy(&resolved.name, &symbol, sizeof(symbol));                                           \
    }
    CFBP_CURL_FUNCTIONS(CFBP_CURL_RESOLVE)
#undef CFBP_CURL_RESOLVE
    loaded_api = resolved;
    api = &loaded_api;
}

int cfbp_curl_load(struct cfbp_error *err)
{
    pthread_once(&load_once, load);
    if (api == &loaded_api)
        return 0;
    return cfbp_error_set(err, CFBP_ERROR_FAILED,
                          "cannot load " CFBP_CURL_SONAME " (%s): install libcurl4 (on Debian "
                          "and Ubuntu: apt-get install libcurl4), which downloads need",
                          load_failure);
}

const struct cfbp_curl_api *cfbp_curl_api(void)
{
    pthread_once(&load_once, load);
    return api;
}
