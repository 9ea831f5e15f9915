#!/usr/bin/env python3
"""A small HTTP server for the image tests: serves DIR on 127.0.0.1 with
Range support (bytes=N-), logs every request (path and Range header) to
LOG, one line each, and misbehaves on request through control files in
DIR:
  .drop   N: the next download of a file sends its full Content-Length
          but only N bytes, then closes the connection (the file is then
          removed, so the next request is served whole)
  .slow   B: send at most B bytes per second (for as long as it exists)
  .norange  (for as long as it exists) the whole file to every request,
          Range or not, as a server without Range support does
Usage: imgserver.py DIR PORTFILE LOG [CERT.pem KEY.pem] (with a certificate:
HTTPS)"""
import http.server
import os
import sys
import time

ROOT, PORTFILE, LOG = sys.argv[1], sys.argv[2], sys.argv[3]


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def do_HEAD(self):
        with open(LOG, "a") as f:
            f.write("HEAD %s\n" % self.path)
        name = os.path.basename(self.path.split("?")[0])
        path = os.path.join(ROOT, name)
        ok = name and not name.startswith(".") and os.path.isfile(path)
        self.send_response(200 if ok else 404)
        self.send_header("Content-Length", str(os.path.getsize(path)) if ok else "0")
        self.end_headers()

    def do_GET(self):
        rng = self.headers.get("Range")
        with open(LOG, "a") as f:
            f.write("GET %s range=%s\n" % (self.path, rng or "-"))
        name = os.path.basename(self.path.split("?")[0])
        path = os.path.join(ROOT, name)
        if not name or name.startswith(".") or not os.path.isfile(path):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        size = os.path.getsize(path)
        start = 0
        norange = os.path.exists(os.path.join(ROOT, ".norange"))
        if rng and rng.startswith("bytes=") and rng.endswith("-") and not norange:
            start = int(rng[6:-1])
            if start >= size:
                self.send_response(416)
                self.send_header("Content-Range", "bytes */%d" % size)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", "bytes %d-%d/%d" % (start, size - 1, size))
        else:
            self.send_response(200)
        self.send_header("Content-Length", str(size - start))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        drop = -1
        dropfile = os.path.join(ROOT, ".drop")
        if os.path.exists(dropfile):
            with open(dropfile) as f:
                drop = int(f.read().strip())
            os.unlink(dropfile)
        sent = 0
        with open(path, "rb") as f:
            f.seek(start)
            while True:
                slowfile = os.path.join(ROOT, ".slow")
                chunk = 65536
                rate = 0
                if os.path.exists(slowfile):
                    try:
                        with open(slowfile) as sf:
                            rate = int(sf.read().strip())
                        chunk = max(1, rate // 10)
                    except (OSError, ValueError):
                        rate = 0
                if drop >= 0:
                    chunk = min(chunk, drop - sent)
                    if chunk <= 0:
                        self.close_connection = True
                        self.wfile.flush()
                        self.connection.shutdown(2)
                        return
                data = f.read(chunk)
                if not data:
                    return
                try:
                    self.wfile.write(data)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    return
                sent += len(data)
                if rate:
                    time.sleep(0.1)


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
if len(sys.argv) > 5:
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[4], sys.argv[5])
    server.socket = ctx.wrap_socket(server.socket, server_side=True)
tmp = PORTFILE + ".tmp"
with open(tmp, "w") as f:
    f.write("%d\n" % server.server_address[1])
os.rename(tmp, PORTFILE)
server.serve_forever()
