/*
 * test_streams.c - stream naming: the sample captures name exactly the
 * streams they should, IPv4 through libnids and IPv6 through the in-order
 * reassembly; one fa_streams at a time; the limit; DNS answers read from
 * TCP streams into the names table; and hostile segment sequences (gaps,
 * overlaps, retransmissions, huge sequence jumps, random bytes, DNS
 * lengths that lie) that must neither crash nor overread (run under ASan
 * too).
 *
 * Usage: test_streams SAMPLES_DIR
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <pcap.h>

#include "flow.h"
#include "names.h"
#include "streams.h"

#define SEC 1000000000LL
#define T0 (1700000000LL * SEC)
#define MAX_NAMED 64

static const char *samples_dir;

struct named {
    struct fa_tuple t;
    struct fa_app_info info;
};

struct seen {
    struct named v[MAX_NAMED];
    int n;
    int early; /* reports before the stream was decided (final 0): DNS ones */
};

/* Streams decided without an app are reported too, so the caller can stop
 * sending their packets; the tests count only the named ones, and apart
 * the reports of a stream named but still read. */
static void on_named(void *ctx, const struct fa_tuple *t, const struct fa_app_info *info, int final)
{
    struct seen *s = ctx;
    if (!final) {
        assert_int_equal(info->app, FA_APP_DNS);
        s->early++;
        return;
    }
    if (info->app == FA_APP_UNKNOWN)
        return;
    if (s->n < MAX_NAMED) {
        s->v[s->n].t = *t;
        s->v[s->n].info = *info;
    }
    s->n++;
}

static struct fa_addr addr(const char *text)
{
    struct fa_addr a;
    assert_int_not_equal(fa_addr_parse(text, &a), 0);
    return a;
}

/* Exactly one report of client -> server:port, with these contents. */
static void assert_named(const struct seen *s, const char *client, const char *server,
                         uint16_t port, enum fa_app app, const char *name, uint16_t tls)
{
    struct fa_addr c = addr(client), sv = addr(server);
    const struct named *hit = NULL;
    int hits = 0;

    for (int i = 0; i < s->n && i < MAX_NAMED; i++) {
        const struct named *e = &s->v[i];
        if (e->t.dport == port && !memcmp(&e->t.src, &c, sizeof c) &&
            !memcmp(&e->t.dst, &sv, sizeof sv)) {
            hit = e;
            hits++;
        }
    }
    if (hits != 1)
        fail_msg("%s -> %s:%u reported %d times", client, server, port, hits);
    assert_int_equal(hit->t.proto, FA_PROTO_TCP);
    assert_int_equal(hit->t.has_ports, 1);
    assert_int_equal(hit->info.app, app);
    assert_string_equal(hit->info.server_name, name);
    assert_int_equal(hit->info.tls_version, tls);
}

/* The fa_streams under test, freed by the teardown when a test fails. */
static struct fa_streams *live;

static struct fa_streams *start(size_t limit, int verify, struct seen *s)
{
    char err[FA_STREAMS_ERRBUF_SIZE];
    live = fa_streams_new(limit, verify, on_named, s, err);
    if (!live)
        fail_msg("%s", err);
    return live;
}

static void stop(void)
{
    fa_streams_free(live);
    live = NULL;
}

static int teardown(void **state)
{
    (void)state;
    stop();
    return 0;
}

static void feed(struct fa_streams *st, const struct fa_packet *p, int64_t ts)
{
    /* What the capture loop hands over. */
    if (p->proto == FA_PROTO_TCP || (p->ip_version == 4 && p->is_fragment))
        fa_streams_packet(st, p, ts);
}

static void read_sample(const char *file, size_t limit, int verify, struct seen *s)
{
    char path[4096], err[PCAP_ERRBUF_SIZE];
    struct pcap_pkthdr *h;
    const u_char *data;

    memset(s, 0, sizeof *s);
    snprintf(path, sizeof path, "%s/%s", samples_dir, file);
    pcap_t *pc = pcap_open_offline(path, err);
    if (!pc)
        fail_msg("%s", err);
    struct fa_streams *st = start(limit, verify, s);
    int dlt = pcap_datalink(pc);
    while (pcap_next_ex(pc, &h, &data) == 1) {
        struct fa_packet p;
        int64_t ts = (int64_t)h->ts.tv_sec * SEC + (int64_t)h->ts.tv_usec * 1000;
        if (fa_decode(dlt, data, h->caplen, h->len, verify ? FA_DECODE_VERIFY_CHECKSUMS : 0, &p) ==
            FA_DECODE_OK)
            feed(st, &p, ts);
    }
    stop();
    pcap_close(pc);
}

/* ---- the sample captures ------------------------------------------------ */

static void assert_healthy(const struct seen *s)
{
    /* The .NET Remoting sessions are named by neither side. */
    assert_int_equal(s->n, 3);
    assert_named(s, "203.0.113.50", "192.0.2.10", 443, FA_APP_TLS, "apps.example.com", 0x0304);
    assert_named(s, "198.51.100.7", "192.0.2.10", 80, FA_APP_HTTP, "fe1.example.com", 0);
    assert_named(s, "192.0.2.10", "192.0.2.30", 1433, FA_APP_TDS, "", 0);
}

static void test_healthy(void **state)
{
    struct seen s;
    (void)state;
    read_sample("healthy.pcap", 8192, 0, &s);
    assert_healthy(&s);
    read_sample("healthy.pcapng", 0, 0, &s);
    assert_healthy(&s);
    read_sample("healthy.pcap", 8192, 1, &s);
    assert_healthy(&s);
}

static void test_ipv6(void **state)
{
    struct seen s;
    (void)state;
    read_sample("ipv6.pcap", 8192, 0, &s);
    assert_int_equal(s.n, 1);
    assert_named(&s, "2001:db8:0:2::50", "2001:db8:0:1::10", 443, FA_APP_TLS, "apps.example.com",
                 0x0304);
}

static void test_vlan(void **state)
{
    struct seen s;
    (void)state;
    read_sample("vlan.pcap", 8192, 0, &s);
    assert_int_equal(s.n, 2);
    assert_named(&s, "192.0.2.10", "192.0.2.30", 1433, FA_APP_TDS, "", 0);
    assert_named(&s, "203.0.113.50", "192.0.2.11", 443, FA_APP_TLS, "apps.example.com", 0x0304);
}

