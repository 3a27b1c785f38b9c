/*
 * test_decode.c - unit tests of the frame decoder.
 *
 * Frames are built by hand, byte by byte, so that each test shows exactly
 * what it feeds the decoder.  Every decode runs on an exactly-sized heap
 * copy of the captured bytes, so a read past caplen is an AddressSanitizer
 * error in the sanitizer build, and every result is checked against the
 * invariants decode.h promises before the test looks at its fields.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode.h"

/* ---- frame building ----------------------------------------------------- */

struct buf {
    uint8_t b[2048];
    uint32_t n;
};

static uint32_t put(struct buf *f, const void *p, uint32_t n)
{
    uint32_t off = f->n;

    assert_true(f->n + n <= sizeof f->b);
    memcpy(f->b + f->n, p, n);
    f->n += n;
    return off;
}

static uint32_t put8(struct buf *f, uint8_t v)
{
    return put(f, &v, 1);
}

static uint32_t put16(struct buf *f, uint16_t v)
{
    uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
    return put(f, b, 2);
}

static uint32_t put32(struct buf *f, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
    return put(f, b, 4);
}

static uint32_t put32le(struct buf *f, uint32_t v)
{
    uint8_t b[4] = {(uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24)};
    return put(f, b, 4);
}

/* Recognisable bytes, so a payload pointer off by one shows. */
static uint32_t put_fill(struct buf *f, uint32_t n)
{
    uint32_t off = f->n, i;

    for (i = 0; i < n; i++)
        put8(f, (uint8_t)(0xa0 + i));
    return off;
}

static void set16(struct buf *f, uint32_t off, uint16_t v)
{
    f->b[off] = (uint8_t)(v >> 8);
    f->b[off + 1] = (uint8_t)v;
}

static uint16_t get16(const struct buf *f, uint32_t off)
{
    return (uint16_t)(f->b[off] << 8 | f->b[off + 1]);
}

static const uint8_t V4_SRC[4] = {192, 0, 2, 1};
static const uint8_t V4_DST[4] = {198, 51, 100, 2};
static const uint8_t V6_SRC[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t V6_DST[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};

static uint32_t put_eth(struct buf *f, uint16_t type)
{
    static const uint8_t macs[12] = {2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2};

    put(f, macs, sizeof macs);
    put16(f, type);
    return 14;
}

/* A VLAN tag as it follows its TPID: TCI, then the next type. */
static void put_tag(struct buf *f, uint16_t tci, uint16_t next)
{
    put16(f, tci);
    put16(f, next);
}

static void put_mpls(struct buf *f, uint32_t label, int bottom)
{
    put32(f, label << 12 | (bottom ? 0x100u : 0) | 64);
}

static void put_pppoe(struct buf *f, uint16_t ppp_proto)
{
    put8(f, 0x11);
    put8(f, 0x00);
    put16(f, 0x1234); /* session */
    put16(f, 0);      /* length: not used by the decoder */
    put16(f, ppp_proto);
}

static void put_sll(struct buf *f, uint16_t proto)
{
    put16(f, 0); /* packet type: to us */
    put16(f, 1); /* ARPHRD_ETHER */
    put16(f, 6);
    put_fill(f, 8);
    put16(f, proto);
}

static void put_sll2(struct buf *f, uint16_t proto)
{
    put16(f, proto);
    put16(f, 0);
    put32(f, 2); /* interface index */
    put16(f, 1); /* ARPHRD_ETHER */
    put8(f, 0);
    put8(f, 6);
    put_fill(f, 8);
}

static uint16_t checksum(const uint8_t *p, uint32_t n, uint32_t acc)
{
    uint32_t i;

    for (i = 0; i + 1 < n; i += 2)
        acc += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        acc += (uint32_t)p[n - 1] << 8;
    while (acc > 0xffff)
        acc = (acc >> 16) + (acc & 0xffff);
    return (uint16_t)~acc;
}

/* IPv4 header with optlen bytes of NOP options; total length and checksum
 * are filled in by finish_ipv4 once the payload is there. */
static uint32_t put_ipv4(struct buf *f, uint8_t proto, uint32_t optlen, uint16_t frag)
{
    uint32_t off = put8(f, (uint8_t)(0x40 | (20 + optlen) / 4));
    uint32_t i;

    put8(f, 0);
    put16(f, 0);
    put16(f, 0xbeef); /* identification */
    put16(f, frag);
    put8(f, 64);
    put8(f, proto);
    put16(f, 0);
    put(f, V4_SRC, 4);
    put(f, V4_DST, 4);
    for (i = 0; i < optlen; i++)
        put8(f, 0x01);
    return off;
}

static void fix_ipv4_checksum(struct buf *f, uint32_t ip)
{
    set16(f, ip + 10, 0);
    set16(f, ip + 10, checksum(f->b + ip, (f->b[ip] & 0x0f) * 4u, 0));
}

static void finish_ipv4(struct buf *f, uint32_t ip)
{
    set16(f, ip + 2, (uint16_t)(f->n - ip));
    fix_ipv4_checksum(f, ip);
}

static uint32_t put_ipv6(struct buf *f, uint8_t nh)
{
    uint32_t off = put32(f, 0x60000000);

    put16(f, 0);
    put8(f, nh);
    put8(f, 64);
    put(f, V6_SRC, 16);
    put(f, V6_DST, 16);
    return off;
}

static void finish_ipv6(struct buf *f, uint32_t ip)
{
    set16(f, ip + 4, (uint16_t)(f->n - ip - 40));
}

/* Hop-by-hop, destination options, routing or mobility header of len
 * bytes (a multiple of 8); the zero bytes are Pad1 options. */
static uint32_t put_ext(struct buf *f, uint8_t nh, uint32_t len)
{
    uint32_t off = put8(f, nh), i;

    put8(f, (uint8_t)(len / 8 - 1));
    for (i = 2; i < len; i++)
        put8(f, 0);
    return off;
}

static uint32_t put_routing(struct buf *f, uint8_t nh, uint8_t segments_left)
{
    uint32_t off = put_ext(f, nh, 24);

    f->b[off + 2] = 2; /* type 2, as Mobile IPv6 uses */
    f->b[off + 3] = segments_left;
    return off;
}

static uint32_t put_ah(struct buf *f, uint8_t nh, uint32_t len)
{
    uint32_t off = put8(f, nh), i;

    put8(f, (uint8_t)(len / 4 - 2));
    for (i = 2; i < len; i++)
        put8(f, 0x11);
    return off;
}

static uint32_t put_frag6(struct buf *f, uint8_t nh, uint16_t offset, int more, uint32_t id)
{
    uint32_t off = put8(f, nh);

    put8(f, 0);
    put16(f, (uint16_t)(offset | (more ? 1 : 0)));
    put32(f, id);
    return off;
}

/* TCP header with optlen bytes of options: MSS, then NOPs. */
static uint32_t put_tcp(struct buf *f, uint16_t sport, uint16_t dport, uint32_t seq, uint32_t ack,
                        uint8_t flags, uint32_t optlen)
{
    uint32_t off = put16(f, sport), i;

    put16(f, dport);
    put32(f, seq);
    put32(f, ack);
    put8(f, (uint8_t)((20 + optlen) / 4 << 4));
    put8(f, flags);
    put16(f, 29200);
    put16(f, 0);
    put16(f, 0);
    for (i = 0; i < optlen; i++)
        put8(f, i == 0 ? 2 : i == 1 ? 4 : i == 2 ? 0x05 : i == 3 ? 0xb4 : 0x01);
    return off;
}

static uint32_t put_udp(struct buf *f, uint16_t sport, uint16_t dport)
{
    uint32_t off = put16(f, sport);

    put16(f, dport);
    put16(f, 0);
    put16(f, 0);
    return off;
}

static void finish_udp(struct buf *f, uint32_t udp)
{
    set16(f, udp + 4, (uint16_t)(f->n - udp));
}

static uint32_t put_icmp(struct buf *f, uint8_t type, uint8_t code, uint32_t rest)
{
    uint32_t off = put8(f, type);

    put8(f, code);
    put16(f, 0);
    put32(f, rest);
    return off;
}

/* The transport checksum of the segment from l4 to the end of the frame;
 * field is the checksum's offset inside the header. */
static void finish_checksum(struct buf *f, uint32_t ip, uint32_t l4, uint8_t proto, uint32_t field)
{
    uint32_t len = f->n - l4, acc = 0;
    int v6 = f->b[ip] >> 4 == 6;

    set16(f, l4 + field, 0);
    if (proto != 1) {
        const uint8_t *src = f->b + ip + (v6 ? 8 : 12);
        uint32_t alen = v6 ? 16 : 4, i;

        for (i = 0; i < 2 * alen; i += 2)
            acc += (uint32_t)(src[i] << 8 | src[i + 1]);
        acc += proto + (len >> 16) + (len & 0xffff);
    }
    set16(f, l4 + field, checksum(f->b + l4, len, acc));
}

/* ---- decoding ----------------------------------------------------------- */

struct result {
    enum fa_decode_result r;
    struct fa_packet pkt;
    long payload_off; /* offset of pkt.payload in the frame, -1 when NULL */
};

/* What decode.h promises of every result, whatever the input. */
static void check_invariants(const struct result *res, uint32_t caplen)
{
    const struct fa_packet *p = &res->pkt;

    assert_true(res->r < FA_DECODE_NREASONS);
    if (res->payload_off < 0) {
        assert_int_equal(p->payload_caplen, 0);
    } else {
        assert_true(p->payload_caplen > 0);
        assert_true((uint64_t)res->payload_off + p->payload_caplen <= caplen);
    }
    if (res->r != FA_DECODE_OK)
        return;
    assert_true(p->payload_caplen <= p->payload_len);
    assert_true(p->ip_version == 4 || p->ip_version == 6);
    if (p->ip_version == 4) {
        assert_true(fa_addr_is_v4(&p->src));
        assert_true(fa_addr_is_v4(&p->dst));
    }
    if (!p->has_ports) {
        assert_int_equal(p->sport, 0);
        assert_int_equal(p->dport, 0);
        assert_int_equal(p->tcp_flags, 0);
        assert_int_equal(p->tcp_seq, 0);
    }
    if (p->has_ports)
        assert_true(p->proto == FA_PROTO_TCP || p->proto == FA_PROTO_UDP);
    if (p->frag_offset)
        assert_false(p->has_ports || p->has_icmp);
    if (!p->has_icmp)
        assert_false(p->has_quoted);
    if (!p->has_quoted)
        assert_false(p->quoted.has_ports);
    if (!p->is_fragment) {
        assert_int_equal(p->frag_offset, 0);
        assert_int_equal(p->more_fragments, 0);
    }
}

/* Decodes the first caplen bytes of f from an exactly-sized heap copy. */
static struct result decode_prefix(int dlt, const struct buf *f, uint32_t caplen, unsigned flags)
{
    struct result res;
    uint8_t *copy = malloc(caplen);

    assert_true(caplen <= f->n);
    if (caplen)
        assert_non_null(copy);
    if (copy)
        memcpy(copy, f->b, caplen);
    res.r = fa_decode(dlt, copy, caplen, f->n, flags, &res.pkt);
    res.payload_off = res.pkt.payload ? (long)(res.pkt.payload - copy) : -1;
    if (res.pkt.payload) {
        assert_true(res.pkt.payload >= copy);
        assert_true(res.pkt.payload + res.pkt.payload_caplen <= copy + caplen);
    }
    if (res.r == FA_DECODE_OK) {
        assert_true(res.pkt.ip >= copy);
        assert_true(res.pkt.ip + res.pkt.ip_caplen <= copy + caplen);
        assert_true(res.pkt.ip_caplen <= res.pkt.ip_len);
    }
    free(copy);
    res.pkt.payload = NULL; /* it pointed into the copy */
    res.pkt.ip = NULL;
    check_invariants(&res, caplen);
    return res;
}

static struct result decode_flags(int dlt, const struct buf *f, unsigned flags)
{
    return decode_prefix(dlt, f, f->n, flags);
}

static struct result decode(int dlt, const struct buf *f)
{
    return decode_prefix(dlt, f, f->n, 0);
}

static void assert_v4_pair(const struct fa_packet *p)
{
    struct fa_addr src = {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1}};
    struct fa_addr dst = {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 198, 51, 100, 2}};

    assert_int_equal(p->ip_version, 4);
    assert_memory_equal(p->src.b, src.b, 16);
    assert_memory_equal(p->dst.b, dst.b, 16);
}

