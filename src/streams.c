/*
 * streams.c - reassembles the first bytes of each TCP stream and names it
 * with appproto.h.
 *
 * IPv4 goes to libnids, fed bare IP packets from flowaudit's own loop
 * through a DLT_RAW pcap_open_dead() handle, so libnids never sees a link
 * header (it knows few link types) and never reads a capture itself.  IPv6,
 * which libnids does not know, goes to a small in-order reassembly here.
 * libnids' own tables are bounded: its stream pool by NIDS_TCP_STREAMS,
 * its fragment queues by the fragments it is given (NIDS_FRAG_MAX).
 *
 * Invariants:
 *   - a direction is looked at only from its first byte, in order, and at
 *     most `limit` bytes of it; once appproto has decided a direction it is
 *     no longer collected, and once the stream is named (or cannot be) it
 *     is dropped, so memory follows the streams still undecided;
 *   - the callback runs exactly once with final 1 per stream that is
 *     decided, with an app or without one (so the caller can stop sending
 *     its packets);
 *   - with a DNS callback, a stream whose client sent a DNS query is
 *     reported named (final 0) at once, and stays undecided while its
 *     server's side is collected, up to the limit or its close; each whole
 *     length-prefixed message in it is handed over once, in order, and
 *     never one that ends past the limit;
 *   - every length taken from a packet is checked against what was
 *     captured before a byte is copied; a packet cut by the snap length is
 *     never given to libnids (it would refuse it) and gives the IPv6 path
 *     only its captured bytes, after which that direction waits in vain;
 *   - libnids keeps global state, so one fa_streams exists at a time:
 *     `current` is both that flag and the way back from libnids' callback,
 *     which has no context argument.
 */
#include "streams.h"

#include <nids.h>
#include <pcap.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hash.h"

/* libnids tracks 3/4 of this many streams; past that it drops the oldest.
 * The fuzz build makes it small: libnids allocates its table for each
 * input there, and its drop path is reached. */
#ifndef FA_NIDS_TCP_STREAMS
#define FA_NIDS_TCP_STREAMS (1 << 16)
#endif

/* The IPv6 table: at most this many streams (the least recently active is
 * dropped for a new one), each dropped after this long without a packet,
 * and at most this many bytes buffered by all of them together. */
#define V6_MAX_STREAMS 65536
#define V6_BUCKETS 65536 /* a power of two */
#define V6_IDLE_NS (300 * 1000000000LL)
#define V6_MAX_BUFFERED (64u << 20)
#define V6_MIN_BUFFER 1024u

#define IPV4_MAX_LEN 65535

/* libnids reassembles IPv4 fragments, keeping each incomplete datagram
 * for 30 s of wall-clock time in a queue per destination address, and
 * nothing bounds how many destinations a flood of fragments names.  So it
 * is given at most this many fragments, and bytes of them, in a window of
 * that length: what it holds, from two windows at most, stays near 12 MiB. */
#define NIDS_FRAG_WINDOW_NS (30 * 1000000000LL)
#define NIDS_FRAG_MAX 4096
#define NIDS_FRAG_MAX_BYTES (4u << 20)

/* What is known of a stream beyond its bytes.  A side is done when
 * appproto decided it without naming the stream, or it can send no more;
 * a client that names the stream ends it at once, so it is never "done",
 * except as a DNS client: the stream then waits for its server's answers. */
struct naming {
    uint8_t client_done;
    uint8_t server_done;
    uint8_t server_app; /* enum fa_app: what the server's first bytes said */
    uint8_t dns;        /* the client sent a DNS query; answers are read */
};

/* The bytes one side still holds, from its byte number start (0 is its
 * first), and whether it has closed. */
struct side {
    const uint8_t *data;
    size_t len;
    size_t start;
    int closed;
};

struct v6_dir {
    uint8_t *buf; /* the side's first bytes; NULL once the side is done */
    uint32_t len, cap;
    uint32_t next_seq; /* sequence number of the next byte wanted */
};

