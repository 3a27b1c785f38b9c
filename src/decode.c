/*
 * decode.c - link, IP and transport headers of one captured frame, read
 * into a struct fa_packet for the flow table.
 *
 * This is the only code that reads packet bytes, and it is the fuzz target,
 * so it keeps these invariants:
 *   - a byte is read only after a check that it lies inside the captured
 *     length; offsets never pass the captured length, so the checks cannot
 *     wrap;
 *   - lengths taken from headers are trusted for reporting (ip_len,
 *     payload_len) but never for reading: every read is bounded by what
 *     was captured, and once the IP length is known, by that length too
 *     (Ethernet padding is not payload);
 *   - a frame cut short is reported by the header it was cut in (link, IP,
 *     transport); the one exception is a TCP header cut after its first 16
 *     bytes, which still decodes with truncated set, because the flow
 *     table needs the flags of snap-length-cut segments;
 *   - a broken ICMP quotation never fails the ICMP packet around it;
 *   - no allocation, no global state, no libpcap: the result depends on
 *     the arguments only.
 */
#include <arpa/inet.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "decode.h"

#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_IPV6 0x86dd
#define ETHERTYPE_VLAN 0x8100
#define ETHERTYPE_QINQ 0x88a8
#define ETHERTYPE_QINQ_OLD 0x9100
#define ETHERTYPE_MPLS 0x8847
#define ETHERTYPE_MPLS_MCAST 0x8848
#define ETHERTYPE_PPPOE_SESSION 0x8864
#define ETHERTYPE_PBB 0x88e7   /* 802.1ah: I-TAG, then a whole inner Ethernet header */
#define ETHERTYPE_VNTAG 0x8926 /* Cisco VN-Tag: a 4-byte tag, then the ethertype */
/* A type field up to this value is an 802.3 length, not an ethertype. */
#define ETHER_MAX_LENGTH_FIELD 1500

#define ETHER_HDR_LEN 14
#define VLAN_TAG_LEN 4
#define PBB_ITAG_LEN 4
#define VNTAG_LEN 4
#define ETHER_ADDRS_LEN 12
#define MPLS_LABEL_LEN 4
#define LLC_SNAP_LEN 8
#define PPPOE_HDR_LEN 6
#define SLL_HDR_LEN 16
#define SLL2_HDR_LEN 20
#define LOOPBACK_HDR_LEN 4
#define CHDLC_HDR_LEN 4

#define PPP_ADDRESS 0xff
#define PPP_CONTROL 0x03
#define PPP_IPV4 0x0021
#define PPP_IPV6 0x0057
#define CHDLC_UNICAST 0x0f
#define CHDLC_MULTICAST 0x8f

#define IPV4_MIN_HDR_LEN 20
#define IPV4_MF 0x2000
#define IPV4_OFFSET_MASK 0x1fff
#define IPV6_HDR_LEN 40
#define IPV6_FRAG_HDR_LEN 8
#define IPV6_OFFSET_MASK 0xfff8
/* Real chains are a handful of headers long; the bound stops crafted ones. */
#define IPV6_MAX_EXT_HEADERS 16

#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAGMENT_ 44
#define IPPROTO_AH_ 51
#define IPPROTO_DSTOPTS_ 60
#define IPPROTO_MOBILITY_ 135

#define TCP_MIN_HDR_LEN 20
/* Ports, sequence numbers, data offset, flags and window. */
#define TCP_USEFUL_LEN 16
#define TCP_FLAGS_MASK 0x3f
#define UDP_HDR_LEN 8
#define ICMP_HDR_LEN 8
/* Type, code and checksum: less than this is not an ICMP message. */
#define ICMP_MIN_LEN 4

/* What the link layer says about the bytes that follow it. */
enum ip_hint {
    HINT_V4,   /* the link said IPv4: any other version is bad */
    HINT_V6,   /* the link said IPv6 */
    HINT_RAW,  /* raw IP: the version nibble decides */
    HINT_GUESS /* after MPLS: the version nibble decides, and may say "not IP" */
};

/* The whole frame.  wirelen >= caplen. */
struct frame {
    const uint8_t *data;
    uint32_t caplen;
    uint32_t wirelen;
};

/* Where the link layer left the network layer. */
struct l3 {
    uint32_t off;
    enum ip_hint hint;
};

/* A run of bytes: cap may be read, len were there by the headers.
 * cap <= len once the IP length is known. */
struct span {
    const uint8_t *p;
    uint32_t cap;
    uint32_t len;
};

/* A transport header with what its checksum needs. */
struct l4 {
    struct span s;
    const uint8_t *src, *dst; /* addresses as in the IP header */
    uint32_t alen;            /* 4 or 16 */
    int verify;               /* checksums asked for and meaningful here */
};

