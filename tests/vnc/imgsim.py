#!/usr/bin/env python3
"""imgsim.py SCREEN REF X Y W H: how much the rectangle (X, Y, W, H) of
SCREEN (an X screenshot, PPM or PNG) looks like REF (the VNC framebuffer
PNG) scaled to W x H.  Both become grey levels, softened by a 3x3 box
blur so that half a pixel of difference in how two scalers place their
samples does not count as a difference in the picture; prints
"ncc=N psnr=P" where ncc is the normalised cross-correlation (1: the same
picture up to brightness and contrast; 0: unrelated) and psnr the peak
signal-to-noise ratio in dB.  Standard library only."""
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from imgcmp import load  # noqa: E402


def grey(img, x0, y0, w, h):
    iw, _, px = img
    out = []
    for y in range(y0, y0 + h):
        row = (y * iw + x0) * 3
        for x in range(w):
            i = row + x * 3
            out.append(0.299 * px[i] + 0.587 * px[i + 1] + 0.114 * px[i + 2])
    return out


def scaled_grey(img, w, h):
    """Box filter: each output pixel the mean of the source pixels it covers."""
    iw, ih, px = img
    g = grey(img, 0, 0, iw, ih)
    out = []
    for y in range(h):
        y0, y1 = y * ih // h, max(y * ih // h + 1, (y + 1) * ih // h)
        for x in range(w):
            x0, x1 = x * iw // w, max(x * iw // w + 1, (x + 1) * iw // w)
            s = 0.0
            for yy in range(y0, y1):
                base = yy * iw
                for xx in range(x0, x1):
                    s += g[base + xx]
            out.append(s / ((y1 - y0) * (x1 - x0)))
    return out


def blur(g, w, h):
    """3x3 box blur (separable), the edges averaged over what is there."""
    rows = []
    for y in range(h):
        r = g[y * w:(y + 1) * w]
        rows.append([(r[max(x - 1, 0)] + r[x] + r[min(x + 1, w - 1)]) / 3.0 for x in range(w)])
    out = []
    for y in range(h):
        a, b, c = rows[max(y - 1, 0)], rows[y], rows[min(y + 1, h - 1)]
        out.extend((a[x] + b[x] + c[x]) / 3.0 for x in range(w))
    return out


def main():
    screen, ref = load(sys.argv[1]), load(sys.argv[2])
    x, y, w, h = (int(v) for v in sys.argv[3:7])
    if x < 0 or y < 0 or w <= 0 or h <= 0 or x + w > screen[0] or y + h > screen[1]:
        print("rectangle %d,%d %dx%d is not inside the %dx%d screen" % (x, y, w, h, *screen[:2]))
        return 1
    a, b = blur(grey(screen, x, y, w, h), w, h), blur(scaled_grey(ref, w, h), w, h)
    n = float(len(a))
    ma, mb = sum(a) / n, sum(b) / n
    cov = sum((p - ma) * (q - mb) for p, q in zip(a, b))
    va = sum((p - ma) ** 2 for p in a)
    vb = sum((q - mb) ** 2 for q in b)
    ncc = cov / math.sqrt(va * vb) if va > 0 and vb > 0 else 0.0
    # PSNR without the blur would punish the same half pixel; with it,
    # both figures describe the same comparison.
    mse = sum((p - q) ** 2 for p, q in zip(a, b)) / n
    psnr = 99.0 if mse == 0 else 10 * math.log10(255.0 ** 2 / mse)
    print("ncc=%.3f psnr=%.1f" % (ncc, psnr))
    return 0


if __name__ == "__main__":
    sys.exit(main())
