#!/usr/bin/env python3
"""Writes the image fixtures of Tests/DyConvDataTests/Fixtures/images with Pillow as the oracle.

    pip install -r tools/requirements.txt   # Pillow
    python3 tools/make_image_fixtures.py

What it writes (small files, a few KB in all):
- decode cases: PNG (grey 8-bit, grey 1-bit, RGB, RGBA, palette 4-bit with tRNS, grey 16-bit,
  RGB 16-bit, interlaced RGB), JPEG (grey, RGB 4:2:0, progressive RGB, CMYK for the refusal),
  PGM/PPM (P2, P3 with comments, P5, P6, P5 and P6 with maxval 65535, P6 maxval 1000,
  P2 maxval 15). Each with `<file>.bin`: the pixels dyconv must decode, planar CHW.
- transform cases: two source PNGs and `fit-*.bin`: torchvision's evaluation transform on the
  Pillow image — `convert(mode)`, `Resize(S)` (Pillow `resize(..., BILINEAR)`, the call
  torchvision makes for PIL images), `CenterCrop((h, w))` — planar CHW.
- manifest.json listing every case, its expected shape, the oracle and the tolerance.

Oracles: Pillow's decoder (`Image.open(f).convert("RGB" | "L")`) wherever Pillow's pixels are
what a torchvision model sees. Two cases where Pillow's convert loses the data are computed here
instead, by the rule dyconv documents: 16-bit grey (Pillow opens it as "I;16" and `convert("L")`
clips every value above 255 to white; dyconv keeps the high byte, as libpng's strip_16 and
Pillow's own 16-bit RGB path do) and PGM with maxval > 255 (Pillow opens it as "I"; dyconv
scales round(v·255/maxval), halves up). The torchvision size rules are reproduced from
torchvision/transforms/functional.py (`_compute_resized_output_size`, `center_crop`) since
torchvision itself is not needed for them.
"""
import io
import json
import os
import struct
import zlib

from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "DyConvDataTests", "Fixtures", "images")


def lcg(seed):
    """A tiny deterministic generator (fixtures must not change between runs)."""
    state = seed
    while True:
        state = (state * 1103515245 + 12345) & 0x7FFFFFFF
        yield state >> 16


def pattern_rgb(width, height, seed):
    """A smooth pattern with some noise: gradients, a disc, a few random pixels."""
    noise = lcg(seed)
    pixels = []
    for y in range(height):
        for x in range(width):
            r = (x * 255) // max(width - 1, 1)
            g = (y * 255) // max(height - 1, 1)
            inside = (x - width / 2) ** 2 + (y - height / 2) ** 2 < (min(width, height) / 3) ** 2
            b = 220 if inside else (x * y * 7) % 256
            n = next(noise) % 31 - 15
            pixels.append((max(0, min(255, r + n)), max(0, min(255, g - n)), b))
    image = Image.new("RGB", (width, height))
    image.putdata(pixels)
    return image


def planar(image):
    """Pillow image (L or RGB) → planar CHW bytes."""
    channels = image.split()
    return b"".join(c.tobytes() for c in channels)


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def raw_png(width, height, depth, color, rows, interlace=False):
    """A PNG written by hand (Pillow writes neither 16-bit RGB nor interlaced files).

    rows: height lists of samples (per pixel `channels` samples) of `depth` bits (8 or 16).
    """
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color]
    step = depth // 8

    def encode(row_samples):
        out = bytearray()
        for v in row_samples:
            out += v.to_bytes(step, "big")
        return bytes(out)

    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    raw = bytearray()
    if interlace:
        for x0, y0, dx, dy in passes:
            xs = list(range(x0, width, dx))
            if not xs:
                continue
            for y in range(y0, height, dy):
                samples = []
                for x in xs:
                    samples += rows[y][x * channels:(x + 1) * channels]
                raw += b"\x00" + encode(samples)
    else:
        for y in range(height):
            raw += b"\x00" + encode(rows[y])
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, 1 if interlace else 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(bytes(raw), 9))
            + png_chunk(b"IEND", b""))


def pillow_bytes(image, fmt, **options):
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def decoded_by_pillow(data, channels):
    image = Image.open(io.BytesIO(data))
    return planar(image.convert("L" if channels == 1 else "RGB"))


def resized_size(width, height, size):
    """torchvision's Resize(size) for an int size: the shorter side becomes size."""
    short, long = (width, height) if width <= height else (height, width)
    new_short, new_long = size, int(size * long / short)
    return (new_short, new_long) if width <= height else (new_long, new_short)


