/*
 * writer.c - the store's writer thread, fed through two alternating
 * batches.
 *
 * The caller fills one batch while the thread writes the other; handing a
 * batch over waits only if the thread has not finished the previous one.
 * Invariants:
 *   - at most one batch is pending, and only the thread touches the store
 *     while it runs;
 *   - every batch handed over is one transaction: BEGIN IMMEDIATE, its
 *     records, its totals, COMMIT; the write lock is taken for that and
 *     given back, so other processes can write between batches;
 *   - a batch's totals are copied by the caller's thread when it hands the
 *     batch over, after every record in it was produced: a commit never
 *     holds flows that its totals do not count;
 *   - a batch that fails is rolled back whole; after it the thread writes
 *     nothing more and keeps the message for the caller, so the database
 *     holds exactly the batches committed before the failure.
 */
#include "writer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct batch {
    struct fa_flow_record recs[FA_WRITER_BATCH];
    size_t n;
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
};

static int write_batch(struct fa_writer *w, const struct batch *b)
{
    if (fa_store_begin(w->store, w->errbuf) < 0)
        return -1;
    for (size_t i = 0; i < b->n; i++)
        if (fa_store_put_flow(w->store, &b->recs[i], w->errbuf) < 0)
            goto fail;
    if (fa_store_put_totals(w->store, &b->totals, w->errbuf) < 0)
        goto fail;
    /* A failed commit rolls itself back. */
    return fa_store_commit(w->store, w->errbuf);
fail:
    fa_store_rollback(w->store);
    return -1;
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

/* Hands the fill batch, with totals as they stand now, to the thread; with
 * wait, returns once it is written. */
static int hand_over(struct fa_writer *w, const struct fa_run_totals *totals, int wait)
{
    pthread_mutex_lock(&w->lock);
    while (w->pending)
        pthread_cond_wait(&w->changed, &w->lock);
    /* Copied here, not by the thread: the caller goes on counting as soon
     * as this returns. */
    w->fill->totals = *totals;
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

int fa_writer_put(struct fa_writer *w, const struct fa_flow_record *rec,
                  const struct fa_run_totals *totals)
{
    struct batch *b = w->fill;
    b->recs[b->n++] = *rec;
    if (b->n == FA_WRITER_BATCH)
        return hand_over(w, totals, 0);
    return 0;
}

int fa_writer_flush(struct fa_writer *w, const struct fa_run_totals *totals)
{
    return hand_over(w, totals, 0);
}

int fa_writer_commit(struct fa_writer *w, const struct fa_run_totals *totals, char *errbuf)
{
    if (hand_over(w, totals, 1) < 0) {
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
