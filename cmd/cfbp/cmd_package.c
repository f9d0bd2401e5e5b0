/*
 * cfbp package - a buildpack zip for `cf create-buildpack` (see packager.h),
 * and the drop-in for the Go buildpack-packager (contract §9.1).
 *
 * `cfbp package [flags] [BUILDPACK_DIR]` takes the Go packager's build flags
 * (-cached[=BOOL], -stack S, -any-stack, -version V, -cachedir D, -profile P,
 * -exclude a,b, -include c; one dash or two, "-x v" or "-x=v") plus
 * --output, --mirror and --quiet. Steps go to stderr; stdout gets one line:
 * the zip, its size and its sha256.
 *
 * Run as `buildpack-packager` (an installed link to cfbp), or as `cfbp
 * package build|summary|help|flags|commands`, it is the Go program itself:
 * google/subcommands' words and help, Go flag parsing, Go log lines
 * ("2024/05/01 12:00:00 error while creating zipfile: ...") on stderr, exit
 * statuses 0, 1 (failure) and 2 (usage), the current directory as the
 * buildpack, and nothing on stdout but the result line, which scripts take
 * with `xargs -n1 | grep '\.zip$'`.
 */
#include "commands.h"
#include "interrupt.h"
#include "progress.h"

#include "cfbp/error.h"
#include "cfbp/fs.h"
#include "cfbp/packager.h"
#include "cfbp/strbuf.h"
#include "cfbp/tarball.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char usage[] =
    "usage: cfbp package (--stack STACK | --any-stack) [options] [BUILDPACK_DIR]\n"
    "\n"
    "Zips the buildpack in BUILDPACK_DIR (default: the current directory) for\n"
    "`cf create-buildpack`: runs its pre_package, ships its include_files and the\n"
    "packaged manifest.yml, and with --cached every dependency for the stack.\n"
    "\n"
    "  --stack STACK        for one stack: keep its dependencies, set `stack:`, drop cf_stacks\n"
    "  --any-stack          for every stack the dependencies name\n"
    "  --cached[=BOOL]      include the dependencies (an offline buildpack)\n"
    "  --profile NAME       leave out what manifest.yml's packaging_profiles NAME excludes\n"
    "  --exclude A,B        leave out these dependencies too (cached only)\n"
    "  --include C          take these back from the profile's exclusions\n"
    "  --version VERSION    the buildpack's version (default: its VERSION file)\n"
    "  --cachedir DIR       the download cache (default: $HOME/.buildpack-packager/cache)\n"
    "  --output DIR         where the zip goes (default: BUILDPACK_DIR)\n"
    "  --mirror DIR_OR_URL  take dependencies from this directory or base URL, by file name\n"
    "  --quiet              print only the result line\n"
    "  -h, --help           show this help\n"
    "\n"
    "Reproducible: the same inputs give the same bytes (SOURCE_DATE_EPOCH sets the\n"
    "members' time). The last line names the zip, its size and its sha256.\n"
    "\n"
    "`cfbp package build ...` and `cfbp package summary` (or cfbp run as\n"
    "`buildpack-packager`) are the Go buildpack-packager's command line, exactly.\n";

/* Steps, download and zip progress (a redrawn line on a terminal, a plain line every few
 * seconds elsewhere) and Ctrl-C handling are shared: progress.h, interrupt.h. */

/* The default download cache, as Go's filepath.Join($HOME, ".buildpack-packager", "cache"). */
static void default_cache_dir(struct cfbp_strbuf *out)
{
    const char *home = getenv("HOME");
    cfbp_strbuf_reset(out);
    if (home && *home)
        cfbp_strbuf_append_format(out, "%s/", home);
    cfbp_strbuf_append_string(out, ".buildpack-packager/cache");
}

/*
 * Packages with options and returns 0 or -1 with err set. Zip members carry
 * DOS times in local time, so TZ is UTC while the zip is made (the same bytes
 * everywhere), then put back for whatever is logged afterwards.
 */
