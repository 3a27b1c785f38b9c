/*
 * store.h - the SQLite store: the only module that speaks SQL.
 *
 * A store is one database file holding runs (one per `read` or `capture`)
 * and the flows each run recorded.  The schema lives in the .sql files of schema/,
 * embedded at build time and applied in order; PRAGMA user_version says how
 * many have been applied, and a database newer than this binary is refused.
 *
 * Writes are buffered: fa_store_put_flow() only binds and steps a prepared
 * statement inside an open transaction; fa_store_commit() ends the
 * transaction.  Callers commit in batches, never per packet.
 *
 * Times are kept to the microsecond (REAL seconds, as Zeek logs them):
 * fa_ns_to_us() is the rounding the store applies, so a record printed to
 * 6 decimals before it is stored prints the same after it is read back.
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
    int64_t ended_ns;                        /* wall clock; 0 while the run goes on */
    int64_t first_packet_ns, last_packet_ns; /* 0 when no packet */
    uint64_t packets, bytes;                 /* frames read and their wire bytes */
    uint64_t received, dropped, if_dropped;  /* pcap_stats: live capture only */
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

/* Open (creating and migrating when writable) the database at path.
 * Returns NULL with a message in errbuf.  A file that is not SQLite, a
 * SQLite database of another application, or a schema newer than this
 * binary is refused.  A read-only open needs the schema this binary
 * writes: an older (or empty) database is refused with a message asking
 * for a command that writes to it, which upgrades it. */
struct fa_store *fa_store_open(const char *path, int readonly, char *errbuf);

/* Commits what is left and closes.  It cannot report a failed commit:
 * call fa_store_commit() first to learn whether the last writes stuck. */
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

/* Nearest microsecond of a time or duration in nanoseconds (halves away
 * from zero): the precision of everything the store keeps. */
static inline int64_t fa_ns_to_us(int64_t ns)
{
    int64_t us = ns / 1000, rest = ns % 1000;
    return us + (rest >= 500) - (rest <= -500);
}

#endif
