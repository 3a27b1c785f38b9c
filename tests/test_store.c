/*
 * test_store.c - the SQLite store and the output formats.
 *
 * Every test works on its own database file in a directory made for the
 * run.  Expected outputs are written out in full: the uids in them were
 * computed apart from store.c, from the definition in fa_store_uid().
 */
#define _GNU_SOURCE /* nftw() */

#include <arpa/inet.h>
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
#include <sqlite3.h>

#include "appproto.h"
#include "output.h"
#include "store.h"

extern const char *const fa_schema[];
extern const size_t fa_schema_count;

static char tmpdir[] = "/tmp/test_store.XXXXXX";

/* ---- helpers -------------------------------------------------------------- */

static const char *db_path(const char *name)
{
    static char path[4][256];
    static int next;
    char *p = path[next++ % 4];

    snprintf(p, sizeof path[0], "%s/%s", tmpdir, name);
    return p;
}

static struct fa_addr addr(const char *text)
{
    struct fa_addr a;

    memset(&a, 0, sizeof a);
    if (inet_pton(AF_INET, text, a.b + 12) == 1) {
        a.b[10] = a.b[11] = 0xff;
        return a;
    }
    assert_int_equal(inet_pton(AF_INET6, text, a.b), 1);
    return a;
}

static struct fa_store *open_ok(const char *path, int readonly)
{
    char err[FA_STORE_ERRBUF_SIZE] = "";
    struct fa_store *s = fa_store_open(path, readonly, err);

    if (!s)
        fail_msg("open %s: %s", path, err);
    return s;
}

/* The message fa_store_open() gives for path, which must fail. */
static const char *open_error(const char *path, int readonly)
{
    static char err[FA_STORE_ERRBUF_SIZE];
    struct fa_store *s;

    err[0] = '\0';
    s = fa_store_open(path, readonly, err);
    assert_null(s);
    return err;
}

static int64_t begin_run(struct fa_store *s, const char *source)
{
    char err[FA_STORE_ERRBUF_SIZE] = "";
    struct fa_run_info info = {"read",    source,  "tcp or udp",
                               "sensor1", "0.1.0", 1700000100250000000};
    int64_t id = fa_store_begin_run(s, &info, err);

    if (id < 0)
        fail_msg("begin_run: %s", err);
    return id;
}

static void put_flow(struct fa_store *s, const struct fa_flow_record *r)
{
    char err[FA_STORE_ERRBUF_SIZE] = "";

    if (fa_store_put_flow(s, r, err) != 0)
        fail_msg("put_flow: %s", err);
}

static void commit(struct fa_store *s)
{
    char err[FA_STORE_ERRBUF_SIZE] = "";

    if (fa_store_commit(s, err) != 0)
        fail_msg("commit: %s", err);
}

/* Reads one integer (or -1 for NULL) from the database behind the store. */
static int64_t sql_int(const char *path, const char *sql)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    int64_t v = -2;

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

