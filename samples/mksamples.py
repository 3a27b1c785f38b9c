#!/usr/bin/env python3
"""Build the sample captures of this directory.

    python3 samples/mksamples.py

rewrites every file listed in SAMPLES below, from any working directory.
Only the Python 3 standard library is used.  The output is byte-for-byte
reproducible: timestamps, ports, sequence numbers, IP IDs and filler bytes
are all derived from fixed values, never from the clock or a random source.

The file has two halves.  The first (hosts, scenarios, SAMPLES) says what
each capture contains and is meant to be read on its own; the second
(after the "machinery" banner) turns those descriptions into packets.

Timing model: the capture point sits next to the servers.  Each host has
the round-trip time between the capture point and itself, so a reply from
host H to a packet seen at time t is seen at t + H.rtt (+ think time).
Every scenario time is in seconds from the start of the capture; all
timestamps fall on whole microseconds so that the microsecond, nanosecond
and pcapng variants of a scenario describe exactly the same packets.
"""

import hashlib
import ipaddress
import struct
import sys
from pathlib import Path

# ======================================================================
# Hosts
# ======================================================================

# The segment the capture point sits on.  Frames from hosts outside it
# carry the firewall's MAC address, as they would on a real server LAN.
SERVER_NETS = [ipaddress.ip_network("192.0.2.0/24"),
               ipaddress.ip_network("2001:db8:0:1::/64")]


class Host:
    """One address of one machine.

    os picks the TCP/IP stack flavour (initial TTL, SYN options, ephemeral
    port range, TCP timestamps); hops is how many routers lie between the
    host and the capture point; rtt_ms is the round trip from the capture
    point to the host and back.
    """

    def __init__(self, name, ip, os="windows", hops=0, rtt_ms=0.15, mac=None):
        self.name = name
        self.addr = ipaddress.ip_address(ip)
        self.v6 = self.addr.version == 6
        self.os = os
        self.ttl = (128 if os == "windows" else 64) - hops
        self.rtt = rtt_ms / 1000.0
        self.loopback = self.addr.is_loopback
        self.local = self.loopback or any(self.addr in n for n in SERVER_NETS)
        if mac is None:
            # Locally administered, and readable: the low bytes are the address's.
            mac = "02:00:" + ":".join("%02x" % b for b in self.addr.packed[-4:])
        self.mac = bytes.fromhex(mac.replace(":", ""))

    def __repr__(self):
        return "%s(%s)" % (self.name, self.addr)


FIREWALL = Host("firewall", "192.0.2.1", os="linux", rtt_ms=0.08)
FE1 = Host("fe1", "192.0.2.10")
FE2 = Host("fe2", "192.0.2.11")
CONTROLLER = Host("controller", "192.0.2.20")
DB = Host("db", "192.0.2.30", rtt_ms=0.12)
LIFETIME = Host("lifetime", "192.0.2.40")
DNS = Host("dns", "192.0.2.53", os="linux", rtt_ms=0.10)
DEV_TOOLS = Host("devtools", "198.51.100.7", hops=1, rtt_ms=4.0)
END_USER = Host("user1", "203.0.113.50", hops=11, rtt_ms=28.0)
END_USER_B = Host("user3", "203.0.113.52", hops=11, rtt_ms=31.0)
# What DNS says architecture.outsystems.com is, in a documentation range.
ARCHITECTURE_DASHBOARD = Host("architecture", "203.0.113.80", os="linux", hops=14,
                              rtt_ms=24.0)

# tcpdump runs on Linux, so the front-end of the cooked captures is one.
FE1_LINUX = Host("fe1", "192.0.2.10", os="linux")
END_USER_LINUX = Host("user2", "203.0.113.51", os="linux", hops=12, rtt_ms=35.0)
LOCALHOST = Host("localhost", "127.0.0.1", os="linux", rtt_ms=0.02)

FIREWALL6 = Host("firewall6", "2001:db8:0:1::1", os="linux", rtt_ms=0.08,
                 mac="02:00:c0:00:02:01")
FE1_V6 = Host("fe1-v6", "2001:db8:0:1::10", mac="02:00:c0:00:02:0a")
DNS6 = Host("dns6", "2001:db8:0:1::53", os="linux", rtt_ms=0.10,
            mac="02:00:c0:00:02:35")
DB_V6 = Host("db-v6", "2001:db8:0:3::30", hops=1, rtt_ms=0.3)
CLIENT6 = Host("client6", "2001:db8:0:2::50", hops=3, rtt_ms=12.0)
CLIENT6_B = Host("client6b", "2001:db8:0:2::51", hops=3, rtt_ms=12.0)
LOCALHOST6 = Host("localhost6", "::1", rtt_ms=0.02)

# ======================================================================
# Scenarios: what each capture contains
# ======================================================================
#
# Step vocabulary (all times in seconds; `at` is when the step starts):
#   tcp_session(client, server, dport, request=, response=)  handshake,
#       one request/response (or exchanges=[(req, resp), ...]), FIN close
#       started by the client.  corrupt_request=True: the first request
#       segment is captured with a bad TCP checksum, the server ignores it
#       and the client retransmits it 300 ms later.
#   tcp_blocked(client, server, dport, syn_at=[...])  SYN retransmissions
#       (same ISN), never answered.
#   tcp_rejected(client, server, dport)  SYN answered by RST-ACK.
#   tcp_filtered(client, server, dport, by=, icmp_code=, syn_at=[...])
#       each SYN answered by an ICMP/ICMPv6 destination unreachable from
#       `by`, quoting the SYN.
#   udp_exchange(client, server, dport, request=, response=)  one datagram
#       each way; datagrams larger than the MTU are sent as IP fragments.
#       corrupt_request=True: the first request is captured with a bad UDP
#       checksum, gets no answer, and is repeated 1 s later.
#   udp_unreachable(client, server, dport, request=)  answered by ICMP port
#       unreachable from the server, quoting the whole datagram.
#   icmp_echo(client, server)  echo request and reply (ICMP or ICMPv6).
#   tcp_path_mtu(client, server, dport, by=)  a session whose first data
#       segment draws an ICMP fragmentation needed from router `by`; the
#       client sends it again smaller, and the session goes on.
# Every step takes vlan=dot1q(id) or vlan=qinq(outer, inner) for tagged
# Ethernet frames.


