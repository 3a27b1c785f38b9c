/*
 * capture.c - run `read` and `capture`: libpcap -> decode -> flow table ->
 * store; on the way, the early packets of TCP flows not yet named go to
 * stream reassembly (streams.h), and DNS answers to the names table
 * (names.h).
 *
 * Invariants:
 *   - every frame libpcap hands over is counted once: as a packet given to
 *     the flow table, or under the decoder's reason for skipping it;
 *   - every input is checked before anything is written: each capture file
 *     is opened, its header read and the filter compiled for its link
 *     type, then closed again; files are then read one at a time, so only
 *     one is open at once (standard input, which cannot be reopened, stays
 *     open from its check to its turn);
 *   - a capture file is read and decoded a few blocks ahead, in a thread of
 *     its own (readahead.h), which touches only the handle, its blocks and
 *     a copy of decode's arguments; packets still reach the flow table one
 *     at a time, in file order, on this thread.  A pipe, or a file when the
 *     thread cannot be started, is read and decoded on this thread;
 *   - flows go to the writer thread as they end (and, live, at
 *     checkpoints); it commits each batch of 4096 records in a transaction
 *     of its own, with the run's totals as they stood when the batch was
 *     handed over, so nothing is written per packet and the database never
 *     holds flows its run's row does not count.  A crash loses what was
 *     not yet committed: the batch being filled, the batch being written
 *     (at most 2 x 4096 records), and what is still only in the flow
 *     table; everything committed before stays, totals included;
 *   - live, every flow in memory that changed since it was last written
 *     is written once a checkpoint round, and rounds start checkpoint_s
 *     apart (see live_checkpoint());
 *   - the totals carry the checkpoint (runs.checkpoint), the packet time
 *     up to which their commit is complete, so a run that did not end
 *     says what it holds.  Reading files, it is the latest stamp of the
 *     packets whose records are all queued (a batch fills in the middle
 *     of a packet, which does not count yet): every flow that ended while
 *     those packets were processed is committed with it.  Live, only the
 *     last commit of a checkpoint round sets it, to the run's last packet
 *     time when the round started: every flow that ended before the round
 *     is committed then, and every flow still open with its state as of
 *     those packets at least.  Live packets are read in the order the
 *     kernel stamped them, so "the packets read by then" are the packets
 *     stamped at or before the checkpoint;
 *   - a live capture stopped by a signal or --duration first reads what
 *     the kernel captured before the stop (drain_live()), so a clean stop
 *     loses nothing;
 *   - a flow's dns_name is filled here, as its record goes to the writer,
 *     from the DNS answers seen so far (names.h), so every write of a flow,
 *     checkpoint or final, names it by the same rule;
 *   - the DNS answers of the run are written once, when it ends, after the
 *     writer has stopped, in transactions of their own like the writer's
 *     batches; the last carries the final totals, so
 *   - the run's row is finished (ended set) only when every flow, every
 *     name and the totals were committed; an error stops the run with
 *     status 2 after committing what was already recorded.
 */
#include "capture.h"

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pcap/pcap.h>
#include <pwd.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "appproto.h"
#include "decode.h"
#include "names.h"
#include "readahead.h"
#include "store.h"
#include "streams.h"
#include "writer.h"

#define PROGRESS_EVERY_PACKETS 65536
/* Large reads: the default stdio buffer costs a system call per 4 KiB.
 * Not larger: the kernel copies into this buffer and libpcap copies out
 * of it, and both copies are cheap only while it stays in the core's
 * cache (bench/bench.py: 128 KiB read the large workload in 0.75 s of
 * CPU, 1 MiB in 0.90 s). */
#define READ_BUFFER_SIZE (128 * 1024)

/* Set by SIGINT and SIGTERM.  A read checks it after each packet (a read
 * from a pipe that waits is woken by the signal); the capture loop polls
 * with a timeout, so it sees the flag within POLL_MS even on a silent
 * interface. */
static volatile sig_atomic_t stop_requested;
#define POLL_MS 250
/* The kernel (TPACKET_V3) hands packets over in blocks, a block when it is
 * full or BLOCK_TIMEOUT_MS after it was opened (the handle's timeout). */
#define BLOCK_TIMEOUT_MS 250
#define DISPATCH_BATCH 512

#define NS_PER_S 1000000000LL

/* A capture file, read through a large stdio buffer of its own. */
struct source {
    pcap_t *pcap;
    char *buf; /* the stream's buffer: freed only once the stream is closed */
};

struct run {
    const struct fa_capture_opts *o;
    struct fa_store *store;
    struct fa_flow_table *flows;
    struct fa_writer *writer;
    struct fa_streams *streams; /* NULL with --no-names */
    struct fa_names *names;     /* the DNS answers seen so far */
    int64_t run_id;
    struct fa_run_totals totals;
    unsigned decode_flags;
    int dlt;          /* link type of the handle being read */
    int64_t ts_scale; /* nanoseconds per unit of its ts.tv_usec: 1 or 1000 */
    int failed;       /* a store write failed: stop reading */
    char errbuf[FA_STORE_ERRBUF_SIZE];
    /* inputs: the live handle, or standard input's when "-" is named */
    pcap_t *live;
    struct source stdin_src;
    /* progress */
    int show_progress;
    int64_t next_progress_ns;
    const char *file;
    off_t file_size;
    struct fa_readahead *ahead; /* the file being read, read ahead */
};

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

