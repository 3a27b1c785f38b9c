/*
 * readahead.c - a thread that reads a capture file with libpcap into a
 * ring of blocks, a few blocks ahead of the thread that processes the
 * packets (readahead.h).
 *
 * Invariants:
 *   - blocks[] is a ring: the thread fills blocks[fill], the caller reads
 *     blocks[take]; nfull counts the blocks filled and not yet given back,
 *     the one the caller is reading included, so the thread never writes a
 *     block the caller may still read; both wait on the mutex only once a
 *     block, never per packet;
 *   - the two threads write to separate cache lines: the thread sets a
 *     block's fields once, when it hands the block over, and the caller
 *     keeps its place in a line of its own, so that neither write makes
 *     the other thread's next read miss;
 *   - a block holds whole records (a pcap_pkthdr, the prepare step's
 *     extra bytes, then at most FA_READAHEAD_MAX_CAPLEN bytes of the
 *     packet, each part padded to 16), in file order, each prepared before
 *     the block is handed over; a record that does not fit in what is left
 *     of a block starts the next one, and an empty block holds any record,
 *     so blocks never grow;
 *   - the last block the thread fills carries why it stopped (end, or
 *     libpcap's error); it fills no block after that one, and it touches
 *     the pcap_t only between fa_readahead_start() and the join in
 *     fa_readahead_stop(), so pcap_geterr() is the caller's again after.
 */
#include "readahead.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_LINE 64

struct block {
    u_char *buf; /* FA_READAHEAD_BLOCK_SIZE bytes */
    size_t used; /* bytes of records */
    off_t offset;
    int end_rc; /* 0, or what pcap_next_ex() returned last: this block is the last */
} __attribute__((aligned(CACHE_LINE)));

struct fa_readahead {
    pcap_t *pcap;
    size_t extra; /* bytes, a multiple of ALIGN */
    fa_readahead_prepare prepare;
    void *prepare_ctx;
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t filled; /* nfull rose */
    pthread_cond_t freed;  /* nfull fell, or stop was asked */
    struct block blocks[FA_READAHEAD_BLOCKS];
    int fill, take, nfull, stop;
    /* the caller's side: the block it reads, its used bytes, its place */
    struct {
        struct block *cur;
        size_t used, pos;
    } __attribute__((aligned(CACHE_LINE)));
    /* the thread's side: a record read that did not fit in the last block */
    struct {
        struct pcap_pkthdr *pending_h;
        const u_char *pending_data;
    } __attribute__((aligned(CACHE_LINE)));
};

/* What malloc() guarantees, so the extra bytes may hold any struct. */
#define ALIGN 16

static size_t align_up(size_t n)
{
    return (n + ALIGN - 1) & ~(size_t)(ALIGN - 1);
}

#define HEADER_SIZE align_up(sizeof(struct pcap_pkthdr))

static size_t record_size(const struct fa_readahead *ra, bpf_u_int32 caplen)
{
    return HEADER_SIZE + ra->extra + align_up(caplen);
}

/* Copies a record into buf after its *used bytes; 0, or -1 when it does
 * not fit in what is left (never in an empty block). */
static int put_record(struct fa_readahead *ra, u_char *buf, size_t *used,
                      const struct pcap_pkthdr *h, const u_char *data)
{
    bpf_u_int32 caplen = h->caplen < FA_READAHEAD_MAX_CAPLEN ? h->caplen : FA_READAHEAD_MAX_CAPLEN;
    size_t n = record_size(ra, caplen);
    if (n > FA_READAHEAD_BLOCK_SIZE - *used)
        return -1;
    u_char *rec = buf + *used;
    memcpy(rec, h, sizeof *h);
    ((struct pcap_pkthdr *)(void *)rec)->caplen = caplen;
    memcpy(rec + HEADER_SIZE + ra->extra, data, caplen);
    if (ra->prepare)
        ra->prepare(ra->prepare_ctx, (struct pcap_pkthdr *)(void *)rec,
                    rec + HEADER_SIZE + ra->extra, rec + HEADER_SIZE);
    *used += n;
    return 0;
}

/* Fills b with the records that follow; returns 0 when b is full and more
 * may follow, or what pcap_next_ex() returned at the end or on an error. */
static int fill_block(struct fa_readahead *ra, struct block *b)
{
    size_t used = 0;
    int rc;
    if (ra->pending_h) {
        put_record(ra, b->buf, &used, ra->pending_h, ra->pending_data); /* fits: b is empty */
        ra->pending_h = NULL;
    }
    for (;;) {
        struct pcap_pkthdr *h;
        const u_char *data;
        rc = pcap_next_ex(ra->pcap, &h, &data);
        if (rc != 1)
            break;
        if (put_record(ra, b->buf, &used, h, data) < 0) {
            ra->pending_h = h; /* valid until the next pcap_next_ex() */
            ra->pending_data = data;
            rc = 0;
            break;
        }
    }
    b->used = used;
    return rc;
}

static off_t file_offset(pcap_t *p)
{
    FILE *fp = pcap_file(p);
    return fp ? ftello(fp) : -1;
}

