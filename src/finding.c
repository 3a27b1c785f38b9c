/*
 * finding.c - the names of severities, as stored and shown.
 */
#include "finding.h"

#include <string.h>

static const char *const severity_names[] = {
    [FA_SEV_INFO] = "info",
    [FA_SEV_WARNING] = "warning",
    [FA_SEV_ERROR] = "error",
};

const char *fa_severity_name(enum fa_severity s)
{
    return (unsigned)s < sizeof severity_names / sizeof *severity_names ? severity_names[s] : "?";
}

int fa_severity_parse(const char *name)
{
    for (int i = 0; i < (int)(sizeof severity_names / sizeof *severity_names); i++)
        if (strcmp(name, severity_names[i]) == 0)
            return i;
    return -1;
}
