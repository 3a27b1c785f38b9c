/*
 * store_audit.c - the store's side of audits: writing an audit's record,
 * requirements and findings, and reading them back for reports.
 *
 * Invariants:
 *   - an audit is written in one transaction, begun by
 *     fa_store_begin_audit() and committed by fa_store_end_audit(): a
 *     report never sees half an audit;
 *   - statements are prepared on first use and finalized with the handle;
 *   - what comes back to a visitor points into SQLite's row and is valid
 *     only during the call.
 */
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_private.h"

static const char *const audit_sql[AUDIT_SQL_COUNT] = {
    [AUDIT_SQL_INSERT_AUDIT] = "INSERT INTO audits (created, version, sources, rules_text, runs,"
                               " flows, fail_on) VALUES (?, ?, ?, ?, ?, ?, ?)",
    [AUDIT_SQL_INSERT_REQUIREMENT] =
        "INSERT INTO requirements (audit_id, rule_file, rule_line, rule_text, message, purpose,"
        " src_role, dst_role, proto, ports, status, attempts, failures, first_seen, last_seen)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [AUDIT_SQL_INSERT_FINDING] =
        "INSERT INTO findings (audit_id, kind, severity, rule_file, rule_line, rule_text, src,"
        " src_role, dst, dst_role, proto, port, count, syn_count, first_seen, last_seen, detail,"
        " examples, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    [AUDIT_SQL_LAST_AUDIT] = "SELECT max(id) FROM audits",
    [AUDIT_SQL_GET_AUDIT] = "SELECT id, created, version, sources, rules_text, runs, flows,"
                            " fail_on FROM audits WHERE id = ?",
    [AUDIT_SQL_REQUIREMENTS] =
        "SELECT rule_file, rule_line, rule_text, message, purpose, src_role, dst_role, proto,"
        " ports, status, attempts, failures, first_seen, last_seen FROM requirements"
        " WHERE audit_id = ? ORDER BY rowid",
    [AUDIT_SQL_FINDINGS] =
        "SELECT kind, severity, rule_file, rule_line, rule_text, src, src_role, dst, dst_role,"
        " proto, port, count, syn_count, first_seen, last_seen, detail, examples, message"
        " FROM findings WHERE audit_id = ?"
        " ORDER BY CASE severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END,"
        " kind, src, dst, port, id",
    [AUDIT_SQL_RUNS] =
        "SELECT id, mode, source, filter, sensor, version, started, ended, first_packet,"
        " last_packet, packets, bytes, flows, evicted, orphan_fragments,"
        " (SELECT coalesce(sum(count), 0) FROM decode_errors WHERE run_id = runs.id),"
        " received, dropped, if_dropped FROM runs"
        " WHERE ?1 IS NULL OR ?1 = '' OR instr(',' || ?1 || ',', ',' || id || ',') > 0"
        " ORDER BY id",
};

static sqlite3_stmt *audit_stmt(struct fa_store *s, int which, char *errbuf)
{
    if (!s->audit[which] &&
        sqlite3_prepare_v2(s->db, audit_sql[which], -1, &s->audit[which], NULL) != SQLITE_OK) {
        fa_store_db_error(s, errbuf, "cannot prepare an audit statement");
        return NULL;
    }
    return s->audit[which];
}

void fa_store_audit_close(struct fa_store *s)
{
    for (int i = 0; i < AUDIT_SQL_COUNT; i++)
        sqlite3_finalize(s->audit[i]);
}

static int bind_secs_or_null(sqlite3_stmt *st, int i, int64_t ns)
{
    return ns ? sqlite3_bind_double(st, i, fa_store_ns_to_secs(ns)) : sqlite3_bind_null(st, i);
}

/* ---- writing -------------------------------------------------------- */

int64_t fa_store_begin_audit(struct fa_store *s, const struct fa_audit_info *a, char *errbuf)
{
    sqlite3_stmt *st = audit_stmt(s, AUDIT_SQL_INSERT_AUDIT, errbuf);
    if (!st)
        return -1;
    /* A run written on this handle ends here: its transaction is committed. */
    s->run_id = 0;
    if (fa_store_commit(s, errbuf) < 0)
        return -1;
    if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return fa_store_db_error(s, errbuf, "cannot begin the audit");
    sqlite3_bind_double(st, 1, fa_store_ns_to_secs(a->created_ns));
    fa_store_bind_text(st, 2, a->version ? a->version : "");
    fa_store_bind_text(st, 3, a->sources ? a->sources : "");
    fa_store_bind_text(st, 4, a->rules_text ? a->rules_text : "");
    fa_store_bind_text(st, 5, a->runs ? a->runs : "");
    sqlite3_bind_int64(st, 6, (sqlite3_int64)a->flows);
    fa_store_bind_text(st, 7, a->fail_on ? a->fail_on : "error");
    if (fa_store_step_done(s, st, "cannot record the audit", errbuf) < 0)
        return -1;
    return sqlite3_last_insert_rowid(s->db);
}