static void test_linux_sll2(void **state)
{
    struct seen s;
    (void)state;
    read_sample("linux-sll2.pcap", 8192, 0, &s);
    assert_int_equal(s.n, 2);
    assert_named(&s, "203.0.113.51", "192.0.2.10", 80, FA_APP_HTTP, "fe1.example.com", 0);
    assert_named(&s, "127.0.0.1", "127.0.0.1", 80, FA_APP_HTTP, "127.0.0.1", 0);
}

/* The damaged copy of the request is kept (no verification) or dropped
 * (verification); either way the request is read whole once. */
static void test_checksum(void **state)
{
    struct seen s;
    (void)state;
    read_sample("checksum.pcap", 8192, 0, &s);
    assert_int_equal(s.n, 1);
    assert_named(&s, "198.51.100.7", "192.0.2.10", 80, FA_APP_HTTP, "fe1.example.com", 0);
    read_sample("checksum.pcap", 8192, 1, &s);
    assert_int_equal(s.n, 1);
    assert_named(&s, "198.51.100.7", "192.0.2.10", 80, FA_APP_HTTP, "fe1.example.com", 0);
}

/* A first segment sent again smaller (path MTU), flows with no data. */
static void test_edges(void **state)
{
    struct seen s;
    (void)state;
    read_sample("edges.pcap", 8192, 0, &s);
    assert_int_equal(s.n, 0); /* the payloads are filler */
}

/* Frames cut by the snap length carry no usable payload: nothing named. */
static void test_truncated(void **state)
{
    struct seen s;
    (void)state;
    read_sample("truncated.pcap", 8192, 0, &s);
    assert_int_equal(s.n, 0);
}

/* At the limit, appproto gives TLS without the name (appproto.h: a
 * ClientHello cut by the limit is TLS, incomplete, and its SNI is kept
 * only when the extension was read whole), HTTP without the Host. */
static void test_limit(void **state)
{
    struct seen s;
    (void)state;
    read_sample("healthy.pcap", 16, 0, &s);
    assert_named(&s, "203.0.113.50", "192.0.2.10", 443, FA_APP_TLS, "", 0);
    for (int i = 0; i < s.n; i++)
        if (s.v[i].info.app == FA_APP_TLS)
            assert_int_equal(s.v[i].info.incomplete, 1);
    assert_named(&s, "198.51.100.7", "192.0.2.10", 80, FA_APP_HTTP, "", 0);

    read_sample("ipv6.pcap", 16, 0, &s);
    assert_int_equal(s.n, 1);
    assert_named(&s, "2001:db8:0:2::50", "2001:db8:0:1::10", 443, FA_APP_TLS, "", 0);
    assert_int_equal(s.v[0].info.incomplete, 1);
}

static void test_one_at_a_time(void **state)
{
    char err[FA_STREAMS_ERRBUF_SIZE];
    struct seen s = {0};
    (void)state;

    start(0, 0, &s);
    err[0] = '\0';
    assert_null(fa_streams_new(0, 0, on_named, &s, err));
    assert_true(strlen(err) > 0);
    stop();
    start(0, 1, &s);
    stop();
    fa_streams_free(NULL);
}

/* ---- synthetic packets --------------------------------------------------- */

struct conn {
    const char *client, *server;
    uint16_t cport, sport;
    uint32_t cisn, sisn;
};

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v);
}

/* A raw IP packet carrying one TCP segment; returns its length. */
static size_t build(uint8_t *buf, const char *src, const char *dst, uint16_t sport, uint16_t dport,
                    uint32_t seq, uint32_t ack, uint8_t flags, const void *data, size_t len)
{
    struct fa_addr s = addr(src), d = addr(dst);
    int v4 = fa_addr_is_v4(&s);
    size_t ih = v4 ? 20 : 40;
    uint8_t *t = buf + ih;

    memset(buf, 0, ih + 20);
    if (v4) {
        buf[0] = 0x45;
        put16(buf + 2, (uint32_t)(ih + 20 + len));
        buf[6] = 0x40; /* DF */
        buf[8] = 64;
        buf[9] = FA_PROTO_TCP;
        memcpy(buf + 12, s.b + 12, 4);
        memcpy(buf + 16, d.b + 12, 4);
    } else {
        buf[0] = 0x60;
        put16(buf + 4, (uint32_t)(20 + len));
        buf[6] = FA_PROTO_TCP;
        buf[7] = 64;
        memcpy(buf + 8, s.b, 16);
        memcpy(buf + 24, d.b, 16);
    }
    put16(t, sport);
    put16(t + 2, dport);
    put32(t + 4, seq);
    put32(t + 8, ack);
    t[12] = 5 << 4;
    t[13] = flags;
    put16(t + 14, 65535);
    if (len)
        memcpy(t + 20, data, len);
    return ih + 20 + len;
}

static void feed_raw(struct fa_streams *st, const uint8_t *buf, size_t caplen, size_t len,
                     int64_t ts)
{
    struct fa_packet p;
    if (fa_decode(FA_DLT_RAW, buf, (uint32_t)caplen, (uint32_t)len, 0, &p) == FA_DECODE_OK)
        feed(st, &p, ts);
}

/* from_client: which side sends; off: offset of the data in its stream. */
static void send_seg(struct fa_streams *st, const struct conn *c, int from_client, uint8_t flags,
                     uint32_t off, const void *data, size_t len, int64_t ts)
{
    uint8_t buf[2048];
    size_t n;
    if (from_client)
        n = build(buf, c->client, c->server, c->cport, c->sport, c->cisn + 1 + off, c->sisn + 1,
                  flags, data, len);
    else
        n = build(buf, c->server, c->client, c->sport, c->cport, c->sisn + 1 + off, c->cisn + 1,
                  flags, data, len);
    feed_raw(st, buf, n, n, ts);
}

