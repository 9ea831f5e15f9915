#!/usr/bin/env python3
"""vncscreen.py SOCK PIDFILE FPS: a stand-in for a running built-in VM's
VNC display, for benchmarks: it serves SOCK (the VM's vnc.sock) and writes
its pid to PIDFILE (its own argv holds PIDFILE, which is how vmtty tells that
a pid is the VM's), like tests/tui/fake-serial.py does for the serial port.

The screen is synthetic and changes at a known rate: a 720x400 VGA text
console (80x25 cells of 9x16 pixels, light grey on black with some coloured
lines and a blue title bar, glyphs drawn from strokes) that scrolls by one
line FPS times a second, as a guest printing a log fast does.  An
incremental update request is answered with the whole screen (raw) once the
next frame is due, so a client gets at most FPS frames a second, fewer when
it asks less often; a full request is answered at once.  RFB 3.8, no
authentication, one client at a time, clients served one after another.
Prints READY once listening.  QEMU's own VNC server sends at most one
update each 30 ms, so FPS 30 is what a busy real guest can show."""
import os
import random
import select
import signal
import socket
import struct
import sys
import time

W, H = 720, 400
CW, CH = 9, 16
COLS, ROWS = W // CW, H // CH
NLINES = 101                    # lines of text the scroll cycles through

# The palette: a line's pixels are indices into it until a client's pixel
# format makes them bytes.
PALETTE = [(0, 0, 0), (0xAA, 0xAA, 0xAA), (0xFF, 0xFF, 0xFF), (0x55, 0xFF, 0x55),
           (0xFF, 0xFF, 0x55), (0x00, 0x00, 0xAA)]
BLACK, GREY, WHITE, GREEN, YELLOW, BLUE = range(6)

# A 14-segment-like glyph box inside a 9x16 cell: strokes from (x0,y0) to
# (x1,y1), one pixel wide, as lines of text look from afar.
SEGS = [((1, 3), (6, 3)), ((1, 8), (6, 8)), ((1, 13), (6, 13)),
        ((1, 3), (1, 8)), ((6, 3), (6, 8)), ((1, 8), (1, 13)), ((6, 8), (6, 13)),
        ((3, 3), (3, 13)), ((1, 3), (6, 13)), ((6, 3), (1, 13)), ((1, 10), (6, 10))]


