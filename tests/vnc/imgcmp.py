#!/usr/bin/env python3
"""imgcmp.py A B [MAX_FRACTION]: compare two images (PNG or binary PPM) pixel
by pixel.  Prints "size WxH, N of M pixels differ (F)" and exits 0 when the
sizes match and at most MAX_FRACTION (default 0.01) of the pixels differ by
more than 16 in some channel; else 1.  Standard library only (no PIL)."""
import struct
import sys
import zlib


def read_ppm(data):
    # P6 W H MAX then one whitespace, then RGB bytes.
    fields, pos = [], 0
    while len(fields) < 4:
        while data[pos:pos + 1].isspace():
            pos += 1
        if data[pos:pos + 1] == b"#":
            pos = data.index(b"\n", pos)
            continue
        end = pos
        while not data[end:end + 1].isspace():
            end += 1
        fields.append(data[pos:end])
        pos = end
    if fields[0] != b"P6" or int(fields[3]) != 255:
        raise ValueError("not an 8-bit binary PPM")
    w, h = int(fields[1]), int(fields[2])
    return w, h, data[pos + 1:pos + 1 + w * h * 3]


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def read_png(data):
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG")
    pos, idat, w = 8, b"", 0
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, inter = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or inter != 0:
                raise ValueError("only 8-bit RGB/RGBA non-interlaced PNGs")
            bpp = 3 if ctype == 2 else 4
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride = w * bpp
    out, prev = bytearray(), bytearray(stride)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 1:
                line[i] = (line[i] + a) & 255
            elif f == 2:
                line[i] = (line[i] + b) & 255
            elif f == 3:
                line[i] = (line[i] + ((a + b) >> 1)) & 255
            elif f == 4:
                line[i] = (line[i] + paeth(a, b, c)) & 255
        prev = line
        if bpp == 4:
            line = bytearray(v for i, v in enumerate(line) if i % 4 != 3)
        out += line
    return w, h, bytes(out)


def load(path):
    data = open(path, "rb").read()
    return read_png(data) if data[:4] == b"\x89PNG" else read_ppm(data)


def main():
    a, b = load(sys.argv[1]), load(sys.argv[2])
    limit = float(sys.argv[3]) if len(sys.argv) > 3 else 0.01
    if a[:2] != b[:2]:
        print("sizes differ: %dx%d and %dx%d" % (a[0], a[1], b[0], b[1]))
        return 1
    w, h = a[:2]
    pa, pb = a[2], b[2]
    diff = sum(1 for i in range(0, w * h * 3, 3)
               if max(abs(pa[i] - pb[i]), abs(pa[i + 1] - pb[i + 1]),
                      abs(pa[i + 2] - pb[i + 2])) > 16)
    frac = diff / float(w * h)
    print("size %dx%d, %d of %d pixels differ (%.4f)" % (w, h, diff, w * h, frac))
    return 0 if frac <= limit else 1


if __name__ == "__main__":
    sys.exit(main())
