/*
 * decode.h - turn the bytes of one captured frame into a packet description.
 *
 * The decoder is pure: no libpcap, no SQLite, no allocation, no global
 * state.  It reads only inside [data, data + caplen) and reports every
 * frame it cannot trust with a reason, so it can be fuzzed on its own.
 *
 * Lengths come in two kinds and are never mixed up:
 *   - wire lengths (ip_len, payload_len) come from the headers and say what
 *     was on the wire, even when the snap length cut the frame;
 *   - captured lengths (payload_caplen) say what may actually be read.
 */
#ifndef FA_DECODE_H
#define FA_DECODE_H

#include <stdint.h>
#include <string.h>

/* Link types, as libpcap's pcap_datalink() reports them (DLT_*). */
enum {
    FA_DLT_NULL = 0,           /* BSD loopback: 4-byte family, host order */
    FA_DLT_EN10MB = 1,         /* Ethernet II */
    FA_DLT_PPP = 9,            /* PPP: optional 0xff 0x03, then the protocol */
    FA_DLT_RAW = 12,           /* raw IP (Linux value of DLT_RAW) */
    FA_DLT_RAW_BSD = 14,       /* raw IP (OpenBSD value of DLT_RAW) */
    FA_DLT_PPP_SERIAL = 50,    /* PPP in HDLC-like framing, or Cisco HDLC */
    FA_DLT_C_HDLC = 104,       /* Cisco HDLC: address, control, ethertype */
    FA_DLT_LOOP = 108,         /* OpenBSD loopback: 4-byte family, network order */
    FA_DLT_LINKTYPE_RAW = 101, /* raw IP as the file header may spell it */
    FA_DLT_LINUX_SLL = 113,    /* Linux cooked v1 */
    FA_DLT_IPV4 = 228,
    FA_DLT_IPV6 = 229,
    FA_DLT_LINUX_SLL2 = 276 /* Linux cooked v2 */
};

/* Why a frame was not turned into a packet.  FA_DECODE_OK is 0; every
 * other value is counted by the caller under fa_decode_reason_name(). */
enum fa_decode_result {
    FA_DECODE_OK = 0,
    FA_DECODE_NOT_IP,           /* ARP, LLDP, STP...: not an error, not a flow */
    FA_DECODE_UNSUPPORTED_LINK, /* a link type the decoder does not know */
    FA_DECODE_TRUNCATED_LINK,   /* cut inside a link, VLAN, MPLS or PPPoE header */
    FA_DECODE_TRUNCATED_IP,     /* cut inside the IPv4/IPv6 header or its options/extensions */
    FA_DECODE_BAD_IP_VERSION,
    FA_DECODE_BAD_IP_HEADER,        /* IHL < 5, total length < header, ... */
    FA_DECODE_TRUNCATED_TRANSPORT,  /* cut inside the TCP/UDP/ICMP header */
    FA_DECODE_BAD_TRANSPORT_HEADER, /* TCP data offset < 5 or past the IP payload, UDP length < 8 */
    FA_DECODE_BAD_CHECKSUM,         /* only with FA_DECODE_VERIFY_CHECKSUMS */
    FA_DECODE_NREASONS
};

/* Flags for fa_decode(). */
#define FA_DECODE_VERIFY_CHECKSUMS 0x1u

#define FA_TCP_FIN 0x01
#define FA_TCP_SYN 0x02
#define FA_TCP_RST 0x04
#define FA_TCP_PSH 0x08
#define FA_TCP_ACK 0x10
#define FA_TCP_URG 0x20

#define FA_PROTO_ICMP 1
#define FA_PROTO_TCP 6
#define FA_PROTO_UDP 17
#define FA_PROTO_ICMPV6 58

/* An address of either family: IPv4 is stored IPv4-mapped (::ffff:a.b.c.d)
 * so that every address compares and hashes as 16 bytes. */
struct fa_addr {
    uint8_t b[16];
};

/* The flow a transport header names: what an ICMP error quotes. */
struct fa_tuple {
    uint8_t proto;     /* IP protocol number */
    uint8_t has_ports; /* the quoted transport header reached the ports */
    uint16_t sport, dport;
    struct fa_addr src, dst;
};