static void assert_v6_pair(const struct fa_packet *p)
{
    assert_int_equal(p->ip_version, 6);
    assert_memory_equal(p->src.b, V6_SRC, 16);
    assert_memory_equal(p->dst.b, V6_DST, 16);
}

/* ---- canned IP packets -------------------------------------------------- */

/* IPv4 + TCP SYN 1234 -> 80 with 10 payload bytes, appended to f. */
static uint32_t put_ipv4_tcp(struct buf *f)
{
    uint32_t ip = put_ipv4(f, FA_PROTO_TCP, 0, 0);
    uint32_t tcp = put_tcp(f, 1234, 80, 1000, 0, FA_TCP_SYN, 0);

    put_fill(f, 10);
    finish_ipv4(f, ip);
    finish_checksum(f, ip, tcp, FA_PROTO_TCP, 16);
    return ip;
}

/* IPv6 + UDP 5353 -> 53 with 12 payload bytes. */
static uint32_t put_ipv6_udp(struct buf *f)
{
    uint32_t ip = put_ipv6(f, FA_PROTO_UDP);
    uint32_t udp = put_udp(f, 5353, 53);

    put_fill(f, 12);
    finish_udp(f, udp);
    finish_ipv6(f, ip);
    finish_checksum(f, ip, udp, FA_PROTO_UDP, 6);
    return ip;
}

static void assert_ipv4_tcp(const struct result *res, uint32_t ip_off)
{
    assert_int_equal(res->r, FA_DECODE_OK);
    assert_v4_pair(&res->pkt);
    assert_int_equal(res->pkt.proto, FA_PROTO_TCP);
    assert_int_equal(res->pkt.sport, 1234);
    assert_int_equal(res->pkt.dport, 80);
    assert_int_equal(res->pkt.ip_len, 50);
    assert_int_equal(res->pkt.payload_len, 10);
    assert_int_equal(res->payload_off, ip_off + 40);
}

static void assert_ipv6_udp(const struct result *res, uint32_t ip_off)
{
    assert_int_equal(res->r, FA_DECODE_OK);
    assert_v6_pair(&res->pkt);
    assert_int_equal(res->pkt.proto, FA_PROTO_UDP);
    assert_int_equal(res->pkt.sport, 5353);
    assert_int_equal(res->pkt.dport, 53);
    assert_int_equal(res->pkt.ip_len, 60);
    assert_int_equal(res->pkt.payload_len, 12);
    assert_int_equal(res->payload_off, ip_off + 48);
}

/* ---- link layers -------------------------------------------------------- */

static void ethernet_ipv4_tcp_decodes_every_field(void **state)
{
    struct buf f = {.n = 0};
    struct result res;
    uint32_t ip, tcp;

    (void)state;
    put_eth(&f, 0x0800);
    ip = put_ipv4(&f, FA_PROTO_TCP, 0, 0x4000 /* DF */);
    tcp = put_tcp(&f, 44321, 443, 0x01020304, 0xa0b0c0d0, FA_TCP_ACK | FA_TCP_PSH | 0xc0, 0);
    put_fill(&f, 7);
    finish_ipv4(&f, ip);
    finish_checksum(&f, ip, tcp, FA_PROTO_TCP, 16);

    res = decode(FA_DLT_EN10MB, &f);
    assert_int_equal(res.r, FA_DECODE_OK);
    assert_v4_pair(&res.pkt);
    assert_int_equal(res.pkt.proto, FA_PROTO_TCP);
    assert_int_equal(res.pkt.has_ports, 1);
    assert_int_equal(res.pkt.truncated, 0);
    assert_int_equal(res.pkt.sport, 44321);
    assert_int_equal(res.pkt.dport, 443);
    assert_int_equal(res.pkt.ip_len, 47);
    assert_int_equal(res.pkt.payload_len, 7);
    assert_int_equal(res.pkt.payload_caplen, 7);
    assert_int_equal(res.payload_off, 54);
    /* ECE and CWR are not among the six flags kept. */
    assert_int_equal(res.pkt.tcp_flags, FA_TCP_ACK | FA_TCP_PSH);
    assert_int_equal(res.pkt.tcp_seq, 0x01020304);
    assert_int_equal(res.pkt.tcp_ack, 0xa0b0c0d0);
    assert_int_equal(res.pkt.tcp_window, 29200);
    assert_int_equal(res.pkt.is_fragment, 0);
    assert_int_equal(res.pkt.frag_id, 0);
    assert_int_equal(res.pkt.has_icmp, 0);
    assert_int_equal(res.pkt.has_quoted, 0);
    assert_int_equal(decode_flags(FA_DLT_EN10MB, &f, FA_DECODE_VERIFY_CHECKSUMS).r, FA_DECODE_OK);
}

static void ethernet_padding_is_not_payload(void **state)
{
    struct buf f = {.n = 0};
    struct result res;
    uint32_t ip, udp;

    (void)state;
    put_eth(&f, 0x0800);
    ip = put_ipv4(&f, FA_PROTO_UDP, 0, 0);
    udp = put_udp(&f, 1000, 2000);
    put_fill(&f, 2);
    finish_udp(&f, udp);
    finish_ipv4(&f, ip);
    finish_checksum(&f, ip, udp, FA_PROTO_UDP, 6);
    while (f.n < 60)
        put8(&f, 0);

    res = decode_flags(FA_DLT_EN10MB, &f, FA_DECODE_VERIFY_CHECKSUMS);
    assert_int_equal(res.r, FA_DECODE_OK);
    assert_int_equal(res.pkt.ip_len, 30);
    assert_int_equal(res.pkt.payload_len, 2);
    assert_int_equal(res.pkt.payload_caplen, 2);
    assert_int_equal(res.pkt.truncated, 0);
    /* The segment counts as captured whole, so its checksum is judged. */
    f.b[udp + 8] ^= 0x01;
    assert_int_equal(decode_flags(FA_DLT_EN10MB, &f, FA_DECODE_VERIFY_CHECKSUMS).r,
                     FA_DECODE_BAD_CHECKSUM);
}

static void ethernet_padding_is_not_quoted(void **state)
{
    struct buf f = {.n = 0};
    struct result res;
    uint32_t ip, q;

    (void)state;
    /* An ICMP error quoting only the IP header: the padding after it must
     * not be taken for the quoted ports. */
    put_eth(&f, 0x0800);
    ip = put_ipv4(&f, FA_PROTO_ICMP, 0, 0);
    put_icmp(&f, 11, 0, 0);
    q = put_ipv4(&f, FA_PROTO_UDP, 0, 0);
    finish_ipv4(&f, ip);
    while (f.n < 80)
        put8(&f, 0);

    res = decode(FA_DLT_EN10MB, &f);
    assert_int_equal(res.r, FA_DECODE_OK);
    assert_int_equal(res.pkt.ip_len, 48);
    assert_int_equal(res.pkt.payload_len, 20);
    assert_int_equal(res.pkt.payload_caplen, 20);
    assert_int_equal(res.payload_off, q);
    assert_int_equal(res.pkt.has_quoted, 1);
    assert_int_equal(res.pkt.quoted.proto, FA_PROTO_UDP);
    assert_int_equal(res.pkt.quoted.has_ports, 0);
}

static void vlan_8021q_tag_is_skipped(void **state)
{
    struct buf f = {.n = 0};
    uint32_t ip;
    struct result res;

    (void)state;
    put_eth(&f, 0x8100);
    put_tag(&f, 100, 0x0800);
    ip = put_ipv4_tcp(&f);
    assert_int_equal(ip, 18);
    res = decode(FA_DLT_EN10MB, &f);
    assert_ipv4_tcp(&res, ip);
}

static void qinq_88a8_then_8100_is_skipped(void **state)
{
    struct buf f = {.n = 0};
    uint32_t ip;
    struct result res;

    (void)state;
    put_eth(&f, 0x88a8);
    put_tag(&f, 10, 0x8100);
    put_tag(&f, 20, 0x0800);
    ip = put_ipv4_tcp(&f);
    assert_int_equal(ip, 22);
    res = decode(FA_DLT_EN10MB, &f);
    assert_ipv4_tcp(&res, ip);
}

/* 802.1ah: the I-TAG, then a whole customer Ethernet header. */
static void pbb_inner_ethernet_is_skipped(void **state)
{
    static const uint8_t inner_macs[12] = {2, 0, 0, 0, 0, 3, 2, 0, 0, 0, 0, 4};
    struct buf f = {.n = 0};
    uint32_t ip;
    struct result res;

    (void)state;
    put_eth(&f, 0x8100);
    put_tag(&f, 4051, 0x88e7);
    put16(&f, 0x0100);
    put16(&f, 0x0fa0);
    put(&f, inner_macs, sizeof inner_macs);
    put16(&f, 0x0800);
    ip = put_ipv4_tcp(&f);
    assert_int_equal(ip, 36);
    res = decode(FA_DLT_EN10MB, &f);
    assert_ipv4_tcp(&res, ip);
    /* Cut inside the inner Ethernet header: a link-layer truncation. */
    f.n = 30;
    res = decode(FA_DLT_EN10MB, &f);
    assert_int_equal(res.r, FA_DECODE_TRUNCATED_LINK);
}

/* Cisco VN-Tag: four bytes of tag, then the next ethertype. */
static void vntag_is_skipped(void **state)
{
    struct buf f = {.n = 0};
    uint32_t ip;
    struct result res;

    (void)state;
    put_eth(&f, 0x8926);
    put16(&f, 0x0000);
    put16(&f, 0x0033);
    put16(&f, 0x8100);
    put_tag(&f, 250, 0x0800);
    ip = put_ipv4_tcp(&f);
    assert_int_equal(ip, 24);
    res = decode(FA_DLT_EN10MB, &f);
    assert_ipv4_tcp(&res, ip);
    f.n = 18;
    res = decode(FA_DLT_EN10MB, &f);
    assert_int_equal(res.r, FA_DECODE_TRUNCATED_LINK);
}

static void vlan_9100_tag_is_skipped(void **state)
{
    struct buf f = {.n = 0};
    uint32_t ip;
    struct result res;

    (void)state;
    put_eth(&f, 0x9100);
    put_tag(&f, 30, 0x86dd);
    ip = put_ipv6_udp(&f);
    res = decode(FA_DLT_EN10MB, &f);
    assert_ipv6_udp(&res, ip);
}