/* IPv6 extension headers, as walked. */
struct v6ext {
    uint32_t off; /* first byte after them */
    uint8_t nh;   /* the protocol that follows */
    uint8_t routed;
    uint8_t is_fragment, more_fragments;
    uint16_t frag_offset;
    uint32_t frag_id;
};

static inline uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static inline uint32_t min_u32(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

/* Written so that it cannot wrap, whatever off is. */
static inline int have(const struct frame *f, uint32_t off, uint32_t n)
{
    return off <= f->caplen && n <= f->caplen - off;
}

static struct span span_after(const struct span *s, uint32_t off)
{
    struct span r = {s->p + off, s->cap - off, s->len - off};
    return r;
}

void fa_addr_from_ipv4(struct fa_addr *a, const uint8_t *v4)
{
    memset(a->b, 0, 10);
    a->b[10] = 0xff;
    a->b[11] = 0xff;
    memcpy(a->b + 12, v4, 4);
}

/* ---- checksums ---------------------------------------------------------- */

/* 64 bits: a TSO frame may be far longer than 64 KB. */
static uint64_t sum16(const uint8_t *p, uint32_t n, uint64_t acc)
{
    for (; n >= 2; p += 2, n -= 2)
        acc += (uint32_t)p[0] << 8 | p[1];
    if (n)
        acc += (uint32_t)p[0] << 8;
    return acc;
}

static int sum_is_valid(uint64_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xffff) + (acc >> 16);
    return acc == 0xffff;
}

static int transport_checksum_ok(const struct l4 *t, uint8_t proto, uint32_t len)
{
    uint64_t acc = 0;

    if (proto != FA_PROTO_ICMP) {
        acc = sum16(t->src, t->alen, acc);
        acc = sum16(t->dst, t->alen, acc);
        acc += proto + (len >> 16) + (len & 0xffff);
    }
    return sum_is_valid(sum16(t->s.p, len, acc));
}

/* ---- link layers -------------------------------------------------------- */

static enum fa_decode_result ip_at(uint32_t off, enum ip_hint hint, struct l3 *l3)
{
    l3->off = off;
    l3->hint = hint;
    return FA_DECODE_OK;
}

static enum fa_decode_result ppp_protocol(uint16_t proto, uint32_t off, struct l3 *l3)
{
    if (proto == PPP_IPV4)
        return ip_at(off, HINT_V4, l3);
    if (proto == PPP_IPV6)
        return ip_at(off, HINT_V6, l3);
    return FA_DECODE_NOT_IP;
}

static enum fa_decode_result skip_llc_snap(const struct frame *f, uint32_t *off, uint16_t *type)
{
    const uint8_t *p = f->data + *off;

    if (!have(f, *off, 3))
        return FA_DECODE_TRUNCATED_LINK;
    /* Plain LLC (STP, NetBIOS, IPX...) carries no ethertype. */
    if (p[0] != 0xaa || p[1] != 0xaa || p[2] != 0x03)
        return FA_DECODE_NOT_IP;
    if (!have(f, *off, LLC_SNAP_LEN))
        return FA_DECODE_TRUNCATED_LINK;
    /* Only the encapsulation OUIs (RFC 1042, 802.1H) put an ethertype
     * next; others (Cisco's CDP...) name their own protocols. */
    if (p[3] != 0 || p[4] != 0 || (p[5] != 0 && p[5] != 0xf8))
        return FA_DECODE_NOT_IP;
    *type = be16(p + 6);
    *off += LLC_SNAP_LEN;
    return FA_DECODE_OK;
}

static enum fa_decode_result skip_mpls(const struct frame *f, uint32_t off, struct l3 *l3)
{
    int bottom;

    do {
        if (!have(f, off, MPLS_LABEL_LEN))
            return FA_DECODE_TRUNCATED_LINK;
        bottom = f->data[off + 2] & 0x01;
        off += MPLS_LABEL_LEN;
    } while (!bottom);
    /* MPLS does not say what it carries. */
    return ip_at(off, HINT_GUESS, l3);
}

static enum fa_decode_result skip_pppoe(const struct frame *f, uint32_t off, struct l3 *l3)
{
    const uint8_t *p = f->data + off;

    if (!have(f, off, PPPOE_HDR_LEN + 2))
        return FA_DECODE_TRUNCATED_LINK;
    /* Version 1, type 1, code 0: session data. */
    if (p[0] != 0x11 || p[1] != 0x00)
        return FA_DECODE_NOT_IP;
    return ppp_protocol(be16(p + PPPOE_HDR_LEN), off + PPPOE_HDR_LEN + 2, l3);
}

/* type is the ethertype just read; off is where its payload starts.  Each
 * step consumes bytes, so stacked tags end at the captured length. */
