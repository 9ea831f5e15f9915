#!/usr/bin/env python3
"""fake-vnc.py SOCKET MODE: a VNC (RFB 3.8) server on a unix socket that
misbehaves on purpose, for one client, then exits.  MODE:
  good    a 64x48 screen, one raw frame of grey, then stays
  stall   the handshake, then a frame header and half its pixels, then silence
  close   the same, then hangs up mid-frame
  bogus   announces a 65535x65535 screen
  zero    announces a 0x0 screen
  garbage not RFB at all
  animate a 1024x768 screen whose every frame differs, answering each
          update request at once (for benchmarks)
It prints READY once listening."""
import os
import socket
import struct
import sys
import time


def handshake(c, w, h):
    c.sendall(b"RFB 003.008\n")
    c.recv(12)
    c.sendall(b"\x01\x01")          # one security type: None
    c.recv(1)
    c.sendall(struct.pack(">I", 0))  # SecurityResult OK
    c.recv(1)                        # ClientInit
    pf = struct.pack(">BBBBHHHBBBxxx", 32, 24, 0, 1, 255, 255, 255, 16, 8, 0)
    name = b"fake"
    c.sendall(struct.pack(">HH", w, h) + pf + struct.pack(">I", len(name)) + name)


def recv_exact(c, n):
    buf = b""
    while len(buf) < n:
        part = c.recv(n - len(buf))
        if not part:
            raise EOFError
        buf += part
    return buf


def animate(c):
    w, h = 1024, 768
    handshake(c, w, h)
    head = struct.pack(">BxH", 0, 1) + struct.pack(">HHHHi", 0, 0, w, h, 0)
    # Frames of moving stripes, made once.
    frames = []
    for k in range(8):
        row = b"".join(bytes(((x + k * 16) % 256, (x // 4) % 256, (k * 32) % 256, 0))
                       for x in range(w))
        frames.append(head + b"".join(row[(y * 4 + k * 64) % (w * 4):] +
                                      row[:(y * 4 + k * 64) % (w * 4)] for y in range(h)))
    n = 0
    try:
        while True:
            kind = recv_exact(c, 1)[0]
            if kind == 0:
                recv_exact(c, 19)
            elif kind == 2:
                count = struct.unpack(">xH", recv_exact(c, 3))[0]
                recv_exact(c, 4 * count)
            elif kind == 3:
                recv_exact(c, 9)
                c.sendall(frames[n % len(frames)])
                n += 1
            elif kind == 4:
                recv_exact(c, 7)
            elif kind == 5:
                recv_exact(c, 5)
            else:
                print("unknown client message %d" % kind, file=sys.stderr)
                return
    except (EOFError, BrokenPipeError, ConnectionResetError):
        return


def main():
    path, mode = sys.argv[1], sys.argv[2]
    if os.path.exists(path):
        os.unlink(path)
    s = socket.socket(socket.AF_UNIX)
    s.bind(path)
    s.listen(1)
    print("READY", flush=True)
    c, _ = s.accept()
    if mode == "garbage":
        c.sendall(b"HTTP/1.0 400 Bad Request\r\n\r\n")
        time.sleep(0.5)
        return
    if mode in ("bogus", "zero"):
        side = 65535 if mode == "bogus" else 0
        handshake(c, side, side)
        time.sleep(2)
        return
    if mode == "animate":
        animate(c)
        return
    w, h = 64, 48
    handshake(c, w, h)
    time.sleep(0.2)                  # the client's SetPixelFormat, encodings, request
    head = struct.pack(">BxH", 0, 1) + struct.pack(">HHHHi", 0, 0, w, h, 0)
    pixels = b"\x80\x80\x80\x00" * (w * h)
    if mode == "good":
        c.sendall(head + pixels)
        time.sleep(30)
        return
    c.sendall(head + pixels[:len(pixels) // 2])
    if mode == "stall":
        time.sleep(60)
    c.close()


if __name__ == "__main__":
    main()