static void handshake(struct fa_streams *st, const struct conn *c, int64_t ts)
{
    uint8_t buf[128];
    size_t n =
        build(buf, c->client, c->server, c->cport, c->sport, c->cisn, 0, FA_TCP_SYN, NULL, 0);
    feed_raw(st, buf, n, n, ts);
    n = build(buf, c->server, c->client, c->sport, c->cport, c->sisn, c->cisn + 1,
              FA_TCP_SYN | FA_TCP_ACK, NULL, 0);
    feed_raw(st, buf, n, n, ts + 1000);
    send_seg(st, c, 1, FA_TCP_ACK, 0, NULL, 0, ts + 2000);
}

static const char REQUEST[] = "GET /index.html HTTP/1.1\r\nHost: Shop.Example.org:8443\r\n"
                              "User-Agent: test\r\nAccept: */*\r\n\r\n";

/* The request in pieces: out of order, overlapping, retransmitted, and
 * with a piece that claims the far side of the sequence space. */
static void send_scrambled(struct fa_streams *st, const struct conn *c, int64_t ts)
{
    const uint8_t *r = (const uint8_t *)REQUEST;
    size_t len = sizeof REQUEST - 1;
    const uint8_t A = FA_TCP_ACK;

    send_seg(st, c, 1, A, 30, r + 30, 20, ts);           /* ahead: a gap */
    send_seg(st, c, 1, A, 0, r, 10, ts + 1);             /* in order */
    send_seg(st, c, 1, A, 0x80000000u, r, 10, ts + 2);   /* half the space away */
    send_seg(st, c, 1, A, 0xfffffff0u, r, 10, ts + 3);   /* just before the start */
    send_seg(st, c, 1, A, 5, r + 5, 15, ts + 4);         /* overlaps: adds 10..20 */
    send_seg(st, c, 1, A, 0, r, 20, ts + 5);             /* nothing new */
    send_seg(st, c, 1, A, 20, r + 20, 1, ts + 6);        /* one byte */
    send_seg(st, c, 1, A, 21, r + 21, len - 21, ts + 7); /* the rest */
}

static void test_ipv6_reassembly(void **state)
{
    struct seen s = {0};
    struct conn c = {"2001:db8::1", "2001:db8::2", 40000, 443, 0xfffffff0u, 77};
    (void)state;

    struct fa_streams *st = start(0, 0, &s);
    handshake(st, &c, T0);
    send_scrambled(st, &c, T0 + SEC);
    assert_int_equal(s.n, 1);
    assert_named(&s, "2001:db8::1", "2001:db8::2", 443, FA_APP_HTTP, "shop.example.org", 0);
    /* Named once: what follows on the stream changes nothing. */
    send_seg(st, &c, 1, FA_TCP_ACK, (uint32_t)sizeof REQUEST - 1, REQUEST, 20, T0 + 2 * SEC);
    stop();
    assert_int_equal(s.n, 1);
}

/* libnids puts the same pieces in order; the request also arrives once
 * more as two IPv4 fragments on another connection. */
static void test_ipv4_reassembly_and_fragments(void **state)
{
    struct seen s = {0};
    struct conn c = {"10.0.0.1", "10.0.0.2", 40000, 8080, 0xfffffff0u, 77};
    struct conn f = {"10.0.0.3", "10.0.0.2", 40001, 80, 1000, 2000};
    uint8_t whole[512], frag[512];
    (void)state;

    struct fa_streams *st = start(0, 0, &s);
    handshake(st, &c, T0);
    send_scrambled(st, &c, T0 + SEC);
    assert_int_equal(s.n, 1);
    assert_named(&s, "10.0.0.1", "10.0.0.2", 8080, FA_APP_HTTP, "shop.example.org", 0);

    handshake(st, &f, T0 + 2 * SEC);
    size_t n = build(whole, f.client, f.server, f.cport, f.sport, f.cisn + 1, f.sisn + 1,
                     FA_TCP_ACK | FA_TCP_PSH, REQUEST, sizeof REQUEST - 1);
    size_t cut = 20 + 24; /* IP header + 24 bytes: a multiple of 8 */
    memcpy(frag, whole, cut);
    put16(frag + 2, (uint32_t)cut);
    put16(frag + 4, 0x1234);
    put16(frag + 6, 0x2000); /* MF, offset 0 */
    feed_raw(st, frag, cut, cut, T0 + 3 * SEC);
    memcpy(frag, whole, 20);
    memcpy(frag + 20, whole + cut, n - cut);
    put16(frag + 2, (uint32_t)(20 + n - cut));
    put16(frag + 4, 0x1234);
    put16(frag + 6, (uint32_t)((cut - 20) / 8));
    feed_raw(st, frag, 20 + n - cut, 20 + n - cut, T0 + 3 * SEC + 1000);
    stop();
    assert_int_equal(s.n, 2);
    assert_named(&s, "10.0.0.3", "10.0.0.2", 80, FA_APP_HTTP, "shop.example.org", 0);
}

/* Captured on a sender using segmentation offload, the IPv4 total length
 * is 0; the stream is read all the same. */
static void test_ipv4_offloaded_length(void **state)
{
    struct seen s = {0};
    struct conn c = {"10.0.0.1", "10.0.0.2", 40000, 80, 1, 2};
    uint8_t buf[512];
    (void)state;

    struct fa_streams *st = start(0, 0, &s);
    handshake(st, &c, T0);
    size_t n = build(buf, c.client, c.server, c.cport, c.sport, c.cisn + 1, c.sisn + 1,
                     FA_TCP_ACK | FA_TCP_PSH, REQUEST, sizeof REQUEST - 1);
    put16(buf + 2, 0);
    feed_raw(st, buf, n, n, T0 + SEC);
    assert_int_equal(s.n, 1);
    assert_named(&s, "10.0.0.1", "10.0.0.2", 80, FA_APP_HTTP, "shop.example.org", 0);
    stop();
}

/* A client that sends nothing recognisable leaves the server's greeting
 * to name the stream, once the stream ends: by FIN on IPv4 (libnids), by
 * RST and by idle timeout on IPv6. */
