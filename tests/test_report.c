/*
 * test_report.c - audit reports in every format, from an audit written
 * through the store: the JSON shape and values exactly, the rows people
 * read, and hostile strings escaped in each format.
 *
 * Every test works on its own database in a directory made for the run.
 * The fixture has three runs, of which the audit covers two (one read,
 * one live capture), a requirement of each status, and a finding of each
 * kind and severity, with and without rule, port and times.
 */
#define _GNU_SOURCE /* nftw(), open_memstream() */

#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include <jansson.h>

#include "json.h"
#include "report.h"
#include "store.h"

static char tmpdir[] = "/tmp/test_report.XXXXXX";

/* ---- helpers -------------------------------------------------------------- */

static const char *db_path(const char *name)
{
    static char path[256];

    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

static struct fa_store *open_ok(const char *path, int readonly)
{
    char err[FA_STORE_ERRBUF_SIZE] = "";
    struct fa_store *s = fa_store_open(path, readonly, err);

    if (!s)
        fail_msg("open %s: %s", path, err);
    return s;
}

static void run(struct fa_store *s, const struct fa_run_info *info, const struct fa_run_totals *t)
{
    char err[FA_STORE_ERRBUF_SIZE] = "";

    if (fa_store_begin_run(s, info, err) < 0 || fa_store_put_totals(s, t, err) != 0 ||
        fa_store_commit(s, err) != 0)
        fail_msg("run: %s", err);
}

static void requirement(struct fa_store *s, int64_t audit, const struct fa_requirement *q)
{
    char err[FA_STORE_ERRBUF_SIZE] = "";

    if (fa_store_put_requirement(s, audit, q, err) != 0)
        fail_msg("requirement: %s", err);
}

static void finding(struct fa_store *s, int64_t audit, const struct fa_finding *f)
{
    char err[FA_STORE_ERRBUF_SIZE] = "";

    if (fa_store_put_finding(s, audit, f, err) != 0)
        fail_msg("finding: %s", err);
}

/* The audit stores its rule files one a line. */
#define FIXTURE_SOURCES "rules/outsystems-11.rules\nsite.rules"

static int64_t begin_audit_of(struct fa_store *s, const char *runs, const char *sources)
{
    char err[FA_STORE_ERRBUF_SIZE] = "";
    struct fa_audit_info a = {
        .created_ns = 1700003600000000000, /* 2023-11-14 23:13:20 UTC */
        .version = "0.1.0",
        .sources = sources,
        .rules_text = "role fe 10.0.0.0/24\n",
        .runs = runs,
        .flows = 42,
        .fail_on = "error",
    };
    int64_t id = fa_store_begin_audit(s, &a, err);

    if (id < 0)
        fail_msg("begin_audit: %s", err);
    return id;
}

static int64_t begin_audit(struct fa_store *s, const char *runs)
{
    return begin_audit_of(s, runs, FIXTURE_SOURCES);
}

static void end_audit(struct fa_store *s)
{
    char err[FA_STORE_ERRBUF_SIZE] = "";

    if (fa_store_end_audit(s, err) != 0)
        fail_msg("end_audit: %s", err);
}

/* Run 1 read two files, run 2 captured live, run 3 is not audited. */
static void fixture_runs(struct fa_store *s, const char *source)
{
    struct fa_run_info read = {"read",    source,  "tcp or udp",
                               "sensor1", "0.1.0", 1700000100250000000};
    struct fa_run_info live = {"capture", "eth0", NULL, "sensor2", "0.1.0", 1700000200000000000};
    struct fa_run_info other = {"read",    "other.pcap", NULL,
                                "sensor9", "0.0.9",      1700000300000000000};
    struct fa_run_totals t;

    memset(&t, 0, sizeof t);
    t.ended_ns = 1700000101000000000;
    t.first_packet_ns = 1700000000123456000; /* 2023-11-14 22:13:20.123456 */
    t.last_packet_ns = 1700000060500000000;
    t.packets = 1000, t.bytes = 1234567, t.flows = 30, t.evicted = 2, t.orphan_fragments = 1;
    t.decode_errors[FA_DECODE_TRUNCATED_IP] = 3;
    t.decode_errors[FA_DECODE_NOT_IP] = 4;
    run(s, &read, &t);

    memset(&t, 0, sizeof t); /* not ended: the capture did not finish */
    t.first_packet_ns = 1699999990000001000;
    t.last_packet_ns = 1700000030000000000;
    t.packets = 500, t.bytes = 65536, t.flows = 12, t.evicted = 1;
    t.has_pcap_stats = 1, t.received = 510, t.dropped = 7, t.if_dropped = 3;
    run(s, &live, &t);

    memset(&t, 0, sizeof t);
    t.ended_ns = 1700000301000000000;
    t.first_packet_ns = 1600000000000000000;
    t.last_packet_ns = 1800000000000000000;
    t.packets = 99999;
    run(s, &other, &t);
}

static const struct fa_requirement fixture_requirements[] = {
    {"rules/outsystems-11.rules", 12, "require fe -> db tcp 1433|1521 \"DB\"",
     "Front-ends reach the database", "publication", "fe", "db", "tcp", "1433|1521", "failed", 5, 5,
     1700000001000000000, 1700000050000000000},
    {"rules/outsystems-11.rules", 20, "require fe -> lifetime tcp 443", "Front-ends reach LifeTime",
     "monitoring", "fe", "lifetime", "tcp", "443", "failing", 10, 2, 1700000002000000000,
     1700000040000000000},
    {"site.rules", 3, "require fe -> dc tcp 12000", "Deployment Controller", "publication", "fe",
     "dc", "tcp", "12000", "ok", 4, 0, 1700000003000000000, 1700000004000000000},
    {"site.rules", 7, "require fe -> smtp any", "Mail relay", "monitoring", "fe", "smtp", "any", "",
     "not-observed", 0, 0, 0, 0},
};

/* In the order the store gives them back: severity, kind, src, dst, port. */
static const struct fa_finding fixture_findings[] = {
    {"blocked", FA_SEV_ERROR, "rules/outsystems-11.rules", 12, "require fe -> db tcp 1433|1521",
     "10.0.0.5", "fe", "10.0.1.9", "db", "tcp", 1433, 3, 9, 1700000001000000000,
     1700000050000000000, NULL, "CAAAAAAAAAAAAAAAA1 CAAAAAAAAAAAAAAAA2 CAAAAAAAAAAAAAAAA3",
     "Front-ends reach the database"},
    {"denied", FA_SEV_ERROR, "site.rules", 9, "deny any -> db tcp 22", "10.9.9.9", NULL, "10.0.1.9",
     "db", "tcp", 22, 1, 1, 1700000005000000000, 1700000005000000000, NULL, "CAAAAAAAAAAAAAAAA4",
     "No SSH to the database"},
    {"rejected", FA_SEV_ERROR, "rules/outsystems-11.rules", 12, "require fe -> db tcp 1433|1521",
     "10.0.0.6", "fe", "10.0.1.9", "db", "tcp", 1521, 2, 2, 1700000010000000000,
     1700000011000000000, "RST from 10.0.1.9", "CAAAAAAAAAAAAAAAA5 CAAAAAAAAAAAAAAAA6",
     "Front-ends reach the database"},
    {"slow", FA_SEV_WARNING, "site.rules", 3, "require fe -> dc tcp 12000", "10.0.0.5", "fe",
     "10.0.2.1", "dc", "tcp", 12000, 4, 4, 1700000003000000000, 1700000004000000000,
     "handshake 25.0 ms > 10 ms", "CAAAAAAAAAAAAAAAA7", "Deployment Controller"},
    {"unexpected", FA_SEV_WARNING, NULL, 0, NULL, "10.0.0.5", "fe", "203.0.113.9", NULL, "udp",
     5353, 6, 0, 1700000020000000000, 1700000029000000000, NULL, "", "no rule allows this"},
    {"unreachable", FA_SEV_WARNING, "rules/outsystems-11.rules", 20,
     "require fe -> lifetime tcp 443", "10.0.0.7", "fe", "10.0.3.3", "lifetime", "tcp", 443, 2, 3,
     1700000030000000000, 1700000031000000000, "icmp 3/13 from 192.0.2.1", "CAAAAAAAAAAAAAAAA8",
     "Front-ends reach LifeTime"},
    {"not-observed", FA_SEV_INFO, "site.rules", 7, "require fe -> smtp any", NULL, "fe", NULL,
     "smtp", NULL, -1, 0, 0, 0, 0, NULL, "", "Mail relay"},
    {"unexpected", FA_SEV_INFO, NULL, 0, NULL, "10.0.0.8", NULL, "10.0.0.9", NULL, "icmp", -1, 1, 0,
     1700000040000000000, 1700000040000000000, NULL, "CAAAAAAAAAAAAAAAA9", "no rule allows this"},
};

#define NREQUIREMENTS (sizeof fixture_requirements / sizeof *fixture_requirements)
#define NFINDINGS (sizeof fixture_findings / sizeof *fixture_findings)

/* The fixture database; its path. */
static const char *fixture_db(const char *name)
{
    const char *path = db_path(name);
    struct fa_store *s = open_ok(path, 0);
    int64_t audit;

    fixture_runs(s, "a.pcap b.pcap");
    audit = begin_audit(s, "1,2");
    for (size_t i = 0; i < NREQUIREMENTS; i++)
        requirement(s, audit, &fixture_requirements[i]);
    for (size_t i = 0; i < NFINDINGS; i++)
        finding(s, audit, &fixture_findings[NFINDINGS - 1 - i]); /* the store sorts them */
    end_audit(s);
    fa_store_close(s);
    return path;
}

/* The report of audit 1 at path, as a string (valid until the next call). */
static char *render(const char *path, enum fa_report_format fmt)
{
    static char *text;
    char err[FA_STORE_ERRBUF_SIZE] = "";
    struct fa_store *s = open_ok(path, 1);
    size_t size;
    FILE *out;

    free(text);
    text = NULL;
    out = open_memstream(&text, &size);
    assert_non_null(out);
    if (fa_report_write(s, 1, fmt, out, err) != 0)
        fail_msg("report: %s", err);
    fclose(out);
    fa_store_close(s);
    return text;
}

/* Reports of the fixture, made once. */
static const char *fixture_path(void)
{
    static char path[256];

    if (!path[0])
        snprintf(path, sizeof path, "%s", fixture_db("fixture.db"));
    return path;
}

static const char *contains(const char *text, const char *part)
{
    const char *at = strstr(text, part);

    if (!at)
        fail_msg("missing from the report:\n%s\n--- report ---\n%s", part, text);
    return at;
}

static void lacks(const char *text, const char *part)
{
    if (strstr(text, part))
        fail_msg("the report holds \"%s\" at:\n%.200s", part, strstr(text, part));
}

/* The UTF-8 validity the report promises for text, markdown and html,
 * checked here apart from json.c's decoder. */
static int valid_utf8(const char *str)
{
    const unsigned char *s = (const unsigned char *)str;

    while (*s) {
        unsigned c = *s, n, cp;

        if (c < 0x80) {
            s++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            n = 1, cp = c & 0x1f;
        else if (c >= 0xe0 && c <= 0xef)
            n = 2, cp = c & 0x0f;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 3, cp = c & 0x07;
        else
            return 0;
        for (unsigned i = 1; i <= n; i++) {
            if ((s[i] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i] & 0x3f);
        }
        if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
            (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        s += n + 1;
    }
    return 1;
}

/* No byte that a terminal could act on: controls but newline, DEL, and
 * (besides checking UTF-8) the C1 controls' encodings. */
static void assert_inert(const char *text)
{
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if ((*c < 0x20 && *c != '\n') || *c == 0x7f)
            fail_msg("control byte 0x%02x at: %.60s", *c, (const char *)c);
        if (*c == 0xc2 && c[1] >= 0x80 && c[1] <= 0x9f)
            fail_msg("C1 control at: %.60s", (const char *)c);
    }
    assert_true(valid_utf8(text));
}

/* ---- json ------------------------------------------------------------------- */

static json_t *parse(const char *text)
{
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);

    if (!doc)
        fail_msg("json: %s at line %d, column %d", jerr.text, jerr.line, jerr.column);
    return doc;
}

static const char *jstr(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    if (!json_is_string(v))
        fail_msg("\"%s\" is not a string", key);
    return json_string_value(v);
}

static json_int_t jint(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    if (!json_is_integer(v))
        fail_msg("\"%s\" is not an integer", key);
    return json_integer_value(v);
}

static double jreal(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    if (!json_is_real(v))
        fail_msg("\"%s\" is not a number with decimals", key);
    return json_real_value(v);
}

static void assert_jnull(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    if (!json_is_null(v))
        fail_msg("\"%s\" is %s, not null", key, v ? "set" : "missing");
}

/* obj has exactly the keys listed (NULL-terminated). */
static void assert_keys(json_t *obj, const char *const *keys)
{
    size_t n = 0;

    for (; keys[n]; n++)
        if (!json_object_get(obj, keys[n]))
            fail_msg("key \"%s\" missing", keys[n]);
    assert_int_equal(json_object_size(obj), n);
}

static const char *const summary_keys[] = {
    "audit_id",
    "created",
    "version",
    "report_version",
    "fail_on",
    "rule_files",
    "runs",
    "first_packet",
    "last_packet",
    "packets",
    "bytes",
    "flows",
    "flows_audited",
    "decode_errors",
    "evicted",
    "orphan_fragments",
    "received",
    "dropped",
    "if_dropped",
    "findings_by_severity",
    "requirements_by_status",
    NULL,
};

static const char *const run_keys[] = {
    "id",         "mode",    "source",           "filter",        "sensor",   "version",
    "started",    "ended",   "first_packet",     "last_packet",   "packets",  "bytes",
    "flows",      "evicted", "orphan_fragments", "decode_errors", "received", "dropped",
    "if_dropped", NULL,
};

static const char *const requirement_keys[] = {
    "rule",       "rule_file", "rule_line", "rule_text", "status",   "purpose",
    "src_role",   "dst_role",  "proto",     "ports",     "attempts", "failures",
    "first_seen", "last_seen", "message",   NULL,
};

static const char *const finding_keys[] = {
    "kind",      "severity",   "section",   "rule",     "rule_file", "rule_line", "rule_text",
    "src",       "src_role",   "dst",       "dst_role", "proto",     "port",      "count",
    "syn_count", "first_seen", "last_seen", "detail",   "examples",  "message",   NULL,
};

static void test_json_summary(void **state)
{
    const char *text = render(fixture_path(), FA_REPORT_JSON);
    json_t *doc = parse(text), *sum, *runs, *run, *files, *by;
    const char *const top[] = {"summary", "requirements", "findings", NULL};

    (void)state;
    assert_keys(doc, top);
    sum = json_object_get(doc, "summary");
    assert_keys(sum, summary_keys);
    assert_int_equal(jint(sum, "audit_id"), 1);
    assert_true(jreal(sum, "created") == 1700003600.0);
    assert_string_equal(jstr(sum, "version"), "0.1.0");
    assert_string_equal(jstr(sum, "report_version"), FA_VERSION);
    assert_string_equal(jstr(sum, "fail_on"), "error");
    files = json_object_get(sum, "rule_files");
    assert_int_equal(json_array_size(files), 2);
    assert_string_equal(json_string_value(json_array_get(files, 0)), "rules/outsystems-11.rules");
    assert_string_equal(json_string_value(json_array_get(files, 1)), "site.rules");

    /* Run 3 exists but the audit did not cover it. */
    runs = json_object_get(sum, "runs");
    assert_int_equal(json_array_size(runs), 2);
    run = json_array_get(runs, 0);
    assert_keys(run, run_keys);
    assert_int_equal(jint(run, "id"), 1);
    assert_string_equal(jstr(run, "mode"), "read");
    assert_string_equal(jstr(run, "source"), "a.pcap b.pcap");
    assert_string_equal(jstr(run, "filter"), "tcp or udp");
    assert_int_equal(jint(run, "decode_errors"), 7);
    assert_jnull(run, "received");
    assert_jnull(run, "dropped");
    run = json_array_get(runs, 1);
    assert_int_equal(jint(run, "id"), 2);
    assert_jnull(run, "filter");
    assert_jnull(run, "ended");
    assert_int_equal(jint(run, "received"), 510);
    assert_int_equal(jint(run, "dropped"), 7);
    assert_int_equal(jint(run, "if_dropped"), 3);

    /* Sums and span over runs 1 and 2 only. */
    assert_true(jreal(sum, "first_packet") == 1699999990.000001);
    assert_true(jreal(sum, "last_packet") == 1700000060.5);
    assert_int_equal(jint(sum, "packets"), 1500);
    assert_int_equal(jint(sum, "bytes"), 1234567 + 65536);
    assert_int_equal(jint(sum, "flows"), 42);
    assert_int_equal(jint(sum, "flows_audited"), 42);
    assert_int_equal(jint(sum, "decode_errors"), 7);
    assert_int_equal(jint(sum, "evicted"), 3);
    assert_int_equal(jint(sum, "orphan_fragments"), 1);
    assert_int_equal(jint(sum, "received"), 510);
    assert_int_equal(jint(sum, "dropped"), 7);
    assert_int_equal(jint(sum, "if_dropped"), 3);
    by = json_object_get(sum, "findings_by_severity");
    assert_int_equal(json_object_size(by), 3);
    assert_int_equal(jint(by, "error"), 3);
    assert_int_equal(jint(by, "warning"), 3);
    assert_int_equal(jint(by, "info"), 2);
    by = json_object_get(sum, "requirements_by_status");
    assert_int_equal(json_object_size(by), 4);
    assert_int_equal(jint(by, "ok"), 1);
    assert_int_equal(jint(by, "failing"), 1);
    assert_int_equal(jint(by, "failed"), 1);
    assert_int_equal(jint(by, "not-observed"), 1);

    /* Times are written with exactly 6 decimals. */
    contains(text, "\"first_packet\":1699999990.000001,");
    contains(text, "\"created\":1700003600.000000,");
    json_decref(doc);
}

static void test_json_requirements(void **state)
{
    json_t *doc = parse(render(fixture_path(), FA_REPORT_JSON));
    json_t *reqs = json_object_get(doc, "requirements"), *q;

    (void)state;
    assert_int_equal(json_array_size(reqs), NREQUIREMENTS);
    for (size_t i = 0; i < NREQUIREMENTS; i++) {
        const struct fa_requirement *want = &fixture_requirements[i];
        char rule[128];

        q = json_array_get(reqs, i);
        assert_keys(q, requirement_keys);
        snprintf(rule, sizeof rule, "%s:%d", want->rule_file, want->rule_line);
        assert_string_equal(jstr(q, "rule"), rule);
        assert_string_equal(jstr(q, "rule_file"), want->rule_file);
        assert_int_equal(jint(q, "rule_line"), want->rule_line);
        assert_string_equal(jstr(q, "rule_text"), want->rule_text);
        assert_string_equal(jstr(q, "status"), want->status);
        assert_string_equal(jstr(q, "purpose"), want->purpose);
        assert_string_equal(jstr(q, "src_role"), want->src_role);
        assert_string_equal(jstr(q, "dst_role"), want->dst_role);
        assert_string_equal(jstr(q, "proto"), want->proto);
        assert_string_equal(jstr(q, "ports"), want->ports);
        assert_int_equal(jint(q, "attempts"), want->attempts);
        assert_int_equal(jint(q, "failures"), want->failures);
        assert_string_equal(jstr(q, "message"), want->message);
    }
    q = json_array_get(reqs, 0);
    assert_true(jreal(q, "first_seen") == 1700000001.0);
    assert_true(jreal(q, "last_seen") == 1700000050.0);
    q = json_array_get(reqs, 3);
    assert_jnull(q, "first_seen");
    assert_jnull(q, "last_seen");
    json_decref(doc);
}

/* Each finding as stored, in the store's order. */
static void test_json_findings(void **state)
{
    const char *const sections[NFINDINGS] = {"failures",   "failures", "failures",    "failures",
                                             "unexpected", "failures", "information", "unexpected"};
    json_t *doc = parse(render(fixture_path(), FA_REPORT_JSON));
    json_t *list = json_object_get(doc, "findings"), *f, *ex;

    (void)state;
    assert_int_equal(json_array_size(list), NFINDINGS);
    for (size_t i = 0; i < NFINDINGS; i++) {
        const struct fa_finding *want = &fixture_findings[i];

        f = json_array_get(list, i);
        assert_keys(f, finding_keys);
        assert_string_equal(jstr(f, "kind"), want->kind);
        assert_string_equal(jstr(f, "severity"), fa_severity_name(want->severity));
        assert_string_equal(jstr(f, "section"), sections[i]);
        assert_int_equal(jint(f, "count"), want->count);
        assert_int_equal(jint(f, "syn_count"), want->syn_count);
        assert_string_equal(jstr(f, "message"), want->message);
        assert_true(json_is_array(json_object_get(f, "examples")));
    }

    /* Everything set. */
    f = json_array_get(list, 0);
    assert_string_equal(jstr(f, "rule"), "rules/outsystems-11.rules:12");
    assert_string_equal(jstr(f, "rule_file"), "rules/outsystems-11.rules");
    assert_int_equal(jint(f, "rule_line"), 12);
    assert_string_equal(jstr(f, "rule_text"), "require fe -> db tcp 1433|1521");
    assert_string_equal(jstr(f, "src"), "10.0.0.5");
    assert_string_equal(jstr(f, "src_role"), "fe");
    assert_string_equal(jstr(f, "dst"), "10.0.1.9");
    assert_string_equal(jstr(f, "dst_role"), "db");
    assert_string_equal(jstr(f, "proto"), "tcp");
    assert_int_equal(jint(f, "port"), 1433);
    assert_int_equal(jint(f, "syn_count"), 9);
    assert_true(jreal(f, "first_seen") == 1700000001.0);
    assert_true(jreal(f, "last_seen") == 1700000050.0);
    assert_jnull(f, "detail");
    ex = json_object_get(f, "examples");
    assert_int_equal(json_array_size(ex), 3);
    assert_string_equal(json_string_value(json_array_get(ex, 0)), "CAAAAAAAAAAAAAAAA1");
    assert_string_equal(json_string_value(json_array_get(ex, 2)), "CAAAAAAAAAAAAAAAA3");

    f = json_array_get(list, 2); /* rejected: a detail */
    assert_string_equal(jstr(f, "detail"), "RST from 10.0.1.9");

    /* Unexpected: no rule, no destination role, no example. */
    f = json_array_get(list, 4);
    assert_string_equal(jstr(f, "kind"), "unexpected");
    assert_jnull(f, "rule");
    assert_jnull(f, "rule_file");
    assert_jnull(f, "rule_line");
    assert_jnull(f, "rule_text");
    assert_jnull(f, "dst_role");
    assert_int_equal(jint(f, "port"), 5353);
    assert_int_equal(json_array_size(json_object_get(f, "examples")), 0);

    /* Not observed: roles only, no protocol, port or time. */
    f = json_array_get(list, 6);
    assert_string_equal(jstr(f, "kind"), "not-observed");
    assert_jnull(f, "src");
    assert_jnull(f, "dst");
    assert_string_equal(jstr(f, "src_role"), "fe");
    assert_string_equal(jstr(f, "dst_role"), "smtp");
    assert_jnull(f, "proto");
    assert_jnull(f, "port");
    assert_jnull(f, "first_seen");
    assert_jnull(f, "last_seen");
    assert_string_equal(jstr(f, "rule"), "site.rules:7");

    /* ICMP: a protocol without a port. */
    f = json_array_get(list, 7);
    assert_string_equal(jstr(f, "proto"), "icmp");
    assert_jnull(f, "port");
    json_decref(doc);
}

/* ---- text, markdown, html ---------------------------------------------------- */

static void test_text(void **state)
{
    const char *text = render(fixture_path(), FA_REPORT_TEXT);

    (void)state;
    assert_inert(text);
    assert_memory_equal(text, "flowaudit report: audit 1\n=========================\n",
                        strlen("flowaudit report: audit 1\n=========================\n"));
    contains(text, "\nSummary\n-------\n"
                   "Audit          1, made 2023-11-14 23:13:20 UTC by flowaudit 0.1.0,"
                   " fails on error\n");
    contains(text, "\nRule files     rules/outsystems-11.rules, site.rules\n"
                   "Runs           #1 read a.pcap b.pcap (sensor sensor1, filter tcp or udp,"
                   " flowaudit 0.1.0)\n"
                   "               #2 capture eth0 (sensor sensor2, flowaudit 0.1.0,"
                   " unfinished)\n"
                   "Time span      2023-11-14 22:13:10 .. 2023-11-14 22:14:20 UTC\n"
                   "Packets        1,500\n"
                   "Bytes          1,300,103\n"
                   "Flows          42 recorded, 42 audited\n"
                   "Dropped        7 by the kernel, 3 by the interface, of 510 received\n"
                   "Decode errors  7\n"
                   "Evicted flows  3\n"
                   "Findings       3 errors, 3 warnings, 2 info\n"
                   "Requirements   1 ok, 1 failing, 1 failed, 1 not-observed\n");
    lacks(text, "other.pcap");

    /* The requirements table, its columns as wide as their widest cell. */
    contains(text,
             "\nRequirements\n------------\n"
             "Status        Rule                          Roles           Protocol/ports  Purpose "
             "     Attempts  Failures  First seen (UTC)     Last seen (UTC)      Message\n"
             "------------  ----------------------------  --------------  --------------  "
             "-----------  --------  --------  -------------------  -------------------  "
             "-----------------------------\n"
             "failed        rules/outsystems-11.rules:12  fe -> db        tcp/1433|1521   "
             "publication  5         5         2023-11-14 22:13:21  2023-11-14 22:14:10  "
             "Front-ends reach the database\n");
    contains(text, "\nnot-observed  site.rules:7                  fe -> smtp      any             "
                   "monitoring   0         0         -                    -                    "
                   "Mail relay\n");

    contains(text, "\nFailures\n--------\n"
                   "Blocked, rejected, unreachable, denied and slow traffic, and ports carrying"
                   " another protocol, by host pair and port.\n\n"
                   "[error] blocked  10.0.0.5 (fe) -> 10.0.1.9 (db)  tcp/1433\n"
                   "    flows     3 (9 SYNs)\n"
                   "    seen      2023-11-14 22:13:21 .. 2023-11-14 22:14:10 UTC\n"
                   "    examples  CAAAAAAAAAAAAAAAA1 CAAAAAAAAAAAAAAAA2 CAAAAAAAAAAAAAAAA3\n"
                   "    rule      rules/outsystems-11.rules:12  require fe -> db tcp 1433|1521\n"
                   "    message   Front-ends reach the database\n\n"
                   "[error] denied  10.9.9.9 -> 10.0.1.9 (db)  tcp/22\n"
                   "    flows     1 (1 SYN)\n");
    contains(text, "\n[warning] unreachable  10.0.0.7 (fe) -> 10.0.3.3 (lifetime)  tcp/443\n"
                   "    flows     2 (3 SYNs)\n"
                   "    seen      2023-11-14 22:13:50 .. 2023-11-14 22:13:51 UTC\n"
                   "    detail    icmp 3/13 from 192.0.2.1\n");
    contains(text, "\nUnexpected traffic\n------------------\n"
                   "Traffic that no rule allows.\n\n"
                   "[warning] unexpected  10.0.0.5 (fe) -> 203.0.113.9  udp/5353\n"
                   "    flows     6\n"
                   "    seen      2023-11-14 22:13:40 .. 2023-11-14 22:13:49 UTC\n"
                   "    message   no rule allows this\n\n"
                   "[info] unexpected  10.0.0.8 -> 10.0.0.9  icmp\n");
    /* Information closes the report. */
    assert_string_equal(contains(text, "\nInformation\n"),
                        "\nInformation\n-----------\n"
                        "Requirements that no flow tested.\n\n"
                        "[info] not-observed  fe -> smtp\n"
                        "    flows     0\n"
                        "    rule      site.rules:7  require fe -> smtp any\n"
                        "    message   Mail relay\n");
}

static void test_markdown(void **state)
{
    const char *text = render(fixture_path(), FA_REPORT_MARKDOWN);

    (void)state;
    assert_inert(text);
    assert_memory_equal(text, "# flowaudit report: audit 1\n\n## Summary\n\n",
                        strlen("# flowaudit report: audit 1\n\n## Summary\n\n"));
    contains(text, "\n- **Runs:** \n"
                   "  - #1 read a.pcap b.pcap (sensor sensor1, filter tcp or udp, flowaudit"
                   " 0.1.0)\n"
                   "  - #2 capture eth0 (sensor sensor2, flowaudit 0.1.0, unfinished)\n"
                   "- **Time span:** 2023-11-14 22:13:10 .. 2023-11-14 22:14:20 UTC\n");
    contains(text, "\n- **Findings:** 3 errors, 3 warnings, 2 info\n"
                   "- **Requirements:** 1 ok, 1 failing, 1 failed, 1 not-observed\n\n"
                   "## Failures\n\n");
    contains(text, "## Requirements\n\n"
                   "| Status | Rule | Roles | Protocol/ports | Purpose | Attempts | Failures |"
                   " First seen (UTC) | Last seen (UTC) | Message |\n"
                   "|---|---|---|---|---|---|---|---|---|---|\n"
                   "| **failed** | rules/outsystems-11.rules:12 | fe \xe2\x86\x92 db |"
                   " tcp/1433\\|1521 | publication | 5 | 5 | 2023-11-14 22:13:21 |"
                   " 2023-11-14 22:14:10 | Front-ends reach the database |\n");
    contains(text, "## Failures\n\n"
                   "Blocked, rejected, unreachable, denied and slow traffic, and ports carrying"
                   " another protocol, by host pair and port.\n\n"
                   "| Severity | Kind | Source | Destination | Protocol/port | Flows | SYNs |"
                   " First seen (UTC) | Last seen (UTC) | Detail | Examples | Rule | Message |\n"
                   "|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
                   "| **error** | blocked | 10.0.0.5 (fe) | 10.0.1.9 (db) | tcp/1433 | 3 | 9 |"
                   " 2023-11-14 22:13:21 | 2023-11-14 22:14:10 | - | CAAAAAAAAAAAAAAAA1"
                   " CAAAAAAAAAAAAAAAA2 CAAAAAAAAAAAAAAAA3 | rules/outsystems-11.rules:12:"
                   " require fe -&gt; db tcp 1433\\|1521 | Front-ends reach the database |\n");
    contains(text, "\n| **warning** | unexpected | 10.0.0.5 (fe) | 203.0.113.9 | udp/5353 | 6 |"
                   " 0 | 2023-11-14 22:13:40 | 2023-11-14 22:13:49 | - | - | - |"
                   " no rule allows this |\n");
    contains(text, "\n| **info** | not-observed | fe | smtp | - | 0 | 0 | - | - | - | - |"
                   " site.rules:7: require fe -&gt; smtp any | Mail relay |\n");
}

static void test_html(void **state)
{
    const char *text = render(fixture_path(), FA_REPORT_HTML);

    (void)state;
    assert_inert(text);
    assert_memory_equal(text, "<!DOCTYPE html>\n", strlen("<!DOCTYPE html>\n"));
    assert_string_equal(contains(text, "</body>"), "</body>\n</html>\n");
    /* Self-contained and inert: nothing fetched, nothing run. */
    contains(text, "<meta charset=\"utf-8\">");
    contains(text, "content=\"default-src 'none'; style-src 'unsafe-inline'\"");
    contains(text, "@media print{");
    contains(text, "tr,th,td{break-inside:avoid;page-break-inside:avoid}");
    lacks(text, "<script");
    lacks(text, "<link");
    lacks(text, "<img");
    lacks(text, "src=");
    lacks(text, "url(");
    lacks(text, "@import");
    lacks(text, "http:");
    lacks(text, "https:");

    contains(text, "<tr><th>Runs</th><td>#1 read a.pcap b.pcap (sensor sensor1, filter tcp or"
                   " udp, flowaudit 0.1.0)<br>#2 capture eth0 (sensor sensor2, flowaudit 0.1.0,"
                   " unfinished)</td></tr>\n");
    contains(text, "<tr><th>Dropped</th><td>7 by the kernel, 3 by the interface, of 510"
                   " received</td></tr>\n");
    contains(text, "<tr><td><span class=\"mark unseen\">not-observed</span></td>"
                   "<td>site.rules:7</td><td>fe &rarr; smtp</td><td>any</td><td>monitoring</td>"
                   "<td>0</td><td>0</td><td>-</td><td>-</td><td>Mail relay</td></tr>\n");
    contains(text, "<tr><td><span class=\"mark error\">error</span></td><td>rejected</td>"
                   "<td>10.0.0.6 (fe)</td><td>10.0.1.9 (db)</td><td>tcp/1521</td><td>2</td>"
                   "<td>2</td><td>2023-11-14 22:13:30</td><td>2023-11-14 22:13:31</td>"
                   "<td>RST from 10.0.1.9</td><td>CAAAAAAAAAAAAAAAA5 CAAAAAAAAAAAAAAAA6</td>"
                   "<td>rules/outsystems-11.rules:12: require fe -&gt; db tcp 1433|1521</td>"
                   "<td>Front-ends reach the database</td></tr>\n");
    contains(text, "<h2>Unexpected traffic</h2>\n<p>Traffic that no rule allows.</p>\n<table>");
}

/* ---- hostile strings ----------------------------------------------------------- */

/* Markup, quotes, separators, a newline, an escape sequence, controls,
 * a bidi override (U+202E), a C1 CSI (U+009B), valid UTF-8 (e acute)
 * and a byte of no UTF-8 sequence (0xff). */
#define HOSTILE                                                                                    \
    "<script>alert(\"x\")</script> 'q' & | \\ `c` [l](u) a\nb \x1b[31m \x01\x7f "                  \
    "\xe2\x80\xae \xc2\x9b \xc3\xa9 \xff!"

/* HOSTILE as JSON reads it back: 0xff is U+00FF. */
#define HOSTILE_READ                                                                               \
    "<script>alert(\"x\")</script> 'q' & | \\ `c` [l](u) a\nb \x1b[31m \x01\x7f "                  \
    "\xe2\x80\xae \xc2\x9b \xc3\xa9 \xc3\xbf!"

static const char *hostile_db(void)
{
    const char *path = db_path("hostile.db");
    struct fa_store *s = open_ok(path, 0);
    struct fa_finding f = fixture_findings[0];
    struct fa_requirement q = fixture_requirements[0];
    int64_t audit;

    fixture_runs(s, HOSTILE);
    audit = begin_audit(s, "1");
    q.message = HOSTILE;
    q.src_role = HOSTILE;
    requirement(s, audit, &q);
    f.message = f.rule_text = f.detail = f.src_role = HOSTILE;
    finding(s, audit, &f);
    f.kind = "unexpected"; /* the unexpected section too */
    f.rule_file = NULL;
    finding(s, audit, &f);
    end_audit(s);
    fa_store_close(s);
    return path;
}

static void test_hostile_json(void **state)
{
    const char *text = render(hostile_db(), FA_REPORT_JSON);
    json_t *doc = parse(text), *f, *run;

    (void)state;
    /* Pure ASCII with no control character but the line breaks. */
    for (const unsigned char *c = (const unsigned char *)text; *c; c++)
        if (*c >= 0x7f || (*c < 0x20 && *c != '\n'))
            fail_msg("raw byte 0x%02x in JSON", *c);
    contains(text, "\\u001b[31m \\u0001\\u007f \\u202e \\u009b \\u00e9 \\u00ff!");

    run = json_array_get(json_object_get(json_object_get(doc, "summary"), "runs"), 0);
    assert_string_equal(jstr(run, "source"), HOSTILE_READ);
    f = json_array_get(json_object_get(doc, "findings"), 0);
    assert_string_equal(jstr(f, "message"), HOSTILE_READ);
    assert_string_equal(jstr(f, "rule_text"), HOSTILE_READ);
    assert_string_equal(jstr(f, "detail"), HOSTILE_READ);
    assert_string_equal(jstr(f, "src_role"), HOSTILE_READ);
    f = json_array_get(json_object_get(doc, "requirements"), 0);
    assert_string_equal(jstr(f, "message"), HOSTILE_READ);
    json_decref(doc);

    /* Valid UTF-8 reads back as it was. */
    assert_string_equal(
        json_string_value(json_object_get(
            json_array_get(json_object_get(doc = parse(render(fixture_path(), FA_REPORT_JSON)),
                                           "requirements"),
                           0),
            "rule_text")),
        "require fe -> db tcp 1433|1521 \"DB\"");
    json_decref(doc);
}

#define HOSTILE_TEXT                                                                               \
    "<script>alert(\"x\")</script> 'q' & | \\\\ `c` [l](u) a\\x0ab \\x1b[31m \\x01\\x7f "          \
    "\\xe2\\x80\\xae \\xc2\\x9b \xc3\xa9 \\xff!"

static void test_hostile_text(void **state)
{
    const char *text = render(hostile_db(), FA_REPORT_TEXT);

    (void)state;
    assert_inert(text);
    lacks(text, "\xe2\x80\xae");
    contains(text, "\nRuns           #1 read " HOSTILE_TEXT " (sensor");
    contains(text, "\n[error] blocked  10.0.0.5 (" HOSTILE_TEXT ") -> 10.0.1.9 (db)  tcp/1433\n");
    contains(text, "\n    detail    " HOSTILE_TEXT "\n");
    contains(text, "\n    rule      rules/outsystems-11.rules:12  " HOSTILE_TEXT "\n"
                   "    message   " HOSTILE_TEXT "\n");
    /* The requirements row: the role is wider than a column may be. */
    contains(text, "\nfailed  rules/outsystems-11.rules:12  " HOSTILE_TEXT
                   " -> db  tcp/1433|1521   publication  5         5         ");
    contains(text, "  2023-11-14 22:14:10  " HOSTILE_TEXT "\n");
}

#define HOSTILE_MD                                                                                 \
    "&lt;script&gt;alert(\"x\")&lt;/script&gt; 'q' &amp; \\| \\\\\\\\ \\`c\\` \\[l\\](u)"          \
    " a\\\\x0ab \\\\x1b\\[31m \\\\x01\\\\x7f \\\\xe2\\\\x80\\\\xae \\\\xc2\\\\x9b"                 \
    " \xc3\xa9 \\\\xff!"

/* Unescaped '|' in a line of markdown. */
static int md_pipes(const char *line, size_t len)
{
    int n = 0;

    for (size_t i = 0; i < len; i++) {
        if (line[i] == '\\')
            i++;
        else if (line[i] == '|')
            n++;
    }
    return n;
}

static void test_hostile_markdown(void **state)
{
    const char *text = render(hostile_db(), FA_REPORT_MARKDOWN);
    int rows = 0, header = -1;

    (void)state;
    assert_inert(text);
    lacks(text, "<script");
    lacks(text, "\xe2\x80\xae");
    contains(text, "\n  - #1 read " HOSTILE_MD " (sensor");
    contains(text,
             "| **failed** | rules/outsystems-11.rules:12 | " HOSTILE_MD " \xe2\x86\x92 db |");
    contains(text, "| **error** | blocked | 10.0.0.5 (" HOSTILE_MD ") | 10.0.1.9 (db) |");
    contains(text, " | " HOSTILE_MD " | CAAAAAAAAAAAAAAAA1");
    contains(text, " | rules/outsystems-11.rules:12: " HOSTILE_MD " | " HOSTILE_MD " |\n");

    /* Every line of a table has as many pipes as its header: no cell was
     * split by a '|' or a newline.  Rows must start with '|'. */
    for (const char *line = text; *line;) {
        size_t len = strcspn(line, "\n");

        if (line[0] != '|') {
            header = -1;
        } else if (header < 0) {
            header = md_pipes(line, len);
            assert_true(header == 11 || header == 14);
        } else {
            assert_int_equal(md_pipes(line, len), header);
            rows++;
        }
        line += len + (line[len] == '\n');
    }
    /* Delimiter and rows: requirements (1 + 1), failures and unexpected (1 + 1 each). */
    assert_int_equal(rows, 2 + 2 + 2);
}

#define HOSTILE_HTML                                                                               \
    "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &#39;q&#39; &amp; | \\\\ `c` [l](u) "       \
    "a<span class=\"esc\">\\x0a</span>b <span class=\"esc\">\\x1b</span>[31m "                     \
    "<span class=\"esc\">\\x01</span><span class=\"esc\">\\x7f</span> "                            \
    "<span class=\"esc\">\\xe2</span><span class=\"esc\">\\x80</span>"                             \
    "<span class=\"esc\">\\xae</span> <span class=\"esc\">\\xc2</span>"                            \
    "<span class=\"esc\">\\x9b</span> \xc3\xa9 <span class=\"esc\">\\xff</span>!"

static void test_hostile_html(void **state)
{
    const char *text = render(hostile_db(), FA_REPORT_HTML);

    (void)state;
    assert_inert(text);
    lacks(text, "<script");
    lacks(text, "alert(\"");
    lacks(text, "'q'");
    lacks(text, "\xe2\x80\xae");
    contains(text, "<td>#1 read " HOSTILE_HTML
                   " (sensor sensor1, filter tcp or udp, flowaudit 0.1.0)</td></tr>\n");
    contains(text, "<td>10.0.0.5 (" HOSTILE_HTML ")</td><td>10.0.1.9 (db)</td>");
    contains(text, "<td>rules/outsystems-11.rules:12: " HOSTILE_HTML "</td><td>" HOSTILE_HTML
                   "</td></tr>\n");
    contains(text, "<td>" HOSTILE_HTML " &rarr; db</td>");
}

/* ---- the JSON writer -------------------------------------------------------- */

static char *json_of(void (*write)(struct fa_json *j))
{
    static char *text;
    size_t size;
    FILE *out;
    struct fa_json j;

    free(text);
    text = NULL;
    out = open_memstream(&text, &size);
    assert_non_null(out);
    fa_json_init(&j, out);
    write(&j);
    assert_int_equal(j.depth, 0);
    fclose(out);
    return text;
}

static void write_strings(struct fa_json *j)
{
    fa_json_begin_array(j, NULL, 0);
    fa_json_str(j, NULL, "\xf0\x9f\x98\x80");     /* U+1F600: a surrogate pair */
    fa_json_str(j, NULL, "\xef\xbf\xbf\xc2\x80"); /* U+FFFF, U+0080 */
    fa_json_str(j, NULL, "\xc0\xaf");             /* overlong '/' */
    fa_json_str(j, NULL, "\xed\xa0\x80");         /* a surrogate */
    fa_json_str(j, NULL, "\xf4\x90\x80\x80");     /* beyond U+10FFFF */
    fa_json_str(j, NULL, "\xe2\x82");             /* cut short */
    fa_json_str(j, NULL, "\"\\/\t\x1f\x7f");
    fa_json_str(j, NULL, NULL);
    fa_json_end(j);
}

static void write_nested(struct fa_json *j)
{
    fa_json_begin_object(j, NULL, 1);
    fa_json_begin_array(j, "a", 1);
    fa_json_begin_object(j, NULL, 0);
    fa_json_int(j, "i", -5);
    fa_json_uint(j, "u", UINT64_MAX);
    fa_json_bool(j, "t", 1);
    fa_json_bool(j, "f", 0);
    fa_json_null(j, "n");
    fa_json_end(j);
    fa_json_secs(j, NULL, -1500000);
    fa_json_secs(j, NULL, 1);
    fa_json_end(j);
    fa_json_begin_array(j, "e", 1);
    fa_json_end(j);
    fa_json_begin_object(j, "o", 0);
    fa_json_end(j);
    fa_json_end(j);
}

static void test_json_writer(void **state)
{
    (void)state;
    assert_string_equal(json_of(write_strings),
                        "[\"\\ud83d\\ude00\",\"\\uffff\\u0080\",\"\\u00c0\\u00af\","
                        "\"\\u00ed\\u00a0\\u0080\",\"\\u00f4\\u0090\\u0080\\u0080\","
                        "\"\\u00e2\\u0082\",\"\\\"\\\\/\\u0009\\u001f\\u007f\",null]");
    assert_string_equal(json_of(write_nested),
                        "{\n\"a\":[\n{\"i\":-5,\"u\":18446744073709551615,\"t\":true,\"f\":false,"
                        "\"n\":null},\n-1.500000,\n0.000001\n],\n\"e\":[\n],\n\"o\":{}\n}");
}

/* A container holds any number of values: each after the first takes a
 * comma, the 257th as the 2nd. */
static void write_many(struct fa_json *j)
{
    char key[16];

    fa_json_begin_object(j, NULL, 1);
    fa_json_begin_array(j, "lines", 1);
    for (int i = 0; i < 1000; i++)
        fa_json_int(j, NULL, i);
    fa_json_end(j);
    fa_json_begin_array(j, "flat", 0);
    for (int i = 0; i < 1000; i++)
        fa_json_str(j, NULL, i % 2 ? "odd" : NULL);
    fa_json_end(j);
    fa_json_begin_object(j, "keys", 0);
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        fa_json_uint(j, key, (uint64_t)i * 3);
    }
    fa_json_end(j);
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "top%d", i);
        fa_json_bool(j, key, i % 3 == 0);
    }
    fa_json_end(j);
}