def healthy():
    return [
        udp_exchange(FE1, DNS, 53, at=0.000,
                     request=dns_query(0x3a41, "sqlprod.example.com"),
                     response=dns_answer(0x3a41, "sqlprod.example.com", "192.0.2.30")),
        tcp_session(FE1, DB, 1433, at=0.010, exchanges=tds_exchanges()),
        tcp_session(END_USER, FE1, 443, at=0.300,
                    exchanges=https_exchanges("apps.example.com")),
        tcp_session(DEV_TOOLS, FE1, 80, at=1.000,
                    request=http_get("fe1.example.com", "/"),
                    response=http_ok(HOME_PAGE)),
        tcp_session(FE1, CONTROLLER, 12000, at=1.500,
                    request=remoting_request(CONTROLLER, 12000, "DeploymentController", 310),
                    response=remoting_reply(120)),
        tcp_session(CONTROLLER, FE1, 12001, at=1.800,
                    request=remoting_request(FE1, 12001, "DeploymentService", 540),
                    response=remoting_reply(96)),
        tcp_session(CONTROLLER, FE2, 12002, at=2.100,
                    request=remoting_request(FE2, 12002, "SchedulerService", 220),
                    response=remoting_reply(64)),
        icmp_echo(LIFETIME, FE1, at=2.500),
    ]


def db_blocked():
    return [
        tcp_blocked(FE1, DB, 1433, at=0.000, syn_at=[0, 1, 3]),
        tcp_blocked(FE2, DB, 1521, at=0.150, syn_at=[0, 1, 3]),
        tcp_session(FE1, CONTROLLER, 12000, at=0.600,
                    request=remoting_request(CONTROLLER, 12000, "DeploymentController", 310),
                    response=remoting_reply(120)),
    ]


def closed_port():
    return [
        tcp_rejected(CONTROLLER, FE2, 12001, at=0.000),
        tcp_rejected(CONTROLLER, FE2, 12001, at=1.000),  # new source port, new ISN
    ]


def icmp_prohibited():
    return [
        # code 13: communication administratively prohibited (by a filter)
        tcp_filtered(DEV_TOOLS, FE1, 443, by=FIREWALL, icmp_code=13, at=0.000, syn_at=[0, 1]),
        # code 3: port unreachable; nothing listens on 53 any more
        udp_unreachable(FE1, DNS, 53, at=2.500,
                        request=dns_query(0x7c10, "sqlprod.example.com")),
    ]


def ipv6():
    return [
        tcp_session(CLIENT6, FE1_V6, 443, at=0.000,
                    exchanges=https_exchanges("apps.example.com")),
        # "localhost" resolved to ::1 while the service listens on 127.0.0.1 only
        tcp_rejected(LOCALHOST6, LOCALHOST6, 12000, at=0.800),
        icmp_echo(CLIENT6_B, FE1_V6, at=1.000),
        udp_exchange(FE1_V6, DNS6, 53, at=1.200,
                     request=dns_query(0x61d3, "sqlprod.example.com", "AAAA"),
                     response=dns_answer(0x61d3, "sqlprod.example.com", "2001:db8:0:3::30"),
                     request_ext=[HOP_BY_HOP], response_ext=[DEST_OPTS]),
        # ICMPv6 type 1 code 1: communication administratively prohibited
        tcp_filtered(FE1_V6, DB_V6, 1433, by=FIREWALL6, icmp_code=1, at=1.500, syn_at=[0]),
    ]


def vlan():
    return [
        tcp_session(FE1, DB, 1433, at=0.000, exchanges=tds_exchanges(), vlan=dot1q(100)),
        tcp_session(END_USER, FE2, 443, at=0.200,
                    exchanges=https_exchanges("apps.example.com"), vlan=qinq(200, 100)),
    ]


def linux_cooked():
    return [
        tcp_session(END_USER_LINUX, FE1_LINUX, 80, at=0.000,
                    request=http_get("fe1.example.com", "/"),
                    response=http_ok(HOME_PAGE)),
        tcp_session(LOCALHOST, LOCALHOST, 80, at=0.500,
                    request=http_get("127.0.0.1", "/"),
                    response=http_ok(HOME_PAGE)),
    ]


def checksum():
    return [
        tcp_session(DEV_TOOLS, FE1, 80, at=0.000,
                    request=http_get("fe1.example.com", "/"),
                    response=http_ok(HOME_PAGE), corrupt_request=True),
        udp_exchange(FE1, DNS, 53, at=1.000,
                     request=dns_query(0x2b7e, "sqlprod.example.com"),
                     response=dns_answer(0x2b7e, "sqlprod.example.com", "192.0.2.30"),
                     corrupt_request=True),
    ]


def fragments():
    return [
        # 3000-byte UDP datagram (8 + 2992): three IPv4 fragments at MTU 1500
        udp_exchange(FE1, DNS, 53, at=0.000,
                     request=dns_query(0x51c2, "large.example.com", "TXT", edns=4096),
                     response=dns_txt_answer(0x51c2, "large.example.com", size=2992)),
        # 1800-byte UDP datagram: two IPv6 fragments
        udp_exchange(FE1_V6, DNS6, 53, at=0.500,
                     request=dns_query(0x51c3, "large.example.com", "TXT", edns=4096),
                     response=dns_txt_answer(0x51c3, "large.example.com", size=1792)),
    ]


def edges():
    return [
        # The router on the path asks for smaller packets: path MTU
        # discovery, not a failure.
        tcp_path_mtu(FE1, DB, 1433, at=0.000, by=FIREWALL),
        # LifeTime, not an end user, is refused by the front-end.
        tcp_rejected(LIFETIME, FE1, 443, at=0.500),
        # A lone SYN in the capture's last moment: still in flight.
        tcp_blocked(FE2, DB, 1433, at=1.000, syn_at=[0]),
    ]


def truncated():
    return [
        tcp_session(END_USER, FE1, 443, at=0.000,
                    exchanges=https_exchanges("apps.example.com")),
    ]


def architecture_blocked():
    return [
        # LifeTime looks the Architecture Dashboard up by name...
        udp_exchange(LIFETIME, DNS, 53, at=0.000,
                     request=dns_query(0x4ad7, "architecture.outsystems.com"),
                     response=dns_answer(0x4ad7, "architecture.outsystems.com",
                                         str(ARCHITECTURE_DASHBOARD.addr))),
        # ...and the address it got never answers: a firewall drops the way out.
        tcp_blocked(LIFETIME, ARCHITECTURE_DASHBOARD, 443, at=0.010, syn_at=[0, 1, 3]),
    ]


def names():
    return [
        # A browser's post-quantum ClientHello (X25519MLKEM768 key share):
        # about 1.7 KB, so it spans two TCP segments.
        tcp_session(END_USER, FE1, 443, at=0.000,
                    exchanges=https_exchanges("apps.example.com", post_quantum=True)),
        tcp_session(END_USER, FE2, 80, at=0.400,
                    request=http_get("apps.example.com", "/"),
                    response=http_ok(HOME_PAGE)),
        # SQL Server: PRELOGIN; Oracle: CONNECT answered by ACCEPT.
        tcp_session(FE1, DB, 1433, at=0.600, exchanges=tds_exchanges()),
        tcp_session(FE2, DB, 1521, at=0.700, exchanges=tns_exchanges(FE2, DB, "OSPROD")),
        # A front-end answering plain HTTP on 443: not what the port should carry.
        tcp_session(END_USER_B, FE2, 443, at=0.900,
                    request=http_get("apps.example.com", "/"),
                    response=http_ok(HOME_PAGE)),
    ]