static void test_server_names_stream_at_end(void **state)
{
    static const char smtp[] = "220 mail.example.org ESMTP Postfix\r\n";
    static const char ssh[] = "SSH-2.0-OpenSSH_9.6\r\n";
    struct seen s = {0};
    struct conn c4 = {"10.0.0.1", "10.0.0.25", 40000, 25, 100, 200};
    struct conn c6 = {"2001:db8::1", "2001:db8::22", 40000, 22, 100, 200};
    struct conn t6 = {"2001:db8::1", "2001:db8::23", 40001, 22, 300, 400};
    (void)state;

    struct fa_streams *st = start(0, 0, &s);
    handshake(st, &c4, T0);
    send_seg(st, &c4, 0, FA_TCP_ACK | FA_TCP_PSH, 0, smtp, sizeof smtp - 1, T0 + 1000000);
    assert_int_equal(s.n, 0); /* the client may still say more */
    uint32_t slen = (uint32_t)sizeof smtp - 1;
    send_seg(st, &c4, 1, FA_TCP_FIN | FA_TCP_ACK, 0, NULL, 0, T0 + 2000000);
    /* the server acks the client's FIN, sends its own, the client acks */
    uint8_t buf[128];
    size_t n = build(buf, c4.server, c4.client, c4.sport, c4.cport, c4.sisn + 1 + slen, c4.cisn + 2,
                     FA_TCP_FIN | FA_TCP_ACK, NULL, 0);
    feed_raw(st, buf, n, n, T0 + 3000000);
    n = build(buf, c4.client, c4.server, c4.cport, c4.sport, c4.cisn + 2, c4.sisn + 2 + slen,
              FA_TCP_ACK, NULL, 0);
    feed_raw(st, buf, n, n, T0 + 4000000);
    assert_int_equal(s.n, 1);
    assert_named(&s, "10.0.0.1", "10.0.0.25", 25, FA_APP_SMTP, "", 0);

    handshake(st, &c6, T0);
    send_seg(st, &c6, 0, FA_TCP_ACK | FA_TCP_PSH, 0, ssh, sizeof ssh - 1, T0 + 1000000);
    assert_int_equal(s.n, 1);
    send_seg(st, &c6, 1, FA_TCP_RST | FA_TCP_ACK, 0, NULL, 0, T0 + 2000000);
    assert_int_equal(s.n, 2);
    assert_named(&s, "2001:db8::1", "2001:db8::22", 22, FA_APP_SSH, "", 0);

    handshake(st, &t6, T0 + SEC);
    send_seg(st, &t6, 0, FA_TCP_ACK | FA_TCP_PSH, 0, ssh, sizeof ssh - 1, T0 + SEC);
    send_seg(st, &c6, 1, FA_TCP_ACK, 0, NULL, 0, T0 + 100 * SEC); /* unknown: ignored */
    assert_int_equal(s.n, 2);
    send_seg(st, &c6, 1, FA_TCP_ACK, 0, NULL, 0, T0 + 302 * SEC); /* the timeout passes */
    assert_int_equal(s.n, 3);
    assert_named(&s, "2001:db8::1", "2001:db8::23", 22, FA_APP_SSH, "", 0);
    stop();
    assert_int_equal(s.n, 3);
}

/* The client names the stream as soon as it can; the server is not
 * needed, and the stream is forgotten. */
static void test_client_first(void **state)
{
    static const char ssh[] = "SSH-2.0-PuTTY_Release_0.80\r\n";
    struct seen s = {0};
    struct conn c = {"2001:db8::1", "2001:db8::22", 40000, 2222, 5, 6};
    (void)state;

    struct fa_streams *st = start(0, 0, &s);
    handshake(st, &c, T0);
    send_seg(st, &c, 1, FA_TCP_ACK | FA_TCP_PSH, 0, ssh, sizeof ssh - 1, T0 + SEC);
    assert_int_equal(s.n, 1);
    assert_named(&s, "2001:db8::1", "2001:db8::22", 2222, FA_APP_SSH, "", 0);
    send_seg(st, &c, 1, FA_TCP_RST, (uint32_t)sizeof ssh - 1, NULL, 0, T0 + 2 * SEC);
    stop();
    assert_int_equal(s.n, 1);
}

/* More IPv6 streams than the table holds: the oldest make room. */
static void test_ipv6_table_bound(void **state)
{
    struct seen s = {0};
    uint8_t buf[128];
    (void)state;

    struct fa_streams *st = start(0, 0, &s);
    for (uint32_t i = 0; i < 70000; i++) {
        size_t n = build(buf, "2001:db8::1", "2001:db8::2", (uint16_t)(1024 + i % 60000),
                         (uint16_t)(443 + i / 60000), i, 0, FA_TCP_SYN, NULL, 0);
        feed_raw(st, buf, n, n, T0 + i);
    }
    struct conn c = {"2001:db8::3", "2001:db8::4", 40000, 80, 1, 2};
    handshake(st, &c, T0 + SEC);
    send_seg(st, &c, 1, FA_TCP_ACK, 0, REQUEST, sizeof REQUEST - 1, T0 + SEC);
    assert_int_equal(s.n, 1);
    stop();
    assert_int_equal(s.n, 1);
}

/* ---- DNS over TCP -------------------------------------------------------- */

/* A query for a.example.com A, and its answer 192.0.2.99, each with its
 * 2-byte length (RFC 1035 4.2.2). */
static const uint8_t DNS_QUERY[] = {0,   31,  0x12, 0x34, 0x01, 0x00, 0,   1,   0,   0,   0,
                                    0,   0,   0,    1,    'a',  7,    'e', 'x', 'a', 'm', 'p',
                                    'l', 'e', 3,    'c',  'o',  'm',  0,   0,   1,   0,   1};
static const uint8_t DNS_RESPONSE[] = {
    0,   47,  0x12, 0x34, 0x81, 0x80, 0,   1, 0,   1,   0,   0,   0, 0, 1, 'a', 7,
    'e', 'x', 'a',  'm',  'p',  'l',  'e', 3, 'c', 'o', 'm', 0,   0, 1, 0, 1,   0xc0,
    12,  0,   1,    0,    1,    0,    0,   1, 44,  0,   4,   192, 0, 2, 99};

#define MAX_MSGS 8

/* What the DNS callback was given; names, when set, is fed as capture.c
 * feeds it. */
struct dns_seen {
    int n;
    size_t len[MAX_MSGS];
    uint8_t msg[MAX_MSGS][64];
    int64_t ts[MAX_MSGS];
    struct fa_names *names;
};