static void test_json_writer_many(void **state)
{
    json_t *doc = parse(json_of(write_many)), *a, *o;
    char key[16];

    (void)state;
    assert_int_equal(json_object_size(doc), 3 + 1000);
    a = json_object_get(doc, "lines");
    assert_int_equal(json_array_size(a), 1000);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(json_integer_value(json_array_get(a, (size_t)i)), i);
    a = json_object_get(doc, "flat");
    assert_int_equal(json_array_size(a), 1000);
    assert_true(json_is_null(json_array_get(a, 256)));
    assert_string_equal(json_string_value(json_array_get(a, 999)), "odd");
    o = json_object_get(doc, "keys");
    assert_int_equal(json_object_size(o), 1000);
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof key, "k%d", i);
        assert_int_equal(jint(o, key), i * 3);
    }
    assert_true(json_is_true(json_object_get(doc, "top999")));
    assert_true(json_is_false(json_object_get(doc, "top256")));
    json_decref(doc);
}

/* ---- edges ----------------------------------------------------------------------- */

/* An audit of nothing: no run (though the database has some), no
 * requirement, no finding. */
static void test_empty_audit(void **state)
{
    const char *path = db_path("empty.db");
    struct fa_store *s = open_ok(path, 0);
    json_t *doc, *sum;
    const char *text;

    (void)state;
    fixture_runs(s, "x.pcap");
    begin_audit(s, "");
    end_audit(s);
    fa_store_close(s);

    doc = parse(render(path, FA_REPORT_JSON));
    sum = json_object_get(doc, "summary");
    assert_int_equal(json_array_size(json_object_get(sum, "runs")), 0);
    assert_jnull(sum, "first_packet");
    assert_jnull(sum, "last_packet");
    assert_jnull(sum, "received");
    assert_jnull(sum, "dropped");
    assert_int_equal(jint(sum, "packets"), 0);
    assert_int_equal(json_array_size(json_object_get(doc, "requirements")), 0);
    assert_int_equal(json_array_size(json_object_get(doc, "findings")), 0);
    json_decref(doc);
    /* Empty arrays keep their line layout. */
    text = render(path, FA_REPORT_JSON);
    assert_string_equal(contains(text, "\n\"requirements\""),
                        "\n\"requirements\":[\n],\n\"findings\":[\n]\n}\n");

    text = render(path, FA_REPORT_TEXT);
    contains(text, "\nRuns           none\nTime span      no packet\n");
    contains(text, "\nDropped        not measured (no live capture)\n");
    /* Failures first: they are what the reader came for. */
    contains(text, "\nFailures\n--------\nNone.\n\nRequirements\n------------\n"
                   "None: the rule files require nothing.\n\nUnexpected traffic\n"
                   "------------------\nNone.\n\nInformation\n-----------\nNone.\n");
    text = render(path, FA_REPORT_MARKDOWN);
    contains(text, "## Information\n\nNone.\n\n");
    text = render(path, FA_REPORT_HTML);
    contains(text, "<h2>Failures</h2>\n<p>None.</p>\n");
    lacks(text, "<table>");
}

