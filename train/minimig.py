"""Reader of the MiniMIG training-set file written by `train/make-data.ts`.

Layout (little-endian): bytes 0-7 ASCII ``MINIMIG1``; bytes 8-11 uint32 header length H; H bytes
of UTF-8 JSON; then each array at the absolute offset its header entry gives (C order).
The JSON lists ``count``, ``seed``, ``maxInstances``, ``maxRelations``, ``tokens``, the
``vocabulary`` and ``arrays: {name: {dtype, shape, offset}}``.

``python3 train/minimig.py --random OUT --count N`` writes a file of the same layout filled with
random values (for testing the reader and the trainers without the renderer; the pictures mean
nothing).
"""
import argparse
import json
import os
import struct

import numpy as np

MAGIC = b"MINIMIG1"
DTYPES = {"uint8": np.uint8, "uint16": np.uint16, "int32": np.int32, "float32": np.float32}
EOS = 49407
BOS = 49406

# name -> (dtype, shape after N); I = maxInstances, R = maxRelations, T = tokens
LAYOUT = {
    "image": ("uint8", ("3", "32", "32")),
    "image_nomarks": ("uint8", ("3", "32", "32")),
    "style_ref": ("uint8", ("3", "32", "32")),
    "caption": ("uint16", ("T",)),
    "caption_nocolour": ("uint16", ("T",)),
    "caption_noaction": ("uint16", ("T",)),
    "caption_nostyle": ("uint16", ("T",)),
    "n_inst": ("uint8", ()),
    "boxes": ("float32", ("I", "4")),
    "shape": ("uint8", ("I",)),
    "colour": ("uint8", ("I",)),
    "phrase": ("uint16", ("I", "T")),
    "phrase_nocolour": ("uint16", ("I", "T")),
    "n_rel": ("uint8", ()),
    "rel": ("uint8", ("R", "3")),
    "texture": ("uint8", ()),
    "tint": ("uint8", ()),
}


class MiniMig:
    """The arrays of one file, memory-mapped (``self.arrays[name]``) plus the header fields."""

    def __init__(self, path):
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[:8] != MAGIC:
                raise ValueError(f"{path} is not a MiniMIG file (it does not start with {MAGIC!r})")
            (hlen,) = struct.unpack("<I", head[8:12])
            self.header = json.loads(f.read(hlen).decode("utf-8"))
        if self.header.get("version") != 1:
            raise ValueError(f"{path}: version must be 1, got {self.header.get('version')!r}")
        size = os.path.getsize(path)
        self.count = int(self.header["count"])
        self.max_instances = int(self.header["maxInstances"])
        self.max_relations = int(self.header["maxRelations"])
        self.vocabulary = self.header["vocabulary"]
        self.arrays = {}
        for name, spec in self.header["arrays"].items():
            if spec["dtype"] not in DTYPES:
                raise ValueError(f"{path}: array {name} has dtype {spec['dtype']!r}; allowed: {', '.join(DTYPES)}")
            dt = np.dtype(DTYPES[spec["dtype"]]).newbyteorder("<")
            shape = tuple(int(d) for d in spec["shape"])
            nbytes = int(np.prod(shape)) * dt.itemsize
            if spec["offset"] + nbytes > size:
                raise ValueError(f"{path}: array {name} ({nbytes} bytes at {spec['offset']}) runs past the end of the file ({size} bytes)")
            self.arrays[name] = np.memmap(path, dtype=dt, mode="r", offset=spec["offset"], shape=shape)
        dims = {"I": self.max_instances, "R": self.max_relations, "T": int(self.header["tokens"])}
        for name, (dtype, tail) in LAYOUT.items():
            want = (self.count,) + tuple(dims.get(d, None) or int(d) for d in tail)
            a = self.arrays.get(name)
            if a is None:
                raise ValueError(f"{path}: array {name} is missing")
            if a.shape != want or a.dtype != np.dtype(DTYPES[dtype]):
                raise ValueError(f"{path}: array {name} is {a.dtype}{list(a.shape)}, expected {dtype}{list(want)}")
        self.actions = len(self.vocabulary["actions"])
        if self.arrays["action_tokens"].shape != (self.actions, dims["T"]):
            raise ValueError(f"{path}: action_tokens must be [{self.actions}, {dims['T']}]")
        if self.arrays["empty_tokens"].shape != (dims["T"],):
            raise ValueError(f"{path}: empty_tokens must be [{dims['T']}]")

    def __getitem__(self, name):
        return self.arrays[name]

    def token_ids(self):
        """Every CLIP id used by any token array of the file (sorted)."""
        used = set()
        for name, a in self.arrays.items():
            if a.dtype == np.uint16:
                used.update(np.unique(np.asarray(a)).tolist())
        return sorted(used)