static void deep_vlan_stack_is_followed(void **state)
{
    struct buf f = {.n = 0};
    uint32_t ip, i;
    struct result res;

    (void)state;
    put_eth(&f, 0x8100);
    for (i = 0; i < 7; i++)
        put_tag(&f, (uint16_t)i, i == 6 ? 0x0800 : 0x8100);
    ip = put_ipv4_tcp(&f);
    res = decode(FA_DLT_EN10MB, &f);
    assert_ipv4_tcp(&res, ip);
}

static void mpls_two_labels_then_ipv4(void **state)
{
    struct buf f = {.n = 0};
    uint32_t ip;
    struct result res;

    (void)state;
    put_eth(&f, 0x8847);
    put_mpls(&f, 1000, 0);
    put_mpls(&f, 2000, 1);
    ip = put_ipv4_tcp(&f);
    res = decode(FA_DLT_EN10MB, &f);
    assert_ipv4_tcp(&res, ip);
}

static void mpls_multicast_then_ipv6(void **state)
{
    struct buf f = {.n = 0};
    uint32_t ip;
    struct result res;

    (void)state;
    put_eth(&f, 0x8848);
    put_mpls(&f, 16, 1);
    ip = put_ipv6_udp(&f);
    res = decode(FA_DLT_EN10MB, &f);
    assert_ipv6_udp(&res, ip);
}

static void mpls_non_ip_payload_is_not_ip(void **state)
{
    struct buf f = {.n = 0};

    (void)state;
    put_eth(&f, 0x8847);
    put_mpls(&f, 16, 1);
    put32(&f, 0); /* pseudowire control word */
    put_fill(&f, 40);
    assert_int_equal(decode(FA_DLT_EN10MB, &f).r, FA_DECODE_NOT_IP);
}

static void pppoe_session_ipv4_and_ipv6(void **state)
{
    struct buf f = {.n = 0};
    uint32_t ip;
    struct result res;

    (void)state;
    put_eth(&f, 0x8864);
    put_pppoe(&f, 0x0021);
    ip = put_ipv4_tcp(&f);
    assert_int_equal(ip, 22);
    res = decode(FA_DLT_EN10MB, &f);
    assert_ipv4_tcp(&res, ip);

    f.n = 0;
    put_eth(&f, 0x8864);
    put_pppoe(&f, 0x0057);
    ip = put_ipv6_udp(&f);
    res = decode(FA_DLT_EN10MB, &f);
    assert_ipv6_udp(&res, ip);
}

static void pppoe_control_and_discovery_are_not_ip(void **state)
{
    struct buf f = {.n = 0};

    (void)state;
    put_eth(&f, 0x8864);
    put_pppoe(&f, 0xc021); /* LCP */
    put_fill(&f, 30);
    assert_int_equal(decode(FA_DLT_EN10MB, &f).r, FA_DECODE_NOT_IP);

    f.n = 0;
    put_eth(&f, 0x8863);
    put_fill(&f, 30);
    assert_int_equal(decode(FA_DLT_EN10MB, &f).r, FA_DECODE_NOT_IP);

    /* Not PPPoE version 1 session data, whatever the protocol field says. */
    f.n = 0;
    put_eth(&f, 0x8864);
    put_pppoe(&f, 0x0021);
    put_ipv4_tcp(&f);
    f.b[14] = 0x21;
    assert_int_equal(decode(FA_DLT_EN10MB, &f).r, FA_DECODE_NOT_IP);
    f.b[14] = 0x11;
    f.b[15] = 0x07; /* PADO */
    assert_int_equal(decode(FA_DLT_EN10MB, &f).r, FA_DECODE_NOT_IP);
}

static void llc_snap_frame_carries_ipv4(void **state)
{
    struct buf f = {.n = 0};
    static const uint8_t snap[6] = {0xaa, 0xaa, 0x03, 0, 0, 0};
    uint32_t ip;
    struct result res;

    (void)state;
    put_eth(&f, 58); /* an 802.3 length */
    put(&f, snap, sizeof snap);
    put16(&f, 0x0800);
    ip = put_ipv4_tcp(&f);
    res = decode(FA_DLT_EN10MB, &f);
    assert_ipv4_tcp(&res, ip);
}

static void non_ip_frames_are_not_ip(void **state)
{
    static const uint16_t types[] = {0x0806 /* ARP */, 0x88cc /* LLDP */, 0x88e5 /* MACsec */,
                                     0x0801};
    static const uint8_t stp[3] = {0x42, 0x42, 0x03};
    static const uint8_t cdp[8] = {0xaa, 0xaa, 0x03, 0x00, 0x00, 0x0c, 0x20, 0x00};
    struct buf f;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof types / sizeof types[0]; i++) {
        f.n = 0;
        put_eth(&f, types[i]);
        put_fill(&f, 46);
        assert_int_equal(decode(FA_DLT_EN10MB, &f).r, FA_DECODE_NOT_IP);
    }
    f.n = 0;
    put_eth(&f, 38);
    put(&f, stp, sizeof stp);
    put_fill(&f, 35);
    assert_int_equal(decode(FA_DLT_EN10MB, &f).r, FA_DECODE_NOT_IP);
    f.n = 0;
    put_eth(&f, 46);
    put(&f, cdp, sizeof cdp);
    put_fill(&f, 38);
    assert_int_equal(decode(FA_DLT_EN10MB, &f).r, FA_DECODE_NOT_IP);
}

static void sll_ipv4_and_vlan_tagged_ipv4(void **state)
{
    struct buf f = {.n = 0};
    uint32_t ip;
    struct result res;

    (void)state;
    put_sll(&f, 0x0800);
    ip = put_ipv4_tcp(&f);
    assert_int_equal(ip, 16);
    res = decode(FA_DLT_LINUX_SLL, &f);
    assert_ipv4_tcp(&res, ip);

    f.n = 0;
    put_sll(&f, 0x8100);
    put_tag(&f, 5, 0x0800);
    ip = put_ipv4_tcp(&f);
    res = decode(FA_DLT_LINUX_SLL, &f);
    assert_ipv4_tcp(&res, ip);

    f.n = 0;
    put_sll(&f, 0x0806);
    put_fill(&f, 28);
    assert_int_equal(decode(FA_DLT_LINUX_SLL, &f).r, FA_DECODE_NOT_IP);
}

static void sll2_ipv6_and_ipv4(void **state)
{
    struct buf f = {.n = 0};
    uint32_t ip;
    struct result res;

    (void)state;
    put_sll2(&f, 0x86dd);
    ip = put_ipv6_udp(&f);
    assert_int_equal(ip, 20);
    res = decode(FA_DLT_LINUX_SLL2, &f);
    assert_ipv6_udp(&res, ip);

    f.n = 0;
    put_sll2(&f, 0x0800);
    ip = put_ipv4_tcp(&f);
    res = decode(FA_DLT_LINUX_SLL2, &f);
    assert_ipv4_tcp(&res, ip);
}

static void raw_link_types_follow_the_version_nibble(void **state)
{
    static const int dlts[] = {FA_DLT_RAW, FA_DLT_RAW_BSD, FA_DLT_LINKTYPE_RAW};
    struct buf v4 = {.n = 0}, v6 = {.n = 0};
    struct result res;
    size_t i;

    (void)state;
    put_ipv4_tcp(&v4);
    put_ipv6_udp(&v6);
    for (i = 0; i < sizeof dlts / sizeof dlts[0]; i++) {
        res = decode(dlts[i], &v4);
        assert_ipv4_tcp(&res, 0);
        res = decode(dlts[i], &v6);
        assert_ipv6_udp(&res, 0);
    }
    v4.b[0] = 0x55;
    assert_int_equal(decode(FA_DLT_RAW, &v4).r, FA_DECODE_BAD_IP_VERSION);
}

static void ipv4_and_ipv6_link_types_insist_on_their_version(void **state)
{
    struct buf v4 = {.n = 0}, v6 = {.n = 0};
    struct result res;

    (void)state;
    put_ipv4_tcp(&v4);
    put_ipv6_udp(&v6);
    res = decode(FA_DLT_IPV4, &v4);
    assert_ipv4_tcp(&res, 0);
    res = decode(FA_DLT_IPV6, &v6);
    assert_ipv6_udp(&res, 0);
    assert_int_equal(decode(FA_DLT_IPV4, &v6).r, FA_DECODE_BAD_IP_VERSION);
    assert_int_equal(decode(FA_DLT_IPV6, &v4).r, FA_DECODE_BAD_IP_VERSION);
}

static void null_loopback_accepts_either_byte_order(void **state)
{
    static const uint32_t v6_families[] = {10, 24, 28, 30};
    struct buf f;
    struct result res;
    size_t i;
    int le;

    (void)state;
    for (le = 0; le < 2; le++) {
        f.n = 0;
        le ? put32le(&f, 2) : put32(&f, 2);
        put_ipv4_tcp(&f);
        res = decode(FA_DLT_NULL, &f);
        assert_ipv4_tcp(&res, 4);
        for (i = 0; i < sizeof v6_families / sizeof v6_families[0]; i++) {
            f.n = 0;
            le ? put32le(&f, v6_families[i]) : put32(&f, v6_families[i]);
            put_ipv6_udp(&f);
            res = decode(FA_DLT_NULL, &f);
            assert_ipv6_udp(&res, 4);
        }
        f.n = 0;
        le ? put32le(&f, 7) : put32(&f, 7);
        put_ipv4_tcp(&f);
        assert_int_equal(decode(FA_DLT_NULL, &f).r, FA_DECODE_NOT_IP);
    }
}

static void loop_loopback_is_network_order_only(void **state)
{
    struct buf f = {.n = 0};
    struct result res;

    (void)state;
    put32(&f, 2);
    put_ipv4_tcp(&f);
    res = decode(FA_DLT_LOOP, &f);
    assert_ipv4_tcp(&res, 4);

    f.n = 0;
    put32(&f, 24);
    put_ipv6_udp(&f);
    res = decode(FA_DLT_LOOP, &f);
    assert_ipv6_udp(&res, 4);

    f.n = 0;
    put32le(&f, 2);
    put_ipv4_tcp(&f);
    assert_int_equal(decode(FA_DLT_LOOP, &f).r, FA_DECODE_NOT_IP);
}

static void ppp_with_and_without_address_and_control(void **state)
{
    struct buf f = {.n = 0};
    struct result res;

    (void)state;
    put8(&f, 0xff);
    put8(&f, 0x03);
    put16(&f, 0x0021);
    put_ipv4_tcp(&f);
    res = decode(FA_DLT_PPP, &f);
    assert_ipv4_tcp(&res, 4);

    f.n = 0;
    put16(&f, 0x0057);
    put_ipv6_udp(&f);
    res = decode(FA_DLT_PPP, &f);
    assert_ipv6_udp(&res, 2);

    /* Protocol field compression: one byte, 0x21. */
    f.n = 0;
    put8(&f, 0xff);
    put8(&f, 0x03);
    put8(&f, 0x21);
    put_ipv4_tcp(&f);
    res = decode(FA_DLT_PPP, &f);
    assert_ipv4_tcp(&res, 3);

    f.n = 0;
    put8(&f, 0xff);
    put8(&f, 0x03);
    put16(&f, 0xc021); /* LCP */
    put_fill(&f, 20);
    assert_int_equal(decode(FA_DLT_PPP, &f).r, FA_DECODE_NOT_IP);
}

