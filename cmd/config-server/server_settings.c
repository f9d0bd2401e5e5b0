/*
 * server_settings.c - parsing the CONFIG_SERVER_* variables (see server_settings.h).
 */
#include "server_settings.h"

#include "cfbp/error.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdlib.h>

/* Only plain decimal digits: " 80", "80x" and "-1" are refused, not guessed at. */
static bool parse_number(const char *text, unsigned long minimum, unsigned long maximum,
                         unsigned long *value)
{
    unsigned long number = 0;
    if (!*text)
        return false;
    for (const char *c = text; *c; c++) {
        if (*c < '0' || *c > '9')
            return false;
        number = number * 10 + (unsigned long)(*c - '0');
        if (number > maximum)
            return false;
    }
    if (number < minimum)
        return false;
    *value = number;
    return true;
}

static int read_number(const char *name, unsigned long minimum, unsigned long maximum,
                       unsigned long fallback, unsigned long *value, struct cfbp_error *err)
{
    const char *text = getenv(name);
    if (!text || !*text) {
        *value = fallback;
        return 0;
    }
    if (!parse_number(text, minimum, maximum, value))
        return cfbp_error_set(err, CFBP_ERROR_USAGE,
                              "invalid $%s \"%s\": expected a whole number from %lu to %lu", name,
                              text, minimum, maximum);
    return 0;
}

static int read_bind_address(struct http_server_settings *settings, struct cfbp_error *err)
{
    const char *text = getenv("CONFIG_SERVER_BIND");
    unsigned char address[sizeof(struct in6_addr)];
    settings->bind_address = text && *text ? text : SERVER_SETTINGS_DEFAULT_BIND;
    if (inet_pton(AF_INET, settings->bind_address, address) != 1 &&
        inet_pton(AF_INET6, settings->bind_address, address) != 1)
        return cfbp_error_set(err, CFBP_ERROR_USAGE,
                              "invalid $CONFIG_SERVER_BIND \"%s\": expected an IPv4 or IPv6 "
                              "address such as 127.0.0.1, 0.0.0.0 or ::1",
                              settings->bind_address);
    return 0;
}

int server_settings_from_environment(struct http_server_settings *settings, struct cfbp_error *err)
{
    const char *port = getenv("CONFIG_SERVER_PORT");
    unsigned long number = 0; /* set by read_number; -O3 cannot tell */
    if (!port || !*port)
        return cfbp_error_set(err, CFBP_ERROR_USAGE, "missing $CONFIG_SERVER_PORT");
    if (read_number("CONFIG_SERVER_PORT", 0, 65535, 0, &number, err) < 0)
        return -1;
    settings->port = (uint16_t)number;
    if (read_bind_address(settings, err) < 0)
        return -1;
    if (read_number("CONFIG_SERVER_REQUEST_TIMEOUT", 1, 3600,
                    SERVER_SETTINGS_DEFAULT_REQUEST_TIMEOUT, &number, err) < 0)
        return -1;
    settings->request_timeout_ms = (int)number * 1000;
    if (read_number("CONFIG_SERVER_IDLE_TIMEOUT", 1, 86400, SERVER_SETTINGS_DEFAULT_IDLE_TIMEOUT,
                    &number, err) < 0)
        return -1;
    settings->idle_timeout_ms = (int)number * 1000;
    if (read_number("CONFIG_SERVER_MAX_CONNECTIONS", 1, 1000000,
                    SERVER_SETTINGS_DEFAULT_MAX_CONNECTIONS, &number, err) < 0)
        return -1;
    settings->max_connections = number;
    return 0;
}
