#!/usr/bin/env python3
"""Checks the what-if report as Chromium rendered it (tests/report_test.cc).

  report_browser_check.py SCREENSHOT.png DOM.html --charts ID,ID,... --colours RRGGBB,...

The screenshot, decoded here with the standard library only (zlib, struct), is
not blank and shows each given colour exactly (the bars are filled with them).
In the dumped DOM the charts (<svg class="chart">) are exactly the given ids,
and each drew data: a polyline of two distinct points or more, a bar with a
width and a height, or a mark with a radius. Exit 0 when all of it holds,
1 with one line per failure on stderr otherwise.
"""

import argparse
import struct
import sys
import zlib
from html.parser import HTMLParser

# A chart's frame alone is 2 × (830 + 220) pixels: eight charts draw more.
MIN_DRAWN_PIXELS = 8 * 2000


def paeth(left, up, up_left):
    estimate = left + up - up_left
    a, b, c = abs(estimate - left), abs(estimate - up), abs(estimate - up_left)
    if a <= b and a <= c:
        return left
    return up if b <= c else up_left


def unfilter(kind, line, previous, bpp):
    """Undoes one scanline's filter in place (PNG specification, section 9)."""
    if kind == 0:
        return line
    if kind == 2:
        return bytearray((x + u) & 255 for x, u in zip(line, previous))
    for i in range(len(line)):
        left = line[i - bpp] if i >= bpp else 0
        if kind == 1:
            line[i] = (line[i] + left) & 255
        elif kind == 3:
            line[i] = (line[i] + ((left + previous[i]) >> 1)) & 255
        elif kind == 4:
            up_left = previous[i - bpp] if i >= bpp else 0
            line[i] = (line[i] + paeth(left, previous[i], up_left)) & 255
        else:
            raise ValueError(f"unknown filter type {kind}")
    return line


def read_png(path):
    """(width, height, bytes per pixel, rows of 8-bit RGB or RGBA)."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    header, idat, pos = None, [], 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length  # length, type, body, CRC
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
    if header is None:
        raise ValueError("no IHDR chunk")
    width, height, depth, colour_type, _, _, interlace = header
    if depth != 8 or colour_type not in (2, 6) or interlace != 0:
        raise ValueError(f"unsupported PNG: depth {depth}, colour type {colour_type}, interlace {interlace}")
    bpp = 3 if colour_type == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    if len(raw) != height * (stride + 1):
        raise ValueError(f"{len(raw)} bytes of image data for {width}x{height}")
    rows, previous = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        line = unfilter(raw[start], bytearray(raw[start + 1 : start + 1 + stride]), previous, bpp)
        rows.append(line)
        previous = line
    return width, height, bpp, rows


def check_screenshot(path, colours, failures):
    width, height, bpp, rows = read_png(path)
    white = b"\xff" * (width * bpp)
    drawn, seen = 0, set()
    for line in rows:
        if line == white:
            continue
        for i in range(0, len(line), bpp):
            pixel = bytes(line[i : i + 3])
            if pixel != b"\xff\xff\xff":
                seen.add(pixel)
                drawn += 1
    if drawn < MIN_DRAWN_PIXELS:
        failures.append(f"screenshot {width}x{height}: {drawn} non-white pixels, expected {MIN_DRAWN_PIXELS} or more")
    if len(seen) < len(colours) + 2:
        failures.append(f"screenshot: only {len(seen)} colours besides white")
    for colour in colours:
        if bytes.fromhex(colour) not in seen:
            failures.append(f"screenshot: no pixel of colour #{colour}")
    print(f"screenshot {width}x{height}: {drawn} non-white pixels in {len(seen)} colours", file=sys.stderr)


class Charts(HTMLParser):
    """Per <svg class="chart"> id: how many of its data elements drew."""

    def __init__(self):
        super().__init__()
        self.drawn, self.current = {}, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg" and "chart" in (a.get("class") or "").split():
            self.current = a.get("id", "")
            self.drawn[self.current] = 0
        elif self.current is not None and self.draws(tag, a):
            self.drawn[self.current] += 1

    def handle_endtag(self, tag):
        if tag == "svg":
            self.current = None

    @staticmethod
    def draws(tag, a):
        number = lambda name: int(a.get(name) or "0")
        if tag == "polyline" and a.get("class") == "series":
            points = (a.get("points") or "").split()
            return len(points) >= 2 and len(set(points)) >= 2
        if tag == "rect" and a.get("class") == "bar":
            return number("width") > 0 and number("height") > 0
        if tag == "circle" and a.get("class") == "mark":
            return number("r") > 0
        return False


def check_dom(path, charts, failures):
    parser = Charts()
    with open(path, encoding="utf-8") as f:
        parser.feed(f.read())
    if sorted(parser.drawn) != sorted(charts):
        failures.append(f"DOM: charts {sorted(parser.drawn)}, expected {sorted(charts)}")
    for chart, count in sorted(parser.drawn.items()):
        if count == 0:
            failures.append(f"DOM: chart {chart!r} drew nothing")
    print(f"DOM: {len(parser.drawn)} charts, data elements drawn {parser.drawn}", file=sys.stderr)


def main():
    arguments = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    arguments.add_argument("screenshot")
    arguments.add_argument("dom")
    arguments.add_argument("--charts", required=True, help="comma-separated chart ids")
    arguments.add_argument("--colours", required=True, help="comma-separated RRGGBB colours")
    options = arguments.parse_args()
    failures = []
    check_screenshot(options.screenshot, options.colours.split(","), failures)
    check_dom(options.dom, options.charts.split(","), failures)
    for failure in failures:
        print(failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