static void ppp_serial_holds_ppp_or_cisco_hdlc(void **state)
{
    struct buf f = {.n = 0};
    struct result res;

    (void)state;
    put8(&f, 0xff);
    put8(&f, 0x03);
    put16(&f, 0x0057);
    put_ipv6_udp(&f);
    res = decode(FA_DLT_PPP_SERIAL, &f);
    assert_ipv6_udp(&res, 4);

    f.n = 0;
    put8(&f, 0x0f);
    put8(&f, 0x00);
    put16(&f, 0x0800);
    put_ipv4_tcp(&f);
    res = decode(FA_DLT_PPP_SERIAL, &f);
    assert_ipv4_tcp(&res, 4);
}

static void cisco_hdlc_carries_ipv4_and_ipv6(void **state)
{
    struct buf f = {.n = 0};
    struct result res;

    (void)state;
    put8(&f, 0x0f);
    put8(&f, 0x00);
    put16(&f, 0x0800);
    put_ipv4_tcp(&f);
    res = decode(FA_DLT_C_HDLC, &f);
    assert_ipv4_tcp(&res, 4);

    f.n = 0;
    put8(&f, 0x8f);
    put8(&f, 0x00);
    put16(&f, 0x86dd);
    put_ipv6_udp(&f);
    res = decode(FA_DLT_C_HDLC, &f);
    assert_ipv6_udp(&res, 4);

    f.n = 0;
    put8(&f, 0x8f);
    put8(&f, 0x00);
    put16(&f, 0x8035); /* SLARP */
    put_fill(&f, 20);
    assert_int_equal(decode(FA_DLT_C_HDLC, &f).r, FA_DECODE_NOT_IP);
}

static void unknown_link_type_is_unsupported(void **state)
{
    static const int known[] = {
        FA_DLT_NULL,       FA_DLT_EN10MB, FA_DLT_PPP,          FA_DLT_RAW,  FA_DLT_RAW_BSD,
        FA_DLT_PPP_SERIAL, FA_DLT_C_HDLC, FA_DLT_LINKTYPE_RAW, FA_DLT_LOOP, FA_DLT_LINUX_SLL,
        FA_DLT_IPV4,       FA_DLT_IPV6,   FA_DLT_LINUX_SLL2};
    struct buf f = {.n = 0};
    size_t i;

    (void)state;
    put_ipv4_tcp(&f);
    for (i = 0; i < sizeof known / sizeof known[0]; i++)
        assert_int_equal(fa_decode_link_supported(known[i]), 1);
    assert_int_equal(fa_decode_link_supported(105 /* 802.11 */), 0);
    assert_int_equal(fa_decode_link_supported(-1), 0);
    assert_int_equal(decode(105, &f).r, FA_DECODE_UNSUPPORTED_LINK);
    assert_int_equal(decode(127, &f).r, FA_DECODE_UNSUPPORTED_LINK);
}

/* ---- IPv4 --------------------------------------------------------------- */

static void ipv4_options_are_skipped(void **state)
{
    struct buf f = {.n = 0};
    struct result res;
    uint32_t ip, udp;

    (void)state;
    ip = put_ipv4(&f, FA_PROTO_UDP, 12, 0);
    udp = put_udp(&f, 67, 68);
    put_fill(&f, 5);
    finish_udp(&f, udp);
    finish_ipv4(&f, ip);
    finish_checksum(&f, ip, udp, FA_PROTO_UDP, 6);

    res = decode_flags(FA_DLT_RAW, &f, FA_DECODE_VERIFY_CHECKSUMS);
    assert_int_equal(res.r, FA_DECODE_OK);
    assert_int_equal(res.pkt.sport, 67);
    assert_int_equal(res.pkt.dport, 68);
    assert_int_equal(res.pkt.ip_len, 45);
    assert_int_equal(res.pkt.payload_len, 5);
    assert_int_equal(res.payload_off, 40);
}

static void ipv4_bad_header_lengths_are_rejected(void **state)
{
    struct buf f = {.n = 0};

    (void)state;
    put_ipv4_tcp(&f);
    f.b[0] = 0x44; /* IHL 4 */
    assert_int_equal(decode(FA_DLT_RAW, &f).r, FA_DECODE_BAD_IP_HEADER);
    f.b[0] = 0x45;
    set16(&f, 2, 19);
    assert_int_equal(decode(FA_DLT_RAW, &f).r, FA_DECODE_BAD_IP_HEADER);
    f.b[0] = 0x4f; /* 60-byte header, more than the total length */
    set16(&f, 2, 50);
    assert_int_equal(decode(FA_DLT_RAW, &f).r, FA_DECODE_BAD_IP_HEADER);
}

static void ipv4_total_length_beyond_capture_sets_truncated(void **state)
{
    struct buf f = {.n = 0};
    struct result res;

    (void)state;
    put_ipv4_tcp(&f);
    res = decode_prefix(FA_DLT_RAW, &f, 44, FA_DECODE_VERIFY_CHECKSUMS);
    assert_int_equal(res.r, FA_DECODE_OK);
    assert_int_equal(res.pkt.truncated, 1);
    assert_int_equal(res.pkt.ip_len, 50);
    assert_int_equal(res.pkt.payload_len, 10);
    assert_int_equal(res.pkt.payload_caplen, 4);
    assert_int_equal(res.payload_off, 40);
}

static void ipv4_zero_total_length_is_taken_as_offload(void **state)
{
    struct buf f = {.n = 0};
    struct result res;
    uint32_t ip;

    (void)state;
    put_eth(&f, 0x0800);
    ip = put_ipv4_tcp(&f);
    put_fill(&f, 1900);
    set16(&f, ip + 2, 0);
    fix_ipv4_checksum(&f, ip);

    res = decode_prefix(FA_DLT_EN10MB, &f, f.n, 0);
    assert_int_equal(res.r, FA_DECODE_OK);
    assert_int_equal(res.pkt.ip_len, f.n - 14);
    assert_int_equal(res.pkt.payload_len, f.n - 14 - 40);
    assert_int_equal(res.pkt.truncated, 0);
    /* Cut by the snap length, the wire length still gives ip_len. */
    res = decode_prefix(FA_DLT_EN10MB, &f, 96, 0);
    assert_int_equal(res.r, FA_DECODE_OK);
    assert_int_equal(res.pkt.ip_len, f.n - 14);
    assert_int_equal(res.pkt.truncated, 1);
    assert_int_equal(res.pkt.payload_caplen, 96 - 54);
    /* The NIC fills in the checksums, so they cannot be judged. */
    assert_int_equal(decode_flags(FA_DLT_EN10MB, &f, FA_DECODE_VERIFY_CHECKSUMS).r, FA_DECODE_OK);
}

static void ipv4_first_fragment_has_ports(void **state)
{
    struct buf f = {.n = 0};
    struct result res;
    uint32_t ip, udp;

    (void)state;
    ip = put_ipv4(&f, FA_PROTO_UDP, 0, 0x2000 /* MF */);
    udp = put_udp(&f, 4000, 4001);
    put_fill(&f, 16);
    set16(&f, udp + 4, 3000); /* the whole datagram */
    finish_ipv4(&f, ip);

    res = decode_flags(FA_DLT_RAW, &f, FA_DECODE_VERIFY_CHECKSUMS);
    assert_int_equal(res.r, FA_DECODE_OK);
    assert_int_equal(res.pkt.is_fragment, 1);
    assert_int_equal(res.pkt.more_fragments, 1);
    assert_int_equal(res.pkt.frag_offset, 0);
    assert_int_equal(res.pkt.frag_id, 0xbeef);
    assert_int_equal(res.pkt.has_ports, 1);
    assert_int_equal(res.pkt.sport, 4000);
    assert_int_equal(res.pkt.dport, 4001);
    assert_int_equal(res.pkt.payload_len, 16);

    /* A fragment's checksum covers the whole datagram: never judged. */
    f.n = 0;
    ip = put_ipv4(&f, FA_PROTO_TCP, 0, 0x2000);
    put_tcp(&f, 1, 2, 3, 4, FA_TCP_ACK, 0);
    put_fill(&f, 8);
    finish_ipv4(&f, ip);
    set16(&f, 36, 0x1234);
    assert_int_equal(decode_flags(FA_DLT_RAW, &f, FA_DECODE_VERIFY_CHECKSUMS).r, FA_DECODE_OK);
}

static void ipv4_later_fragment_has_no_ports(void **state)
{
    struct buf f = {.n = 0};
    struct result res;
    uint32_t ip;

    (void)state;
    ip = put_ipv4(&f, FA_PROTO_UDP, 4, 185 /* 1480 bytes */);
    put_fill(&f, 30);
    finish_ipv4(&f, ip);

    res = decode(FA_DLT_RAW, &f);
    assert_int_equal(res.r, FA_DECODE_OK);
    assert_int_equal(res.pkt.proto, FA_PROTO_UDP);
    assert_int_equal(res.pkt.is_fragment, 1);
    assert_int_equal(res.pkt.more_fragments, 0);
    assert_int_equal(res.pkt.frag_offset, 1480);
    assert_int_equal(res.pkt.frag_id, 0xbeef);
    assert_int_equal(res.pkt.has_ports, 0);
    assert_int_equal(res.pkt.ip_len, 54);
    assert_int_equal(res.pkt.payload_len, 30);
    assert_int_equal(res.pkt.payload_caplen, 30);
    assert_int_equal(res.payload_off, 24);
}

/* ---- IPv6 --------------------------------------------------------------- */

/* IPv6, the extension headers put_exts writes, then UDP 5353 -> 53. */
static struct result decode_v6_chain(void (*put_exts)(struct buf *), uint8_t first_nh,
                                     uint32_t *udp_off)
{
    struct buf f = {.n = 0};
    uint32_t ip = put_ipv6(&f, first_nh), udp;

    put_exts(&f);
    udp = put_udp(&f, 5353, 53);
    put_fill(&f, 4);
    finish_udp(&f, udp);
    finish_ipv6(&f, ip);
    finish_checksum(&f, ip, udp, FA_PROTO_UDP, 6);
    *udp_off = udp;
    return decode_flags(FA_DLT_RAW, &f, FA_DECODE_VERIFY_CHECKSUMS);
}

static void hbh_ext(struct buf *f)
{
    put_ext(f, FA_PROTO_UDP, 8);
}

static void routing_ext(struct buf *f)
{
    put_routing(f, FA_PROTO_UDP, 0);
}

static void dstopts_ext(struct buf *f)
{
    put_ext(f, FA_PROTO_UDP, 16);
}

static void ah_ext(struct buf *f)
{
    put_ah(f, FA_PROTO_UDP, 24);
}

static void mobility_ext(struct buf *f)
{
    put_ext(f, FA_PROTO_UDP, 8);
}

static void chain_ext(struct buf *f)
{
    put_ext(f, 43, 8);
    put_routing(f, 44, 0);
    put_frag6(f, 51, 0, 0, 7); /* atomic: not a fragment */
    put_ah(f, 60, 16);
    put_ext(f, FA_PROTO_UDP, 24);
}

