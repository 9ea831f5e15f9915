#!/usr/bin/env python3
"""termready.py MS DEADLINE_S CMD [ARGS]: in the terminal it runs in, ask
what vmtty's probe asks first (the kitty graphics query, then device
attributes) until the terminal answers both within MS milliseconds, for at
most DEADLINE_S seconds, then exec CMD.  A terminal that is still starting
(kitty drawing its first frames with software OpenGL on a loaded machine)
answers later than vmtty waits; this waits until it answers as a terminal
at work does.  Exits 1 when the deadline passes first."""
import os
import select
import sys
import termios
import time
import tty

ms, deadline = float(sys.argv[1]), time.monotonic() + float(sys.argv[2])
fd = sys.stdin.fileno()
old = termios.tcgetattr(fd)
tty.setraw(fd)
ok = False
try:
    while not ok and time.monotonic() < deadline:
        t0 = time.monotonic()
        os.write(1, b"\033_Gi=31,s=1,v=1,a=q,t=d,f=24;AAAA\033\\\033[c")
        buf = b""
        while not buf.endswith(b"c") and time.monotonic() - t0 < 2:
            r, _, _ = select.select([fd], [], [], 2)
            if r:
                buf += os.read(fd, 4096)
        ok = buf.endswith(b"c") and (time.monotonic() - t0) * 1000 < ms
        if not ok:
            time.sleep(0.1)
finally:
    termios.tcsetattr(fd, termios.TCSANOW, old)
if not ok:
    sys.exit(1)
os.execvp(sys.argv[3], sys.argv[3:])
