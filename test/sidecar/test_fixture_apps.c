/*
 * test_fixture_apps.c - the fixture apps, started by hand beside the sidecar.
 *
 * What a Cloud Foundry push would prove, minus the platform: the sidecar and
 * the app run side by side on loopback, sharing CONFIG_SERVER_PORT; "/" gives
 * the greeting and "/config" relays the sidecar's JSON. With the sidecar gone
 * the app answers its error document instead.
 *
 *   test_fixture_apps ruby    fixtures/rubyapp and fixtures/rubyapp-buildpack-sidecar
 *                             (rackup with WEBrick; skipped, status 77, without ruby)
 *   test_fixture_apps perl    fixtures/perlapp (perl-base only)
 */
#include "sidecar_support.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#define DEFAULT_BODY "{\"Scope\":\"some-service.admin\",\"Password\":\"not-a-real-p4$$w0rd\"}\n"
#define GREETING     "Hi, I'm an app with a sidecar!"
#define NO_SIDECAR   "{\"error\":\"error connecting to local config-server\"}"

static bool on_path(const char *program)
{
    const char *path = getenv("PATH");
    struct cfbp_strbuf candidate = CFBP_STRBUF_INIT;
    bool found = false;
    while (path && *path && !found) {
        const char *end = strchr(path, ':');
        size_t length = end ? (size_t)(end - path) : strlen(path);
        cfbp_strbuf_reset(&candidate);
        cfbp_strbuf_append(&candidate, path, length);
        cfbp_strbuf_append_format(&candidate, "/%s", program);
        found = access(candidate.buf, X_OK) == 0;
        path = end ? end + 1 : NULL;
    }
    cfbp_strbuf_release(&candidate);
    return found;
}

static void get(int port, const char *path, struct cfbp_strbuf *body)
{
    struct cfbp_strbuf request = CFBP_STRBUF_INIT, response = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&request,
                              "GET %s HTTP/1.1\r\nHost: localhost\r\n"
                              "Connection: close\r\n\r\n",
                              path);
    assert_true(http_exchange(port, request.buf, &response));
    assert_true(cfbp_string_starts_with(response.buf, "HTTP/1.1 200 OK\r\n"));
    const char *start = strstr(response.buf, "\r\n\r\n") + 4;
    cfbp_strbuf_set(body, start);
    cfbp_strbuf_release(&request);
    cfbp_strbuf_release(&response);
}

/* Starts the app (argv, in fixtures/<name>) beside a sidecar and checks both routes. */
static void check_app(const char *name, const char *const *argv, int app_port)
{
    struct process sidecar, app;
    int sidecar_port = sidecar_start(&sidecar, NULL);
    assert_true(sidecar_port > 0);
    struct cfbp_strbuf directory = CFBP_STRBUF_INIT, port_variable = CFBP_STRBUF_INIT;
    struct cfbp_strbuf app_port_variable = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&directory, "%s/%s", FIXTURES_DIR, name);
    cfbp_strbuf_append_format(&port_variable, "CONFIG_SERVER_PORT=%d", sidecar_port);
    cfbp_strbuf_append_format(&app_port_variable, "PORT=%d", app_port);
    const char *const environment[] = {port_variable.buf, app_port_variable.buf, NULL};
    process_start(&app, argv, environment, directory.buf);
    assert_true(wait_for_port(app_port, 30000));

    struct cfbp_strbuf body = CFBP_STRBUF_INIT, log = CFBP_STRBUF_INIT;
    get(app_port, "/", &body);
    assert_string_equal(body.buf, GREETING);
    get(app_port, "/config", &body);
    assert_string_equal(body.buf, DEFAULT_BODY);
    process_read_stdout(&sidecar, &log);
    assert_non_null(strstr(log.buf, "Received a request for config.\n"));
    process_read_stdout(&app, &log);
    struct cfbp_strbuf expected = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&expected,
                              "Sending a request to the config-server sidecar at "
                              "localhost:%d/config/\nReceived " DEFAULT_BODY
                              " from the config-server sidecar\n",
                              sidecar_port);
    assert_non_null(strstr(log.buf, expected.buf));

    assert_int_equal(process_stop(&sidecar, SIGTERM, 5000, NULL), 0);
    get(app_port, "/config", &body);
    assert_string_equal(body.buf, NO_SIDECAR);

    process_stop(&app, SIGINT, 10000, NULL);
    process_release(&app);
    process_release(&sidecar);
    cfbp_strbuf_release(&expected);
    cfbp_strbuf_release(&log);
    cfbp_strbuf_release(&body);
    cfbp_strbuf_release(&directory);
    cfbp_strbuf_release(&port_variable);
    cfbp_strbuf_release(&app_port_variable);
}

static void check_ruby_app(const char *name)
{
    int port = free_port();
    struct cfbp_strbuf port_text = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_format(&port_text, "%d", port);
    const char *const argv[] = {"rackup", "-s",          "webrick",   "-o", "127.0.0.1",
                                "-p",     port_text.buf, "config.ru", NULL};
    check_app(name, argv, port);
    cfbp_strbuf_release(&port_text);
}

static void test_ruby_app(void **state)
{
    (void)state;
    check_ruby_app("rubyapp");
}

static void test_ruby_app_relying_on_the_buildpack(void **state)
{
    (void)state;
    check_ruby_app("rubyapp-buildpack-sidecar");
}

static void test_perl_app(void **state)
{
    (void)state;
    const char *const argv[] = {"perl", "app.pl", NULL};
    check_app("perlapp", argv, free_port());
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "ruby") == 0) {
        if (!on_path("ruby") || !on_path("rackup")) {
            printf("ruby or rackup is not installed; skipping the Ruby fixtures\n");
            return 77;
        }
        const struct CMUnitTest tests[] = {
            cmocka_unit_test(test_ruby_app),
            cmocka_unit_test(test_ruby_app_relying_on_the_buildpack),
        };
        return cmocka_run_group_tests_name("ruby fixture apps", tests, NULL, NULL);
    }
    if (argc == 2 && strcmp(argv[1], "perl") == 0) {
        if (!on_path("perl")) {
            printf("perl is not installed; skipping the Perl fixture\n");
            return 77;
        }
        const struct CMUnitTest tests[] = {cmocka_unit_test(test_perl_app)};
        return cmocka_run_group_tests_name("perl fixture app", tests, NULL, NULL);
    }
    fprintf(stderr, "usage: %s ruby|perl\n", argv[0]);
    return 2;
}
