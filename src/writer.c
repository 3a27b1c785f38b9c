/*
 * writer.c - the store's writer thread, fed through two alternating
 * hand-overs.
 *
 * The caller fills one hand-over while the thread writes the other;
 * handing over waits only if the thread has not finished the previous
 * one.  A hand-over holds up to FA_WRITER_HANDOVER records, batches of
 * FA_WRITER_BATCH each written as one transaction.
 * Invariants:
 *   - at most one hand-over is pending, and only the thread touches the
 *     store while it runs;
 *   - every batch of a hand-over, the last however short (even empty), is
 *     one transaction: BEGIN IMMEDIATE, its records, its totals, COMMIT;
 *     the write lock is taken for that and given back, so other processes
 *     can write between batches;
 *   - a batch's totals are copied by the caller's thread after its last
 *     record was produced: when the batch filled, or for the last batch
 *     when it was handed over; a commit never holds flows that its totals
 *     do not count;
 *   - a record's names are kept in the hand-over's name buffer, not in
 *     the record (most flows have none): a queued record is its fixed
 *     fields and where its names are;
 *   - a transaction that fails is rolled back whole; after it the thread
 *     writes nothing more and keeps the message for the caller, so the
 *     database holds exactly the transactions committed before the
 *     failure.
 */
#include "writer.h"

#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BATCHES (FA_WRITER_HANDOVER / FA_WRITER_BATCH)
_Static_assert(FA_WRITER_HANDOVER % FA_WRITER_BATCH == 0, "whole batches");

/* The fields of a record before its names. */
#define FIXED_SIZE offsetof(struct fa_flow_record, server_name)
_Static_assert(offsetof(struct fa_flow_record, dns_name) ==
                   FIXED_SIZE + sizeof(((struct fa_flow_record *)0)->server_name),
               "dns_name follows server_name");
_Static_assert(sizeof(struct fa_flow_record) < offsetof(struct fa_flow_record, dns_name) +
                                                   sizeof(((struct fa_flow_record *)0)->dns_name) +
                                                   _Alignof(struct fa_flow_record),
               "no field follows the names");

#define NO_NAMES ((size_t)-1)

struct queued {
    unsigned char fixed[FIXED_SIZE];
    size_t names; /* in the hand-over's names: server_name, NUL, dns_name, NUL; or NO_NAMES */
};

struct handover {
    struct queued *recs; /* FA_WRITER_HANDOVER */
    size_t n;
    char *names;
    size_t names_used, names_size;
    struct fa_run_totals totals[BATCHES];
};

struct fa_writer {
    struct fa_store *store;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    struct handover handovers[2];
    struct handover *fill;    /* the caller's */
    struct handover *pending; /* handed over, not yet written */
    int stopping;
    int failed; /* the thread's: a transaction failed, errbuf says why */
    char errbuf[FA_STORE_ERRBUF_SIZE];
    int out_of_memory; /* the caller's: a record could not be queued */
};

/* The record queued as q, whole again. */
static void unpack(const struct handover *h, const struct queued *q, struct fa_flow_record *r)
{
    memcpy(r, q->fixed, FIXED_SIZE);
    r->server_name[0] = r->dns_name[0] = '\0';
    if (q->names == NO_NAMES)
        return;
    /* queue_names() wrote both, each within its field's size. */
    const char *server_name = h->names + q->names;
    size_t s_len = strlen(server_name);
    const char *dns_name = server_name + s_len + 1;
    memcpy(r->server_name, server_name, s_len + 1);
    memcpy(r->dns_name, dns_name, strlen(dns_name) + 1);
}

/* Records [from, to) of h and totals, as one transaction. */
static int write_batch(struct fa_writer *w, const struct handover *h, size_t from, size_t to,
                       const struct fa_run_totals *totals)
{
    struct fa_flow_record r[FA_STORE_ROWS_A_STATEMENT];
    if (fa_store_begin(w->store, w->errbuf) < 0)
        return -1;
    for (size_t i = from; i < to;) {
        size_t n = to - i < FA_STORE_ROWS_A_STATEMENT ? to - i : FA_STORE_ROWS_A_STATEMENT;
        for (size_t k = 0; k < n; k++)
            unpack(h, &h->recs[i + k], &r[k]);
        if (fa_store_put_flows(w->store, r, n, w->errbuf) < 0)
            goto fail;
        i += n;
    }
    if (fa_store_put_totals(w->store, totals, w->errbuf) < 0)
        goto fail;
    /* A failed commit rolls itself back. */
    return fa_store_commit(w->store, w->errbuf);
fail:
    fa_store_rollback(w->store);
    return -1;
}

/* The number of batches in a hand-over of n records: the last one may be
 * short or empty, as in a hand-over made early (a checkpoint, the end). */
static size_t batch_count(size_t n)
{
    return n == 0 ? 1 : (n + FA_WRITER_BATCH - 1) / FA_WRITER_BATCH;
}

