/*
 * test_writer.c - the writer thread and the store's transactions.
 *
 * What is checked is what other processes see: each test looks at the
 * database through a connection of its own while a run is written, the
 * way a second `read` or an `audit` would.  Every test works on its own
 * database file in a directory made for the run.
 */
#define _GNU_SOURCE /* nftw() */

#include <ftw.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <setjmp.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "store.h"
#include "writer.h"

static char tmpdir[] = "/tmp/test_writer.XXXXXX";

/* ---- helpers -------------------------------------------------------------- */

static const char *db_path(const char *name)
{
    static char path[256];

    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    return path;
}

static struct fa_store *open_ok(const char *path)
{
    char err[FA_STORE_ERRBUF_SIZE] = "";
    struct fa_store *s = fa_store_open(path, 0, err);

    if (!s)
        fail_msg("open %s: %s", path, err);
    return s;
}

static int64_t begin_run(struct fa_store *s, const char *source)
{
    char err[FA_STORE_ERRBUF_SIZE] = "";
    struct fa_run_info info = {"read", source, NULL, "sensor1", "0.1.0", 1700000100000000000};
    int64_t id = fa_store_begin_run(s, &info, err);

    if (id < 0)
        fail_msg("begin_run: %s", err);
    return id;
}

/* A small UDP flow; seq makes it distinct. */
static struct fa_flow_record flow(uint64_t seq)
{
    struct fa_flow_record r;

    memset(&r, 0, sizeof r);
    r.seq = r.row = seq, r.ip_version = 4, r.proto = 17;
    r.orig_h.b[10] = r.orig_h.b[11] = 0xff, r.orig_h.b[12] = 192, r.orig_h.b[15] = 1;
    r.resp_h = r.orig_h, r.resp_h.b[15] = 2;
    r.orig_p = (uint16_t)(1024 + seq % 60000), r.resp_p = 53;
    r.first_ns = r.last_ns = 1700000000000000000 + (int64_t)seq * 1000;
    r.orig_pkts = 1, r.orig_ip_bytes = 60, r.orig_bytes = 32;
    r.syn_to_synack_ns = r.synack_to_ack_ns = -1;
    strcpy(r.conn_state, "S0"), strcpy(r.history, "D");
    r.end = FA_END_TIMEOUT;
    return r;
}

/* A connection of the test's own, as another process would have: no busy
 * timeout, so a lock held by anyone shows at once as SQLITE_BUSY. */
static sqlite3 *other_connection(const char *path)
{
    sqlite3 *db;

    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    sqlite3_busy_timeout(db, 0);
    return db;
}

static int64_t query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v = -2;

    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_type(st, 0) == SQLITE_NULL ? -1 : sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* Whether the write lock is free: another connection can take it at once. */
static int lock_is_free(const char *path)
{
    sqlite3 *db = other_connection(path);
    int rc = sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL);

    if (rc == SQLITE_OK)
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    return rc == SQLITE_OK;
}

/* The writer commits on its own thread: waits (up to 10 s) until run's
 * stored flows reach n, and returns how many there are. */
static int64_t wait_for_flows(const char *path, int64_t run, int64_t n)
{
    char sql[128];
    int64_t got = 0;

    snprintf(sql, sizeof sql, "SELECT count(*) FROM flows WHERE run_id = %lld", (long long)run);
    for (int i = 0; i < 1000; i++) {
        sqlite3 *db = other_connection(path);
        got = query_int(db, sql);
        sqlite3_close(db);
        if (got >= n)
            break;
        usleep(10000);
    }
    return got;
}

/* ---- tests ---------------------------------------------------------------- */

/* fa_store_begin_run() commits the run's row and leaves no transaction
 * open; fa_store_begin() takes the lock until commit or rollback. */
