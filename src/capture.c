/*
 * capture.c - run `read` and `capture`: libpcap -> decode -> flow table ->
 * store.
 *
 * Invariants:
 *   - every frame libpcap hands over is counted once: as a packet given to
 *     the flow table, or under the decoder's reason for skipping it;
 *   - flows go to the writer thread as they end; it commits in batches
 *     (and, live, at every checkpoint), so nothing is written per packet
 *     and a crash loses at most one batch;
 *   - the run's row is finished (ended set) only when every flow and the
 *     totals were committed; an error stops the run with status 2 after
 *     committing what was already recorded.
 */
#include "capture.h"

#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pcap/pcap.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "decode.h"
#include "store.h"
#include "writer.h"

#define PROGRESS_EVERY_PACKETS 65536
/* Large reads: the default stdio buffer costs a system call per 4 KiB. */
#define READ_BUFFER_SIZE (1 << 20)

/* Set by SIGINT and SIGTERM; the capture loop polls with a timeout, so it
 * sees the flag within POLL_MS even on a silent interface. */
static volatile sig_atomic_t stop_requested;
#define POLL_MS 250
#define DISPATCH_BATCH 512

struct run {
    const struct fa_capture_opts *o;
    struct fa_store *store;
    struct fa_flow_table *flows;
    struct fa_writer *writer;
    struct fa_run_totals totals;
    unsigned decode_flags;
    int failed; /* a store write failed: stop reading */
    char errbuf[FA_STORE_ERRBUF_SIZE];
    /* progress */
    int show_progress;
    int64_t next_progress_ns;
    const char *file;
    int file_index;
    off_t file_size;
    FILE *file_fp;
};

static int64_t wall_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

void fa_capture_opts_defaults(struct fa_capture_opts *o)
{
    memset(o, 0, sizeof *o);
    o->db_path = "flowaudit.db";
    o->checkpoint_s = 60;
    fa_flow_config_defaults(&o->flow);
}

/* ------------------------------------------------------------------ */
/* Store side. */

/* Checkpoints and final records take the same path: the store updates a
 * flow it has seen before. */
static void store_flow(void *ctx, const struct fa_flow_record *rec, int is_final)
{
    struct run *r = ctx;
    (void)is_final;
    if (!r->failed && fa_writer_put(r->writer, rec) < 0)
        r->failed = 1;
}

static void fill_totals(struct run *r)
{
    const struct fa_flow_stats *st = fa_flow_table_stats(r->flows);
    r->totals.flows = st->flows;
    r->totals.evicted = st->evicted;
    r->totals.orphan_fragments = st->orphan_fragments;
}