def write_minimig(path, header_extra, arrays):
    """Write arrays (name -> numpy array) with the fixed layout, 8-byte aligned, atomically."""
    meta = {}
    header = dict(header_extra, arrays=meta)
    # offsets depend on the header length, which depends on the offsets: iterate to a fixed point
    hlen = 0
    for _ in range(10):
        off = 12 + hlen
        off = (off + 7) // 8 * 8
        for name, a in arrays.items():
            meta[name] = {"dtype": a.dtype.name, "shape": list(a.shape), "offset": off}
            off = (off + a.nbytes + 7) // 8 * 8
        blob = json.dumps(header).encode("utf-8")
        if len(blob) == hlen:
            break
        hlen = len(blob)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(MAGIC + struct.pack("<I", len(blob)) + blob)
        for name, a in arrays.items():
            f.seek(meta[name]["offset"])
            f.write(np.ascontiguousarray(a).astype(a.dtype.newbyteorder("<")).tobytes())
    os.replace(tmp, path)


def random_tokens(rng, shape, vocab_ids, T=77):
    """eos-padded [bos ids eos] rows of random ids from vocab_ids."""
    out = np.full(shape + (T,), EOS, dtype=np.uint16)
    flat = out.reshape(-1, T)
    for row in flat:
        k = rng.integers(1, 12)
        row[0] = BOS
        row[1 : 1 + k] = rng.choice(vocab_ids, size=k)
    return out


def write_random(path, count, seed=0):
    """A file of the training-set layout with random contents."""
    rng = np.random.default_rng(seed)
    N, I, R, T = count, 4, 3, 77
    vocab = {
        "shapes": ["square", "circle", "triangle"],
        "colours": ["red", "green", "blue", "yellow", "cyan", "magenta"],
        "actions": ["linked to", "looking at"],
        "textures": ["plain", "stripes", "checker", "dots"],
        "tints": ["grey", "blue", "brown"],
    }
    ids = np.array([320, 736, 1746, 2866, 6448, 8912, 9949, 11795, 24659, 38651, 539, 585], dtype=np.uint16)
    n_inst = rng.integers(1, I + 1, size=N).astype(np.uint8)
    lo = rng.uniform(0, 0.6, size=(N, I, 2))
    boxes = np.concatenate([lo, lo + rng.uniform(0.2, 0.4, size=(N, I, 2))], axis=2).astype(np.float32)[:, :, [0, 1, 2, 3]]
    valid = np.arange(I)[None, :] < n_inst[:, None]
    boxes *= valid[:, :, None]
    n_rel = np.minimum(rng.integers(0, R + 1, size=N), np.maximum(n_inst.astype(int) - 1, 0)).astype(np.uint8)
    rel = np.zeros((N, R, 3), np.uint8)
    for i in range(N):
        for r in range(n_rel[i]):
            s, o = rng.choice(int(n_inst[i]), size=2, replace=False)
            rel[i, r] = (s, o, rng.integers(0, len(vocab["actions"])))
    arrays = {
        "image": rng.integers(0, 256, size=(N, 3, 32, 32), dtype=np.uint8),
        "image_nomarks": rng.integers(0, 256, size=(N, 3, 32, 32), dtype=np.uint8),
        "style_ref": rng.integers(0, 256, size=(N, 3, 32, 32), dtype=np.uint8),
        "caption": random_tokens(rng, (N,), ids),
        "caption_nocolour": random_tokens(rng, (N,), ids),
        "caption_noaction": random_tokens(rng, (N,), ids),
        "caption_nostyle": random_tokens(rng, (N,), ids),
        "n_inst": n_inst,
        "boxes": boxes,
        "shape": (rng.integers(0, 3, size=(N, I)) * valid).astype(np.uint8),
        "colour": (rng.integers(0, 6, size=(N, I)) * valid).astype(np.uint8),
        "phrase": random_tokens(rng, (N, I), ids),
        "phrase_nocolour": random_tokens(rng, (N, I), ids),
        "n_rel": n_rel,
        "rel": rel,
        "action_tokens": random_tokens(rng, (len(vocab["actions"]),), ids),
        "texture": rng.integers(0, 4, size=N).astype(np.uint8),
        "tint": rng.integers(0, len(vocab["tints"]), size=N).astype(np.uint8),
        "empty_tokens": np.array([BOS] + [EOS] * (T - 1), dtype=np.uint16),
    }
    head = {"version": 1, "count": N, "seed": seed, "maxInstances": I, "maxRelations": R, "tokens": T, "vocabulary": vocab}
    write_minimig(path, head, arrays)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--random", metavar="OUT", help="write a random-valued file of the layout to OUT")
    ap.add_argument("--count", type=int, default=256)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--show", metavar="FILE", help="print the header and array shapes of FILE")
    a = ap.parse_args()
    if a.random:
        write_random(a.random, a.count, a.seed)
        print(f"wrote {a.random}")
    if a.show:
        d = MiniMig(a.show)
        print(json.dumps({k: v for k, v in d.header.items() if k != "arrays"}))
        for k, v in d.arrays.items():
            print(k, v.dtype, v.shape)
        print("token ids used:", len(d.token_ids()))