static enum fa_decode_result follow_ethertype(const struct frame *f, uint32_t off, uint16_t type,
                                              struct l3 *l3)
{
    enum fa_decode_result r;

    for (;;) {
        switch (type) {
        case ETHERTYPE_IPV4:
            return ip_at(off, HINT_V4, l3);
        case ETHERTYPE_IPV6:
            return ip_at(off, HINT_V6, l3);
        case ETHERTYPE_VNTAG:
            if (!have(f, off, VNTAG_LEN + 2))
                return FA_DECODE_TRUNCATED_LINK;
            type = be16(f->data + off + VNTAG_LEN);
            off += VNTAG_LEN + 2;
            break;
        case ETHERTYPE_PBB:
            if (!have(f, off, PBB_ITAG_LEN + ETHER_ADDRS_LEN + 2))
                return FA_DECODE_TRUNCATED_LINK;
            off += PBB_ITAG_LEN + ETHER_ADDRS_LEN;
            type = be16(f->data + off);
            off += 2;
            break;
        case ETHERTYPE_VLAN:
        case ETHERTYPE_QINQ:
        case ETHERTYPE_QINQ_OLD:
            if (!have(f, off, VLAN_TAG_LEN))
                return FA_DECODE_TRUNCATED_LINK;
            type = be16(f->data + off + 2);
            off += VLAN_TAG_LEN;
            break;
        case ETHERTYPE_MPLS:
        case ETHERTYPE_MPLS_MCAST:
            return skip_mpls(f, off, l3);
        case ETHERTYPE_PPPOE_SESSION:
            return skip_pppoe(f, off, l3);
        default:
            if (type > ETHER_MAX_LENGTH_FIELD)
                return FA_DECODE_NOT_IP;
            r = skip_llc_snap(f, &off, &type);
            if (r != FA_DECODE_OK)
                return r;
            break;
        }
    }
}

static enum fa_decode_result link_ethernet(const struct frame *f, struct l3 *l3)
{
    if (!have(f, 0, ETHER_HDR_LEN))
        return FA_DECODE_TRUNCATED_LINK;
    return follow_ethertype(f, ETHER_HDR_LEN, be16(f->data + 12), l3);
}

/* SLL's protocol is an ethertype, or below 0x0600 a Linux ETH_P_ value;
 * ETH_P_802_2 (4) means an LLC header follows, which the 802.3 path
 * handles. */
static enum fa_decode_result link_sll(const struct frame *f, struct l3 *l3)
{
    if (!have(f, 0, SLL_HDR_LEN))
        return FA_DECODE_TRUNCATED_LINK;
    return follow_ethertype(f, SLL_HDR_LEN, be16(f->data + 14), l3);
}

static enum fa_decode_result link_sll2(const struct frame *f, struct l3 *l3)
{
    if (!have(f, 0, SLL2_HDR_LEN))
        return FA_DECODE_TRUNCATED_LINK;
    return follow_ethertype(f, SLL2_HDR_LEN, be16(f->data), l3);
}

/* The loopback header holds the sender's AF_ value, and AF_INET6 differs
 * between Linux (10), NetBSD/OpenBSD (24), FreeBSD (28) and macOS (30). */
static enum ip_hint family_hint(uint32_t af, int *ok)
{
    *ok = 1;
    switch (af) {
    case 2:
        return HINT_V4;
    case 10:
    case 24:
    case 28:
    case 30:
        return HINT_V6;
    }
    *ok = 0;
    return HINT_RAW;
}

static enum fa_decode_result link_loopback(const struct frame *f, int any_order, struct l3 *l3)
{
    enum ip_hint hint;
    int ok;

    if (!have(f, 0, LOOPBACK_HDR_LEN))
        return FA_DECODE_TRUNCATED_LINK;
    hint = family_hint(be32(f->data), &ok);
    /* DLT_NULL is in the capturing host's order, which the file does not
     * record; the two orders of a valid family never collide. */
    if (!ok && any_order)
        hint = family_hint(le32(f->data), &ok);
    if (!ok)
        return FA_DECODE_NOT_IP;
    return ip_at(LOOPBACK_HDR_LEN, hint, l3);
}

static enum fa_decode_result link_chdlc(const struct frame *f, struct l3 *l3)
{
    if (!have(f, 0, CHDLC_HDR_LEN))
        return FA_DECODE_TRUNCATED_LINK;
    return follow_ethertype(f, CHDLC_HDR_LEN, be16(f->data + 2), l3);
}

static enum fa_decode_result link_ppp(const struct frame *f, struct l3 *l3)
{
    const uint8_t *p = f->data;
    uint32_t off = 0;