struct v6_stream {
    struct v6_stream *hnext;         /* hash chain */
    struct v6_stream *older, *newer; /* the activity list */
    uint64_t hash;
    struct fa_tuple t; /* src is the client */
    int64_t last_ns;
    uint32_t client_isn;
    uint8_t server_known; /* the SYN-ACK was seen: dir[1].next_seq is set */
    uint32_t dns_taken;   /* the server's bytes handed over as DNS messages */
    struct naming n;
    struct v6_dir dir[2]; /* 0: what the client sent; 1: the server */
};

struct fa_streams {
    size_t limit;
    fa_stream_named_fn fn;
    void *ctx;
    fa_stream_dns_fn dns_fn; /* NULL: DNS streams are named at once */
    void *dns_ctx;
    int64_t now_ns; /* the time of the packet being handled */

    pcap_t *raw; /* only tells libnids the link type: bare IP */
    /* libnids keeps a pointer to the last header, so it lives here. */
    struct pcap_pkthdr hdr;
    /* A writable, aligned copy of each IPv4 packet: libnids takes a
     * non-const pointer and reads its headers through struct casts. */
    uint8_t ip4[IPV4_MAX_LEN + 1] __attribute__((aligned(8)));
    /* fragments given to libnids in the window begun at frag_window_ns
     * (monotonic clock, as libnids times fragments by the wall clock) */
    int64_t frag_window_ns;
    uint32_t frag_count;
    size_t frag_bytes;

    struct v6_stream **buckets; /* allocated with the first IPv6 stream */
    struct v6_stream *oldest, *newest;
    size_t v6_count;
    size_t v6_buffered;
    uint64_t seed[2]; /* keys the hash, so collisions cannot be planned */
};

static struct fa_streams *current;

/* ------------------------------------------------------------------ */
/* Naming, the same for both paths. */

typedef enum fa_app_verdict (*inspect_fn)(const uint8_t *, size_t, size_t, struct fa_app_info *);

/* 1 when appproto has decided the side (info filled). */
static int inspect(inspect_fn fn, struct side sd, size_t limit, struct fa_app_info *info)
{
    size_t len = sd.len < limit ? sd.len : limit;
    if (len == 0 || !sd.data || sd.start != 0)
        return 0;
    return fn(sd.data, len, limit, info) == FA_APP_DONE;
}

/* Hands each whole DNS message of d[0..len) to the DNS callback, in
 * order (RFC 1035 4.2.2: a 2-byte length, then that many bytes), and
 * returns the bytes they took; a message not yet whole stays. */
static size_t dns_messages(struct fa_streams *s, const uint8_t *d, size_t len)
{
    size_t off = 0;

    while (len - off >= 2) {
        size_t m = (size_t)d[off] << 8 | d[off + 1];
        if (m > len - off - 2)
            break;
        if (m > 0 && s->dns_fn)
            s->dns_fn(s->dns_ctx, d + off + 2, m, s->now_ns);
        off += 2 + m;
    }
    return off;
}

/* A DNS stream: the server's messages that end within the limit are
 * handed over (*taken says how many of the server's bytes they took), and
 * once the server can add none, at the limit or its close, the stream is
 * reported.  Returns 1 then.  taken NULL: the server's bytes cannot be
 * let go of now, so they wait for its next ones, or its close. */
static int dns_step(struct fa_streams *s, struct naming *n, const struct fa_tuple *t,
                    struct side server, size_t *taken)
{
    size_t end = server.start + server.len; /* the server's bytes so far */

    if (taken && server.data && server.start < s->limit)
        *taken = dns_messages(s, server.data, (end < s->limit ? end : s->limit) - server.start);
    /* A server done before the query was seen has nothing more to give. */
    if (!server.closed && !n->server_done && (end < s->limit || !taken))
        return 0;
    struct fa_app_info info;
    memset(&info, 0, sizeof info);
    info.app = FA_APP_DNS;
    s->fn(s->ctx, t, &info, 1);
    return 1;
}

/* A closed side that appproto has not decided is done without a name:
 * deciding a cut prefix as if it were the limit would guess.  Returns 1
 * when the stream is decided (and reported if anything named it).
 * *taken: how many of the server's bytes went out as DNS messages, which
 * are not to be looked at again; taken may be NULL (see dns_step()). */
static int naming_step(struct fa_streams *s, struct naming *n, const struct fa_tuple *t,
                       struct side client, struct side server, size_t *taken)
{
    struct fa_app_info info;

