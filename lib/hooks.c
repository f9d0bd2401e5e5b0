/*
 * hooks.c - functions a buildpack runs before and after supply and finalize
 * (see hooks.h).
 */
#include "cfbp/hooks.h"

#include "cfbp/alloc.h"
#include "cfbp/error.h"

#include <stdlib.h>
#include <string.h>

void cfbp_hooks_add(struct cfbp_hooks *hooks, enum cfbp_hook_point point, const char *name,
                    cfbp_hook_function function, void *data)
{
    CFBP_GROW(hooks->items, hooks->alloc, hooks->count + 1);
    hooks->items[hooks->count++] = (struct cfbp_hook){
        .name = cfbp_xstrdup(name ? name : "unnamed"),
        .point = point,
        .function = function,
        .data = data,
    };
}

const char *cfbp_hook_point_name(enum cfbp_hook_point point)
{
    switch (point) {
    case CFBP_HOOK_BEFORE_SUPPLY:
        return "before supply";
    case CFBP_HOOK_AFTER_SUPPLY:
        return "after supply";
    case CFBP_HOOK_BEFORE_FINALIZE:
        return "before finalize";
    case CFBP_HOOK_AFTER_FINALIZE:
        return "after finalize";
    }
    return "unknown point";
}

int cfbp_hooks_run(const struct cfbp_hooks *hooks, enum cfbp_hook_point point,
                   struct cfbp_stager *stager, struct cfbp_error *err)
{
    for (size_t i = 0; i < hooks->count; i++) {
        const struct cfbp_hook *hook = &hooks->items[i];
        if (hook->point != point)
            continue;
        if (hook->function(stager, hook->data, err) == 0)
            continue;
        if (!err->message) /* a hook that failed without saying why */
            cfbp_error_set(err, CFBP_ERROR_FAILED, "failed");
        return cfbp_error_prefix(err, "hook %s (%s)", hook->name, cfbp_hook_point_name(point));
    }
    return 0;
}

void cfbp_hooks_release(struct cfbp_hooks *hooks)
{
    for (size_t i = 0; i < hooks->count; i++)
        free(hooks->items[i].name);
    free(hooks->items);
    hooks->items = NULL;
    hooks->count = hooks->alloc = 0;
}
