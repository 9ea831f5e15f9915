#!/usr/bin/env python3
"""faketerm.py MODE CMD...: run CMD on a pty (100x30 cells of 8x16 pixels)
that answers vmtty's terminal queries as MODE says, and print what CMD
wrote.  MODE: silent (answers nothing), sixel (xterm -ti vt340's replies),
kitty (kitty's), slow (the sixel replies, 300 ms late).  The replies are
recorded from real terminals; they go out once the query for device
attributes (ESC [ c) has arrived, as a terminal sends them."""
import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time

REPLIES = {
    "silent": b"",
    "sixel": b"\033[?1;0;256S\033[?2;0;800;480S\033[6;16;8t\033[?63;1;2;4;6;9;15;22c",
    "kitty": b"\033_Gi=31;OK\033\\\033[6;16;8t\033[?62;c",
    "slow": b"\033[?1;0;256S\033[?2;0;800;480S\033[6;16;8t\033[?63;1;2;4;6;9;15;22c",
}


def main():
    mode, cmd = sys.argv[1], sys.argv[2:]
    pid, fd = pty.fork()
    if pid == 0:
        os.environ["TERM"] = "xterm"
        os.environ.pop("TMUX", None)
        os.execvp(cmd[0], cmd)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 800, 480))
    out, answered = b"", False
    while True:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if not ready:
            continue
        try:
            data = os.read(fd, 65536)
        except OSError:
            break
        if not data:
            break
        out += data
        if not answered and b"\033[c" in out:
            answered = True
            if mode == "slow":
                time.sleep(0.3)
            if REPLIES[mode]:
                os.write(fd, REPLIES[mode])
    _, status = os.waitpid(pid, 0)
    sys.stdout.buffer.write(out.replace(b"\r\n", b"\n"))
    sys.exit(os.waitstatus_to_exitcode(status))


main()