static int package_in_utc(const struct cfbp_package_options *options,
                          struct cfbp_package_result *result, struct cfbp_error *err)
{
    const char *zone = getenv("TZ");
    char *saved = zone ? strdup(zone) : NULL;
    setenv("TZ", "UTC0", 1);
    tzset();
    /* Ctrl-C, SIGTERM, or a reader of our output gone: the library stops and removes its
     * copy, zip and .partial files; then this process ends by the signal (interrupt.h). A
     * signal after the library's last check is dropped: the finished zip stands, and its
     * line is written with SIGPIPE's default action, as any program writes. */
    interrupt_catch();
    int status = cfbp_package(options, result, err);
    if (saved)
        setenv("TZ", saved, 1);
    else
        unsetenv("TZ");
    tzset();
    free(saved);
    return status;
}

/* The profile flags: names split as the Go packager splits them. */
struct profile_names {
    struct cfbp_string_list exclude, include;
};

static void set_profile_options(struct cfbp_package_options *options,
                                const struct cfbp_package_flags *flags, struct profile_names *names)
{
    cfbp_package_split_names(flags->exclude, &names->exclude);
    cfbp_package_split_names(flags->include, &names->include);
    options->profile = flags->profile;
    options->exclude = (const char *const *)names->exclude.items;
    options->exclude_count = names->exclude.count;
    options->include = (const char *const *)names->include.items;
    options->include_count = names->include.count;
}

static void release_profile_names(struct profile_names *names)
{
    cfbp_string_list_clear(&names->exclude);
    cfbp_string_list_clear(&names->include);
}

static int go_packager(const char *program, int argc, char **argv);

static bool is_go_command(const char *word)
{
    static const char *const words[] = {"build", "summary", "help", "flags", "commands"};
    for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++)
        if (strcmp(word, words[i]) == 0)
            return true;
    return false;
}

int cmd_package(int argc, char **argv)
{
    /* `cfbp package build ...`: the Go packager's own command line. */
    if (argc > 1 && is_go_command(argv[1]))
        return go_packager("cfbp package", argc - 1, argv + 1);
    struct cfbp_package_flags flags;
    struct cfbp_error err = CFBP_ERROR_INIT;
    if (cfbp_package_flags_parse(&flags, argc - 1, argv + 1, CFBP_PACKAGE_FLAGS_CFBP, &err) < 0) {
        int status = command_usage_error("package", err.message);
        cfbp_error_clear(&err);
        cfbp_package_flags_release(&flags);
        return status;
    }
    if (flags.help) {
        cfbp_package_flags_release(&flags);
        fputs(usage, stdout);
        return 0;
    }
    struct cfbp_package_options options = {.mtime = cfbp_source_date_epoch()};
    options.stack = flags.stack && *flags.stack ? flags.stack : NULL;
    options.any_stack = flags.any_stack;
    options.cached = flags.cached;
    options.version = flags.version && *flags.version ? flags.version : NULL;
    options.cache_dir = flags.cache_dir;
    options.output_dir = flags.output_dir;
    options.mirror = flags.mirror;
    int status = 0;
    if (flags.arguments.count > 1)
        status = command_usage_error("package", "expected at most one BUILDPACK_DIR");
    else if (!options.stack && !options.any_stack)
        status = command_usage_error("package", "must either specify a stack or pass --any-stack");
    else if (options.stack && options.any_stack)
        status = command_usage_error("package", "cannot specify a stack AND pass --any-stack");
    if (status != 0) {
        cfbp_package_flags_release(&flags);
        return status;
    }
    options.source_dir = flags.arguments.count ? flags.arguments.items[0] : ".";
    struct cfbp_strbuf default_cache = CFBP_STRBUF_INIT;
    if (!options.cache_dir) {
        const char *home = getenv("HOME");
        if (!home || !*home) {
            cfbp_package_flags_release(&flags);
            return command_usage_error("package", "HOME is not set; pass --cachedir");
        }
        default_cache_dir(&default_cache);
        options.cache_dir = default_cache.buf;
    }
    struct profile_names names = {CFBP_STRING_LIST_INIT, CFBP_STRING_LIST_INIT};
    set_profile_options(&options, &flags, &names);
    struct progress terminal;
    progress_init(&terminal, flags.quiet);
    options.reporter = progress_reporter(&terminal);
    struct cfbp_package_result result;
    int packaged = package_in_utc(&options, &result, &err);
    progress_release(&terminal);
    if (packaged == 0)
        interrupt_forget(); /* see package_in_utc */
    if (packaged < 0 && err.kind == CFBP_ERROR_CANCELLED) {
        status = interrupt_finish("package", 1);
    } else if (packaged < 0) {
        status = command_fail("package", err.message);
    } else {
        printf("%s buildpack created and saved as %s with a size of %lluMB (sha256 %s)\n",
               options.cached ? "cached" : "uncached", result.zip_path, result.size / (1024 * 1024),
               result.sha256);
    }
    cfbp_error_clear(&err);
    cfbp_package_result_release(&result);
    release_profile_names(&names);
    cfbp_strbuf_release(&default_cache);
    cfbp_package_flags_release(&flags);
    return packaged == 0 ? status : interrupt_finish("package", status);
}