    if (!have(f, 0, 1))
        return FA_DECODE_TRUNCATED_LINK;
    if (p[0] == PPP_ADDRESS) {
        if (!have(f, 0, 2))
            return FA_DECODE_TRUNCATED_LINK;
        if (p[1] != PPP_CONTROL)
            return FA_DECODE_NOT_IP;
        off = 2;
        if (!have(f, off, 1))
            return FA_DECODE_TRUNCATED_LINK;
    }
    /* Protocol field compression: an odd first byte is a one-byte protocol. */
    if (p[off] & 0x01)
        return ppp_protocol(p[off], off + 1, l3);
    if (!have(f, off, 2))
        return FA_DECODE_TRUNCATED_LINK;
    return ppp_protocol(be16(p + off), off + 2, l3);
}

/* DLT_PPP_SERIAL captures may hold Cisco HDLC frames too. */
static enum fa_decode_result link_ppp_serial(const struct frame *f, struct l3 *l3)
{
    if (!have(f, 0, 1))
        return FA_DECODE_TRUNCATED_LINK;
    if (f->data[0] == CHDLC_UNICAST || f->data[0] == CHDLC_MULTICAST)
        return link_chdlc(f, l3);
    return link_ppp(f, l3);
}

static enum fa_decode_result decode_link(int dlt, const struct frame *f, struct l3 *l3)
{
    switch (dlt) {
    case FA_DLT_EN10MB:
        return link_ethernet(f, l3);
    case FA_DLT_LINUX_SLL:
        return link_sll(f, l3);
    case FA_DLT_LINUX_SLL2:
        return link_sll2(f, l3);
    case FA_DLT_RAW:
    case FA_DLT_RAW_BSD:
    case FA_DLT_LINKTYPE_RAW:
        return ip_at(0, HINT_RAW, l3);
    case FA_DLT_IPV4:
        return ip_at(0, HINT_V4, l3);
    case FA_DLT_IPV6:
        return ip_at(0, HINT_V6, l3);
    case FA_DLT_NULL:
        return link_loopback(f, 1, l3);
    case FA_DLT_LOOP:
        return link_loopback(f, 0, l3);
    case FA_DLT_PPP:
        return link_ppp(f, l3);
    case FA_DLT_PPP_SERIAL:
        return link_ppp_serial(f, l3);
    case FA_DLT_C_HDLC:
        return link_chdlc(f, l3);
    }
    return FA_DECODE_UNSUPPORTED_LINK;
}

/* Every decoder of a known link type fails an empty frame as truncated;
 * only an unknown one answers unsupported, so the list lives in one place. */
int fa_decode_link_supported(int dlt)
{
    struct frame f = {.data = NULL, .caplen = 0, .wirelen = 0};
    struct l3 l3;

    return decode_link(dlt, &f, &l3) != FA_DECODE_UNSUPPORTED_LINK;
}

/* ---- IPv6 extension headers --------------------------------------------- */

static int ipv6_is_ext(uint8_t nh)
{
    switch (nh) {
    case IPPROTO_HOPOPTS_:
    case IPPROTO_ROUTING_:
    case IPPROTO_FRAGMENT_:
    case IPPROTO_AH_:
    case IPPROTO_DSTOPTS_:
    case IPPROTO_MOBILITY_:
        return 1;
    }
    return 0;
}

static uint32_t ipv6_ext_len(uint8_t nh, uint8_t len_field)
{
    if (nh == IPPROTO_FRAGMENT_)
        return IPV6_FRAG_HDR_LEN;
    if (nh == IPPROTO_AH_)
        return (len_field + 2u) * 4u;
    return (len_field + 1u) * 8u;
}

/* A header that runs past the IPv6 payload length is bad; one that runs
 * past the capture is cut.  off <= cap <= len. */
static enum fa_decode_result ipv6_ext_fits(uint32_t off, uint32_t n, uint32_t cap, uint32_t len)
{
    if (n > len - off)
        return FA_DECODE_BAD_IP_HEADER;
    if (n > cap - off)
        return FA_DECODE_TRUNCATED_IP;
    return FA_DECODE_OK;
}

static void ipv6_fragment(const uint8_t *h, struct v6ext *w)
{
    uint16_t off = be16(h + 2) & IPV6_OFFSET_MASK;
    uint8_t more = h[3] & 0x01;

    /* Offset 0 without M is an atomic fragment (RFC 6946): a whole packet. */
    if (off || more) {
        w->is_fragment = 1;
        w->more_fragments = more;
        w->frag_offset = off;
        w->frag_id = be32(h + 4);
    }
}

/* Stops at the first header that is not an extension header, or after the
 * fragment header of a later fragment, whose next bytes are the middle of
 * the payload. */
static enum fa_decode_result walk_ipv6_ext(const uint8_t *ip, uint32_t cap, uint32_t len,
                                           struct v6ext *w)
{
    enum fa_decode_result r;
    const uint8_t *h;
    uint32_t hlen;
    int n;

