#!/usr/bin/env python3
"""Writes the PyTorch checkpoint fixtures of Tests/DyConvTorchTests/Fixtures (issue #10, item 5).

Each `<name>.pth` is written by `torch.save` and comes with `<name>.expected.safetensors`: the
floating-point tensors of its state_dict as PyTorch sees them (`.float()`, contiguous), names
without `module.` — the oracle the Swift reader is compared with. The `bad_*.pth` files are
malformed on purpose, built here with a fake pickler that writes the same opcodes and globals as
`torch.save` but with hostile numbers; they need no expected values (the tests check the error).

Run from the repository root: `python3 tools/make_torch_fixtures.py` (PyTorch 2.x and
safetensors; the tests never need Python). Seeded, so re-running rewrites the same values.
It also writes the torch fuzz target's seeds, Fuzz/corpus/torch/ (`--fuzz-seeds-only`: only those).
"""
import collections
import io
import os
import pickle
import zipfile

import torch
import torch.nn as nn
from safetensors.torch import save_file

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "DyConvTorchTests", "Fixtures")


def expected(path, state):
    """The oracle: float tensors of `state` as F32, names without `module.`."""
    tensors = {}
    for k, v in state.items():
        if v.is_floating_point():
            name = k[len("module."):] if k.startswith("module.") else k
            tensors[name] = v.detach().float().contiguous().clone()
    save_file(tensors, path.replace(".pth", ".expected.safetensors"))


def save(name, obj, state):
    path = os.path.join(OUT, name + ".pth")
    torch.save(obj, path)
    expected(path, state)


class Plain(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, 5)


class Attention2d(nn.Module):
    """kaijieshi7/Dynamic-convolution-Pytorch `attention2d` (its parameter names and shapes)."""
    def __init__(self, in_planes, K):
        super().__init__()
        hidden = int(in_planes * 0.25) + 1
        self.fc1 = nn.Conv2d(in_planes, hidden, 1, bias=False)
        self.fc2 = nn.Conv2d(hidden, K, 1, bias=True)


class DynamicConv2d(nn.Module):
    """kaijieshi7's `Dynamic_conv2d`: weight [K,out,in/g,k,k], bias [K,out]."""
    def __init__(self, in_planes, out_planes, kernel_size, K=4):
        super().__init__()
        self.attention = Attention2d(in_planes, K)
        self.weight = nn.Parameter(torch.randn(K, out_planes, in_planes, kernel_size, kernel_size))
        self.bias = nn.Parameter(torch.randn(K, out_planes))


