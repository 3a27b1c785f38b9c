/*
 * writer.h - a thread that writes flow records to the store, so that
 * SQLite's work runs beside packet processing instead of inside it.
 *
 * Between fa_writer_start() and fa_writer_stop() the store belongs to the
 * writer thread alone; the caller only queues records and hands over
 * batches.  Records reach the store in the order they were queued, in
 * transactions of FA_WRITER_BATCH records: its records, then the run's
 * totals as they stood when the last of them was queued, then COMMIT; a
 * batch handed over early (fa_writer_flush(), fa_writer_commit()) ends
 * with a shorter transaction, maybe of no record, carrying the totals as
 * they stood then.  No transaction (and so no write lock) is held between
 * them.
 */
#ifndef FA_WRITER_H
#define FA_WRITER_H

#include "flow.h"
#include "store.h"

/* Records in a transaction: the most a checkpoint step should send at once. */
#define FA_WRITER_BATCH 4096

/* Records handed to the thread at once, unless flushed earlier.  Waking
 * the thread costs the packet threads more than its transactions do (it
 * takes a core from one of them), so it is woken once for several: eight
 * took about a twentieth off a large read against four, for 7 MiB more. */
#define FA_WRITER_HANDOVER (8 * FA_WRITER_BATCH)

struct fa_writer;

/* Starts the thread for the run begun last on s; NULL with errbuf
 * (FA_STORE_ERRBUF_SIZE) on failure. */
struct fa_writer *fa_writer_start(struct fa_store *s, char *errbuf);

/* Queues a copy of rec.  When rec fills a transaction, a copy of *totals
 * taken now, in the caller's thread, goes with it: pass the live totals,
 * which may change again as soon as this returns.  Waits only while the
 * previous batch is still being written.  Returns 0, or -1 once the
 * writer has failed (or rec could not be queued for want of memory); the
 * error is reported by fa_writer_commit() or fa_writer_stop(). */
int fa_writer_put(struct fa_writer *w, const struct fa_flow_record *rec,
                  const struct fa_run_totals *totals);

/* Hands over the records queued so far (maybe none), the last of them
 * with a copy of *totals, to be committed, without waiting for the write.  Returns 0, or
 * -1 once the writer has failed. */
int fa_writer_flush(struct fa_writer *w, const struct fa_run_totals *totals);

/* As fa_writer_flush(), then waits until they are committed.
 * Returns 0, or -1 with errbuf. */
int fa_writer_commit(struct fa_writer *w, const struct fa_run_totals *totals, char *errbuf);

/* Commits with the totals, ends the thread and frees w (even on error).
 * Returns 0, or -1 with errbuf. */
int fa_writer_stop(struct fa_writer *w, const struct fa_run_totals *totals, char *errbuf);

#endif