void fa_capture_opts_defaults(struct fa_capture_opts *o)
{
    memset(o, 0, sizeof *o);
    o->db_path = "flowaudit.db";
    o->checkpoint_s = 60;
    o->names = 1;
    o->name_bytes = FA_STREAMS_DEFAULT_LIMIT;
    fa_flow_config_defaults(&o->flow);
}

/* ------------------------------------------------------------------ */
/* Store side. */

static void fill_totals(struct run *r)
{
    const struct fa_flow_stats *st = fa_flow_table_stats(r->flows);
    r->totals.flows = st->flows;
    r->totals.evicted = st->evicted;
    r->totals.orphan_fragments = st->orphan_fragments;
}

/* Checkpoints and final records take the same path: the store updates a
 * flow it has seen before.  The totals go along in case this record fills
 * a batch, whose commit then carries them. */
static void store_flow(void *ctx, struct fa_flow_record *rec, int is_final)
{
    struct run *r = ctx;
    (void)is_final;
    if (r->failed)
        return;
    /* The flow table knows nothing of DNS: the name comes from the answers
     * seen before the flow began, which the capture has seen by now. */
    const char *name = fa_names_for(r->names, &rec->resp_h, rec->first_ns);
    if (name)
        snprintf(rec->dns_name, sizeof rec->dns_name, "%s", name);
    fill_totals(r);
    if (fa_writer_put(r->writer, rec, &r->totals) < 0)
        r->failed = 1;
}

/* Hands over the flows queued so far with the totals as they stand, to be
 * committed; does not wait for the write. */
static void flush_progress(struct run *r)
{
    if (r->failed)
        return;
    fill_totals(r);
    if (fa_writer_flush(r->writer, &r->totals) < 0)
        r->failed = 1;
}

/* ------------------------------------------------------------------ */
/* Per packet. */

static void progress(struct run *r, int final)
{
    const struct fa_flow_stats *st = fa_flow_table_stats(r->flows);
    char where[64] = "";
    if (r->ahead && r->file_size > 0) {
        off_t pos = fa_readahead_offset(r->ahead);
        if (pos >= 0)
            snprintf(where, sizeof where, " %3d%%", (int)(100.0 * pos / r->file_size));
    }
    fprintf(stderr, "\rflowaudit: %s%s  %llu packets  %llu flows  %llu active   ",
            r->file ? r->file : r->o->iface, where, (unsigned long long)r->totals.packets,
            (unsigned long long)st->flows, (unsigned long long)st->active);
    if (final)
        fputc('\n', stderr);
}

/* A UDP packet from port 53, whoever sent it: its answers go to the
 * names table, and a well-formed DNS message names its flow dns.  Only a
 * whole payload is parsed: a message cut by the snap length, or a fragment
 * of one, would be malformed, or worse, read as a shorter message than the
 * one sent.  DNS over TCP is named, and its answers read, by stream
 * reassembly (on_dns_tcp()). */
static void dns_response(struct run *r, const struct fa_packet *pkt, int64_t ts)
{
    if (!pkt->payload || pkt->payload_caplen != pkt->payload_len || pkt->is_fragment)
        return;
    if (fa_names_dns(r->names, pkt->payload, pkt->payload_len, ts) < 0)
        return;
    struct fa_tuple t = {
        .proto = pkt->proto,
        .has_ports = 1,
        .sport = pkt->sport,
        .dport = pkt->dport,
        .src = pkt->src,
        .dst = pkt->dst,
    };
    fa_flow_set_app(r->flows, &t, FA_APP_DNS, 0, NULL, 1);
}

/* A pcapng stamp can say anything up to 2^64 units, and a fraction may
 * exceed a second (libpcap passes both on as the file has them).  The
 * fraction is carried into the seconds, and a stamp is held within 2^32 s
 * of 1970 (1833 to 2106, what a 32-bit pcap stamp spans): the flow table
 * adds timeouts of up to 10^9 s to stamps and subtracts one stamp from
 * another, which must not overflow 63 bits of nanoseconds. */
#define TS_MAX_S (INT64_C(1) << 32)
#define TS_MAX_FRAC (INT64_C(1) << 40)

static int64_t packet_ns(const struct pcap_pkthdr *h, int64_t scale)
{
    int64_t sec = h->ts.tv_sec, frac = h->ts.tv_usec;
    if (frac > TS_MAX_FRAC || frac < -TS_MAX_FRAC)
        frac = frac < 0 ? -TS_MAX_FRAC : TS_MAX_FRAC;
    frac *= scale;
    if (sec > TS_MAX_S || sec < -TS_MAX_S)
        sec = sec < 0 ? -TS_MAX_S : TS_MAX_S;
    sec += frac / NS_PER_S;
    frac %= NS_PER_S;
    if (sec > TS_MAX_S || sec < -TS_MAX_S)
        return sec < 0 ? -TS_MAX_S * NS_PER_S : TS_MAX_S * NS_PER_S;
    return sec * NS_PER_S + frac;
}

