/*
 * store_private.h - what the files of the store share: the handle and the
 * helpers around SQLite.  Only store*.c include it; everyone else sees
 * store.h.
 */
#ifndef FA_STORE_PRIVATE_H
#define FA_STORE_PRIVATE_H

#include <sqlite3.h>
#include <stdint.h>

/* store.c's prepared statements. */
enum {
    SQL_BEGIN,
    SQL_COMMIT,
    SQL_INSERT_RUN,
    SQL_UPSERT_FLOW,
    SQL_UPSERT_FLOWS, /* FA_STORE_ROWS_A_STATEMENT of them */
    SQL_UPDATE_RUN,
    SQL_DELETE_ERRORS,
    SQL_INSERT_ERROR,
    SQL_UPSERT_NAME,
    SQL_UPSERT_NAMES, /* FA_STORE_ROWS_A_STATEMENT of them */
    SQL_COUNT
};

/* The parts of a flow filter, as bits of the shape that selects a cached
 * SELECT. */
enum {
    FILTER_STATE = 1,
    FILTER_HOST = 2,
    FILTER_PORT = 4,
    FILTER_PROTO = 8,
    FILTER_RUN = 16,
    FILTER_SHAPES = 32
};

/* store_audit.c's prepared statements. */
enum {
    AUDIT_SQL_INSERT_AUDIT,
    AUDIT_SQL_INSERT_REQUIREMENT,
    AUDIT_SQL_INSERT_FINDING,
    AUDIT_SQL_LAST_AUDIT,
    AUDIT_SQL_GET_AUDIT,
    AUDIT_SQL_REQUIREMENTS,
    AUDIT_SQL_FINDINGS,
    AUDIT_SQL_RUNS,
    AUDIT_SQL_COUNT
};

struct fa_store {
    sqlite3 *db;
    char *path;
    int64_t run_id; /* the run being written; 0 when none */
    sqlite3_stmt *stmt[SQL_COUNT];
    sqlite3_stmt *select[FILTER_SHAPES];
    sqlite3_stmt *audit[AUDIT_SQL_COUNT]; /* store_audit.c's, prepared on first use */
};

void fa_store_set_error(char *errbuf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Reports the connection's last error as "PATH: what: why"; returns -1. */
int fa_store_db_error(struct fa_store *s, char *errbuf, const char *what);

/* Steps a statement that returns no row and resets it; 0 or -1. */
int fa_store_step_done(struct fa_store *s, sqlite3_stmt *st, const char *what, char *errbuf);

/* Times are REAL seconds rounded to the microsecond. */
double fa_store_ns_to_secs(int64_t ns);
int64_t fa_store_secs_to_ns(double secs);

int fa_store_bind_text(sqlite3_stmt *st, int i, const char *text);

/* Finalizes store_audit.c's statements. */
void fa_store_audit_close(struct fa_store *s);

#endif
