/*
 * auditcmd.h - the `audit`, `report` and `check` commands after their
 * options are parsed: load the rules, audit, print the report, and turn
 * the findings into an exit status.
 */
#ifndef FA_AUDITCMD_H
#define FA_AUDITCMD_H

#include <stdint.h>

#include "rules.h"

/* Exit statuses of audit and check. */
#define FA_EXIT_CLEAN 0    /* no finding reaches --fail-on */
#define FA_EXIT_FINDINGS 1 /* some do */
#define FA_EXIT_USAGE 2    /* bad input or usage */

struct fa_rules_source {
    const char *matrix; /* file, or NULL for the built-in matrix */
    const char *site;   /* file, or NULL */
};

/* Loads the matrix and the site file.  On success returns 0 and gives the
 * ruleset and the files' text (for the audit's record; free() it); on
 * failure prints the error on stderr and returns -1. */
int fa_rules_load(const struct fa_rules_source *src, struct fa_ruleset **rs, char **text);

struct fa_audit_opts {
    const char *db_path;
    int64_t run_id;     /* 0: every run */
    int format;         /* enum fa_report_format */
    int fail_on;        /* enum fa_severity, or -1 for never */
    const char *output; /* file for the report, or NULL for stdout */
};

/* Audits the store with rs, stores the result and prints its report.
 * Returns an exit status. */
int fa_audit_command(const struct fa_audit_opts *o, const struct fa_ruleset *rs,
                     const char *rules_text);

/* Prints the report of audit_id (0: the newest).  Returns an exit status
 * (0 or FA_EXIT_USAGE). */
int fa_report_command(const char *db_path, int64_t audit_id, int format, const char *output);

#endif
