#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target into OUT/<target>/.

Usage: seeds.py [--no-shared] [--shared DIR] OUT

Sources (Python 3 standard library only, nothing downloaded):
  - samples/*.pcap, *.pcapng of this repository;
  - unless --no-shared: DIR/corpus/zeek/**/*.pcap* and DIR/corpus/malformed
    (DIR defaults to ../shared beside the repository; a missing part is
    reported and skipped);
  - rules/*.rules, samples/*.rules and the examples of rules/README.md.

What each target gets (the input formats are described at the top of
each fuzz/fuzz_*.c):
  fuzz_decode  [link index][frame], for up to 20 distinct frames a capture
  fuzz_flow    [link index] then [u16 length][u8 time step][frame] records,
               one seed a capture, its first frames up to about 16 KB
  fuzz_streams the same as fuzz_flow
  fuzz_tls     the first bytes of each side of TCP streams on port 443
  fuzz_http    the same for port 80 (and 8080)
  fuzz_tds     the same for port 1433
  fuzz_tns     the same for port 1521, and TNS packets built here
  fuzz_dns     UDP payloads from or to port 53, DNS-over-TCP messages
  fuzz_rules   the rules files and examples
Files are named by a hash of their content, so the same seed is written
once.  The output is deterministic.
"""
import glob
import hashlib
import os
import re
import struct
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# The order of fuzz_links in fuzz/fuzz.h: a seed's first byte indexes it.
LINKS = [0, 1, 9, 12, 14, 50, 104, 108, 101, 113, 228, 229, 276]

FRAMES_PER_CAPTURE = 20
FLOW_SEED_BYTES = 16384
STREAM_PREFIX = 8192
APP_PORTS = {443: "fuzz_tls", 80: "fuzz_http", 8080: "fuzz_http", 1433: "fuzz_tds",
             1521: "fuzz_tns", 53: "fuzz_dns"}
TARGETS = ["fuzz_decode", "fuzz_flow", "fuzz_streams", "fuzz_rules", "fuzz_tls", "fuzz_http", "fuzz_dns",
           "fuzz_tds", "fuzz_tns"]


# ---- capture files -----------------------------------------------------------

def read_pcap(data):
    """(linktype, [(ts_ns, frame)]) of a pcap file; raises ValueError."""
    magic = data[:4]
    for endian, scale in (("<", 1000), (">", 1000)):
        if struct.unpack(endian + "I", magic)[0] == 0xA1B2C3D4:
            break
        if struct.unpack(endian + "I", magic)[0] == 0xA1B23C4D:
            scale = 1
            break
    else:
        raise ValueError("not pcap")
    if len(data) < 24:
        raise ValueError("short header")
    link = struct.unpack(endian + "I", data[20:24])[0] & 0xFFFF
    frames, off = [], 24
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        if incl > len(data) - off or incl > 262144:
            break
        frames.append((sec * 1000000000 + frac * scale, data[off:off + incl]))
        off += incl
    return link, frames


def read_pcapng(data):
    """[(linktype, ts_ns, frame)] of a pcapng file; raises ValueError."""
    if data[:4] != b"\x0a\x0d\x0d\x0a" or len(data) < 12:
        raise ValueError("not pcapng")
    out, ifaces, off, endian = [], [], 0, "<"
    while off + 12 <= len(data):
        btype = struct.unpack(endian + "I", data[off:off + 4])[0]
        if btype == 0x0A0D0D0A:
            endian = "<" if data[off + 8:off + 12] == b"\x4d\x3c\x2b\x1a" else ">"
            ifaces = []
        blen = struct.unpack(endian + "I", data[off + 4:off + 8])[0]
        if blen < 12 or off + blen > len(data):
            break
        body = data[off + 8:off + blen - 4]
        if btype == 1 and len(body) >= 8:  # interface description
            ifaces.append(struct.unpack(endian + "H", body[:2])[0])
        elif btype in (6, 2) and len(body) >= 20:  # enhanced / obsolete packet block
            iface = struct.unpack(endian + ("I" if btype == 6 else "H"), body[:4 if btype == 6 else 2])[0]
            hi, lo, cap = struct.unpack(endian + "III", body[4:16])
            if iface < len(ifaces):
                # Assumes microseconds; the time steps only need rough deltas.
                out.append((ifaces[iface], ((hi << 32) | lo) * 1000, body[20:20 + cap]))
        elif btype == 3 and len(body) >= 4 and ifaces:  # simple packet block
            out.append((ifaces[0], 0, body[4:]))
        off += blen
    return out


def read_capture(path):
    """[(linktype, ts_ns, frame)]; [] when the file cannot be read as a capture."""
    try:
        with open(path, "rb") as f:
            data = f.read()
        if data[:4] == b"\x0a\x0d\x0d\x0a":
            return read_pcapng(data)
        link, frames = read_pcap(data)
        return [(link, ts, fr) for ts, fr in frames]
    except (ValueError, struct.error, OSError):
        return []


# ---- a small decoder, enough to find TCP and UDP payloads ---------------------

def link_to_ip(link, fr):
    """(ethertype-or-version hint, offset of the IP header) or None."""
    if link == 1:
        off, etype = 14, struct.unpack(">H", fr[12:14])[0] if len(fr) >= 14 else 0
        while etype in (0x8100, 0x88A8, 0x9100) and len(fr) >= off + 4:
            etype = struct.unpack(">H", fr[off + 2:off + 4])[0]
            off += 4
        return off if etype in (0x0800, 0x86DD) else None
    if link == 113:
        return 16 if len(fr) >= 16 and fr[14:16] in (b"\x08\x00", b"\x86\xdd") else None
    if link == 276:
        return 20 if len(fr) >= 20 and fr[0:2] in (b"\x08\x00", b"\x86\xdd") else None
    if link in (0, 108):
        return 4
    if link in (12, 14, 101, 228, 229):
        return 0
    return None


def transport(link, fr):
    """(proto, src, sport, dst, dport, seq, flags, payload) or None."""
    off = link_to_ip(link, fr)
    if off is None or len(fr) < off + 20:
        return None
    v = fr[off] >> 4
    if v == 4:
        ihl = (fr[off] & 15) * 4
        total = struct.unpack(">H", fr[off + 2:off + 4])[0]
        if struct.unpack(">H", fr[off + 6:off + 8])[0] & 0x3FFF:
            return None  # a fragment
        proto, src, dst = fr[off + 9], fr[off + 12:off + 16], fr[off + 16:off + 20]
        end, t = min(len(fr), off + total), off + ihl
    elif v == 6 and len(fr) >= off + 40:
        plen = struct.unpack(">H", fr[off + 4:off + 6])[0]
        proto, src, dst = fr[off + 6], fr[off + 8:off + 24], fr[off + 24:off + 40]
        end, t = min(len(fr), off + 40 + plen), off + 40
    else:
        return None
    if proto == 6 and end >= t + 20:
        sport, dport, seq = struct.unpack(">HHI", fr[t:t + 8])
        doff = (fr[t + 12] >> 4) * 4
        return (6, src, sport, dst, dport, seq, fr[t + 13], fr[t + doff:end])
    if proto == 17 and end >= t + 8:
        sport, dport = struct.unpack(">HH", fr[t:t + 4])
        return (17, src, sport, dst, dport, 0, 0, fr[t + 8:end])
    return None


# ---- seeds -------------------------------------------------------------------

class Corpus:
    def __init__(self, out):
        self.out = out
        self.counts = {t: 0 for t in TARGETS}
        for t in TARGETS:
            os.makedirs(os.path.join(out, t), exist_ok=True)

    def add(self, target, data):
        if not data:
            return
        name = hashlib.sha1(data).hexdigest()
        path = os.path.join(self.out, target, name)
        if not os.path.exists(path):
            with open(path, "wb") as f:
                f.write(data)
            self.counts[target] += 1


def time_step(delta_ns):
    """The u8 step of fuzz_flow.c nearest delta: t*t*10 ms forward, 255 back."""
    if delta_ns < 0:
        return 255
    return min(254, round((delta_ns / 10000000) ** 0.5))


def seed_capture(corpus, path):
    frames = [(l, ts, fr) for l, ts, fr in read_capture(path) if l in LINKS]
    if not frames:
        return
    # decode: distinct frames, at most FRAMES_PER_CAPTURE
    seen = set()
    for link, _ts, fr in frames:
        seed = bytes([LINKS.index(link)]) + fr
        if seed not in seen:
            seen.add(seed)
            corpus.add("fuzz_decode", seed)
            if len(seen) == FRAMES_PER_CAPTURE:
                break
    # flow: the first frames of the capture's first link type
    link = frames[0][0]
    flow, prev = bytearray([LINKS.index(link)]), frames[0][1]
    for l, ts, fr in frames:
        if l != link or len(fr) > 0xFFFF:
            continue
        flow += struct.pack(">HB", len(fr), time_step(ts - prev)) + fr
        prev = ts
        if len(flow) >= FLOW_SEED_BYTES:
            break
    corpus.add("fuzz_flow", bytes(flow))
    corpus.add("fuzz_streams", bytes(flow))
    seed_streams(corpus, frames)


def seed_streams(corpus, frames):
    """Each direction of each TCP stream on an application port, from its
    first byte, in order; UDP DNS payloads."""
    streams = {}  # (src, sport, dst, dport) -> [next seq, bytes]
    for link, _ts, fr in frames:
        t = transport(link, fr)
        if not t:
            continue
        proto, src, sport, dst, dport, seq, flags, payload = t
        target = APP_PORTS.get(dport) or APP_PORTS.get(sport)
        if not target:
            continue
        if proto == 17:
            if target == "fuzz_dns":
                corpus.add(target, bytes(payload))
            continue
        key = (src, sport, dst, dport)
        if flags & 0x02:  # SYN: the stream's first byte is seq + 1
            streams[key] = [seq + 1, bytearray(), target]
            continue
        s = streams.get(key)
        if s is None:  # no SYN seen: start where the capture does
            s = streams[key] = [seq, bytearray(), target]
        if payload and seq == s[0] and len(s[1]) < STREAM_PREFIX:
            s[1] += payload[:STREAM_PREFIX - len(s[1])]
            s[0] = (seq + len(payload)) & 0xFFFFFFFF
    for (_src, _sport, _dst, _dport), (_next, data, target) in sorted(streams.items()):
        if target == "fuzz_dns":
            # DNS over TCP: the messages without their 2-byte lengths
            off = 0
            while off + 2 <= len(data):
                n = struct.unpack(">H", data[off:off + 2])[0]
                if off + 2 + n > len(data):
                    break
                corpus.add(target, bytes(data[off + 2:off + 2 + n]))
                off += 2 + n
        else:
            corpus.add(target, bytes(data))


def tns_packet(ptype, body):
    return struct.pack(">HHBBH", 8 + len(body), 0, ptype, 0, 0) + body


def seed_tns(corpus):
    """TNS packets written by hand: captures of Oracle Net are rare."""
    desc = (b"(DESCRIPTION=(CONNECT_DATA=(SERVICE_NAME=orcl)(CID=(PROGRAM=x)))"
            b"(ADDRESS=(PROTOCOL=TCP)(HOST=192.0.2.30)(PORT=1521)))")

    def connect(cd_off, cd_len):
        fixed = struct.pack(">HHHHHHHHHHIBB", 314, 300, 0, 8192, 32767, 0x4f98, 0, 1,
                            cd_len, cd_off, 0, 0x41, 0x41)
        return fixed + b"\0" * (cd_off - 8 - len(fixed))

    corpus.add("fuzz_tns", tns_packet(1, connect(58, len(desc)) + desc))
    # connect data in a DATA packet of its own, with a 16-bit and a 32-bit length
    head = tns_packet(1, connect(58, len(desc)))
    corpus.add("fuzz_tns", head + tns_packet(6, b"\0\0" + desc))
    data32 = struct.pack(">IBBH", 8 + 2 + len(desc), 6, 0, 0) + b"\0\0" + desc
    corpus.add("fuzz_tns", head + data32)
    accept_data = b"(DESCRIPTION=(TMP=)(VSNNUM=0)(ERR=0))"
    corpus.add("fuzz_tns", tns_packet(2, struct.pack(">HHHHBBHHBB", 314, 0x0801, 8192, 32767, 1, 0,
                                                       len(accept_data), 24, 0, 0) + accept_data))
    refuse = b"(DESCRIPTION=(ERR=12514)(VSNNUM=0))"
    corpus.add("fuzz_tns", tns_packet(4, struct.pack(">BBH", 1, 0, len(refuse)) + refuse))
    redirect = b"(ADDRESS=(PROTOCOL=TCP)(HOST=192.0.2.31)(PORT=1522))"
    corpus.add("fuzz_tns", tns_packet(5, struct.pack(">H", len(redirect)) + redirect))
    corpus.add("fuzz_tns", tns_packet(11, b""))


def seed_rules(corpus):
    paths = sorted(glob.glob(os.path.join(ROOT, "rules", "*.rules")) +
                   glob.glob(os.path.join(ROOT, "samples", "*.rules")))
    for p in paths:
        with open(p, "rb") as f:
            corpus.add("fuzz_rules", f.read())
    readme = os.path.join(ROOT, "rules", "README.md")
    if os.path.exists(readme):
        with open(readme, encoding="utf-8") as f:
            for block in re.findall(r"```[a-z]*\n(.*?)```", f.read(), re.S):
                corpus.add("fuzz_rules", block.encode())


def main(argv):
    args, shared, use_shared = [], os.path.join(os.path.dirname(ROOT), "shared"), True
    it = iter(argv)
    for a in it:
        if a == "--no-shared":
            use_shared = False
        elif a == "--shared":
            shared = next(it, None)
        elif a.startswith("-"):
            sys.exit(__doc__)
        else:
            args.append(a)
    if len(args) != 1 or shared is None:
        print(__doc__, file=sys.stderr)
        return 2
    corpus = Corpus(args[0])
    captures = sorted(glob.glob(os.path.join(ROOT, "samples", "*.pcap*")))
    if use_shared:
        zeek = os.path.join(shared, "corpus", "zeek")
        malformed = os.path.join(shared, "corpus", "malformed")
        for name, d, pattern in (("zeek", zeek, "**/*.pcap*"), ("malformed", malformed, "**/*.pcap*")):
            found = sorted(glob.glob(os.path.join(d, pattern), recursive=True))
            if not found:
                print(f"seeds.py: {d}: absent or empty; no seeds from the {name} corpus",
                      file=sys.stderr)
            captures += found
    for p in captures:
        seed_capture(corpus, p)
    seed_tns(corpus)
    seed_rules(corpus)
    print("seeds.py: " + ", ".join(f"{t} {n}" for t, n in corpus.counts.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