static void on_dns(void *ctx, const uint8_t *msg, size_t len, int64_t ts)
{
    struct dns_seen *d = ctx;
    if (d->n < MAX_MSGS) {
        d->len[d->n] = len;
        memcpy(d->msg[d->n], msg, len < sizeof d->msg[0] ? len : sizeof d->msg[0]);
        d->ts[d->n] = ts;
    }
    d->n++;
    if (d->names)
        fa_names_dns(d->names, msg, len, ts);
}

static void assert_response(const struct dns_seen *d, int i, int64_t ts)
{
    assert_int_equal(d->len[i], sizeof DNS_RESPONSE - 2);
    assert_memory_equal(d->msg[i], DNS_RESPONSE + 2, sizeof DNS_RESPONSE - 2);
    assert_int_equal(d->ts[i], ts);
}

/* The query, then the response split in two: the callback gets the
 * response once, at the time of the segment that completed it, and the
 * stream is named dns when its server's side ends. */
static void dns_exchange(const struct conn *c, int close_by_fin)
{
    struct seen s = {0};
    struct dns_seen d = {0};
    const uint8_t A = FA_TCP_ACK | FA_TCP_PSH;
    uint32_t rlen = sizeof DNS_RESPONSE;

    assert_non_null(d.names = fa_names_new(0));
    struct fa_streams *st = start(0, 0, &s);
    fa_streams_on_dns(st, on_dns, &d);
    handshake(st, c, T0);
    send_seg(st, c, 1, A, 0, DNS_QUERY, sizeof DNS_QUERY, T0 + SEC);
    assert_int_equal(d.n, 0);     /* a query is not an answer */
    assert_int_equal(s.early, 1); /* named dns, its packets still wanted */
    assert_int_equal(s.n, 0);     /* the answers are still to come */
    send_seg(st, c, 0, A, 0, DNS_RESPONSE, 10, T0 + 2 * SEC);
    assert_int_equal(d.n, 0);
    send_seg(st, c, 0, A, 10, DNS_RESPONSE + 10, rlen - 10, T0 + 3 * SEC);
    assert_int_equal(d.n, 1);
    assert_response(&d, 0, T0 + 3 * SEC);
    send_seg(st, c, 0, A, 0, DNS_RESPONSE, rlen, T0 + 4 * SEC); /* retransmitted */
    assert_int_equal(s.n, 0);
    if (close_by_fin) {
        /* the server closes, the client acks and closes, the server acks */
        uint32_t qlen = sizeof DNS_QUERY;
        uint8_t buf[128];
        size_t n = build(buf, c->server, c->client, c->sport, c->cport, c->sisn + 1 + rlen,
                         c->cisn + 1 + qlen, FA_TCP_FIN | FA_TCP_ACK, NULL, 0);
        feed_raw(st, buf, n, n, T0 + 5 * SEC);
        n = build(buf, c->client, c->server, c->cport, c->sport, c->cisn + 1 + qlen,
                  c->sisn + 2 + rlen, FA_TCP_FIN | FA_TCP_ACK, NULL, 0);
        feed_raw(st, buf, n, n, T0 + 5 * SEC + 1000);
        n = build(buf, c->server, c->client, c->sport, c->cport, c->sisn + 2 + rlen,
                  c->cisn + 2 + qlen, FA_TCP_ACK, NULL, 0);
        feed_raw(st, buf, n, n, T0 + 5 * SEC + 2000);
    } else {
        send_seg(st, c, 1, FA_TCP_RST, sizeof DNS_QUERY, NULL, 0, T0 + 5 * SEC);
    }
    assert_int_equal(s.n, 1);
    assert_named(&s, c->client, c->server, 53, FA_APP_DNS, "", 0);
    stop();
    assert_int_equal(s.n, 1);
    assert_int_equal(d.n, 1);

    struct fa_addr a = addr("192.0.2.99");
    const char *name = fa_names_for(d.names, &a, T0 + 10 * SEC);
    assert_non_null(name);
    assert_string_equal(name, "a.example.com");
    fa_names_free(d.names);
}

static void test_dns_tcp_ipv4(void **state)
{
    struct conn c = {"10.0.0.1", "10.0.0.53", 40000, 53, 0xfffffff8u, 1000};
    (void)state;
    dns_exchange(&c, 1);
    dns_exchange(&c, 0);
}

static void test_dns_tcp_ipv6(void **state)
{
    struct conn c = {"2001:db8::1", "2001:db8::53", 40000, 53, 1000, 0xfffffff8u};
    (void)state;
    dns_exchange(&c, 1);
    dns_exchange(&c, 0);
}

/* Without a DNS callback the query names the stream at once. */
static void test_dns_tcp_no_callback(void **state)
{
    struct seen s = {0};
    struct conn c4 = {"10.0.0.1", "10.0.0.53", 40000, 53, 1, 2};
    struct conn c6 = {"2001:db8::1", "2001:db8::53", 40000, 53, 1, 2};
    (void)state;

    struct fa_streams *st = start(0, 0, &s);
    handshake(st, &c4, T0);
    send_seg(st, &c4, 1, FA_TCP_ACK, 0, DNS_QUERY, sizeof DNS_QUERY, T0 + SEC);
    handshake(st, &c6, T0);
    send_seg(st, &c6, 1, FA_TCP_ACK, 0, DNS_QUERY, sizeof DNS_QUERY, T0 + SEC);
    assert_int_equal(s.n, 2);
    assert_named(&s, "10.0.0.1", "10.0.0.53", 53, FA_APP_DNS, "", 0);
    assert_named(&s, "2001:db8::1", "2001:db8::53", 53, FA_APP_DNS, "", 0);
    stop();
}

/* limit 64: the first response (49 bytes) ends within it and is handed
 * over; a second, which would end at 98, is not, and reaching the limit
 * ends the stream.  On another stream, a first length that runs past the
 * limit gives nothing. */
