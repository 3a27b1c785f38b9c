/*
 * store.h - the SQLite store: the only module that speaks SQL.
 *
 * A store is one database file holding runs (one per `read` or `capture`)
 * and the flows and DNS names each run recorded.  The schema lives in the
 * .sql files of schema/, embedded at build time and applied in order;
 * PRAGMA user_version says how many have been applied, and a database
 * newer than this binary is refused.
 *
 * Writes go in batches: fa_store_begin() takes the database's write lock,
 * fa_store_put_flow(), fa_store_put_name() and fa_store_put_totals() bind
 * and step prepared statements, fa_store_commit() ends the transaction and
 * releases the lock.
 * No function here leaves a transaction open that its caller did not
 * begin, so between batches other processes can write the same database;
 * they wait for a batch in progress, up to a busy timeout of 5 s.  Outside
 * a transaction each write is a transaction of its own, which is slow.
 *
 * Times are kept to the microsecond (REAL seconds, as Zeek logs them):
 * fa_ns_to_us() is the rounding the store applies, so a record printed to
 * 6 decimals before it is stored prints the same after it is read back.
 */
#ifndef FA_STORE_H
#define FA_STORE_H

#include <stdint.h>

#include "decode.h"
#include "finding.h"
#include "flow.h"

#define FA_STORE_ERRBUF_SIZE 512

struct fa_store;

/* What a run is; strings may be NULL. */
struct fa_run_info {
    const char *mode;    /* "read" or "capture" */
    const char *source;  /* file names joined by ' ', or the interface */
    const char *filter;  /* BPF expression, or NULL */
    const char *sensor;  /* host name of the machine that ran flowaudit */
    const char *version; /* flowaudit version */
    int64_t started_ns;  /* wall clock at start */
};

/* What a run counted: written with every batch of flows, so a commit holds
 * the counts as they stood when its batch was handed over (flows counts
 * flows created, some of which may still be in memory). */
struct fa_run_totals {
    int64_t ended_ns;                        /* wall clock; 0 while the run goes on */
    int64_t first_packet_ns, last_packet_ns; /* 0 when no packet */
    /* How far the commit holding these totals is complete, as a packet
     * time (schema/004_checkpoint.sql); 0 when not known yet. */
    int64_t checkpoint_ns;
    uint64_t packets, bytes;                /* frames read and their wire bytes */
    uint64_t received, dropped, if_dropped; /* pcap_stats: live capture only */
    int has_pcap_stats;
    uint64_t decode_errors[FA_DECODE_NREASONS]; /* [FA_DECODE_OK] unused */
    uint64_t flows, evicted, orphan_fragments;
};

/* A flow as read back: the record plus where it is stored. */
struct fa_stored_flow {
    int64_t id, run_id;
    char uid[24]; /* Zeek-style connection id, stable for (run, seq) */
    struct fa_flow_record rec;
};

/* Selection for fa_store_each_flow(); fa_flow_filter_init() selects
 * everything.  NULL pointers, run_id 0 and port/proto -1 select anything. */
struct fa_flow_filter {
    const char *conn_state;
    const struct fa_addr *host; /* either side */
    int port;                   /* either side; -1 for any */
    int proto;                  /* IP protocol number; -1 for any; 1 (ICMP) also
                                   selects 58 (ICMPv6), as Zeek calls both icmp */
    int64_t run_id;             /* 0 for every run */
};

void fa_flow_filter_init(struct fa_flow_filter *f);

/* How a command opens its database.  The values of the first two are
 * those of a "read-only" flag. */
enum fa_store_mode {
    FA_STORE_CREATE = 0, /* writable; created when missing (read, capture) */
    FA_STORE_READ = 1,   /* read-only; must hold flows' schema (flows, report) */
    FA_STORE_UPDATE = 2  /* writable; must exist and not be empty (audit) */
};

/* Open (creating and migrating when writable) the database at path.
 * Returns NULL with a message in errbuf.  A file that is not SQLite, a
 * SQLite database of another application, or a schema newer than this
 * binary is refused.  FA_STORE_READ and FA_STORE_UPDATE refuse a missing
 * or empty database: a mistyped path must not become a new, empty
 * database that audits clean.  A read-only open needs the schema this
 * binary writes: an older database is refused with a message asking for a
 * command that writes to it, which upgrades it. */
struct fa_store *fa_store_open(const char *path, enum fa_store_mode mode, char *errbuf);

/* Closes the store.  A transaction still open is rolled back: only what
 * fa_store_commit() or fa_store_end_audit() committed stays. */
void fa_store_close(struct fa_store *s);

/* Commits a transaction still open, then records a new run (committed at
 * once, with ended NULL until its final totals) and makes it the run that
 * fa_store_put_flow() and fa_store_put_totals() write to.  Leaves no
 * transaction open.  Returns the run id, or -1 with errbuf. */
int64_t fa_store_begin_run(struct fa_store *s, const struct fa_run_info *info, char *errbuf);

/* Begins a write transaction, waiting (up to the busy timeout) for the
 * write lock.  Returns 0, or -1 with errbuf ("database is locked" when
 * another process held it longer). */
int fa_store_begin(struct fa_store *s, char *errbuf);

/* Inserts or (for a flow checkpointed before) updates one flow of the run
 * begun last.  Returns 0, or -1 with errbuf. */
int fa_store_put_flow(struct fa_store *s, const struct fa_flow_record *rec, char *errbuf);

/* Rows a statement of fa_store_put_flows() and fa_store_put_names()
 * writes: each statement costs about as much as a flow, so writing 16 in
 * one takes a sixth off. */
#define FA_STORE_ROWS_A_STATEMENT 16