    memset(w, 0, sizeof *w);
    w->off = IPV6_HDR_LEN;
    w->nh = ip[6];
    for (n = 0; ipv6_is_ext(w->nh); n++) {
        if (n == IPV6_MAX_EXT_HEADERS)
            return FA_DECODE_BAD_IP_HEADER;
        if ((r = ipv6_ext_fits(w->off, 2, cap, len)) != FA_DECODE_OK)
            return r;
        h = ip + w->off;
        hlen = ipv6_ext_len(w->nh, h[1]);
        if ((r = ipv6_ext_fits(w->off, hlen, cap, len)) != FA_DECODE_OK)
            return r;
        if (w->nh == IPPROTO_FRAGMENT_)
            ipv6_fragment(h, w);
        /* With segments left, the pseudo-header uses the final
         * destination, not ip6_dst. */
        if (w->nh == IPPROTO_ROUTING_ && h[3] != 0)
            w->routed = 1;
        w->nh = h[0];
        w->off += hlen;
        if (w->frag_offset)
            break;
    }
    return FA_DECODE_OK;
}

/* ---- transport ---------------------------------------------------------- */

static void set_payload(struct fa_packet *pkt, const struct span *s, uint32_t hlen,
                        uint32_t payload_len)
{
    uint32_t n;

    pkt->payload_len = payload_len;
    if (s->cap <= hlen)
        return;
    n = min_u32(s->cap - hlen, payload_len);
    if (n) {
        pkt->payload = s->p + hlen;
        pkt->payload_caplen = n;
    }
}

/* Protocols without a decoder here, and later fragments, which start in
 * the middle of a payload: only the IP payload is known. */
static enum fa_decode_result decode_opaque(const struct l4 *t, struct fa_packet *pkt)
{
    set_payload(pkt, &t->s, 0, t->s.len);
    return FA_DECODE_OK;
}

static enum fa_decode_result decode_tcp(const struct l4 *t, struct fa_packet *pkt)
{
    const uint8_t *p = t->s.p;
    uint32_t hlen;

    if (t->s.len < TCP_MIN_HDR_LEN)
        return FA_DECODE_BAD_TRANSPORT_HEADER;
    if (t->s.cap < TCP_USEFUL_LEN)
        return FA_DECODE_TRUNCATED_TRANSPORT;
    hlen = (p[12] >> 4) * 4u;
    if (hlen < TCP_MIN_HDR_LEN || hlen > t->s.len)
        return FA_DECODE_BAD_TRANSPORT_HEADER;

    pkt->has_ports = 1;
    pkt->sport = be16(p);
    pkt->dport = be16(p + 2);
    pkt->tcp_seq = be32(p + 4);
    pkt->tcp_ack = be32(p + 8);
    pkt->tcp_flags = p[13] & TCP_FLAGS_MASK;
    pkt->tcp_window = be16(p + 14);
    /* Options cut by the snap length leave the payload uncaptured, which
     * set_payload reports as payload_caplen 0; truncated is already set
     * because the IP length was not captured. */
    set_payload(pkt, &t->s, hlen, t->s.len - hlen);

    if (t->verify && t->s.cap == t->s.len && !transport_checksum_ok(t, FA_PROTO_TCP, t->s.len))
        return FA_DECODE_BAD_CHECKSUM;
    return FA_DECODE_OK;
}

static enum fa_decode_result decode_udp(const struct l4 *t, struct fa_packet *pkt)
{
    const uint8_t *p = t->s.p;
    uint32_t ulen, payload_len;

    if (t->s.len < UDP_HDR_LEN)
        return FA_DECODE_BAD_TRANSPORT_HEADER;
    if (t->s.cap < UDP_HDR_LEN)
        return FA_DECODE_TRUNCATED_TRANSPORT;
    ulen = be16(p + 4);
    if (ulen < UDP_HDR_LEN)
        return FA_DECODE_BAD_TRANSPORT_HEADER;

    pkt->has_ports = 1;
    pkt->sport = be16(p);
    pkt->dport = be16(p + 2);
    /* A UDP length short of the IP payload leaves trailing bytes that are
     * not UDP's; a longer one is a first fragment naming the whole
     * datagram, of which only the IP payload is here. */
    payload_len = min_u32(t->s.len, ulen) - UDP_HDR_LEN;
    set_payload(pkt, &t->s, UDP_HDR_LEN, payload_len);

    if (!t->verify || ulen > t->s.cap)
        return FA_DECODE_OK;
    if (be16(p + 6) == 0) {
        /* Optional over IPv4 only (RFC 768 vs RFC 8200). */
        return t->alen == 4 ? FA_DECODE_OK : FA_DECODE_BAD_CHECKSUM;
    }
    if (!transport_checksum_ok(t, FA_PROTO_UDP, ulen))
        return FA_DECODE_BAD_CHECKSUM;
    return FA_DECODE_OK;
}