/* --- the Go buildpack-packager (contract §9.1) --- */

/* Go's log.Printf: "YYYY/MM/DD HH:MM:SS <message>" and a newline, on stderr, local time. */
static void go_log(const char *format, ...) __attribute__((format(printf, 1, 2)));

static void go_log(const char *format, ...)
{
    time_t now = time(NULL);
    struct tm local;
    char stamp[32] = "";
    if (localtime_r(&now, &local))
        strftime(stamp, sizeof(stamp), "%Y/%m/%d %H:%M:%S ", &local);
    struct cfbp_strbuf line = CFBP_STRBUF_INIT;
    cfbp_strbuf_append_string(&line, stamp);
    va_list args;
    va_start(args, format);
    cfbp_strbuf_append_vformat(&line, format, args);
    va_end(args);
    if (line.len == 0 || line.buf[line.len - 1] != '\n')
        cfbp_strbuf_append_char(&line, '\n');
    fflush(stdout);
    fputs(line.buf, stderr);
    interrupt_flush(stderr);
    cfbp_strbuf_release(&line);
}

/* A warning in the Go program's only voice, a log line (md5-only dependencies). */
static void go_warning(void *data, const char *message)
{
    (void)data;
    go_log("warning: %s", message);
}

/* The subcommands and their texts, as google/subcommands (v1.2.0) and main.go give them. */
struct go_command {
    const char *name, *group, *synopsis, *usage;
};

static const struct go_command go_commands[] = {
    /* In the order main.go registers them (what `commands` lists). */
    {"help", "", "describe subcommands and their syntax",
     "help [<subcommand>]:\n"
     "\tWith an argument, prints detailed information on the use of\n"
     "\tthe specified subcommand. With no argument, print a list of\n"
     "\tall commands and a brief description of each.\n"},
    {"flags", "", "describe all known top-level flags",
     "flags [<subcommand>]:\n"
     "\tWith an argument, print all flags of <subcommand>. Else,\n"
     "\tprint a description of all known top-level flags.  (The basic\n"
     "\thelp information only discusses the most generally important\n"
     "\ttop-level flags.)\n"},
    {"commands", "", "list all command names", "commands:\n\tPrint a list of all commands.\n"},
    {"summary", "Custom", "Print out list of dependencies of this buildpack",
     "summary:\n"
     "  When run in a directory that is structured as a buildpack, prints a list of depedencies "
     "of that buildpack.\n"
     "  (i.e. what would be downloaded to build a cached zipfile)\n"},
    {"build", "Custom", "Create a buildpack zipfile from the current directory",
     "build -stack <stack>|-any-stack [-cached] [-version <version>] [-cachedir <path>]\n"
     "      [-profile <profile>] [-exclude <dep1,dep2,...>] [-include <dep1,dep2,...>]:\n"
     "  When run in a directory that is structured as a buildpack, creates a zip file.\n"
     "\n"
     "  -profile  Name of a packaging profile defined in manifest.yml's\n"
     "            packaging_profiles section. Profiles declare which dependencies\n"
     "            to exclude from the cached zip.\n"
     "\n"
     "  -exclude  Comma-separated list of dependency names to exclude, in addition\n"
     "            to any exclusions implied by -profile. Names must exist in\n"
     "            manifest.yml. Example: -exclude datadog-javaagent,newrelic\n"
     "\n"
     "  -include  Comma-separated list of dependency names to force-include,\n"
     "            overriding exclusions implied by -profile. Useful for starting\n"
     "            from a restrictive profile and adding back a single dep.\n"
     "            Example: -profile minimal -include jprofiler-profiler\n"
     "\n"},
};

