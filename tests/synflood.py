#!/usr/bin/env python3
"""Writes a spoofed SYN flood as a classic pcap (nanosecond timestamps).

Every packet is a bare SYN (with an MSS option, as a real stack sends) from
a source address no other packet uses, to one of a few front-end servers on
443, so every packet starts a flow of its own that is never answered:
what a spoofed flood does to a flow table.

  - IPv4 sources are 10.0.0.0/8, scrambled by an odd multiplier modulo
    2^24 (a bijection), so up to 16,777,215 of them are distinct and never
    10.0.0.0; servers are 198.18.0.1 and up (the benchmarking range
    198.18.0.0/15: up to 131,071 of them), taken in turn;
  - with --ipv6-share F, that fraction of the packets (every k-th, evenly
    spread) is IPv6 instead: sources 2001:db8:1::/64 + n, servers
    2001:db8::1 and up;
  - with --fragment, each IPv4 SYN is the first fragment of a datagram
    whose rest never comes (MF set, offset 0), as a flood that aims at
    reassembly sends them;
  - packets are spaced evenly at --rate SYNs a second of capture time,
    starting at 2024-01-01 00:00:00 UTC;
  - IP and TCP checksums are valid (computed incrementally from a template);
  - the output depends only on the arguments.

Fast enough for a test: about 1 s per million packets; writes in chunks.
"""
import argparse
import struct
import sys

START_NS = 1704067200 * 1000000000
MULT = 0x9E3779  # odd: i -> i * MULT mod 2^24 is a bijection
MSS_OPTION = b"\x02\x04\x05\xb4"  # MSS 1460
ETH_SRC = bytes.fromhex("020000000001")
ETH_DST = bytes.fromhex("020000000002")


def fold(s):
    while s > 0xFFFF:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def ones_sum(data):
    if len(data) % 2:
        data += b"\0"
    return sum(struct.unpack(f"!{len(data) // 2}H", data))


def v4_template(fragment):
    """Ethernet + IPv4 + TCP with zero addresses, ports, sequence number and
    checksums, and the constant part of each checksum."""
    tcp = struct.pack("!HHIIBBHHH", 0, 443, 0, 0, 6 << 4, 0x02, 64240, 0, 0) + MSS_OPTION
    flags = 0x2000 if fragment else 0x4000  # MF, or DF
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, flags, 64, 6, 0, bytes(4), bytes(4))
    frame = ETH_DST + ETH_SRC + b"\x08\x00" + ip + tcp
    ip_const = ones_sum(ip)
    # pseudo-header: protocol and TCP length; the addresses are added per packet
    tcp_const = ones_sum(tcp) + 6 + len(tcp)
    return frame, ip_const, tcp_const


def v6_template():
    tcp = struct.pack("!HHIIBBHHH", 0, 443, 0, 0, 6 << 4, 0x02, 64800, 0, 0) + MSS_OPTION
    ip = struct.pack("!IHBB16s16s", 6 << 28, len(tcp), 6, 64, bytes(16), bytes(16))
    frame = ETH_DST + ETH_SRC + b"\x86\xdd" + ip + tcp
    tcp_const = ones_sum(tcp) + 6 + len(tcp)
    return frame, tcp_const


def write_flood(out, count, rate, servers, ipv6_share, fragment):
    out.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 65535, 1))  # nanosecond pcap
    v4, ip_const, tcp4_const = v4_template(fragment)
    v6, tcp6_const = v6_template()
    v4_len, v6_len = len(v4), len(v6)
    v4_rec = bytearray(16 + v4_len)
    v4_rec[16:] = v4
    v6_rec = bytearray(16 + v6_len)
    v6_rec[16:] = v6
    struct.pack_into("<II", v4_rec, 8, v4_len, v4_len)
    struct.pack_into("<II", v6_rec, 8, v6_len, v6_len)
    srv4 = [0xC6120000 + 1 + k for k in range(servers)]  # 198.18.0.1...
    srv6_prefix = bytes.fromhex("20010db8000000000000000000000000")
    src6_prefix = bytes.fromhex("20010db8000100000000000000000000")
    every6 = round(1 / ipv6_share) if ipv6_share > 0 else 0
    step = 1e9 / rate
    chunk = []
    pack_into = struct.pack_into
    n4 = n6 = 0
    for i in range(count):
        t = START_NS + int(i * step)
        sec, nsec = divmod(t, 1000000000)
        sport = 1024 + (i * 7919) % 64511
        seq = (i * 2654435761) & 0xFFFFFFFF
        if every6 and i % every6 == every6 - 1:
            n6 += 1
            src = src6_prefix[:8] + struct.pack("!Q", n6)
            dst = srv6_prefix[:14] + struct.pack("!H", 1 + n6 % servers)
            s = tcp6_const + sport + (seq >> 16) + (seq & 0xFFFF) + ones_sum(src) + ones_sum(dst)
            rec = v6_rec
            pack_into("<II", rec, 0, sec, nsec)
            pack_into("!16s16s", rec, 16 + 14 + 8, src, dst)
            pack_into("!HHI", rec, 16 + 54, sport, 443, seq)
            pack_into("!H", rec, 16 + 54 + 16, 0xFFFF - fold(s))
        else:
            n4 += 1
            src = 0x0A000000 | ((n4 * MULT) & 0xFFFFFF)
            dst = srv4[n4 % servers]
            a = (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF)
            rec = v4_rec
            pack_into("<II", rec, 0, sec, nsec)
            pack_into("!H", rec, 16 + 14 + 10, 0xFFFF - fold(ip_const + a))
            pack_into("!II", rec, 16 + 14 + 12, src, dst)
            s = tcp4_const + a + sport + (seq >> 16) + (seq & 0xFFFF)
            pack_into("!HHI", rec, 16 + 34, sport, 443, seq)
            pack_into("!H", rec, 16 + 34 + 16, 0xFFFF - fold(s))
        chunk.append(bytes(rec))
        if len(chunk) == 65536:
            out.write(b"".join(chunk))
            chunk.clear()
    out.write(b"".join(chunk))
    return n4, n6


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", "--count", type=int, default=1000000, help="SYNs (default 1,000,000)")
    ap.add_argument("--rate", type=float, default=1000000,
                    help="SYNs a second of capture time (default 1,000,000)")
    ap.add_argument("--servers", type=int, default=3, help="front-end servers (default 3)")
    ap.add_argument("--fragment", action="store_true",
                    help="send each IPv4 SYN as the first fragment of a datagram never completed")
    ap.add_argument("--ipv6-share", type=float, default=0.0, help="fraction of IPv6 SYNs (default 0)")
    ap.add_argument("-o", "--out", required=True, help="the pcap to write ('-': standard output)")
    args = ap.parse_args()
    if not 0 < args.count < 1 << 24 or args.rate <= 0 or not 1 <= args.servers < 1 << 17 \
            or not 0 <= args.ipv6_share <= 0.5:
        ap.error("need 0 < count < 2^24, rate > 0, 1 <= servers < 2^17, 0 <= ipv6-share <= 0.5")
    opts = (args.count, args.rate, args.servers, args.ipv6_share, args.fragment)
    if args.out == "-":
        write_flood(sys.stdout.buffer, *opts)
    else:
        with open(args.out, "wb") as f:
            write_flood(f, *opts)


if __name__ == "__main__":
    main()