struct fa_packet {
    uint8_t ip_version; /* 4 or 6 */
    uint8_t proto;      /* IP protocol after IPv6 extension headers */
    uint8_t has_ports;  /* TCP/UDP header decoded: sport and dport valid */
    uint8_t truncated;  /* the snap length cut the frame short of its IP length */
    struct fa_addr src, dst;
    uint16_t sport, dport; /* host order; 0 when has_ports is 0 */

    const uint8_t *ip;       /* the IP header: stream reassembly takes the packet from here */
    uint32_t ip_caplen;      /* IP bytes captured (<= ip_len; Ethernet padding excluded) */
    uint32_t ip_len;         /* IP header + payload, as the IP header says */
    uint32_t payload_len;    /* transport payload on the wire (after TCP/UDP/ICMP header) */
    const uint8_t *payload;  /* first captured payload byte, or NULL */
    uint32_t payload_caplen; /* payload bytes that were captured (<= payload_len) */

    /* Fragments: a non-first fragment has no transport header (has_ports 0,
     * is_fragment 1, frag_offset > 0); the flow table finds its flow by
     * (src, dst, proto, frag_id). */
    uint8_t is_fragment; /* MF set or offset > 0 */
    uint8_t more_fragments;
    uint16_t frag_offset; /* in bytes */
    uint32_t frag_id;     /* IPv4 identification or IPv6 fragment identification */

    /* TCP, when proto is TCP and has_ports */
    uint8_t tcp_flags;   /* FA_TCP_* */
    uint16_t tcp_window; /* raw, unscaled */
    uint32_t tcp_seq, tcp_ack;

    /* ICMP and ICMPv6 */
    uint8_t has_icmp; /* icmp_type/icmp_code valid */
    uint8_t icmp_type, icmp_code;
    uint16_t icmp_id; /* echo identifier, 0 for other types */
    /* An ICMP error (destination unreachable, time exceeded, parameter
     * problem, packet too big, source quench, redirect) quotes the packet
     * that caused it; the quoted addresses and ports are decoded here. */
    uint8_t has_quoted;
    struct fa_tuple quoted;
};

/* Decode one frame of link type dlt.  caplen is what was captured,
 * wirelen what was on the wire.  On FA_DECODE_OK *pkt is filled in;
 * otherwise *pkt holds whatever was decoded before the failure and must
 * not be used.  Reads nothing outside [data, data + caplen). */
enum fa_decode_result fa_decode(int dlt, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
                                unsigned flags, struct fa_packet *pkt);

/* Short stable name of a result ("truncated-ip", ...), as stored in the
 * database and shown to users. */
const char *fa_decode_reason_name(enum fa_decode_result r);

/* 1 when the link type is one fa_decode() understands. */
int fa_decode_link_supported(int dlt);

/* Short name of an IP protocol, as flowaudit writes it: tcp, udp, icmp,
 * icmp6, or the number in buf (at least FA_PROTO_STRLEN bytes). */
#define FA_PROTO_STRLEN 4
const char *fa_proto_name(int proto, char *buf);

/* Parses a dotted quad (stored IPv4-mapped) or an IPv6 address; returns
 * 4 or 6, or 0 when s is neither. */
int fa_addr_parse(const char *s, struct fa_addr *a);

/* 1 when the address is IPv4-mapped. */
int fa_addr_is_v4(const struct fa_addr *a);

/* The IPv4-mapped form of the 4 bytes at v4 (network order). */
void fa_addr_from_ipv4(struct fa_addr *a, const uint8_t *v4);

/* 1 when a and b are the same address: two 8-byte compares, as the
 * lookups made for every packet want. */
static inline int fa_addr_eq(const struct fa_addr *a, const struct fa_addr *b)
{
    uint64_t a0, a1, b0, b1;
    memcpy(&a0, a->b, 8);
    memcpy(&a1, a->b + 8, 8);
    memcpy(&b0, b->b, 8);
    memcpy(&b1, b->b + 8, 8);
    return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

/* Text form of an address (dotted quad for IPv4, RFC 5952 for IPv6)
 * into buf of at least FA_ADDR_STRLEN bytes; returns buf. */
#define FA_ADDR_STRLEN 46
char *fa_addr_str(const struct fa_addr *a, char *buf);

#endif
