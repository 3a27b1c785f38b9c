/*
 * writer.h - a thread that writes flow records to the store, so that
 * SQLite's work runs beside packet processing instead of inside it.
 *
 * Between fa_writer_start() and fa_writer_stop() the store belongs to the
 * writer thread alone; the caller only queues records and asks for
 * commits.  Records reach the store in the order they were queued.
 */
#ifndef FA_WRITER_H
#define FA_WRITER_H

#include "flow.h"
#include "store.h"

struct fa_writer;

/* Starts the thread; NULL with errbuf (FA_STORE_ERRBUF_SIZE) on failure. */
struct fa_writer *fa_writer_start(struct fa_store *s, char *errbuf);

/* Queues a copy of rec.  Returns 0, or -1 once the writer has failed; the
 * error is reported by the next fa_writer_commit() or fa_writer_stop(). */
int fa_writer_put(struct fa_writer *w, const struct fa_flow_record *rec);

/* Waits until every queued record is written, then writes the totals and
 * commits.  Returns 0, or -1 with errbuf. */
int fa_writer_commit(struct fa_writer *w, const struct fa_run_totals *totals, char *errbuf);

/* Commits with the totals, ends the thread and frees w (even on error).
 * Returns 0, or -1 with errbuf. */
int fa_writer_stop(struct fa_writer *w, const struct fa_run_totals *totals, char *errbuf);

#endif