static int icmp_is_error(int v6, uint8_t type)
{
    if (v6)
        return type >= 1 && type <= 4;
    return type == 3 || type == 4 || type == 5 || type == 11 || type == 12;
}

static int icmp_is_echo(int v6, uint8_t type)
{
    if (v6)
        return type == 128 || type == 129;
    return type == 8 || type == 0;
}

static void quoted_ports(const uint8_t *p, uint32_t cap, struct fa_tuple *q)
{
    if ((q->proto != FA_PROTO_TCP && q->proto != FA_PROTO_UDP) || cap < 4)
        return;
    q->has_ports = 1;
    q->sport = be16(p);
    q->dport = be16(p + 2);
}

/* The ICMP sender kept as much of the offending packet as it liked, and its
 * length fields describe the original, not the quotation: only what is
 * read is required, and nothing past the captured bytes is. */
static int quoted_ipv4(const struct span *q, struct fa_tuple *t)
{
    const uint8_t *p = q->p;
    uint32_t hlen;

    if (q->cap < IPV4_MIN_HDR_LEN || (p[0] >> 4) != 4)
        return 0;
    hlen = (p[0] & 0x0f) * 4u;
    if (hlen < IPV4_MIN_HDR_LEN)
        return 0;
    t->proto = p[9];
    fa_addr_from_ipv4(&t->src, p + 12);
    fa_addr_from_ipv4(&t->dst, p + 16);
    if ((be16(p + 6) & IPV4_OFFSET_MASK) == 0 && q->cap >= hlen)
        quoted_ports(p + hlen, q->cap - hlen, t);
    return 1;
}

static int quoted_ipv6(const struct span *q, struct fa_tuple *t)
{
    struct v6ext w;

    if (q->cap < IPV6_HDR_LEN || (q->p[0] >> 4) != 6)
        return 0;
    /* Without the whole chain the protocol is unknown, and so is the flow. */
    if (walk_ipv6_ext(q->p, q->cap, q->cap, &w) != FA_DECODE_OK)
        return 0;
    t->proto = w.nh;
    memcpy(t->src.b, q->p + 8, 16);
    memcpy(t->dst.b, q->p + 24, 16);
    if (w.frag_offset == 0)
        quoted_ports(q->p + w.off, q->cap - w.off, t);
    return 1;
}

static enum fa_decode_result decode_icmp(const struct l4 *t, struct fa_packet *pkt)
{
    const uint8_t *p = t->s.p;
    int v6 = pkt->ip_version == 6;

    if (t->s.len < ICMP_MIN_LEN)
        return FA_DECODE_BAD_TRANSPORT_HEADER;
    if (t->s.cap < 2)
        return FA_DECODE_TRUNCATED_TRANSPORT;

    pkt->has_icmp = 1;
    pkt->icmp_type = p[0];
    pkt->icmp_code = p[1];
    if (icmp_is_echo(v6, p[0]) && t->s.cap >= 6)
        pkt->icmp_id = be16(p + 4);
    if (t->s.len >= ICMP_HDR_LEN)
        set_payload(pkt, &t->s, ICMP_HDR_LEN, t->s.len - ICMP_HDR_LEN);

    if (icmp_is_error(v6, p[0]) && t->s.cap > ICMP_HDR_LEN) {
        struct span q = span_after(&t->s, ICMP_HDR_LEN);
        pkt->has_quoted =
            (uint8_t)(v6 ? quoted_ipv6(&q, &pkt->quoted) : quoted_ipv4(&q, &pkt->quoted));
    }

    if (t->verify && t->s.cap == t->s.len && !transport_checksum_ok(t, pkt->proto, t->s.len))
        return FA_DECODE_BAD_CHECKSUM;
    return FA_DECODE_OK;
}

static enum fa_decode_result decode_transport(const struct l4 *t, struct fa_packet *pkt)
{
    switch (pkt->proto) {
    case FA_PROTO_TCP:
        return decode_tcp(t, pkt);
    case FA_PROTO_UDP:
        return decode_udp(t, pkt);
    case FA_PROTO_ICMP:
        if (pkt->ip_version == 4)
            return decode_icmp(t, pkt);
        break;
    case FA_PROTO_ICMPV6:
        if (pkt->ip_version == 6)
            return decode_icmp(t, pkt);
        break;
    }
    return decode_opaque(t, pkt);
}

/* ---- IP ----------------------------------------------------------------- */

/* Past the IP length is link padding (Ethernet pads to 60 bytes), not
 * payload, so reads stop there. */