def torchvision_eval(image, channels, height, width, resize):
    """convert → Resize(S) → CenterCrop((height, width)) on a Pillow image."""
    image = image.convert("L" if channels == 1 else "RGB")
    if resize is not None or image.size != (width, height):
        s = resize if resize is not None else max(height, width)
        new_w, new_h = resized_size(image.width, image.height, s)
        if (new_w, new_h) != image.size:
            image = image.resize((new_w, new_h), Image.BILINEAR)
        top = int(round((image.height - height) / 2.0))
        left = int(round((image.width - width) / 2.0))
        image = image.crop((left, top, left + width, top + height))
    return planar(image)


def main():
    os.makedirs(OUT, exist_ok=True)
    for name in os.listdir(OUT):
        os.remove(os.path.join(OUT, name))
    cases = []
    transforms = []

    def write(name, data):
        with open(os.path.join(OUT, name), "wb") as f:
            f.write(data)

    def decode_case(name, data, channels, width, height, expected, oracle, tolerance=0):
        assert len(expected) == channels * width * height, name
        write(name, data)
        write(name + ".bin", expected)
        cases.append({"file": name, "channels": channels, "height": height, "width": width,
                      "expected": name + ".bin", "oracle": oracle, "tolerance": tolerance})

    w, h = 13, 9
    rgb = pattern_rgb(w, h, 1)
    grey = rgb.convert("L")
    pil = "Pillow Image.open().convert()"

    # PNG
    for name, image, channels, options in [
        ("grey.png", grey, 1, {}),
        ("rgb.png", rgb, 3, {}),
        ("grey1.png", grey.point(lambda v: 255 if v > 110 else 0).convert("1"), 1, {}),
    ]:
        data = pillow_bytes(image, "PNG", **options)
        decode_case(name, data, channels, w, h, decoded_by_pillow(data, channels), pil)
    rgba = rgb.copy()
    rgba.putalpha(grey.point(lambda v: 255 - v))
    data = pillow_bytes(rgba, "PNG")
    decode_case("rgba.png", data, 3, w, h, decoded_by_pillow(data, 3), pil + " (alpha dropped)")
    palette = rgb.quantize(colors=12)
    palette.info["transparency"] = 3
    data = pillow_bytes(palette, "PNG", bits=4, transparency=3)
    assert Image.open(io.BytesIO(data)).mode == "P"
    decode_case("palette.png", data, 3, w, h, decoded_by_pillow(data, 3), pil + " (4-bit palette, tRNS dropped)")
    rgb_rows = [[v for x in range(w) for v in rgb.getpixel((x, y))] for y in range(h)]
    grey16_rows = [[(grey.getpixel((x, y)) << 8) | ((x * 37 + y * 11) & 0xFF) for x in range(w)] for y in range(h)]
    data = raw_png(w, h, 16, 0, grey16_rows)
    assert Image.open(io.BytesIO(data)).mode == "I;16"
    decode_case("grey16.png", data, 1, w, h, bytes(v >> 8 for row in grey16_rows for v in row),
                "high byte of each 16-bit sample, computed here (Pillow's convert('L') clips I;16)")
    rgb16_rows = [[(v << 8) | ((i * 53) & 0xFF) for i, v in enumerate(row)] for row in rgb_rows]
    data = raw_png(w, h, 16, 2, rgb16_rows)
    decode_case("rgb16.png", data, 3, w, h, decoded_by_pillow(data, 3), pil + " (16-bit RGB: high byte)")
    data = raw_png(w, h, 8, 2, rgb_rows, interlace=True)
    decode_case("interlaced.png", data, 3, w, h, decoded_by_pillow(data, 3), pil + " (Adam7)")

    # JPEG: libjpeg-turbo here and in Pillow's wheel may differ by a level in rare pixels.
    jw, jh = 19, 14
    photo = pattern_rgb(jw, jh, 2)
    for name, image, channels, options in [
        ("grey.jpg", photo.convert("L"), 1, {"quality": 90}),
        ("rgb.jpg", photo, 3, {"quality": 85}),
        ("progressive.jpg", photo, 3, {"quality": 80, "progressive": True}),
    ]:
        data = pillow_bytes(image, "JPEG", **options)
        decode_case(name, data, channels, jw, jh, decoded_by_pillow(data, channels), pil + " (libjpeg-turbo)", 1)
    write("cmyk.jpg", pillow_bytes(photo.convert("CMYK"), "JPEG", quality=80))

    # PGM / PPM
    pixels = list(grey.tobytes())
    rgb_bytes = rgb.tobytes()
    data = pillow_bytes(grey, "PPM")
    assert data.startswith(b"P5")
    decode_case("grey.pgm", data, 1, w, h, decoded_by_pillow(data, 1), pil)
    data = pillow_bytes(rgb, "PPM")
    assert data.startswith(b"P6")
    decode_case("rgb.ppm", data, 3, w, h, decoded_by_pillow(data, 3), pil)
    text = "P2\n# plain PGM\n%d %d\n255\n" % (w, h) + "\n".join(
        " ".join(str(v) for v in pixels[y * w:(y + 1) * w]) for y in range(h)) + "\n"
    decode_case("plain.pgm", text.encode(), 1, w, h, decoded_by_pillow(text.encode(), 1), pil)
    text = "P3 # comment after the magic\n%d\n# between numbers\n%d 255\n" % (w, h) + "\n".join(
        " ".join(str(v) for v in rgb_bytes[y * w * 3:(y + 1) * w * 3]) for y in range(h)) + "\n"
    decode_case("plain.ppm", text.encode(), 3, w, h, decoded_by_pillow(text.encode(), 3), pil)

    def scale(v, maxval):
        return (v * 255 + maxval // 2) // maxval  # round half up

    wide = [(v << 8) | ((i * 29) & 0xFF) for i, v in enumerate(pixels)]
    data = b"P5\n%d %d\n65535\n" % (w, h) + b"".join(v.to_bytes(2, "big") for v in wide)
    decode_case("grey16.pgm", data, 1, w, h, bytes(scale(v, 65535) for v in wide),
                "round(v*255/65535) computed here (Pillow opens maxval > 255 PGM as 32-bit 'I')")
    wide_rgb = [(v << 8) | ((i * 31) & 0xFF) for i, v in enumerate(rgb_bytes)]
    data = b"P6 %d %d 65535\n" % (w, h) + b"".join(v.to_bytes(2, "big") for v in wide_rgb)
    decode_case("rgb16.ppm", data, 3, w, h, decoded_by_pillow(data, 3), pil + " (maxval 65535)", 1)
    thousand = [(v * 1000) // 255 for v in rgb_bytes]
    data = b"P6\n%d %d\n1000\n" % (w, h) + b"".join(v.to_bytes(2, "big") for v in thousand)
    decode_case("rgb1000.ppm", data, 3, w, h, decoded_by_pillow(data, 3), pil + " (maxval 1000)", 1)
    fifteen = [v >> 4 for v in pixels]
    text = "P2 %d %d 15\n" % (w, h) + " ".join(str(v) for v in fifteen) + "\n"
    decode_case("grey15.pgm", text.encode(), 1, w, h, decoded_by_pillow(text.encode(), 1), pil + " (maxval 15)", 1)

    # Transforms: a landscape colour source and a portrait grey one.
    land = pattern_rgb(33, 25, 3)
    write("land.png", pillow_bytes(land, "PNG"))
    port = pattern_rgb(29, 41, 4).convert("L")
    write("port.png", pillow_bytes(port, "PNG"))
    for source, image, channels, height, width, resize in [
        ("land.png", land, 3, 16, 16, None),    # downscale 25 → 16, crop the long side
        ("land.png", land, 3, 12, 20, None),    # non-square input: S = max(h, w) = 20
        ("land.png", land, 3, 20, 20, 24),      # Resize(24) + CenterCrop(20), the ImageNet recipe
        ("land.png", land, 1, 24, 24, None),    # colour → grey (601-2 luma) then resize
        ("land.png", land, 3, 25, 33, None),    # same size: unchanged
        ("land.png", land, 3, 25, 33, 26),      # same size with an explicit resize: up by one, crop offsets round(0.5) = 0
        ("port.png", port, 3, 16, 16, None),    # grey → colour, portrait (w <= h branch)
        ("port.png", port, 1, 40, 30, None),    # upscale (support stays 1)
        ("port.png", port, 1, 7, 5, None),      # strong downscale (wide filter)
    ]:
        name = "fit-%s-%dx%dx%d-%s.bin" % (source.split(".")[0], channels, height, width, resize or "auto")
        write(name, torchvision_eval(image, channels, height, width, resize))
        transforms.append({"source": source, "channels": channels, "height": height, "width": width,
                           "resize": resize, "expected": name,
                           "oracle": "Pillow convert + resize(BILINEAR) + crop, torchvision's size rules"})

    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump({"decode": cases, "transform": transforms}, f, indent=1)
        f.write("\n")
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print("wrote %d decode cases, %d transform cases, %d bytes to %s" % (len(cases), len(transforms), total, OUT))


if __name__ == "__main__":
    main()
