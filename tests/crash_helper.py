#!/usr/bin/env python3
"""crash_helper.py - captures and traffic for tests/crash.sh.

  gen OUT               writes a capture of many short flows (see gen())
  cut IN OUT US         writes the packets of IN stamped at or before US
                        (microseconds) to OUT; prints how many it wrote and
                        the stamp of the first packet left out ("-" if none)
  feed IN FRACTION GO   writes the first FRACTION of IN's packets to
                        standard output; once the file GO exists, the rest
                        but its last tenth, a packet at a time; then holds
                        it open until killed
  serve PORTFILE        a TCP server on 127.0.0.1, on a free port it writes
                        to PORTFILE; each connection: read to the end, answer,
                        close
  client PORT LOG STOP  connects to PORT again and again until the file
                        STOP exists; after each connection, once both sides
                        have closed, appends "CLIENT_PORT END_US" to LOG
                        (END_US: the wall clock in microseconds after the
                        last close, so every packet that decides the flow's
                        state was stamped before it)

Timestamps are whole microseconds, strictly increasing, so a packet time
names exactly one prefix of the capture.
"""
import os
import socket
import struct
import sys
import threading
import time

BASE_US = 1_700_000_000 * 1_000_000
STEP_US = 100


def ip4(n):
    return struct.pack("!I", n)


def frame(src, dst, proto, l4):
    ip_len = 20 + len(l4)
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, ip_len, 0, 0x4000, 64, proto, 0, src, dst)
    eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00"
    return eth + ip + l4


def tcp(sport, dport, seq, ack, flags, payload=b""):
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload


def udp(sport, dport, payload):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


SYN, ACK, FIN, PSH = 0x02, 0x10, 0x01, 0x08


def tcp_flow(c, s, cp, sp, complete):
    """A whole connection (SF, closed 5 s after its last packet), or a
    lone SYN (an attempt, timed out)."""
    if not complete:
        return [frame(c, s, 6, tcp(cp, sp, 1000, 0, SYN))]
    req = b"GET / HTTP/1.1\r\nHost: crash.test\r\n\r\n"
    return [
        frame(c, s, 6, tcp(cp, sp, 1000, 0, SYN)),
        frame(s, c, 6, tcp(sp, cp, 5000, 1001, SYN | ACK)),
        frame(c, s, 6, tcp(cp, sp, 1001, 5001, ACK)),
        frame(c, s, 6, tcp(cp, sp, 1001, 5001, PSH | ACK, req)),
        frame(c, s, 6, tcp(cp, sp, 1001 + len(req), 5001, FIN | ACK)),
        frame(s, c, 6, tcp(sp, cp, 5001, 1002 + len(req), FIN | ACK)),
        frame(c, s, 6, tcp(cp, sp, 1002 + len(req), 5002, ACK)),
    ]


def udp_flow(c, s, cp, sp):
    return [frame(c, s, 17, udp(cp, sp, b"q" * 20)), frame(s, c, 17, udp(sp, cp, b"r" * 40))]


def gen_packets(nflows=80000):
    """Flows one after another, a packet every 100 us; every 2500 flows a
    quiet second and a half, after which one packet ends the hundreds of
    UDP flows and attempts that timed out meanwhile, so batches of records
    fill in the middle of a packet."""
    server = ip4(0x0A010001)
    t = BASE_US
    out = []
    for k in range(nflows):
        client = ip4(0x0A000000 + 1 + k // 40000)
        cport = 20000 + k % 40000
        kind = k % 3
        if kind == 0:
            pkts = udp_flow(client, server, cport, 53)
        else:
            pkts = tcp_flow(client, server, cport, 80, kind == 1)
        for p in pkts:
            out.append((t, p))
            t += STEP_US
        if k % 2500 == 2499:
            t += 1_500_000
    return out


def write_pcap(f, packets):
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    for t, p in packets:
        f.write(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(p), len(p)))
        f.write(p)


def read_pcap(path):
    with open(path, "rb") as f:
        data = f.read()
    off, out = 24, []
    while off < len(data):
        sec, usec, incl, _ = struct.unpack_from("<IIII", data, off)
        off += 16
        out.append((sec * 1_000_000 + usec, data[off : off + incl]))
        off += incl
    return out


def cmd_cut(src, dst, limit):
    pkts = read_pcap(src)
    kept = [p for p in pkts if p[0] <= limit]
    with open(dst, "wb") as f:
        write_pcap(f, kept)
    rest = [p[0] for p in pkts if p[0] > limit]
    print(len(kept), rest[0] if rest else "-")


def cmd_feed(src, fraction, go):
    pkts = read_pcap(src)
    out = sys.stdout.buffer
    first = int(len(pkts) * fraction)
    write_pcap(out, pkts[:first])
    out.flush()
    for _ in range(3000):
        if os.path.exists(go):
            break
        time.sleep(0.1)
    for t, p in pkts[first : len(pkts) * 9 // 10]:
        out.write(struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(p), len(p)) + p)
        out.flush()
    time.sleep(300)


def serve_one(conn):
    with conn:
        while conn.recv(4096):
            pass
        conn.sendall(b"bye\n")


def cmd_serve(portfile):
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % srv.getsockname()[1])
    os.rename(portfile + ".tmp", portfile)
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=serve_one, args=(conn,), daemon=True).start()


def cmd_client(port, log, stop):
    with open(log, "a") as out:
        while not os.path.exists(stop):
            s = socket.socket()
            # An explicit bind picks a port no socket holds, TIME_WAIT
            # included, so no client port is used twice.
            s.bind(("127.0.0.1", 0))
            s.connect(("127.0.0.1", port))
            cport = s.getsockname()[1]
            s.sendall(b"hello\n")
            s.shutdown(socket.SHUT_WR)  # our FIN, sent before this returns
            while s.recv(4096):  # until the server's FIN
                pass
            s.close()
            out.write("%d %d\n" % (cport, time.time_ns() // 1000))
            out.flush()
            time.sleep(0.02)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "gen":
        with open(args[0], "wb") as f:
            write_pcap(f, gen_packets())
    elif cmd == "cut":
        cmd_cut(args[0], args[1], int(args[2]))
    elif cmd == "feed":
        cmd_feed(args[0], float(args[1]), args[2])
    elif cmd == "serve":
        cmd_serve(args[0])
    elif cmd == "client":
        cmd_client(int(args[0]), args[1], args[2])
    else:
        sys.exit("unknown command " + cmd)


if __name__ == "__main__":
    main()
