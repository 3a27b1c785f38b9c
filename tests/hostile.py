#!/usr/bin/env python3
"""Write hostile inputs for tests/hostile.sh into a folder.

    python3 tests/hostile.py DIR

Only the Python 3 standard library; the output is the same on every run
(no clock, no random source).  Nothing here is committed as a binary: the
test makes the files it needs in a temporary folder.

DIR/MANIFEST has one line per capture, tab-separated:

    NAME  OUTCOME  PACKETS

OUTCOME says what `flowaudit read` must do with it (see README.md, "read"):

    ok        read whole: status 0, nothing on stderr
    cut       the file ends in the middle of a record: read up to the cut,
              one warning, status 0
    corrupt   a record libpcap cannot read, before the end of the file: the
              packets before it are recorded, one error line, status 2
    refused   libpcap refuses the file's header: one error line, status 2,
              no run recorded (a new database is not even created)

PACKETS is how many packets the run must count (libpcap handed over), or
- for refused.  Besides the captures: DIR/rules/*.rules, one mistake each
(DIR/rules/MANIFEST: NAME  LINE:COLUMN  WORDS..., the position the error
must name and words it must contain), and
DIR/many-flows.pcap, 20,000 one-packet UDP flows for the full-disk test.
"""

import os
import struct
import sys

BASE_TS = 1715675400  # 2024-05-14 08:30:00 UTC, as the samples
ETHERTYPE_IPV4 = 0x0800


# ---------------------------------------------------------------- packets

def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, payload, ident=1):
    hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident, 0, 64, proto, 0,
                      bytes(src), bytes(dst))
    hdr = hdr[:10] + struct.pack("!H", checksum(hdr)) + hdr[12:]
    return hdr + payload


def tcp(src, dst, sport, dport, seq, ack, flags, data=b""):
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + data
    pseudo = struct.pack("!4s4sBBH", bytes(src), bytes(dst), 0, 6, len(seg))
    seg = seg[:16] + struct.pack("!H", checksum(pseudo + seg)) + seg[18:]
    return ipv4(src, dst, 6, seg)


def udp(src, dst, sport, dport, data):
    dgram = struct.pack("!HHHH", sport, dport, 8 + len(data), 0) + data
    pseudo = struct.pack("!4s4sBBH", bytes(src), bytes(dst), 0, 17, len(dgram))
    dgram = dgram[:6] + struct.pack("!H", checksum(pseudo + dgram) or 0xFFFF) + dgram[8:]
    return ipv4(src, dst, 17, dgram)


def ether(ip):
    return b"\x02\x00\x00\x00\x00\x01" + b"\x02\x00\x00\x00\x00\x02" + \
        struct.pack("!H", ETHERTYPE_IPV4) + ip


CLIENT = (192, 0, 2, 10)
SERVER = (192, 0, 2, 30)
SYN, FIN, RST, PSH, ACK = 0x02, 0x01, 0x04, 0x08, 0x10


def session(sport=50000, dport=1433):
    """A whole TCP session: handshake, a request, an answer, FINs."""
    c, s = 1000, 5000
    return [
        ether(tcp(CLIENT, SERVER, sport, dport, c, 0, SYN)),
        ether(tcp(SERVER, CLIENT, dport, sport, s, c + 1, SYN | ACK)),
        ether(tcp(CLIENT, SERVER, sport, dport, c + 1, s + 1, ACK)),
        ether(tcp(CLIENT, SERVER, sport, dport, c + 1, s + 1, PSH | ACK, b"hello")),
        ether(tcp(SERVER, CLIENT, dport, sport, s + 1, c + 6, PSH | ACK, b"world!")),
        ether(tcp(CLIENT, SERVER, sport, dport, c + 6, s + 7, FIN | ACK)),
        ether(tcp(SERVER, CLIENT, dport, sport, s + 7, c + 7, FIN | ACK)),
        ether(tcp(CLIENT, SERVER, sport, dport, c + 7, s + 8, ACK)),
    ]


def frames(n, sport=50000):
    """n frames: whole sessions, then part of one."""
    out = []
    while len(out) < n:
        out += session(sport + len(out))
    return out[:n]


# ---------------------------------------------------------------- classic pcap

def pcap_header(order="<", magic=0xA1B2C3D4, snaplen=65535, linktype=1, version=(2, 4)):
    return struct.pack(order + "IHHiIII", magic, version[0], version[1], 0, 0, snaplen, linktype)