def glyph(rng):
    """A cell's pixels as a 16x9 grid of 0/1: a few strokes."""
    g = [[0] * CW for _ in range(CH)]
    for seg in rng.sample(SEGS, rng.randint(3, 6)):
        (x0, y0), (x1, y1) = seg
        n = max(abs(x1 - x0), abs(y1 - y0))
        for t in range(n + 1):
            g[y0 + (y1 - y0) * t // n][x0 + (x1 - x0) * t // n] = 1
    return g


def cells(chars, glyphs, fg, bg):
    """A line of 80 characters (None: a blank) as 16 rows of palette
    indices, 720 a row."""
    blank = [0] * CW
    return b"".join(bytes(fg if b else bg for ch in chars
                          for b in (glyphs[ch][y] if ch is not None else blank))
                    for y in range(CH))


def text_line(rng, glyphs):
    kind = rng.random()
    fg = WHITE if kind < 0.1 else GREEN if kind < 0.2 else YELLOW if kind < 0.25 else GREY
    n = rng.randint(10, COLS - 2)
    chars = [None if rng.random() < 0.16 else rng.randrange(len(glyphs)) for _ in range(n)]
    return cells(chars + [None] * (COLS - n), glyphs, fg, BLACK)


def make_screen():
    """The title bar and the lines of text, as palette indices."""
    rng = random.Random(42)
    glyphs = [glyph(rng) for _ in range(64)]
    title = [None] * 2 + [rng.randrange(len(glyphs)) for _ in range(30)]
    title = cells(title + [None] * (COLS - len(title)), glyphs, WHITE, BLUE)
    return title, [text_line(rng, glyphs) for _ in range(NLINES)]


def pixel_format(pf):
    """The four bytes of each palette colour in the pixel format PF (the
    16 bytes of ServerInit or SetPixelFormat): 32 bits a pixel, true
    colour, any shifts and byte order."""
    bpp, _, big, true, rmax, gmax, bmax, rsh, gsh, bsh = struct.unpack(">BBBBHHHBBB3x", pf)
    if bpp != 32 or not true:
        return None
    out = []
    for r, g, b in PALETTE:
        v = (r * rmax // 255) << rsh | (g * gmax // 255) << gsh | (b * bmax // 255) << bsh
        out.append(struct.pack(">I" if big else "<I", v))
    return out


def convert(idx, colours):
    """Palette indices to pixels: byte K of every pixel in one translate."""
    out = bytearray(4 * len(idx))
    for k in range(4):
        table = bytes(colours[i][k] if i < len(colours) else 0 for i in range(256))
        out[k::4] = idx.translate(table)
    return bytes(out)


SERVER_PF = struct.pack(">BBBBHHHBBBxxx", 32, 24, 0, 1, 255, 255, 255, 16, 8, 0)


def recv_exact(c, n):
    buf = b""
    while len(buf) < n:
        part = c.recv(n - len(buf))
        if not part:
            raise EOFError
        buf += part
    return buf


def handshake(c):
    c.sendall(b"RFB 003.008\n")
    recv_exact(c, 12)
    c.sendall(b"\x01\x01")          # one security type: None
    recv_exact(c, 1)
    c.sendall(struct.pack(">I", 0))  # SecurityResult OK
    recv_exact(c, 1)                 # ClientInit
    name = b"vncscreen"
    c.sendall(struct.pack(">HH", W, H) + SERVER_PF + struct.pack(">I", len(name)) + name)


def serve(c, fps, title_idx, lines_idx):
    head = struct.pack(">BxH", 0, 1) + struct.pack(">HHHHi", 0, 0, W, H, 0)
    colours = pixel_format(SERVER_PF)
    title, lines = convert(title_idx, colours), [convert(x, colours) for x in lines_idx]
    handshake(c)
    t0 = time.monotonic()
    sent = -1                        # the frame last sent
    pending = None                   # a request waiting: True if incremental
    buf = b""
    while True:
        now = time.monotonic()
        frame = int((now - t0) * fps)
        if pending is not None and (not pending or frame > sent):
            body = b"".join(lines[(frame + i) % NLINES] for i in range(ROWS - 1))
            c.sendall(head + title + body)
            sent, pending = frame, None
            continue
        wait = None
        if pending is not None:
            wait = max(0.0, t0 + (frame + 1) / fps - now)
        r, _, _ = select.select([c], [], [], wait)
        if not r:
            continue
        data = c.recv(65536)
        if not data:
            return
        buf += data
        # Every whole message in BUF.
        while buf:
            kind = buf[0]
            need = {0: 20, 3: 10, 4: 8, 5: 6}.get(kind)
            if kind == 2:
                if len(buf) < 4:
                    break
                need = 4 + 4 * struct.unpack(">H", buf[2:4])[0]
            elif kind == 6:
                if len(buf) < 8:
                    break
                need = 8 + struct.unpack(">I", buf[4:8])[0]
            elif need is None:
                print("vncscreen: unknown client message %d" % kind, file=sys.stderr)
                return
            if len(buf) < need:
                break
            if kind == 0:
                colours = pixel_format(buf[4:20])
                if colours is None:
                    print("vncscreen: only 32-bit true colour is served", file=sys.stderr)
                    return
                title = convert(title_idx, colours)
                lines = [convert(x, colours) for x in lines_idx]
            elif kind == 3:
                incremental = buf[1] != 0
                pending = incremental if pending is None else (pending and incremental)
            buf = buf[need:]


def main():
    if len(sys.argv) != 4:
        sys.stderr.write(__doc__ + "\n")
        return 2
    path, pidfile, fps = sys.argv[1], sys.argv[2], float(sys.argv[3])
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    title, lines = make_screen()
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
    print("READY", flush=True)
    try:
        while True:
            c, _ = srv.accept()
            try:
                serve(c, fps, title, lines)
            except (OSError, EOFError):
                pass
            c.close()
    finally:
        for p in (path, pidfile):
            try:
                os.unlink(p)
            except OSError:
                pass


if __name__ == "__main__":
    sys.exit(main())