/* A backslash in stored text shows doubled, so that text reading "\xe2"
 * never looks like the escaped byte 0xe2 next to it. */
static void test_backslashes(void **state)
{
    const char *path = db_path("backslash.db");
    struct fa_store *s = open_ok(path, 0);
    struct fa_finding f = fixture_findings[0];
    const char *text;

    (void)state;
    fixture_runs(s, "x.pcap");
    f.message = "\\xe2 \xe2 \\";
    finding(s, begin_audit(s, "1"), &f);
    end_audit(s);
    fa_store_close(s);

    text = render(path, FA_REPORT_TEXT);
    contains(text, "\n    message   \\\\xe2 \\xe2 \\\\\n");
    /* Markdown takes "\\" for one backslash: it shows "\\xe2 \xe2 \\". */
    text = render(path, FA_REPORT_MARKDOWN);
    contains(text, " | \\\\\\\\xe2 \\\\xe2 \\\\\\\\ |\n");
    text = render(path, FA_REPORT_HTML);
    contains(text, "<td>\\\\xe2 <span class=\"esc\">\\xe2</span> \\\\</td></tr>\n");
    /* JSON has its own escaping, which is unambiguous. */
    contains(render(path, FA_REPORT_JSON), "\"message\":\"\\\\xe2 \\u00e2 \\\\\"");
}