static int write_handover(struct fa_writer *w, const struct handover *h)
{
    for (size_t i = 0; i < batch_count(h->n); i++) {
        size_t from = i * FA_WRITER_BATCH;
        size_t to = from + FA_WRITER_BATCH < h->n ? from + FA_WRITER_BATCH : h->n;
        if (write_batch(w, h, from, to, &h->totals[i]) < 0)
            return -1;
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
        struct handover *h = w->pending;
        int failed = w->failed;
        pthread_mutex_unlock(&w->lock);

        int rc = failed ? 0 : write_handover(w, h);

        pthread_mutex_lock(&w->lock);
        if (rc < 0)
            w->failed = 1;
        h->n = 0;
        h->names_used = 0;
        w->pending = NULL;
        pthread_cond_broadcast(&w->changed);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static void free_handovers(struct fa_writer *w)
{
    for (int i = 0; i < 2; i++) {
        free(w->handovers[i].recs);
        free(w->handovers[i].names);
    }
}

struct fa_writer *fa_writer_start(struct fa_store *s, char *errbuf)
{
    struct fa_writer *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(errbuf, FA_STORE_ERRBUF_SIZE, "out of memory for the writer");
        return NULL;
    }
    for (int i = 0; i < 2; i++) {
        w->handovers[i].recs = malloc(FA_WRITER_HANDOVER * sizeof *w->handovers[i].recs);
        if (!w->handovers[i].recs) {
            free_handovers(w);
            free(w);
            snprintf(errbuf, FA_STORE_ERRBUF_SIZE, "out of memory for the writer");
            return NULL;
        }
    }
    w->store = s;
    w->fill = &w->handovers[0];
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->changed, NULL);
    if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
        snprintf(errbuf, FA_STORE_ERRBUF_SIZE, "cannot start the writer thread");
        pthread_cond_destroy(&w->changed);
        pthread_mutex_destroy(&w->lock);
        free_handovers(w);
        free(w);
        return NULL;
    }
    return w;
}

/* Hands the fill hand-over, its last batch with totals as they stand now,
 * to the thread; with wait, returns once it is written. */
static int hand_over(struct fa_writer *w, const struct fa_run_totals *totals, int wait)
{
    pthread_mutex_lock(&w->lock);
    while (w->pending)
        pthread_cond_wait(&w->changed, &w->lock);
    /* Copied here, not by the thread: the caller goes on counting as soon
     * as this returns.  If the last batch is full, nothing was queued
     * since it filled, so these totals are as true of it as the ones
     * taken then. */
    w->fill->totals[batch_count(w->fill->n) - 1] = *totals;
    w->pending = w->fill;
    w->fill = w->fill == &w->handovers[0] ? &w->handovers[1] : &w->handovers[0];
    pthread_cond_broadcast(&w->changed);
    if (wait)
        while (w->pending)
            pthread_cond_wait(&w->changed, &w->lock);
    int failed = w->failed;
    pthread_mutex_unlock(&w->lock);
    return failed ? -1 : 0;
}

/* Copies rec's names, if it has any, into h's name buffer; 0 with *at
 * set, or -1 out of memory. */
static int queue_names(struct handover *h, const struct fa_flow_record *rec, size_t *at)
{
    *at = NO_NAMES;
    if (!rec->server_name[0] && !rec->dns_name[0])
        return 0;
    size_t s_len = strnlen(rec->server_name, sizeof rec->server_name - 1);
    size_t d_len = strnlen(rec->dns_name, sizeof rec->dns_name - 1);
    size_t need = s_len + d_len + 2;
    if (h->names_size - h->names_used < need) {
        size_t size = h->names_size ? h->names_size * 2 : 64 * 1024;
        while (size - h->names_used < need)
            size *= 2;
        char *names = realloc(h->names, size);
        if (!names)
            return -1;
        h->names = names;
        h->names_size = size;
    }
    char *p = h->names + h->names_used;
    memcpy(p, rec->server_name, s_len);
    p[s_len] = '\0';
    memcpy(p + s_len + 1, rec->dns_name, d_len);
    p[need - 1] = '\0';
    *at = h->names_used;
    h->names_used += need;
    return 0;
}

int fa_writer_put(struct fa_writer *w, const struct fa_flow_record *rec,
                  const struct fa_run_totals *totals)
{
    struct handover *h = w->fill;
    struct queued *q = &h->recs[h->n];
    if (w->out_of_memory || queue_names(h, rec, &q->names) < 0) {
        w->out_of_memory = 1;
        return -1;
    }
    memcpy(q->fixed, rec, FIXED_SIZE);
    h->n++;
    if (h->n % FA_WRITER_BATCH == 0)
        h->totals[h->n / FA_WRITER_BATCH - 1] = *totals;
    if (h->n == FA_WRITER_HANDOVER)
        return hand_over(w, totals, 0);
    return 0;
}

int fa_writer_flush(struct fa_writer *w, const struct fa_run_totals *totals)
{
    return hand_over(w, totals, 0);
}

int fa_writer_commit(struct fa_writer *w, const struct fa_run_totals *totals, char *errbuf)
{
    int rc = hand_over(w, totals, 1);
    if (w->out_of_memory) {
        snprintf(errbuf, FA_STORE_ERRBUF_SIZE, "out of memory for the names of flows to write");
        return -1;
    }
    if (rc < 0) {
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
    free_handovers(w);
    free(w);
    return rc;
}
