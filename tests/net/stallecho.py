#!/usr/bin/env python3
"""Answers ICMP echo requests in place of this namespace's kernel, and once
holds back the process that sent them while its reply is on the way.

Usage: stallecho.py PIDFILE NTH DELAY HOLD

Run it in a namespace whose kernel ignores echoes
(net.ipv4.icmp_echo_ignore_all=1). It answers every request at once, except
the NTH: then it stops the process whose id PIDFILE holds (SIGSTOP), answers
DELAY seconds later, and lets the process go on (SIGCONT) HOLD seconds after
that. So the reply arrived DELAY after the request, while the process could
not read it. Prints "ready" when listening, and
"stalled answered_ms=A continued_ms=C", both counted from the request.
"""
import os
import signal
import socket
import struct
import sys
import time


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total > 0xFFFF:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def main():
    pidfile, nth = sys.argv[1], int(sys.argv[2])
    delay, hold = float(sys.argv[3]), float(sys.argv[4])
    sock = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    print("ready", flush=True)
    seen = 0
    while True:
        packet, (source, _) = sock.recvfrom(65535)
        came = time.monotonic()
        icmp = bytearray(packet[(packet[0] & 0x0F) * 4 :])
        if len(icmp) < 8 or icmp[0] != 8:
            continue
        icmp[0], icmp[2:4] = 0, b"\0\0"
        icmp[2:4] = struct.pack("!H", checksum(bytes(icmp)))
        seen += 1
        if seen != nth:
            sock.sendto(icmp, (source, 0))
            continue
        with open(pidfile) as f:
            pid = int(f.read())
        os.kill(pid, signal.SIGSTOP)
        time.sleep(delay)
        sock.sendto(icmp, (source, 0))
        answered = time.monotonic()
        time.sleep(hold)
        continued = time.monotonic()
        os.kill(pid, signal.SIGCONT)
        print(
            f"stalled answered_ms={(answered - came) * 1000:.3f} "
            f"continued_ms={(continued - came) * 1000:.3f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