int fa_store_put_requirement(struct fa_store *s, int64_t audit_id, const struct fa_requirement *r,
                             char *errbuf)
{
    sqlite3_stmt *st = audit_stmt(s, AUDIT_SQL_INSERT_REQUIREMENT, errbuf);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, audit_id);
    fa_store_bind_text(st, 2, r->rule_file);
    sqlite3_bind_int(st, 3, r->rule_line);
    fa_store_bind_text(st, 4, r->rule_text);
    fa_store_bind_text(st, 5, r->message);
    fa_store_bind_text(st, 6, r->purpose);
    fa_store_bind_text(st, 7, r->src_role);
    fa_store_bind_text(st, 8, r->dst_role);
    fa_store_bind_text(st, 9, r->proto);
    fa_store_bind_text(st, 10, r->ports);
    fa_store_bind_text(st, 11, r->status);
    sqlite3_bind_int64(st, 12, (sqlite3_int64)r->attempts);
    sqlite3_bind_int64(st, 13, (sqlite3_int64)r->failures);
    bind_secs_or_null(st, 14, r->first_ns);
    bind_secs_or_null(st, 15, r->last_ns);
    return fa_store_step_done(s, st, "cannot record a requirement", errbuf);
}

int fa_store_put_finding(struct fa_store *s, int64_t audit_id, const struct fa_finding *f,
                         char *errbuf)
{
    sqlite3_stmt *st = audit_stmt(s, AUDIT_SQL_INSERT_FINDING, errbuf);
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, audit_id);
    fa_store_bind_text(st, 2, f->kind);
    fa_store_bind_text(st, 3, fa_severity_name(f->severity));
    fa_store_bind_text(st, 4, f->rule_file);
    if (f->rule_file)
        sqlite3_bind_int(st, 5, f->rule_line);
    else
        sqlite3_bind_null(st, 5);
    fa_store_bind_text(st, 6, f->rule_text);
    fa_store_bind_text(st, 7, f->src);
    fa_store_bind_text(st, 8, f->src_role);
    fa_store_bind_text(st, 9, f->dst);
    fa_store_bind_text(st, 10, f->dst_role);
    fa_store_bind_text(st, 11, f->proto);
    if (f->port >= 0)
        sqlite3_bind_int(st, 12, f->port);
    else
        sqlite3_bind_null(st, 12);
    sqlite3_bind_int64(st, 13, (sqlite3_int64)f->count);
    sqlite3_bind_int64(st, 14, (sqlite3_int64)f->syn_count);
    bind_secs_or_null(st, 15, f->first_ns);
    bind_secs_or_null(st, 16, f->last_ns);
    fa_store_bind_text(st, 17, f->detail);
    fa_store_bind_text(st, 18, f->examples ? f->examples : "");
    fa_store_bind_text(st, 19, f->message);
    return fa_store_step_done(s, st, "cannot record a finding", errbuf);
}

int fa_store_end_audit(struct fa_store *s, char *errbuf)
{
    if (!sqlite3_get_autocommit(s->db) &&
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        return fa_store_db_error(s, errbuf, "cannot commit the audit");
    return 0;
}

/* ---- reading -------------------------------------------------------- */

static const char *text_at(sqlite3_stmt *st, int col)
{
    return (const char *)sqlite3_column_text(st, col);
}

static int64_t secs_at(sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return 0;
    return fa_store_secs_to_ns(sqlite3_column_double(st, col));
}

static uint64_t count_at(sqlite3_stmt *st, int col)
{
    sqlite3_int64 v = sqlite3_column_int64(st, col);
    return v > 0 ? (uint64_t)v : 0;
}

int64_t fa_store_last_audit(struct fa_store *s, char *errbuf)
{
    sqlite3_stmt *st = audit_stmt(s, AUDIT_SQL_LAST_AUDIT, errbuf);
    int64_t id = -1;
    if (!st)
        return -1;
    if (sqlite3_step(st) == SQLITE_ROW)
        id = sqlite3_column_int64(st, 0); /* max() of no row is NULL: 0 */
    else
        fa_store_db_error(s, errbuf, "cannot read audits");
    sqlite3_reset(st);
    return id;
}

/* Steps st, calling row() for each row until it returns non-zero. */
static int walk(struct fa_store *s, sqlite3_stmt *st, int (*row)(sqlite3_stmt *, void *), void *ctx,
                const char *what, char *errbuf)
{
    int rc, ret = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        if (row(st, ctx) != 0)
            break;
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        ret = fa_store_db_error(s, errbuf, what);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return ret;
}

struct visit {
    union {
        fa_audit_visitor audit;
        fa_requirement_visitor requirement;
        fa_finding_visitor finding;
        fa_run_visitor run;
    } fn;
    void *ctx;
    int found;
};

static int audit_row(sqlite3_stmt *st, void *arg)
{
    struct visit *v = arg;
    struct fa_audit_info a = {
        .id = sqlite3_column_int64(st, 0),
        .created_ns = secs_at(st, 1),
        .version = text_at(st, 2),
        .sources = text_at(st, 3),
        .rules_text = text_at(st, 4),
        .runs = text_at(st, 5),
        .flows = count_at(st, 6),
        .fail_on = text_at(st, 7),
    };
    v->found = 1;
    return v->fn.audit(v->ctx, &a);
}

int fa_store_get_audit(struct fa_store *s, int64_t id, fa_audit_visitor fn, void *ctx, char *errbuf)
{
    sqlite3_stmt *st = audit_stmt(s, AUDIT_SQL_GET_AUDIT, errbuf);
    struct visit v = {.fn.audit = fn, .ctx = ctx};
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    if (walk(s, st, audit_row, &v, "cannot read the audit", errbuf) < 0)
        return -1;
    if (!v.found) {
        fa_store_set_error(errbuf, "%s: no audit %lld", s->path, (long long)id);
        return -1;
    }
    return 0;
}

static int requirement_row(sqlite3_stmt *st, void *arg)
{
    struct visit *v = arg;
    struct fa_requirement r = {
        .rule_file = text_at(st, 0),
        .rule_line = sqlite3_column_int(st, 1),
        .rule_text = text_at(st, 2),
        .message = text_at(st, 3),
        .purpose = text_at(st, 4),
        .src_role = text_at(st, 5),
        .dst_role = text_at(st, 6),
        .proto = text_at(st, 7),
        .ports = text_at(st, 8),
        .status = text_at(st, 9),
        .attempts = count_at(st, 10),
        .failures = count_at(st, 11),
        .first_ns = secs_at(st, 12),
        .last_ns = secs_at(st, 13),
    };
    return v->fn.requirement(v->ctx, &r);
}

int fa_store_each_requirement(struct fa_store *s, int64_t audit_id, fa_requirement_visitor fn,
                              void *ctx, char *errbuf)
{
    sqlite3_stmt *st = audit_stmt(s, AUDIT_SQL_REQUIREMENTS, errbuf);
    struct visit v = {.fn.requirement = fn, .ctx = ctx};
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, audit_id);
    return walk(s, st, requirement_row, &v, "cannot read requirements", errbuf);
}