static void *readahead_main(void *arg)
{
    struct fa_readahead *ra = arg;
    for (;;) {
        pthread_mutex_lock(&ra->lock);
        while (ra->nfull == FA_READAHEAD_BLOCKS && !ra->stop)
            pthread_cond_wait(&ra->freed, &ra->lock);
        int stop = ra->stop;
        struct block *b = &ra->blocks[ra->fill];
        pthread_mutex_unlock(&ra->lock);
        if (stop)
            return NULL;

        int rc = fill_block(ra, b);
        b->end_rc = rc;
        b->offset = file_offset(ra->pcap);

        pthread_mutex_lock(&ra->lock);
        ra->fill = (ra->fill + 1) % FA_READAHEAD_BLOCKS;
        ra->nfull++;
        pthread_cond_signal(&ra->filled);
        pthread_mutex_unlock(&ra->lock);
        if (rc != 0)
            return NULL;
    }
}

static void free_blocks(struct fa_readahead *ra)
{
    for (int i = 0; i < FA_READAHEAD_BLOCKS; i++)
        free(ra->blocks[i].buf);
}

struct fa_readahead *fa_readahead_start(pcap_t *p, size_t extra, fa_readahead_prepare prepare,
                                        void *ctx, char *errbuf)
{
    /* Aligned as its cache-line members need: calloc() would not. */
    struct fa_readahead *ra = aligned_alloc(_Alignof(struct fa_readahead), sizeof *ra);
    if (ra)
        memset(ra, 0, sizeof *ra);
    if (!ra) {
        snprintf(errbuf, PCAP_ERRBUF_SIZE, "out of memory");
        return NULL;
    }
    ra->pcap = p;
    ra->extra = align_up(extra);
    if (record_size(ra, FA_READAHEAD_MAX_CAPLEN) > FA_READAHEAD_BLOCK_SIZE) {
        free(ra);
        snprintf(errbuf, PCAP_ERRBUF_SIZE, "%zu extra bytes a packet leave no room for one", extra);
        return NULL;
    }
    ra->prepare = prepare;
    ra->prepare_ctx = ctx;
    for (int i = 0; i < FA_READAHEAD_BLOCKS; i++) {
        ra->blocks[i].buf = malloc(FA_READAHEAD_BLOCK_SIZE);
        if (!ra->blocks[i].buf) {
            free_blocks(ra);
            free(ra);
            snprintf(errbuf, PCAP_ERRBUF_SIZE, "out of memory");
            return NULL;
        }
    }
    pthread_mutex_init(&ra->lock, NULL);
    pthread_cond_init(&ra->filled, NULL);
    pthread_cond_init(&ra->freed, NULL);
    int err = pthread_create(&ra->thread, NULL, readahead_main, ra);
    if (err) {
        snprintf(errbuf, PCAP_ERRBUF_SIZE, "cannot start a thread: %s", strerror(err));
        pthread_mutex_destroy(&ra->lock);
        pthread_cond_destroy(&ra->filled);
        pthread_cond_destroy(&ra->freed);
        free_blocks(ra);
        free(ra);
        return NULL;
    }
    return ra;
}

/* Gives the block just read back to the thread. */
static void release_block(struct fa_readahead *ra)
{
    pthread_mutex_lock(&ra->lock);
    ra->nfull--;
    pthread_cond_signal(&ra->freed);
    pthread_mutex_unlock(&ra->lock);
    ra->cur = NULL;
}

static void take_block(struct fa_readahead *ra)
{
    pthread_mutex_lock(&ra->lock);
    while (ra->nfull == 0)
        pthread_cond_wait(&ra->filled, &ra->lock);
    ra->cur = &ra->blocks[ra->take];
    ra->take = (ra->take + 1) % FA_READAHEAD_BLOCKS;
    pthread_mutex_unlock(&ra->lock);
    ra->used = ra->cur->used;
    ra->pos = 0;
}

int fa_readahead_next(struct fa_readahead *ra, struct pcap_pkthdr **h, const u_char **data,
                      void **extra)
{
    for (;;) {
        struct block *b = ra->cur;
        if (b && ra->pos < ra->used) {
            u_char *rec = b->buf + ra->pos;
            *h = (struct pcap_pkthdr *)(void *)rec;
            *extra = rec + HEADER_SIZE;
            *data = rec + HEADER_SIZE + ra->extra;
            ra->pos += record_size(ra, (*h)->caplen);
            /* The block was written on another core: start fetching the
             * next record's header and extra bytes while this one is
             * processed. */
            if (ra->pos < ra->used) {
                const u_char *next = b->buf + ra->pos;
                for (size_t at = 0; at < HEADER_SIZE + ra->extra; at += 64)
                    __builtin_prefetch(next + at);
            }
            return 1;
        }
        if (b && b->end_rc)
            return b->end_rc; /* the last block: the thread has stopped */
        if (b)
            release_block(ra);
        take_block(ra);
    }
}

off_t fa_readahead_offset(const struct fa_readahead *ra)
{
    return ra->cur ? ra->cur->offset : -1;
}

void fa_readahead_stop(struct fa_readahead *ra)
{
    pthread_mutex_lock(&ra->lock);
    ra->stop = 1;
    pthread_cond_signal(&ra->freed);
    pthread_mutex_unlock(&ra->lock);
    pthread_join(ra->thread, NULL);
    pthread_mutex_destroy(&ra->lock);
    pthread_cond_destroy(&ra->filled);
    pthread_cond_destroy(&ra->freed);
    free_blocks(ra);
    free(ra);
}
