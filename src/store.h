/*
 * store.h - the SQLite store: the only module that speaks SQL.
 *
 * A store is one database file holding runs (one per `read` or `capture`)
 * and the flows each run recorded.  The schema lives in schema/*.sql,
 * embedded at build time and applied in order; PRAGMA user_version says how
 * many have been applied, and a database newer than this binary is refused.
 *
 * Writes are buffered: fa_store_put_flow() only binds and steps a prepared
 * statement inside an open transaction; fa_store_commit() ends the
 * transaction.  Callers commit in batches, never per packet.
 */
#ifndef FA_STORE_H
#define FA_STORE_H

#include <stdint.h>

#include "decode.h"
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

/* What a run counted; written when the run ends (and at checkpoints). */
struct fa_run_totals {
    int64_t ended_ns;           /* wall clock; 0 while the run goes on */
    int64_t first_packet_ns, last_packet_ns; /* 0 when no packet */
    uint64_t packets, bytes;    /* frames read and their wire bytes */
    uint64_t received, dropped, if_dropped; /* pcap_stats: live capture only */
    int has_pcap_stats;
    uint64_t decode_errors[FA_DECODE_NREASONS]; /* [FA_DECODE_OK] unused */
    uint64_t flows, evicted, orphan_fragments;
};

/* A flow as read back: the record plus where it is stored. */
struct fa_stored_flow {
    int64_t id, run_id;
    char uid[24];   /* Zeek-style connection id, stable for (run, seq) */
    struct fa_flow_record rec;
};

/* Selection for fa_store_each_flow(); zero/NULL fields select everything. */
struct fa_flow_filter {
    const char *conn_state;
    const struct fa_addr *host; /* either side */
    int port;                   /* either side; -1 for any */
    int proto;                  /* IP protocol number; -1 for any */
    int64_t run_id;             /* 0 for every run */
};

/* Open (creating and migrating when writable) the database at path.
 * Returns NULL with a message in errbuf. */
struct fa_store *fa_store_open(const char *path, int readonly, char *errbuf);
void fa_store_close(struct fa_store *s);

/* Starts a run and a write transaction; returns the run id, or -1. */
int64_t fa_store_begin_run(struct fa_store *s, const struct fa_run_info *info, char *errbuf);

/* Inserts or (for a flow checkpointed before) updates one flow of the run
 * begun last.  Returns 0, or -1 with errbuf. */
int fa_store_put_flow(struct fa_store *s, const struct fa_flow_record *rec, char *errbuf);

/* Writes the run's totals; ended_ns != 0 marks the run finished. */
int fa_store_put_totals(struct fa_store *s, const struct fa_run_totals *totals, char *errbuf);

/* Commits what was written since the last commit and opens the next
 * transaction (unless closing).  Returns 0, or -1 with errbuf. */
int fa_store_commit(struct fa_store *s, char *errbuf);

/* Calls fn for each stored flow matching f, ordered by run then first
 * timestamp then seq; stops when fn returns non-zero.  Returns 0, or -1. */
typedef int (*fa_flow_visitor)(void *ctx, const struct fa_stored_flow *flow);
int fa_store_each_flow(struct fa_store *s, const struct fa_flow_filter *f,
                       fa_flow_visitor fn, void *ctx, char *errbuf);

/* Zeek-style uid for flow seq of run_id into buf (>= 24 bytes). */
void fa_store_uid(int64_t run_id, uint64_t seq, char *buf);

#endif