static void test_store_transactions(void **state)
{
    const char *path = db_path("tx.db");
    struct fa_store *s = open_ok(path);
    struct fa_flow_record r = flow(1);
    char err[FA_STORE_ERRBUF_SIZE] = "";
    sqlite3 *db;

    (void)state;
    assert_int_equal(begin_run(s, "a.pcap"), 1);
    assert_true(lock_is_free(path));

    assert_int_equal(fa_store_begin(s, err), 0);
    assert_false(lock_is_free(path));
    assert_int_equal(fa_store_put_flow(s, &r, err), 0);
    fa_store_rollback(s);
    assert_true(lock_is_free(path));

    assert_int_equal(fa_store_begin(s, err), 0);
    assert_int_equal(fa_store_put_flow(s, &r, err), 0);
    assert_int_equal(fa_store_commit(s, err), 0);
    assert_true(lock_is_free(path));
    /* Nothing open: committing again and rolling back are no-ops. */
    assert_int_equal(fa_store_commit(s, err), 0);
    fa_store_rollback(s);

    db = other_connection(path);
    assert_int_equal(query_int(db, "SELECT count(*) FROM runs"), 1);
    assert_int_equal(query_int(db, "SELECT count(*) FROM flows"), 1);

    /* Another process holding the lock: BEGIN waits (5 s), then reports it. */
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(fa_store_begin(s, err), -1);
    assert_non_null(strstr(err, "cannot begin transaction: database is locked"));
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(db);
    fa_store_close(s);
}

/* While one handle writes a run through the writer, another (a second
 * process's) can begin a run of its own and commit between batches. */
static void test_no_lock_between_batches(void **state)
{
    const char *path = db_path("two_writers.db");
    struct fa_store *s = open_ok(path), *other;
    struct fa_run_totals t;
    struct fa_flow_record r;
    char err[FA_STORE_ERRBUF_SIZE] = "";
    struct fa_writer *w;
    uint64_t seq = 0;
    sqlite3 *db;

    (void)state;
    memset(&t, 0, sizeof t);
    assert_int_equal(begin_run(s, "long.pcap"), 1);
    w = fa_writer_start(s, err);
    assert_non_null(w);

    /* Two full hand-overs, of several batches each, and a third being
     * filled. */
    while (seq < 2 * FA_WRITER_HANDOVER + 100) {
        r = flow(++seq);
        t.packets++;
        assert_int_equal(fa_writer_put(w, &r, &t), 0);
    }
    assert_int_equal(wait_for_flows(path, 1, 2 * FA_WRITER_HANDOVER), 2 * FA_WRITER_HANDOVER);
    assert_true(lock_is_free(path));

    other = open_ok(path);
    assert_int_equal(begin_run(other, "other.pcap"), 2);
    r = flow(1);
    assert_int_equal(fa_store_begin(other, err), 0);
    assert_int_equal(fa_store_put_flow(other, &r, err), 0);
    assert_int_equal(fa_store_commit(other, err), 0);

    /* The first run goes on, undisturbed. */
    while (seq < 3 * FA_WRITER_HANDOVER + 200) {
        r = flow(++seq);
        t.packets++;
        assert_int_equal(fa_writer_put(w, &r, &t), 0);
    }
    assert_int_equal(fa_writer_commit(w, &t, err), 0);
    assert_true(lock_is_free(path));
    t.ended_ns = 1700000200000000000;
    assert_int_equal(fa_writer_stop(w, &t, err), 0);
    fa_store_close(other);
    fa_store_close(s);

    db = other_connection(path);
    assert_int_equal(query_int(db, "SELECT count(*) FROM flows WHERE run_id = 1"), seq);
    assert_int_equal(query_int(db, "SELECT count(*) FROM flows WHERE run_id = 2"), 1);
    assert_int_equal(query_int(db, "SELECT packets FROM runs WHERE id = 1"), seq);
    assert_int_equal(query_int(db, "SELECT ended IS NOT NULL FROM runs WHERE id = 1"), 1);
    sqlite3_close(db);
}

/* The last commit of a hand-over carries the totals as they stood when it
 * was handed over, even though the caller keeps counting right after. */