#define GO_COMMAND_COUNT (sizeof(go_commands) / sizeof(*go_commands))

static const struct go_command *find_go_command(const char *name)
{
    for (size_t i = 0; i < GO_COMMAND_COUNT; i++)
        if (strcmp(go_commands[i].name, name) == 0)
            return &go_commands[i];
    return NULL;
}

/* Go's flag.PrintDefaults for build's flags (sorted by name), the only command with flags. */
static void go_print_defaults(FILE *out, const struct go_command *command)
{
    if (strcmp(command->name, "build") != 0)
        return;
    struct cfbp_strbuf cache = CFBP_STRBUF_INIT;
    default_cache_dir(&cache);
    fputs("  -any-stack\n    \tpackage buildpack for any stack\n"
          "  -cached\n    \tinclude dependencies\n",
          out);
    /* The default is shown as Go's %q shows it; a cache path has nothing to escape. */
    fprintf(out, "  -cachedir string\n    \tcache dir (default \"%s\")\n", cache.buf);
    fputs("  -exclude string\n    \tcomma-separated dependency names to exclude\n"
          "  -include string\n    \tcomma-separated dependency names to include, overriding "
          "profile exclusions\n"
          "  -profile string\n    \tpackaging profile defined in manifest.yml\n"
          "  -stack string\n    \tstack to package buildpack for\n"
          "  -version string\n    \tversion to build as\n",
          out);
    cfbp_strbuf_release(&cache);
}

static void go_explain_command(FILE *out, const struct go_command *command)
{
    fputs(command->usage, out);
    go_print_defaults(out, command);
}

/* subcommands' Commander.explain: the groups sorted by name, each group's commands too. */
static void go_explain(FILE *out, const char *program)
{
    fprintf(out, "Usage: %s <flags> <subcommand> <subcommand args>\n\n", program);
    static const char *const groups[] = {"", "Custom"};
    for (size_t g = 0; g < 2; g++) {
        if (*groups[g])
            fprintf(out, "Subcommands for %s:\n", groups[g]);
        else
            fputs("Subcommands:\n", out);
        const struct go_command *sorted[GO_COMMAND_COUNT];
        size_t count = 0;
        for (size_t i = 0; i < GO_COMMAND_COUNT; i++) {
            if (strcmp(go_commands[i].group, groups[g]) != 0)
                continue;
            size_t at = count++;
            while (at > 0 && strcmp(sorted[at - 1]->name, go_commands[i].name) > 0) {
                sorted[at] = sorted[at - 1];
                at--;
            }
            sorted[at] = &go_commands[i];
        }
        for (size_t i = 0; i < count; i++)
            fprintf(out, "\t%-15s  %s\n", sorted[i]->name, sorted[i]->synopsis);
        fputc('\n', out);
    }
}

/*
 * Go's flag parsing for a flag set with no flags (the top level, and every
 * command but build): returns the index of the first argument left, -1 after
 * printing an error and the usage, or -2 for -h/-help (usage printed).
 */
static int go_parse_no_flags(int argc, char **argv, void (*explain)(const void *), const void *data)
{
    int index = 0;
    while (index < argc) {
        const char *argument = argv[index];
        if (strlen(argument) < 2 || argument[0] != '-')
            break;
        const char *name = argument + 1 + (argument[1] == '-');
        if (argument[1] == '-' && !argument[2])
            return index + 1; /* "--" */
        if (!*name || *name == '-' || *name == '=') {
            fprintf(stderr, "bad flag syntax: %s\n", argument);
            explain(data);
            return -1;
        }
        size_t length = strcspn(name, "=");
        if ((length == 4 && strncmp(name, "help", 4) == 0) || (length == 1 && name[0] == 'h')) {
            explain(data);
            return -2;
        }
        fprintf(stderr, "flag provided but not defined: -%.*s\n", (int)length, name);
        explain(data);
        return -1;
    }
    return index;
}

static void explain_top_level(const void *program)
{
    go_explain(stderr, program);
}

static void explain_command_on_stderr(const void *command)
{
    go_explain_command(stderr, command);
}

