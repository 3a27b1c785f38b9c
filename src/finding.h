/*
 * finding.h - what an audit produces, as the store writes it and reads it
 * back: the audit itself, one requirement per require rule's port group
 * and direction, and findings that group flows.
 *
 * These are plain records; strings are borrowed (from the audit while it
 * runs, from the store while a visitor runs).
 */
#ifndef FA_FINDING_H
#define FA_FINDING_H

#include <stdint.h>

enum fa_severity { FA_SEV_INFO, FA_SEV_WARNING, FA_SEV_ERROR };

/* One require rule's port group in one direction, and what became of it. */
struct fa_requirement {
    const char *rule_file;
    int rule_line;
    const char *rule_text;
    const char *message;
    const char *purpose; /* "publication" or "monitoring" */
    const char *src_role, *dst_role;
    const char *proto;  /* "tcp", "udp", "icmp", "any" */
    const char *ports;  /* "443", "1433|1521", "" for any */
    const char *status; /* "ok", "failing", "failed", "not-observed" */
    uint64_t attempts, failures;
    int64_t first_ns, last_ns; /* 0 when not observed */
};

/* Flows grouped by kind, rule, hosts, protocol and port. */
struct fa_finding {
    const char *kind; /* blocked rejected unreachable unexpected denied slow protocol-mismatch
                         not-observed */
    enum fa_severity severity;
    const char *rule_file; /* NULL when no rule matched */
    int rule_line;
    const char *rule_text;
    const char *src, *src_role; /* NULL for not-observed */
    const char *dst, *dst_role;
    const char *proto; /* NULL for not-observed */
    int port;          /* -1 when none */
    uint64_t count, syn_count;
    int64_t first_ns, last_ns; /* 0 for not-observed */
    const char *detail;        /* may be NULL */
    const char *examples;      /* uids, space separated; may be empty */
    const char *message;
};

/* What an audit covered. */
struct fa_audit_info {
    int64_t id;
    int64_t created_ns;
    const char *version;
    const char *sources; /* rule files, space separated */
    const char *rules_text;
    const char *runs; /* "1,2" */
    uint64_t flows;
    const char *fail_on; /* "error", "warning", "never" */
};

const char *fa_severity_name(enum fa_severity s);

/* Parses "error", "warning", "info"; -1 otherwise. */
int fa_severity_parse(const char *name);

#endif
