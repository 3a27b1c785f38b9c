/*
 * store.c - the SQLite store: runs and their flows in one database file.
 *
 * Invariants:
 *   - this is the only file that speaks SQL; the statements of the write
 *     path are prepared once when the handle opens, the SELECTs of
 *     fa_store_each_flow() once per shape of filter, on first use;
 *   - a database is only written when its application_id is flowaudit's (or
 *     it is empty) and its schema is the one this binary knows: a file that
 *     is not SQLite, another application's database or a newer schema is
 *     refused before anything is written;
 *   - migrations run one per transaction, each setting user_version, and
 *     re-read user_version under the write lock, so two processes opening
 *     a new database at once apply each migration once;
 *   - a write transaction is open only while a batch is being written:
 *     fa_store_begin() takes the write lock (BEGIN IMMEDIATE) and
 *     fa_store_commit() or fa_store_rollback() gives it back; nothing here
 *     leaves one open between calls of its own, so between batches other
 *     processes (another read, an audit) can write the same database;
 *   - times are REAL seconds rounded to the microsecond with fa_ns_to_us()
 *     and read back exactly: a value printed to 6 decimals before it is
 *     stored prints the same after;
 *   - every error goes to the caller's errbuf as "PATH: what: why"; there
 *     is no global state.
 */
#include "store.h"
#include "store_private.h"

#include "appproto.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

extern const char *const fa_schema[];
extern const size_t fa_schema_count;

/* "FAud": marks the file as ours, so another application's SQLite
 * database is never migrated into. */
#define FA_APPLICATION_ID 0x46417564

/* How long a write waits for the lock another process holds.  Writers
 * hold it for one transaction: a run's batch of at most 4096 flows and its
 * totals, an audit's results, a migration; 5 s outlasts any of those with
 * room to spare, and a lock held longer (a stuck process, a transaction
 * left open in a sqlite3 shell) is reported as "database is locked"
 * instead of stalling a capture indefinitely. */
#define FA_BUSY_TIMEOUT_MS 5000

/* A flow's id is its run's id times 2^40 plus its row in the run
 * (005_flow_ids.sql). */
#define ROW_BITS 40
#define SPELL(x) #x
#define SPELLED(x) SPELL(x)
#define MAX_ROW ((INT64_C(1) << ROW_BITS) - 1)
#define MAX_RUN_ID ((INT64_C(1) << (63 - ROW_BITS)) - 1)

static const char *const sql_text[SQL_COUNT] = {
    /* IMMEDIATE: the write lock is taken, or waited for, here.  A deferred
     * transaction asks for it at its first write, where SQLite may return
     * SQLITE_BUSY at once instead of waiting, to rule out a deadlock. */
    [SQL_BEGIN] = "BEGIN IMMEDIATE",
    [SQL_COMMIT] = "COMMIT",
    [SQL_INSERT_RUN] = "INSERT INTO runs (mode, source, filter, sensor, version, started)"
                       " VALUES (?, ?, ?, ?, ?, ?)",
    /* SQL_UPSERT_FLOW and SQL_UPSERT_FLOWS: flow_upsert_sql(). */
    [SQL_UPDATE_RUN] = "UPDATE runs SET ended = ?, first_packet = ?, last_packet = ?,"
                       " packets = ?, bytes = ?, received = ?, dropped = ?, if_dropped = ?,"
                       " flows = ?, evicted = ?, orphan_fragments = ?, checkpoint = ?"
                       " WHERE id = ?",
    [SQL_DELETE_ERRORS] = "DELETE FROM decode_errors WHERE run_id = ?",
    [SQL_INSERT_ERROR] = "INSERT INTO decode_errors (run_id, reason, count) VALUES (?, ?, ?)",
    /* SQL_UPSERT_NAME and SQL_UPSERT_NAMES: name_upsert_sql(). */
};

#define FLOW_COLUMNS                                                                               \
    "id, run_id, seq, uid, ip_version, proto, orig_h, orig_p, resp_h, resp_p, first_seen,"         \
    " last_seen, orig_pkts, orig_ip_bytes, orig_bytes, resp_pkts, resp_ip_bytes, resp_bytes,"      \
    " conn_state, history, syn_count, syn_to_synack, synack_to_ack, icmp_error_type,"              \
    " icmp_error_code, icmp_error_v6, icmp_error_from, end_reason, app_proto, server_name,"        \
    " tls_version, dns_name"

/* A flow's parameters: one for each column, in FLOW_COLUMNS order. */
#define FLOW_PARAMS 32
_Static_assert(FA_STORE_ROWS_A_STATEMENT *FLOW_PARAMS <= 999,
               "a statement's parameters within SQLite's oldest limit");

/* The columns a flow written again updates: all but those that name it
 * (id, run_id, seq, uid). */
static const char *const flow_updated[] = {
    "ip_version",      "proto",         "orig_h",          "orig_p",        "resp_h",
    "resp_p",          "first_seen",    "last_seen",       "orig_pkts",     "orig_ip_bytes",
    "orig_bytes",      "resp_pkts",     "resp_ip_bytes",   "resp_bytes",    "conn_state",
    "history",         "syn_count",     "syn_to_synack",   "synack_to_ack", "icmp_error_type",
    "icmp_error_code", "icmp_error_v6", "icmp_error_from", "end_reason",    "app_proto",
    "server_name",     "tls_version",   "dns_name"};

/* Appends to the text in sql[size], which already holds *n bytes; once
 * it is full, nothing more, and *n reaches size. */
static void append_sql(char *sql, size_t size, size_t *n, const char *fmt, ...)
{
    va_list ap;
    int k;

    if (*n >= size)
        return;
    va_start(ap, fmt);
    k = vsnprintf(sql + *n, size - *n, fmt, ap);
    va_end(ap);
    *n = k < 0 || (size_t)k >= size - *n ? size : *n + (size_t)k;
}

/* "head (?1, ?2, ...), (...) tail": an insert of `rows` rows of nparams
 * parameters each, row r binding r * nparams + 1 to (r + 1) * nparams in
 * its columns' order; NULL out of memory. */