static void dns_limit(const char *client, const char *server)
{
    struct seen s = {0};
    struct dns_seen d = {0};
    struct conn c = {client, server, 40000, 53, 100, 200};
    struct conn o = {client, server, 40001, 53, 300, 400};
    uint8_t two[2 * sizeof DNS_RESPONSE], big[102] = {0, 100};

    memcpy(two, DNS_RESPONSE, sizeof DNS_RESPONSE);
    memcpy(two + sizeof DNS_RESPONSE, DNS_RESPONSE, sizeof DNS_RESPONSE);
    struct fa_streams *st = start(64, 0, &s);
    fa_streams_on_dns(st, on_dns, &d);
    handshake(st, &c, T0);
    send_seg(st, &c, 1, FA_TCP_ACK, 0, DNS_QUERY, sizeof DNS_QUERY, T0 + SEC);
    send_seg(st, &c, 0, FA_TCP_ACK, 0, two, sizeof two, T0 + 2 * SEC);
    assert_int_equal(d.n, 1);
    assert_response(&d, 0, T0 + 2 * SEC);
    assert_int_equal(s.n, 1);
    assert_named(&s, client, server, 53, FA_APP_DNS, "", 0);

    handshake(st, &o, T0);
    send_seg(st, &o, 1, FA_TCP_ACK, 0, DNS_QUERY, sizeof DNS_QUERY, T0 + SEC);
    send_seg(st, &o, 0, FA_TCP_ACK, 0, big, sizeof big, T0 + 2 * SEC);
    assert_int_equal(s.n, 2);
    stop();
    assert_int_equal(d.n, 1);
    assert_int_equal(s.n, 2);
}

/* Answers that end exactly at the limit, in two segments: once both are
 * handed over the server can add nothing, so the stream is decided then,
 * though none of its bytes is held any more. */
static void dns_exact_limit(const char *client, const char *server)
{
    struct seen s = {0};
    struct dns_seen d = {0};
    struct conn c = {client, server, 40000, 53, 100, 200};
    uint32_t a = sizeof DNS_RESPONSE;

    struct fa_streams *st = start(2 * a, 0, &s);
    fa_streams_on_dns(st, on_dns, &d);
    handshake(st, &c, T0);
    send_seg(st, &c, 1, FA_TCP_ACK | FA_TCP_PSH, 0, DNS_QUERY, sizeof DNS_QUERY, T0 + SEC);
    send_seg(st, &c, 0, FA_TCP_ACK | FA_TCP_PSH, 0, DNS_RESPONSE, a, T0 + 2 * SEC);
    assert_int_equal(d.n, 1);
    assert_int_equal(s.n, 0);
    send_seg(st, &c, 0, FA_TCP_ACK | FA_TCP_PSH, a, DNS_RESPONSE, a, T0 + 3 * SEC);
    assert_int_equal(d.n, 2);
    assert_int_equal(s.n, 1);
    assert_named(&s, client, server, 53, FA_APP_DNS, "", 0);
    stop();
}

static void test_dns_tcp_limit(void **state)
{
    (void)state;
    dns_limit("10.0.0.1", "10.0.0.53");
    dns_limit("2001:db8::1", "2001:db8::53");
    dns_exact_limit("10.0.0.1", "10.0.0.53");
    dns_exact_limit("2001:db8::1", "2001:db8::53");
}

/* Lengths that lie: empty messages (skipped), a one-byte one (handed over
 * as it is), a length byte alone, and 0xffff with few bytes behind it;
 * the stream still ends at its close. */
static void dns_hostile_lengths(const char *client, const char *server)
{
    static const uint8_t lies[] = {0, 0, 0, 0, 0, 1, 0x42, 0xff};
    static const uint8_t rest[] = {0xff, 1, 2, 3};
    struct seen s = {0};
    struct dns_seen d = {0};
    struct conn c = {client, server, 40000, 53, 100, 200};

    struct fa_streams *st = start(0, 0, &s);
    fa_streams_on_dns(st, on_dns, &d);
    handshake(st, &c, T0);
    send_seg(st, &c, 1, FA_TCP_ACK, 0, DNS_QUERY, sizeof DNS_QUERY, T0 + SEC);
    for (uint32_t i = 0; i < sizeof lies; i++)
        send_seg(st, &c, 0, FA_TCP_ACK, i, lies + i, 1, T0 + 2 * SEC + i);
    send_seg(st, &c, 0, FA_TCP_ACK, sizeof lies, rest, sizeof rest, T0 + 3 * SEC);
    assert_int_equal(d.n, 1);
    assert_int_equal(d.len[0], 1);
    assert_int_equal(d.msg[0][0], 0x42);
    assert_int_equal(s.n, 0);
    send_seg(st, &c, 0, FA_TCP_RST, sizeof lies + sizeof rest, NULL, 0, T0 + 4 * SEC);
    assert_int_equal(s.n, 1);
    stop();
    assert_int_equal(d.n, 1);
}

static void test_dns_tcp_hostile_lengths(void **state)
{
    (void)state;
    dns_hostile_lengths("10.0.0.1", "10.0.0.53");
    dns_hostile_lengths("2001:db8::1", "2001:db8::53");
}

/* An answer begun before the query was seen (captures do reorder): its
 * first bytes wait, undecided, and the whole is read once, when the rest
 * comes (libnids can discard only the bytes of the side just delivered,
 * so not when the query makes the stream DNS). */
static void dns_answer_first(const char *client, const char *server)
{
    struct seen s = {0};
    struct dns_seen d = {0};
    struct conn c = {client, server, 40000, 53, 100, 200};
    uint32_t rlen = sizeof DNS_RESPONSE;

    struct fa_streams *st = start(0, 0, &s);
    fa_streams_on_dns(st, on_dns, &d);
    handshake(st, &c, T0);
    send_seg(st, &c, 0, FA_TCP_ACK, 0, DNS_RESPONSE, 10, T0 + SEC);
    send_seg(st, &c, 1, FA_TCP_ACK, 0, DNS_QUERY, sizeof DNS_QUERY, T0 + 2 * SEC);
    assert_int_equal(d.n, 0);
    send_seg(st, &c, 0, FA_TCP_ACK, 10, DNS_RESPONSE + 10, rlen - 10, T0 + 3 * SEC);
    assert_int_equal(d.n, 1);
    assert_response(&d, 0, T0 + 3 * SEC);
    assert_int_equal(s.n, 0);
    send_seg(st, &c, 1, FA_TCP_RST, sizeof DNS_QUERY, NULL, 0, T0 + 4 * SEC);
    assert_int_equal(s.n, 1);
    assert_named(&s, client, server, 53, FA_APP_DNS, "", 0);
    stop();
    assert_int_equal(d.n, 1);
}

