/*
 * audit.h - hold the stored flows against a ruleset: requirement statuses
 * and findings.
 *
 * The audit reads flows from the store and writes its result back to it
 * (tables audits, requirements, findings, see finding.h); reports read
 * that result and never see the flows' packets.
 */
#ifndef FA_AUDIT_H
#define FA_AUDIT_H

#include <stdint.h>

#include "finding.h"
#include "rules.h"
#include "store.h"

struct fa_audit_result {
    int64_t audit_id;
    uint64_t counts[3]; /* findings by severity */
};

/* Audits the flows of run_id (0: every run) in s against rs and stores
 * the result.  rules_text is what the rule files said, for the record.
 * fail_on is recorded with the audit.  Returns 0, or -1 with errbuf
 * (FA_STORE_ERRBUF_SIZE). */
int fa_audit_run(struct fa_store *s, const struct fa_ruleset *rs, const char *rules_text,
                 int64_t run_id, const char *fail_on, struct fa_audit_result *result, char *errbuf);

#endif