static char *insert_sql(const char *head, int nparams, int rows, const char *tail)
{
    /* A parameter takes at most ", ?NNNNN". */
    size_t size = strlen(head) + strlen(tail) + (size_t)rows * ((size_t)nparams * 8 + 4) + 1, n = 0;
    char *sql = malloc(size);
    if (!sql)
        return NULL;
    append_sql(sql, size, &n, "%s", head);
    for (int r = 0; r < rows; r++) {
        for (int i = 1; i <= nparams; i++)
            append_sql(sql, size, &n, "%s?%d", i > 1 ? ", " : r ? ", (" : "(", r * nparams + i);
        append_sql(sql, size, &n, ")");
    }
    append_sql(sql, size, &n, "%s", tail);
    if (n >= size) { /* cannot be, with the room above; refused rather than cut */
        free(sql);
        return NULL;
    }
    return sql;
}

/* The upsert of `rows` flows in one statement. */
static char *flow_upsert_sql(int rows)
{
    char tail[2048];
    size_t n = 0;

    append_sql(tail, sizeof tail, &n, " ON CONFLICT (id) DO UPDATE SET");
    for (size_t i = 0; i < sizeof flow_updated / sizeof *flow_updated; i++)
        append_sql(tail, sizeof tail, &n, "%s %s = excluded.%s", i ? "," : "", flow_updated[i],
                   flow_updated[i]);
    if (n >= sizeof tail)
        return NULL;
    return insert_sql("INSERT INTO flows (" FLOW_COLUMNS ") VALUES ", FLOW_PARAMS, rows, tail);
}

/* The parameters of one row of the names table. */
#define NAME_PARAMS 5

/* The upsert of `rows` rows of the names table: a pair written again
 * (a capture's checkpoints) widens its times rather than failing the run. */
static char *name_upsert_sql(int rows)
{
    return insert_sql("INSERT INTO names (run_id, name, address, first_seen, last_seen) VALUES ",
                      NAME_PARAMS, rows,
                      " ON CONFLICT (run_id, name, address) DO UPDATE SET"
                      " first_seen = min(first_seen, excluded.first_seen),"
                      " last_seen = max(last_seen, excluded.last_seen)");
}

static const char *const end_names[] = {
    [FA_END_ACTIVE] = "active",           [FA_END_CLOSED] = "closed",
    [FA_END_TIMEOUT] = "timeout",         [FA_END_EVICTED] = "evicted",
    [FA_END_CAPTURE_END] = "capture-end", [FA_END_REUSED] = "reused",
};

#define N_END_NAMES (sizeof end_names / sizeof end_names[0])

/* As schema/003_names.sql stores them; the index is the minor byte of the
 * wire version 0x03xx. */
static const char *const tls_version_names[] = {"SSL 3.0", "TLS 1.0", "TLS 1.1", "TLS 1.2",
                                                "TLS 1.3"};

#define N_TLS_VERSION_NAMES (sizeof tls_version_names / sizeof tls_version_names[0])

void fa_store_set_error(char *errbuf, const char *fmt, ...)
{
    va_list ap;

    if (!errbuf)
        return;
    va_start(ap, fmt);
    vsnprintf(errbuf, FA_STORE_ERRBUF_SIZE, fmt, ap);
    va_end(ap);
}

/* What to do about an error, by its kind; "" when there is nothing
 * better to say than SQLite's message. */
static const char *error_advice(int code, int sys_errno)
{
    if (code == SQLITE_FULL || sys_errno == ENOSPC || sys_errno == EDQUOT)
        return "; free space on its disk and run the command again (what was committed before "
               "is kept)";
    if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
        return "; the database is damaged: save what it still holds with sqlite3's .recover "
               "command, or use another --db";
    if (code == SQLITE_READONLY || code == SQLITE_PERM || sys_errno == EACCES ||
        sys_errno == EPERM || sys_errno == EROFS)
        return "; check the permissions of the database and its folder, or use another --db";
    return "";
}

/* Reports the connection's last error, with the system's reason for an
 * I/O error and what to do about it; always returns -1. */
int fa_store_db_error(struct fa_store *s, char *errbuf, const char *what)
{
    int code = sqlite3_errcode(s->db) & 0xff;
    int sys_errno = code == SQLITE_IOERR || code == SQLITE_CANTOPEN || code == SQLITE_FULL
                        ? sqlite3_system_errno(s->db)
                        : 0;
    char why[96] = "";

    if (sys_errno && code != SQLITE_FULL)
        snprintf(why, sizeof why, " (%s)", strerror(sys_errno));
    fa_store_set_error(errbuf, "%s: %s: %s%s%s", s->path, what, sqlite3_errmsg(s->db), why,
                       error_advice(code, sys_errno));
    return -1;
}

/* Steps a statement that returns no row and resets it for the next use. */
int fa_store_step_done(struct fa_store *s, sqlite3_stmt *st, const char *what, char *errbuf)
{
    int rc = sqlite3_step(st);

    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
        fa_store_db_error(s, errbuf, what);
    sqlite3_reset(st);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? 0 : -1;
}

static int exec_sql(struct fa_store *s, const char *sql, const char *what, char *errbuf)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return fa_store_db_error(s, errbuf, what);
    return 0;
}

/* The first query is the one that reads the file, so it is where a file
 * that is not a database shows up. */
static int query_int(struct fa_store *s, const char *sql, int64_t *out, char *errbuf)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);

    if (rc == SQLITE_OK) {
        rc = sqlite3_step(st);
        if (rc == SQLITE_ROW)
            *out = sqlite3_column_int64(st, 0);
    }
    if (rc == SQLITE_ROW || rc == SQLITE_OK) {
        sqlite3_finalize(st);
        return 0;
    }
    if (rc == SQLITE_NOTADB)
        fa_store_set_error(errbuf,
                           "%s: not a flowaudit database (%s); give --db a database "
                           "flowaudit wrote, or a new file name",
                           s->path, sqlite3_errmsg(s->db));
    else
        fa_store_db_error(s, errbuf, "cannot read database");
    sqlite3_finalize(st);
    return -1;
}