/* A host that no role names has no role: not "()", not "". */
static void test_empty_role(void **state)
{
    const char *path = db_path("norole.db");
    struct fa_store *s = open_ok(path, 0);
    struct fa_finding f = fixture_findings[4]; /* unexpected, src_role fe, dst_role NULL */
    json_t *doc, *js;
    const char *text;
    int64_t audit;

    (void)state;
    fixture_runs(s, "x.pcap");
    audit = begin_audit(s, "1");
    f.src_role = "";
    f.dst_role = "";
    finding(s, audit, &f);
    f = fixture_findings[6]; /* not-observed: roles, no hosts */
    f.dst_role = "";
    finding(s, audit, &f);
    end_audit(s);
    fa_store_close(s);

    text = render(path, FA_REPORT_TEXT);
    contains(text, "\n[warning] unexpected  10.0.0.5 -> 203.0.113.9  udp/5353\n");
    contains(text, "\n[info] not-observed  fe -> -\n");
    lacks(text, "()");
    text = render(path, FA_REPORT_MARKDOWN);
    contains(text, "| **warning** | unexpected | 10.0.0.5 | 203.0.113.9 | udp/5353 |");
    contains(text, "| **info** | not-observed | fe | - | - |");
    lacks(text, "()");
    text = render(path, FA_REPORT_HTML);
    contains(text, "<td>unexpected</td><td>10.0.0.5</td><td>203.0.113.9</td>");
    lacks(text, "()");

    doc = parse(render(path, FA_REPORT_JSON));
    js = json_array_get(json_object_get(doc, "findings"), 0);
    assert_string_equal(jstr(js, "kind"), "unexpected");
    assert_jnull(js, "src_role");
    assert_jnull(js, "dst_role");
    js = json_array_get(json_object_get(doc, "findings"), 1);
    assert_string_equal(jstr(js, "src_role"), "fe");
    assert_jnull(js, "dst_role");
    json_decref(doc);
}