static void test_totals_in_every_commit(void **state)
{
    const char *path = db_path("totals.db");
    struct fa_store *s = open_ok(path);
    struct fa_run_totals t;
    struct fa_flow_record r;
    char err[FA_STORE_ERRBUF_SIZE] = "";
    struct fa_writer *w;
    sqlite3 *db;

    (void)state;
    memset(&t, 0, sizeof t);
    assert_int_equal(begin_run(s, "big.pcap"), 1);
    w = fa_writer_start(s, err);
    assert_non_null(w);
    t.first_packet_ns = 1700000000000000000;
    for (uint64_t seq = 1; seq <= FA_WRITER_HANDOVER; seq++) {
        r = flow(seq);
        t.packets = 3 * seq, t.bytes = 300 * seq, t.flows = seq + 7;
        t.last_packet_ns = r.last_ns;
        t.decode_errors[FA_DECODE_NOT_IP] = seq / 2;
        assert_int_equal(fa_writer_put(w, &r, &t), 0);
    }
    /* The caller counts on while the hand-over is written. */
    t.packets = 1, t.bytes = 1, t.flows = 1, t.decode_errors[FA_DECODE_NOT_IP] = 1;

    assert_int_equal(wait_for_flows(path, 1, FA_WRITER_HANDOVER), FA_WRITER_HANDOVER);
    db = other_connection(path);
    assert_int_equal(query_int(db, "SELECT packets FROM runs"), 3 * FA_WRITER_HANDOVER);
    assert_int_equal(query_int(db, "SELECT bytes FROM runs"), 300 * FA_WRITER_HANDOVER);
    assert_int_equal(query_int(db, "SELECT flows FROM runs"), FA_WRITER_HANDOVER + 7);
    assert_int_equal(query_int(db, "SELECT ended FROM runs"), -1);
    assert_int_equal(query_int(db, "SELECT count FROM decode_errors WHERE reason = 'not-ip'"),
                     FA_WRITER_HANDOVER / 2);
    assert_int_equal(query_int(db, "SELECT round(first_packet) FROM runs"), 1700000000);

    /* A commit without records still writes the totals. */
    t.packets = 5 * FA_WRITER_HANDOVER;
    assert_int_equal(fa_writer_commit(w, &t, err), 0);
    assert_int_equal(query_int(db, "SELECT packets FROM runs"), 5 * FA_WRITER_HANDOVER);
    assert_int_equal(fa_writer_stop(w, &t, err), 0);
    sqlite3_close(db);
    fa_store_close(s);
}

/* A batch that fails is rolled back whole, the batches before it in its
 * hand-over stay committed, each with the totals as they stood when its
 * last record was queued, the lock is given back, and the writer refuses
 * what comes after, saying why. */
static void test_failed_batch_rolled_back(void **state)
{
    const char *path = db_path("failed.db");
    struct fa_store *s = open_ok(path);
    struct fa_run_totals t;
    struct fa_flow_record r;
    char err[FA_STORE_ERRBUF_SIZE] = "", want[FA_STORE_ERRBUF_SIZE];
    struct fa_writer *w;
    sqlite3 *db;
    int rc = 0;
    const uint64_t bad = 1 + 2 * FA_WRITER_BATCH + 100; /* in the third batch */

    (void)state;
    memset(&t, 0, sizeof t);
    assert_int_equal(begin_run(s, "bad.pcap"), 1);
    w = fa_writer_start(s, err);
    assert_non_null(w);
    r = flow(1);
    t.packets = 1;
    assert_int_equal(fa_writer_commit(w, &t, err), 0);

    for (uint64_t seq = 2; seq <= 2 * FA_WRITER_HANDOVER + 1; seq++) {
        r = flow(seq);
        if (seq == bad)
            r.end = (enum fa_flow_end)42; /* the store refuses it */
        t.packets = seq;
        rc |= fa_writer_put(w, &r, &t);
    }
    /* The second hand-over is made after the first failed. */
    assert_int_equal(rc, -1);
    assert_int_equal(fa_writer_commit(w, &t, err), -1);
    snprintf(want, sizeof want, "%s: flow %llu: unknown end reason 42", path,
             (unsigned long long)bad);
    assert_string_equal(err, want);
    assert_true(lock_is_free(path));

    db = other_connection(path);
    assert_int_equal(query_int(db, "SELECT count(*) FROM flows"), 2 * FA_WRITER_BATCH);
    assert_int_equal(query_int(db, "SELECT max(seq) FROM flows"), 1 + 2 * FA_WRITER_BATCH);
    assert_int_equal(query_int(db, "SELECT packets FROM runs"), 1 + 2 * FA_WRITER_BATCH);
    sqlite3_close(db);
    t.ended_ns = 1;
    assert_int_equal(fa_writer_stop(w, &t, err), -1);
    assert_string_equal(err, want);
    fa_store_close(s);
    assert_int_equal(query_int(db = other_connection(path), "SELECT ended FROM runs"), -1);
    sqlite3_close(db);
}

/* A record's names reach the store as they were queued, whatever their
 * length, and so do the fields before them; a record without names stays
 * without. */