double fa_store_ns_to_secs(int64_t ns)
{
    return (double)fa_ns_to_us(ns) / 1e6;
}

/* The bounds keep a corrupt value from overflowing int64 nanoseconds. */
int64_t fa_store_secs_to_ns(double secs)
{
    double us = secs * 1e6;

    if (!(us > -9.2e15 && us < 9.2e15))
        return us > 0 ? INT64_MAX / 1000 * 1000 : INT64_MIN / 1000 * 1000;
    return (int64_t)llround(us) * 1000;
}

int fa_store_bind_text(sqlite3_stmt *st, int i, const char *text)
{
    return text ? sqlite3_bind_text(st, i, text, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

static int bind_secs_or_null(sqlite3_stmt *st, int i, int has, int64_t ns)
{
    return has ? sqlite3_bind_double(st, i, fa_store_ns_to_secs(ns)) : sqlite3_bind_null(st, i);
}

static int bind_count_or_null(sqlite3_stmt *st, int i, int has, uint64_t n)
{
    return has ? sqlite3_bind_int64(st, i, (sqlite3_int64)n) : sqlite3_bind_null(st, i);
}

/* Refuses what is not ours before anything is written: the application
 * id is checked first because another program may use user_version too. */
static int check_database(struct fa_store *s, enum fa_store_mode mode, int64_t *version,
                          char *errbuf)
{
    int64_t app_id = 0, objects = 0;
    int64_t have = (int64_t)fa_schema_count;

    if (query_int(s, "PRAGMA application_id", &app_id, errbuf) < 0 ||
        query_int(s, "PRAGMA user_version", version, errbuf) < 0 ||
        query_int(s, "SELECT count(*) FROM sqlite_schema", &objects, errbuf) < 0)
        return -1;
    if (app_id != FA_APPLICATION_ID && !(app_id == 0 && *version == 0 && objects == 0)) {
        fa_store_set_error(errbuf,
                           "%s: not a flowaudit database (another application's SQLite database)",
                           s->path);
        return -1;
    }
    if (*version > have) {
        fa_store_set_error(errbuf,
                           "%s: database schema version %lld is newer than this flowaudit (%lld);"
                           " use a newer flowaudit",
                           s->path, (long long)*version, (long long)have);
        return -1;
    }
    if (mode != FA_STORE_CREATE && *version == 0 && objects == 0) {
        fa_store_set_error(errbuf, "%s: empty database; record flows with 'flowaudit read' first",
                           s->path);
        return -1;
    }
    if (mode == FA_STORE_READ && *version < have) {
        fa_store_set_error(errbuf,
                           "%s: database schema version %lld is older than this flowaudit (%lld);"
                           " run a command that writes to it (read, capture) to upgrade it",
                           s->path, (long long)*version, (long long)have);
        return -1;
    }
    return 0;
}

/* The page size of a database made here.  A run appends thousands of
 * rows a second; with 16 KiB pages SQLite allocates, fills and logs a
 * quarter as many pages as with its default 4 KiB, and a writer spends
 * about a tenth less on each flow.  It takes effect only on a database
 * not yet written: one made earlier keeps its own. */
#define FA_PAGE_SIZE 16384

/* How much the WAL grows before it is checkpointed, whatever the page
 * size: SQLite's default of 1000 pages of 4 KiB.  The last checkpoint
 * runs as the store closes, at the end of a run, which waits for it. */
#define FA_WAL_CHECKPOINT_BYTES (1000 * 4096)

/* WAL lets readers run while a capture writes; NORMAL skips the fsync of
 * each commit, which WAL makes safe against corruption (a crash loses at
 * most the last commits, never the file). */
static int configure_writer(struct fa_store *s, char *errbuf)
{
    int64_t page_size;
    char sql[64];

    if (sqlite3_db_readonly(s->db, "main") == 1) {
        fa_store_set_error(errbuf,
                           "%s: cannot write to the database: the file is read-only; make it "
                           "writable or use another --db",
                           s->path);
        return -1;
    }
    /* SQLite counted its page cache (2000 KiB by default) in pages of the
     * size it had before: said again, it counts the new ones. */
    snprintf(sql, sizeof sql, "PRAGMA page_size = %d; PRAGMA cache_size = -2000", FA_PAGE_SIZE);
    if (exec_sql(s, sql, "cannot set the page size", errbuf) < 0 ||
        exec_sql(s, "PRAGMA journal_mode = WAL", "cannot set WAL mode", errbuf) < 0 ||
        exec_sql(s, "PRAGMA synchronous = NORMAL", "cannot set synchronous mode", errbuf) < 0 ||
        query_int(s, "PRAGMA page_size", &page_size, errbuf) < 0)
        return -1;
    snprintf(sql, sizeof sql, "PRAGMA wal_autocheckpoint = %lld",
             (long long)(FA_WAL_CHECKPOINT_BYTES / (page_size > 0 ? page_size : 4096)));
    return exec_sql(s, sql, "cannot set the WAL checkpoint", errbuf);
}

/* Applies fa_schema[version] and records it; the caller holds the write
 * transaction. */
static int apply_migration(struct fa_store *s, int64_t version, char *errbuf)
{
    char sql[96];

    if (sqlite3_exec(s->db, fa_schema[version], NULL, NULL, NULL) != SQLITE_OK) {
        fa_store_set_error(errbuf, "%s: cannot upgrade the schema to version %lld: %s", s->path,
                           (long long)version + 1, sqlite3_errmsg(s->db));
        return -1;
    }
    snprintf(sql, sizeof sql, "PRAGMA application_id = %d; PRAGMA user_version = %lld",
             FA_APPLICATION_ID, (long long)version + 1);
    return exec_sql(s, sql, "cannot record the schema version", errbuf);
}

static int migrate(struct fa_store *s, char *errbuf)
{
    for (;;) {
        int64_t version = 0;

        if (exec_sql(s, "BEGIN IMMEDIATE", "cannot lock database to upgrade it", errbuf) < 0)
            return -1;
        if (query_int(s, "PRAGMA user_version", &version, errbuf) < 0)
            goto fail;
        if (version >= (int64_t)fa_schema_count)
            return exec_sql(s, "COMMIT", "cannot upgrade the schema", errbuf);
        if (apply_migration(s, version, errbuf) < 0)
            goto fail;
        if (exec_sql(s, "COMMIT", "cannot upgrade the schema", errbuf) < 0)
            goto fail;
    }
fail:
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

static int prepare(struct fa_store *s, const char *sql, sqlite3_stmt **st, char *errbuf)
{
    if (!sql) {
        fa_store_set_error(errbuf, "%s: out of memory", s->path);
        return -1;
    }
    if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL) != SQLITE_OK)
        return fa_store_db_error(s, errbuf, "cannot prepare statement");
    return 0;
}

/* Prepares the statement whose text make(rows) gives. */
static int prepare_made(struct fa_store *s, char *(*make)(int), int rows, sqlite3_stmt **st,
                        char *errbuf)
{
    char *sql = make(rows);
    int rc = prepare(s, sql, st, errbuf);
    free(sql);
    return rc;
}

static int prepare_statements(struct fa_store *s, char *errbuf)
{
    for (int i = 0; i < SQL_COUNT; i++)
        if (sql_text[i] && prepare(s, sql_text[i], &s->stmt[i], errbuf) < 0)
            return -1;
    sqlite3_stmt **st = s->stmt;
    if (prepare_made(s, flow_upsert_sql, 1, &st[SQL_UPSERT_FLOW], errbuf) < 0 ||
        prepare_made(s, flow_upsert_sql, FA_STORE_ROWS_A_STATEMENT, &st[SQL_UPSERT_FLOWS], errbuf) <
            0 ||
        prepare_made(s, name_upsert_sql, 1, &st[SQL_UPSERT_NAME], errbuf) < 0 ||
        prepare_made(s, name_upsert_sql, FA_STORE_ROWS_A_STATEMENT, &st[SQL_UPSERT_NAMES], errbuf) <
            0)
        return -1;
    return 0;
}

/* The folder a path is in, for messages: "." for a bare name. */
static void folder_of(const char *path, char *dir, size_t size)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        snprintf(dir, size, ".");
    else if (slash == path)
        snprintf(dir, size, "/");
    else
        snprintf(dir, size, "%.*s", (int)(slash - path), path);
}