/* The IP header's length bounds everything after it (Ethernet padding is
 * not payload).  A header claiming more than the frame carried on the wire
 * lies: Zeek drops such packets too, and trusting it would count bytes that
 * never crossed the network. */
static enum fa_decode_result limit_to_ip_len(struct span *ip, uint32_t total, struct fa_packet *pkt)
{
    if (total > ip->len)
        return FA_DECODE_BAD_IP_HEADER;
    ip->len = total;
    ip->cap = min_u32(ip->cap, total);
    pkt->ip = ip->p;
    pkt->ip_caplen = ip->cap;
    pkt->ip_len = total;
    pkt->truncated = ip->cap < total;
    return FA_DECODE_OK;
}

static enum fa_decode_result decode_ipv4(struct span ip, unsigned flags, struct fa_packet *pkt)
{
    const uint8_t *p = ip.p;
    uint32_t hlen, total;
    uint16_t frag;
    int tso = 0;
    struct l4 t;
    enum fa_decode_result r;

    hlen = (p[0] & 0x0f) * 4u;
    if (hlen < IPV4_MIN_HDR_LEN)
        return FA_DECODE_BAD_IP_HEADER;
    if (ip.cap < IPV4_MIN_HDR_LEN)
        return FA_DECODE_TRUNCATED_IP;
    /* Before the options are required: options the total length leaves
     * no room for are a bad header, not a cut one. */
    total = be16(p + 2);
    if (total == 0) {
        /* Captured on a sender using segmentation offload: the NIC fills
         * in the length later.  tcpdump guesses the same. */
        total = ip.len;
        tso = 1;
    } else if (total < hlen) {
        return FA_DECODE_BAD_IP_HEADER;
    }
    if (ip.cap < hlen)
        return FA_DECODE_TRUNCATED_IP;
    r = limit_to_ip_len(&ip, total, pkt);
    if (r != FA_DECODE_OK)
        return r;

    pkt->ip_version = 4;
    pkt->proto = p[9];
    fa_addr_from_ipv4(&pkt->src, p + 12);
    fa_addr_from_ipv4(&pkt->dst, p + 16);
    frag = be16(p + 6);
    /* Tested on frag, not on the fields just stored: reading them back as
     * one word stalls on their narrower stores. */
    if (frag & (IPV4_OFFSET_MASK | IPV4_MF)) {
        pkt->frag_offset = (uint16_t)((frag & IPV4_OFFSET_MASK) * 8u);
        pkt->more_fragments = (frag & IPV4_MF) != 0;
        pkt->is_fragment = 1;
        pkt->frag_id = be16(p + 4);
    }

    /* Offload leaves checksums to the NIC too: a TSO frame cannot pass. */
    if ((flags & FA_DECODE_VERIFY_CHECKSUMS) && !tso && !sum_is_valid(sum16(p, hlen, 0)))
        return FA_DECODE_BAD_CHECKSUM;

    t.s = span_after(&ip, hlen);
    t.src = p + 12;
    t.dst = p + 16;
    t.alen = 4;
    t.verify = (flags & FA_DECODE_VERIFY_CHECKSUMS) && !tso && !pkt->is_fragment;
    if (pkt->frag_offset)
        return decode_opaque(&t, pkt);
    return decode_transport(&t, pkt);
}

static enum fa_decode_result decode_ipv6(struct span ip, unsigned flags, struct fa_packet *pkt)
{
    const uint8_t *p = ip.p;
    enum fa_decode_result r;
    uint32_t plen;
    struct v6ext w;
    struct l4 t;

    if (ip.cap < IPV6_HDR_LEN)
        return FA_DECODE_TRUNCATED_IP;
    /* Payload length 0: a jumbogram, or segmentation offload on the
     * sender; either way the frame says how long it is. */
    plen = be16(p + 4);
    r = limit_to_ip_len(&ip, plen ? IPV6_HDR_LEN + plen : ip.len, pkt);
    if (r != FA_DECODE_OK)
        return r;

    pkt->ip_version = 6;
    memcpy(pkt->src.b, p + 8, 16);
    memcpy(pkt->dst.b, p + 24, 16);
    r = walk_ipv6_ext(p, ip.cap, ip.len, &w);
    if (r != FA_DECODE_OK)
        return r;
    pkt->proto = w.nh;
    pkt->is_fragment = w.is_fragment;
    pkt->more_fragments = w.more_fragments;
    pkt->frag_offset = w.frag_offset;
    pkt->frag_id = w.frag_id;

    t.s = span_after(&ip, w.off);
    t.src = p + 8;
    t.dst = p + 24;
    t.alen = 16;
    t.verify = (flags & FA_DECODE_VERIFY_CHECKSUMS) && plen != 0 && !w.is_fragment && !w.routed;
    if (w.frag_offset)
        return decode_opaque(&t, pkt);
    return decode_transport(&t, pkt);
}

