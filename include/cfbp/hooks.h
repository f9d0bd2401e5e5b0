/*
 * hooks.h - functions a buildpack runs before and after its supply and
 * finalize work (libbuildpack's Hook: BeforeCompile and AfterCompile, which
 * the Cloud Foundry buildpacks use to add APM agents, check app settings and
 * the like).
 *
 * Unlike libbuildpack's, the list is a value the program owns, not a global:
 * a buildpack fills one struct cfbp_hooks at start-up and runs it at each
 * point. Hooks run in the order they were added; the first that fails stops
 * the rest, and its error is returned with the hook's name and point in
 * front ("hook newrelic (before finalize): ...").
 */
#ifndef CFBP_HOOKS_H
#define CFBP_HOOKS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

struct cfbp_error;
struct cfbp_stager;

enum cfbp_hook_point {
    CFBP_HOOK_BEFORE_SUPPLY,
    CFBP_HOOK_AFTER_SUPPLY,
    CFBP_HOOK_BEFORE_FINALIZE,
    CFBP_HOOK_AFTER_FINALIZE,
};

/* A hook: returns 0, or -1 with err set. data is what was given to cfbp_hooks_add. */
typedef int (*cfbp_hook_function)(struct cfbp_stager *stager, void *data, struct cfbp_error *err);

struct cfbp_hook {
    char *name;
    enum cfbp_hook_point point;
    cfbp_hook_function function;
    void *data;
};

struct cfbp_hooks {
    struct cfbp_hook *items;
    size_t count, alloc;
};

#define CFBP_HOOKS_INIT                                                                            \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/* Adds function, named name (for errors), to run at point with data. */
void cfbp_hooks_add(struct cfbp_hooks *hooks, enum cfbp_hook_point point, const char *name,
                    cfbp_hook_function function, void *data);
/* Runs the hooks added for point, in order; stops at the first failure (returned, -1). */
int cfbp_hooks_run(const struct cfbp_hooks *hooks, enum cfbp_hook_point point,
                   struct cfbp_stager *stager, struct cfbp_error *err);
/* "before supply", "after finalize", ... */
const char *cfbp_hook_point_name(enum cfbp_hook_point point);
void cfbp_hooks_release(struct cfbp_hooks *hooks);

#ifdef __cplusplus
}
#endif

#endif