class TinyDy(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = DynamicConv2d(3, 4, 3)
        self.bn1 = nn.BatchNorm2d(4)
        self.linear = nn.Linear(4, 10)


class FakeStorage:
    """Pickled as torch pickles a storage: a persistent id ('storage', type, key, 'cpu', numel)."""
    def __init__(self, storage_type, key, numel):
        self.id = ("storage", storage_type, key, "cpu", numel)


class FakeTensor:
    """Pickled as torch pickles a tensor: `_rebuild_tensor_v2(storage, offset, size, stride, ...)`."""
    def __init__(self, storage, offset, size, stride):
        self.args = (storage, offset, tuple(size), tuple(stride), False, collections.OrderedDict())

    def __reduce__(self):
        return (torch._utils._rebuild_tensor_v2, self.args)


class FakePickler(pickle.Pickler):
    def persistent_id(self, obj):
        return obj.id if isinstance(obj, FakeStorage) else None


def write_archive(name, root, storages, byteorder="little", pickle_bytes=None):
    """A zip laid out as torch.save lays it out: <archive>/data.pkl, data/<key>, byteorder."""
    if pickle_bytes is None:
        buf = io.BytesIO()
        FakePickler(buf, protocol=2).dump(root)
        pickle_bytes = buf.getvalue()
    with zipfile.ZipFile(os.path.join(OUT, name + ".pth"), "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pickle_bytes)
        z.writestr("archive/byteorder", byteorder)
        for key, data in storages.items():
            z.writestr("archive/data/" + key, data)


class Evil:
    """What a hostile checkpoint pickles: a call of os.system (never run by the reader)."""
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(10)

    plain = Plain()
    with torch.no_grad():  # non-trivial running statistics
        plain.bn.running_mean.uniform_(-1, 1)
        plain.bn.running_var.uniform_(0.5, 2)
        plain.bn.num_batches_tracked.fill_(7)
    save("plain", plain.state_dict(), plain.state_dict())

    wrapped = collections.OrderedDict(("module." + k, v) for k, v in plain.state_dict().items())
    save("nested", {"epoch": 3, "best_acc": 0.5, "arch": "plain", "state_dict": wrapped}, wrapped)
    save("nested_model", {"model": plain.state_dict()}, plain.state_dict())
    save("nested_net", {"net": wrapped, "acc": 91.5}, wrapped)

    dtypes = collections.OrderedDict([
        ("half", torch.randn(2, 3).half()),
        ("bfloat", torch.randn(4).bfloat16()),
        ("double", torch.randn(3, 2).double()),
        ("float", torch.randn(5)),
        ("steps", torch.tensor([1, 2, 3])),
        ("mask", torch.tensor([True, False])),
    ])
    save("dtypes", dtypes, dtypes)

    base = torch.randn(4, 6)
    views = collections.OrderedDict([
        ("transposed", base.t()),            # stride (1, 6): not contiguous
        ("rows", base[1:3]),                 # offset 6, contiguous, shares base's storage
        ("columns", base[:, 2:5]),           # offset 2, stride (6, 1)
        ("every_other", base[::2, ::3]),     # stride (12, 3)
        ("base", base),
        ("scalar", torch.tensor(2.5)),
        ("expanded", torch.randn(3, 1).expand(3, 4)),  # stride (1, 0)
    ])
    save("views", views, views)

    dy = TinyDy()
    save("kaijieshi7_dynamic", dy.state_dict(), dy.state_dict())

    # Parameters saved as such (`_rebuild_parameter`), as when a module's parameters are saved directly.
    params = collections.OrderedDict((k, v) for k, v in plain.named_parameters())
    save("parameters", params, collections.OrderedDict((k, v.detach()) for k, v in params.items()))

    # Malformed on purpose.
    floats = torch.arange(4, dtype=torch.float32).numpy().tobytes()
    s = FakeStorage(torch.FloatStorage, "0", 4)
    write_archive("bad_offset_past_end", {"w": FakeTensor(s, 2, [4], [1])}, {"0": floats})
    write_archive("bad_shape_overflow", {"w": FakeTensor(s, 0, [1 << 40, 1 << 40], [1, 1])}, {"0": floats})
    write_archive("bad_stride_past_end", {"w": FakeTensor(s, 0, [2, 2], [3, 1])}, {"0": floats})
    h = FakeStorage(torch.HalfStorage, "0", 8)
    write_archive("bad_shared_dtypes", {"a": FakeTensor(s, 0, [4], [1]), "b": FakeTensor(h, 0, [8], [1])},
                  {"0": floats})
    write_archive("bad_missing_storage", {"w": FakeTensor(FakeStorage(torch.FloatStorage, "1", 4), 0, [4], [1])},
                  {"0": floats})
    write_archive("bad_short_storage", {"w": FakeTensor(FakeStorage(torch.FloatStorage, "0", 8), 0, [8], [1])},
                  {"0": floats})
    write_archive("bad_big_endian", {"w": FakeTensor(s, 0, [4], [1])}, {"0": floats}, byteorder="big")
    write_archive("bad_os_system", None, {}, pickle_bytes=pickle.dumps({"w": Evil()}, protocol=2))
    write_archive("bad_eval", None, {}, pickle_bytes=pickle.dumps({"w": eval}, protocol=2))


def fuzz_seeds():
    """Fuzz/corpus/torch: each fixture raw (byte 0 = 0) and structured (byte 0 = 1 | byteorder
    "little" << 1: data.pkl and the storages as length-prefixed records), the layout of
    Tests/DyConvTorchTests/TorchFuzzInput.swift."""
    corpus = os.path.join(os.path.dirname(__file__), "..", "Fuzz", "corpus", "torch")
    os.makedirs(corpus, exist_ok=True)
    for name in sorted(os.listdir(OUT)):
        if not name.endswith(".pth"):
            continue
        path = os.path.join(OUT, name)
        stem = name[:-len(".pth")]
        with open(path, "rb") as f:
            open(os.path.join(corpus, "raw-" + stem), "wb").write(b"\0" + f.read())
        z = zipfile.ZipFile(path)
        names = z.namelist()
        prefix = next(n for n in names if n.endswith("/data.pkl"))[:-len("data.pkl")]
        keys = sorted((n[len(prefix + "data/"):] for n in names if n.startswith(prefix + "data/")), key=int)
        if keys != [str(k) for k in range(len(keys))]:
            continue  # the structured layout numbers storages 0, 1, …
        out = bytearray([1 | 1 << 1])
        for blob in [z.read(prefix + "data.pkl")] + [z.read(prefix + "data/" + k) for k in keys]:
            assert len(blob) < 1 << 16
            out += len(blob).to_bytes(2, "little") + blob
        open(os.path.join(corpus, "structured-" + stem), "wb").write(bytes(out))


if __name__ == "__main__":
    import sys
    if "--fuzz-seeds-only" not in sys.argv:
        main()
    fuzz_seeds()
