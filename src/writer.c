/*
 * writer.c - the store's writer thread, fed through two alternating
 * batches.
 *
 * The caller fills one batch while the thread writes the other; handing a
 * full batch over waits only if the thread has not finished the previous
 * one.  Invariants:
 *   - at most one batch is pending, and only the thread touches the store
 *     while it runs;
 *   - a commit request travels with the batch it ends, so a commit covers
 *     exactly the records queued before it;
 *   - after the first store error the thread writes nothing more and keeps
 *     the message for the caller.
 */
#include "writer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCH_RECORDS 4096
/* Bounds what a crash can lose, and the size of one transaction. */
#define COMMIT_EVERY 50000

struct batch {
    struct fa_flow_record recs[BATCH_RECORDS];
    size_t n;
    int commit; /* write totals and commit after the records */
    struct fa_run_totals totals;
};

struct fa_writer {
    struct fa_store *store;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    struct batch batches[2];
    struct batch *fill;    /* the caller's */
    struct batch *pending; /* handed over, not yet written */
    int stopping;
    int failed;
    char errbuf[FA_STORE_ERRBUF_SIZE];
    uint64_t uncommitted; /* the thread's own count */
};

static int write_batch(struct fa_writer *w, struct batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        if (fa_store_put_flow(w->store, &b->recs[i], w->errbuf) < 0)
            return -1;
        if (++w->uncommitted >= COMMIT_EVERY) {
            if (fa_store_commit(w->store, w->errbuf) < 0)
                return -1;
            w->uncommitted = 0;
        }
    }
    if (b->commit) {
        if (fa_store_put_totals(w->store, &b->totals, w->errbuf) < 0 ||
            fa_store_commit(w->store, w->errbuf) < 0)
            return -1;
        w->uncommitted = 0;
    }
    return 0;
}

static void *writer_main(void *arg)
{
    struct fa_writer *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->pending && !w->stopping)
            pthread_cond_wait(&w->changed, &w->lock);
        if (!w->pending)
            break;
        struct batch *b = w->pending;
        int failed = w->failed;
        pthread_mutex_unlock(&w->lock);

        int rc = failed ? 0 : write_batch(w, b);

        pthread_mutex_lock(&w->lock);
        if (rc < 0)
            w->failed = 1;
        b->n = 0;
        b->commit = 0;
        w->pending = NULL;
        pthread_cond_broadcast(&w->changed);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

struct fa_writer *fa_writer_start(struct fa_store *s, char *errbuf)
{
    struct fa_writer *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(errbuf, FA_STORE_ERRBUF_SIZE, "out of memory for the writer");
        return NULL;
    }
    w->store = s;
    w->fill = &w->batches[0];
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->changed, NULL);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        snprintf(errbuf, FA_STORE_ERRBUF_SIZE, "cannot start the writer thread");
        pthread_cond_destroy(&w->changed);
        pthread_mutex_destroy(&w->lock);
        free(w);
        return NULL;
    }
    return w;
}

/* Hands the fill batch to the thread; with wait, returns once it is written. */
static int hand_over(struct fa_writer *w, int wait)
{
    pthread_mutex_lock(&w->lock);
    while (w->pending)
        pthread_cond_wait(&w->changed, &w->lock);
    w->pending = w->fill;
    w->fill = w->fill == &w->batches[0] ? &w->batches[1] : &w->batches[0];
    pthread_cond_broadcast(&w->changed);
    if (wait)
        while (w->pending)
            pthread_cond_wait(&w->changed, &w->lock);
    int failed = w->failed;
    pthread_mutex_unlock(&w->lock);
    return failed ? -1 : 0;
}

int fa_writer_put(struct fa_writer *w, const struct fa_flow_record *rec)
{
    struct batch *b = w->fill;
    b->recs[b->n++] = *rec;
    if (b->n == BATCH_RECORDS)
        return hand_over(w, 0);
    return 0;
}

int fa_writer_commit(struct fa_writer *w, const struct fa_run_totals *totals, char *errbuf)
{
    w->fill->commit = 1;
    w->fill->totals = *totals;
    if (hand_over(w, 1) < 0) {
        /* The thread is idle now: its message can be read without the lock. */
        snprintf(errbuf, FA_STORE_ERRBUF_SIZE, "%s", w->errbuf);
        return -1;
    }
    return 0;
}

int fa_writer_stop(struct fa_writer *w, const struct fa_run_totals *totals, char *errbuf)
{
    int rc = fa_writer_commit(w, totals, errbuf);
    pthread_mutex_lock(&w->lock);
    w->stopping = 1;
    pthread_cond_broadcast(&w->changed);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_cond_destroy(&w->changed);
    pthread_mutex_destroy(&w->lock);
    free(w);
    return rc;
}