/* A packet already decoded (res, pkt) into the run. */
static void handle_decoded(struct run *r, const struct pcap_pkthdr *h, enum fa_decode_result res,
                           const struct fa_packet *pkt)
{
    int64_t ts = packet_ns(h, r->ts_scale);

    r->totals.packets++;
    r->totals.bytes += h->len;
    /* Files named together may overlap in time: the earliest and the
     * latest stamps, not the first and the last read. */
    if (r->totals.packets == 1 || ts < r->totals.first_packet_ns)
        r->totals.first_packet_ns = ts;
    if (r->totals.packets == 1 || ts > r->totals.last_packet_ns)
        r->totals.last_packet_ns = ts;

    if (res != FA_DECODE_OK) {
        r->totals.decode_errors[res]++;
        return;
    }
    /* After the flow table, so that a stream named by this packet finds
     * its flow; and only while the flow is not yet named, which keeps
     * reassembly off most packets. */
    if (fa_flow_packet(r->flows, pkt, ts) && r->streams)
        fa_streams_packet(r->streams, pkt, ts);
    if (pkt->proto == FA_PROTO_UDP && pkt->has_ports && pkt->sport == 53)
        dns_response(r, pkt, ts);
}

static void handle_packet(struct run *r, const struct pcap_pkthdr *h, const uint8_t *data)
{
    struct fa_packet pkt;
    enum fa_decode_result res = fa_decode(r->dlt, data, h->caplen, h->len, r->decode_flags, &pkt);
    handle_decoded(r, h, res, &pkt);
}

/* A packet decoded in the read-ahead thread (predecode()). */
struct predecoded {
    enum fa_decode_result res;
    struct fa_packet pkt;
};

/* What decoding a handle's packets takes, copied out of the run for the
 * read-ahead thread, which so never reads the run this thread writes for
 * every packet.  The copy lives on this thread's stack for the read. */
struct decode_args {
    int dlt;
    unsigned flags;
};

/* Runs in the read-ahead thread: decoding is pure. */
static void predecode(void *ctx, const struct pcap_pkthdr *h, const u_char *data, void *extra)
{
    const struct decode_args *a = ctx;
    struct predecoded *d = extra;
    d->res = fa_decode(a->dlt, data, h->caplen, h->len, a->flags, &d->pkt);
}

static void on_named(void *ctx, const struct fa_tuple *t, const struct fa_app_info *info, int final)
{
    struct run *r = ctx;
    fa_flow_set_app(r->flows, t, (uint8_t)info->app, info->tls_version, info->server_name, final);
}

/* A DNS message a server sent over TCP: its answers, as a UDP one's. */
static void on_dns_tcp(void *ctx, const uint8_t *msg, size_t len, int64_t ts_ns)
{
    struct run *r = ctx;
    fa_names_dns(r->names, msg, len, ts_ns);
}

/* Makes handle p the one whose packets are decoded and handled next. */
static void use_handle(struct run *r, pcap_t *p)
{
    r->dlt = pcap_datalink(p);
    /* Files are opened asking for nanoseconds, which libpcap converts to;
     * a live handle may be left in microseconds (see open_live()). */
    r->ts_scale = pcap_get_tstamp_precision(p) == PCAP_TSTAMP_PRECISION_NANO ? 1 : 1000;
}

/* ------------------------------------------------------------------ */
/* Opening handles. */

static int apply_filter(pcap_t *p, const char *name, const char *filter)
{
    struct bpf_program prog;
    if (!filter)
        return 0;
    if (pcap_compile(p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
        fprintf(stderr, "flowaudit: %s: bad filter '%s': %s\n", name, filter, pcap_geterr(p));
        return -1;
    }
    int rc = pcap_setfilter(p, &prog);
    pcap_freecode(&prog);
    if (rc < 0) {
        fprintf(stderr, "flowaudit: %s: cannot set filter: %s\n", name, pcap_geterr(p));
        return -1;
    }
    return 0;
}

static int is_stdin(const char *path)
{
    return strcmp(path, "-") == 0;
}

static const char *source_name(const char *path)
{
    return is_stdin(path) ? "standard input" : path;
}

/* pcap_close() closes the stream, which uses buf to the end. */
static void close_source(struct source *src)
{
    if (src->pcap)
        pcap_close(src->pcap);
    free(src->buf);
    src->pcap = NULL;
    src->buf = NULL;
}

/* Opens path ("-": standard input) and lets libpcap read its header.  With
 * big_buffer the stream reads through READ_BUFFER_SIZE bytes: worth it for
 * reading a whole file, not for checking a header, where stdio would read
 * a whole buffer's worth of each file. */
static int open_source(const char *path, int big_buffer, struct source *src)
{
    char err[PCAP_ERRBUF_SIZE] = "";
    const char *name = source_name(path);
    FILE *fp = is_stdin(path) ? stdin : fopen(path, "rb");

    memset(src, 0, sizeof *src);
    if (!fp) {
        fprintf(stderr, "flowaudit: %s: cannot open: %s\n", name, strerror(errno));
        return -1;
    }
    /* glibc honours the size only with a caller's buffer. */
    if (big_buffer && (src->buf = malloc(READ_BUFFER_SIZE)))
        setvbuf(fp, src->buf, _IOFBF, READ_BUFFER_SIZE);
    /* One thread at a time reads the stream (the read-ahead thread, then
     * this one once it has stopped), so stdio need not lock it on each of
     * libpcap's two reads a packet, which it does once threads exist. */
    __fsetlocking(fp, FSETLOCKING_BYCALLER);
    src->pcap = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, err);
    if (!src->pcap) {
        fprintf(stderr, "flowaudit: %s: not a readable pcap or pcapng capture: %s\n", name, err);
        /* Standard input too: left open, the stream would keep pointing
         * to the buffer freed below.  Nothing reads it after this. */
        fclose(fp);
        free(src->buf);
        src->buf = NULL;
        return -1;
    }
    return 0;
}