# link: ethernet | sll (113) | sll2 (276) | raw (101)
# format: pcap-us (a1b2c3d4) | pcap-ns (a1b23c4d) | pcapng (nanosecond if_tsresol)
SAMPLES = [
    dict(file="healthy.pcap", scenario=healthy, link="ethernet", format="pcap-us"),
    dict(file="healthy.pcapng", scenario=healthy, link="ethernet", format="pcapng"),
    dict(file="healthy-ns.pcap", scenario=healthy, link="ethernet", format="pcap-ns"),
    dict(file="db-blocked.pcap", scenario=db_blocked, link="ethernet", format="pcap-us"),
    dict(file="closed-port.pcap", scenario=closed_port, link="ethernet", format="pcap-us"),
    dict(file="icmp-prohibited.pcap", scenario=icmp_prohibited, link="ethernet", format="pcap-us"),
    dict(file="ipv6.pcap", scenario=ipv6, link="raw", format="pcap-us"),
    dict(file="vlan.pcap", scenario=vlan, link="ethernet", format="pcap-us"),
    dict(file="linux-sll.pcap", scenario=linux_cooked, link="sll", format="pcap-us",
         capture_on=FE1_LINUX),
    dict(file="linux-sll2.pcap", scenario=linux_cooked, link="sll2", format="pcap-us",
         capture_on=FE1_LINUX),
    dict(file="checksum.pcap", scenario=checksum, link="ethernet", format="pcap-us"),
    dict(file="fragments.pcap", scenario=fragments, link="ethernet", format="pcap-us"),
    dict(file="edges.pcap", scenario=edges, link="ethernet", format="pcap-us"),
    dict(file="truncated.pcap", scenario=truncated, link="ethernet", format="pcap-us",
         snaplen=64),
    dict(file="not-a-capture.pcap", text="this is not a capture\n"),
    dict(file="architecture-blocked.pcap", scenario=architecture_blocked, link="ethernet",
         format="pcap-us"),
    dict(file="names.pcap", scenario=names, link="ethernet", format="pcap-us"),
]

# All captures start at 2024-05-14 08:30:00 UTC.
EPOCH = 1715675400


# ======================================================================
# Machinery
# ======================================================================