static void test_dns_tcp_answer_first(void **state)
{
    (void)state;
    dns_answer_first("10.0.0.1", "10.0.0.53");
    dns_answer_first("2001:db8::1", "2001:db8::53");
}

/* ---- with the flow table, as capture.c drives them ---------------------- */

/* The flow table decides which packets reach the streams, and the streams
 * tell it what they named. */
struct driven {
    struct fa_flow_table *t;
    struct fa_flow_record rec; /* the last record written */
    int records, answers;
};

static void driven_sink(void *ctx, struct fa_flow_record *rec, int final)
{
    struct driven *d = ctx;
    (void) final;
    d->rec = *rec;
    d->records++;
}

static void driven_named(void *ctx, const struct fa_tuple *t, const struct fa_app_info *info,
                         int final)
{
    struct driven *d = ctx;
    fa_flow_set_app(d->t, t, (uint8_t)info->app, info->tls_version, info->server_name, final);
}

static void driven_dns(void *ctx, const uint8_t *msg, size_t len, int64_t ts)
{
    struct driven *d = ctx;
    (void)msg;
    (void)len;
    (void)ts;
    d->answers++;
}

static void drive(struct driven *d, const uint8_t *buf, size_t n, int64_t ts)
{
    struct fa_packet p;
    assert_int_equal(fa_decode(FA_DLT_RAW, buf, (uint32_t)n, (uint32_t)n, 0, &p), FA_DECODE_OK);
    if (fa_flow_packet(d->t, &p, ts))
        fa_streams_packet(live, &p, ts);
}

/* One DNS-over-TCP connection carrying many exchanges, more packets than
 * naming looks at for an undecided flow but fewer answer bytes than the
 * limit: every answer is read, and the flow is written named dns. */
static void long_dns_connection(const char *client, const char *server)
{
    struct fa_flow_config cfg;
    struct driven d = {0};
    char err[FA_STREAMS_ERRBUF_SIZE];
    uint8_t buf[256];
    uint32_t cisn = 1000, sisn = 5000, q = sizeof DNS_QUERY, a = sizeof DNS_RESPONSE;
    int64_t ts = T0;
    enum { EXCHANGES = 100 };

    fa_flow_config_defaults(&cfg);
    d.t = fa_flow_table_new(&cfg, driven_sink, &d, err);
    assert_non_null(d.t);
    live = fa_streams_new(0, 0, driven_named, &d, err);
    assert_non_null(live);
    fa_streams_on_dns(live, driven_dns, &d);
    assert_true(EXCHANGES * a < FA_STREAMS_DEFAULT_LIMIT);

    drive(&d, buf, build(buf, client, server, 40000, 53, cisn, 0, FA_TCP_SYN, NULL, 0), ts);
    drive(&d, buf,
          build(buf, server, client, 53, 40000, sisn, cisn + 1, FA_TCP_SYN | FA_TCP_ACK, NULL, 0),
          ts += 1000);
    for (uint32_t i = 0; i < EXCHANGES; i++) {
        uint32_t c = cisn + 1 + i * q, sv = sisn + 1 + i * a;
        drive(&d, buf,
              build(buf, client, server, 40000, 53, c, sv, FA_TCP_ACK | FA_TCP_PSH, DNS_QUERY, q),
              ts += 1000);
        drive(&d, buf,
              build(buf, server, client, 53, 40000, sv, c + q, FA_TCP_ACK | FA_TCP_PSH,
                    DNS_RESPONSE, a),
              ts += 1000);
        drive(&d, buf, build(buf, client, server, 40000, 53, c + q, sv + a, FA_TCP_ACK, NULL, 0),
              ts += 1000);
    }
    assert_int_equal(d.answers, EXCHANGES);
    /* The flow ends before the streams do, as at the end of a capture. */
    fa_flow_flush(d.t);
    assert_int_equal(d.records, 1);
    assert_int_equal(d.rec.app_proto, FA_APP_DNS);
    stop();
    fa_flow_table_free(d.t);
}

static void test_long_dns_connection(void **state)
{
    (void)state;
    long_dns_connection("10.0.0.1", "10.0.0.53");
    long_dns_connection("2001:db8::1", "2001:db8::53");
}

/* ---- hostile input ------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

/* What hostile_run() checks of every report, as fuzz_streams.c does: a
 * named stream is TCP with its ports, only a DNS stream is named before it
 * is decided, a DNS message is not empty and fits in the limit (ctx) with
 * its 2-byte length. */
static void hostile_named(void *ctx, const struct fa_tuple *t, const struct fa_app_info *info,
                          int final)
{
    (void)ctx;
    assert_int_equal(t->proto, FA_PROTO_TCP);
    assert_true(t->has_ports);
    assert_true(final || info->app == FA_APP_DNS);
}

static void hostile_dns(void *ctx, const uint8_t *msg, size_t len, int64_t ts)
{
    const size_t *limit = ctx;
    (void)msg;
    (void)ts;
    assert_true(len > 0 && len + 2 <= *limit);
}

/* Random segments among few hosts and ports, so that they hit the same
 * streams: random flags, sequence numbers near the start or anywhere,
 * payloads from real prefixes or random bytes, frames cut short. */
