#!/usr/bin/env python3
"""A FUSE filesystem whose statfs never answers, like a hung NFS or sshfs server.

Usage: hangfs.py MOUNTPOINT -- COMMAND [ARG...]

Run it in a mount namespace of its own (unshare --mount --propagation private):
it mounts itself at MOUNTPOINT through /dev/fuse (no library: the kernel's
protocol, answering INIT and GETATTR, never STATFS), then replaces itself with
COMMAND, and serves from a child that dies with COMMAND (PR_SET_PDEATHSIG), so
the mount goes when COMMAND ends. Prints "hangfs: mounted MOUNTPOINT" first.
"""
import ctypes
import os
import signal
import struct
import sys

FUSE_GETATTR, FUSE_STATFS, FUSE_INIT = 3, 17, 26
NO_REPLY = {2, 36, 42}  # FORGET, INTERRUPT, BATCH_FORGET
ENOSYS = 38

libc = ctypes.CDLL(None, use_errno=True)


def reply(fd, unique, payload=b"", error=0):
    os.write(fd, struct.pack("<IiQ", 16 + len(payload), -error, unique) + payload)


def attr_out():
    # fuse_attr_out: validity, then fuse_attr of a directory owned by root.
    attr = struct.pack("<QQQQQQIIIIIIIIII", 1, 0, 0, 0, 0, 0, 0, 0, 0, 0o40755, 2, 0, 0, 0, 4096, 0)
    return struct.pack("<QII", 1, 0, 0) + attr


def serve(fd):
    while True:
        req = os.read(fd, 1 << 21)
        length, opcode, unique = struct.unpack_from("<IIQ", req)
        if opcode == FUSE_INIT:
            _major, _minor, readahead, _flags = struct.unpack_from("<IIII", req, 40)
            init = struct.pack("<IIIIHHIIHHI7I", 7, 31, readahead, 0, 16, 12, 131072, 1, 0, 0, 0, *([0] * 7))
            reply(fd, unique, init)
        elif opcode == FUSE_GETATTR:
            reply(fd, unique, attr_out())
        elif opcode == FUSE_STATFS:
            print("hangfs: statfs asked; never answered", flush=True)
        elif opcode not in NO_REPLY:
            reply(fd, unique, error=ENOSYS)


def main():
    point, sep, command = sys.argv[1], sys.argv[2], sys.argv[3:]
    assert sep == "--" and command, __doc__
    fd = os.open("/dev/fuse", os.O_RDWR)
    opts = b"fd=%d,rootmode=40000,user_id=0,group_id=0" % fd
    if libc.mount(b"hangfs", point.encode(), b"fuse.hangfs", 0, opts) != 0:
        sys.exit("hangfs: mount: " + os.strerror(ctypes.get_errno()))
    print("hangfs: mounted " + point, flush=True)
    if os.fork() == 0:
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG: go with COMMAND
        serve(fd)
    os.close(fd)
    os.execvp(command[0], command)


main()