static void ipv6_each_extension_header_is_walked(void **state)
{
    static const struct {
        void (*put)(struct buf *);
        uint8_t nh;
        uint32_t len;
    } cases[] = {{hbh_ext, 0, 8},  {routing_ext, 43, 24},  {dstopts_ext, 60, 16},
                 {ah_ext, 51, 24}, {mobility_ext, 135, 8}, {chain_ext, 0, 80}};
    struct result res;
    uint32_t udp;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        res = decode_v6_chain(cases[i].put, cases[i].nh, &udp);
        assert_int_equal(udp, 40 + cases[i].len);
        assert_int_equal(res.r, FA_DECODE_OK);
        assert_v6_pair(&res.pkt);
        assert_int_equal(res.pkt.proto, FA_PROTO_UDP);
        assert_int_equal(res.pkt.sport, 5353);
        assert_int_equal(res.pkt.dport, 53);
        assert_int_equal(res.pkt.ip_len, udp + 12);
        assert_int_equal(res.pkt.payload_len, 4);
        assert_int_equal(res.payload_off, udp + 8);
        assert_int_equal(res.pkt.is_fragment, 0);
    }
}

static void ipv6_first_and_later_fragments(void **state)
{
    struct buf f = {.n = 0};
    struct result res;
    uint32_t ip, tcp;

    (void)state;
    ip = put_ipv6(&f, 0);
    put_ext(&f, 44, 8);
    put_frag6(&f, FA_PROTO_TCP, 0, 1, 0xdeadbeef);
    tcp = put_tcp(&f, 22, 50000, 5, 6, FA_TCP_ACK, 0);
    put_fill(&f, 100);
    finish_ipv6(&f, ip);
    finish_checksum(&f, ip, tcp, FA_PROTO_TCP, 16);
    f.b[tcp + 16] ^= 0xff; /* fragments are never verified */

    res = decode_flags(FA_DLT_RAW, &f, FA_DECODE_VERIFY_CHECKSUMS);
    assert_int_equal(res.r, FA_DECODE_OK);
    assert_int_equal(res.pkt.proto, FA_PROTO_TCP);
    assert_int_equal(res.pkt.is_fragment, 1);
    assert_int_equal(res.pkt.more_fragments, 1);
    assert_int_equal(res.pkt.frag_offset, 0);
    assert_int_equal(res.pkt.frag_id, 0xdeadbeef);
    assert_int_equal(res.pkt.has_ports, 1);
    assert_int_equal(res.pkt.sport, 22);
    assert_int_equal(res.pkt.dport, 50000);
    assert_int_equal(res.pkt.payload_len, 100);

    f.n = 0;
    ip = put_ipv6(&f, 44);
    put_frag6(&f, FA_PROTO_TCP, 1232, 0, 0xdeadbeef);
    put_fill(&f, 60);
    finish_ipv6(&f, ip);
    res = decode(FA_DLT_RAW, &f);
    assert_int_equal(res.r, FA_DECODE_OK);
    assert_int_equal(res.pkt.proto, FA_PROTO_TCP);
    assert_int_equal(res.pkt.is_fragment, 1);
    assert_int_equal(res.pkt.more_fragments, 0);
    assert_int_equal(res.pkt.frag_offset, 1232);
    assert_int_equal(res.pkt.frag_id, 0xdeadbeef);
    assert_int_equal(res.pkt.has_ports, 0);
    assert_int_equal(res.pkt.ip_len, 108);
    assert_int_equal(res.pkt.payload_len, 60);
    assert_int_equal(res.pkt.payload_caplen, 60);
    assert_int_equal(res.payload_off, 48);

    /* Destination options in the fragmentable part: after a later
     * fragment's header comes the middle of the payload, not a header. */
    f.n = 0;
    ip = put_ipv6(&f, 44);
    put_frag6(&f, 60, 8, 1, 5);
    put8(&f, 60);
    put8(&f, 200); /* would claim 1608 bytes */
    put_fill(&f, 30);
    finish_ipv6(&f, ip);
    res = decode(FA_DLT_RAW, &f);
    assert_int_equal(res.r, FA_DECODE_OK);
    assert_int_equal(res.pkt.proto, 60);
    assert_int_equal(res.pkt.frag_offset, 8);
    assert_int_equal(res.pkt.payload_len, 32);
    assert_int_equal(res.payload_off, 48);
}

static void ipv6_no_next_header_and_esp_are_protocol_only(void **state)
{
    struct buf f = {.n = 0};
    struct result res;
    uint32_t ip;

    (void)state;
    ip = put_ipv6(&f, 60);
    put_ext(&f, 59, 8);
    put_fill(&f, 8);
    finish_ipv6(&f, ip);
    res = decode(FA_DLT_IPV6, &f);
    assert_int_equal(res.r, FA_DECODE_OK);
    assert_int_equal(res.pkt.proto, 59);
    assert_int_equal(res.pkt.has_ports, 0);
    assert_int_equal(res.pkt.payload_len, 8);
    assert_int_equal(res.payload_off, 48);

    f.n = 0;
    ip = put_ipv6(&f, 50);
    put32(&f, 0x1000); /* SPI */
    put_fill(&f, 36);
    finish_ipv6(&f, ip);
    res = decode(FA_DLT_IPV6, &f);
    assert_int_equal(res.r, FA_DECODE_OK);
    assert_int_equal(res.pkt.proto, 50);
    assert_int_equal(res.pkt.has_ports, 0);
    assert_int_equal(res.pkt.payload_len, 40);
    assert_int_equal(res.pkt.payload_caplen, 40);
    assert_int_equal(res.payload_off, 40);
}

static void ipv6_bad_extension_chains_are_rejected(void **state)
{
    struct buf f = {.n = 0};
    uint32_t ip, i, n;

    (void)state;
    /* A header longer than the payload length says is there. */
    ip = put_ipv6(&f, 60);
    put_ext(&f, FA_PROTO_UDP, 16);
    put_udp(&f, 1, 2);
    finish_ipv6(&f, ip);
    set16(&f, ip + 4, 12);
    assert_int_equal(decode(FA_DLT_IPV6, &f).r, FA_DECODE_BAD_IP_HEADER);

    /* Sixteen extension headers are walked; a seventeenth is refused. */
    for (n = 16; n <= 17; n++) {
        f.n = 0;
        ip = put_ipv6(&f, 60);
        for (i = 1; i <= n; i++)
            put_ext(&f, i == n ? FA_PROTO_UDP : 60, 8);
        put_udp(&f, 1, 2);
        finish_udp(&f, f.n - 8);
        finish_ipv6(&f, ip);
        assert_int_equal(decode(FA_DLT_IPV6, &f).r,
                         n == 16 ? FA_DECODE_OK : FA_DECODE_BAD_IP_HEADER);
    }
}

static void ipv6_zero_payload_length_uses_the_frame(void **state)
{
    struct buf f = {.n = 0};
    struct result res;

    (void)state;
    put_ipv6_udp(&f);
    set16(&f, 4, 0);
    res = decode(FA_DLT_IPV6, &f);
    assert_ipv6_udp(&res, 0);
}

/* ---- transport ---------------------------------------------------------- */

static void tcp_bad_data_offsets_are_rejected(void **state)
{
    struct buf f = {.n = 0};

    (void)state;
    put_ipv4_tcp(&f);
    f.b[32] = 0x40; /* 16 bytes */
    assert_int_equal(decode(FA_DLT_RAW, &f).r, FA_DECODE_BAD_TRANSPORT_HEADER);
    f.b[32] = 0xf0; /* 60 bytes, past the 30-byte IP payload */
    assert_int_equal(decode(FA_DLT_RAW, &f).r, FA_DECODE_BAD_TRANSPORT_HEADER);
    f.b[32] = 0x50;
    set16(&f, 2, 36); /* 16 bytes of TCP */
    fix_ipv4_checksum(&f, 0);
    assert_int_equal(decode(FA_DLT_RAW, &f).r, FA_DECODE_BAD_TRANSPORT_HEADER);
}

static void tcp_cut_in_options_still_gives_flags(void **state)
{
    struct buf f = {.n = 0};
    struct result res;
    uint32_t ip, tcp;

    (void)state;
    ip = put_ipv4(&f, FA_PROTO_TCP, 0, 0);
    tcp = put_tcp(&f, 5555, 80, 77, 88, FA_TCP_SYN | FA_TCP_ACK, 20);
    put_fill(&f, 10);
    finish_ipv4(&f, ip);
    finish_checksum(&f, ip, tcp, FA_PROTO_TCP, 16);

    res = decode_prefix(FA_DLT_RAW, &f, tcp + 16, FA_DECODE_VERIFY_CHECKSUMS);
    assert_int_equal(res.r, FA_DECODE_OK);
    assert_int_equal(res.pkt.truncated, 1);
    assert_int_equal(res.pkt.tcp_flags, FA_TCP_SYN | FA_TCP_ACK);
    assert_int_equal(res.pkt.tcp_seq, 77);
    assert_int_equal(res.pkt.tcp_ack, 88);
    assert_int_equal(res.pkt.tcp_window, 29200);
    assert_int_equal(res.pkt.payload_len, 10);
    assert_int_equal(res.pkt.payload_caplen, 0);
    assert_int_equal(res.payload_off, -1);
    assert_int_equal(decode_prefix(FA_DLT_RAW, &f, tcp + 15, 0).r, FA_DECODE_TRUNCATED_TRANSPORT);
}

static void udp_lengths(void **state)
{
    struct buf f = {.n = 0};
    struct result res;

    (void)state;
    put_ipv6_udp(&f);
    set16(&f, 44, 7);
    assert_int_equal(decode(FA_DLT_RAW, &f).r, FA_DECODE_BAD_TRANSPORT_HEADER);
    /* Shorter than the IP payload: the rest is not UDP payload. */
    set16(&f, 44, 13);
    res = decode(FA_DLT_RAW, &f);
    assert_int_equal(res.r, FA_DECODE_OK);
    assert_int_equal(res.pkt.payload_len, 5);
    assert_int_equal(res.pkt.payload_caplen, 5);
    /* Longer: never more than the IP payload. */
    set16(&f, 44, 1000);
    res = decode(FA_DLT_RAW, &f);
    assert_int_equal(res.r, FA_DECODE_OK);
    assert_int_equal(res.pkt.payload_len, 12);
    /* An IP payload too short for a UDP header. */
    set16(&f, 4, 6);
    assert_int_equal(decode(FA_DLT_RAW, &f).r, FA_DECODE_BAD_TRANSPORT_HEADER);
}