def pcap_record(frame, sec, frac, order="<", caplen=None, length=None, data=None):
    caplen = len(frame) if caplen is None else caplen
    length = len(frame) if length is None else length
    return struct.pack(order + "IIII", sec, frac, caplen, length) + \
        (frame if data is None else data)


def pcap_file(recs, **kw):
    """recs: (frame, sec, frac) or bytes already made into a record."""
    order = kw.get("order", "<")
    out = pcap_header(**kw)
    for r in recs:
        out += r if isinstance(r, bytes) else pcap_record(*r, order=order)
    return out


def timed(frs, step_us=1000):
    return [(f, BASE_TS + i * step_us // 1000000, i * step_us % 1000000)
            for i, f in enumerate(frs)]


# ---------------------------------------------------------------- pcapng

def ng_block(btype, body, order="<"):
    body += b"\0" * (-len(body) % 4)
    n = 12 + len(body)
    return struct.pack(order + "II", btype, n) + body + struct.pack(order + "I", n)


def ng_option(code, value, order="<"):
    return struct.pack(order + "HH", code, len(value)) + value + b"\0" * (-len(value) % 4)


def ng_shb(order="<", options=b""):
    return ng_block(0x0A0D0D0A, struct.pack(order + "IHHq", 0x1A2B3C4D, 1, 0, -1) + options,
                    order)


def ng_idb(linktype=1, snaplen=65535, order="<", options=b""):
    if options:
        options += ng_option(0, b"", order)
    return ng_block(1, struct.pack(order + "HHI", linktype, 0, snaplen) + options, order)


def ng_epb(frame, ts, iface=0, order="<", caplen=None, length=None):
    """ts: in the interface's units (microseconds unless if_tsresol says)."""
    caplen = len(frame) if caplen is None else caplen
    length = len(frame) if length is None else length
    return ng_block(6, struct.pack(order + "IIIII", iface, ts >> 32, ts & 0xFFFFFFFF, caplen,
                                   length) + frame, order)


def ng_ts(i, step_us=1000):
    return BASE_TS * 1000000 + i * step_us


def ng_file(frs, order="<", iface=0, idbs=1):
    out = ng_shb(order) + b"".join(ng_idb(order=order) for _ in range(idbs))
    for i, f in enumerate(frs):
        out += ng_epb(f, ng_ts(i), iface, order)
    return out


# ---------------------------------------------------------------- the captures

def captures():
    """(name, outcome, packets, bytes) for every capture."""
    out = []

    def add(name, outcome, packets, data):
        out.append((name, outcome, packets, data))

    eight = timed(session())
    good = pcap_file(eight)

    # Classic pcap: well-formed oddities, read whole.
    add("ok-pcap-big-endian.pcap", "ok", 8,
        pcap_file([(f, s, u) for f, s, u in eight], order=">"))
    add("ok-pcap-nanoseconds.pcap", "ok", 8,
        pcap_file([(f, s, u * 1000) for f, s, u in eight], magic=0xA1B23C4D))
    # Packets out of time order: the SYN-ACK stamped before the SYN, the
    # last ACK a day early, a fraction past a whole second (1.999999 s
    # after the second's start), a stamp far in the future (2106), then
    # back to the session.
    frs = session()
    backwards = [(frs[0], BASE_TS, 500), (frs[1], BASE_TS, 100), (frs[2], BASE_TS, 900),
                 (frs[3], BASE_TS, 1999999), (frs[4], BASE_TS + 1, 0),
                 (frs[5], BASE_TS - 86400, 0), (frs[6], 0xFFFFFFFF, 999999),
                 (frs[7], BASE_TS + 2, 0)]
    add("ok-pcap-backwards.pcap", "ok", 8, pcap_file(backwards))
    add("ok-pcap-backwards-ns.pcap", "ok", 8,
        pcap_file([(f, s, 0xFFFFFFFF if u == 1999999 else u * 1000) for f, s, u in backwards],
                  magic=0xA1B23C4D))
    # One packet of a session an hour early: the table's clock does not
    # go back, so the flow neither ends nor splits (one flow).  One packet
    # a day late: the clock jumps, the flow times out before it, and the
    # packets after it start a second flow (as Zeek would).
    add("ok-pcap-one-packet-early.pcap", "ok", 8,
        pcap_file([(f, s - 3600 if i == 3 else s, u) for i, (f, s, u) in enumerate(eight)]))
    add("ok-pcap-one-packet-late.pcap", "ok", 8,
        pcap_file([(f, s + 86400 if i == 3 else s, u) for i, (f, s, u) in enumerate(eight)]))
    # The snap length says 64 bytes, a record holds 70: libpcap keeps 64.
    recs = [pcap_record(f, s, u) for f, s, u in eight]
    add("ok-pcap-caplen-over-snaplen.pcap", "ok", 8,
        pcap_header(snaplen=64) + b"".join(recs))
    # A record whose original length is below its captured length, and one
    # with an original length of 4 GiB: the counters take them as given.
    f, s, u = eight[3]
    add("ok-pcap-len-below-caplen.pcap", "ok", 8,
        pcap_file(eight[:3] + [pcap_record(f, s, u, length=20)] + eight[4:]))
    add("ok-pcap-len-huge.pcap", "ok", 8,
        pcap_file(eight[:3] + [pcap_record(f, s, u, length=0xFFFFFFFF)] + eight[4:]))
    add("ok-pcap-snaplen-zero.pcap", "ok", 8, pcap_file(eight, snaplen=0))
    add("ok-pcap-snaplen-huge.pcap", "ok", 8, pcap_file(eight, snaplen=0xFFFFFFFF))
    add("ok-pcap-empty.pcap", "ok", 0, pcap_header())

    # Classic pcap: a record libpcap cannot read, three packets in.
    for name, caplen in (("caplen-ffffffff", 0xFFFFFFFF), ("caplen-over-max", 262145),
                         ("caplen-over-max-ns", 0x7FFFFFFF)):
        add("corrupt-pcap-%s.pcap" % name, "corrupt", 3,
            pcap_file(eight[:3] + [pcap_record(f, s, u, caplen=caplen)] + eight[4:]))

    # Classic pcap: headers libpcap refuses.
    for n in range(24):
        add("refused-pcap-header-cut-%02d.pcap" % n, "refused", None, good[:n])
    add("refused-pcap-version-1.pcap", "refused", None, pcap_file(eight, version=(1, 0)))
    add("refused-pcap-bad-magic.pcap", "refused", None, b"\xa1\xb2\xc3\xd5" + good[4:])

    # Classic pcap: cut inside the first record's header, then inside its
    # data; cut after whole records at the end is a clean end (ok).
    for n in range(1, 16):
        add("cut-pcap-record-header-%02d.pcap" % n, "cut", 0, good[:24 + n])
    add("cut-pcap-record-data.pcap", "cut", 0, good[:24 + 16 + 10])
    add("cut-pcap-after-3.pcap", "cut", 3,
        pcap_file(eight[:3]) + pcap_record(*eight[3])[:30])

    # pcapng: well-formed oddities.
    frs = session()
    add("ok-ng-big-endian.pcapng", "ok", 8, ng_file(frs, order=">"))
    # 1000 interfaces, packets on the last one.
    add("ok-ng-1000-interfaces.pcapng", "ok", 8, ng_file(frs, iface=999, idbs=1000))
    # Blocks libpcap skips, between the packets: an unknown type, custom
    # blocks (copyable and not), name resolution, interface statistics,
    # decryption secrets, and a simple packet block.
    body = ng_shb() + ng_idb() + ng_block(0x00000099, b"unknown block type")
    for i, fr in enumerate(frs):
        body += ng_epb(fr, ng_ts(i))
        if i == 1:
            body += ng_block(0x00000BAD, struct.pack("<I", 32473) + b"custom, copyable")
            body += ng_block(0x40000BAD, struct.pack("<I", 32473) + b"custom, do not copy")
        if i == 3:
            body += ng_block(4, struct.pack("<HH", 1, 8) + bytes(SERVER) + b"db\0\0" +
                             struct.pack("<HH", 0, 0))
            body += ng_block(5, struct.pack("<III", 0, 0, 0))
            body += ng_block(0x0000000A, struct.pack("<II", 0x544C534B, 4) + b"keys")
    add("ok-ng-unknown-blocks.pcapng", "ok", 8, body)
    # A second section with its own interface.
    add("ok-ng-two-sections.pcapng", "ok", 8,
        ng_file(frs[:4]) + ng_shb() + ng_idb() +
        b"".join(ng_epb(fr, ng_ts(4 + i)) for i, fr in enumerate(frs[4:])))
    # if_tsresol: milliseconds (10^-3) and 2^-20 s units, and if_tsoffset.
    ms = ng_shb() + ng_idb(options=ng_option(9, b"\x03"))
    for i, fr in enumerate(frs):
        ms += ng_epb(fr, BASE_TS * 1000 + i)
    add("ok-ng-tsresol-ms.pcapng", "ok", 8, ms)
    bin20 = ng_shb() + ng_idb(options=ng_option(9, b"\x94") + ng_option(14, struct.pack("<q", 10)))
    for i, fr in enumerate(frs):
        bin20 += ng_epb(fr, ((BASE_TS - 10) << 20) + i * 1024)
    add("ok-ng-tsresol-2-20.pcapng", "ok", 8, bin20)
    # Whole seconds, and stamps at the end of what 64 bits hold, and past
    # the year 2262, where nanoseconds since 1970 no longer fit in 63 bits.
    sec = ng_shb() + ng_idb(options=ng_option(9, b"\x00"))
    stamps = [BASE_TS, BASE_TS + 1, 0xFFFFFFFFFFFFFFFF, 1 << 63, 9300000000, BASE_TS + 2,
              BASE_TS + 3, BASE_TS + 4]
    for fr, t in zip(frs, stamps):
        sec += ng_epb(fr, t)
    add("ok-ng-ts-huge.pcapng", "ok", 8, sec)
    add("ok-ng-empty.pcapng", "ok", 0, ng_shb() + ng_idb())
    # An EPB whose original length is below its captured length.
    add("ok-ng-len-below-caplen.pcapng", "ok", 8,
        ng_shb() + ng_idb() + b"".join(ng_epb(fr, ng_ts(i), length=20 if i == 3 else None)
                                       for i, fr in enumerate(frs)))

    # pcapng: a block libpcap cannot read, three packets in.
    head = ng_shb() + ng_idb() + b"".join(ng_epb(fr, ng_ts(i)) for i, fr in enumerate(frs[:3]))
    tail = b"".join(ng_epb(fr, ng_ts(4 + i)) for i, fr in enumerate(frs[4:]))
    add("corrupt-ng-undefined-interface.pcapng", "corrupt", 3,
        head + ng_epb(frs[3], ng_ts(3), iface=5) + tail)
    add("corrupt-ng-epb-caplen-over-block.pcapng", "corrupt", 3,
        head + ng_epb(frs[3], ng_ts(3), caplen=len(frs[3]) + 400) + tail)
    add("corrupt-ng-block-length-huge.pcapng", "corrupt", 3,
        head + struct.pack("<II", 6, 0x7FFFFFF0) + bytes(64) + tail)
    add("corrupt-ng-block-length-small.pcapng", "corrupt", 3,
        head + struct.pack("<II", 6, 8) + bytes(64) + tail)
    # A second section in the other byte order is valid pcapng, but
    # libpcap 1.10 reads its header in the first section's order.
    add("corrupt-ng-second-section-big-endian.pcapng", "corrupt", 4,
        ng_file(frs[:4]) + ng_shb(">") + ng_idb(order=">") +
        b"".join(ng_epb(fr, ng_ts(4 + i), order=">") for i, fr in enumerate(frs[4:])))
    add("corrupt-ng-second-link-type.pcapng", "corrupt", 3,
        head + ng_idb(linktype=113) + ng_epb(frs[3], ng_ts(3), iface=1) + tail)

    # pcapng: headers libpcap refuses: cut anywhere in the section header
    # block; a section header with a bad length; bad byte-order magic; an
    # unsupported version.
    first = ng_shb() + ng_idb()
    shb_len = len(ng_shb())
    for n in range(shb_len):
        add("refused-ng-header-cut-%02d.pcapng" % n, "refused", None, first[:n])
    shb = bytearray(ng_shb())
    for name, length in (("small", 12), ("odd", 30), ("huge", 0x7FFFFFF0)):
        b = bytearray(shb)
        struct.pack_into("<I", b, 4, length)
        add("refused-ng-shb-length-%s.pcapng" % name, "refused", None,
            bytes(b) + ng_idb() + ng_epb(frs[0], ng_ts(0)))
    b = bytearray(shb)
    struct.pack_into("<I", b, 8, 0x1A2B3C4E)
    add("refused-ng-shb-bad-byte-order.pcapng", "refused", None, bytes(b) + ng_idb())
    b = bytearray(shb)
    struct.pack_into("<H", b, 12, 2)
    add("refused-ng-shb-version-2.pcapng", "refused", None, bytes(b) + ng_idb())
    add("refused-ng-tsresol-too-fine.pcapng", "refused", None,
        ng_shb() + ng_idb(options=ng_option(9, b"\x14")) + ng_epb(frs[0], 1))

    # pcapng: the section header whole, the first interface block cut at
    # every byte (libpcap reads it with the header, so refuses the file);
    # then the first packet block cut at every byte of its header.
    for n in range(shb_len, len(first)):
        add("refused-ng-idb-cut-%02d.pcapng" % (n - shb_len), "refused", None, first[:n])
    epb = ng_epb(frs[0], ng_ts(0))
    for n in range(1, 28):
        add("cut-ng-record-header-%02d.pcapng" % n, "cut", 0, first + epb[:n])
    return out


# ---------------------------------------------------------------- rule files

# (name, text, LINE:COLUMN the error must name, words it must contain)
RULES = [
    ("unknown-keyword", "role front-end 192.0.2.10\nallow-all everything\n", "2:1", ["allow-all"]),
    ("bad-address", "role front-end 192.0.2.300\n", "1:16", ["192.0.2.300"]),
    ("bad-cidr", "role front-end 192.0.2.0/33\n", "1:16", ["192.0.2.0/33"]),
    ("bad-cidr-v6", "role front-end 2001:db8::/129\n", "1:16", ["2001:db8::/129"]),
    ("bad-port", "role front-end 192.0.2.10\nrole database 192.0.2.30\n"
     "require front-end -> database tcp/70000 \"x\"\n", "3:35", ["70000"]),
    ("bad-range", "role front-end 192.0.2.10\nrole database 192.0.2.30\n"
     "require front-end -> database tcp/2000-1000 \"x\"\n", "3:35", ["2000-1000"]),
    ("unknown-role", "role front-end 192.0.2.10\n"
     "require front-end -> dtabase tcp/1433 \"x\"\n", "2:22", ["dtabase"]),
    ("option-twice", "role front-end 192.0.2.10\nrole database 192.0.2.30\n"
     "require front-end -> database tcp/1433 \"x\" purpose=monitoring purpose=monitoring\n",
     "3:63", ["purpose"]),
    ("unknown-option", "role front-end 192.0.2.10\nrole database 192.0.2.30\n"
     "require front-end -> database tcp/1433 \"x\" colour=blue\n", "3:44", ["colour"]),
    ("missing-value", "role front-end\n", "1:15", ["front-end"]),
    ("unterminated", "role front-end 192.0.2.10\nrole database 192.0.2.30\n"
     "require front-end -> database tcp/1433 \"never closed\n", "3:40", ["unterminated"]),
    ("not-utf8", "role front-end 192.0.2.10\n# caf\xe9\nrole caf\xe9 192.0.2.11\n", "3:6",
     ["caf\\xe9"]),
    ("nul-byte", "role front-end 192.0.2.10\0\nrole database 192.0.2.30\n", "1:26", ["NUL"]),
    ("control-character", "role front-end 192.0.2.10\x1b[2J\n", "1:26", ["0x1b"]),
    ("long-line", "role front-end " + "192.0.2.10 " * 20000 + "192.0.2.999\n", "1:4097",
     ["4096"]),
]


def write_rules(folder):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "MANIFEST"), "w") as m:
        for name, text, pos, words in RULES:
            with open(os.path.join(folder, name + ".rules"), "wb") as f:
                f.write(text.encode("latin-1"))
            m.write("%s\t%s\t%s\n" % (name + ".rules", pos, "\t".join(words)))


def many_flows(n=20000):
    """n one-packet UDP flows: enough rows for several 4096-flow batches."""
    out = pcap_header()
    for i in range(n):
        src = (10, 1 + i // 65536, (i // 256) % 256, i % 256)
        fr = ether(udp(src, SERVER, 10000 + i % 50000, 514, b"<13>flowaudit hostile %06d" % i))
        out += pcap_record(fr, BASE_TS + i // 1000, (i % 1000) * 1000)
    return out


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: hostile.py DIR")
    folder = sys.argv[1]
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "MANIFEST"), "w") as m:
        for name, outcome, packets, data in captures():
            with open(os.path.join(folder, name), "wb") as f:
                f.write(data)
            m.write("%s\t%s\t%s\n" % (name, outcome, "-" if packets is None else packets))
    write_rules(os.path.join(folder, "rules"))
    with open(os.path.join(folder, "many-flows.pcap"), "wb") as f:
        f.write(many_flows())


if __name__ == "__main__":
    main()