/* Checks every file before anything is written, so a bad name, a file
 * that is not a capture or a filter that does not compile for a file's
 * link type fails the run before it starts.  Standard input is kept open
 * for its turn; at most one "-" can be read. */
static int check_files(struct run *r)
{
    const struct fa_capture_opts *o = r->o;
    int nstdin = 0;

    for (int i = 0; i < o->nfiles; i++)
        nstdin += is_stdin(o->files[i]);
    if (nstdin > 1) {
        fprintf(stderr, "flowaudit: standard input ('-') can be named only once\n");
        return -1;
    }
    for (int i = 0; i < o->nfiles; i++) {
        const char *path = o->files[i];
        struct source src;
        if (open_source(path, is_stdin(path), &src) < 0)
            return -1;
        if (apply_filter(src.pcap, source_name(path), o->filter) < 0) {
            close_source(&src);
            return -1;
        }
        if (is_stdin(path))
            r->stdin_src = src;
        else
            close_source(&src);
    }
    return 0;
}

static pcap_t *open_live(const char *iface)
{
    char err[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_create(iface, err);
    if (!p) {
        fprintf(stderr, "flowaudit: %s: %s\n", iface, err);
        return NULL;
    }
    pcap_set_snaplen(p, 262144);
    pcap_set_promisc(p, 1);
    pcap_set_timeout(p, BLOCK_TIMEOUT_MS);
    pcap_set_buffer_size(p, 32 << 20);
    /* Not every platform or driver stamps in nanoseconds: this may fail,
     * or the handle may end up in microseconds after activation.  Either
     * way use_handle() reads the precision the handle has and scales, and
     * nothing is lost: the store keeps microseconds. */
    pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);
    int rc = pcap_activate(p);
    if (rc < 0) {
        fprintf(stderr, "flowaudit: %s: cannot capture: %s%s\n", iface, pcap_geterr(p),
                rc == PCAP_ERROR_PERM_DENIED ? " (run as root or with CAP_NET_RAW)" : "");
        pcap_close(p);
        return NULL;
    }
    return p;
}

/* The user -Z names, looked up before anything is opened, so that a
 * mistyped name is reported as such and not as a capture error. */
struct user {
    uid_t uid;
    gid_t gid;
};

static int find_user(const char *name, struct user *u)
{
    struct passwd *pw = getpwnam(name);
    if (!pw) {
        fprintf(stderr, "flowaudit: -Z %s: no such user; name an existing user\n", name);
        return -1;
    }
    u->uid = pw->pw_uid;
    u->gid = pw->pw_gid;
    return 0;
}

/* Gives up root for user, as tcpdump's -Z does: supplementary groups (the
 * user's own), gid, then uid, which leaves no capability either. */
static int drop_privileges(const char *user, const struct user *u)
{
    if (initgroups(user, u->gid) < 0 || setgid(u->gid) < 0 || setuid(u->uid) < 0) {
        fprintf(stderr, "flowaudit: -Z %s: cannot change to that user: %s\n", user,
                strerror(errno));
        return -1;
    }
    return 0;
}

/* The live handle is opened with root's rights; everything after runs as
 * the user asked for, the database included. */