static void icmp_echo_request_gives_type_code_and_id(void **state)
{
    struct buf f = {.n = 0};
    struct result res;
    uint32_t ip, icmp;

    (void)state;
    ip = put_ipv4(&f, FA_PROTO_ICMP, 0, 0);
    icmp = put_icmp(&f, 8, 0, 0x4242 << 16 | 1);
    /* Echo data that looks like a packet is still not a quotation. */
    put_ipv4(&f, FA_PROTO_UDP, 0, 0);
    put_fill(&f, 36);
    finish_ipv4(&f, ip);
    finish_checksum(&f, ip, icmp, FA_PROTO_ICMP, 2);

    res = decode_flags(FA_DLT_RAW, &f, FA_DECODE_VERIFY_CHECKSUMS);
    assert_int_equal(res.r, FA_DECODE_OK);
    assert_int_equal(res.pkt.proto, FA_PROTO_ICMP);
    assert_int_equal(res.pkt.has_icmp, 1);
    assert_int_equal(res.pkt.has_ports, 0);
    assert_int_equal(res.pkt.icmp_type, 8);
    assert_int_equal(res.pkt.icmp_code, 0);
    assert_int_equal(res.pkt.icmp_id, 0x4242);
    assert_int_equal(res.pkt.payload_len, 56);
    assert_int_equal(res.payload_off, 28);
    assert_int_equal(res.pkt.has_quoted, 0);

    /* Type and code are enough; the id needs its bytes. */
    res = decode_prefix(FA_DLT_RAW, &f, 22, 0);
    assert_int_equal(res.r, FA_DECODE_OK);
    assert_int_equal(res.pkt.has_icmp, 1);
    assert_int_equal(res.pkt.icmp_type, 8);
    assert_int_equal(res.pkt.icmp_id, 0);
    assert_int_equal(decode_prefix(FA_DLT_RAW, &f, 21, 0).r, FA_DECODE_TRUNCATED_TRANSPORT);
}

static void icmpv6_echo_reply_gives_type_code_and_id(void **state)
{
    struct buf f = {.n = 0};
    struct result res;
    uint32_t ip, icmp;

    (void)state;
    ip = put_ipv6(&f, FA_PROTO_ICMPV6);
    icmp = put_icmp(&f, 129, 0, 0x0777 << 16 | 9);
    put_fill(&f, 16);
    finish_ipv6(&f, ip);
    finish_checksum(&f, ip, icmp, FA_PROTO_ICMPV6, 2);

    res = decode_flags(FA_DLT_RAW, &f, FA_DECODE_VERIFY_CHECKSUMS);
    assert_int_equal(res.r, FA_DECODE_OK);
    assert_int_equal(res.pkt.proto, FA_PROTO_ICMPV6);
    assert_int_equal(res.pkt.has_icmp, 1);
    assert_int_equal(res.pkt.icmp_type, 129);
    assert_int_equal(res.pkt.icmp_id, 0x0777);
    assert_int_equal(res.pkt.payload_len, 16);
    assert_int_equal(res.pkt.has_quoted, 0);
}

static void gre_is_protocol_only(void **state)
{
    struct buf f = {.n = 0};
    struct result res;
    uint32_t ip;

    (void)state;
    ip = put_ipv4(&f, 47, 0, 0);
    put16(&f, 0);
    put16(&f, 0x0800);
    put_fill(&f, 20);
    finish_ipv4(&f, ip);
    res = decode(FA_DLT_RAW, &f);
    assert_int_equal(res.r, FA_DECODE_OK);
    assert_int_equal(res.pkt.proto, 47);
    assert_int_equal(res.pkt.has_ports, 0);
    assert_int_equal(res.pkt.has_icmp, 0);
    assert_int_equal(res.pkt.ip_len, 44);
    assert_int_equal(res.pkt.payload_len, 24);
    assert_int_equal(res.pkt.payload_caplen, 24);
    assert_int_equal(res.payload_off, 20);
}

/* ICMP port unreachable from 198.51.100.2 about a TCP SYN 192.0.2.1:1234 ->
 * 198.51.100.2:80 whose header had 4 bytes of options, quoted with the
 * first 8 bytes of TCP as RFC 792 asks. */
static uint32_t put_icmp_unreachable_for_syn(struct buf *f, uint32_t *quoted_ip)
{
    uint32_t ip = put_ipv4(f, FA_PROTO_ICMP, 0, 0), icmp, q;

    icmp = put_icmp(f, 3, 3, 0);
    q = put_ipv4(f, FA_PROTO_TCP, 4, 0x4000);
    set16(f, q + 2, 64);
    fix_ipv4_checksum(f, q);
    put16(f, 1234);
    put16(f, 80);
    put32(f, 0x11111111);
    finish_ipv4(f, ip);
    finish_checksum(f, ip, icmp, FA_PROTO_ICMP, 2);
    *quoted_ip = q;
    return icmp;
}

static void icmp_unreachable_quotes_the_tcp_syn(void **state)
{
    struct buf f = {.n = 0};
    struct result res;
    uint32_t q;

    (void)state;
    put_icmp_unreachable_for_syn(&f, &q);
    res = decode_flags(FA_DLT_RAW, &f, FA_DECODE_VERIFY_CHECKSUMS);
    assert_int_equal(res.r, FA_DECODE_OK);
    assert_int_equal(res.pkt.icmp_type, 3);
    assert_int_equal(res.pkt.icmp_code, 3);
    assert_int_equal(res.pkt.icmp_id, 0);
    assert_int_equal(res.pkt.payload_len, 32);
    assert_int_equal(res.pkt.has_quoted, 1);
    assert_int_equal(res.pkt.quoted.proto, FA_PROTO_TCP);
    assert_int_equal(res.pkt.quoted.has_ports, 1);
    assert_int_equal(res.pkt.quoted.sport, 1234);
    assert_int_equal(res.pkt.quoted.dport, 80);
    assert_memory_equal(res.pkt.quoted.src.b, res.pkt.src.b, 16);
    assert_memory_equal(res.pkt.quoted.dst.b, res.pkt.dst.b, 16);
}

/* ICMPv6 port unreachable about a UDP datagram 2001:db8::1:5353 ->
 * 2001:db8::2:53 that carried a destination options header. */
static uint32_t put_icmpv6_unreachable_for_udp(struct buf *f)
{
    uint32_t ip = put_ipv6(f, FA_PROTO_ICMPV6), icmp, q, udp;

    icmp = put_icmp(f, 1, 4, 0);
    q = put_ipv6(f, 60);
    put_ext(f, FA_PROTO_UDP, 8);
    udp = put_udp(f, 5353, 53);
    put_fill(f, 20);
    finish_udp(f, udp);
    finish_ipv6(f, q);
    finish_ipv6(f, ip);
    finish_checksum(f, ip, icmp, FA_PROTO_ICMPV6, 2);
    return icmp;
}

static void icmpv6_unreachable_quotes_the_udp_datagram(void **state)
{
    struct buf f = {.n = 0};
    struct result res;

    (void)state;
    put_icmpv6_unreachable_for_udp(&f);
    res = decode_flags(FA_DLT_RAW, &f, FA_DECODE_VERIFY_CHECKSUMS);
    assert_int_equal(res.r, FA_DECODE_OK);
    assert_int_equal(res.pkt.icmp_type, 1);
    assert_int_equal(res.pkt.icmp_code, 4);
    assert_int_equal(res.pkt.has_quoted, 1);
    assert_int_equal(res.pkt.quoted.proto, FA_PROTO_UDP);
    assert_int_equal(res.pkt.quoted.has_ports, 1);
    assert_int_equal(res.pkt.quoted.sport, 5353);
    assert_int_equal(res.pkt.quoted.dport, 53);
    assert_memory_equal(res.pkt.quoted.src.b, V6_SRC, 16);
    assert_memory_equal(res.pkt.quoted.dst.b, V6_DST, 16);
}

static void broken_quotations_leave_the_icmp_packet_whole(void **state)
{
    struct buf f = {.n = 0};
    struct result res;
    uint32_t icmp, q;

    (void)state;
    icmp = put_icmp_unreachable_for_syn(&f, &q);
    f.b[q] = 0x65; /* an IPv6 version in an ICMPv4 error */
    finish_checksum(&f, 0, icmp, FA_PROTO_ICMP, 2);
    res = decode_flags(FA_DLT_RAW, &f, FA_DECODE_VERIFY_CHECKSUMS);
    assert_int_equal(res.r, FA_DECODE_OK);
    assert_int_equal(res.pkt.has_icmp, 1);
    assert_int_equal(res.pkt.has_quoted, 0);
    assert_int_equal(res.pkt.quoted.proto, 0);

    f.b[q] = 0x43; /* IHL 3 */
    res = decode(FA_DLT_RAW, &f);
    assert_int_equal(res.r, FA_DECODE_OK);
    assert_int_equal(res.pkt.has_quoted, 0);

    /* A later fragment quoted: addresses, but no ports. */
    f.b[q] = 0x46;
    set16(&f, q + 6, 100);
    res = decode(FA_DLT_RAW, &f);
    assert_int_equal(res.r, FA_DECODE_OK);
    assert_int_equal(res.pkt.has_quoted, 1);
    assert_int_equal(res.pkt.quoted.proto, FA_PROTO_TCP);
    assert_int_equal(res.pkt.quoted.has_ports, 0);

    /* An IPv6 quotation whose extension chain was cut. */
    f.n = 0;
    icmp = put_icmpv6_unreachable_for_udp(&f);
    res = decode_prefix(FA_DLT_RAW, &f, icmp + 8 + 40 + 6, 0);
    assert_int_equal(res.r, FA_DECODE_OK);
    assert_int_equal(res.pkt.has_icmp, 1);
    assert_int_equal(res.pkt.has_quoted, 0);
}

/* ---- checksums ---------------------------------------------------------- */

static void ipv4_header_checksum_matches_a_known_header(void **state)
{
    /* The worked example of the IPv4 header checksum (0xb861). */
    static const uint8_t hdr[20] = {0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                                    0xb8, 0x61, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7};
    struct buf f = {.n = 0};
    struct result res;

    (void)state;
    /* The header says 0x73 bytes: the wire carried them, the snap length
     * kept the header only. */
    put(&f, hdr, sizeof hdr);
    put_fill(&f, 0x73 - sizeof hdr);
    res = decode_prefix(FA_DLT_RAW, &f, sizeof hdr, FA_DECODE_VERIFY_CHECKSUMS);
    assert_int_equal(res.r, FA_DECODE_TRUNCATED_TRANSPORT);
    f.b[11] = 0x62;
    res = decode_prefix(FA_DLT_RAW, &f, sizeof hdr, FA_DECODE_VERIFY_CHECKSUMS);
    assert_int_equal(res.r, FA_DECODE_BAD_CHECKSUM);
    res = decode_prefix(FA_DLT_RAW, &f, sizeof hdr, 0);
    assert_int_equal(res.r, FA_DECODE_TRUNCATED_TRANSPORT);
}

/* An IP length beyond what the wire carried is a lie, not a snap-length
 * cut: the packet is refused rather than counted at the claimed size. */
static void ip_length_beyond_the_wire_is_a_bad_header(void **state)
{
    struct buf f = {.n = 0};
    uint32_t ip;

    (void)state;
    ip = put_ipv4_tcp(&f);
    f.b[ip + 2] = 0xff; /* total length 65535 */
    f.b[ip + 3] = 0xff;
    assert_int_equal(decode(FA_DLT_RAW, &f).r, FA_DECODE_BAD_IP_HEADER);

    f.n = 0;
    ip = put_ipv6_udp(&f);
    f.b[ip + 4] = 0x7f; /* payload length 32512 */
    assert_int_equal(decode(FA_DLT_RAW, &f).r, FA_DECODE_BAD_IP_HEADER);
}

/* A correct packet passes with the flag; with one byte flipped at off it
 * fails only with the flag, and (for transport checksums) only if the
 * segment was captured whole. */