    if (taken)
        *taken = 0;
    if (n->dns)
        return dns_step(s, n, t, server, taken);
    if (!n->client_done) {
        int done = inspect(fa_app_inspect, client, s->limit, &info);
        if (done && info.app == FA_APP_DNS && s->dns_fn) {
            /* Named now; decided once the answers are read, and the
             * caller sends the stream's packets until then. */
            n->client_done = 1;
            n->dns = 1;
            s->fn(s->ctx, t, &info, 0);
            return dns_step(s, n, t, server, taken);
        }
        if (done && info.app != FA_APP_UNKNOWN) {
            s->fn(s->ctx, t, &info, 1);
            return 1;
        }
        n->client_done = (uint8_t)(done || client.closed);
    }
    /* The server is heard only while the client has named nothing. */
    if (!n->server_done) {
        int done = inspect(fa_app_inspect_response, server, s->limit, &info);
        n->server_done = (uint8_t)(done || server.closed);
        n->server_app = (uint8_t)(done ? info.app : FA_APP_UNKNOWN);
    }
    if (!n->client_done || !n->server_done)
        return 0;
    memset(&info, 0, sizeof info);
    info.app = (enum fa_app)n->server_app;
    s->fn(s->ctx, t, &info, 1);
    return 1;
}

/* ------------------------------------------------------------------ */
/* IPv4: libnids. */

/* libnids' warnings would go to syslog; they are about the traffic, which
 * the flow table already accounts for. */
static void nids_quiet(int type, int err, struct ip *iph, void *data)
{
    (void)type;
    (void)err;
    (void)iph;
    (void)data;
}

/* libnids gives each listener of a stream one pointer-sized slot.  The
 * naming state is four small fields, so it lives in the slot itself and
 * nothing needs freeing whichever way libnids drops the stream. */
static struct naming slot_get(void *const *slot)
{
    uintptr_t v = (uintptr_t)*slot;
    struct naming n = {(uint8_t)(v & 1), (uint8_t)(v >> 1 & 1), (uint8_t)(v >> 8 & 0xff),
                       (uint8_t)(v >> 2 & 1)};
    return n;
}

static void slot_put(void **slot, const struct naming *n)
{
    uintptr_t v = (uintptr_t)n->client_done | (uintptr_t)n->server_done << 1 |
                  (uintptr_t)n->dns << 2 | (uintptr_t)n->server_app << 8;
    *slot = (void *)v;
}

static void nids_tuple(const struct tcp_stream *a, struct fa_tuple *t)
{
    memset(t, 0, sizeof *t);
    t->proto = FA_PROTO_TCP;
    t->has_ports = 1;
    t->sport = a->addr.source;
    t->dport = a->addr.dest;
    fa_addr_from_ipv4(&t->src, (const uint8_t *)&a->addr.saddr);
    fa_addr_from_ipv4(&t->dst, (const uint8_t *)&a->addr.daddr);
}

/* The bytes a half still holds: from the stream's first, as
 * nids_discard(a, 0) after every delivery keeps offset at 0, except for a
 * DNS server's side, whose messages handed over are discarded. */
static struct side nids_side(const struct half_stream *h, int collecting, int closed)
{
    struct side sd = {NULL, 0, 0, closed};
    if (!collecting || h->offset < 0)
        return sd;
    /* Where the bytes held start, even when none are held: a DNS server
     * whose messages were all handed over is still that far along. */
    sd.start = (size_t)h->offset;
    if (h->data && h->count > h->offset) {
        sd.data = (const uint8_t *)h->data;
        sd.len = (size_t)(h->count - h->offset);
    }
    return sd;
}

/* libnids' naming: a->server is the half the server receives, so it holds
 * what the client sent, and a->client what the server sent.  Returns the
 * bytes to discard from the half just delivered. */
