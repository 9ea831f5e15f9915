#!/usr/bin/env python3
"""A stand-in for a running built-in VM's serial console, for the console
tests that need no guest: it serves SOCK (the VM's serial.sock) and writes
its pid to PIDFILE (its own argv holds PIDFILE, which is how vmtty tells
that a pid is the VM's).  Like QEMU it takes one client at a time.  Each
client gets a screen with colours, attributes and wide characters and a
cursor position query (ESC [6n); then every chunk it sends comes back as a
line "GOT <hex>", so a test sees exactly which bytes a key became.

usage: fake-serial.py SOCK PIDFILE"""
import os
import signal
import socket
import sys

SCREEN = (
    "\x1b[2J\x1b[H"
    "FAKE SERIAL READY\r\n"
    "\x1b[31mRED1\x1b[0m \x1b[1;4mBOLDUL\x1b[0m \x1b[7mREVERSE\x1b[0m "
    "\x1b[38;5;196mIDX196\x1b[0m \x1b[38;2;0;255;0mRGBGREEN\x1b[0m "
    "\x1b[44mBLUEBG\x1b[0m\r\n"
    "WIDE:\u5bbd\u5b57|END\r\n"
    "\x1b[6n"
)


def serve(conn):
    conn.sendall(SCREEN.encode())
    while True:
        data = conn.recv(4096)
        if not data:
            return
        conn.sendall(("GOT %s\r\n" % data.hex()).encode())


def main():
    if len(sys.argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    path, pidfile = sys.argv[1], sys.argv[2]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    with open(pidfile + ".tmp", "w") as f:
        f.write("%d\n" % os.getpid())
    os.rename(pidfile + ".tmp", pidfile)
    try:
        while True:
            conn, _ = srv.accept()
            try:
                serve(conn)
            except OSError:
                pass
            conn.close()
    finally:
        os.unlink(path)


if __name__ == "__main__":
    sys.exit(main())