static void test_names_kept(void **state)
{
    const char *path = db_path("names.db");
    struct fa_store *s = open_ok(path);
    struct fa_run_totals t;
    struct fa_flow_record r;
    char err[FA_STORE_ERRBUF_SIZE] = "", sql[700], longest[256];
    struct fa_writer *w;
    sqlite3 *db;
    /* Enough long names to outgrow the first name buffer a few times. */
    const uint64_t n = 2000;

    (void)state;
    memset(&t, 0, sizeof t);
    memset(longest, 'a', sizeof longest - 1);
    longest[sizeof longest - 1] = '\0';
    assert_int_equal(begin_run(s, "named.pcap"), 1);
    w = fa_writer_start(s, err);
    assert_non_null(w);
    for (uint64_t seq = 1; seq <= n; seq++) {
        r = flow(seq);
        r.orig_pkts = seq;
        if (seq % 4 == 1)
            snprintf(r.server_name, sizeof r.server_name, "s%llu.example", (unsigned long long)seq);
        if (seq % 4 == 2)
            snprintf(r.dns_name, sizeof r.dns_name, "%s", longest);
        if (seq % 4 == 3) {
            snprintf(r.server_name, sizeof r.server_name, "%s", longest);
            snprintf(r.dns_name, sizeof r.dns_name, "d%llu.example", (unsigned long long)seq);
        }
        t.flows = seq;
        assert_int_equal(fa_writer_put(w, &r, &t), 0);
    }
    assert_int_equal(fa_writer_stop(w, &t, err), 0);
    fa_store_close(s);

    db = other_connection(path);
    assert_int_equal(query_int(db, "SELECT count(*) FROM flows"), n);
    assert_int_equal(query_int(db, "SELECT count(*) FROM flows WHERE orig_pkts <> seq"), 0);
    assert_int_equal(query_int(db, "SELECT count(*) FROM flows WHERE seq % 4 = 0 AND "
                                   "(server_name IS NOT NULL OR dns_name IS NOT NULL)"),
                     0);
    assert_int_equal(query_int(db, "SELECT count(*) FROM flows WHERE seq % 4 = 1 AND "
                                   "(server_name <> 's' || seq || '.example' OR dns_name IS NOT "
                                   "NULL)"),
                     0);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM flows WHERE seq %% 4 = 2 AND "
             "(server_name IS NOT NULL OR dns_name IS NOT '%s')",
             longest);
    assert_int_equal(query_int(db, sql), 0);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM flows WHERE seq %% 4 = 3 AND "
             "(server_name IS NOT '%s' OR dns_name IS NOT 'd' || seq || '.example')",
             longest);
    assert_int_equal(query_int(db, sql), 0);
    sqlite3_close(db);
}

/* Another process holding the lock briefly delays a batch, not fails it. */
static void test_waits_for_lock(void **state)
{
    const char *path = db_path("wait.db");
    struct fa_store *s = open_ok(path);
    struct fa_run_totals t;
    struct fa_flow_record r = flow(1);
    char err[FA_STORE_ERRBUF_SIZE] = "";
    struct fa_writer *w;
    sqlite3 *db;

    (void)state;
    memset(&t, 0, sizeof t);
    assert_int_equal(begin_run(s, "wait.pcap"), 1);
    w = fa_writer_start(s, err);
    assert_non_null(w);
    db = other_connection(path);
    assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(fa_writer_put(w, &r, &t), 0);
    t.packets = 1;
    assert_int_equal(fa_writer_flush(w, &t), 0);
    usleep(300000);
    assert_int_equal(query_int(db, "SELECT count(*) FROM flows"), 0);
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(fa_writer_commit(w, &t, err), 0);
    assert_int_equal(query_int(db, "SELECT count(*) FROM flows"), 1);
    assert_int_equal(query_int(db, "SELECT packets FROM runs"), 1);
    assert_int_equal(fa_writer_stop(w, &t, err), 0);
    sqlite3_close(db);
    fa_store_close(s);
}

/* ---- main ----------------------------------------------------------------- */

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_transactions),
        cmocka_unit_test(test_no_lock_between_batches),
        cmocka_unit_test(test_totals_in_every_commit),
        cmocka_unit_test(test_failed_batch_rolled_back),
        cmocka_unit_test(test_names_kept),
        cmocka_unit_test(test_waits_for_lock),
    };
    int rc;

    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    nftw(tmpdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    return rc;
}