static void assert_checksum_guards(const struct buf *good, uint32_t off, int in_ip_header)
{
    struct buf bad = *good;

    assert_int_equal(decode_flags(FA_DLT_RAW, good, FA_DECODE_VERIFY_CHECKSUMS).r, FA_DECODE_OK);
    bad.b[off] ^= 0x01;
    assert_int_equal(decode_flags(FA_DLT_RAW, &bad, 0).r, FA_DECODE_OK);
    assert_int_equal(decode_flags(FA_DLT_RAW, &bad, FA_DECODE_VERIFY_CHECKSUMS).r,
                     FA_DECODE_BAD_CHECKSUM);
    assert_int_equal(decode_prefix(FA_DLT_RAW, &bad, bad.n - 1, FA_DECODE_VERIFY_CHECKSUMS).r,
                     in_ip_header ? FA_DECODE_BAD_CHECKSUM : FA_DECODE_OK);
}

static void transport_checksums_are_verified_only_on_request(void **state)
{
    struct buf f = {.n = 0};
    uint32_t icmp, q;

    (void)state;
    put_ipv4_tcp(&f);
    assert_checksum_guards(&f, 45, 0); /* TCP payload */
    assert_checksum_guards(&f, 8, 1);  /* IPv4 TTL */
    f.n = 0;
    put_ipv6_udp(&f);
    assert_checksum_guards(&f, 8, 0);  /* IPv6 source address */
    assert_checksum_guards(&f, 55, 0); /* UDP payload */
    f.n = 0;
    put_icmp_unreachable_for_syn(&f, &q);
    assert_checksum_guards(&f, q + 25, 0); /* quoted TCP */
    f.n = 0;
    icmp = put_icmpv6_unreachable_for_udp(&f);
    assert_checksum_guards(&f, icmp + 1, 0); /* ICMPv6 code */
}

static void routed_ipv6_checksum_is_not_judged(void **state)
{
    struct buf f = {.n = 0};
    uint32_t ip, udp;

    (void)state;
    /* With segments left, the pseudo-header holds the final destination,
     * which is not ip6_dst. */
    ip = put_ipv6(&f, 43);
    put_routing(&f, FA_PROTO_UDP, 1);
    udp = put_udp(&f, 7, 7);
    put_fill(&f, 4);
    finish_udp(&f, udp);
    finish_ipv6(&f, ip);
    set16(&f, udp + 6, 0x5555);
    assert_int_equal(decode_flags(FA_DLT_RAW, &f, FA_DECODE_VERIFY_CHECKSUMS).r, FA_DECODE_OK);
    f.b[ip + 40 + 3] = 0;
    assert_int_equal(decode_flags(FA_DLT_RAW, &f, FA_DECODE_VERIFY_CHECKSUMS).r,
                     FA_DECODE_BAD_CHECKSUM);
}

static void udp_zero_checksum_means_none_over_ipv4_only(void **state)
{
    struct buf f = {.n = 0};
    uint32_t ip, udp;

    (void)state;
    ip = put_ipv4(&f, FA_PROTO_UDP, 0, 0);
    udp = put_udp(&f, 1, 2);
    put_fill(&f, 3);
    finish_udp(&f, udp);
    finish_ipv4(&f, ip);
    assert_int_equal(get16(&f, udp + 6), 0);
    assert_int_equal(decode_flags(FA_DLT_RAW, &f, FA_DECODE_VERIFY_CHECKSUMS).r, FA_DECODE_OK);

    f.n = 0;
    ip = put_ipv6(&f, FA_PROTO_UDP);
    udp = put_udp(&f, 1, 2);
    put_fill(&f, 3);
    finish_udp(&f, udp);
    finish_ipv6(&f, ip);
    assert_int_equal(decode_flags(FA_DLT_RAW, &f, FA_DECODE_VERIFY_CHECKSUMS).r,
                     FA_DECODE_BAD_CHECKSUM);
    assert_int_equal(decode_flags(FA_DLT_RAW, &f, 0).r, FA_DECODE_OK);
}

/* ---- truncation at every byte ------------------------------------------- */

/* A frame and the offsets at which each of its headers ends. */
struct layout {
    const char *name;
    int dlt;
    struct buf f;
    uint32_t link_end;     /* below: truncated-link */
    uint32_t ip_end;       /* below: truncated-ip */
    uint32_t transport_ok; /* below: truncated-transport; from here: ok */
    uint32_t payload_off;
    uint32_t icmp_id_end;       /* the echo id is read from here on, 0: never */
    uint32_t quoted_from;       /* has_quoted from here on, 0: never */
    uint32_t quoted_ports_from; /* quoted.has_ports from here on */
};

static enum fa_decode_result expected_reason(const struct layout *l, uint32_t n)
{
    if (n < l->link_end)
        return FA_DECODE_TRUNCATED_LINK;
    if (n < l->ip_end)
        return FA_DECODE_TRUNCATED_IP;
    if (n < l->transport_ok)
        return FA_DECODE_TRUNCATED_TRANSPORT;
    return FA_DECODE_OK;
}

static void assert_same_headers(const struct fa_packet *full, const struct fa_packet *p)
{
    assert_int_equal(p->ip_version, full->ip_version);
    assert_int_equal(p->proto, full->proto);
    assert_memory_equal(p->src.b, full->src.b, 16);
    assert_memory_equal(p->dst.b, full->dst.b, 16);
    assert_int_equal(p->has_ports, full->has_ports);
    assert_int_equal(p->sport, full->sport);
    assert_int_equal(p->dport, full->dport);
    assert_int_equal(p->ip_len, full->ip_len);
    assert_int_equal(p->payload_len, full->payload_len);
    assert_int_equal(p->is_fragment, full->is_fragment);
    assert_int_equal(p->frag_offset, full->frag_offset);
    assert_int_equal(p->frag_id, full->frag_id);
    assert_int_equal(p->tcp_flags, full->tcp_flags);
    assert_int_equal(p->tcp_window, full->tcp_window);
    assert_int_equal(p->tcp_seq, full->tcp_seq);
    assert_int_equal(p->tcp_ack, full->tcp_ack);
    assert_int_equal(p->has_icmp, full->has_icmp);
    assert_int_equal(p->icmp_type, full->icmp_type);
    assert_int_equal(p->icmp_code, full->icmp_code);
}

static void assert_prefix(const struct layout *l, const struct fa_packet *full, uint32_t n,
                          unsigned flags)
{
    struct result res = decode_prefix(l->dlt, &l->f, n, flags);
    const struct fa_packet *p = &res.pkt;
    uint32_t want_caplen = n > l->payload_off ? n - l->payload_off : 0;

    if (res.r != expected_reason(l, n))
        fail_msg("%s cut at %u: %s, expected %s", l->name, n, fa_decode_reason_name(res.r),
                 fa_decode_reason_name(expected_reason(l, n)));
    if (res.r != FA_DECODE_OK)
        return;
    assert_same_headers(full, p);
    assert_int_equal(p->truncated, n < l->f.n);
    assert_int_equal(p->payload_caplen, want_caplen);
    assert_int_equal(res.payload_off, want_caplen ? (long)l->payload_off : -1);
    assert_int_equal(p->icmp_id, l->icmp_id_end && n >= l->icmp_id_end ? full->icmp_id : 0);
    assert_int_equal(p->has_quoted, l->quoted_from && n >= l->quoted_from);
    assert_int_equal(p->quoted.has_ports, l->quoted_ports_from && n >= l->quoted_ports_from);
    if (p->has_quoted) {
        assert_int_equal(p->quoted.proto, full->quoted.proto);
        assert_memory_equal(p->quoted.src.b, full->quoted.src.b, 16);
        assert_memory_equal(p->quoted.dst.b, full->quoted.dst.b, 16);
    }
    if (p->quoted.has_ports) {
        assert_int_equal(p->quoted.sport, full->quoted.sport);
        assert_int_equal(p->quoted.dport, full->quoted.dport);
    }
}

static void assert_every_prefix(const struct layout *l)
{
    struct result full = decode_prefix(l->dlt, &l->f, l->f.n, FA_DECODE_VERIFY_CHECKSUMS);
    uint32_t n;

    assert_int_equal(full.r, FA_DECODE_OK);
    assert_int_equal(full.pkt.truncated, 0);
    for (n = 0; n <= l->f.n; n++) {
        assert_prefix(l, &full.pkt, n, 0);
        assert_prefix(l, &full.pkt, n, FA_DECODE_VERIFY_CHECKSUMS);
    }
}

static void truncation_ethernet_vlan_ipv4_options_tcp(void **state)
{
    struct layout l = {.name = "eth-vlan-ipv4-tcp", .dlt = FA_DLT_EN10MB};
    uint32_t ip, tcp;

    (void)state;
    put_eth(&l.f, 0x8100);
    put_tag(&l.f, 42, 0x0800);
    ip = put_ipv4(&l.f, FA_PROTO_TCP, 8, 0);
    tcp = put_tcp(&l.f, 40000, 443, 123456789, 987654321, FA_TCP_PSH | FA_TCP_ACK, 12);
    put_fill(&l.f, 20);
    finish_ipv4(&l.f, ip);
    finish_checksum(&l.f, ip, tcp, FA_PROTO_TCP, 16);
    l.link_end = 18;
    l.ip_end = 46;
    l.transport_ok = 46 + 16;
    l.payload_off = 46 + 32;
    assert_every_prefix(&l);
}

static void truncation_ethernet_ipv6_extensions_udp(void **state)
{
    struct layout l = {.name = "eth-ipv6-ext-udp", .dlt = FA_DLT_EN10MB};
    uint32_t ip, udp;

    (void)state;
    put_eth(&l.f, 0x86dd);
    ip = put_ipv6(&l.f, 0);
    put_ext(&l.f, 43, 8);
    put_routing(&l.f, 51, 0);
    put_ah(&l.f, 60, 16);
    put_ext(&l.f, FA_PROTO_UDP, 16);
    udp = put_udp(&l.f, 4500, 4500);
    put_fill(&l.f, 9);
    finish_udp(&l.f, udp);
    finish_ipv6(&l.f, ip);
    finish_checksum(&l.f, ip, udp, FA_PROTO_UDP, 6);
    l.link_end = 14;
    l.ip_end = udp;
    l.transport_ok = udp + 8;
    l.payload_off = udp + 8;
    assert_int_equal(udp, 14 + 40 + 8 + 24 + 16 + 16);
    assert_every_prefix(&l);
}

static void truncation_sll2_ipv4_icmp_error(void **state)
{
    struct layout l = {.name = "sll2-ipv4-icmp-error", .dlt = FA_DLT_LINUX_SLL2};
    uint32_t q, icmp;
    struct buf pkt = {.n = 0};

    (void)state;
    put_sll2(&l.f, 0x0800);
    icmp = put_icmp_unreachable_for_syn(&pkt, &q);
    put(&l.f, pkt.b, pkt.n);
    l.link_end = 20;
    l.ip_end = 40;
    l.transport_ok = 42;
    l.payload_off = 20 + icmp + 8;
    l.quoted_from = 20 + q + 20;
    l.quoted_ports_from = 20 + q + 24 + 4;
    assert_every_prefix(&l);
}

static void truncation_qinq_mpls_ipv4_udp(void **state)
{
    struct layout l = {.name = "qinq-mpls-ipv4-udp", .dlt = FA_DLT_EN10MB};
    uint32_t ip, udp;

    (void)state;
    put_eth(&l.f, 0x88a8);
    put_tag(&l.f, 1, 0x8100);
    put_tag(&l.f, 2, 0x8847);
    put_mpls(&l.f, 100, 0);
    put_mpls(&l.f, 200, 1);
    ip = put_ipv4(&l.f, FA_PROTO_UDP, 0, 0);
    udp = put_udp(&l.f, 53, 33333);
    put_fill(&l.f, 6);
    finish_udp(&l.f, udp);
    finish_ipv4(&l.f, ip);
    finish_checksum(&l.f, ip, udp, FA_PROTO_UDP, 6);
    l.link_end = ip;
    l.ip_end = udp;
    l.transport_ok = udp + 8;
    l.payload_off = udp + 8;
    assert_every_prefix(&l);
}