/* Commits the flows written so far and the totals as they stand. */
static int commit_progress(struct run *r)
{
    if (r->failed)
        return -1;
    fill_totals(r);
    if (fa_writer_commit(r->writer, &r->totals, r->errbuf) < 0) {
        r->failed = 1;
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Per packet. */

static void progress(struct run *r, int final)
{
    const struct fa_flow_stats *st = fa_flow_table_stats(r->flows);
    char where[64] = "";
    if (r->file_fp && r->file_size > 0) {
        long pos = ftell(r->file_fp);
        if (pos >= 0)
            snprintf(where, sizeof where, " %3d%%", (int)(100.0 * pos / r->file_size));
    }
    fprintf(stderr, "\rflowaudit: %s%s  %llu packets  %llu flows  %llu active   ",
            r->file ? r->file : r->o->iface, where, (unsigned long long)r->totals.packets,
            (unsigned long long)st->flows, (unsigned long long)st->active);
    if (final)
        fputc('\n', stderr);
}

static void handle_packet(struct run *r, int dlt, const struct pcap_pkthdr *h, const uint8_t *data)
{
    int64_t ts = (int64_t)h->ts.tv_sec * 1000000000LL + h->ts.tv_usec; /* nanosecond handles */
    struct fa_packet pkt;

    r->totals.packets++;
    r->totals.bytes += h->len;
    if (r->totals.first_packet_ns == 0)
        r->totals.first_packet_ns = ts;
    if (ts > r->totals.last_packet_ns)
        r->totals.last_packet_ns = ts;

    enum fa_decode_result res = fa_decode(dlt, data, h->caplen, h->len, r->decode_flags, &pkt);
    if (res != FA_DECODE_OK) {
        r->totals.decode_errors[res]++;
        return;
    }
    fa_flow_packet(r->flows, &pkt, ts);
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

/* A capture file, read through a large stdio buffer of its own: the
 * default one costs a system call per 4 KiB. */
struct source {
    pcap_t *pcap;
    char *buf;
};

static int open_file(const char *path, struct source *src)
{
    char err[PCAP_ERRBUF_SIZE] = "";
    int is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "standard input" : path;
    FILE *fp = is_stdin ? stdin : fopen(path, "rb");
    if (!fp) {
        fprintf(stderr, "flowaudit: %s: cannot open: %s\n", name, strerror(errno));
        return -1;
    }
    /* glibc honours the size only with a caller's buffer. */
    src->buf = malloc(READ_BUFFER_SIZE);
    if (src->buf)
        setvbuf(fp, src->buf, _IOFBF, READ_BUFFER_SIZE);
    src->pcap = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_NANO, err);
    if (!src->pcap) {
        fprintf(stderr, "flowaudit: %s: not a readable pcap or pcapng capture: %s\n", name, err);
        if (!is_stdin)
            fclose(fp);
        return -1;
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
    pcap_set_timeout(p, 250);
    pcap_set_buffer_size(p, 32 << 20);
    pcap_set_tstamp_precision(p, PCAP_TSTAMP_PRECISION_NANO);
    int rc = pcap_activate(p);
    if (rc == PCAP_ERROR_NO_SUCH_DEVICE || rc == PCAP_ERROR_PERM_DENIED || rc < 0) {
        fprintf(stderr, "flowaudit: %s: cannot capture: %s%s\n", iface, pcap_geterr(p),
                rc == PCAP_ERROR_PERM_DENIED ? " (run as root or with CAP_NET_RAW)" : "");
        pcap_close(p);
        return NULL;
    }
    /* Nanosecond stamps are not available everywhere; fall back quietly. */
    if (pcap_get_tstamp_precision(p) != PCAP_TSTAMP_PRECISION_NANO)
        fprintf(stderr, "flowaudit: %s: microsecond timestamps only\n", iface);
    return p;
}

/* Gives up root for user, as tcpdump's -Z does: groups, gid, then uid. */
static int drop_privileges(const char *user)
{
    struct passwd *pw = getpwnam(user);
    if (!pw) {
        fprintf(stderr, "flowaudit: -Z %s: no such user\n", user);
        return -1;
    }
    if (initgroups(pw->pw_name, pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
        setuid(pw->pw_uid) < 0) {
        fprintf(stderr, "flowaudit: -Z %s: cannot change to that user: %s\n", user,
                strerror(errno));
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Reading files. */

static void close_files(struct source *files, int n)
{
    if (!files)
        return;
    for (int i = 0; i < n; i++) {
        /* pcap_close closes the stream, which uses buf to the end. */
        if (files[i].pcap)
            pcap_close(files[i].pcap);
        free(files[i].buf);
    }
    free(files);
}

static int read_one(struct run *r, pcap_t *p, const char *name)
{
    struct pcap_pkthdr *h;
    const u_char *data;
    int dlt = pcap_datalink(p);
    int rc;

    if (!fa_decode_link_supported(dlt))
        fprintf(stderr,
                "flowaudit: %s: link type %s (%d) is not decoded; its packets are counted as "
                "unsupported-link\n",
                name, pcap_datalink_val_to_name(dlt) ? pcap_datalink_val_to_name(dlt) : "?", dlt);
    r->file_fp = pcap_file(p);
    r->file_size = 0;
    struct stat sb;
    if (r->file_fp && fstat(fileno(r->file_fp), &sb) == 0 && S_ISREG(sb.st_mode))
        r->file_size = sb.st_size;

    uint64_t until_check = PROGRESS_EVERY_PACKETS;
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
        handle_packet(r, dlt, h, data);
        if (r->failed)
            return -1;
        if (--until_check == 0) {
            until_check = PROGRESS_EVERY_PACKETS;
            if (r->show_progress && mono_ns() >= r->next_progress_ns) {
                progress(r, 0);
                r->next_progress_ns = mono_ns() + 500000000LL;
            }
        }
    }
    if (rc == PCAP_ERROR)
        /* A capture cut short (the writer was killed) still holds good
         * packets; keep them and say where the file ended. */
        fprintf(stderr, "flowaudit: %s: %s; kept the packets before it\n", name, pcap_geterr(p));
    return 0;
}

/* Opens every file before anything is written, so a bad name fails the
 * run before it starts. */
static struct source *open_files(const struct fa_capture_opts *o)
{
    struct source *files = calloc((size_t)o->nfiles, sizeof *files);
    if (!files) {
        fprintf(stderr, "flowaudit: out of memory\n");
        return NULL;
    }
    for (int i = 0; i < o->nfiles; i++) {
        if (open_file(o->files[i], &files[i]) < 0 ||
            apply_filter(files[i].pcap, o->files[i], o->filter) < 0) {
            close_files(files, o->nfiles);
            return NULL;
        }
    }
    return files;
}

static int read_files(struct run *r, struct source *files)
{
    for (int i = 0; i < r->o->nfiles; i++) {
        r->file = r->o->files[i];
        r->file_index = i;
        if (read_one(r, files[i].pcap, r->o->files[i]) < 0)
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

static void live_callback(u_char *user, const struct pcap_pkthdr *h, const u_char *data)
{
    struct run *r = (struct run *)user;
    handle_packet(r, r->file_index, h, data);
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

static int capture_live(struct run *r, pcap_t *p)
{
    const struct fa_capture_opts *o = r->o;
    int64_t start = mono_ns();
    int64_t next_checkpoint = start + o->checkpoint_s * 1000000000LL;
    int64_t capture_start_ns = wall_ns();

    r->file_index = pcap_datalink(p); /* live_callback's link type */
    if (!fa_decode_link_supported(r->file_index))
        fprintf(stderr, "flowaudit: %s: link type %d is not decoded\n", o->iface, r->file_index);

    /* libpcap's own timeout does not fire on a silent Linux interface
     * (TPACKET_V3), so the loop waits in poll() and reads without blocking. */
    char err[PCAP_ERRBUF_SIZE];
    int fd = pcap_get_selectable_fd(p);
    if (fd < 0 || pcap_setnonblock(p, 1, err) < 0) {
        fprintf(stderr, "flowaudit: %s: cannot poll the capture handle\n", o->iface);
        return -1;
    }
    while (!stop_requested && !r->failed) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        poll(&pfd, 1, POLL_MS); /* EINTR from a stop signal is a normal wake-up */
        int batch = DISPATCH_BATCH;
        if (o->count && o->count - r->totals.packets < (uint64_t)batch)
            batch = (int)(o->count - r->totals.packets);
        int n = pcap_dispatch(p, batch, live_callback, (u_char *)r);
        if (n == PCAP_ERROR) {
            fprintf(stderr, "flowaudit: %s: capture failed: %s\n", o->iface, pcap_geterr(p));
            return -1;
        }
        int64_t now = mono_ns();
        /* A quiet wire still moves time on, so idle flows end. */
        fa_flow_expire(r->flows, capture_start_ns + (now - start));
        if (o->count && r->totals.packets >= o->count)
            break;
        if (o->duration_s && now - start >= o->duration_s * 1000000000LL)
            break;
        if (now >= next_checkpoint) {
            fa_flow_checkpoint(r->flows);
            record_pcap_stats(r, p);
            if (commit_progress(r) < 0)
                break;
            next_checkpoint = now + o->checkpoint_s * 1000000000LL;
        }
        if (r->show_progress && now >= r->next_progress_ns) {
            progress(r, 0);
            r->next_progress_ns = now + 500000000LL;
        }
    }
    record_pcap_stats(r, p);
    return r->failed ? -1 : 0;
}

/* ------------------------------------------------------------------ */

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
    int64_t id = fa_store_begin_run(r->store, &info, r->errbuf);
    free(source);
    return id < 0 ? -1 : 0;
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

int fa_capture_run(const struct fa_capture_opts *o)
{
    struct run r;
    char ferr[FA_ERRBUF_SIZE];
    pcap_t *live = NULL;
    struct source *files = NULL;
    int status = 0;

    memset(&r, 0, sizeof r);
    r.o = o;
    r.decode_flags = o->verify_checksums ? FA_DECODE_VERIFY_CHECKSUMS : 0;
    r.show_progress = !o->quiet && isatty(STDERR_FILENO);

    if (o->iface) {
        /* The handle is opened with root's rights; everything after runs
         * as the user asked for, the database included. */
        if (!(live = open_live(o->iface)) || apply_filter(live, o->iface, o->filter) < 0)
            goto fail_early;
        if (o->user && drop_privileges(o->user) < 0)
            goto fail_early;
    } else if (!(files = open_files(o))) {
        goto fail_early;
    }
    r.store = fa_store_open(o->db_path, 0, r.errbuf);
    if (!r.store) {
        fprintf(stderr, "flowaudit: %s\n", r.errbuf);
        goto fail_early;
    }
    r.flows = fa_flow_table_new(&o->flow, store_flow, &r, ferr);
    if (!r.flows) {
        fprintf(stderr, "flowaudit: %s\n", ferr);
        fa_store_close(r.store);
        goto fail_early;
    }
    if (begin_run(&r) < 0 || !(r.writer = fa_writer_start(r.store, r.errbuf))) {
        fprintf(stderr, "flowaudit: %s\n", r.errbuf);
        status = 2;
        goto out;
    }

    if (o->iface) {
        install_stop_handlers();
        if (capture_live(&r, live) < 0)
            status = 2;
    } else if (read_files(&r, files) < 0) {
        status = 2;
    }
    if (r.show_progress)
        progress(&r, 1);

    /* Whatever happened, what was recorded is written. */
    fa_flow_flush(r.flows);
    r.totals.ended_ns = wall_ns();
    fill_totals(&r);
    if (fa_writer_stop(r.writer, &r.totals, r.errbuf) < 0)
        r.failed = 1;
    if (r.failed) {
        fprintf(stderr, "flowaudit: %s\n", r.errbuf);
        status = 2;
    } else if (r.totals.dropped && !o->quiet)
        fprintf(stderr, "flowaudit: %s: the kernel dropped %llu packets\n", o->iface,
                (unsigned long long)r.totals.dropped);
out:
    fa_flow_table_free(r.flows);
    fa_store_close(r.store);
    if (live)
        pcap_close(live);
    close_files(files, o->nfiles);
    return status;

fail_early:
    if (live)
        pcap_close(live);
    close_files(files, o->nfiles);
    return 2;
}