static void hostile_run(const char *const *hosts, size_t limit)
{
    static const uint8_t flag_set[] = {FA_TCP_SYN,
                                       FA_TCP_SYN | FA_TCP_ACK,
                                       FA_TCP_ACK,
                                       FA_TCP_ACK | FA_TCP_PSH,
                                       FA_TCP_FIN | FA_TCP_ACK,
                                       FA_TCP_RST,
                                       0xff,
                                       FA_TCP_SYN | FA_TCP_FIN};
#define PREFIX(x)                                                                                  \
    {                                                                                              \
        x, sizeof x - 1                                                                            \
    }
    static const struct {
        const char *p;
        size_t n;
    } prefixes[] = {PREFIX(REQUEST),
                    PREFIX("\x16\x03\x01\x00\xff\x01\x00\x00\xfb\x03\x03"),
                    PREFIX("SSH-2.0-x\r\n"),
                    PREFIX("220 x ESMTP\r\n"),
                    PREFIX("\x12\x01\x00\x2f\x00\x00\x01\x00"),
                    PREFIX("\x00\x1f\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
                           "\x01\x61\x07\x65\x78\x61\x6d\x70\x6c\x65\x03\x63\x6f\x6d"
                           "\x00\x00\x01\x00\x01")};
#undef PREFIX
    size_t in_effect = limit ? limit : FA_STREAMS_DEFAULT_LIMIT;
    uint8_t payload[1400], buf[1600];
    char err[FA_STREAMS_ERRBUF_SIZE];

    struct fa_streams *st = live = fa_streams_new(limit, 0, hostile_named, NULL, err);
    if (!st)
        fail_msg("%s", err);
    fa_streams_on_dns(st, hostile_dns, &in_effect);
    for (int i = 0; i < 200000; i++) {
        int a = rnd() % 3, b = (a + 1 + rnd() % 2) % 3;
        uint16_t pa = (uint16_t)(1000 + rnd() % 4), pb = (uint16_t)(1000 + rnd() % 4);
        uint32_t seq = rnd() % 4 ? rnd() % 64 : rnd() << 16 ^ rnd();
        uint32_t ack = rnd() % 4 ? rnd() % 64 : rnd() << 16 ^ rnd();
        size_t len = rnd() % 3 ? rnd() % 64 : rnd() % sizeof payload;
        unsigned pi = rnd() % (sizeof prefixes / sizeof prefixes[0]);
        for (size_t k = 0; k < len; k++)
            payload[k] = rnd() % 2 ? (uint8_t)prefixes[pi].p[k % prefixes[pi].n] : (uint8_t)rnd();
        size_t n = build(buf, hosts[a], hosts[b], pa, pb, seq, ack,
                         flag_set[rnd() % sizeof flag_set], payload, len);
        size_t cap = rnd() % 8 ? n : rnd() % (n + 1);
        feed_raw(st, buf, cap, n, T0 + (int64_t)i * (rnd() % 4 ? 1000 : 10 * SEC));
    }
    stop();
}

static void test_hostile_ipv4(void **state)
{
    static const char *const hosts[] = {"10.0.0.1", "10.0.0.2", "10.0.0.3"};
    (void)state;
    hostile_run(hosts, 0);
    hostile_run(hosts, 16);
}

static void test_hostile_ipv6(void **state)
{
    static const char *const hosts[] = {"2001:db8::1", "2001:db8::2", "2001:db8::3"};
    (void)state;
    hostile_run(hosts, 0);
    hostile_run(hosts, 16);
}

/* Decoded packets whose fields disagree with what a decoder would give:
 * no IP pointer, payload without bytes, lengths that do not fit. */
static void test_odd_packets(void **state)
{
    struct seen s = {0};
    struct fa_packet p;
    uint8_t ip[60] = {0x45};
    (void)state;

    struct fa_streams *st = start(0, 0, &s);
    memset(&p, 0, sizeof p);
    p.proto = FA_PROTO_TCP;
    p.ip_version = 4;
    fa_streams_packet(st, &p, T0); /* no IP bytes */
    p.ip = ip;
    p.ip_caplen = 10;
    p.ip_len = 60;
    fa_streams_packet(st, &p, T0); /* cut */
    p.ip_version = 6;
    p.has_ports = 1;
    p.tcp_flags = FA_TCP_SYN;
    fa_streams_packet(st, &p, T0);
    p.tcp_flags = FA_TCP_ACK;
    p.payload_caplen = 100; /* but no payload pointer */
    fa_streams_packet(st, &p, T0);
    fa_streams_packet(st, &p, INT64_MIN); /* time far back, then far ahead */
    fa_streams_packet(st, &p, INT64_MAX);
    p.ip_version = 5;
    fa_streams_packet(st, &p, T0);
    fa_streams_packet(NULL, &p, T0);
    fa_streams_packet(st, NULL, T0);
    stop();
    assert_int_equal(s.n, 0);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_healthy, teardown),
        cmocka_unit_test_teardown(test_ipv6, teardown),
        cmocka_unit_test_teardown(test_vlan, teardown),
        cmocka_unit_test_teardown(test_linux_sll2, teardown),
        cmocka_unit_test_teardown(test_checksum, teardown),
        cmocka_unit_test_teardown(test_edges, teardown),
        cmocka_unit_test_teardown(test_truncated, teardown),
        cmocka_unit_test_teardown(test_limit, teardown),
        cmocka_unit_test_teardown(test_one_at_a_time, teardown),
        cmocka_unit_test_teardown(test_ipv6_reassembly, teardown),
        cmocka_unit_test_teardown(test_ipv4_reassembly_and_fragments, teardown),
        cmocka_unit_test_teardown(test_ipv4_offloaded_length, teardown),
        cmocka_unit_test_teardown(test_server_names_stream_at_end, teardown),
        cmocka_unit_test_teardown(test_client_first, teardown),
        cmocka_unit_test_teardown(test_ipv6_table_bound, teardown),
        cmocka_unit_test_teardown(test_dns_tcp_ipv4, teardown),
        cmocka_unit_test_teardown(test_dns_tcp_ipv6, teardown),
        cmocka_unit_test_teardown(test_dns_tcp_no_callback, teardown),
        cmocka_unit_test_teardown(test_dns_tcp_limit, teardown),
        cmocka_unit_test_teardown(test_dns_tcp_hostile_lengths, teardown),
        cmocka_unit_test_teardown(test_dns_tcp_answer_first, teardown),
        cmocka_unit_test_teardown(test_long_dns_connection, teardown),
        cmocka_unit_test_teardown(test_hostile_ipv4, teardown),
        cmocka_unit_test_teardown(test_hostile_ipv6, teardown),
        cmocka_unit_test_teardown(test_odd_packets, teardown),
    };
    if (argc != 2) {
        fprintf(stderr, "usage: %s SAMPLES_DIR\n", argv[0]);
        return 2;
    }
    samples_dir = argv[1];
    return cmocka_run_group_tests(tests, NULL, NULL);
}