def _h32(*parts):
    """A fixed 32-bit value for a label: stands in for the kernel's random
    choices (ISNs, first IP ID, ports) so that every run agrees."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).digest()
    return struct.unpack("!I", digest[:4])[0]


def fill(label, n):
    """n deterministic bytes that look like ciphertext."""
    out = b""
    i = 0
    while len(out) < n:
        out += hashlib.sha256(("%s#%d" % (label, i)).encode()).digest()
        i += 1
    return out[:n]


# ---------------------------------------------------------------- checksums

def inet_checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def pseudo_header(src, dst, proto, length):
    if src.v6:
        return src.addr.packed + dst.addr.packed + struct.pack("!IxxxB", length, proto)
    return src.addr.packed + dst.addr.packed + struct.pack("!xBH", proto, length)


def spoil(good):
    # Any value but the right one, and never 0: a zero UDP checksum means
    # "not computed" in IPv4 and would not count as wrong.
    bad = good ^ 0x5A5A
    assert bad not in (good, 0)
    return bad


# ---------------------------------------------------------------- transport

TCP_FIN, TCP_SYN, TCP_RST, TCP_PSH, TCP_ACK = 0x01, 0x02, 0x04, 0x08, 0x10
PROTO_ICMP, PROTO_TCP, PROTO_UDP, PROTO_ICMPV6 = 1, 6, 17, 58


def tcp_segment(src, dst, sport, dport, seq, ack, flags, window, options=b"",
                payload=b"", bad_checksum=False):
    assert len(options) % 4 == 0
    offset = (20 + len(options)) // 4
    hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF,
                      offset << 4, flags, window, 0, 0) + options
    seg = hdr + payload
    ck = inet_checksum(pseudo_header(src, dst, PROTO_TCP, len(seg)) + seg)
    if bad_checksum:
        ck = spoil(ck)
    return seg[:16] + struct.pack("!H", ck) + seg[18:]


def udp_datagram(src, dst, sport, dport, payload, bad_checksum=False):
    length = 8 + len(payload)
    dgram = struct.pack("!HHHH", sport, dport, length, 0) + payload
    ck = inet_checksum(pseudo_header(src, dst, PROTO_UDP, length) + dgram) or 0xFFFF
    if bad_checksum:
        ck = spoil(ck)
    return dgram[:6] + struct.pack("!H", ck) + dgram[8:]


def icmp_message(src, dst, icmp_type, code, rest, data):
    """ICMP for IPv4 sources, ICMPv6 (pseudo-header in the sum) for IPv6."""
    msg = struct.pack("!BBH", icmp_type, code, 0) + rest + data
    if src.v6:
        ck = inet_checksum(pseudo_header(src, dst, PROTO_ICMPV6, len(msg)) + msg)
    else:
        ck = inet_checksum(msg)
    return msg[:2] + struct.pack("!H", ck) + msg[4:]


# IPv6 extension headers that carry nothing but padding: enough to make a
# decoder walk the chain before it reaches the transport header.
HOP_BY_HOP = 0
DEST_OPTS = 60
IPV6_FRAGMENT = 44
_PADN6 = b"\x01\x04\x00\x00\x00\x00"


def dot1q(vid):
    return ((0x8100, vid),)


def qinq(outer, inner):
    return ((0x88A8, outer), (0x8100, inner))


# ---------------------------------------------------------------- packets

class Packet:
    """One IP packet before its IP header exists.

    The IP header is written only once every packet of the capture is in
    time order, because IP IDs must grow in the order a host sends, across
    all its flows.  `l4` may be a function when the packet quotes another
    one (ICMP errors), since the quoted header is not known before then.
    """
    _order = 0

    def __init__(self, t, src, dst, proto, l4, df=False, ext=(), frag=None, vlan=()):
        self.t_us = round(t * 1e6)
        self.src, self.dst, self.proto = src, dst, proto
        self.l4, self.df, self.ext, self.frag, self.vlan = l4, df, tuple(ext), frag, vlan
        self.ip = None
        Packet._order += 1
        self.order = Packet._order


class Capture:
    """Packets of one sample plus the per-host state a real stack keeps."""

    def __init__(self):
        self.packets = []
        self._ports = {}

    def add(self, *args, **kw):
        p = Packet(*args, **kw)
        self.packets.append(p)
        return p

    def ephemeral_port(self, host):
        key = (host.addr, host.os)
        if key not in self._ports:
            lo, span = (49152, 16000) if host.os == "windows" else (32768, 28000)
            self._ports[key] = lo + _h32("port", host.addr) % span
        self._ports[key] += 1
        return self._ports[key]

    def datagram(self, t, src, dst, proto, l4, ext=(), vlan=(), mtu=1500):
        """Send a transport datagram, fragmenting it when it exceeds the MTU."""
        room = mtu - (40 + 8 * len(ext) if src.v6 else 20)
        if len(l4) <= room:
            return [self.add(t, src, dst, proto, l4, ext=ext, vlan=vlan)]
        if src.v6:
            room -= 8  # the fragment header
        room -= room % 8  # offsets count 8-byte units
        group = {}
        out = []
        for i, off in enumerate(range(0, len(l4), room)):
            more = off + room < len(l4)
            # One full-size frame at 1 Gbit/s lasts about 12 us.
            out.append(self.add(t + i * 12e-6, src, dst, proto, l4[off:off + room],
                                ext=ext, vlan=vlan, frag=(group, off, more)))
        return out


def render_ip(packets):
    """Sort into capture order and write every IP header."""
    packets.sort(key=lambda p: (p.t_us, p.order))
    next_id = {}

    def new_id(host, bits):
        key = (host.addr, bits)
        if key not in next_id:
            next_id[key] = _h32("ipid", host.addr, bits)
        next_id[key] = (next_id[key] + 1) & ((1 << bits) - 1)
        return next_id[key]

    for p in packets:
        l4 = p.l4() if callable(p.l4) else p.l4
        if p.src.v6:
            p.ip = _ipv6_packet(p, l4, new_id)
        else:
            p.ip = _ipv4_packet(p, l4, new_id)


def _ipv4_packet(p, l4, new_id):
    flags_off = 0x4000 if p.df else 0
    if p.frag:
        group, off, more = p.frag
        if "id" not in group:
            group["id"] = new_id(p.src, 16)
        ident = group["id"]
        flags_off = (0x2000 if more else 0) | (off // 8)
    else:
        ident = new_id(p.src, 16)
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ident, flags_off,
                      p.src.ttl, p.proto, 0, p.src.addr.packed, p.dst.addr.packed)
    hdr = hdr[:10] + struct.pack("!H", inet_checksum(hdr)) + hdr[12:]
    return hdr + l4


def _ipv6_packet(p, l4, new_id):
    chain = list(p.ext) + ([IPV6_FRAGMENT] if p.frag else [])
    nexts = chain[1:] + [p.proto]
    ext = b""
    for kind, nxt in zip(chain, nexts):
        if kind == IPV6_FRAGMENT:
            group, off, more = p.frag
            if "id" not in group:
                group["id"] = new_id(p.src, 32)
            ext += struct.pack("!BBHI", nxt, 0, off | int(more), group["id"])
        else:
            ext += bytes([nxt, 0]) + _PADN6
    first = chain[0] if chain else p.proto
    hdr = struct.pack("!IHBB16s16s", 0x60000000, len(ext) + len(l4), first, p.src.ttl,
                      p.src.addr.packed, p.dst.addr.packed)
    return hdr + ext + l4


# ---------------------------------------------------------------- TCP

ACK_DELAY = 100e-6    # receiver's turnaround for a pure ACK
SERVER_THINK = 2e-3   # server application time before a response
CLIENT_THINK = 4e-3   # client time between a response and its next request
SEGMENT_GAP = 15e-6   # back-to-back segments of one burst
RTO = 0.3             # first retransmission timeout of an established connection


class TcpConnection:
    """Both ends of one TCP connection; side 0 is the client, 1 the server.

    Sides are indices rather than hosts because a localhost connection has
    the same host on both ends.
    """

    def __init__(self, cap, client, server, sport, dport, vlan=()):
        self.cap = cap
        self.h = [client, server]
        self.port = [sport, dport]
        self.vlan = vlan
        self.isn = [_h32("isn", client.addr, sport, server.addr, dport),
                    _h32("isn", server.addr, dport, client.addr, sport)]
        self.nxt = list(self.isn)
        # Only Linux offers timestamps here; Windows leaves RFC 7323 off.
        self.timestamps = client.os == "linux" and server.os == "linux"
        self.last_t = [None, None]
        mss = [self._mss(h) for h in self.h]
        self.mss = min(mss) - (12 if self.timestamps else 0)

    @staticmethod
    def _mss(host):
        mtu = 65536 if host.loopback else 1500
        if host.v6:
            return mtu - 60
        # An IPv4 packet cannot exceed 65535 bytes, whatever lo's MTU says.
        return min(mtu, 65535) - 40

    def _tsval(self, side, t):
        return (_h32("tsclock", self.h[side].addr) + int(t * 1000)) & 0xFFFFFFFF

    def _ts_option(self, side, t):
        echo = self.last_t[1 - side]
        tsecr = 0 if echo is None else self._tsval(1 - side, echo)
        return struct.pack("!BBII", 8, 10, self._tsval(side, t), tsecr)

    def _syn_options(self, side, t):
        host = self.h[side]
        mss = struct.pack("!BBH", 2, 4, self._mss(host))
        if host.os == "windows":
            return mss + b"\x01\x03\x03\x08\x01\x01\x04\x02"   # NOP WS8 NOP NOP SACK_PERM
        if side == 1 and not self.timestamps:
            return mss + b"\x01\x01\x04\x02\x01\x03\x03\x07"   # NOP NOP SACK_PERM NOP WS7
        return mss + b"\x04\x02" + self._ts_option(side, t) + b"\x01\x03\x03\x07"

    def _window(self, side, syn):
        host = self.h[side]
        if syn:
            return 65495 if host.loopback else 64240
        # Raw values: both ends negotiated window scaling (8 on Windows, 7 on Linux).
        return 1026 if host.os == "windows" else 502

    def emit(self, t, side, flags, payload=b"", seq=None, ack=None, bad_checksum=False):
        """One segment.  seq given: a retransmission, the stream does not advance."""
        other = 1 - side
        if seq is None:
            seq = self.nxt[side]
            self.nxt[side] += len(payload) + bool(flags & TCP_SYN) + bool(flags & TCP_FIN)
        if ack is None:
            ack = self.nxt[other] if flags & TCP_ACK else 0
        syn = bool(flags & TCP_SYN)
        if syn:
            opts = self._syn_options(side, t)
        elif self.timestamps and not flags & TCP_RST:
            opts = b"\x01\x01" + self._ts_option(side, t)
        else:
            opts = b""
        window = 0 if flags & TCP_RST else self._window(side, syn)
        src, dst = self.h[side], self.h[other]
        seg = tcp_segment(src, dst, self.port[side], self.port[other], seq, ack, flags,
                          window, opts, payload, bad_checksum)
        self.last_t[side] = t
        return self.cap.add(t, src, dst, PROTO_TCP, seg, df=True, vlan=self.vlan)

    def handshake(self, t):
        c, s = self.h
        self.emit(t, 0, TCP_SYN)
        t += s.rtt + 50e-6
        self.emit(t, 1, TCP_SYN | TCP_ACK)
        t += c.rtt + 20e-6
        self.emit(t, 0, TCP_ACK)
        return t

    def send(self, t, side, data, piggyback=False, corrupt=False):
        """Send data as MSS-sized segments; the peer ACKs every second one.

        piggyback: the peer answers at once, so its reply carries the ACK of
        the last segment.  Returns the time of the last data segment.
        """
        other = 1 - side
        if corrupt:
            # The receiver drops the damaged copy silently; only the RTO
            # brings the data through.
            self.emit(t, side, TCP_PSH | TCP_ACK, data[:self.mss], seq=self.nxt[side],
                      bad_checksum=True)
            t += RTO
        chunks = [data[i:i + self.mss] for i in range(0, len(data), self.mss)]
        events = []
        seq = self.nxt[side]
        for i, chunk in enumerate(chunks):
            last = i == len(chunks) - 1
            ts = t + i * SEGMENT_GAP
            events.append((ts, side, TCP_PSH | TCP_ACK if last else TCP_ACK, chunk, seq,
                           self.nxt[other]))
            seq += len(chunk)
            if (i % 2 == 1 or last) and not (last and piggyback):
                events.append((ts + self.h[other].rtt + ACK_DELAY, other, TCP_ACK, b"",
                               self.nxt[other], seq))
        self.nxt[side] = seq
        for ts, who, flags, payload, sq, ak in sorted(events, key=lambda e: e[0]):
            self.emit(ts, who, flags, payload, seq=sq, ack=ak)
        return t + (len(chunks) - 1) * SEGMENT_GAP

    def close(self, t):
        """Client-initiated close: FIN, ACK, FIN, ACK."""
        c, s = self.h
        self.emit(t, 0, TCP_FIN | TCP_ACK)
        t += s.rtt + ACK_DELAY
        self.emit(t, 1, TCP_ACK)
        t += 150e-6  # the server application closes its socket
        self.emit(t, 1, TCP_FIN | TCP_ACK)
        t += c.rtt + ACK_DELAY
        self.emit(t, 0, TCP_ACK)
        return t


# ---------------------------------------------------------------- steps

def tcp_session(client, server, dport, at, request=None, response=None, exchanges=None,
                sport=None, corrupt_request=False, vlan=()):
    if exchanges is None:
        exchanges = [(request, response)]

    def build(cap):
        conn = TcpConnection(cap, client, server, sport or cap.ephemeral_port(client),
                             dport, vlan)
        t = conn.handshake(at) + 20e-6
        for n, (req, resp) in enumerate(exchanges):
            t = conn.send(t, 0, req, piggyback=bool(resp), corrupt=corrupt_request and n == 0)
            if resp:
                t = conn.send(t + server.rtt + SERVER_THINK, 1, resp)
            t += client.rtt + CLIENT_THINK
        conn.close(t + 0.02)
    return build


def tcp_blocked(client, server, dport, at, syn_at, sport=None, vlan=()):
    def build(cap):
        conn = TcpConnection(cap, client, server, sport or cap.ephemeral_port(client),
                             dport, vlan)
        for k, dt in enumerate(syn_at):
            conn.emit(at + dt, 0, TCP_SYN, seq=conn.isn[0] if k else None)
    return build


def tcp_rejected(client, server, dport, at, sport=None, vlan=()):
    def build(cap):
        conn = TcpConnection(cap, client, server, sport or cap.ephemeral_port(client),
                             dport, vlan)
        conn.emit(at, 0, TCP_SYN)
        # RFC 793: a RST answering a segment without ACK has seq 0 and
        # acknowledges the SYN.
        conn.emit(at + server.rtt + 40e-6, 1, TCP_RST | TCP_ACK, seq=0, ack=conn.isn[0] + 1)
    return build


def _icmp_error(cap, t, by, to, offender, code, limit, vlan):
    """Destination unreachable from `by` about packet `offender`."""
    icmp_type = 1 if by.v6 else 3

    def body():
        quoted = offender.ip[:limit(offender.ip)]
        return icmp_message(by, to, icmp_type, code, b"\0\0\0\0", quoted)
    return cap.add(t, by, to, PROTO_ICMPV6 if by.v6 else PROTO_ICMP, body, vlan=vlan)


def _ip_header_plus_8(ip):
    # RFC 792's minimum quote: the IP header and 8 bytes of what follows.
    return (ip[0] & 0x0F) * 4 + 8


def _as_much_as_fits(ip):
    # RFC 4443 / Linux behaviour: quote up to the minimum MTU.
    return 1280 - 48 if ip[0] >> 4 == 6 else 576 - 28


def tcp_filtered(client, server, dport, at, by, icmp_code, syn_at, sport=None, vlan=()):
    def build(cap):
        conn = TcpConnection(cap, client, server, sport or cap.ephemeral_port(client),
                             dport, vlan)
        for k, dt in enumerate(syn_at):
            syn = conn.emit(at + dt, 0, TCP_SYN, seq=conn.isn[0] if k else None)
            limit = _as_much_as_fits if by.v6 else _ip_header_plus_8
            _icmp_error(cap, at + dt + by.rtt + 30e-6, by, client, syn, icmp_code, limit, vlan)
    return build


def tcp_path_mtu(client, server, dport, at, by, sport=None, vlan=()):
    def build(cap):
        conn = TcpConnection(cap, client, server, sport or cap.ephemeral_port(client),
                             dport, vlan)
        t = conn.handshake(at) + 20e-6
        big = conn.emit(t, 0, TCP_PSH | TCP_ACK, fill("pmtu", 1400))
        _icmp_error(cap, t + by.rtt + 30e-6, by, client, big, 4, _ip_header_plus_8, vlan)
        # The same bytes again in two smaller segments.
        conn.nxt[0] -= 1400
        t += 0.001
        conn.emit(t, 0, TCP_ACK, fill("pmtu", 1400)[:1200])
        conn.emit(t + 20e-6, 0, TCP_PSH | TCP_ACK, fill("pmtu", 1400)[1200:])
        t += server.rtt + SERVER_THINK
        t = conn.send(t, 1, fill("pmtu-reply", 64))
        conn.close(t + client.rtt + 0.02)
    return build


def udp_exchange(client, server, dport, at, request, response, sport=None,
                 corrupt_request=False, request_ext=(), response_ext=(), vlan=()):
    def build(cap):
        port = sport or cap.ephemeral_port(client)
        t = at
        if corrupt_request:
            bad = udp_datagram(client, server, port, dport, request, bad_checksum=True)
            cap.datagram(t, client, server, PROTO_UDP, bad, request_ext, vlan)
            t += 1.0  # the resolver's retry interval
        cap.datagram(t, client, server, PROTO_UDP,
                     udp_datagram(client, server, port, dport, request), request_ext, vlan)
        cap.datagram(t + server.rtt + 300e-6, server, client, PROTO_UDP,
                     udp_datagram(server, client, dport, port, response), response_ext, vlan)
    return build


def udp_unreachable(client, server, dport, at, request, sport=None, vlan=()):
    def build(cap):
        port = sport or cap.ephemeral_port(client)
        [query] = cap.datagram(at, client, server, PROTO_UDP,
                               udp_datagram(client, server, port, dport, request), vlan=vlan)
        _icmp_error(cap, at + server.rtt + 40e-6, server, client, query, 3, _as_much_as_fits,
                    vlan)
    return build


PING_DATA = b"abcdefghijklmnopqrstuvwabcdefghi"  # what Windows ping sends


def icmp_echo(client, server, at, vlan=()):
    def build(cap):
        req_type, rep_type = (128, 129) if client.v6 else (8, 0)
        proto = PROTO_ICMPV6 if client.v6 else PROTO_ICMP
        rest = struct.pack("!HH", 1, 0x0021)
        cap.add(at, client, server, proto,
                icmp_message(client, server, req_type, 0, rest, PING_DATA), vlan=vlan)
        cap.add(at + server.rtt + 30e-6, server, client, proto,
                icmp_message(server, client, rep_type, 0, rest, PING_DATA), vlan=vlan)
    return build


# ---------------------------------------------------------------- payloads

def dns_name(name):
    return b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"


DNS_TYPES = {"A": 1, "AAAA": 28, "TXT": 16}
EDNS_OPT_LEN = 11


def _edns_opt(size):
    return b"\0" + struct.pack("!HHIH", 41, size, 0, 0)


def dns_query(txid, name, qtype="A", edns=None):
    msg = struct.pack("!HHHHHH", txid, 0x0100, 1, 0, 0, 1 if edns else 0)
    msg += dns_name(name) + struct.pack("!HH", DNS_TYPES[qtype], 1)
    return msg + (_edns_opt(edns) if edns else b"")


def dns_answer(txid, name, address, ttl=300):
    addr = ipaddress.ip_address(address)
    qtype = "AAAA" if addr.version == 6 else "A"
    msg = struct.pack("!HHHHHH", txid, 0x8180, 1, 1, 0, 0)
    msg += dns_name(name) + struct.pack("!HH", DNS_TYPES[qtype], 1)
    msg += struct.pack("!HHHIH", 0xC00C, DNS_TYPES[qtype], 1, ttl, len(addr.packed))
    return msg + addr.packed


def dns_txt_answer(txid, name, size, ttl=300):
    """A TXT answer of exactly `size` bytes, large enough to need fragments."""
    question = dns_name(name) + struct.pack("!HH", DNS_TYPES["TXT"], 1)
    room = size - 12 - len(question) - EDNS_OPT_LEN
    records = []
    n = 0
    while room > 0:
        # Each record: 12 bytes of RR header and length byte, then the text.
        text_len = min(255, room - 13)
        assert text_len >= 0, "size leaves a gap no TXT record fits"
        if room - (13 + text_len) in range(1, 14):
            text_len -= 14  # leave room for one more whole record
        text = ("k%03d=" % n).encode() + fill("txt%d" % n, 255).hex().encode()
        text = text[:text_len]
        records.append(struct.pack("!HHHIHB", 0xC00C, DNS_TYPES["TXT"], 1, ttl,
                                   1 + len(text), len(text)) + text)
        room -= 13 + len(text)
        n += 1
    msg = struct.pack("!HHHHHH", txid, 0x8180, 1, len(records), 0, 1) + question
    msg += b"".join(records) + _edns_opt(4096)
    assert len(msg) == size
    return msg


HOME_PAGE = (b"<!DOCTYPE html>\n<html><head><title>Home</title></head>\n"
             b"<body><h1>Welcome</h1><p>Applications are running.</p></body></html>\n")


def http_get(host, path):
    return ("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n"
            % (path, host)).encode()


def http_ok(body):
    head = ("HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
            "Server: Microsoft-IIS/10.0\r\nDate: Tue, 14 May 2024 08:30:01 GMT\r\n"
            "Content-Length: %d\r\n\r\n" % len(body))
    return head.encode() + body


def _tls_record(ctype, body, version=0x0303):
    return struct.pack("!BHH", ctype, version, len(body)) + body


def _tls_handshake(hs_type, body):
    return struct.pack("!B", hs_type) + len(body).to_bytes(3, "big") + body


def _tls_ext(ext_type, body):
    return struct.pack("!HH", ext_type, len(body)) + body


X25519MLKEM768 = 0x11EC   # hybrid post-quantum key exchange group
MLKEM_CLIENT_SHARE = 1216  # ML-KEM-768 encapsulation key 1184 + X25519 32
MLKEM_SERVER_SHARE = 1120  # ML-KEM-768 ciphertext 1088 + X25519 32
ECH_GREASE_PAYLOAD = 208   # what Chrome sends in its GREASE encrypted_client_hello


def _key_share_entry(group, key):
    return struct.pack("!HH", group, len(key)) + key


def tls_client_hello(sni, post_quantum=False):
    """post_quantum: a current browser's hello, with an X25519MLKEM768 key
    share (and X25519 as fallback) and a GREASE encrypted_client_hello:
    about 1.7 KB instead of about 300 bytes."""
    host = sni.encode()
    ciphers = [0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8,
               0xC013, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035]
    groups = [0x001D, 0x0017, 0x0018]
    shares = _key_share_entry(0x001D, fill(sni + "/client-share", 32))
    if post_quantum:
        groups = [X25519MLKEM768] + groups
        shares = _key_share_entry(X25519MLKEM768,
                                  fill(sni + "/mlkem-share", MLKEM_CLIENT_SHARE)) + shares
    exts = b"".join([
        _tls_ext(0, struct.pack("!HBH", len(host) + 3, 0, len(host)) + host),
        _tls_ext(10, struct.pack("!H%dH" % len(groups), 2 * len(groups), *groups)),
        _tls_ext(11, b"\x01\x00"),
        _tls_ext(13, struct.pack("!H8H", 16, 0x0403, 0x0503, 0x0603, 0x0804, 0x0805,
                                 0x0806, 0x0401, 0x0501)),
        _tls_ext(16, b"\x00\x0c\x02h2\x08http/1.1"),
        _tls_ext(43, b"\x04\x03\x04\x03\x03"),
        _tls_ext(45, b"\x01\x01"),
        _tls_ext(51, struct.pack("!H", len(shares)) + shares),
    ])
    if post_quantum:
        # outer ClientHello, HKDF-SHA256, AES-128-GCM, a config id, an
        # encapsulated key and a payload: all random, as GREASE is.
        exts += _tls_ext(0xFE0D, struct.pack("!BHHB", 0, 1, 1, 0x5C)
                         + struct.pack("!H", 32) + fill(sni + "/ech-enc", 32)
                         + struct.pack("!H", ECH_GREASE_PAYLOAD)
                         + fill(sni + "/ech-payload", ECH_GREASE_PAYLOAD))
    body = (b"\x03\x03" + fill(sni + "/client-random", 32)
            + b"\x20" + fill(sni + "/session", 32)
            + struct.pack("!H%dH" % len(ciphers), 2 * len(ciphers), *ciphers)
            + b"\x01\x00" + struct.pack("!H", len(exts)) + exts)
    # Record version 0x0301 in the first record, as browsers send it.
    return _tls_record(22, _tls_handshake(1, body), version=0x0301)


def tls_server_hello(sni, post_quantum=False):
    if post_quantum:
        share = _key_share_entry(X25519MLKEM768, fill(sni + "/mlkem-reply", MLKEM_SERVER_SHARE))
    else:
        share = _key_share_entry(0x001D, fill(sni + "/server-share", 32))
    exts = _tls_ext(43, b"\x03\x04") + _tls_ext(51, share)
    body = (b"\x03\x03" + fill(sni + "/server-random", 32)
            + b"\x20" + fill(sni + "/session", 32)
            + struct.pack("!HB", 0x1301, 0) + struct.pack("!H", len(exts)) + exts)
    return _tls_record(22, _tls_handshake(2, body))


def https_exchanges(sni, post_quantum=False):
    """A TLS 1.3 connection carrying one HTTP request.

    After the hellos everything is an opaque application-data record, as on
    the wire; the sizes are those of a certificate chain and a small page.
    post_quantum: the hellos carry X25519MLKEM768 key shares.
    """
    ccs = _tls_record(20, b"\x01")
    return [
        (tls_client_hello(sni, post_quantum),
         tls_server_hello(sni, post_quantum) + ccs
         + _tls_record(23, fill(sni + "/server-flight", 2380))),
        (ccs + _tls_record(23, fill(sni + "/finished", 53))
         + _tls_record(23, fill(sni + "/request", 412)),
         _tls_record(23, fill(sni + "/ticket", 237))
         + _tls_record(23, fill(sni + "/response", 1150))),
    ]


def _tds_packet(ptype, payload):
    # status 0x01: end of message; SPID 0; packet id 1; window 0
    return struct.pack("!BBHHBB", ptype, 0x01, 8 + len(payload), 0, 1, 0) + payload


def _tds_prelogin(version, encryption, thread_id):
    options = [(0, version), (1, bytes([encryption])), (2, b"\0"),
               (3, struct.pack("!I", thread_id)), (4, b"\0")]
    offset = 5 * len(options) + 1
    tokens, data = b"", b""
    for token, value in options:
        tokens += struct.pack("!BHH", token, offset + len(data), len(value))
        data += value
    return tokens + b"\xff" + data


def tds_exchanges():
    """SQL Server: PRELOGIN, then a batch and its one-row result."""
    sql = "SELECT 1".encode("utf-16-le")
    # ALL_HEADERS with the transaction descriptor header a batch requires
    all_headers = struct.pack("<IIHQI", 22, 18, 2, 0, 1)
    result = (b"\x81" + struct.pack("<HIHB", 1, 0, 0, 0x38) + b"\x00"     # COLMETADATA: one INT4
              + b"\xd1" + struct.pack("<i", 1)                              # ROW
              + b"\xfd" + struct.pack("<HHQ", 0x0010, 0x00C1, 1))          # DONE, 1 row
    return [
        (_tds_packet(0x12, _tds_prelogin(b"\x10\x00\x00\x00\x00\x00", 2, 0x1F3C)),
         _tds_packet(0x04, _tds_prelogin(b"\x0f\x00\x07\xd0\x00\x00", 2, 0))),
        (_tds_packet(0x01, all_headers + sql), _tds_packet(0x04, result)),
    ]


TNS_CONNECT, TNS_ACCEPT, TNS_DATA = 1, 2, 6
TNS_VERSION, TNS_COMPAT_VERSION = 314, 300   # Oracle 12c and later; the oldest still spoken
TNS_CONNECT_DATA_OFFSET = 58                 # after the fixed fields and the trace ids


def _tns_packet(ptype, body):
    # length, packet checksum 0, type, flags 0, header checksum 0
    return struct.pack("!HHBBH", 8 + len(body), 0, ptype, 0, 0) + body


def tns_connect(client, server, service):
    """Oracle Net CONNECT with its connect descriptor in the packet."""
    data = ("(DESCRIPTION=(CONNECT_DATA=(SERVICE_NAME=%s)(CID=(PROGRAM=w3wp.exe)"
            "(HOST=%s)(USER=SYSTEM)))(ADDRESS=(PROTOCOL=TCP)(HOST=%s)(PORT=1521)))"
            % (service, client.name.upper(), server.addr)).encode()
    fixed = struct.pack("!HHHHHHHHHHIBB", TNS_VERSION, TNS_COMPAT_VERSION,
                        0x0C41,            # service options
                        8192, 32767,       # SDU, TDU
                        0x7F08, 0, 1,      # NT characteristics, line turnaround, value of one
                        len(data), TNS_CONNECT_DATA_OFFSET,
                        2048,              # maximum receivable connect data
                        0x41, 0x41)        # connect flags 0 and 1
    pad = TNS_CONNECT_DATA_OFFSET - 8 - len(fixed)   # trace cross-facility items, unique id
    return _tns_packet(TNS_CONNECT, fixed + b"\0" * pad + data)


def tns_accept():
    body = struct.pack("!HHHHHHHBB", TNS_VERSION, 0x0C41, 8192, 32767, 1,
                       0, 32,              # no accept data, its offset
                       0x41, 0x41) + b"\0" * 8
    return _tns_packet(TNS_ACCEPT, body)


def tns_data(payload):
    return _tns_packet(TNS_DATA, b"\0\0" + payload)   # data flags 0


def tns_exchanges(client, server, service):
    """Oracle: CONNECT and ACCEPT, then one round of (opaque) DATA packets."""
    return [
        (tns_connect(client, server, service), tns_accept()),
        (tns_data(fill("tns-request", 160)), tns_data(fill("tns-reply", 120))),
    ]


# .NET Remoting TCP channel framing, which the platform services speak.
_BINARY_FORMATTER_HEADER = b"\x00\x01\x00\x00\x00\xff\xff\xff\xff\x01\x00\x00\x00\x00\x00\x00\x00"


def _counted_string(text):
    raw = text.encode()
    return b"\x01\x01" + struct.pack("<I", len(raw)) + raw   # counted string, UTF-8


def remoting_request(server, port, service, size):
    uri = "tcp://%s:%d/%s" % (server.addr, port, service)
    headers = (struct.pack("<H", 4) + _counted_string(uri)
               + struct.pack("<H", 6) + _counted_string("application/octet-stream")
               + struct.pack("<H", 0))
    body = _BINARY_FORMATTER_HEADER + fill(uri, size)
    return b".NET\x01\x00" + struct.pack("<HHI", 0, 0, len(body)) + headers + body


def remoting_reply(size):
    body = _BINARY_FORMATTER_HEADER + fill("reply%d" % size, size)
    return b".NET\x01\x00" + struct.pack("<HHI", 2, 0, len(body)) + struct.pack("<H", 0) + body


# ---------------------------------------------------------------- link layers

LINKTYPES = {"ethernet": 1, "raw": 101, "sll": 113, "sll2": 276}
ETH_MIN = 60  # shortest Ethernet frame without FCS: shorter ones are padded on the wire
PACKET_HOST, PACKET_OUTGOING = 0, 4
ARPHRD_ETHER, ARPHRD_LOOPBACK = 1, 772
IFINDEX = {"lo": 1, "eth0": 2}


def _ethertype(p):
    return 0x86DD if p.src.v6 else 0x0800


def _eth_macs(src, dst):
    gateway = FIREWALL.mac
    smac = src.mac if src.local else gateway
    dmac = dst.mac if dst.local else gateway
    if smac == dmac:
        # The firewall talking to a remote host: that is seen on the remote
        # host's own segment.
        smac, dmac = (src.mac, dst.mac)
    return smac, dmac


def frame_ethernet(p):
    smac, dmac = _eth_macs(p.src, p.dst)
    tags = b"".join(struct.pack("!HH", tpid, vid) for tpid, vid in p.vlan)
    frame = dmac + smac + tags + struct.pack("!H", _ethertype(p)) + p.ip
    return frame + b"\0" * max(0, ETH_MIN - len(frame))


def _cooked_fields(p, capture_on):
    """(interface, packet type, ARPHRD type, link address, padding)."""
    if p.src.loopback:
        # libpcap drops the outgoing copy of each loopback packet and keeps
        # the incoming one, so every lo packet is PACKET_HOST.
        return "lo", PACKET_HOST, ARPHRD_LOOPBACK, b"\0" * 6, 0
    if p.src.addr == capture_on.addr:
        # Outgoing frames are tapped before the driver pads them.
        return "eth0", PACKET_OUTGOING, ARPHRD_ETHER, capture_on.mac, 0
    smac, _ = _eth_macs(p.src, p.dst)
    return "eth0", PACKET_HOST, ARPHRD_ETHER, smac, ETH_MIN - 14


def frame_sll(p, capture_on):
    _, ptype, hatype, addr, minlen = _cooked_fields(p, capture_on)
    data = p.ip + b"\0" * max(0, minlen - len(p.ip))
    return (struct.pack("!HHH", ptype, hatype, len(addr)) + addr.ljust(8, b"\0")
            + struct.pack("!H", _ethertype(p)) + data)


def frame_sll2(p, capture_on):
    ifname, ptype, hatype, addr, minlen = _cooked_fields(p, capture_on)
    data = p.ip + b"\0" * max(0, minlen - len(p.ip))
    return (struct.pack("!HHIHBB", _ethertype(p), 0, IFINDEX[ifname], hatype, ptype,
                        len(addr)) + addr.ljust(8, b"\0") + data)


def frame(sample, p):
    link = sample["link"]
    if link == "ethernet":
        return frame_ethernet(p)
    if link == "raw":
        return p.ip
    if link == "sll":
        return frame_sll(p, sample["capture_on"])
    if link == "sll2":
        return frame_sll2(p, sample["capture_on"])
    raise ValueError(link)


# ---------------------------------------------------------------- file formats

def write_pcap(records, linktype, snaplen, nanoseconds):
    magic = 0xA1B23C4D if nanoseconds else 0xA1B2C3D4
    out = [struct.pack("<IHHiIII", magic, 2, 4, 0, 0, snaplen, linktype)]
    for t_ns, data, wirelen in records:
        sec, frac = divmod(t_ns, 10**9)
        out.append(struct.pack("<IIII", sec, frac if nanoseconds else frac // 1000,
                               len(data), wirelen) + data)
    return b"".join(out)


def _pcapng_block(btype, body):
    body += b"\0" * (-len(body) % 4)
    length = 12 + len(body)
    return struct.pack("<II", btype, length) + body + struct.pack("<I", length)


def _pcapng_option(code, value):
    return struct.pack("<HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def write_pcapng(records, linktype, snaplen, ifname="eth0"):
    shb = _pcapng_block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    idb = _pcapng_block(1, struct.pack("<HHI", linktype, 0, snaplen)
                        + _pcapng_option(2, ifname.encode())     # if_name
                        + _pcapng_option(9, b"\x09")             # if_tsresol: 10^-9 s
                        + _pcapng_option(0, b""))
    out = [shb, idb]
    for t_ns, data, wirelen in records:
        out.append(_pcapng_block(6, struct.pack("<IIIII", 0, t_ns >> 32, t_ns & 0xFFFFFFFF,
                                                len(data), wirelen) + data))
    return b"".join(out)


# ---------------------------------------------------------------- main

DEFAULT_SNAPLEN = 262144


def build_sample(sample):
    if "text" in sample:
        return sample["text"].encode(), 0
    cap = Capture()
    for step in sample["scenario"]():
        step(cap)
    render_ip(cap.packets)
    snaplen = sample.get("snaplen", DEFAULT_SNAPLEN)
    records = []
    for p in cap.packets:
        data = frame(sample, p)
        records.append((EPOCH * 10**9 + p.t_us * 1000, data[:snaplen], len(data)))
    linktype = LINKTYPES[sample["link"]]
    fmt = sample["format"]
    if fmt == "pcapng":
        return write_pcapng(records, linktype, snaplen), len(records)
    return write_pcap(records, linktype, snaplen, nanoseconds=fmt == "pcap-ns"), len(records)


def main():
    outdir = Path(__file__).resolve().parent
    for sample in SAMPLES:
        data, count = build_sample(sample)
        (outdir / sample["file"]).write_bytes(data)
        print("%-26s %5d bytes %4d packets" % (sample["file"], len(data), count))
    return 0


if __name__ == "__main__":
    sys.exit(main())