/* The mistakes SQLite would report only as "unable to open database
 * file": a folder given as the database, a database that is not there
 * for a command that only reads, a new one in a folder that does not
 * exist or cannot be written.  Returns -1 with errbuf for one of those;
 * *exists says whether the file was there. */
static int check_path(const char *path, enum fa_store_mode mode, int *exists, char *errbuf)
{
    struct stat st;
    char dir[4096];

    *exists = stat(path, &st) == 0;
    if (*exists && S_ISDIR(st.st_mode)) {
        fa_store_set_error(errbuf, "%s: is a directory; --db needs a database file", path);
        return -1;
    }
    if (*exists || errno != ENOENT)
        return 0;
    if (mode != FA_STORE_CREATE) {
        fa_store_set_error(errbuf, "%s: no such database; record flows with 'flowaudit read' first",
                           path);
        return -1;
    }
    folder_of(path, dir, sizeof dir);
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fa_store_set_error(errbuf,
                           "%s: cannot create the database: folder %s does not exist; create it "
                           "or use another --db",
                           path, dir);
        return -1;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        fa_store_set_error(errbuf,
                           "%s: cannot create the database in folder %s: %s; use another --db",
                           path, dir, strerror(errno));
        return -1;
    }
    return 0;
}

/* SQLite keeps a database's journal (in WAL mode its -wal and -shm files)
 * beside it, so a folder it cannot write stops even a reader of a WAL
 * database.  Replaces errbuf when that is why the open failed. */
static void explain_folder(const struct fa_store *s, int readonly, char *errbuf)
{
    int code = s->db ? sqlite3_errcode(s->db) & 0xff : SQLITE_CANTOPEN;
    char dir[4096];

    if (code != SQLITE_READONLY && code != SQLITE_CANTOPEN && code != SQLITE_IOERR &&
        code != SQLITE_PERM)
        return;
    folder_of(s->path, dir, sizeof dir);
    if (access(dir, W_OK | X_OK) == 0)
        return;
    fa_store_set_error(errbuf,
                       "%s: cannot %s the database: its folder %s is not writable, and SQLite "
                       "keeps the database's journal (%s-wal, %s-shm) beside it; make the folder "
                       "writable, or copy the database to one that is",
                       s->path, readonly ? "read" : "write to", dir, s->path, s->path);
}

/* A database this open created but could not set up (a full disk, say)
 * is not left behind as an empty file.  Only while it is still empty, in
 * its file and its WAL: another process may have created it at the same
 * moment and be writing it. */
static void remove_created(const char *path)
{
    static const char *const suffixes[] = {"-shm", "-journal", "-wal", ""};
    char name[4200];
    struct stat st;

    for (size_t i = 2; i < 4; i++) {
        snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
        if (stat(name, &st) == 0 && st.st_size > 0)
            return;
    }
    for (size_t i = 0; i < 4; i++) {
        snprintf(name, sizeof name, "%s%s", path, suffixes[i]);
        unlink(name);
    }
}