static enum fa_decode_result decode_ip(const struct frame *f, const struct l3 *l3, unsigned flags,
                                       struct fa_packet *pkt)
{
    struct span ip;
    unsigned version;

    if (!have(f, l3->off, 1))
        return FA_DECODE_TRUNCATED_IP;
    ip.p = f->data + l3->off;
    ip.cap = f->caplen - l3->off;
    ip.len = f->wirelen - l3->off;
    version = ip.p[0] >> 4;
    switch (l3->hint) {
    case HINT_V4:
    case HINT_V6:
        if (version != (l3->hint == HINT_V4 ? 4u : 6u))
            return FA_DECODE_BAD_IP_VERSION;
        break;
    case HINT_RAW:
    case HINT_GUESS:
        if (version != 4 && version != 6)
            return l3->hint == HINT_GUESS ? FA_DECODE_NOT_IP : FA_DECODE_BAD_IP_VERSION;
        break;
    }
    return version == 4 ? decode_ipv4(ip, flags, pkt) : decode_ipv6(ip, flags, pkt);
}

enum fa_decode_result fa_decode(int dlt, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
                                unsigned flags, struct fa_packet *pkt)
{
    uint8_t nothing = 0;
    struct frame f;
    struct l3 l3;
    enum fa_decode_result r;

    /* A copy of a zero packet, not memset(): for this size GCC's memset
     * is a "rep stos", whose start-up cost was half of decoding. */
    static const struct fa_packet zero;
    *pkt = zero;
    /* Offsets are added to data even when nothing is read there. */
    if (data == NULL) {
        data = &nothing;
        caplen = 0;
    }
    f.data = data;
    f.caplen = caplen;
    f.wirelen = wirelen > caplen ? wirelen : caplen;
    r = decode_link(dlt, &f, &l3);
    if (r != FA_DECODE_OK)
        return r;
    return decode_ip(&f, &l3, flags, pkt);
}

/* ---- names -------------------------------------------------------------- */

const char *fa_decode_reason_name(enum fa_decode_result r)
{
    switch (r) {
    case FA_DECODE_OK:
        return "ok";
    case FA_DECODE_NOT_IP:
        return "not-ip";
    case FA_DECODE_UNSUPPORTED_LINK:
        return "unsupported-link";
    case FA_DECODE_TRUNCATED_LINK:
        return "truncated-link";
    case FA_DECODE_TRUNCATED_IP:
        return "truncated-ip";
    case FA_DECODE_BAD_IP_VERSION:
        return "bad-ip-version";
    case FA_DECODE_BAD_IP_HEADER:
        return "bad-ip-header";
    case FA_DECODE_TRUNCATED_TRANSPORT:
        return "truncated-transport";
    case FA_DECODE_BAD_TRANSPORT_HEADER:
        return "bad-transport-header";
    case FA_DECODE_BAD_CHECKSUM:
        return "bad-checksum";
    case FA_DECODE_NREASONS:
        break;
    }
    return "unknown";
}

const char *fa_proto_name(int proto, char *buf)
{
    switch (proto) {
    case FA_PROTO_TCP:
        return "tcp";
    case FA_PROTO_UDP:
        return "udp";
    case FA_PROTO_ICMP:
        return "icmp";
    case FA_PROTO_ICMPV6:
        return "icmp6";
    default:
        snprintf(buf, FA_PROTO_STRLEN, "%d", proto & 0xff);
        return buf;
    }
}

int fa_addr_parse(const char *s, struct fa_addr *a)
{
    uint8_t v4[4];
    memset(a, 0, sizeof *a);
    if (inet_pton(AF_INET, s, v4) == 1) {
        fa_addr_from_ipv4(a, v4);
        return 4;
    }
    return inet_pton(AF_INET6, s, a->b) == 1 ? 6 : 0;
}

int fa_addr_is_v4(const struct fa_addr *a)
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

    return memcmp(a->b, prefix, sizeof prefix) == 0;
}

/* Every flow record formats two addresses: inet_ntop() goes through
 * sprintf, which costs more than the rest of the record's formatting. */
static char *put_octet(char *out, unsigned v)
{
    if (v >= 100)
        *out++ = (char)('0' + v / 100);
    if (v >= 10)
        *out++ = (char)('0' + v / 10 % 10);
    *out++ = (char)('0' + v % 10);
    return out;
}

char *fa_addr_str(const struct fa_addr *a, char *buf)
{
    if (fa_addr_is_v4(a)) {
        char *out = buf;
        for (int i = 12; i < 16; i++) {
            out = put_octet(out, a->b[i]);
            *out++ = i < 15 ? '.' : '\0';
        }
    } else
        inet_ntop(AF_INET6, a->b, buf, FA_ADDR_STRLEN);
    return buf;
}