static int open_inputs(struct run *r)
{
    const struct fa_capture_opts *o = r->o;
    struct user u = {0, 0};
    if (!o->iface)
        return check_files(r);
    if (o->user && find_user(o->user, &u) < 0)
        return -1;
    if (!(r->live = open_live(o->iface)) || apply_filter(r->live, o->iface, o->filter) < 0)
        return -1;
    if (o->user && drop_privileges(o->user, &u) < 0)
        return -1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Reading files. */

/* Reads the next packet of p into the run: 1, or what pcap_next_ex()
 * returned at the end or on an error.  Through the read-ahead thread,
 * when there is one, the packet comes decoded. */
static int read_next(struct run *r, pcap_t *p)
{
    struct pcap_pkthdr *h;
    const u_char *data;
    int rc;

    if (r->ahead) {
        void *extra;
        rc = fa_readahead_next(r->ahead, &h, &data, &extra);
        if (rc == 1) {
            const struct predecoded *d = extra;
            handle_decoded(r, h, d->res, &d->pkt);
        }
        return rc;
    }
    rc = pcap_next_ex(p, &h, &data);
    if (rc == 1)
        handle_packet(r, h, data);
    return rc;
}

static int read_handle(struct run *r, pcap_t *p, const char *name)
{
    uint64_t kept = 0;
    int rc;

    use_handle(r, p);
    if (!fa_decode_link_supported(r->dlt))
        fprintf(stderr,
                "flowaudit: %s: link type %s (%d) is not decoded; its packets are counted as "
                "unsupported-link\n",
                name, pcap_datalink_val_to_name(r->dlt) ? pcap_datalink_val_to_name(r->dlt) : "?",
                r->dlt);
    FILE *fp = pcap_file(p);
    r->file_size = 0;
    struct stat sb;
    if (fp && fstat(fileno(fp), &sb) == 0 && S_ISREG(sb.st_mode))
        r->file_size = sb.st_size;
    /* A file is read ahead in a thread of its own; a pipe is not, as the
     * thread could not be stopped while it waits on the pipe, and the
     * pipe's writer sets the pace anyway.  Without the thread (a pipe, or
     * no thread to be had), packets are read here: slower, never wrong. */
    char err[PCAP_ERRBUF_SIZE];
    struct decode_args args = {r->dlt, r->decode_flags};
    r->ahead = r->file_size > 0
                   ? fa_readahead_start(p, sizeof(struct predecoded), predecode, &args, err)
                   : NULL;

    uint64_t until_check = PROGRESS_EVERY_PACKETS;
    while ((rc = read_next(r, p)) == 1) {
        /* Every record of this packet is queued: a batch handed over from
         * now on holds all it produced (see the opening comment). */
        r->totals.checkpoint_ns = r->totals.last_packet_ns;
        kept++;
        if (r->failed || stop_requested)
            break;
        if (--until_check == 0) {
            until_check = PROGRESS_EVERY_PACKETS;
            if (r->show_progress && mono_ns() >= r->next_progress_ns) {
                progress(r, 0);
                r->next_progress_ns = mono_ns() + 500000000LL;
            }
        }
    }
    if (r->ahead)
        fa_readahead_stop(r->ahead);
    r->ahead = NULL;
    if (r->failed)
        return -1;
    if (stop_requested) {
        /* A read that waits on a pipe may see the signal as a read error:
         * the signal is the reason either way. */
        fprintf(stderr,
                "flowaudit: %s: stopped by a signal after %llu packets; the flows they made are "
                "recorded, the rest of the capture was not read\n",
                name, (unsigned long long)kept);
        return -1;
    }
    if (rc != PCAP_ERROR)
        return 0;
    /* libpcap stopped before the end.  At the end of the file, the last
     * record was cut short (its writer was killed, a copy stopped): the
     * packets before it are good and the file has nothing more, so it is
     * read as far as it goes, with a warning (status 0).  Anywhere else a
     * record could not be read (a length no capture has, a packet on an
     * interface never described, a block libpcap cannot parse): the rest
     * of the file is beyond reach, and a capture read only in part must
     * not pass for a whole one, so it is an error (status 2) that stops
     * the run; what was read before it is recorded all the same. */
    if (pcap_file(p) && feof(pcap_file(p)) && !ferror(pcap_file(p))) {
        fprintf(stderr, "flowaudit: %s: truncated capture: kept its first %llu packets (%s)\n",
                name, (unsigned long long)kept, pcap_geterr(p));
        return 0;
    }
    fprintf(stderr,
            "flowaudit: %s: unreadable record after packet %llu: %s; the packets before it are "
            "recorded, the rest of the capture was not read\n",
            name, (unsigned long long)kept, pcap_geterr(p));
    return -1;
}

/* One file at a time: open, read, close, so neither descriptors nor read
 * buffers pile up with the number of files. */
static int read_files(struct run *r)
{
    const struct fa_capture_opts *o = r->o;
    for (int i = 0; i < o->nfiles; i++) {
        const char *path = o->files[i];
        int rc;
        r->file = path;
        if (is_stdin(path)) {
            rc = read_handle(r, r->stdin_src.pcap, source_name(path));
            close_source(&r->stdin_src);
        } else {
            struct source src;
            /* Checked already; this fails only if the file changed since. */
            if (open_source(path, 1, &src) < 0)
                return -1;
            rc = apply_filter(src.pcap, path, o->filter);
            if (rc == 0)
                rc = read_handle(r, src.pcap, path);
            close_source(&src);
        }
        if (rc < 0)
            return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Live capture. */

static void on_stop_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void install_stop_handlers(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static void live_callback(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
    handle_packet((struct run *)user, h, data);
}

static void record_pcap_stats(struct run *r, pcap_t *p)
{
    struct pcap_stat ps;
    if (pcap_stats(p, &ps) == 0) {
        r->totals.has_pcap_stats = 1;
        r->totals.received = ps.ps_recv;
        r->totals.dropped = ps.ps_drop;
        r->totals.if_dropped = ps.ps_ifdrop;
    }
}

/* Checkpoint rounds.  Writing every live flow at once would stop reading
 * for as long as that takes (seconds, for a million flows), and the
 * kernel drops what does not fit its buffer meanwhile.  So a round sends
 * at most one writer batch per pass of the capture loop, and the loop
 * does not wait in poll() while a round is open.  When the round is over
 * its last records and the totals are committed, and the next round
 * starts checkpoint_s after this one started (at once, if this one took
 * longer).  A flow still open is so written at least every checkpoint_s
 * plus the length of a round: a few passes of the loop. */
struct checkpoints {
    int64_t period_ns;
    int64_t next_ns;   /* when the next round starts */
    int64_t start_ns;  /* when the open round started */
    int64_t packet_ns; /* the run's last packet time when it started */
    int open;
};

/* Returns whether a round is still open after this pass. */
static int live_checkpoint(struct run *r, pcap_t *p, struct checkpoints *c, int64_t now)
{
    if (!c->open && now >= c->next_ns) {
        c->open = 1;
        c->start_ns = now;
        c->packet_ns = r->totals.last_packet_ns;
    }
    if (!c->open)
        return 0;
    if (fa_flow_checkpoint(r->flows, FA_WRITER_BATCH) == FA_WRITER_BATCH)
        return 1;
    c->open = 0;
    c->next_ns = c->start_ns + c->period_ns;
    record_pcap_stats(r, p);
    /* Only the round's last commit may claim the round: the batches sent
     * before it carry the previous checkpoint. */
    r->totals.checkpoint_ns = c->packet_ns;
    flush_progress(r);
    return 0;
}

/* libpcap's own timeout does not fire on a silent Linux interface
 * (TPACKET_V3), so the loop waits in poll() and reads without blocking. */
static int live_fd(struct run *r, pcap_t *p)
{
    char err[PCAP_ERRBUF_SIZE] = "";
    int fd = pcap_get_selectable_fd(p);
    if (fd < 0) {
        fprintf(stderr, "flowaudit: %s: cannot poll the capture handle: it has no descriptor\n",
                r->o->iface);
        return -1;
    }
    if (pcap_setnonblock(p, 1, err) < 0) {
        fprintf(stderr, "flowaudit: %s: cannot make the capture handle non-blocking: %s\n",
                r->o->iface, err);
        return -1;
    }
    return fd;
}

/* Reads what the handle holds, up to DISPATCH_BATCH packets and no more
 * than -c allows.  Returns 0, or -1 after printing the error. */
static int read_live(struct run *r, pcap_t *p)
{
    const struct fa_capture_opts *o = r->o;
    int batch = DISPATCH_BATCH;
    if (o->count && o->count - r->totals.packets < (uint64_t)batch)
        batch = (int)(o->count - r->totals.packets);
    if (batch > 0 && pcap_dispatch(p, batch, live_callback, (u_char *)r) == PCAP_ERROR) {
        fprintf(stderr, "flowaudit: %s: capture failed: %s\n", o->iface, pcap_geterr(p));
        return -1;
    }
    return 0;
}

/* Stopping (a signal, or --duration): the packets the kernel stamped
 * before are read first.  Linux hands a partly filled block of the ring
 * over only when its timer, the handle's timeout (BLOCK_TIMEOUT_MS),
 * expires, so the last packets before a stop can wait that long: read
 * for twice that, then stop. */
static int drain_live(struct run *r, pcap_t *p, int fd)
{
    int64_t until = mono_ns() + 2LL * BLOCK_TIMEOUT_MS * 1000000LL;
    int64_t left_ms;
    while (!r->failed && (left_ms = (until - mono_ns()) / 1000000) > 0) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        poll(&pfd, 1, (int)left_ms);
        if (read_live(r, p) < 0)
            return -1;
    }
    return 0;
}

static int capture_live(struct run *r, pcap_t *p)
{
    const struct fa_capture_opts *o = r->o;
    int64_t start = mono_ns();
    int64_t capture_start_ns = wall_ns();
    struct checkpoints ckpt = {
        .period_ns = o->checkpoint_s * NS_PER_S,
        .next_ns = start + o->checkpoint_s * NS_PER_S,
    };
    int busy = 0;      /* a checkpoint round is open: do not wait for packets */
    int timed_out = 0; /* --duration has passed */

    use_handle(r, p);
    if (!fa_decode_link_supported(r->dlt))
        fprintf(stderr, "flowaudit: %s: link type %d is not decoded\n", o->iface, r->dlt);
    int fd = live_fd(r, p);
    if (fd < 0)
        return -1;
    while (!stop_requested && !r->failed) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        poll(&pfd, 1, busy ? 0 : POLL_MS); /* EINTR from a stop signal is a normal wake-up */
        if (read_live(r, p) < 0)
            return -1;
        int64_t now = mono_ns();
        /* A quiet wire still moves time on, so idle flows end. */
        fa_flow_expire(r->flows, capture_start_ns + (now - start));
        if (o->count && r->totals.packets >= o->count)
            break;
        if (o->duration_s && now - start >= o->duration_s * NS_PER_S) {
            timed_out = 1;
            break;
        }
        busy = live_checkpoint(r, p, &ckpt, now);
        if (r->show_progress && now >= r->next_progress_ns) {
            progress(r, 0);
            r->next_progress_ns = now + 500000000LL;
        }
    }
    if ((stop_requested || timed_out) && drain_live(r, p, fd) < 0)
        return -1;
    record_pcap_stats(r, p);
    return r->failed ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* The run. */

static char *join_sources(const struct fa_capture_opts *o)
{
    if (o->iface)
        return strdup(o->iface);
    size_t n = 1;
    for (int i = 0; i < o->nfiles; i++)
        n += strlen(o->files[i]) + 1;
    char *s = malloc(n);
    if (!s)
        return NULL;
    s[0] = '\0';
    for (int i = 0; i < o->nfiles; i++) {
        if (i)
            strcat(s, " ");
        strcat(s, o->files[i]);
    }
    return s;
}

static int begin_run(struct run *r)
{
    char host[256] = "";
    char *source = join_sources(r->o);
    gethostname(host, sizeof host - 1);
    struct fa_run_info info = {
        .mode = r->o->iface ? "capture" : "read",
        .source = source ? source : "",
        .filter = r->o->filter,
        .sensor = host,
        .version = FA_VERSION,
        .started_ns = wall_ns(),
    };
    r->run_id = fa_store_begin_run(r->store, &info, r->errbuf);
    free(source);
    return r->run_id < 0 ? -1 : 0;
}

/* The database, the flow table, the run's row and the writer. */
static int open_store(struct run *r)
{
    char ferr[FA_ERRBUF_SIZE];
    r->store = fa_store_open(r->o->db_path, FA_STORE_CREATE, r->errbuf);
    if (!r->store) {
        /* The likely cause, with -Z, is that the user may not write there. */
        if (r->o->user)
            fprintf(stderr,
                    "flowaudit: %s; capture -Z runs as %s by then: let that user write the "
                    "database and its folder\n",
                    r->errbuf, r->o->user);
        else
            fprintf(stderr, "flowaudit: %s\n", r->errbuf);
        return -1;
    }
    /* Before the flow table, whose sink looks names up. */
    if (!(r->names = fa_names_new(FA_NAMES_DEFAULT_MAX))) {
        fprintf(stderr, "flowaudit: out of memory for the DNS names table\n");
        return -1;
    }
    r->flows = fa_flow_table_new(&r->o->flow, store_flow, r, ferr);
    if (!r->flows) {
        fprintf(stderr, "flowaudit: %s\n", ferr);
        return -1;
    }
    if (r->o->names) {
        char serr[FA_STREAMS_ERRBUF_SIZE];
        r->streams = fa_streams_new(r->o->name_bytes, r->o->verify_checksums, on_named, r, serr);
        if (!r->streams) {
            fprintf(stderr, "flowaudit: %s\n", serr);
            return -1;
        }
        fa_streams_on_dns(r->streams, on_dns_tcp, r);
    }
    if (begin_run(r) < 0 || !(r->writer = fa_writer_start(r->store, r->errbuf))) {
        fprintf(stderr, "flowaudit: %s\n", r->errbuf);
        return -1;
    }
    return 0;
}

/* Writing the names table: FA_STORE_ROWS_A_STATEMENT rows to a statement,
 * and a commit every FA_WRITER_BATCH rows, so the write lock is held no
 * longer than for a batch of flows.  The rows point into the names table,
 * which does not change until the run is written. */
struct name_writer {
    struct run *r;
    size_t in_batch;
    struct fa_name_row rows[FA_STORE_ROWS_A_STATEMENT];
    size_t n;
};

static int flush_names(struct name_writer *w)
{
    size_t n = w->n;
    w->n = 0;
    return n ? fa_store_put_names(w->r->store, w->rows, n, w->r->errbuf) : 0;
}

static int put_name(void *ctx, const char *name, const struct fa_addr *addr, int64_t first_ns,
                    int64_t last_ns)
{
    struct name_writer *w = ctx;
    struct fa_store *s = w->r->store;
    char *err = w->r->errbuf;

    if (w->in_batch == FA_WRITER_BATCH) {
        if (flush_names(w) < 0 || fa_store_commit(s, err) < 0 || fa_store_begin(s, err) < 0)
            return -1;
        w->in_batch = 0;
    }
    w->in_batch++;
    w->rows[w->n++] = (struct fa_name_row){name, addr, first_ns, last_ns};
    return w->n == FA_STORE_ROWS_A_STATEMENT ? flush_names(w) : 0;
}

/* The names as store_names() writes them: sorted by name, the first
 * column of the names table's key after the run, so that SQLite appends
 * to its b-tree rather than inserting all over it.  Within a name they
 * follow the address's bytes, not its text as the key does; a name has
 * few addresses, so that costs next to nothing. */
struct name_rows {
    struct fa_name_row *v;
    size_t n, size;
    int unsorted; /* out of memory to sort them: written in the table's own order */
};

static int collect_name(void *ctx, const char *name, const struct fa_addr *addr, int64_t first_ns,
                        int64_t last_ns)
{
    struct name_rows *rows = ctx;
    if (rows->n == rows->size) {
        size_t size = rows->size ? rows->size * 2 : 1024;
        struct fa_name_row *v = realloc(rows->v, size * sizeof *v);
        if (!v)
            return -1;
        rows->v = v;
        rows->size = size;
    }
    rows->v[rows->n++] = (struct fa_name_row){name, addr, first_ns, last_ns};
    return 0;
}

static int compare_name_rows(const void *a, const void *b)
{
    const struct fa_name_row *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    return c ? c : memcmp(x->addr->b, y->addr->b, sizeof x->addr->b);
}

static void sort_names(struct run *r, struct name_rows *rows)
{
    if (fa_names_each(r->names, collect_name, rows) != 0) {
        free(rows->v);
        *rows = (struct name_rows){.unsorted = 1};
        return;
    }
    if (rows->n) /* rows->v is NULL then, which qsort() must not be given */
        qsort(rows->v, rows->n, sizeof *rows->v, compare_name_rows);
}

static int put_names(struct run *r, const struct name_rows *rows)
{
    struct name_writer w = {.r = r};
    int rc = 0;
    if (rows->unsorted)
        rc = fa_names_each(r->names, put_name, &w);
    for (size_t i = 0; i < rows->n && rc == 0; i++)
        rc =
            put_name(&w, rows->v[i].name, rows->v[i].addr, rows->v[i].first_ns, rows->v[i].last_ns);
    return rc ? -1 : flush_names(&w);
}

/* The writer thread has stopped, so the store is this thread's again.
 * The final totals go in the last transaction: the run is ended only once
 * its names are in. */
static int store_names(struct run *r, const struct name_rows *rows)
{
    if (fa_store_begin(r->store, r->errbuf) < 0)
        return -1;
    if (put_names(r, rows) != 0 || fa_store_put_totals(r->store, &r->totals, r->errbuf) < 0 ||
        fa_store_commit(r->store, r->errbuf) < 0) {
        fa_store_rollback(r->store);
        return -1;
    }
    return 0;
}

/* One line, however many flows: an evicted flow is recorded in pieces (its
 * later packets start a new flow, whose history and state begin in the
 * middle), which the audit then reads.  That is about the data, not the
 * progress, so -q does not silence it, as it does not silence a capture
 * cut short. */
static void warn_evicted(const struct run *r)
{
    uint64_t n = r->totals.evicted;
    if (n == 0)
        return;
    fprintf(stderr,
            "flowaudit: %llu flow%s written early because the flow table was full "
            "(--max-flows %llu); raise --max-flows to keep them whole\n",
            (unsigned long long)n, n == 1 ? " was" : "s were",
            (unsigned long long)r->o->flow.max_flows);
}

/* Whatever happened while reading, what was recorded is written: every
 * flow still in memory, the DNS answers and the final totals.  Stops the
 * writer. */
static int finish_run(struct run *r)
{
    /* Streams first: ending libnids may still name a flow, or give a DNS
     * answer. */
    fa_streams_free(r->streams);
    r->streams = NULL;
    /* The names are final now, and are sorted while the writer thread
     * still writes the flows it was handed. */
    struct name_rows rows = {0};
    sort_names(r, &rows);
    fa_flow_flush(r->flows);
    fill_totals(r);
    r->totals.checkpoint_ns = r->totals.last_packet_ns;
    /* ended_ns stays 0 here: the writer commits the flows, store_names()
     * ends the run. */
    int stopped = fa_writer_stop(r->writer, &r->totals, r->errbuf);
    r->writer = NULL;
    if (stopped < 0 || r->failed) {
        free(rows.v);
        fprintf(stderr, "flowaudit: %s\n", r->errbuf);
        return -1;
    }
    r->totals.ended_ns = wall_ns();
    int stored = store_names(r, &rows);
    free(rows.v);
    if (stored < 0) {
        fprintf(stderr, "flowaudit: %s\n", r->errbuf);
        return -1;
    }
    warn_evicted(r);
    struct fa_names_stats ns = fa_names_stats(r->names);
    /* Like warn_evicted(), these say what the records lack: -q, which
     * silences progress, does not silence them. */
    if (ns.dropped)
        fprintf(stderr,
                "flowaudit: the DNS names table was full: %llu names seen least recently were "
                "dropped (it keeps %d, %d per address)\n",
                (unsigned long long)ns.dropped, FA_NAMES_DEFAULT_MAX, FA_NAMES_PER_ADDR);
    if (ns.nomem)
        fprintf(stderr,
                "flowaudit: out of memory for %llu DNS answers; the names table and the flows' "
                "dns_name lack them\n",
                (unsigned long long)ns.nomem);
    if (r->totals.dropped)
        fprintf(stderr, "flowaudit: %s: the kernel dropped %llu packets\n", r->o->iface,
                (unsigned long long)r->totals.dropped);
    return 0;
}

/* Reads every input into the run; returns the exit status. */
static int record(struct run *r)
{
    int status = 0;
    /* SIGINT and SIGTERM end a read or a capture as its end would, so
     * nothing already seen is lost (a read so stopped exits with 2). */
    install_stop_handlers();
    if (r->o->iface) {
        if (capture_live(r, r->live) < 0)
            status = 2;
    } else if (read_files(r) < 0) {
        status = 2;
    }
    if (r->show_progress)
        progress(r, 1);
    if (finish_run(r) < 0)
        status = 2;
    return status;
}

/* Every free function here accepts what was never opened. */
static void close_run(struct run *r)
{
    fa_streams_free(r->streams);
    fa_flow_table_free(r->flows);
    fa_names_free(r->names);
    fa_store_close(r->store);
    if (r->live)
        pcap_close(r->live);
    close_source(&r->stdin_src);
}

int fa_capture_run(const struct fa_capture_opts *o, int64_t *run_id)
{
    struct run r;
    int status = 2;

    memset(&r, 0, sizeof r);
    r.o = o;
    r.decode_flags = o->verify_checksums ? FA_DECODE_VERIFY_CHECKSUMS : 0;
    r.show_progress = !o->quiet && isatty(STDERR_FILENO);

    if (open_inputs(&r) == 0 && open_store(&r) == 0)
        status = record(&r);
    close_run(&r);
    if (run_id)
        *run_id = r.run_id > 0 ? r.run_id : 0;
    return status;
}