struct fa_store *fa_store_open(const char *path, enum fa_store_mode mode, char *errbuf)
{
    int readonly = mode == FA_STORE_READ;
    /* NOMUTEX: a store is used by one thread at a time (writer.h hands it
     * over whole), so SQLite's own locking on every call is waste. */
    int flags = SQLITE_OPEN_NOMUTEX |
                (readonly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    struct fa_store *s = calloc(1, sizeof *s);
    int64_t version = 0;
    int existed;

    if (!s || !(s->path = strdup(path))) {
        fa_store_set_error(errbuf, "%s: out of memory", path);
        free(s);
        return NULL;
    }
    if (check_path(path, mode, &existed, errbuf) < 0) {
        fa_store_close(s);
        return NULL;
    }
    if (sqlite3_open_v2(path, &s->db, flags, NULL) != SQLITE_OK) {
        fa_store_db_error(s, errbuf, "cannot open database");
        goto fail;
    }
    sqlite3_busy_timeout(s->db, FA_BUSY_TIMEOUT_MS);
    if (check_database(s, mode, &version, errbuf) < 0)
        goto fail;
    if (!readonly && configure_writer(s, errbuf) < 0)
        goto fail;
    if (!readonly && version < (int64_t)fa_schema_count && migrate(s, errbuf) < 0)
        goto fail;
    if (exec_sql(s, "PRAGMA foreign_keys = ON", "cannot enable foreign keys", errbuf) < 0 ||
        prepare_statements(s, errbuf) < 0)
        goto fail;
    return s;
fail:
    if (existed)
        explain_folder(s, readonly, errbuf);
    fa_store_close(s);
    if (!existed && !readonly)
        remove_created(path);
    return NULL;
}

void fa_store_close(struct fa_store *s)
{
    if (!s)
        return;
    /* What was not committed explicitly was not finished: an audit or a
     * batch cut short by an error must not land half-written. */
    if (s->db && !sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    for (int i = 0; i < SQL_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    for (int i = 0; i < FILTER_SHAPES; i++)
        sqlite3_finalize(s->select[i]);
    fa_store_audit_close(s);
    sqlite3_close(s->db);
    free(s->path);
    free(s);
}

/* The run row is committed on its own, so a run that crashes is still
 * listed, with ended NULL. */
int64_t fa_store_begin_run(struct fa_store *s, const struct fa_run_info *info, char *errbuf)
{
    sqlite3_stmt *st = s->stmt[SQL_INSERT_RUN];

    s->run_id = 0;
    if (fa_store_commit(s, errbuf) < 0)
        return -1;
    int64_t last = 0;
    if (query_int(s, "SELECT coalesce(max(id), 0) FROM runs", &last, errbuf) < 0)
        return -1;
    if (last >= MAX_RUN_ID) {
        fa_store_set_error(errbuf,
                           "%s: holds the most runs a database can (%lld); record into a new one",
                           s->path, (long long)MAX_RUN_ID);
        return -1;
    }
    sqlite3_bind_text(st, 1, info->mode ? info->mode : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, info->source ? info->source : "", -1, SQLITE_TRANSIENT);
    fa_store_bind_text(st, 3, info->filter);
    fa_store_bind_text(st, 4, info->sensor);
    sqlite3_bind_text(st, 5, info->version ? info->version : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 6, fa_store_ns_to_secs(info->started_ns));
    if (fa_store_step_done(s, st, "cannot record run", errbuf) < 0)
        return -1;
    s->run_id = sqlite3_last_insert_rowid(s->db);
    return s->run_id;
}

static int need_run(struct fa_store *s, char *errbuf)
{
    if (s->run_id > 0)
        return 0;
    fa_store_set_error(errbuf, "%s: no run begun on this handle", s->path);
    return -1;
}

/* A fixed-size name field of a record: NULL when empty, never read past
 * its size even without a terminator. */
static void bind_name_or_null(sqlite3_stmt *st, int i, const char *name, size_t size)
{
    if (name[0])
        sqlite3_bind_text(st, i, name, (int)strnlen(name, size), SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* A flow's values as text.  They are bound SQLITE_STATIC, as are the
 * record's own strings, so both must outlive the statement's step: SQLite
 * then copies nothing.  After the step the statement still points at them,
 * which is safe only because bind_flow() binds every parameter again
 * before each step. */
struct flow_text {
    char uid[24], orig[FA_ADDR_STRLEN], resp[FA_ADDR_STRLEN], from[FA_ADDR_STRLEN];
};

/* fa_store_bind_text() without the copy. */
static void bind_static_or_null(sqlite3_stmt *st, int i, const char *text)
{
    if (text)
        sqlite3_bind_text(st, i, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

/* Binds r as the flow whose parameters follow the first `base`. */
static void bind_flow(struct fa_store *s, sqlite3_stmt *st, int base,
                      const struct fa_flow_record *r, const char *end, struct flow_text *tx)
{
    const char *app;

    fa_store_uid(s->run_id, r->seq, tx->uid);
    sqlite3_bind_int64(st, base + 1, s->run_id << ROW_BITS | (sqlite3_int64)r->row);
    sqlite3_bind_int64(st, base + 2, s->run_id);
    sqlite3_bind_int64(st, base + 3, (sqlite3_int64)r->seq);
    sqlite3_bind_text(st, base + 4, tx->uid, -1, SQLITE_STATIC);
    sqlite3_bind_int(st, base + 5, r->ip_version);
    sqlite3_bind_int(st, base + 6, r->proto);
    sqlite3_bind_text(st, base + 7, fa_addr_str(&r->orig_h, tx->orig), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, base + 8, r->orig_p);
    sqlite3_bind_text(st, base + 9, fa_addr_str(&r->resp_h, tx->resp), -1, SQLITE_STATIC);
    sqlite3_bind_int(st, base + 10, r->resp_p);
    sqlite3_bind_double(st, base + 11, fa_store_ns_to_secs(r->first_ns));
    sqlite3_bind_double(st, base + 12, fa_store_ns_to_secs(r->last_ns));
    sqlite3_bind_int64(st, base + 13, (sqlite3_int64)r->orig_pkts);
    sqlite3_bind_int64(st, base + 14, (sqlite3_int64)r->orig_ip_bytes);
    sqlite3_bind_int64(st, base + 15, (sqlite3_int64)r->orig_bytes);
    sqlite3_bind_int64(st, base + 16, (sqlite3_int64)r->resp_pkts);
    sqlite3_bind_int64(st, base + 17, (sqlite3_int64)r->resp_ip_bytes);
    sqlite3_bind_int64(st, base + 18, (sqlite3_int64)r->resp_bytes);
    sqlite3_bind_text(st, base + 19, r->conn_state, strnlen(r->conn_state, sizeof r->conn_state),
                      SQLITE_STATIC);
    sqlite3_bind_text(st, base + 20, r->history, strnlen(r->history, sizeof r->history),
                      SQLITE_STATIC);
    sqlite3_bind_int64(st, base + 21, r->syn_count);
    bind_secs_or_null(st, base + 22, r->syn_to_synack_ns >= 0, r->syn_to_synack_ns);
    bind_secs_or_null(st, base + 23, r->synack_to_ack_ns >= 0, r->synack_to_ack_ns);
    bind_count_or_null(st, base + 24, r->has_icmp_error, r->icmp_error_type);
    bind_count_or_null(st, base + 25, r->has_icmp_error, r->icmp_error_code);
    bind_count_or_null(st, base + 26, r->has_icmp_error, r->icmp_error_v6 != 0);
    bind_static_or_null(st, base + 27,
                        r->has_icmp_error ? fa_addr_str(&r->icmp_error_from, tx->from) : NULL);
    sqlite3_bind_text(st, base + 28, end, -1, SQLITE_STATIC);
    /* fa_app_name() gives "" for unknown (or out-of-range) protocols. */
    app = fa_app_name((enum fa_app)r->app_proto);
    bind_static_or_null(st, base + 29, app[0] ? app : NULL);
    bind_name_or_null(st, base + 30, r->server_name, sizeof r->server_name);
    bind_static_or_null(st, base + 31, fa_store_tls_version_name(r->tls_version));
    bind_name_or_null(st, base + 32, r->dns_name, sizeof r->dns_name);
}

/* The end reason of rec as stored, or NULL with errbuf when rec cannot be
 * stored: checked before any of a statement's flows is bound. */
static const char *checked_end(struct fa_store *s, const struct fa_flow_record *rec, char *errbuf)
{
    const char *end = fa_store_end_name(rec->end);

    if (!end) {
        fa_store_set_error(errbuf, "%s: flow %llu: unknown end reason %d", s->path,
                           (unsigned long long)rec->seq, (int)rec->end);
        return NULL;
    }
    if (rec->row == 0 || rec->row > (uint64_t)MAX_ROW) {
        fa_store_set_error(
            errbuf, "%s: flow %llu: row %llu is outside 1 to %lld; a run writes no more flows",
            s->path, (unsigned long long)rec->seq, (unsigned long long)rec->row,
            (long long)MAX_ROW);
        return NULL;
    }
    return end;
}

int fa_store_put_flows(struct fa_store *s, const struct fa_flow_record *recs, size_t n,
                       char *errbuf)
{
    struct flow_text tx[FA_STORE_ROWS_A_STATEMENT];

    if (need_run(s, errbuf) < 0)
        return -1;
    while (n > 0) {
        size_t k = n >= FA_STORE_ROWS_A_STATEMENT ? FA_STORE_ROWS_A_STATEMENT : 1;
        sqlite3_stmt *st = s->stmt[k == 1 ? SQL_UPSERT_FLOW : SQL_UPSERT_FLOWS];
        for (size_t i = 0; i < k; i++) {
            const char *end = checked_end(s, &recs[i], errbuf);
            if (!end)
                return -1;
            bind_flow(s, st, (int)i * FLOW_PARAMS, &recs[i], end, &tx[i]);
        }
        if (fa_store_step_done(s, st, "cannot store flow", errbuf) < 0)
            return -1;
        recs += k;
        n -= k;
    }
    return 0;
}

int fa_store_put_flow(struct fa_store *s, const struct fa_flow_record *rec, char *errbuf)
{
    return fa_store_put_flows(s, rec, 1, errbuf);
}

int fa_store_put_names(struct fa_store *s, const struct fa_name_row *rows, size_t n, char *errbuf)
{
    char text[FA_STORE_ROWS_A_STATEMENT][FA_ADDR_STRLEN];

    if (need_run(s, errbuf) < 0)
        return -1;
    while (n > 0) {
        size_t k = n >= FA_STORE_ROWS_A_STATEMENT ? FA_STORE_ROWS_A_STATEMENT : 1;
        sqlite3_stmt *st = s->stmt[k == 1 ? SQL_UPSERT_NAME : SQL_UPSERT_NAMES];
        /* Bound SQLITE_STATIC, as a flow's text is (struct flow_text): the
         * strings outlive the step, and each statement binds every
         * parameter again. */
        for (size_t i = 0; i < k; i++) {
            int base = (int)i * NAME_PARAMS;
            sqlite3_bind_int64(st, base + 1, s->run_id);
            sqlite3_bind_text(st, base + 2, rows[i].name, -1, SQLITE_STATIC);
            sqlite3_bind_text(st, base + 3, fa_addr_str(rows[i].addr, text[i]), -1, SQLITE_STATIC);
            sqlite3_bind_double(st, base + 4, fa_store_ns_to_secs(rows[i].first_ns));
            sqlite3_bind_double(st, base + 5, fa_store_ns_to_secs(rows[i].last_ns));
        }
        if (fa_store_step_done(s, st, "cannot store name", errbuf) < 0)
            return -1;
        rows += k;
        n -= k;
    }
    return 0;
}

int fa_store_put_name(struct fa_store *s, const char *name, const struct fa_addr *addr,
                      int64_t first_ns, int64_t last_ns, char *errbuf)
{
    struct fa_name_row row = {name, addr, first_ns, last_ns};
    return fa_store_put_names(s, &row, 1, errbuf);
}

static int put_decode_errors(struct fa_store *s, const uint64_t *counts, char *errbuf)
{
    sqlite3_stmt *del = s->stmt[SQL_DELETE_ERRORS], *ins = s->stmt[SQL_INSERT_ERROR];

    sqlite3_bind_int64(del, 1, s->run_id);
    if (fa_store_step_done(s, del, "cannot store decode errors", errbuf) < 0)
        return -1;
    for (int r = FA_DECODE_OK + 1; r < FA_DECODE_NREASONS; r++) {
        if (counts[r] == 0)
            continue;
        sqlite3_bind_int64(ins, 1, s->run_id);
        sqlite3_bind_text(ins, 2, fa_decode_reason_name(r), -1, SQLITE_STATIC);
        sqlite3_bind_int64(ins, 3, (sqlite3_int64)counts[r]);
        if (fa_store_step_done(s, ins, "cannot store decode errors", errbuf) < 0)
            return -1;
    }
    return 0;
}

int fa_store_put_totals(struct fa_store *s, const struct fa_run_totals *t, char *errbuf)
{
    sqlite3_stmt *st = s->stmt[SQL_UPDATE_RUN];

    if (need_run(s, errbuf) < 0)
        return -1;
    bind_secs_or_null(st, 1, t->ended_ns != 0, t->ended_ns);
    bind_secs_or_null(st, 2, t->first_packet_ns != 0, t->first_packet_ns);
    bind_secs_or_null(st, 3, t->last_packet_ns != 0, t->last_packet_ns);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)t->packets);
    sqlite3_bind_int64(st, 5, (sqlite3_int64)t->bytes);
    bind_count_or_null(st, 6, t->has_pcap_stats, t->received);
    bind_count_or_null(st, 7, t->has_pcap_stats, t->dropped);
    bind_count_or_null(st, 8, t->has_pcap_stats, t->if_dropped);
    sqlite3_bind_int64(st, 9, (sqlite3_int64)t->flows);
    sqlite3_bind_int64(st, 10, (sqlite3_int64)t->evicted);
    sqlite3_bind_int64(st, 11, (sqlite3_int64)t->orphan_fragments);
    bind_secs_or_null(st, 12, t->checkpoint_ns != 0, t->checkpoint_ns);
    sqlite3_bind_int64(st, 13, s->run_id);
    if (fa_store_step_done(s, st, "cannot store run totals", errbuf) < 0)
        return -1;
    return put_decode_errors(s, t->decode_errors, errbuf);
}

int fa_store_begin(struct fa_store *s, char *errbuf)
{
    return fa_store_step_done(s, s->stmt[SQL_BEGIN], "cannot begin transaction", errbuf);
}

int fa_store_commit(struct fa_store *s, char *errbuf)
{
    if (sqlite3_get_autocommit(s->db))
        return 0;
    if (fa_store_step_done(s, s->stmt[SQL_COMMIT], "cannot commit", errbuf) < 0) {
        /* A failed COMMIT can leave the transaction open, and with it the
         * lock: give both up rather than block every other writer. */
        fa_store_rollback(s);
        return -1;
    }
    return 0;
}

/* SQLite may have rolled back already (disk full, I/O error), hence the
 * check. */
void fa_store_rollback(struct fa_store *s)
{
    if (!sqlite3_get_autocommit(s->db))
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

void fa_flow_filter_init(struct fa_flow_filter *f)
{
    memset(f, 0, sizeof *f);
    f->port = -1;
    f->proto = -1;
}

static unsigned filter_shape(const struct fa_flow_filter *f)
{
    if (!f)
        return 0;
    return (f->conn_state ? FILTER_STATE : 0) | (f->host ? FILTER_HOST : 0) |
           (f->port >= 0 ? FILTER_PORT : 0) | (f->proto >= 0 ? FILTER_PROTO : 0) |
           (f->run_id > 0 ? FILTER_RUN : 0);
}

/* Parameters are numbered by filter part, so a shape binds only its own. */
static void build_select(unsigned shape, char *sql, size_t size)
{
    static const struct {
        unsigned bit;
        const char *cond;
    } parts[] = {
        {FILTER_STATE, "conn_state = ?1"},
        {FILTER_HOST, "(orig_h = ?2 OR resp_h = ?2)"},
        {FILTER_PORT, "(orig_p = ?3 OR resp_p = ?3)"},
        {FILTER_PROTO, "(proto = ?4 OR (?4 = 1 AND proto = 58))"},
        /* The run's range of ids: read through the table's own key. */
        {FILTER_RUN, "(id BETWEEN ?5 << " SPELLED(ROW_BITS) " AND ((?5 + 1) << " SPELLED(
                         ROW_BITS) ") - 1 AND run_id = ?5)"},
    };
    size_t n = (size_t)snprintf(sql, size, "SELECT " FLOW_COLUMNS " FROM flows");
    const char *joiner = " WHERE ";

    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        if (!(shape & parts[i].bit))
            continue;
        n += (size_t)snprintf(sql + n, size - n, "%s%s", joiner, parts[i].cond);
        joiner = " AND ";
    }
    snprintf(sql + n, size - n, " ORDER BY run_id, first_seen, seq");
}

static sqlite3_stmt *select_for(struct fa_store *s, const struct fa_flow_filter *f, char *errbuf)
{
    unsigned shape = filter_shape(f);
    char sql[1024], host[FA_ADDR_STRLEN];
    sqlite3_stmt *st = s->select[shape];

    if (!st) {
        build_select(shape, sql, sizeof sql);
        if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL) != SQLITE_OK) {
            fa_store_db_error(s, errbuf, "cannot query flows");
            return NULL;
        }
        s->select[shape] = st;
    }
    if (shape & FILTER_STATE)
        sqlite3_bind_text(st, 1, f->conn_state, -1, SQLITE_TRANSIENT);
    if (shape & FILTER_HOST)
        sqlite3_bind_text(st, 2, fa_addr_str(f->host, host), -1, SQLITE_TRANSIENT);
    if (shape & FILTER_PORT)
        sqlite3_bind_int(st, 3, f->port);
    if (shape & FILTER_PROTO)
        sqlite3_bind_int(st, 4, f->proto);
    if (shape & FILTER_RUN)
        sqlite3_bind_int64(st, 5, f->run_id);
    return st;
}

/* Addresses are stored as text; IPv4 comes back IPv4-mapped. */
static int parse_addr(const unsigned char *text, struct fa_addr *a)
{
    memset(a, 0, sizeof *a);
    return text && fa_addr_parse((const char *)text, a) ? 0 : -1;
}

static void copy_text(char *dst, size_t size, const unsigned char *src)
{
    snprintf(dst, size, "%s", src ? (const char *)src : "");
}

static int parse_end(const unsigned char *text, enum fa_flow_end *end)
{
    for (size_t i = 0; i < N_END_NAMES; i++)
        if (text && strcmp((const char *)text, end_names[i]) == 0) {
            *end = (enum fa_flow_end)i;
            return 0;
        }
    return -1;
}

/* A name this binary does not know (written by a newer flowaudit that
 * recognises more protocols or versions) reads as unset rather than making
 * the whole row unreadable: the rest of the flow is still right. */
static uint8_t parse_app(const unsigned char *text)
{
    int a = fa_app_parse((const char *)text);

    return a > 0 && a <= UINT8_MAX ? (uint8_t)a : 0;
}

static uint16_t parse_tls_version(const unsigned char *text)
{
    for (size_t i = 0; text && i < N_TLS_VERSION_NAMES; i++)
        if (strcmp((const char *)text, tls_version_names[i]) == 0)
            return (uint16_t)(0x0300 + i);
    return 0;
}

static int64_t column_secs_or(sqlite3_stmt *st, int col, int64_t none)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return none;
    return fa_store_secs_to_ns(sqlite3_column_double(st, col));
}

/* Columns in FLOW_COLUMNS order. */
static int read_flow(sqlite3_stmt *st, struct fa_stored_flow *f)
{
    struct fa_flow_record *r = &f->rec;
    int bad = 0;

    memset(f, 0, sizeof *f);
    f->id = sqlite3_column_int64(st, 0);
    f->run_id = sqlite3_column_int64(st, 1);
    r->row = (uint64_t)(f->id & MAX_ROW);
    r->seq = (uint64_t)sqlite3_column_int64(st, 2);
    copy_text(f->uid, sizeof f->uid, sqlite3_column_text(st, 3));
    r->ip_version = (uint8_t)sqlite3_column_int(st, 4);
    r->proto = (uint8_t)sqlite3_column_int(st, 5);
    bad |= parse_addr(sqlite3_column_text(st, 6), &r->orig_h);
    r->orig_p = (uint16_t)sqlite3_column_int(st, 7);
    bad |= parse_addr(sqlite3_column_text(st, 8), &r->resp_h);
    r->resp_p = (uint16_t)sqlite3_column_int(st, 9);
    r->first_ns = fa_store_secs_to_ns(sqlite3_column_double(st, 10));
    r->last_ns = fa_store_secs_to_ns(sqlite3_column_double(st, 11));
    r->orig_pkts = (uint64_t)sqlite3_column_int64(st, 12);
    r->orig_ip_bytes = (uint64_t)sqlite3_column_int64(st, 13);
    r->orig_bytes = (uint64_t)sqlite3_column_int64(st, 14);
    r->resp_pkts = (uint64_t)sqlite3_column_int64(st, 15);
    r->resp_ip_bytes = (uint64_t)sqlite3_column_int64(st, 16);
    r->resp_bytes = (uint64_t)sqlite3_column_int64(st, 17);
    copy_text(r->conn_state, sizeof r->conn_state, sqlite3_column_text(st, 18));
    copy_text(r->history, sizeof r->history, sqlite3_column_text(st, 19));
    r->syn_count = (uint32_t)sqlite3_column_int64(st, 20);
    r->syn_to_synack_ns = column_secs_or(st, 21, -1);
    r->synack_to_ack_ns = column_secs_or(st, 22, -1);
    if (sqlite3_column_type(st, 23) != SQLITE_NULL) {
        r->has_icmp_error = 1;
        r->icmp_error_type = (uint8_t)sqlite3_column_int(st, 23);
        r->icmp_error_code = (uint8_t)sqlite3_column_int(st, 24);
        r->icmp_error_v6 = sqlite3_column_int(st, 25) != 0;
        bad |= parse_addr(sqlite3_column_text(st, 26), &r->icmp_error_from);
    }
    bad |= parse_end(sqlite3_column_text(st, 27), &r->end);
    r->app_proto = parse_app(sqlite3_column_text(st, 28));
    copy_text(r->server_name, sizeof r->server_name, sqlite3_column_text(st, 29));
    r->tls_version = parse_tls_version(sqlite3_column_text(st, 30));
    copy_text(r->dns_name, sizeof r->dns_name, sqlite3_column_text(st, 31));
    return bad ? -1 : 0;
}

int fa_store_each_flow(struct fa_store *s, const struct fa_flow_filter *f, fa_flow_visitor fn,
                       void *ctx, char *errbuf)
{
    sqlite3_stmt *st = select_for(s, f, errbuf);
    struct fa_stored_flow flow;
    int rc, ret = 0;

    if (!st)
        return -1;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (read_flow(st, &flow) < 0) {
            fa_store_set_error(errbuf, "%s: flow %lld: malformed row (address or end_reason)",
                               s->path, (long long)flow.id);
            ret = -1;
            break;
        }
        if (fn(ctx, &flow) != 0)
            break;
    }
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        ret = fa_store_db_error(s, errbuf, "cannot read flows");
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return ret;
}

/* splitmix64's finalizer: a bijection on 64 bits that mixes every input
 * bit into every output bit. */
static uint64_t mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ULL;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    return x ^ (x >> 31);
}