/* Rule files are one a line in the audit, so a path may hold spaces. */
static void test_rule_files(void **state)
{
    const char *path = db_path("files.db");
    struct fa_store *s = open_ok(path, 0);
    json_t *doc, *files;
    const char *text;

    (void)state;
    fixture_runs(s, "x.pcap");
    begin_audit_of(s, "1", "/etc/flowaudit/my matrix.rules\n\nsite file.rules\n");
    end_audit(s);
    fa_store_close(s);

    text = render(path, FA_REPORT_TEXT);
    contains(text, "\nRule files     /etc/flowaudit/my matrix.rules, site file.rules\n");
    text = render(path, FA_REPORT_MARKDOWN);
    contains(text, "\n- **Rule files:** /etc/flowaudit/my matrix.rules, site file.rules\n");
    text = render(path, FA_REPORT_HTML);
    contains(text, "<td>/etc/flowaudit/my matrix.rules, site file.rules</td>");
    doc = parse(render(path, FA_REPORT_JSON));
    files = json_object_get(json_object_get(doc, "summary"), "rule_files");
    assert_int_equal(json_array_size(files), 2);
    assert_string_equal(json_string_value(json_array_get(files, 0)),
                        "/etc/flowaudit/my matrix.rules");
    assert_string_equal(json_string_value(json_array_get(files, 1)), "site file.rules");
    json_decref(doc);

    /* Examples stay space separated. */
    doc = parse(render(fixture_path(), FA_REPORT_JSON));
    files = json_object_get(json_array_get(json_object_get(doc, "findings"), 0), "examples");
    assert_int_equal(json_array_size(files), 3);
    assert_string_equal(json_string_value(json_array_get(files, 2)), "CAAAAAAAAAAAAAAAA3");
    json_decref(doc);
}

