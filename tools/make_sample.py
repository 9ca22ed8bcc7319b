#!/usr/bin/env python3
"""Write the bundled 1000-image Fashion-MNIST test sample used by dyconv.

Reads the full Fashion-MNIST test split (IDX format, gzip) and writes its first
N images and labels, in the same IDX format, to
assets/fashion-mnist-sample/t10k-{images-idx3,labels-idx1}-ubyte.gz.

The output is byte-for-byte reproducible: gzip headers carry mtime=0 and no
file name, and the compression level is fixed. Python standard library only.

Usage:
    python3 tools/make_sample.py [--source DIR] [--output DIR] [--count N]
"""

import argparse
import gzip
import io
import os
import struct
import sys
import tempfile

IMAGES = "t10k-images-idx3-ubyte.gz"
LABELS = "t10k-labels-idx1-ubyte.gz"
IMAGE_MAGIC = 0x00000803
LABEL_MAGIC = 0x00000801


def fail(message):
    sys.stderr.write("make_sample.py: " + message + "\n")
    sys.exit(1)


def read_idx(path, expected_magic, expected_rank):
    """Returns (dims, payload) of an IDX file holding uint8 data."""
    try:
        with gzip.open(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as error:
        fail("%s: cannot read: %s" % (path, error))
    name = os.path.basename(path)
    if len(raw) < 4:
        fail("%s: too short for an IDX header" % name)
    (magic,) = struct.unpack(">I", raw[:4])
    if magic != expected_magic:
        fail("%s: magic 0x%08x, expected 0x%08x" % (name, magic, expected_magic))
    header = 4 + 4 * expected_rank
    if len(raw) < header:
        fail("%s: truncated header" % name)
    dims = struct.unpack(">" + "I" * expected_rank, raw[4:header])
    size = 1
    for d in dims:
        size *= d
    payload = raw[header:]
    if len(payload) != size:
        fail("%s: header says %s bytes, file has %d"
             % (name, "x".join(str(d) for d in dims), len(payload)))
    return dims, payload


def gzip_bytes(data):
    """Compresses deterministically: mtime 0, no file name, level 9."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as f:
        f.write(data)
    return buffer.getvalue()


def write_atomically(path, data):
    directory = os.path.dirname(os.path.abspath(path))
    fd, temporary = tempfile.mkstemp(dir=directory, prefix=".tmp-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def main():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", default="/usr/share/datasets/fashion-mnist",
                        help="directory holding the full t10k-*-ubyte.gz files")
    parser.add_argument("--output", default=os.path.join(repo, "assets", "fashion-mnist-sample"),
                        help="directory to write the sample into")
    parser.add_argument("--count", type=int, default=1000, help="number of test images to keep")
    args = parser.parse_args()

    (n, rows, cols), pixels = read_idx(os.path.join(args.source, IMAGES), IMAGE_MAGIC, 3)
    (m,), labels = read_idx(os.path.join(args.source, LABELS), LABEL_MAGIC, 1)
    if n != m:
        fail("%d images but %d labels" % (n, m))
    if not 0 < args.count <= n:
        fail("--count must be in 1...%d, got %d" % (n, args.count))

    k = args.count
    images_out = struct.pack(">IIII", IMAGE_MAGIC, k, rows, cols) + pixels[: k * rows * cols]
    labels_out = struct.pack(">II", LABEL_MAGIC, k) + labels[:k]

    os.makedirs(args.output, exist_ok=True)
    write_atomically(os.path.join(args.output, IMAGES), gzip_bytes(images_out))
    write_atomically(os.path.join(args.output, LABELS), gzip_bytes(labels_out))
    print("wrote %d images (%dx%d) and labels to %s" % (k, rows, cols, args.output))


if __name__ == "__main__":
    main()