static int go_help(const char *program, int argc, char **argv)
{
    const struct go_command *self = find_go_command("help");
    if (argc == 0) {
        go_explain(stdout, program);
        return 0;
    }
    if (argc == 1) {
        const struct go_command *command = find_go_command(argv[0]);
        if (command) {
            go_explain_command(stdout, command);
            return 0;
        }
        fprintf(stderr, "Subcommand %s not understood\n", argv[0]);
    }
    go_explain_command(stderr, self);
    return 2;
}

static int go_flags(int argc, char **argv)
{
    if (argc > 1) {
        go_explain_command(stderr, find_go_command("flags"));
        return 2;
    }
    if (argc == 0)
        return 0; /* no top-level flags to describe */
    const struct go_command *command = find_go_command(argv[0]);
    if (!command) {
        fprintf(stderr, "Subcommand %s not understood\n", argv[0]);
        return 1;
    }
    go_print_defaults(stdout, command);
    return 0;
}

static int go_commands_list(int argc)
{
    if (argc != 0) {
        go_explain_command(stderr, find_go_command("commands"));
        return 2;
    }
    for (size_t i = 0; i < GO_COMMAND_COUNT; i++)
        printf("%s\n", go_commands[i].name);
    return 0;
}

static int go_summary(void)
{
    struct cfbp_strbuf summary = CFBP_STRBUF_INIT;
    struct cfbp_error err = CFBP_ERROR_INIT;
    int status = 0;
    if (cfbp_package_summary(".", &summary, &err) < 0) {
        go_log("error reading dependencies from manifest: %s", err.message);
        status = 1;
    } else {
        printf("%s\n", summary.buf ? summary.buf : ""); /* fmt.Println */
    }
    cfbp_error_clear(&err);
    cfbp_strbuf_release(&summary);
    return status;
}

/* Go's *PathError text: "open VERSION: no such file or directory". */
static void go_path_error(struct cfbp_strbuf *out, const char *operation, const char *path,
                          int errnum)
{
    cfbp_strbuf_append_format(out, "%s %s: %s", operation, path, strerror(errnum));
    size_t at = strlen(operation) + strlen(path) + 3;
    if (at < out->len && out->buf[at] >= 'A' && out->buf[at] <= 'Z')
        out->buf[at] = (char)(out->buf[at] - 'A' + 'a'); /* Go's syscall messages are lowercase */
}

/* build's Execute: the checks in main.go's order, then the packager. */
static int go_build(const struct cfbp_package_flags *flags)
{
    bool has_stack = flags->stack && *flags->stack;
    if (!has_stack && !flags->any_stack) {
        go_log("error: must either specify a stack or pass -any-stack");
        return 1;
    }
    if (has_stack && flags->any_stack) {
        go_log("error: cannot specify a stack AND pass -any-stack");
        return 1;
    }
    struct cfbp_strbuf version = CFBP_STRBUF_INIT, cache = CFBP_STRBUF_INIT;
    if (flags->version && *flags->version) {
        cfbp_strbuf_set(&version, flags->version);
    } else {
        struct cfbp_error ignored = CFBP_ERROR_INIT;
        errno = 0;
        if (cfbp_fs_read_file("VERSION", 1024 * 1024, &version, &ignored) < 0) {
            int errnum = errno ? errno : ENOENT;
            struct cfbp_strbuf message = CFBP_STRBUF_INIT;
            go_path_error(&message, cfbp_fs_is_directory("VERSION") ? "read" : "open", "VERSION",
                          cfbp_fs_is_directory("VERSION") ? EISDIR : errnum);
            go_log("error: Could not read VERSION file: %s", message.buf);
            cfbp_strbuf_release(&message);
            cfbp_error_clear(&ignored);
            cfbp_strbuf_release(&version);
            return 1;
        }
        cfbp_strbuf_trim(&version);
    }
    if (flags->cache_dir)
        cfbp_strbuf_set(&cache, *flags->cache_dir ? flags->cache_dir : ".");
    else
        default_cache_dir(&cache);
    struct cfbp_package_options options = {.mtime = cfbp_source_date_epoch()};
    options.source_dir = ".";
    options.stack = has_stack ? flags->stack : NULL;
    options.any_stack = !has_stack;
    options.cached = flags->cached;
    options.version = version.buf;
    options.cache_dir = cache.buf;
    struct profile_names names = {CFBP_STRING_LIST_INIT, CFBP_STRING_LIST_INIT};
    set_profile_options(&options, flags, &names);
    /* The Go program prints nothing while it works. Steps are shown on a terminal only, so
     * that `2>&1 | xargs -n1 | grep '\.zip$'` still finds one zip (a step names the zip and
     * the dependencies' URIs); elsewhere only the plain progress lines of a long download
     * ("Downloading ruby 3.3.1: 45% ..."), so that a CI log is not silent for minutes. */
    struct progress terminal;
    progress_init(&terminal, false);
    terminal.hide_steps = !isatty(STDERR_FILENO);
    options.reporter = progress_reporter(&terminal);
    options.reporter.warning = go_warning;
    struct cfbp_package_result result;
    struct cfbp_error err = CFBP_ERROR_INIT;
    int packaged = package_in_utc(&options, &result, &err);
    progress_release(&terminal);
    if (packaged == 0)
        interrupt_forget(); /* see package_in_utc */
    int status = 0;
    if (packaged < 0 && err.kind == CFBP_ERROR_CANCELLED) {
        status = interrupt_finish("package", 1);
    } else if (packaged < 0 && result.pre_package_output) {
        /* Go prints pre_package's combined output on stdout, then exec's error. */
        printf("%s\n", result.pre_package_output);
        go_log("error while creating zipfile: exit status %d", result.pre_package_status);
        status = 1;
    } else if (packaged < 0) {
        go_log("error while creating zipfile: %s", err.message);
        status = 1;
    } else {
        printf("%s buildpack created and saved as %s with a size of %lluMB\n",
               options.cached ? "cached" : "uncached", result.zip_path,
               result.size / (1024 * 1024));
    }
    cfbp_error_clear(&err);
    cfbp_package_result_release(&result);
    release_profile_names(&names);
    cfbp_strbuf_release(&version);
    cfbp_strbuf_release(&cache);
    return packaged == 0 ? status : interrupt_finish("package", status);
}