static void test_errors(void **state)
{
    const char *path = fixture_path();
    struct fa_store *s = open_ok(path, 1);
    char err[FA_STORE_ERRBUF_SIZE] = "";
    FILE *out = fopen("/dev/null", "r"); /* every write fails */
    char *text = NULL;
    size_t size;
    FILE *mem = open_memstream(&text, &size);

    (void)state;
    assert_non_null(out);
    assert_int_equal(fa_report_write(s, 1, FA_REPORT_HTML, out, err), -1);
    assert_memory_equal(err, "cannot write the report: ", strlen("cannot write the report: "));
    fclose(out);

    assert_int_equal(fa_report_write(s, 99, FA_REPORT_TEXT, mem, err), -1);
    contains(err, "no audit 99");
    assert_int_equal(fa_report_write(s, 1, (enum fa_report_format)7, mem, err), -1);
    assert_string_equal(err, "unknown report format 7");
    fclose(mem);
    assert_int_equal(size, 0);
    free(text);
    fa_store_close(s);
}

static void test_format_names(void **state)
{
    (void)state;
    assert_int_equal(fa_report_format_parse("text"), FA_REPORT_TEXT);
    assert_int_equal(fa_report_format_parse("markdown"), FA_REPORT_MARKDOWN);
    assert_int_equal(fa_report_format_parse("html"), FA_REPORT_HTML);
    assert_int_equal(fa_report_format_parse("json"), FA_REPORT_JSON);
    assert_int_equal(fa_report_format_parse("md"), -1);
    assert_int_equal(fa_report_format_parse("JSON"), -1);
    assert_int_equal(fa_report_format_parse(""), -1);
}

/* ---- setup ------------------------------------------------------------------ */

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int make_tmpdir(void **state)
{
    (void)state;
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_tmpdir(void **state)
{
    (void)state;
    return nftw(tmpdir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_summary),     cmocka_unit_test(test_json_requirements),
        cmocka_unit_test(test_json_findings),    cmocka_unit_test(test_text),
        cmocka_unit_test(test_markdown),         cmocka_unit_test(test_html),
        cmocka_unit_test(test_hostile_json),     cmocka_unit_test(test_hostile_text),
        cmocka_unit_test(test_hostile_markdown), cmocka_unit_test(test_hostile_html),
        cmocka_unit_test(test_json_writer),      cmocka_unit_test(test_empty_audit),
        cmocka_unit_test(test_errors),           cmocka_unit_test(test_format_names),
        cmocka_unit_test(test_json_writer_many), cmocka_unit_test(test_backslashes),
        cmocka_unit_test(test_empty_role),       cmocka_unit_test(test_rule_files),
    };

    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