/* fa_store_put_flow() for n flows, FA_STORE_ROWS_A_STATEMENT to a
 * statement.  On error none of the failed statement's flows is written
 * (those of earlier statements are, in the transaction), and errbuf says
 * why, naming the flow when it is one the store refuses (an unknown end
 * reason, a row out of range). */
int fa_store_put_flows(struct fa_store *s, const struct fa_flow_record *recs, size_t n,
                       char *errbuf);

/* Records that DNS answers gave name for addr from first_ns to last_ns,
 * in the run begun last; the same pair again widens the stored times.
 * Returns 0, or -1 with errbuf. */
int fa_store_put_name(struct fa_store *s, const char *name, const struct fa_addr *addr,
                      int64_t first_ns, int64_t last_ns, char *errbuf);

/* A row of the names table, as fa_store_put_name() takes it. */
struct fa_name_row {
    const char *name;
    const struct fa_addr *addr;
    int64_t first_ns, last_ns;
};

/* fa_store_put_name() for n rows, FA_STORE_ROWS_A_STATEMENT to a
 * statement. */
int fa_store_put_names(struct fa_store *s, const struct fa_name_row *rows, size_t n, char *errbuf);

/* Writes the run's totals; ended_ns != 0 marks the run finished. */
int fa_store_put_totals(struct fa_store *s, const struct fa_run_totals *totals, char *errbuf);

/* Commits the open transaction, if any, and opens none: the write lock
 * is free when it returns.  A commit that fails is rolled back.  Returns
 * 0, or -1 with errbuf. */
int fa_store_commit(struct fa_store *s, char *errbuf);

/* Abandons the open transaction, if any, and frees the write lock. */
void fa_store_rollback(struct fa_store *s);

/* Calls fn for each stored flow matching f (NULL: every flow), ordered by
 * run then first timestamp then seq; stops when fn returns non-zero.  fn
 * must not call back into the store.  Returns 0, or -1 with errbuf. */
typedef int (*fa_flow_visitor)(void *ctx, const struct fa_stored_flow *flow);
int fa_store_each_flow(struct fa_store *s, const struct fa_flow_filter *f, fa_flow_visitor fn,
                       void *ctx, char *errbuf);

/* Zeek-style uid for flow seq of run_id into buf (>= 24 bytes): 'C' and
 * 17 base62 characters.  Deterministic, and distinct for distinct pairs
 * while run_id < 2^24 and seq < 2^40. */
void fa_store_uid(int64_t run_id, uint64_t seq, char *buf);

/* The end_reason text of e: "active", "closed", "timeout", "evicted",
 * "capture-end", "reused". */
const char *fa_store_end_name(enum fa_flow_end e);

/* The tls_version text of a wire version, as stored: 0x0300 "SSL 3.0",
 * 0x0301 "TLS 1.0" ... 0x0304 "TLS 1.3"; NULL for 0 and any other value. */
const char *fa_store_tls_version_name(uint16_t version);

/* Nearest microsecond of a time or duration in nanoseconds (halves away
 * from zero): the precision of everything the store keeps. */
static inline int64_t fa_ns_to_us(int64_t ns)
{
    int64_t us = ns / 1000, rest = ns % 1000;
    return us + (rest >= 500) - (rest <= -500);
}

/* ---- Audits (store_audit.c) ------------------------------------------ */

/* Starts an audit in a transaction of its own; info->id is ignored.
 * Returns the audit id, or -1. */
int64_t fa_store_begin_audit(struct fa_store *s, const struct fa_audit_info *info, char *errbuf);
int fa_store_put_requirement(struct fa_store *s, int64_t audit_id, const struct fa_requirement *r,
                             char *errbuf);
int fa_store_put_finding(struct fa_store *s, int64_t audit_id, const struct fa_finding *f,
                         char *errbuf);
/* Commits the audit begun last. */
int fa_store_end_audit(struct fa_store *s, char *errbuf);

/* The newest audit's id, 0 when there is none, or -1. */
int64_t fa_store_last_audit(struct fa_store *s, char *errbuf);

/* Visitors see strings that are valid only during the call.  Each
 * function returns 0, or -1 with errbuf; a visitor returning non-zero
 * stops the walk. */
typedef int (*fa_audit_visitor)(void *ctx, const struct fa_audit_info *a);
typedef int (*fa_requirement_visitor)(void *ctx, const struct fa_requirement *r);
typedef int (*fa_finding_visitor)(void *ctx, const struct fa_finding *f);

/* Calls fn once with audit id; no such audit is an error. */
int fa_store_get_audit(struct fa_store *s, int64_t id, fa_audit_visitor fn, void *ctx,
                       char *errbuf);
/* In the order of the rule files. */
int fa_store_each_requirement(struct fa_store *s, int64_t audit_id, fa_requirement_visitor fn,
                              void *ctx, char *errbuf);
/* Errors first, then warnings, then information; within a severity by
 * kind, source, destination and port. */
int fa_store_each_finding(struct fa_store *s, int64_t audit_id, fa_finding_visitor fn, void *ctx,
                          char *errbuf);

/* A run as a report summarises it. */
struct fa_run_row {
    int64_t id;
    const char *mode, *source, *filter, *sensor, *version;
    int64_t started_ns, ended_ns;            /* ended 0: the run did not finish */
    int64_t first_packet_ns, last_packet_ns; /* 0: no packet */
    uint64_t packets, bytes, flows, evicted, orphan_fragments;
    uint64_t decode_errors; /* all reasons together */
    int has_pcap_stats;
    uint64_t received, dropped, if_dropped;
};
typedef int (*fa_run_visitor)(void *ctx, const struct fa_run_row *r);

/* The runs whose ids are listed in ids ("1,2"; NULL or "" for all), by id. */
int fa_store_each_run(struct fa_store *s, const char *ids, fa_run_visitor fn, void *ctx,
                      char *errbuf);

#endif