static int nids_step(struct tcp_stream *a, void **slot, int closed)
{
    struct naming before = slot_get(slot), n = before;
    struct fa_tuple t;
    size_t taken = 0;

    nids_tuple(a, &t);
    /* nids_discard() applies to the half just delivered: a DNS server's
     * messages are read only when it is its half (libnids zeroes the
     * other's count_new), or at the close, so none is handed over twice. */
    size_t *tp = closed || a->client.count_new > 0 ? &taken : NULL;
    int decided = naming_step(current, &n, &t, nids_side(&a->server, !n.client_done, closed),
                              nids_side(&a->client, !n.server_done, closed), tp);
    slot_put(slot, &n);
    if (closed)
        return 0; /* libnids frees the stream after this call */
    /* Collecting stops where nothing more is wanted; with no half left,
     * libnids drops our listener and, with it, the stream. */
    if (!before.client_done && (decided || n.client_done))
        a->server.collect--;
    if (!before.server_done && (decided || n.server_done))
        a->client.collect--;
    return (int)taken;
}

static void on_nids_tcp(struct tcp_stream *a, void **slot)
{
    switch (a->nids_state) {
    case NIDS_JUST_EST:
        *slot = NULL; /* libnids leaves it uninitialised */
        a->client.collect++;
        a->server.collect++;
        break;
    case NIDS_DATA:
        nids_discard(a, nids_step(a, slot, 0));
        break;
    case NIDS_CLOSE:
    case NIDS_RESET:
    case NIDS_TIMED_OUT:
    case NIDS_EXITING:
        nids_step(a, slot, 1);
        break;
    default:
        break;
    }
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* 1 while the fragment budget of the current window has room for p; past
 * it, a fragment is not reassembled and its stream waits at the gap. */
static int frag_allowed(struct fa_streams *s, const struct fa_packet *p)
{
    int64_t now = mono_ns();
    if (s->frag_count == 0 || now - s->frag_window_ns >= NIDS_FRAG_WINDOW_NS) {
        s->frag_window_ns = now;
        s->frag_count = 0;
        s->frag_bytes = 0;
    }
    if (s->frag_count >= NIDS_FRAG_MAX || s->frag_bytes + p->ip_caplen > NIDS_FRAG_MAX_BYTES)
        return 0;
    s->frag_count++;
    s->frag_bytes += p->ip_caplen;
    return 1;
}

static void nids_packet(struct fa_streams *s, const struct fa_packet *p, int64_t ts_ns)
{
    /* A packet cut short would be refused by libnids as a bad header. */
    if (!p->ip || p->ip_caplen < 20 || p->ip_caplen != p->ip_len || p->ip_len > IPV4_MAX_LEN)
        return;
    if (p->is_fragment && !frag_allowed(s, p))
        return;
    memcpy(s->ip4, p->ip, p->ip_caplen);
    /* A capture on a sender using segmentation offload has a total length
     * of 0; the decoder took the frame's, and so does libnids now. */
    if (s->ip4[2] == 0 && s->ip4[3] == 0) {
        s->ip4[2] = (uint8_t)(p->ip_len >> 8);
        s->ip4[3] = (uint8_t)p->ip_len;
    }
    if (ts_ns < 0)
        ts_ns = 0;
    s->hdr.ts.tv_sec = (time_t)(ts_ns / 1000000000);
    s->hdr.ts.tv_usec = (suseconds_t)(ts_ns % 1000000000 / 1000);
    s->hdr.caplen = p->ip_caplen;
    s->hdr.len = p->ip_len;
    nids_pcap_handler(NULL, &s->hdr, s->ip4);
}

static int nids_start(struct fa_streams *s, int verify_checksums, char *errbuf)
{
    /* Every source, every check off: the count must be at least 1. */
    static struct nids_chksum_ctl no_checksums = {0, 0, NIDS_DONT_CHKSUM, 0};

    s->raw = pcap_open_dead(DLT_RAW, IPV4_MAX_LEN);
    if (!s->raw) {
        snprintf(errbuf, FA_STREAMS_ERRBUF_SIZE, "cannot open a raw pcap handle for libnids");
        return -1;
    }
    nids_params.pcap_desc = s->raw;
    nids_params.device = NULL;
    nids_params.filename = NULL;
    nids_params.pcap_filter = NULL;
    nids_params.syslog = nids_quiet;
    nids_params.scan_num_hosts = 0;
    nids_params.n_tcp_streams = FA_NIDS_TCP_STREAMS;
    nids_params.multiproc = 0;
    nids_params.one_loop_less = 0;
    /* Frees streams both of whose FINs were seen but whose data never
     * completed, 10 s of capture time later, instead of at the end. */
    nids_params.tcp_workarounds = 1;
    if (!nids_init()) {
        snprintf(errbuf, FA_STREAMS_ERRBUF_SIZE, "libnids: %s", nids_errbuf);
        nids_params.pcap_desc = NULL;
        pcap_close(s->raw);
        return -1;
    }
    if (verify_checksums)
        nids_register_chksum_ctl(NULL, 0);
    else
        nids_register_chksum_ctl(&no_checksums, 1);
    nids_register_tcp(on_nids_tcp);
    return 0;
}

static void nids_stop(struct fa_streams *s)
{
    /* Unregistered first: nids_exit() does not free the callback list, and
     * the streams it ends still reach their listeners. */
    nids_unregister_tcp(on_nids_tcp);
    nids_exit();
    nids_register_chksum_ctl(NULL, 0);
    nids_params.pcap_desc = NULL;
    pcap_close(s->raw);
}

/* ------------------------------------------------------------------ */
/* IPv6: a small in-order reassembly of each direction's first bytes. */

/* The two ends are combined commutatively: both directions hash alike. */
static uint64_t v6_hash(const struct fa_streams *s, const struct fa_packet *p)
{
    return fa_mix64(fa_hash_end(s->seed, &p->src, p->sport) +
                    fa_hash_end(s->seed, &p->dst, p->dport));
}

/* The stream of the packet's 5-tuple; *dir is 0 when the client sent it. */
static struct v6_stream *v6_find(struct fa_streams *s, const struct fa_packet *p, uint64_t h,
                                 int *dir)
{
    if (!s->buckets)
        return NULL;
    for (struct v6_stream *e = s->buckets[h & (V6_BUCKETS - 1)]; e; e = e->hnext) {
        if (e->hash != h)
            continue;
        if (e->t.sport == p->sport && e->t.dport == p->dport && fa_addr_eq(&e->t.src, &p->src) &&
            fa_addr_eq(&e->t.dst, &p->dst)) {
            *dir = 0;
            return e;
        }
        if (e->t.sport == p->dport && e->t.dport == p->sport && fa_addr_eq(&e->t.src, &p->dst) &&
            fa_addr_eq(&e->t.dst, &p->src)) {
            *dir = 1;
            return e;
        }
    }
    return NULL;
}

static void list_unlink(struct fa_streams *s, struct v6_stream *e)
{
    if (e->older)
        e->older->newer = e->newer;
    else
        s->oldest = e->newer;
    if (e->newer)
        e->newer->older = e->older;
    else
        s->newest = e->older;
    e->older = e->newer = NULL;
}

static void list_push(struct fa_streams *s, struct v6_stream *e)
{
    e->older = s->newest;
    e->newer = NULL;
    if (s->newest)
        s->newest->newer = e;
    else
        s->oldest = e;
    s->newest = e;
}

static void v6_touch(struct fa_streams *s, struct v6_stream *e, int64_t now)
{
    e->last_ns = now;
    list_unlink(s, e);
    list_push(s, e);
}

static void dir_free(struct fa_streams *s, struct v6_dir *d)
{
    s->v6_buffered -= d->cap;
    free(d->buf);
    d->buf = NULL;
    d->len = d->cap = 0;
}

/* A side from its byte number start (what was handed over is skipped). */
static struct side v6_side(const struct v6_dir *d, uint32_t start, int closed)
{
    struct side sd = {NULL, 0, start, closed};
    if (d->buf && d->len > start) {
        sd.data = d->buf + start;
        sd.len = d->len - start;
    }
    return sd;
}

/* Unlinks and frees a stream; with decide, it is first decided on what it
 * has (it was reset, timed out or pushed out). */
static void v6_drop(struct fa_streams *s, struct v6_stream *e, int decide)
{
    if (decide) {
        size_t taken;
        naming_step(s, &e->n, &e->t, v6_side(&e->dir[0], 0, 1),
                    v6_side(&e->dir[1], e->dns_taken, 1), &taken);
    }
    struct v6_stream **pp = &s->buckets[e->hash & (V6_BUCKETS - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    list_unlink(s, e);
    dir_free(s, &e->dir[0]);
    dir_free(s, &e->dir[1]);
    free(e);
    s->v6_count--;
}

/* Differences are taken unsigned and only forward: capture times may
 * jump anywhere (files read together, hostile stamps) without overflow. */
static void v6_expire(struct fa_streams *s, int64_t now)
{
    while (s->oldest && s->oldest->last_ns < now &&
           (uint64_t)now - (uint64_t)s->oldest->last_ns > (uint64_t)V6_IDLE_NS)
        v6_drop(s, s->oldest, 1);
}

/* A new stream from a pure SYN: its sender is the client. */
static void v6_new(struct fa_streams *s, const struct fa_packet *p, uint64_t h, int64_t now)
{
    if (!s->buckets && !(s->buckets = calloc(V6_BUCKETS, sizeof *s->buckets)))
        return;
    if (s->v6_count >= V6_MAX_STREAMS)
        v6_drop(s, s->oldest, 1);
    struct v6_stream *e = calloc(1, sizeof *e);
    if (!e)
        return;
    e->hash = h;
    e->t.proto = FA_PROTO_TCP;
    e->t.has_ports = 1;
    e->t.src = p->src;
    e->t.dst = p->dst;
    e->t.sport = p->sport;
    e->t.dport = p->dport;
    e->client_isn = p->tcp_seq;
    e->dir[0].next_seq = p->tcp_seq + 1;
    e->last_ns = now;
    e->hnext = s->buckets[h & (V6_BUCKETS - 1)];
    s->buckets[h & (V6_BUCKETS - 1)] = e;
    list_push(s, e);
    s->v6_count++;
}

static void v6_syn(struct fa_streams *s, struct v6_stream *e, int dir, const struct fa_packet *p,
                   uint64_t h, int64_t now)
{
    if (e && dir == 0 && p->tcp_seq == e->client_isn) {
        v6_touch(s, e, now); /* a retransmitted SYN */
        return;
    }
    /* Another SYN on the same 5-tuple starts another connection. */
    if (e)
        v6_drop(s, e, 1);
    v6_new(s, p, h, now);
}

/* Room for need more bytes, growing by doubling up to the limit.  0 when
 * the bytes cannot be had (the table's budget or memory). */
static int dir_reserve(struct fa_streams *s, struct v6_dir *d, size_t need)
{
    if (d->len + need <= d->cap)
        return 1;
    size_t cap = d->cap ? 2 * (size_t)d->cap : V6_MIN_BUFFER;
    while (cap < d->len + need)
        cap *= 2;
    if (cap > s->limit)
        cap = s->limit;
    if (s->v6_buffered - d->cap + cap > V6_MAX_BUFFERED)
        return 0;
    uint8_t *nb = realloc(d->buf, cap);
    if (!nb)
        return 0;
    s->v6_buffered = s->v6_buffered - d->cap + cap;
    d->buf = nb;
    d->cap = (uint32_t)cap;
    return 1;
}

/* Appends what the segment adds at the next expected byte: a segment
 * starting past it (a gap) adds nothing, one starting before it only its
 * new part.  Sequence arithmetic is modulo 2^32, as TCP's.  1 when bytes
 * were added, 0 when none were new, -1 when they could not be kept. */
static int v6_append(struct fa_streams *s, struct v6_dir *d, const struct fa_packet *p)
{
    if (!p->payload || p->payload_caplen == 0)
        return 0;
    uint32_t ahead = p->tcp_seq - d->next_seq;
    if (ahead != 0 && ahead < 0x80000000u)
        return 0;
    uint32_t skip = d->next_seq - p->tcp_seq;
    if (skip >= p->payload_caplen)
        return 0;
    size_t n = p->payload_caplen - skip;
    if (n > s->limit - d->len)
        n = s->limit - d->len;
    if (n == 0)
        return 0;
    if (!dir_reserve(s, d, n))
        return -1;
    memcpy(d->buf + d->len, p->payload + skip, n);
    d->len += (uint32_t)n;
    d->next_seq += (uint32_t)n;
    return 1;
}

/* A data, FIN or ACK segment of a known stream.  A side that cannot send
 * more (FIN) or whose bytes cannot be kept is closed. */
static void v6_segment(struct fa_streams *s, struct v6_stream *e, int dir,
                       const struct fa_packet *p)
{
    int closed = (p->tcp_flags & FA_TCP_FIN) != 0;
    int added = 0;

    if (dir == 0 ? e->n.client_done : e->n.server_done)
        return;
    /* Before the SYN-ACK the server's bytes have no known start. */
    if (dir == 0 || e->server_known)
        added = v6_append(s, &e->dir[dir], p);
    if (added < 0)
        closed = 1;
    if (!added && !closed)
        return;
    struct side client = v6_side(&e->dir[0], 0, dir == 0 && closed);
    struct side server = v6_side(&e->dir[1], e->dns_taken, dir == 1 && closed);
    size_t taken;
    if (naming_step(s, &e->n, &e->t, client, server, &taken)) {
        v6_drop(s, e, 0);
        return;
    }
    e->dns_taken += (uint32_t)taken; /* within the limit, at most 1 MiB */
    if (e->n.client_done)
        dir_free(s, &e->dir[0]);
    if (e->n.server_done)
        dir_free(s, &e->dir[1]);
}

static void v6_packet(struct fa_streams *s, const struct fa_packet *p, int64_t now)
{
    /* Fragments are left out: a stream with one would wait at its gap. */
    if (!p->has_ports || p->is_fragment)
        return;
    v6_expire(s, now);
    uint64_t h = v6_hash(s, p);
    int dir = 0;
    struct v6_stream *e = v6_find(s, p, h, &dir);
    uint8_t f = p->tcp_flags;

    if ((f & (FA_TCP_SYN | FA_TCP_ACK | FA_TCP_RST)) == FA_TCP_SYN) {
        v6_syn(s, e, dir, p, h, now);
        return;
    }
    if (!e)
        return;
    v6_touch(s, e, now);
    if (f & FA_TCP_RST) {
        v6_drop(s, e, 1);
    } else if (f & FA_TCP_SYN) {
        /* The SYN-ACK that answers the client's SYN gives the server's ISN. */
        if (dir == 1 && (f & FA_TCP_ACK) && !e->server_known && p->tcp_ack == e->client_isn + 1) {
            e->dir[1].next_seq = p->tcp_seq + 1;
            e->server_known = 1;
        }
    } else {
        v6_segment(s, e, dir, p);
    }
}

/* ------------------------------------------------------------------ */
/* Public interface. */

struct fa_streams *fa_streams_new(size_t limit, int verify_checksums, fa_stream_named_fn fn,
                                  void *ctx, char *errbuf)
{
    if (current) {
        snprintf(errbuf, FA_STREAMS_ERRBUF_SIZE,
                 "stream reassembly is already in use (libnids allows one at a time)");
        return NULL;
    }
    if (!fn) {
        snprintf(errbuf, FA_STREAMS_ERRBUF_SIZE, "stream reassembly needs a callback");
        return NULL;
    }
    struct fa_streams *s = calloc(1, sizeof *s);
    if (!s) {
        snprintf(errbuf, FA_STREAMS_ERRBUF_SIZE, "out of memory");
        return NULL;
    }
    if (limit == 0)
        limit = FA_STREAMS_DEFAULT_LIMIT;
    s->limit = limit < FA_STREAMS_MAX_LIMIT ? limit : FA_STREAMS_MAX_LIMIT;
    s->fn = fn;
    s->ctx = ctx;
    fa_hash_seed(s->seed);
    if (nids_start(s, verify_checksums, errbuf) < 0) {
        free(s);
        return NULL;
    }
    current = s;
    return s;
}

void fa_streams_on_dns(struct fa_streams *s, fa_stream_dns_fn fn, void *ctx)
{
    if (!s)
        return;
    s->dns_fn = fn;
    s->dns_ctx = ctx;
}

void fa_streams_packet(struct fa_streams *s, const struct fa_packet *p, int64_t ts_ns)
{
    if (!s || !p || p->proto != FA_PROTO_TCP)
        return;
    s->now_ns = ts_ns;
    if (p->ip_version == 4)
        nids_packet(s, p, ts_ns);
    else if (p->ip_version == 6)
        v6_packet(s, p, ts_ns);
}

void fa_streams_free(struct fa_streams *s)
{
    if (!s)
        return;
    nids_stop(s);
    while (s->oldest)
        v6_drop(s, s->oldest, 1);
    free(s->buckets);
    if (current == s)
        current = NULL;
    free(s);
}