/* Reads one row as text, columns joined by '|', NULL as "NULL". */
static const char *sql_row(const char *path, const char *sql)
{
    static char buf[1024];
    sqlite3 *db;
    sqlite3_stmt *st;
    size_t n = 0;

    buf[0] = '\0';
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        for (int i = 0; i < sqlite3_column_count(st); i++) {
            const char *v = (const char *)sqlite3_column_text(st, i);
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", n ? "|" : "", v ? v : "NULL");
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return buf;
}

static void sql_exec(const char *path, const char *sql)
{
    sqlite3 *db;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static char *read_file(const char *path)
{
    static char buf[4096];
    FILE *f = fopen(path, "r");
    size_t n;

    assert_non_null(f);
    n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

/* ---- the fixed flows ------------------------------------------------------ */

/* Four flows of run 1: TCP over IPv4 with a handshake, named as TLS 1.3 to
 * apps.example.com and by DNS as apps.cdn.example.net, UDP over IPv6 that lasted 0 s, an ICMP echo
 * that drew an ICMP error, and an ICMPv6 echo that drew an ICMPv6 one.  Their first timestamps are
 * not in seq order. */
static struct fa_flow_record fixed_flow(int i)
{
    struct fa_flow_record r;

    memset(&r, 0, sizeof r);
    r.syn_to_synack_ns = r.synack_to_ack_ns = -1;
    switch (i) {
    case 0:
        r.seq = 1, r.ip_version = 4, r.proto = 6;
        r.orig_h = addr("192.0.2.10"), r.orig_p = 51234;
        r.resp_h = addr("198.51.100.7"), r.resp_p = 443;
        r.first_ns = 1700000000123456000, r.last_ns = 1700000001623456000;
        r.orig_pkts = 10, r.orig_ip_bytes = 1200, r.orig_bytes = 517;
        r.resp_pkts = 8, r.resp_ip_bytes = 5000, r.resp_bytes = 4312;
        strcpy(r.history, "ShADadFf"), strcpy(r.conn_state, "SF");
        r.syn_count = 1, r.syn_to_synack_ns = 12345000, r.synack_to_ack_ns = 210000;
        r.app_proto = FA_APP_TLS, r.tls_version = 0x0304;
        strcpy(r.server_name, "apps.example.com");
        strcpy(r.dns_name, "apps.cdn.example.net");
        r.end = FA_END_CLOSED;
        break;
    case 1:
        r.seq = 2, r.ip_version = 6, r.proto = 17;
        r.orig_h = addr("2001:db8::1"), r.orig_p = 5353;
        r.resp_h = addr("2001:db8::2"), r.resp_p = 53;
        r.first_ns = r.last_ns = 1700000002000000000;
        r.orig_pkts = 1, r.orig_ip_bytes = 73, r.orig_bytes = 25;
        strcpy(r.history, "D"), strcpy(r.conn_state, "S0");
        r.end = FA_END_TIMEOUT;
        break;
    case 2:
        r.seq = 3, r.ip_version = 4, r.proto = 1;
        r.orig_h = addr("192.0.2.10"), r.orig_p = 8;
        r.resp_h = addr("198.51.100.7"), r.resp_p = 0;
        r.first_ns = 1700000001000001000, r.last_ns = 1700000001999999000;
        r.orig_pkts = 2, r.orig_ip_bytes = 168, r.orig_bytes = 112;
        strcpy(r.conn_state, "OTH");
        r.has_icmp_error = 1, r.icmp_error_type = 3, r.icmp_error_code = 13;
        r.icmp_error_from = addr("192.0.2.1");
        r.end = FA_END_CAPTURE_END;
        break;
    default:
        r.seq = 4, r.ip_version = 6, r.proto = 58;
        r.orig_h = addr("2001:db8::1"), r.orig_p = 128;
        r.resp_h = addr("2001:db8::2"), r.resp_p = 129;
        r.first_ns = r.last_ns = 1700000003500000000;
        r.orig_pkts = 1, r.orig_ip_bytes = 104, r.orig_bytes = 56;
        strcpy(r.conn_state, "OTH");
        r.has_icmp_error = 1, r.icmp_error_type = 3, r.icmp_error_code = 0;
        r.icmp_error_v6 = 1, r.icmp_error_from = addr("2001:db8::fe");
        r.end = FA_END_EVICTED;
        break;
    }
    r.row = r.seq; /* written in creation order */
    return r;
}

#define N_FIXED 4

static const char *fixed_db(const char *name)
{
    const char *path = db_path(name);
    struct fa_store *s = open_ok(path, 0);

    assert_int_equal(begin_run(s, "fixed.pcap"), 1);
    for (int i = 0; i < N_FIXED; i++) {
        struct fa_flow_record r = fixed_flow(i);
        put_flow(s, &r);
    }
    commit(s);
    fa_store_close(s);
    return path;
}

static void assert_record_equal(const struct fa_flow_record *a, const struct fa_flow_record *b)
{
    assert_int_equal(a->seq, b->seq);
    assert_int_equal(a->row, b->row);
    assert_int_equal(a->ip_version, b->ip_version);
    assert_int_equal(a->proto, b->proto);
    assert_memory_equal(a->orig_h.b, b->orig_h.b, 16);
    assert_memory_equal(a->resp_h.b, b->resp_h.b, 16);
    assert_int_equal(a->orig_p, b->orig_p);
    assert_int_equal(a->resp_p, b->resp_p);
    assert_int_equal(a->first_ns, b->first_ns);
    assert_int_equal(a->last_ns, b->last_ns);
    assert_int_equal(a->orig_pkts, b->orig_pkts);
    assert_int_equal(a->resp_pkts, b->resp_pkts);
    assert_int_equal(a->orig_ip_bytes, b->orig_ip_bytes);
    assert_int_equal(a->resp_ip_bytes, b->resp_ip_bytes);
    assert_int_equal(a->orig_bytes, b->orig_bytes);
    assert_int_equal(a->resp_bytes, b->resp_bytes);
    assert_string_equal(a->history, b->history);
    assert_string_equal(a->conn_state, b->conn_state);
    assert_int_equal(a->syn_count, b->syn_count);
    assert_int_equal(a->syn_to_synack_ns, b->syn_to_synack_ns);
    assert_int_equal(a->synack_to_ack_ns, b->synack_to_ack_ns);
    assert_int_equal(a->has_icmp_error, b->has_icmp_error);
    assert_int_equal(a->icmp_error_type, b->icmp_error_type);
    assert_int_equal(a->icmp_error_code, b->icmp_error_code);
    assert_int_equal(a->icmp_error_v6, b->icmp_error_v6);
    assert_memory_equal(a->icmp_error_from.b, b->icmp_error_from.b, 16);
    assert_int_equal(a->app_proto, b->app_proto);
    assert_int_equal(a->tls_version, b->tls_version);
    assert_string_equal(a->server_name, b->server_name);
    assert_string_equal(a->dns_name, b->dns_name);
    assert_int_equal(a->end, b->end);
}

/* Collects what fa_store_each_flow() hands over. */
struct collected {
    struct fa_stored_flow flows[64];
    int n, stop_after;
};

static int collect(void *ctx, const struct fa_stored_flow *f)
{
    struct collected *c = ctx;

    assert_true(c->n < 64);
    c->flows[c->n++] = *f;
    return c->stop_after && c->n >= c->stop_after;
}

static struct collected *query(struct fa_store *s, const struct fa_flow_filter *f)
{
    static struct collected c;
    char err[FA_STORE_ERRBUF_SIZE] = "";

    memset(&c, 0, sizeof c);
    if (fa_store_each_flow(s, f, collect, &c, err) != 0)
        fail_msg("each_flow: %s", err);
    return &c;
}

/* The seqs a query returned, in order, as "1 3 2". */
static const char *seqs(const struct collected *c)
{
    static char buf[256];
    size_t n = 0;

    buf[0] = '\0';
    for (int i = 0; i < c->n; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%llu", i ? " " : "",
                              (unsigned long long)c->flows[i].rec.seq);
    return buf;
}

/* ---- opening, migrating, refusing ----------------------------------------- */

static void test_create_and_migrate(void **state)
{
    const char *path = db_path("new.db");
    struct fa_store *s;

    (void)state;
    s = open_ok(path, 0);
    fa_store_close(s);
    assert_true(fa_schema_count >= 1);
    assert_int_equal(sql_int(path, "PRAGMA user_version"), (int64_t)fa_schema_count);
    assert_int_equal(sql_int(path, "PRAGMA application_id"), 0x46417564);
    assert_string_equal(sql_row(path, "PRAGMA journal_mode"), "wal");
    assert_int_equal(sql_int(path, "PRAGMA page_size"), 16384);
    assert_int_equal(sql_int(path, "SELECT count(*) FROM sqlite_schema WHERE name IN"
                                   " ('runs', 'flows', 'decode_errors')"),
                     3);

    /* Reopening, writable then read-only, finds it as it was. */
    s = open_ok(path, 0);
    fa_store_close(s);
    s = open_ok(path, 1);
    fa_store_close(s);
    assert_int_equal(sql_int(path, "PRAGMA user_version"), (int64_t)fa_schema_count);
}

static void test_newer_schema_refused(void **state)
{
    const char *path = db_path("newer.db");
    char sql[64], want[FA_STORE_ERRBUF_SIZE];

    (void)state;
    fa_store_close(open_ok(path, 0));
    snprintf(sql, sizeof sql, "PRAGMA user_version = %zu", fa_schema_count + 1);
    sql_exec(path, sql);
    snprintf(want, sizeof want,
             "%s: database schema version %zu is newer than this flowaudit (%zu);"
             " use a newer flowaudit",
             path, fa_schema_count + 1, fa_schema_count);
    assert_string_equal(open_error(path, 0), want);
    assert_string_equal(open_error(path, 1), want);
    assert_int_equal(sql_int(path, "PRAGMA user_version"), (int64_t)fa_schema_count + 1);
}

static void test_not_sqlite_refused(void **state)
{
    const char *path = db_path("text.db");
    const char *text = "ts,uid,orig_h\n1700000000.000000,CAbc,192.0.2.1\n";
    char want[FA_STORE_ERRBUF_SIZE];

    (void)state;
    write_file(path, text);
    snprintf(want, sizeof want,
             "%s: not a flowaudit database (file is not a database); give --db a database "
             "flowaudit wrote, or a new file name",
             path);
    assert_string_equal(open_error(path, 0), want);
    assert_string_equal(open_error(path, 1), want);
    assert_string_equal(read_file(path), text);
}

static void test_foreign_sqlite_refused(void **state)
{
    const char *path = db_path("foreign.db");
    char want[FA_STORE_ERRBUF_SIZE];

    (void)state;
    sql_exec(path, "CREATE TABLE notes (body TEXT)");
    snprintf(want, sizeof want,
             "%s: not a flowaudit database (another application's SQLite database)", path);
    assert_string_equal(open_error(path, 0), want);
    assert_int_equal(sql_int(path, "SELECT count(*) FROM sqlite_schema"), 1);
    assert_int_equal(sql_int(path, "PRAGMA user_version"), 0);
}

static void test_open_errors(void **state)
{
    const char *missing = db_path("no/such/dir.db");
    const char *empty = db_path("empty.db");
    char want[FA_STORE_ERRBUF_SIZE];
    char folder[256];

    (void)state;
    snprintf(folder, sizeof folder, "%.*s", (int)(strrchr(missing, '/') - missing), missing);
    snprintf(want, sizeof want,
             "%s: cannot create the database: folder %s does not exist; create it or use "
             "another --db",
             missing, folder);
    assert_string_equal(open_error(missing, 0), want);
    snprintf(want, sizeof want, "%s: no such database; record flows with 'flowaudit read' first",
             missing);
    assert_string_equal(open_error(missing, 1), want);

    /* An empty file is an empty database: read-only, it asks for a run. */
    write_file(empty, "");
    snprintf(want, sizeof want, "%s: empty database; record flows with 'flowaudit read' first",
             empty);
    assert_string_equal(open_error(empty, 1), want);
    fa_store_close(open_ok(empty, 0));
    fa_store_close(open_ok(empty, 1));
}

static void test_write_errors(void **state)
{
    const char *path = fixed_db("readonly.db");
    struct fa_flow_record r = fixed_flow(0);
    char err[FA_STORE_ERRBUF_SIZE], want[FA_STORE_ERRBUF_SIZE];
    struct fa_run_info info = {"read", "x.pcap", NULL, NULL, "0.1.0", 1};
    struct fa_store *s;

    (void)state;
    s = open_ok(path, 1);
    assert_int_equal(fa_store_begin_run(s, &info, err), -1);
    snprintf(want, sizeof want,
             "%s: cannot record run: attempt to write a readonly database; check the "
             "permissions of the database and its folder, or use another --db",
             path);
    assert_string_equal(err, want);
    assert_int_equal(fa_store_put_flow(s, &r, err), -1);
    snprintf(want, sizeof want, "%s: no run begun on this handle", path);
    assert_string_equal(err, want);
    fa_store_close(s);

    s = open_ok(path, 0);
    begin_run(s, "y.pcap");
    r.end = (enum fa_flow_end)42;
    assert_int_equal(fa_store_put_flow(s, &r, err), -1);
    snprintf(want, sizeof want, "%s: flow 1: unknown end reason 42", path);
    assert_string_equal(err, want);

    /* A flow's id is its run's times 2^40 plus its row: rows are 1 to 2^40 - 1. */
    r = fixed_flow(0);
    r.row = 0;
    assert_int_equal(fa_store_put_flow(s, &r, err), -1);
    snprintf(want, sizeof want,
             "%s: flow 1: row 0 is outside 1 to 1099511627775; a run writes no more flows", path);
    assert_string_equal(err, want);
    r.row = 1ULL << 40;
    assert_int_equal(fa_store_put_flow(s, &r, err), -1);
    r.row = (1ULL << 40) - 1;
    put_flow(s, &r);
    commit(s);
    fa_store_close(s);
    assert_int_equal(sql_int(path, "SELECT id FROM flows WHERE run_id = 2"),
                     (2LL << 40) + (1LL << 40) - 1);

    /* The last run id whose flows' ids fit. */
    sqlite3 *db;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "INSERT INTO runs (id, mode, source, version, started)"
                                  " VALUES (8388607, 'read', 'z.pcap', '0.1.0', 1)",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(db);
    s = open_ok(path, 0);
    assert_int_equal(fa_store_begin_run(s, &info, err), -1);
    snprintf(want, sizeof want,
             "%s: holds the most runs a database can (8388607); record into a new one", path);
    assert_string_equal(err, want);
    fa_store_close(s);
}

/* ---- writing and reading back --------------------------------------------- */

static void test_roundtrip(void **state)
{
    const char *path = fixed_db("roundtrip.db");
    struct fa_store *s = open_ok(path, 1);
    struct collected *c = query(s, NULL);
    char uid[24];

    (void)state;
    /* first_seen order: seq 1 (…0.12), 3 (…1.00), 2 (…2.0), 4 (…3.5). */
    assert_string_equal(seqs(c), "1 3 2 4");
    for (int i = 0; i < c->n; i++) {
        struct fa_flow_record want = fixed_flow((int)c->flows[i].rec.seq - 1);

        assert_record_equal(&c->flows[i].rec, &want);
        assert_int_equal(c->flows[i].run_id, 1);
        assert_true(c->flows[i].id > 0);
        fa_store_uid(1, want.seq, uid);
        assert_string_equal(c->flows[i].uid, uid);
    }
    fa_store_close(s);

    /* Absent handshakes, ICMP errors and names are NULL, not zeros. */
    assert_string_equal(sql_row(path, "SELECT syn_to_synack, synack_to_ack, icmp_error_type,"
                                      " icmp_error_code, icmp_error_v6, icmp_error_from,"
                                      " app_proto, server_name, tls_version, dns_name"
                                      " FROM flows WHERE seq = 2"),
                        "NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL|NULL");
    assert_string_equal(sql_row(path, "SELECT app_proto, server_name, tls_version, dns_name"
                                      " FROM flows WHERE seq = 1"),
                        "tls|apps.example.com|TLS 1.3|apps.cdn.example.net");
    assert_string_equal(sql_row(path, "SELECT orig_h, resp_h, icmp_error_v6, icmp_error_from,"
                                      " end_reason FROM flows WHERE seq = 4"),
                        "2001:db8::1|2001:db8::2|1|2001:db8::fe|evicted");
    assert_string_equal(sql_row(path, "SELECT uid, first_seen, syn_to_synack, synack_to_ack"
                                      " FROM flows WHERE seq = 1"),
                        "CZwCeycv4d100MtIOi|1700000000.12346|0.012345|0.00021");
}

/* The names a flow can carry, each alone and at their limits: every value
 * reads back as it was written, unset ones as NULL in the database. */
static void test_names_roundtrip(void **state)
{
    static const struct {
        uint8_t app;
        uint16_t tls;
        const char *name, *row;
    } cases[] = {
        {FA_APP_TLS, 0x0304, "apps.example.com", "tls|apps.example.com|TLS 1.3"},
        {FA_APP_TLS, 0x0303, "", "tls|NULL|TLS 1.2"},
        {FA_APP_TLS, 0x0302, "a", "tls|a|TLS 1.1"},
        {FA_APP_TLS, 0x0301, "", "tls|NULL|TLS 1.0"},
        {FA_APP_TLS, 0x0300, "", "tls|NULL|SSL 3.0"},
        {FA_APP_TLS, 0, "db.example.com", "tls|db.example.com|NULL"},
        {FA_APP_HTTP, 0, "intranet", "http|intranet|NULL"},
        {FA_APP_TDS, 0, "", "tds|NULL|NULL"},
        {FA_APP_TNS, 0, "", "tns|NULL|NULL"},
        {FA_APP_SSH, 0, "", "ssh|NULL|NULL"},
        {FA_APP_SMTP, 0, "", "smtp|NULL|NULL"},
        {FA_APP_AMQP, 0, "", "amqp|NULL|NULL"},
        {FA_APP_DNS, 0, "", "dns|NULL|NULL"},
        {FA_APP_UNKNOWN, 0, "", "NULL|NULL|NULL"},
    };
    const char *path = db_path("names.db");
    struct fa_store *s = open_ok(path, 0);
    struct fa_flow_record r, longest = fixed_flow(0);
    struct collected *c;
    char sql[128];
    size_t n = sizeof cases / sizeof cases[0];

    (void)state;
    begin_run(s, "names");
    for (size_t i = 0; i < n; i++) {
        r = fixed_flow(0);
        r.seq = r.row = i + 1;
        r.app_proto = cases[i].app, r.tls_version = cases[i].tls;
        strcpy(r.server_name, cases[i].name);
        put_flow(s, &r);
    }
    /* Names filling their fields, as long as a DNS name can be. */
    longest.seq = longest.row = n + 1;
    memset(longest.server_name, 'a', sizeof longest.server_name - 1);
    longest.server_name[sizeof longest.server_name - 1] = '\0';
    memset(longest.dns_name, 'b', sizeof longest.dns_name - 1);
    longest.dns_name[sizeof longest.dns_name - 1] = '\0';
    put_flow(s, &longest);
    commit(s);
    fa_store_close(s);

    for (size_t i = 0; i < n; i++) {
        snprintf(sql, sizeof sql,
                 "SELECT app_proto, server_name, tls_version FROM flows WHERE seq = %zu", i + 1);
        assert_string_equal(sql_row(path, sql), cases[i].row);
    }
    s = open_ok(path, 1);
    c = query(s, NULL);
    assert_int_equal(c->n, (int)n + 1);
    for (int i = 0; i < c->n; i++) {
        size_t k = (size_t)c->flows[i].rec.seq - 1;

        if (k == n) {
            assert_record_equal(&c->flows[i].rec, &longest);
            continue;
        }
        r = fixed_flow(0);
        r.seq = r.row = k + 1;
        r.app_proto = cases[k].app, r.tls_version = cases[k].tls;
        strcpy(r.server_name, cases[k].name);
        assert_record_equal(&c->flows[i].rec, &r);
    }
    fa_store_close(s);
}

/* What cannot be named is stored unset: an app_proto out of the enum's
 * range, a TLS version that is none of the five; and a name this binary
 * does not know, left by a newer flowaudit, reads back as unset without
 * making the row unreadable. */
static void test_names_unknown(void **state)
{
    const char *path = db_path("names_unknown.db");
    struct fa_store *s = open_ok(path, 0);
    struct fa_flow_record r = fixed_flow(0);
    struct collected *c;

    (void)state;
    begin_run(s, "unknown");
    r.app_proto = 200, r.tls_version = 0x0305;
    put_flow(s, &r);
    r.seq = r.row = 2, r.app_proto = FA_APP_TLS, r.tls_version = 0x7f1c;
    put_flow(s, &r);
    commit(s);
    fa_store_close(s);
    assert_string_equal(
        sql_row(path, "SELECT app_proto, server_name, tls_version FROM flows WHERE seq = 1"),
        "NULL|apps.example.com|NULL");
    assert_string_equal(
        sql_row(path, "SELECT app_proto, server_name, tls_version FROM flows WHERE seq = 2"),
        "tls|apps.example.com|NULL");

    sql_exec(path, "UPDATE flows SET app_proto = 'quic', tls_version = 'TLS 1.4' WHERE seq = 1");
    s = open_ok(path, 1);
    c = query(s, NULL);
    assert_int_equal(c->n, 2);
    assert_int_equal(c->flows[0].rec.app_proto, FA_APP_UNKNOWN);
    assert_int_equal(c->flows[0].rec.tls_version, 0);
    assert_string_equal(c->flows[0].rec.server_name, "apps.example.com");
    assert_int_equal(c->flows[1].rec.app_proto, FA_APP_TLS);
    assert_int_equal(c->flows[1].rec.tls_version, 0);
    fa_store_close(s);
}

/* A flow checkpointed before its stream was named gets the names when it
 * is written again. */
static void test_names_checkpoint(void **state)
{
    const char *path = db_path("names_checkpoint.db");
    struct fa_store *s = open_ok(path, 0);
    struct fa_flow_record r = fixed_flow(0);

    (void)state;
    begin_run(s, "checkpoint");
    r.app_proto = 0, r.tls_version = 0, r.server_name[0] = '\0', r.end = FA_END_ACTIVE;
    r.dns_name[0] = '\0';
    put_flow(s, &r);
    commit(s);
    assert_string_equal(
        sql_row(path, "SELECT app_proto, server_name, tls_version, dns_name FROM flows"),
        "NULL|NULL|NULL|NULL");
    r = fixed_flow(0);
    put_flow(s, &r);
    commit(s);
    fa_store_close(s);
    assert_string_equal(
        sql_row(path, "SELECT count(*), app_proto, server_name, tls_version, dns_name FROM flows"),
        "1|tls|apps.example.com|TLS 1.3|apps.cdn.example.net");
}

/* The DNS answers of a run: one row per name and address, times to the
 * microsecond; the same pair again widens the times; each run has its
 * own; nothing is written without a run. */
static void test_names_table(void **state)
{
    const char *path = db_path("names_table.db");
    struct fa_store *s = open_ok(path, 0);
    struct fa_addr v4 = addr("192.0.2.30"), v6 = addr("2001:db8:0:3::30");
    char err[FA_STORE_ERRBUF_SIZE] = "";

    (void)state;
    assert_int_equal(fa_store_put_name(s, "early.example.com", &v4, 1, 2, err), -1);
    assert_non_null(strstr(err, "no run begun"));
    begin_run(s, "dns");
    assert_int_equal(fa_store_begin(s, err), 0);
    assert_int_equal(fa_store_put_name(s, "sqlprod.example.com", &v4, 1715675400000400000,
                                       1715675400000400000, err),
                     0);
    assert_int_equal(fa_store_put_name(s, "sqlprod.example.com", &v6, 1715675401200400123,
                                       1715675461200400999, err),
                     0);
    assert_int_equal(fa_store_put_name(s, "other.example.com", &v4, 1715675402000000000,
                                       1715675403000000000, err),
                     0);
    assert_int_equal(fa_store_put_name(s, "other.example.com", &v4, 1715675401000000000,
                                       1715675402500000000, err),
                     0);
    commit(s);
    begin_run(s, "dns again");
    assert_int_equal(fa_store_put_name(s, "sqlprod.example.com", &v4, 1, 1, err), 0);
    fa_store_close(s);

    assert_string_equal(sql_row(path, "SELECT run_id, name, address, printf('%.6f', first_seen),"
                                      " printf('%.6f', last_seen) FROM names WHERE run_id = 1"
                                      " ORDER BY name, address"),
                        "1|other.example.com|192.0.2.30|1715675401.000000|1715675403.000000|"
                        "1|sqlprod.example.com|192.0.2.30|1715675400.000400|1715675400.000400|"
                        "1|sqlprod.example.com|2001:db8:0:3::30|1715675401.200400|"
                        "1715675461.200401");
    assert_int_equal(sql_int(path, "SELECT count(*) FROM names WHERE run_id = 2"), 1);
}

/* Rows of the names table written several to a statement read back as
 * written; a pair given twice, in one statement or two, widens its times. */
static void test_names_many(void **state)
{
    const char *path = db_path("names_many.db");
    struct fa_store *s = open_ok(path, 0);
    enum { K = FA_STORE_ROWS_A_STATEMENT, N = 2 * K + 3 };
    struct fa_addr a[N];
    struct fa_name_row rows[N];
    char names[N][32], err[FA_STORE_ERRBUF_SIZE] = "";

    (void)state;
    begin_run(s, "dns");
    for (int i = 0; i < N; i++) {
        snprintf(names[i], sizeof names[i], "h%02d.example.com", i);
        a[i] = addr("192.0.2.1");
        a[i].b[15] = (uint8_t)(i + 1);
        rows[i] = (struct fa_name_row){names[i], &a[i], 1700000000000000000 + i * 1000000000LL,
                                       1700000000000000000 + i * 1000000000LL + 500000};
    }
    /* The last row of the first statement again, wider, in the same one. */
    rows[K - 1] = rows[K - 2];
    rows[K - 1].first_ns -= 3000000000LL;
    assert_int_equal(fa_store_begin(s, err), 0);
    assert_int_equal(fa_store_put_names(s, rows, N, err), 0);
    /* And the first row again in a statement of its own, later. */
    rows[0].last_ns += 7000000000LL;
    assert_int_equal(fa_store_put_names(s, rows, 1, err), 0);
    commit(s);
    fa_store_close(s);

    assert_int_equal(sql_int(path, "SELECT count(*) FROM names"), N - 1);
    assert_string_equal(sql_row(path, "SELECT address, printf('%.6f', first_seen),"
                                      " printf('%.6f', last_seen) FROM names"
                                      " WHERE name = 'h00.example.com'"),
                        "192.0.2.1|1700000000.000000|1700000007.000500");
    assert_string_equal(sql_row(path, "SELECT address, printf('%.6f', first_seen),"
                                      " printf('%.6f', last_seen) FROM names"
                                      " WHERE name = 'h14.example.com'"),
                        "192.0.2.15|1700000011.000000|1700000014.000500");
    assert_string_equal(sql_row(path, "SELECT address, printf('%.6f', first_seen) FROM names"
                                      " WHERE name = 'h34.example.com'"),
                        "192.0.2.35|1700000034.000000");
}

/* A database as a flowaudit whose schema stopped at `version` left it:
 * the first `version` schema files applied, marked as ours.  Open, for
 * the caller's rows. */
static sqlite3 *old_database(const char *path, int version)
{
    char sql[128];
    sqlite3 *db;

    assert_true(fa_schema_count > (size_t)version);
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    for (int i = 0; i < version; i++)
        assert_int_equal(sqlite3_exec(db, fa_schema[i], NULL, NULL, NULL), SQLITE_OK);
    snprintf(sql, sizeof sql, "PRAGMA application_id = %d; PRAGMA user_version = %d", 0x46417564,
             version);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    return db;
}

/* A database as the previous flowaudit left it: 001 and 002 applied,
 * user_version 2, one run with one flow.  Read-only it is refused; opened
 * for writing it is migrated, the old flow reads back as it was with no
 * names, and new flows are stored with theirs. */
static void test_migrate_from_version_2(void **state)
{
    const char *path = db_path("v2.db");
    struct fa_flow_record old = fixed_flow(0), named = fixed_flow(0);
    char want[FA_STORE_ERRBUF_SIZE];
    struct fa_store *s;
    struct collected *c;
    sqlite3 *db;

    (void)state;
    db = old_database(path, 2);
    assert_int_equal(
        sqlite3_exec(
            db,
            "INSERT INTO runs (mode, source, version, started) VALUES"
            " ('read', 'old.pcap', '0.1.0', 1700000100.25);"
            "INSERT INTO flows (run_id, seq, uid, ip_version, proto, orig_h, orig_p, resp_h,"
            " resp_p, first_seen, last_seen, orig_pkts, orig_ip_bytes, orig_bytes, resp_pkts,"
            " resp_ip_bytes, resp_bytes, conn_state, history, syn_count, syn_to_synack,"
            " synack_to_ack, end_reason) VALUES (1, 1, 'CZwCeycv4d100MtIOi', 4, 6, '192.0.2.10',"
            " 51234, '198.51.100.7', 443, 1700000000.123456, 1700000001.623456, 10, 1200, 517,"
            " 8, 5000, 4312, 'SF', 'ShADadFf', 1, 0.012345, 0.00021, 'closed')",
            NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(sql_int(path, "SELECT count(*) FROM pragma_table_info('flows')"
                                   " WHERE name IN ('app_proto', 'server_name', 'tls_version')"),
                     0);

    snprintf(want, sizeof want,
             "%s: database schema version 2 is older than this flowaudit (%zu);"
             " run a command that writes to it (read, capture) to upgrade it",
             path, fa_schema_count);
    assert_string_equal(open_error(path, 1), want);

    s = open_ok(path, 0);
    assert_int_equal(sql_int(path, "PRAGMA user_version"), (int64_t)fa_schema_count);
    assert_int_equal(sql_int(path, "SELECT count(*) FROM pragma_table_info('flows')"
                                   " WHERE name IN ('app_proto', 'server_name', 'tls_version',"
                                   " 'dns_name')"),
                     4);
    assert_int_equal(sql_int(path, "SELECT count(*) FROM names"), 0);
    assert_string_equal(
        sql_row(path, "SELECT uid, app_proto, server_name, tls_version, dns_name FROM flows"),
        "CZwCeycv4d100MtIOi|NULL|NULL|NULL|NULL");
    assert_int_equal(begin_run(s, "new.pcap"), 2);
    named.seq = named.row = 1;
    put_flow(s, &named);
    commit(s);
    fa_store_close(s);

    old.app_proto = 0, old.tls_version = 0, old.server_name[0] = '\0', old.dns_name[0] = '\0';
    s = open_ok(path, 1);
    c = query(s, NULL);
    assert_int_equal(c->n, 2);
    assert_int_equal(c->flows[0].run_id, 1);
    assert_record_equal(&c->flows[0].rec, &old);
    assert_int_equal(c->flows[1].run_id, 2);
    assert_record_equal(&c->flows[1].rec, &named);
    fa_store_close(s);
}

/* A database of schema version 4, with the unique (run_id, seq) index and
 * ids in the order flows were written across runs: migrated, each run's
 * flows take the ids of its range in that order, the index is gone, a
 * query by run finds them, and a flow written again by a new run updates
 * its own row. */
static void test_migrate_from_version_4(void **state)
{
    const char *path = db_path("v4.db");
    struct fa_flow_filter f;
    struct fa_store *s;
    sqlite3 *db;

    (void)state;
    db = old_database(path, 4);
    /* Run 1 wrote seq 2 then seq 1, with run 2's flow between them. */
    assert_int_equal(
        sqlite3_exec(db,
                     "INSERT INTO runs (mode, source, version, started) VALUES"
                     " ('read', 'a.pcap', '0.1.0', 1), ('read', 'b.pcap', '0.1.0', 2);"
                     "INSERT INTO flows (id, run_id, seq, uid, ip_version, proto, orig_h, orig_p,"
                     " resp_h, resp_p, first_seen, last_seen, orig_pkts, orig_ip_bytes,"
                     " orig_bytes, resp_pkts, resp_ip_bytes, resp_bytes, conn_state, history,"
                     " end_reason, server_name) VALUES"
                     " (7, 1, 2, 'Ua2', 4, 17, '192.0.2.1', 5000, '192.0.2.2', 53, 10, 11,"
                     " 1, 60, 32, 1, 90, 62, 'SF', 'Dd', 'timeout', NULL),"
                     " (8, 2, 1, 'Ub1', 4, 17, '192.0.2.1', 5001, '192.0.2.2', 53, 12, 13,"
                     " 1, 60, 32, 0, 0, 0, 'S0', 'D', 'timeout', NULL),"
                     " (9, 1, 1, 'Ua1', 4, 6, '192.0.2.1', 40000, '192.0.2.3', 443, 5, 20,"
                     " 9, 900, 300, 7, 7000, 6000, 'SF', 'ShADadFf', 'closed', 'x.example')",
                     NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(sql_int(path, "SELECT count(*) FROM pragma_index_list('flows')"), 1);

    s = open_ok(path, 0);
    fa_store_close(s);
    assert_int_equal(sql_int(path, "PRAGMA user_version"), (int64_t)fa_schema_count);
    assert_int_equal(sql_int(path, "SELECT count(*) FROM pragma_index_list('flows')"), 0);
    /* A database made elsewhere keeps its page size. */
    assert_int_equal(sql_int(path, "PRAGMA page_size"), 4096);
    assert_string_equal(sql_row(path, "SELECT id - (run_id << 40), run_id, seq, uid, server_name"
                                      " FROM flows ORDER BY id"),
                        "1|1|2|Ua2|NULL|2|1|1|Ua1|x.example|1|2|1|Ub1|NULL");
    assert_string_equal(sql_row(path, "SELECT sum(orig_pkts), sum(resp_bytes), group_concat("
                                      "history) FROM (SELECT * FROM flows ORDER BY id)"),
                        "11|6062|Dd,ShADadFf,D");

    s = open_ok(path, 1);
    fa_flow_filter_init(&f);
    f.run_id = 1;
    assert_string_equal(seqs(query(s, &f)), "1 2");
    f.run_id = 2;
    assert_string_equal(seqs(query(s, &f)), "1");
    f.run_id = 3;
    assert_string_equal(seqs(query(s, &f)), "");
    fa_store_close(s);

    /* A new run's flow, written twice under its row. */
    struct fa_flow_record r = fixed_flow(0);
    s = open_ok(path, 0);
    assert_int_equal(begin_run(s, "c.pcap"), 3);
    r.end = FA_END_ACTIVE;
    put_flow(s, &r);
    commit(s);
    r.end = FA_END_CLOSED;
    put_flow(s, &r);
    commit(s);
    fa_store_close(s);
    assert_string_equal(sql_row(path, "SELECT count(*), min(id) = (3 << 40) + 1, end_reason"
                                      " FROM flows WHERE run_id = 3"),
                        "1|1|closed");
}

static void test_times_keep_microseconds(void **state)
{
    const char *path = db_path("times.db");
    struct fa_store *s = open_ok(path, 0);
    struct fa_flow_record r = fixed_flow(0);
    struct collected *c;
    uint64_t x = 0x243f6a8885a308d3ULL;

    (void)state;
    begin_run(s, "times.pcap");
    /* Below the microsecond the store rounds, halves away from zero; a
     * handshake of 0 stays 0, not "not seen". */
    r.first_ns = 1700000000123456789;
    r.last_ns = 1700000000999999500;
    r.syn_to_synack_ns = 1499;
    r.synack_to_ack_ns = 499;
    put_flow(s, &r);
    /* Times across this century come back to the microsecond. */
    for (uint64_t seq = 2; seq <= 40; seq++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        r.seq = r.row = seq;
        r.first_ns = (int64_t)(946684800000000000ULL + (x >> 11) % 3155760000000000000ULL);
        r.last_ns = r.first_ns + (int64_t)((x >> 7) % 86400000000000ULL);
        r.syn_to_synack_ns = (int64_t)((x >> 3) % 3000000000ULL);
        put_flow(s, &r);
    }
    commit(s);
    fa_store_close(s);

    s = open_ok(path, 1);
    c = query(s, NULL);
    assert_int_equal(c->n, 40);
    for (int i = 0; i < c->n; i++) {
        const struct fa_flow_record *got = &c->flows[i].rec;

        if (got->seq != 1)
            continue;
        assert_int_equal(got->first_ns, 1700000000123457000);
        assert_int_equal(got->last_ns, 1700000001000000000);
        assert_int_equal(got->syn_to_synack_ns, 1000);
        assert_int_equal(got->synack_to_ack_ns, 0);
    }

    /* The others, regenerated, compare exactly after rounding. */
    x = 0x243f6a8885a308d3ULL;
    for (uint64_t seq = 2; seq <= 40; seq++) {
        int64_t first, last, syn;
        int found = 0;

        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
        first = (int64_t)(946684800000000000ULL + (x >> 11) % 3155760000000000000ULL);
        last = first + (int64_t)((x >> 7) % 86400000000000ULL);
        syn = (int64_t)((x >> 3) % 3000000000ULL);
        for (int i = 0; i < c->n; i++) {
            if (c->flows[i].rec.seq != seq)
                continue;
            found = 1;
            assert_int_equal(c->flows[i].rec.first_ns, fa_ns_to_us(first) * 1000);
            assert_int_equal(c->flows[i].rec.last_ns, fa_ns_to_us(last) * 1000);
            assert_int_equal(c->flows[i].rec.syn_to_synack_ns, fa_ns_to_us(syn) * 1000);
        }
        assert_true(found);
    }
    fa_store_close(s);
}

/* Each flow of c is the one of want (n of them) with its seq. */
static void assert_flows_are(const struct collected *c, const struct fa_flow_record *want, int n)
{
    assert_int_equal(c->n, n);
    for (int i = 0; i < c->n; i++) {
        uint64_t seq = c->flows[i].rec.seq;
        assert_true(seq >= 1 && seq <= (uint64_t)n);
        assert_record_equal(&c->flows[i].rec, &want[seq - 1]);
    }
}

/* Flows written several to a statement read back as written, the short
 * tail one at a time alike; written again they are updated, not added; a
 * flow refused is named, and its statement's flows are not written while
 * those of the statements before it are. */
static void test_put_flows(void **state)
{
    const char *path = db_path("many.db");
    struct fa_store *s = open_ok(path, 0);
    enum { K = FA_STORE_ROWS_A_STATEMENT, N = 2 * K + 5 };
    struct fa_flow_record recs[N], more[2 * K];
    char err[FA_STORE_ERRBUF_SIZE] = "", want[FA_STORE_ERRBUF_SIZE];

    (void)state;
    begin_run(s, "many.pcap");
    for (int i = 0; i < N; i++) {
        recs[i] = fixed_flow(i % 3);
        recs[i].seq = recs[i].row = (uint64_t)i + 1;
        recs[i].orig_pkts = 100 + (uint64_t)i;
    }
    assert_int_equal(fa_store_begin(s, err), 0);
    assert_int_equal(fa_store_put_flows(s, recs, N, err), 0);
    commit(s);
    assert_flows_are(query(s, NULL), recs, N);

    for (int i = 0; i < N; i++) {
        recs[i].orig_pkts = 1000 + (uint64_t)i;
        recs[i].end = FA_END_EVICTED;
        strcpy(recs[i].history, "ShA");
    }
    assert_int_equal(fa_store_begin(s, err), 0);
    assert_int_equal(fa_store_put_flows(s, recs, N, err), 0);
    commit(s);
    assert_flows_are(query(s, NULL), recs, N);

    for (int i = 0; i < 2 * K; i++) {
        more[i] = fixed_flow(1);
        more[i].seq = more[i].row = (uint64_t)(N + i + 1);
    }
    more[K + 3].end = (enum fa_flow_end)42;
    assert_int_equal(fa_store_begin(s, err), 0);
    assert_int_equal(fa_store_put_flows(s, more, 2 * K, err), -1);
    snprintf(want, sizeof want, "%s: flow %d: unknown end reason 42", path, N + K + 4);
    assert_string_equal(err, want);
    commit(s);
    fa_store_close(s);
    assert_int_equal(sql_int(path, "SELECT count(*) FROM flows"), N + K);
    assert_int_equal(sql_int(path, "SELECT max(seq) FROM flows"), N + K);
}

static void test_checkpoint_updates(void **state)
{
    const char *path = db_path("checkpoint.db");
    struct fa_store *s = open_ok(path, 0);
    struct fa_flow_record early = fixed_flow(0), late = fixed_flow(0);
    struct collected *c;

    (void)state;
    begin_run(s, "live");
    early.end = FA_END_ACTIVE;
    early.last_ns = early.first_ns + 20000000;
    early.orig_pkts = 3, early.resp_pkts = 2, early.orig_bytes = 0, early.resp_bytes = 0;
    strcpy(early.history, "ShA"), strcpy(early.conn_state, "S1");
    early.synack_to_ack_ns = -1;
    put_flow(s, &early);
    commit(s);
    assert_string_equal(sql_row(path, "SELECT count(*), conn_state, end_reason FROM flows"),
                        "1|S1|active");

    put_flow(s, &late);
    commit(s);
    c = query(s, NULL);
    assert_int_equal(c->n, 1);
    assert_record_equal(&c->flows[0].rec, &late);
    fa_store_close(s);
    assert_string_equal(sql_row(path, "SELECT count(*), conn_state, end_reason FROM flows"),
                        "1|SF|closed");
}

static void test_totals(void **state)
{
    const char *path = db_path("totals.db");
    struct fa_store *s = open_ok(path, 0);
    struct fa_run_totals t;
    char err[FA_STORE_ERRBUF_SIZE];

    (void)state;
    assert_int_equal(begin_run(s, "a.pcap b.pcap"), 1);
    assert_string_equal(sql_row(path, "SELECT mode, source, filter, sensor, version, started,"
                                      " ended, first_packet FROM runs"),
                        "read|a.pcap b.pcap|tcp or udp|sensor1|0.1.0|1700000100.25|NULL|NULL");

    memset(&t, 0, sizeof t);
    t.packets = 1000, t.bytes = 123456, t.flows = 4, t.evicted = 1, t.orphan_fragments = 2;
    t.first_packet_ns = 1700000000123456000, t.last_packet_ns = 1700000003500000000;
    t.decode_errors[FA_DECODE_TRUNCATED_IP] = 3;
    t.decode_errors[FA_DECODE_BAD_CHECKSUM] = 1;
    assert_int_equal(fa_store_put_totals(s, &t, err), 0);
    commit(s);
    assert_string_equal(sql_row(path, "SELECT ended, first_packet, last_packet, packets, bytes,"
                                      " received, dropped, if_dropped, flows, evicted,"
                                      " orphan_fragments FROM runs"),
                        "NULL|1700000000.12346|1700000003.5|1000|123456|NULL|NULL|NULL|4|1|2");
    assert_string_equal(sql_row(path, "SELECT reason, count FROM decode_errors"
                                      " WHERE run_id = 1 ORDER BY reason"),
                        "bad-checksum|1|truncated-ip|3");

    /* The final totals replace the checkpoint's, decode errors included. */
    memset(t.decode_errors, 0, sizeof t.decode_errors);
    t.decode_errors[FA_DECODE_TRUNCATED_IP] = 5;
    t.ended_ns = 1700000200000000000, t.has_pcap_stats = 1;
    t.received = 1010, t.dropped = 10, t.if_dropped = 0;
    assert_int_equal(fa_store_put_totals(s, &t, err), 0);
    commit(s);
    fa_store_close(s);
    assert_string_equal(sql_row(path, "SELECT ended, received, dropped, if_dropped FROM runs"),
                        "1700000200.0|1010|10|0");
    assert_string_equal(sql_row(path, "SELECT reason, count FROM decode_errors"), "truncated-ip|5");
}

static void test_filters(void **state)
{
    const char *path = fixed_db("filters.db");
    struct fa_store *s;
    struct fa_flow_filter f;
    struct fa_addr host;

    (void)state;
    /* A second run with one flow, seq 1 again. */
    s = open_ok(path, 0);
    assert_int_equal(begin_run(s, "second.pcap"), 2);
    {
        struct fa_flow_record r = fixed_flow(0);
        r.first_ns -= 1000000000000; /* earlier than run 1: runs still order first */
        r.last_ns -= 1000000000000;
        put_flow(s, &r);
    }
    commit(s);
    fa_store_close(s);

    s = open_ok(path, 1);
    fa_flow_filter_init(&f);
    assert_string_equal(seqs(query(s, &f)), "1 3 2 4 1");
    assert_int_equal(query(s, &f)->flows[4].run_id, 2);

    f.run_id = 2;
    assert_string_equal(seqs(query(s, &f)), "1");
    f.run_id = 1;
    assert_string_equal(seqs(query(s, &f)), "1 3 2 4");

    fa_flow_filter_init(&f);
    f.conn_state = "OTH";
    assert_string_equal(seqs(query(s, &f)), "3 4");
    f.conn_state = "S1";
    assert_string_equal(seqs(query(s, &f)), "");

    fa_flow_filter_init(&f);
    host = addr("2001:db8::2");
    f.host = &host;
    assert_string_equal(seqs(query(s, &f)), "2 4");
    host = addr("192.0.2.10");
    assert_string_equal(seqs(query(s, &f)), "1 3 1");
    host = addr("192.0.2.1"); /* only the source of an ICMP error */
    assert_string_equal(seqs(query(s, &f)), "");

    fa_flow_filter_init(&f);
    f.port = 443;
    assert_string_equal(seqs(query(s, &f)), "1 1");
    f.port = 53;
    assert_string_equal(seqs(query(s, &f)), "2");
    f.port = 0; /* a real value: the echo reply type */
    assert_string_equal(seqs(query(s, &f)), "3");

    fa_flow_filter_init(&f);
    f.proto = 1;
    assert_string_equal(seqs(query(s, &f)), "3 4");
    f.proto = 58;
    assert_string_equal(seqs(query(s, &f)), "4");
    f.proto = 6;
    assert_string_equal(seqs(query(s, &f)), "1 1");

    fa_flow_filter_init(&f);
    f.proto = 1, f.conn_state = "OTH", f.host = &host, f.run_id = 1, f.port = 129;
    host = addr("2001:db8::1");
    assert_string_equal(seqs(query(s, &f)), "4");
    fa_store_close(s);
}

/* A handle can write run after run; each begin_run commits the last. */
static void test_two_runs_one_handle(void **state)
{
    const char *path = db_path("two_runs.db");
    struct fa_store *s = open_ok(path, 0);
    struct fa_flow_record r = fixed_flow(0);
    struct collected *c;

    (void)state;
    assert_int_equal(begin_run(s, "one.pcap"), 1);
    put_flow(s, &r);
    assert_int_equal(begin_run(s, "two.pcap"), 2);
    put_flow(s, &r);
    r = fixed_flow(1);
    put_flow(s, &r);
    commit(s);
    c = query(s, NULL);
    assert_string_equal(seqs(c), "1 1 2");
    assert_int_equal(c->flows[0].run_id, 1);
    assert_int_equal(c->flows[1].run_id, 2);
    assert_string_not_equal(c->flows[0].uid, c->flows[1].uid);
    fa_store_close(s);
    assert_string_equal(sql_row(path, "SELECT id, source FROM runs ORDER BY id"),
                        "1|one.pcap|2|two.pcap");
}

static void test_each_flow_stops(void **state)
{
    const char *path = fixed_db("stop.db");
    struct fa_store *s = open_ok(path, 1);
    struct collected c;
    char err[FA_STORE_ERRBUF_SIZE];

    (void)state;
    memset(&c, 0, sizeof c);
    c.stop_after = 2;
    assert_int_equal(fa_store_each_flow(s, NULL, collect, &c, err), 0);
    assert_int_equal(c.n, 2);
    /* The statement was reset: the next scan starts over. */
    assert_string_equal(seqs(query(s, NULL)), "1 3 2 4");
    fa_store_close(s);
}

static int compare_uids(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_uid(void **state)
{
    enum { RUNS = 64, SEQS = 1024 };
    static char uids[RUNS * SEQS + 3][24];
    const char *b62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    char again[24];
    size_t n = 0;

    (void)state;
    fa_store_uid(1, 1, uids[0]);
    assert_string_equal(uids[0], "CZwCeycv4d100MtIOi");
    fa_store_uid(2, 1, uids[0]);
    assert_string_equal(uids[0], "CObb2wsWQeK4ig4ixX");

    for (int64_t run = 1; run <= RUNS; run++)
        for (uint64_t seq = 1; seq <= SEQS; seq++)
            fa_store_uid(run, seq, uids[n++]);
    fa_store_uid(0xffffff, (1ULL << 40) - 1, uids[n++]);
    fa_store_uid(0, 0, uids[n++]);
    fa_store_uid(1, 1ULL << 39, uids[n++]);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(strlen(uids[i]), 18);
        assert_int_equal(uids[i][0], 'C');
        assert_int_equal(strspn(uids[i] + 1, b62), 17);
    }
    fa_store_uid(7, 99, again);
    assert_string_equal(again, uids[6 * SEQS + 98]);

    qsort(uids, n, sizeof uids[0], compare_uids);
    for (size_t i = 1; i < n; i++)
        if (strcmp(uids[i - 1], uids[i]) == 0)
            fail_msg("duplicate uid %s", uids[i]);
}

/* ---- output --------------------------------------------------------------- */

/* Renders the flows matching f (NULL: all) in fmt into a string. */
static char *render(const char *path, const struct fa_flow_filter *f, enum fa_format fmt)
{
    static char *text;
    size_t size;
    char err[FA_STORE_ERRBUF_SIZE] = "";
    struct fa_store *s = open_ok(path, 1);
    FILE *out;

    free(text);
    out = open_memstream(&text, &size);
    assert_non_null(out);
    if (fa_output_flows(s, f, fmt, out, err) != 0)
        fail_msg("output: %s", err);
    fclose(out);
    fa_store_close(s);
    return text;
}

#define ZEEK_HEADER                                                                                \
    "#separator \\x09\n"                                                                           \
    "#set_separator\t,\n"                                                                          \
    "#empty_field\t(empty)\n"                                                                      \
    "#unset_field\t-\n"                                                                            \
    "#path\tconn\n"

#define ZEEK_FIELDS                                                                                \
    "#fields\tts\tuid\tid.orig_h\tid.orig_p\tid.resp_h\tid.resp_p\tproto\tservice\tduration"       \
    "\torig_bytes\tresp_bytes\tconn_state\tlocal_orig\tlocal_resp\tmissed_bytes\thistory"          \
    "\torig_pkts\torig_ip_bytes\tresp_pkts\tresp_ip_bytes\n"                                       \
    "#types\ttime\tstring\taddr\tport\taddr\tport\tenum\tstring\tinterval\tcount\tcount\tstring"   \
    "\tbool\tbool\tcount\tstring\tcount\tcount\tcount\tcount\n"

static void test_output_zeek(void **state)
{
    const char *path = fixed_db("zeek.db");

    (void)state;
    assert_string_equal(
        render(path, NULL, FA_FORMAT_ZEEK),
        ZEEK_HEADER "#open\t2023-11-14-22-13-20\n" ZEEK_FIELDS
                    "1700000000.123456\tCZwCeycv4d100MtIOi\t192.0.2.10\t51234\t198.51.100.7\t443"
                    "\ttcp\tssl\t1.500000\t517\t4312\tSF\t-\t-\t0\tShADadFf\t10\t1200\t8\t5000\n"
                    "1700000001.000001\tCiesTWAPFeEW3WuoPt\t192.0.2.10\t8\t198.51.100.7\t0"
                    "\ticmp\t-\t0.999998\t112\t0\tOTH\t-\t-\t0\t-\t2\t168\t0\t0\n"
                    "1700000002.000000\tCRhbOR8ICT3gMbxtTU\t2001:db8::1\t5353\t2001:db8::2\t53"
                    "\tudp\t-\t-\t-\t-\tS0\t-\t-\t0\tD\t1\t73\t0\t0\n"
                    "1700000003.500000\tCP8j8Vj9bmClpsYXHQ\t2001:db8::1\t128\t2001:db8::2\t129"
                    "\ticmp\t-\t-\t-\t-\tOTH\t-\t-\t0\t-\t1\t104\t0\t0\n"
                    "#close\t2023-11-14-22-13-23\n");
}

/* #close is the latest last_seen, not the last flow's: flows come in
 * first_seen order and an early one may last longest. */
static void test_output_zeek_close(void **state)
{
    const char *path = db_path("zeek_close.db");
    struct fa_store *s = open_ok(path, 0);
    struct fa_flow_record r = fixed_flow(0);
    const char *text;

    (void)state;
    begin_run(s, "long");
    r.last_ns = r.first_ns + 3600000000000; /* an hour */
    put_flow(s, &r);
    r = fixed_flow(1);
    put_flow(s, &r);
    commit(s);
    fa_store_close(s);
    text = render(path, NULL, FA_FORMAT_ZEEK);
    assert_non_null(strstr(text, "\n#open\t2023-11-14-22-13-20\n"));
    assert_non_null(strstr(text, "\n#close\t2023-11-14-23-13-20\n"));
}

static void test_output_csv(void **state)
{
    const char *path = fixed_db("csv.db");

    (void)state;
    assert_string_equal(
        render(path, NULL, FA_FORMAT_CSV),
        "uid,run_id,seq,ip_version,proto,proto_name,orig_h,orig_p,resp_h,resp_p,first_seen,"
        "last_seen,duration,orig_pkts,orig_ip_bytes,orig_bytes,resp_pkts,resp_ip_bytes,"
        "resp_bytes,conn_state,history,syn_count,syn_to_synack,synack_to_ack,icmp_error_type,"
        "icmp_error_code,icmp_error_v6,icmp_error_from,end_reason,app_proto,server_name,"
        "tls_version,dns_name\r\n"
        "CZwCeycv4d100MtIOi,1,1,4,6,tcp,192.0.2.10,51234,198.51.100.7,443,1700000000.123456,"
        "1700000001.623456,1.500000,10,1200,517,8,5000,4312,SF,ShADadFf,1,0.012345,0.000210,"
        ",,,,closed,tls,apps.example.com,TLS 1.3,apps.cdn.example.net\r\n"
        "CiesTWAPFeEW3WuoPt,1,3,4,1,icmp,192.0.2.10,8,198.51.100.7,0,1700000001.000001,"
        "1700000001.999999,0.999998,2,168,112,0,0,0,OTH,,0,,,3,13,0,192.0.2.1,capture-end,,,,"
        "\r\n"
        "CRhbOR8ICT3gMbxtTU,1,2,6,17,udp,2001:db8::1,5353,2001:db8::2,53,1700000002.000000,"
        "1700000002.000000,0.000000,1,73,25,0,0,0,S0,D,0,,,,,,,timeout,,,,\r\n"
        "CP8j8Vj9bmClpsYXHQ,1,4,6,58,icmp6,2001:db8::1,128,2001:db8::2,129,1700000003.500000,"
        "1700000003.500000,0.000000,1,104,56,0,0,0,OTH,,0,,,3,0,1,2001:db8::fe,evicted,,,,\r\n");
}

static const char *const fixed_json[] = {
    "{\"uid\":\"CZwCeycv4d100MtIOi\",\"run_id\":1,\"seq\":1,\"ip_version\":4,\"proto\":6,"
    "\"proto_name\":\"tcp\",\"orig_h\":\"192.0.2.10\",\"orig_p\":51234,"
    "\"resp_h\":\"198.51.100.7\",\"resp_p\":443,\"first_seen\":1700000000.123456,"
    "\"last_seen\":1700000001.623456,\"duration\":1.500000,\"orig_pkts\":10,"
    "\"orig_ip_bytes\":1200,\"orig_bytes\":517,\"resp_pkts\":8,\"resp_ip_bytes\":5000,"
    "\"resp_bytes\":4312,\"conn_state\":\"SF\",\"history\":\"ShADadFf\",\"syn_count\":1,"
    "\"syn_to_synack\":0.012345,\"synack_to_ack\":0.000210,\"icmp_error\":null,"
    "\"end_reason\":\"closed\",\"app_proto\":\"tls\",\"server_name\":\"apps.example.com\","
    "\"tls_version\":\"TLS 1.3\",\"dns_name\":\"apps.cdn.example.net\"}",
    "{\"uid\":\"CiesTWAPFeEW3WuoPt\",\"run_id\":1,\"seq\":3,\"ip_version\":4,\"proto\":1,"
    "\"proto_name\":\"icmp\",\"orig_h\":\"192.0.2.10\",\"orig_p\":8,"
    "\"resp_h\":\"198.51.100.7\",\"resp_p\":0,\"first_seen\":1700000001.000001,"
    "\"last_seen\":1700000001.999999,\"duration\":0.999998,\"orig_pkts\":2,"
    "\"orig_ip_bytes\":168,\"orig_bytes\":112,\"resp_pkts\":0,\"resp_ip_bytes\":0,"
    "\"resp_bytes\":0,\"conn_state\":\"OTH\",\"history\":\"\",\"syn_count\":0,"
    "\"syn_to_synack\":null,\"synack_to_ack\":null,"
    "\"icmp_error\":{\"type\":3,\"code\":13,\"v6\":false,\"from\":\"192.0.2.1\"},"
    "\"end_reason\":\"capture-end\",\"app_proto\":null,\"server_name\":null,"
    "\"tls_version\":null,\"dns_name\":null}",
    "{\"uid\":\"CRhbOR8ICT3gMbxtTU\",\"run_id\":1,\"seq\":2,\"ip_version\":6,\"proto\":17,"
    "\"proto_name\":\"udp\",\"orig_h\":\"2001:db8::1\",\"orig_p\":5353,"
    "\"resp_h\":\"2001:db8::2\",\"resp_p\":53,\"first_seen\":1700000002.000000,"
    "\"last_seen\":1700000002.000000,\"duration\":0.000000,\"orig_pkts\":1,"
    "\"orig_ip_bytes\":73,\"orig_bytes\":25,\"resp_pkts\":0,\"resp_ip_bytes\":0,"
    "\"resp_bytes\":0,\"conn_state\":\"S0\",\"history\":\"D\",\"syn_count\":0,"
    "\"syn_to_synack\":null,\"synack_to_ack\":null,\"icmp_error\":null,"
    "\"end_reason\":\"timeout\",\"app_proto\":null,\"server_name\":null,"
    "\"tls_version\":null,\"dns_name\":null}",
    "{\"uid\":\"CP8j8Vj9bmClpsYXHQ\",\"run_id\":1,\"seq\":4,\"ip_version\":6,\"proto\":58,"
    "\"proto_name\":\"icmp6\",\"orig_h\":\"2001:db8::1\",\"orig_p\":128,"
    "\"resp_h\":\"2001:db8::2\",\"resp_p\":129,\"first_seen\":1700000003.500000,"
    "\"last_seen\":1700000003.500000,\"duration\":0.000000,\"orig_pkts\":1,"
    "\"orig_ip_bytes\":104,\"orig_bytes\":56,\"resp_pkts\":0,\"resp_ip_bytes\":0,"
    "\"resp_bytes\":0,\"conn_state\":\"OTH\",\"history\":\"\",\"syn_count\":0,"
    "\"syn_to_synack\":null,\"synack_to_ack\":null,"
    "\"icmp_error\":{\"type\":3,\"code\":0,\"v6\":true,\"from\":\"2001:db8::fe\"},"
    "\"end_reason\":\"evicted\",\"app_proto\":null,\"server_name\":null,"
    "\"tls_version\":null,\"dns_name\":null}",
};

static void test_output_json(void **state)
{
    const char *path = fixed_db("json.db");
    char want[8192];
    const char *text;
    json_error_t jerr;
    json_t *doc;

    (void)state;
    snprintf(want, sizeof want, "[\n%s,\n%s,\n%s,\n%s\n]\n", fixed_json[0], fixed_json[1],
             fixed_json[2], fixed_json[3]);
    text = render(path, NULL, FA_FORMAT_JSON);
    assert_string_equal(text, want);

    /* And a JSON parser agrees. */
    doc = json_loads(text, 0, &jerr);
    if (!doc)
        fail_msg("json: %s at line %d", jerr.text, jerr.line);
    assert_true(json_is_array(doc));
    assert_int_equal(json_array_size(doc), 4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(doc, 3), "orig_h")),
                        "2001:db8::1");
    assert_true(
        json_is_true(json_object_get(json_object_get(json_array_get(doc, 3), "icmp_error"), "v6")));
    assert_true(json_is_null(json_object_get(json_array_get(doc, 2), "syn_to_synack")));
    assert_int_equal(json_object_size(json_array_get(doc, 0)), 30);
    assert_true(json_is_null(json_object_get(json_array_get(doc, 1), "server_name")));
    json_decref(doc);
}

static void test_output_jsonl(void **state)
{
    const char *path = fixed_db("jsonl.db");
    const char *text;
    int lines = 0;

    (void)state;
    text = render(path, NULL, FA_FORMAT_JSONL);
    assert_string_equal(
        text,
        "{\"ts\":1700000000.123456,\"uid\":\"CZwCeycv4d100MtIOi\",\"id.orig_h\":\"192.0.2.10\","
        "\"id.orig_p\":51234,\"id.resp_h\":\"198.51.100.7\",\"id.resp_p\":443,\"proto\":\"tcp\","
        "\"service\":\"ssl\",\"duration\":1.500000,\"orig_bytes\":517,\"resp_bytes\":4312,\"conn_"
        "state\":\"SF\","
        "\"missed_bytes\":0,\"history\":\"ShADadFf\",\"orig_pkts\":10,\"orig_ip_bytes\":1200,"
        "\"resp_pkts\":8,\"resp_ip_bytes\":5000}\n"
        "{\"ts\":1700000001.000001,\"uid\":\"CiesTWAPFeEW3WuoPt\",\"id.orig_h\":\"192.0.2.10\","
        "\"id.orig_p\":8,\"id.resp_h\":\"198.51.100.7\",\"id.resp_p\":0,\"proto\":\"icmp\","
        "\"duration\":0.999998,\"orig_bytes\":112,\"resp_bytes\":0,\"conn_state\":\"OTH\","
        "\"missed_bytes\":0,\"orig_pkts\":2,\"orig_ip_bytes\":168,\"resp_pkts\":0,"
        "\"resp_ip_bytes\":0}\n"
        "{\"ts\":1700000002.000000,\"uid\":\"CRhbOR8ICT3gMbxtTU\",\"id.orig_h\":\"2001:db8::1\","
        "\"id.orig_p\":5353,\"id.resp_h\":\"2001:db8::2\",\"id.resp_p\":53,\"proto\":\"udp\","
        "\"conn_state\":\"S0\",\"missed_bytes\":0,\"history\":\"D\",\"orig_pkts\":1,"
        "\"orig_ip_bytes\":73,\"resp_pkts\":0,\"resp_ip_bytes\":0}\n"
        "{\"ts\":1700000003.500000,\"uid\":\"CP8j8Vj9bmClpsYXHQ\",\"id.orig_h\":\"2001:db8::1\","
        "\"id.orig_p\":128,\"id.resp_h\":\"2001:db8::2\",\"id.resp_p\":129,\"proto\":\"icmp\","
        "\"conn_state\":\"OTH\",\"missed_bytes\":0,\"orig_pkts\":1,\"orig_ip_bytes\":104,"
        "\"resp_pkts\":0,\"resp_ip_bytes\":0}\n");

    for (const char *line = text; *line; line = strchr(line, '\n') + 1) {
        json_error_t jerr;
        json_t *obj = json_loadb(line, (size_t)(strchr(line, '\n') - line), 0, &jerr);

        if (!obj)
            fail_msg("jsonl line %d: %s", lines + 1, jerr.text);
        assert_true(json_is_object(obj));
        json_decref(obj);
        lines++;
    }
    assert_int_equal(lines, 4);
}

static void test_output_table(void **state)
{
    const char *path = fixed_db("table.db");

    (void)state;
    assert_string_equal(
        render(path, NULL, FA_FORMAT_TABLE),
        "first_seen (UTC)            proto  orig -> resp                                    state"
        "   history        pkts o/r          bytes o/r  syn  synack ms  app                      "
        "       icmp error\n"
        "2023-11-14 22:13:20.123456  tcp    192.0.2.10:51234 -> 198.51.100.7:443            SF   "
        "   ShADadFf           10/8           517/4312    1     12.345  tls apps.example.com     "
        "       -\n"
        "2023-11-14 22:13:21.000001  icmp   192.0.2.10:8 -> 198.51.100.7:0                  OTH  "
        "   -                   2/0              112/0    0          -  -                        "
        "       icmp 3/13 from 192.0.2.1\n"
        "2023-11-14 22:13:22.000000  udp    [2001:db8::1]:5353 -> [2001:db8::2]:53          S0   "
        "   D                   1/0               25/0    0          -  -                        "
        "       -\n"
        "2023-11-14 22:13:23.500000  icmp6  [2001:db8::1]:128 -> [2001:db8::2]:129          OTH  "
        "   -                   1/0               56/0    0          -  -                        "
        "       icmp6 3/0 from 2001:db8::fe\n");
}

/* The table's app column: a protocol alone, a name alone, and a name too
 * long for the column, which keeps its start. */
static void test_output_table_app(void **state)
{
    const char *path = db_path("table_app.db");
    struct fa_store *s = open_ok(path, 0);
    struct fa_flow_record r = fixed_flow(0);
    const char *text;

    (void)state;
    begin_run(s, "apps");
    r.app_proto = FA_APP_SSH, r.tls_version = 0, r.server_name[0] = '\0', r.dns_name[0] = '\0';
    put_flow(s, &r);
    r.seq = r.row = 2, r.app_proto = FA_APP_UNKNOWN;
    strcpy(r.server_name, "orphan.example.com");
    put_flow(s, &r);
    r.seq = r.row = 3, r.app_proto = FA_APP_TLS;
    strcpy(r.server_name, "exactly-26-characters.test");
    put_flow(s, &r);
    r.seq = r.row = 4, r.app_proto = FA_APP_HTTP;
    strcpy(r.server_name, "a-rather-long-front-end-name.corp.example.com");
    put_flow(s, &r);
    /* Without a server name, the DNS name; with one, the server name. */
    r.seq = r.row = 5, r.app_proto = FA_APP_TDS, r.server_name[0] = '\0';
    strcpy(r.dns_name, "sqlprod.example.com");
    put_flow(s, &r);
    r.seq = r.row = 6, r.app_proto = FA_APP_UNKNOWN;
    put_flow(s, &r);
    r.seq = r.row = 7, r.app_proto = FA_APP_TLS;
    strcpy(r.server_name, "sni.example.com");
    put_flow(s, &r);
    /* A database flowaudit did not write may hold a terminal's escapes. */
    r.seq = r.row = 8, r.app_proto = FA_APP_HTTP;
    strcpy(r.server_name, "\x1b[2Jx\x7f\xc3\xa9");
    strcpy(r.history, "S\rD");
    put_flow(s, &r);
    commit(s);
    fa_store_close(s);

    text = render(path, NULL, FA_FORMAT_TABLE);
    assert_non_null(strstr(text, "  ssh                             -\n"));
    assert_non_null(strstr(text, "  orphan.example.com              -\n"));
    assert_non_null(strstr(text, "  tls exactly-26-characters.test  -\n"));
    assert_non_null(strstr(text, "  http a-rather-long-front-en...  -\n"));
    assert_non_null(strstr(text, "  tds sqlprod.example.com         -\n"));
    assert_non_null(strstr(text, "  sqlprod.example.com             -\n"));
    assert_non_null(strstr(text, "  tls sni.example.com             -\n"));
    assert_non_null(strstr(text, "  S?D     "));
    assert_non_null(strstr(text, "  http ?[2Jx???                   -\n"));
    assert_null(strchr(text, '\x1b'));
    assert_null(strchr(text, '\r'));
}

/* Strings a database might hold still give valid CSV, JSON and TSV. */
static void test_output_escaping(void **state)
{
    const char *path = db_path("escape.db");
    struct fa_store *s = open_ok(path, 0);
    struct fa_flow_record r = fixed_flow(1);
    const char *text;

    (void)state;
    begin_run(s, "odd");
    strcpy(r.history, "Dd,\"x\tq\\");
    strcpy(r.server_name, "n,\"m");
    strcpy(r.dns_name, "d\"\r\n");
    put_flow(s, &r);
    commit(s);
    fa_store_close(s);

    text = render(path, NULL, FA_FORMAT_CSV);
    assert_non_null(strstr(text, ",S0,\"Dd,\"\"x\tq\\\",0,,,"));
    assert_non_null(strstr(text, ",timeout,,\"n,\"\"m\",,\"d\"\"\r\n\"\r\n"));
    text = render(path, NULL, FA_FORMAT_JSON);
    assert_non_null(strstr(text, "\"server_name\":\"n,\\\"m\","));
    assert_non_null(strstr(text, "\"dns_name\":\"d\\\"\\u000d\\u000a\"}"));
    text = render(path, NULL, FA_FORMAT_JSONL);
    assert_non_null(strstr(text, "\"history\":\"Dd,\\\"x\\u0009q\\\\\","));
    text = render(path, NULL, FA_FORMAT_ZEEK);
    assert_non_null(strstr(text, "\tS0\t-\t-\t0\tDd,\"x\\x09q\\x5c\t1\t73\t0\t0\n"));
}

static void test_output_empty(void **state)
{
    const char *path = fixed_db("empty_out.db");
    struct fa_flow_filter f;
    const char *text;

    (void)state;
    fa_flow_filter_init(&f);
    f.conn_state = "REJ";
    assert_string_equal(render(path, &f, FA_FORMAT_JSON), "[\n]\n");
    assert_string_equal(render(path, &f, FA_FORMAT_JSONL), "");
    assert_string_equal(render(path, &f, FA_FORMAT_CSV),
                        "uid,run_id,seq,ip_version,proto,proto_name,orig_h,orig_p,resp_h,resp_p,"
                        "first_seen,last_seen,duration,orig_pkts,orig_ip_bytes,orig_bytes,"
                        "resp_pkts,resp_ip_bytes,resp_bytes,conn_state,history,syn_count,"
                        "syn_to_synack,synack_to_ack,icmp_error_type,icmp_error_code,"
                        "icmp_error_v6,icmp_error_from,end_reason,app_proto,server_name,"
                        "tls_version,dns_name\r\n");
    /* Without flows the conn.log's #open and #close are the wall clock. */
    text = render(path, &f, FA_FORMAT_ZEEK);
    assert_memory_equal(text, ZEEK_HEADER "#open\t", strlen(ZEEK_HEADER "#open\t"));
    assert_non_null(strstr(text, "\n" ZEEK_FIELDS "#close\t"));
    assert_int_equal(strlen(strstr(text, "#close\t")), strlen("#close\t2024-01-01-00-00-00\n"));

    /* A filtered conn.log opens at its own first flow. */
    f.conn_state = "S0";
    text = render(path, &f, FA_FORMAT_ZEEK);
    assert_non_null(strstr(text, "\n#open\t2023-11-14-22-13-22\n"));
    assert_non_null(strstr(text, "\n#close\t2023-11-14-22-13-22\n"));
}

static void test_output_write_error(void **state)
{
    const char *path = fixed_db("write_error.db");
    struct fa_store *s = open_ok(path, 1);
    FILE *out = fopen("/dev/null", "r");
    char err[FA_STORE_ERRBUF_SIZE] = "";

    (void)state;
    assert_non_null(out);
    assert_int_equal(fa_output_flows(s, NULL, FA_FORMAT_CSV, out, err), -1);
    assert_memory_equal(err, "cannot write output: ", strlen("cannot write output: "));
    fclose(out);
    fa_store_close(s);
}

static void test_format_names(void **state)
{
    (void)state;
    assert_int_equal(fa_format_parse("table"), FA_FORMAT_TABLE);
    assert_int_equal(fa_format_parse("json"), FA_FORMAT_JSON);
    assert_int_equal(fa_format_parse("csv"), FA_FORMAT_CSV);
    assert_int_equal(fa_format_parse("zeek"), FA_FORMAT_ZEEK);
    assert_int_equal(fa_format_parse("jsonl"), FA_FORMAT_JSONL);
    assert_int_equal(fa_format_parse("JSON"), -1);
    assert_int_equal(fa_format_parse(""), -1);
    assert_string_equal(fa_proto_zeek_name(6), "tcp");
    assert_string_equal(fa_proto_zeek_name(17), "udp");
    assert_string_equal(fa_proto_zeek_name(1), "icmp");
    assert_string_equal(fa_proto_zeek_name(58), "icmp");
    assert_string_equal(fa_proto_zeek_name(47), "unknown_transport");
    assert_string_equal(fa_store_end_name(FA_END_CAPTURE_END), "capture-end");
    assert_null(fa_store_end_name((enum fa_flow_end)6));
    assert_string_equal(fa_store_tls_version_name(0x0300), "SSL 3.0");
    assert_string_equal(fa_store_tls_version_name(0x0304), "TLS 1.3");
    assert_null(fa_store_tls_version_name(0));
    assert_null(fa_store_tls_version_name(0x0305));
    assert_null(fa_store_tls_version_name(0x0204));
    /* fa_app_parse() undoes fa_app_name() over the whole enum. */
    for (int a = FA_APP_UNKNOWN; a <= FA_APP_DNS; a++)
        assert_int_equal(fa_app_parse(fa_app_name((enum fa_app)a)), a);
    assert_int_equal(fa_app_parse("TLS"), -1);
    assert_int_equal(fa_app_parse("ssl"), -1);
    assert_int_equal(fa_app_parse(NULL), -1);
}

/* ---- setup ---------------------------------------------------------------- */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
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
        cmocka_unit_test(test_create_and_migrate),
        cmocka_unit_test(test_newer_schema_refused),
        cmocka_unit_test(test_not_sqlite_refused),
        cmocka_unit_test(test_foreign_sqlite_refused),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_write_errors),
        cmocka_unit_test(test_roundtrip),
        cmocka_unit_test(test_names_roundtrip),
        cmocka_unit_test(test_names_unknown),
        cmocka_unit_test(test_names_checkpoint),
        cmocka_unit_test(test_names_table),
        cmocka_unit_test(test_names_many),
        cmocka_unit_test(test_migrate_from_version_2),
        cmocka_unit_test(test_migrate_from_version_4),
        cmocka_unit_test(test_times_keep_microseconds),
        cmocka_unit_test(test_put_flows),
        cmocka_unit_test(test_checkpoint_updates),
        cmocka_unit_test(test_totals),
        cmocka_unit_test(test_filters),
        cmocka_unit_test(test_two_runs_one_handle),
        cmocka_unit_test(test_each_flow_stops),
        cmocka_unit_test(test_uid),
        cmocka_unit_test(test_output_zeek),
        cmocka_unit_test(test_output_zeek_close),
        cmocka_unit_test(test_output_csv),
        cmocka_unit_test(test_output_json),
        cmocka_unit_test(test_output_jsonl),
        cmocka_unit_test(test_output_table),
        cmocka_unit_test(test_output_table_app),
        cmocka_unit_test(test_output_escaping),
        cmocka_unit_test(test_output_empty),
        cmocka_unit_test(test_output_write_error),
        cmocka_unit_test(test_format_names),
    };

    return cmocka_run_group_tests(tests, make_tmpdir, remove_tmpdir);
}