/*
 * subcommands.Execute over argv (the arguments after the program name): top
 * level flags (there are none), the command word, its flags, its Execute.
 * Exit statuses as subcommands v1.2.0 returns them: 0, 1, and 2 for usage
 * (also after -h on a command, which that version does not treat as success).
 */
static int go_packager(const char *program, int argc, char **argv)
{
    int first = go_parse_no_flags(argc, argv, explain_top_level, program);
    if (first == -2)
        return 0; /* flag.Parse exits 0 after -h at the top level */
    if (first < 0)
        return 2;
    if (first >= argc) {
        go_explain(stderr, program);
        return 2;
    }
    const struct go_command *command = find_go_command(argv[first]);
    if (!command) {
        go_explain(stderr, program);
        return 2;
    }
    int count = argc - first - 1;
    char **arguments = argv + first + 1;
    if (strcmp(command->name, "build") == 0) {
        struct cfbp_package_flags flags;
        struct cfbp_error err = CFBP_ERROR_INIT;
        int status;
        if (cfbp_package_flags_parse(&flags, count, arguments, 0, &err) < 0) {
            fprintf(stderr, "%s\n", err.message);
            go_explain_command(stderr, command);
            status = 2;
        } else if (flags.help) {
            go_explain_command(stderr, command);
            status = 2;
        } else {
            status = go_build(&flags);
        }
        cfbp_error_clear(&err);
        cfbp_package_flags_release(&flags);
        return status;
    }
    int rest = go_parse_no_flags(count, arguments, explain_command_on_stderr, command);
    if (rest < 0)
        return 2;
    count -= rest;
    arguments += rest;
    if (strcmp(command->name, "help") == 0)
        return go_help(program, count, arguments);
    if (strcmp(command->name, "flags") == 0)
        return go_flags(count, arguments);
    if (strcmp(command->name, "commands") == 0)
        return go_commands_list(count);
    return go_summary();
}

int cmd_buildpack_packager(int argc, char **argv)
{
    /* subcommands names itself path.Base(os.Args[0]). */
    const char *program = argc > 0 && argv[0] ? strrchr(argv[0], '/') : NULL;
    program = program ? program + 1 : (argc > 0 && argv[0] ? argv[0] : "buildpack-packager");
    return go_packager(program, argc - 1, argv + 1);
}