static void truncation_pppoe_ipv6_fragment_tcp(void **state)
{
    struct layout l = {.name = "pppoe-ipv6-frag-tcp", .dlt = FA_DLT_EN10MB};
    uint32_t ip, tcp;

    (void)state;
    put_eth(&l.f, 0x8864);
    put_pppoe(&l.f, 0x0057);
    ip = put_ipv6(&l.f, 44);
    put_frag6(&l.f, FA_PROTO_TCP, 0, 1, 99);
    tcp = put_tcp(&l.f, 1, 2, 3, 4, FA_TCP_FIN, 4);
    put_fill(&l.f, 3);
    finish_ipv6(&l.f, ip);
    l.link_end = 22;
    l.ip_end = tcp;
    l.transport_ok = tcp + 16;
    l.payload_off = tcp + 24;
    assert_every_prefix(&l);
}

static void truncation_null_ipv6_icmpv6_error(void **state)
{
    struct layout l = {.name = "null-ipv6-icmpv6-error", .dlt = FA_DLT_NULL};
    struct buf pkt = {.n = 0};
    uint32_t icmp;

    (void)state;
    put32le(&l.f, 30);
    icmp = put_icmpv6_unreachable_for_udp(&pkt);
    put(&l.f, pkt.b, pkt.n);
    l.link_end = 4;
    l.ip_end = 44;
    l.transport_ok = 46;
    l.payload_off = 4 + icmp + 8;
    l.quoted_from = 4 + icmp + 8 + 48;
    l.quoted_ports_from = l.quoted_from + 4;
    assert_every_prefix(&l);
}

static void truncation_ppp_ipv4_icmp_echo(void **state)
{
    struct layout l = {.name = "ppp-ipv4-icmp-echo", .dlt = FA_DLT_PPP};
    uint32_t ip, icmp;

    (void)state;
    put8(&l.f, 0xff);
    put8(&l.f, 0x03);
    put16(&l.f, 0x0021);
    ip = put_ipv4(&l.f, FA_PROTO_ICMP, 0, 0);
    icmp = put_icmp(&l.f, 0, 0, 0x1234 << 16 | 2);
    put_fill(&l.f, 8);
    finish_ipv4(&l.f, ip);
    finish_checksum(&l.f, ip, icmp, FA_PROTO_ICMP, 2);
    l.link_end = 4;
    l.ip_end = 24;
    l.transport_ok = 26;
    l.payload_off = 32;
    l.icmp_id_end = 30;
    assert_every_prefix(&l);
}

/* ---- garbage ------------------------------------------------------------ */

static uint32_t next_random(uint32_t *s)
{
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

/* Random bytes and damaged real frames, for every link type: the result
 * may be anything but must keep the invariants, and ASan watches reads. */
static void garbage_keeps_the_invariants(void **state)
{
    static const int dlts[] = {FA_DLT_NULL,       FA_DLT_EN10MB, FA_DLT_PPP,       FA_DLT_RAW,
                               FA_DLT_PPP_SERIAL, FA_DLT_C_HDLC, FA_DLT_LOOP,      FA_DLT_LINUX_SLL,
                               FA_DLT_IPV4,       FA_DLT_IPV6,   FA_DLT_LINUX_SLL2};
    struct buf seed = {.n = 0}, f;
    uint32_t s = 1, i, j, q;
    size_t d;

    (void)state;
    put_eth(&seed, 0x8100);
    put_tag(&seed, 1, 0x0800);
    put_icmp_unreachable_for_syn(&seed, &q);
    for (i = 0; i < 20000; i++) {
        if (i & 1) {
            f = seed;
            for (j = next_random(&s) % 4 + 1; j; j--)
                f.b[next_random(&s) % f.n] = (uint8_t)next_random(&s);
            f.n = next_random(&s) % (f.n + 1);
        } else {
            f.n = next_random(&s) % 120;
            for (j = 0; j < f.n; j++)
                f.b[j] = (uint8_t)(j % 8 == 0 ? 0x45 + (next_random(&s) & 0x21) : next_random(&s));
        }
        for (d = 0; d < sizeof dlts / sizeof dlts[0]; d++)
            decode_prefix(dlts[d], &f, f.n, i & 2 ? FA_DECODE_VERIFY_CHECKSUMS : 0);
    }
}

/* ---- names and addresses ------------------------------------------------ */

static void reason_names_are_stable(void **state)
{
    static const char *const names[FA_DECODE_NREASONS] = {"ok",
                                                          "not-ip",
                                                          "unsupported-link",
                                                          "truncated-link",
                                                          "truncated-ip",
                                                          "bad-ip-version",
                                                          "bad-ip-header",
                                                          "truncated-transport",
                                                          "bad-transport-header",
                                                          "bad-checksum"};
    int r;

    (void)state;
    for (r = 0; r < FA_DECODE_NREASONS; r++)
        assert_string_equal(fa_decode_reason_name((enum fa_decode_result)r), names[r]);
    assert_string_equal(fa_decode_reason_name(FA_DECODE_NREASONS), "unknown");
}

static void addresses_print_in_their_family(void **state)
{
    struct buf f = {.n = 0};
    struct result res;
    char buf[FA_ADDR_STRLEN];
    struct fa_addr mapped_zero = {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 0, 0}};
    struct fa_addr compat = {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 10, 0, 0, 1}};
    struct fa_addr longest = {{0xfe, 0x80, 0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x11,
                               0x22, 0x33, 0x44, 0x55, 0x66}};

    (void)state;
    put_ipv4_tcp(&f);
    res = decode(FA_DLT_RAW, &f);
    assert_string_equal(fa_addr_str(&res.pkt.src, buf), "192.0.2.1");
    assert_string_equal(fa_addr_str(&res.pkt.dst, buf), "198.51.100.2");
    assert_true(fa_addr_is_v4(&res.pkt.src));
    f.n = 0;
    put_ipv6_udp(&f);
    res = decode(FA_DLT_RAW, &f);
    assert_string_equal(fa_addr_str(&res.pkt.src, buf), "2001:db8::1");
    assert_false(fa_addr_is_v4(&res.pkt.src));
    assert_string_equal(fa_addr_str(&mapped_zero, buf), "0.0.0.0");
    assert_false(fa_addr_is_v4(&compat));
    assert_string_equal(fa_addr_str(&longest, buf), "fe80:1234:5678:9abc:def0:1122:3344:5566");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ethernet_ipv4_tcp_decodes_every_field),
        cmocka_unit_test(ethernet_padding_is_not_payload),
        cmocka_unit_test(ethernet_padding_is_not_quoted),
        cmocka_unit_test(vlan_8021q_tag_is_skipped),
        cmocka_unit_test(qinq_88a8_then_8100_is_skipped),
        cmocka_unit_test(pbb_inner_ethernet_is_skipped),
        cmocka_unit_test(vntag_is_skipped),
        cmocka_unit_test(vlan_9100_tag_is_skipped),
        cmocka_unit_test(deep_vlan_stack_is_followed),
        cmocka_unit_test(mpls_two_labels_then_ipv4),
        cmocka_unit_test(mpls_multicast_then_ipv6),
        cmocka_unit_test(mpls_non_ip_payload_is_not_ip),
        cmocka_unit_test(pppoe_session_ipv4_and_ipv6),
        cmocka_unit_test(pppoe_control_and_discovery_are_not_ip),
        cmocka_unit_test(llc_snap_frame_carries_ipv4),
        cmocka_unit_test(non_ip_frames_are_not_ip),
        cmocka_unit_test(sll_ipv4_and_vlan_tagged_ipv4),
        cmocka_unit_test(sll2_ipv6_and_ipv4),
        cmocka_unit_test(raw_link_types_follow_the_version_nibble),
        cmocka_unit_test(ipv4_and_ipv6_link_types_insist_on_their_version),
        cmocka_unit_test(null_loopback_accepts_either_byte_order),
        cmocka_unit_test(loop_loopback_is_network_order_only),
        cmocka_unit_test(ppp_with_and_without_address_and_control),
        cmocka_unit_test(ppp_serial_holds_ppp_or_cisco_hdlc),
        cmocka_unit_test(cisco_hdlc_carries_ipv4_and_ipv6),
        cmocka_unit_test(unknown_link_type_is_unsupported),
        cmocka_unit_test(ipv4_options_are_skipped),
        cmocka_unit_test(ipv4_bad_header_lengths_are_rejected),
        cmocka_unit_test(ipv4_total_length_beyond_capture_sets_truncated),
        cmocka_unit_test(ipv4_zero_total_length_is_taken_as_offload),
        cmocka_unit_test(ipv4_first_fragment_has_ports),
        cmocka_unit_test(ipv4_later_fragment_has_no_ports),
        cmocka_unit_test(ipv6_each_extension_header_is_walked),
        cmocka_unit_test(ipv6_first_and_later_fragments),
        cmocka_unit_test(ipv6_no_next_header_and_esp_are_protocol_only),
        cmocka_unit_test(ipv6_bad_extension_chains_are_rejected),
        cmocka_unit_test(ipv6_zero_payload_length_uses_the_frame),
        cmocka_unit_test(tcp_bad_data_offsets_are_rejected),
        cmocka_unit_test(tcp_cut_in_options_still_gives_flags),
        cmocka_unit_test(udp_lengths),
        cmocka_unit_test(icmp_echo_request_gives_type_code_and_id),
        cmocka_unit_test(icmpv6_echo_reply_gives_type_code_and_id),
        cmocka_unit_test(gre_is_protocol_only),
        cmocka_unit_test(icmp_unreachable_quotes_the_tcp_syn),
        cmocka_unit_test(icmpv6_unreachable_quotes_the_udp_datagram),
        cmocka_unit_test(broken_quotations_leave_the_icmp_packet_whole),
        cmocka_unit_test(ipv4_header_checksum_matches_a_known_header),
        cmocka_unit_test(ip_length_beyond_the_wire_is_a_bad_header),
        cmocka_unit_test(transport_checksums_are_verified_only_on_request),
        cmocka_unit_test(routed_ipv6_checksum_is_not_judged),
        cmocka_unit_test(udp_zero_checksum_means_none_over_ipv4_only),
        cmocka_unit_test(truncation_ethernet_vlan_ipv4_options_tcp),
        cmocka_unit_test(truncation_ethernet_ipv6_extensions_udp),
        cmocka_unit_test(truncation_sll2_ipv4_icmp_error),
        cmocka_unit_test(truncation_qinq_mpls_ipv4_udp),
        cmocka_unit_test(truncation_pppoe_ipv6_fragment_tcp),
        cmocka_unit_test(truncation_null_ipv6_icmpv6_error),
        cmocka_unit_test(truncation_ppp_ipv4_icmp_echo),
        cmocka_unit_test(garbage_keeps_the_invariants),
        cmocka_unit_test(reason_names_are_stable),
        cmocka_unit_test(addresses_print_in_their_family),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