/*
 * The key packs run_id and seq without overlap in its ranges, and mix64()
 * is a bijection, so the 11 base62 digits of h (62^11 > 2^64) differ for
 * distinct flows.  Six more digits come from mix64(h), for Zeek's length;
 * the first of them also evens out h's top digit, which is below 22, and
 * leaves it recoverable, so distinctness holds.
 */
void fa_store_uid(int64_t run_id, uint64_t seq, char *buf)
{
    static const char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    uint64_t h = mix64(((uint64_t)run_id << 40) ^ seq), g = mix64(h);
    int first = (int)(g % 62);

    buf[0] = 'C';
    for (int i = 1; i <= 6; i++, g /= 62)
        buf[i] = digits[g % 62];
    for (int i = 7; i <= 16; i++, h /= 62)
        buf[i] = digits[h % 62];
    buf[17] = digits[(h + (uint64_t)first) % 62];
    buf[18] = '\0';
}

const char *fa_store_end_name(enum fa_flow_end e)
{
    return (unsigned)e < N_END_NAMES ? end_names[e] : NULL;
}

const char *fa_store_tls_version_name(uint16_t version)
{
    unsigned minor = version & 0xffu;

    return (version >> 8) == 3 && minor < N_TLS_VERSION_NAMES ? tls_version_names[minor] : NULL;
}