static int finding_row(sqlite3_stmt *st, void *arg)
{
    struct visit *v = arg;
    int sev = fa_severity_parse(text_at(st, 1) ? text_at(st, 1) : "");
    struct fa_finding f = {
        .kind = text_at(st, 0),
        .severity = sev < 0 ? FA_SEV_INFO : (enum fa_severity)sev,
        .rule_file = text_at(st, 2),
        .rule_line = sqlite3_column_int(st, 3),
        .rule_text = text_at(st, 4),
        .src = text_at(st, 5),
        .src_role = text_at(st, 6),
        .dst = text_at(st, 7),
        .dst_role = text_at(st, 8),
        .proto = text_at(st, 9),
        .port = sqlite3_column_type(st, 10) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 10),
        .count = count_at(st, 11),
        .syn_count = count_at(st, 12),
        .first_ns = secs_at(st, 13),
        .last_ns = secs_at(st, 14),
        .detail = text_at(st, 15),
        .examples = text_at(st, 16),
        .message = text_at(st, 17),
    };
    return v->fn.finding(v->ctx, &f);
}

int fa_store_each_finding(struct fa_store *s, int64_t audit_id, fa_finding_visitor fn, void *ctx,
                          char *errbuf)
{
    sqlite3_stmt *st = audit_stmt(s, AUDIT_SQL_FINDINGS, errbuf);
    struct visit v = {.fn.finding = fn, .ctx = ctx};
    if (!st)
        return -1;
    sqlite3_bind_int64(st, 1, audit_id);
    return walk(s, st, finding_row, &v, "cannot read findings", errbuf);
}

static int run_row(sqlite3_stmt *st, void *arg)
{
    struct visit *v = arg;
    struct fa_run_row r = {
        .id = sqlite3_column_int64(st, 0),
        .mode = text_at(st, 1),
        .source = text_at(st, 2),
        .filter = text_at(st, 3),
        .sensor = text_at(st, 4),
        .version = text_at(st, 5),
        .started_ns = secs_at(st, 6),
        .ended_ns = secs_at(st, 7),
        .first_packet_ns = secs_at(st, 8),
        .last_packet_ns = secs_at(st, 9),
        .packets = count_at(st, 10),
        .bytes = count_at(st, 11),
        .flows = count_at(st, 12),
        .evicted = count_at(st, 13),
        .orphan_fragments = count_at(st, 14),
        .decode_errors = count_at(st, 15),
        .has_pcap_stats = sqlite3_column_type(st, 16) != SQLITE_NULL,
        .received = count_at(st, 16),
        .dropped = count_at(st, 17),
        .if_dropped = count_at(st, 18),
    };
    return v->fn.run(v->ctx, &r);
}

int fa_store_each_run(struct fa_store *s, const char *ids, fa_run_visitor fn, void *ctx,
                      char *errbuf)
{
    sqlite3_stmt *st = audit_stmt(s, AUDIT_SQL_RUNS, errbuf);
    struct visit v = {.fn.run = fn, .ctx = ctx};
    if (!st)
        return -1;
    fa_store_bind_text(st, 1, ids);
    return walk(s, st, run_row, &v, "cannot read runs", errbuf);
}
