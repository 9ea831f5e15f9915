#!/usr/bin/env python3
"""qmp.py SOCKET COMMAND [JSON-ARGS]: run one QMP command on QEMU's monitor
socket and print its reply ("return" or "error") as JSON; exit 1 on error."""
import json
import socket
import sys


def main():
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    s.connect(sys.argv[1])
    f = s.makefile("rwb")

    def reply():
        while True:
            msg = json.loads(f.readline())
            if "return" in msg or "error" in msg:
                return msg

    json.loads(f.readline())  # the greeting
    f.write(b'{"execute": "qmp_capabilities"}\n')
    f.flush()
    reply()
    cmd = {"execute": sys.argv[2]}
    if len(sys.argv) > 3:
        cmd["arguments"] = json.loads(sys.argv[3])
    f.write(json.dumps(cmd).encode() + b"\n")
    f.flush()
    msg = reply()
    print(json.dumps(msg))
    return 1 if "error" in msg else 0


if __name__ == "__main__":
    sys.exit(main())
