/*
 * server_settings.h - the sidecar's environment variables, read and checked.
 *
 *   CONFIG_SERVER_PORT             required; 0 to 65535 (0: any free port)
 *   CONFIG_SERVER_BIND             address to listen on; default 127.0.0.1
 *   CONFIG_SERVER_REQUEST_TIMEOUT  seconds to send a request or take a response; default 10
 *   CONFIG_SERVER_IDLE_TIMEOUT     seconds a kept-alive connection may idle; default 60
 *   CONFIG_SERVER_MAX_CONNECTIONS  open connections at most; default 1024
 *
 * The Go sidecar listened on every interface; the CF docs promise that a
 * sidecar "accepts connections only over localhost", so this one binds the
 * loopback address unless told otherwise.
 */
#ifndef CONFIG_SERVER_SERVER_SETTINGS_H
#define CONFIG_SERVER_SERVER_SETTINGS_H

#include "http_server.h"

struct cfbp_error;

#define SERVER_SETTINGS_DEFAULT_BIND            "127.0.0.1"
#define SERVER_SETTINGS_DEFAULT_REQUEST_TIMEOUT 10
#define SERVER_SETTINGS_DEFAULT_IDLE_TIMEOUT    60
#define SERVER_SETTINGS_DEFAULT_MAX_CONNECTIONS 1024

/*
 * Fills settings from the environment. bind_address points into the
 * environment. The error for an unset port reads exactly
 * "missing $CONFIG_SERVER_PORT", as the Go sidecar's did.
 */
int server_settings_from_environment(struct http_server_settings *settings, struct cfbp_error *err);

#endif
