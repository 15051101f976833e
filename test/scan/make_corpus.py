#!/usr/bin/python3
"""Generates the model-scanner test corpus (test/scan/corpus/) and its manifest.

Run with Debian's interpreter, which has python3-torch and python3-numpy:

    /usr/bin/python3 test/scan/make_corpus.py

The output is deterministic (fixed seeds, fixed zip dates, no timestamps), so running it again
gives byte-identical files; the files are committed and the tests only read them, so CI needs
neither torch nor numpy.

Every payload is harmless (os.system("true"), exec("pass"), os.getcwd). Nothing here ever loads
a generated file: the point is that a scanner must judge them without running them.

Case ids: B1-B7 benign, M1-M26 malicious; X* are further published bypasses
(picklescan and modelscan issue threads), B8+ more benign files.
"""

import argparse
import base64
import collections
import copyreg
import io
import json
import marshal
import os
import pickle
import pickletools
import random
import shutil
import struct
import sys
import tarfile
import zipfile
import gzip

import numpy as np
import torch
import torch.nn as nn

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")
FIXED_DATE = (2020, 1, 1, 0, 0, 0)
MANIFEST = []


def write(case, name, data, expect, description, codes=()):
    path = os.path.join(OUT, name)
    with open(path, "wb") as f:
        f.write(data)
    MANIFEST.append(
        {"id": case, "file": name, "expect": expect, "codes": list(codes), "description": description}
    )


def seed():
    random.seed(0)
    np.random.seed(0)
    torch.manual_seed(0)


# --- payload classes ----------------------------------------------------------------------------


class Evil:
    """Reduces to os.system("true")."""

    def __reduce__(self):
        return (os.system, ("true",))


class EvilExec:
    def __reduce__(self):
        return (exec, ("pass",))


class EvilEval:
    def __reduce__(self):
        return (eval, ("1",))


# --- hand assembly --------------------------------------------------------------------------------

PROTO2 = b"\x80\x02"
PROTO4 = b"\x80\x04"
MARK, STOP, POP, TUPLE, REDUCE, BUILD = b"(", b".", b"0", b"t", b"R", b"b"
EMPTY_DICT, EMPTY_TUPLE, NONE = b"}", b")", b"N"
TUPLE1, STACK_GLOBAL, MEMOIZE = b"\x85", b"\x93", b"\x94"


def glob(module, name):
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def u(text):
    data = text.encode()
    return b"X" + struct.pack("<I", len(data)) + data


def short_u(text):
    data = text.encode()
    return b"\x8c" + bytes([len(data)]) + data


def put(i):
    return b"q" + bytes([i])


def get(i):
    return b"h" + bytes([i])


def call(module, name, *args, proto=PROTO2):
    """module.name(*args) with string arguments, ending in STOP."""
    return proto + glob(module, name) + MARK + b"".join(u(a) for a in args) + TUPLE + REDUCE + STOP


def zip_bytes(members, compression=zipfile.ZIP_STORED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            info.compress_type = compression
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
    return buf.getvalue()


def torch_bytes(make, **kwargs):
    """torch.save of make() (built after seeding, so weights are the same every run)."""
    seed()
    obj = make() if callable(make) else make
    buf = io.BytesIO()
    torch.save(obj, buf, **kwargs)
    data = buf.getvalue()
    if kwargs.get("_use_new_zipfile_serialization") is False:
        data = renumber_legacy_keys(data)
    return data


def renumber_legacy_keys(data):
    """The legacy writer names storages by memory address and orders their data by that name.

    Rename them "0", "1", ... in order of first use and reorder the raw data to match, so the
    file is the same on every run. (The corpus only saves float32 tensors this way.)
    """
    ends = [0]
    for _ in range(5):
        ends.append(ends[-1] + first_pickle_end(data[ends[-1]:]))
    object_pickle = data[ends[3]:ends[4]]
    old_keys = [arg for op, arg, _ in pickletools.genops(data[ends[4]:ends[5]]) if op.name == "BINUNICODE"]
    key_op = {key: b"X" + struct.pack("<I", len(key)) + key.encode() for key in old_keys}
    first_use = sorted(old_keys, key=lambda key: object_pickle.index(key_op[key]))
    blocks, pos = {}, ends[5]
    for key in old_keys:
        numel = struct.unpack_from("<q", data, pos)[0]
        blocks[key] = data[pos : pos + 8 + 4 * numel]
        pos += 8 + 4 * numel
    assert pos == len(data), "legacy storages are not all float32"
    for rank, key in enumerate(first_use):
        object_pickle = object_pickle.replace(key_op[key], b"X" + struct.pack("<I", len(str(rank))) + str(rank).encode())
    keys_pickle = pickle.dumps([str(rank) for rank in range(len(first_use))], protocol=2)
    return data[: ends[3]] + object_pickle + keys_pickle + b"".join(blocks[k] for k in first_use)


def first_pickle_end(data):
    for opcode, _arg, pos in pickletools.genops(data):
        if opcode.name == "STOP":
            return pos + 1
    raise ValueError("no STOP")


def safetensors(header, data, raw_header=None):
    text = raw_header if raw_header is not None else json.dumps(header, separators=(",", ":"))
    encoded = text.encode()
    encoded += b" " * ((8 - len(encoded) % 8) % 8)
    return struct.pack("<Q", len(encoded)) + encoded + data


def gguf_string(text):
    data = text.encode()
    return struct.pack("<Q", len(data)) + data


def gguf(kvs, tensors, tensor_count=None, alignment=32):
    """kvs: [(key, type, value_bytes)], tensors: [(name, dims, ggml_type, data)]."""
    out = b"GGUF" + struct.pack("<I", 3)
    out += struct.pack("<QQ", len(tensors) if tensor_count is None else tensor_count, len(kvs))
    for key, vtype, value in kvs:
        out += gguf_string(key) + struct.pack("<I", vtype) + value
    offset = 0
    blobs = b""
    for name, dims, gtype, data in tensors:
        out += gguf_string(name) + struct.pack("<I", len(dims)) + b"".join(struct.pack("<Q", d) for d in dims)
        out += struct.pack("<IQ", gtype, offset)
        padded = data + b"\0" * ((alignment - len(data) % alignment) % alignment)
        blobs += padded
        offset += len(padded)
    out += b"\0" * ((alignment - len(out) % alignment) % alignment)
    return out + blobs


def gguf_str_value(text):
    return gguf_string(text)


def npy_bytes(array, allow_pickle=False):
    buf = io.BytesIO()
    np.save(buf, array, allow_pickle=allow_pickle)
    return buf.getvalue()


# --- zip surgery for M18 ----------------------------------------------------------------------------


def central_offset(data, name):
    """Offset of the central directory record for `name`."""
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:
        nlen, elen, clen = struct.unpack_from("<HHH", data, pos + 28)
        if data[pos + 46 : pos + 46 + nlen] == name.encode():
            return pos
        pos = data.find(b"PK\x01\x02", pos + 46 + nlen + elen + clen)
    raise KeyError(name)


def local_offset(data, name):
    return struct.unpack_from("<I", data, central_offset(data, name) + 42)[0]


# ==================================================================================================


def benign():
    data = {
        "a": [1, 2.5, "s", b"xy", b""],
        "s": {1, 2},
        "fs": frozenset([3]),
        "t": (1, 2),
        "c": complex(1, 2),
        "ba": bytearray(b"q"),
        "n": None,
        "big": 2**100,
        "nested": {"x": [[1], [2, [3]]]},
    }
    for proto in (0, 2, 4, 5):
        write("B1", f"b1-data-proto{proto}.pkl", pickle.dumps(data, protocol=proto), "SAFE",
              f"plain data (dict, list, str, int, float, bytes, set, tuple, complex) pickled at protocol {proto}")

    write("B2", "b2-state-dict.pt", torch_bytes(lambda: nn.Linear(4, 2).state_dict()), "SAFE",
          "torch.save(nn.Linear(4,2).state_dict()), the default zip format")
    write("B3", "b3-legacy.pt", torch_bytes(lambda: nn.Linear(4, 2).state_dict(), _use_new_zipfile_serialization=False),
          "SAFE", "the same state dict in torch's legacy format (stacked pickles + raw storages)")
    seed()
    rng = {"np": np.random.get_state(), "t": torch.get_rng_state(), "py": random.getstate()}
    write("B4", "b4-rng_state.pth", torch_bytes(rng), "SAFE",
          "rng_state.pth shape: numpy RNG state (_reconstruct, ndarray, dtype), torch ByteStorage, python random state")
    write("B5", "b5-whole-module.pt", torch_bytes(lambda: nn.Linear(4, 2)), "WARN",
          "torch.save(nn.Linear(4,2)): the whole module, imports torch.nn.modules.linear.Linear", ["UNKNOWN_IMPORT"])

    write("B6", "b6-numeric.npy", npy_bytes(np.arange(12, dtype=np.float32).reshape(3, 4)), "SAFE", "numeric .npy")
    write("B6", "b6-numeric.npz",
          zip_bytes([("a.npy", npy_bytes(np.arange(5, dtype=np.int64))), ("b.npy", npy_bytes(np.ones((2, 2))))],
                    zipfile.ZIP_DEFLATED),
          "SAFE", "numeric .npz (np.savez_compressed layout, fixed dates)")
    write("B6", "b6-object.npy", npy_bytes(np.array([1, "two", 3], dtype=object), allow_pickle=True), "SAFE",
          "object .npy of ints and strings: a pickle with numpy globals only")

    tensors = {
        "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
        "b": {"dtype": "I64", "shape": [3], "data_offsets": [16, 40]},
        "__metadata__": {"format": "pt", "note": "corpus"},
    }
    write("B7", "b7-model.safetensors", safetensors(tensors, bytes(range(40))), "SAFE",
          "valid safetensors: 2 tensors and __metadata__")
    write("B7", "b7-model.gguf",
          gguf([("general.architecture", 8, gguf_str_value("llama"))], [("t", [4], 0, struct.pack("<4f", 1, 2, 3, 4))]),
          "SAFE", "minimal GGUF v3: general.architecture and one aligned F32 tensor")

    # More benign shapes the scanner must not flag.
    shard_a = safetensors({"x": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}}, b"\0" * 4)
    shard_b = safetensors({"y": {"dtype": "U8", "shape": [0], "data_offsets": [0, 0]},
                           "z": {"dtype": "BF16", "shape": [], "data_offsets": [0, 2]}}, b"\0" * 2)
    os.makedirs(os.path.join(OUT, "b8-sharded"), exist_ok=True)
    write("B8", "b8-sharded/model-00001-of-00002.safetensors", shard_a, "SAFE", "shard 1 of a sharded checkpoint")
    write("B8", "b8-sharded/model-00002-of-00002.safetensors", shard_b, "SAFE",
          "shard 2: an empty tensor and a scalar")
    index = {"metadata": {"total_size": 6}, "weight_map": {
        "x": "model-00001-of-00002.safetensors", "y": "model-00002-of-00002.safetensors",
        "z": "model-00002-of-00002.safetensors"}}
    write("B8", "b8-sharded/model.safetensors.index.json", json.dumps(index, indent=2).encode(), "SAFE",
          "index whose weight_map matches the shards")
    write("B8", "b8-sharded/config.json",
          json.dumps({"architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 8}).encode(),
          "SAFE", "a Hugging Face config.json")
    template = ("{% for message in messages %}{{ '<|' + message['role'] + '|>' + message['content'] }}"
                "{% endfor %}{% if add_generation_prompt %}{{ '<|assistant|>' }}{% endif %}")
    write("B8", "b8-sharded/tokenizer_config.json", json.dumps({"chat_template": template}).encode(), "SAFE",
          "tokenizer_config.json with an ordinary chat template")
    keras_config = {"module": "keras", "class_name": "Sequential", "config": {"name": "s", "layers": [
        {"module": "keras.layers", "class_name": "Dense", "config": {"units": 2}, "registered_name": None}]}}
    write("B9", "b9-dense.keras", zip_bytes([
        ("metadata.json", json.dumps({"keras_version": "3.3.3"}).encode()),
        ("config.json", json.dumps(keras_config).encode()),
        ("model.weights.h5", b"\x89HDF\r\n\x1a\n" + b"\0" * 56)]), "SAFE", ".keras with a Dense layer only")

    seed()
    script = io.BytesIO()
    torch.jit.save(torch.jit.script(nn.Linear(2, 2)), script)
    write("B10", "b10-torchscript.pt", script.getvalue(), "WARN",
          "torch.jit.save of a scripted nn.Linear: __torch__ classes and torch.jit._pickle builders are TorchScript's "
          "own; the archive's code/ is flagged", ["TORCHSCRIPT_CODE"])
    misc = {"factory": collections.defaultdict(list), "args": argparse.Namespace(lr=0.1), "opt": [1.0, True]}
    write("B11", "b11-trainer-state.pt", torch_bytes(misc), "WARN",
          "trainer-like state: defaultdict(list) and argparse.Namespace are unknown classes (WARN), builtins.list is data",
          ["UNKNOWN_IMPORT"])


def malicious():
    m1 = pickle.dumps(Evil(), protocol=0)
    write("M1", "m1-os-system-proto0.pkl", m1, "MALICIOUS",
          "__reduce__ -> os.system('true') at protocol 0 (GLOBAL posix system)", ["DENYLISTED_IMPORT", "UNSAFE_CALL"])
    write("M2", "m2-eval-proto2.pkl", pickle.dumps(EvilEval(), protocol=2), "MALICIOUS",
          "eval('1') at protocol 2: GLOBAL __builtin__ eval, renamed to builtins", ["DENYLISTED_IMPORT"])
    write("M3", "m3-exec-proto4.pkl", pickle.dumps(EvilExec(), protocol=4), "MALICIOUS",
          "exec('pass') at protocol 4: STACK_GLOBAL with MEMOIZEd strings", ["DENYLISTED_IMPORT"])
    write("M3", "m3-exec-proto5.pkl", pickle.dumps(EvilExec(), protocol=5), "MALICIOUS",
          "exec('pass') at protocol 5", ["DENYLISTED_IMPORT"])

    m4 = (PROTO4 + b"V" + b"torch\n" + b"p0\n" + POP + b"V" + b"LongStorage\n" + b"p1\n" + POP
          + b"Vos\np2\n" + POP + b"Vsystem\np3\n" + POP
          + b"g2\ng3\n" + STACK_GLOBAL + b"(Vtrue\ntR.")
    write("M4", "m4-memo-decoys.pkl", m4, "MALICIOUS",
          "memo written by PUT out of order with POPs, decoy torch/LongStorage strings, GET 2/GET 3 STACK_GLOBAL",
          ["DENYLISTED_IMPORT"])

    m5 = (PROTO4 + glob("collections", "namedtuple") + MARK + NONE + EMPTY_DICT + u("a") + u("os") + b"s"
          + u("b") + u("system") + b"s" + TUPLE + BUILD + POP
          + glob("collections", "namedtuple.a") + glob("collections", "namedtuple.b") + STACK_GLOBAL
          + MARK + u("true") + TUPLE + REDUCE + STOP)
    write("M5", "m5-attribute-laundering.pkl", m5, "MALICIOUS",
          "BUILD sets namedtuple.a='os', .b='system'; dotted GLOBALs feed STACK_GLOBAL (modelscan#85)",
          ["MUTATES_IMPORT", "DOTTED_IMPORT", "COMPUTED_IMPORT"])

    write("M6", "m6-inst.pkl", b"(S'true'\nios\nsystem\n.", "MALICIOUS", "INST opcode at protocol 0: os.system",
          ["DENYLISTED_IMPORT"])
    write("M6", "m6-obj-popped.pkl", PROTO2 + MARK + glob("smtplib", "SMTP") + u("localhost") + b"o" + POP + NONE + STOP,
          "MALICIOUS", "OBJ call whose result is POPped (fickling GHSA-mxhj-88fx-4pcv)", ["DENYLISTED_IMPORT"])

    m7 = (b"c__builtin__\neval\n(c__builtin__\ncompile\n(S'1+1'\nS'<x>'\nS'eval'\ntRtR0"
          b"c__builtin__\ngetattr\n(c__builtin__\n__import__\n(S'os'\ntRS'getcwd'\ntR(tR.")
    write("M7", "m7-sour-pickles.pkl", m7, "MALICIOUS",
          "protocol 0 chain through __builtin__ compile, eval, getattr and __import__ (Sour Pickles)",
          ["DENYLISTED_IMPORT"])

    m8 = (PROTO2 + glob("__builtin__", "getattr") + put(0) + glob("__builtin__", "__import__") + put(1)
          + POP + POP + get(0) + MARK + get(1) + MARK + u("os") + TUPLE + REDUCE + u("system") + TUPLE + REDUCE
          + MARK + u("true") + TUPLE + REDUCE + STOP)
    write("M8", "m8-import-getattr-memo.pkl", m8, "MALICIOUS",
          "builtins __import__ and getattr through the memo, ending in os.system (fickling GHSA-h4rm)",
          ["DENYLISTED_IMPORT"])

    write("M9", "m9-dotted-stack-global.pkl",
          PROTO4 + short_u("pathlib") + short_u("os.system") + STACK_GLOBAL + MARK + u("true") + TUPLE + REDUCE + STOP,
          "MALICIOUS", "STACK_GLOBAL ('pathlib', 'os.system'): a dotted name walks into os", ["DOTTED_IMPORT"])
    write("M9", "m9-dotted-global.pkl", call("pathlib", "os.system", "true", proto=PROTO4), "MALICIOUS",
          "PROTO 4 then GLOBAL 'pathlib os.system'", ["DOTTED_IMPORT"])

    write("M10", "m10-commands-getoutput.pkl", call("commands", "getoutput", "true"), "MALICIOUS",
          "Py2 name commands.getoutput at protocol 2, loaded as subprocess.getoutput", ["DENYLISTED_IMPORT"])
    write("M10", "m10-cpickle-loads.pkl", call("cPickle", "loads", "x"), "MALICIOUS",
          "Py2 name cPickle.loads, loaded as pickle.loads", ["NESTED_LOADER"])

    gadgets = [
        ("runpy", "_run_code", ["pass", "{}"]),
        ("timeit", "timeit", ["pass"]),
        ("cProfile", "run", ["pass"]),
        ("pydoc", "pipepager", ["x", "true"]),
        ("pkgutil", "resolve_name", ["os:system"]),
        ("importlib", "import_module", ["os"]),
        ("operator", "methodcaller", ["system", "true"]),
        ("asyncio.subprocess", "create_subprocess_shell", ["true"]),
        ("_io", "FileIO", ["/dev/null"]),
        ("uuid", "_get_command_stdout", ["true"]),
    ]
    for module, name, args in gadgets:
        write("M11", f"m11-{module.replace('.', '-')}-{name.strip('_')}.pkl", call(module, name, *args), "MALICIOUS",
              f"gadget {module}.{name}")
    partial = (PROTO2 + glob("functools", "partial") + glob("posix", "system") + TUPLE1 + REDUCE
               + MARK + u("true") + TUPLE + REDUCE + STOP)
    write("M11", "m11-functools-partial.pkl", partial, "MALICIOUS", "functools.partial(os.system)('true')",
          ["DENYLISTED_IMPORT", "CALL_ON_COMPUTED"])

    inner = m1
    nested = PROTO2 + glob("pickle", "loads") + b"C" + bytes([len(inner)]) + inner + TUPLE1 + REDUCE + STOP
    write("M12", "m12-pickle-loads.pkl", nested, "MALICIOUS", "pickle.loads(<M1 bytes>): a nested pickle",
          ["NESTED_LOADER"])
    torch_partial = (PROTO2 + glob("functools", "partial") + glob("torch", "load") + TUPLE1 + REDUCE
                     + MARK + u("weights.pt") + TUPLE + REDUCE + STOP)
    write("M12", "m12-torch-load-partial.pkl", torch_partial, "MALICIOUS", "torch.load through functools.partial",
          ["NESTED_LOADER"])

    write("M13", "m13-benign-then-evil.pkl", pickle.dumps({"ok": 1}, protocol=2) + m1, "MALICIOUS",
          "a benign pickle followed by M1 in the same file", ["DENYLISTED_IMPORT"])
    write("M13", "m13-evil-then-garbage.pkl", m1 + b"\n\n\t\t", "MALICIOUS", "M1 followed by garbage bytes",
          ["DENYLISTED_IMPORT", "TRAILING_DATA"])

    write("M14", "m14-no-stop.pkl", m1[:-1], "MALICIOUS", "M1 with STOP removed: the call still runs",
          ["DENYLISTED_IMPORT", "PICKLE_PARSE_ERROR"])
    write("M14", "m14-invalid-byte.pkl", m1[:-1] + b"\xff", "MALICIOUS", "REDUCE followed by the invalid byte 0xff",
          ["DENYLISTED_IMPORT", "PICKLE_PARSE_ERROR"])

    copyreg.add_extension("posix", "system", 240)
    try:
        m15 = pickle.dumps(Evil(), protocol=2)
    finally:
        copyreg.remove_extension("posix", "system", 240)
    assert b"\x82\xf0" in m15
    write("M15", "m15-ext1.pkl", m15, "MALICIOUS", "EXT1 240 registered as posix.system", ["EXT_OPCODE"])

    hidden = glob("posix", "system") + MARK + u("true") + TUPLE + REDUCE + STOP
    frame = (PROTO4 + b"\x95" + struct.pack("<Q", 2) + b"B" + struct.pack("<I", 0x107)
             + hidden + b"\0" * (0x107 - len(hidden)) + NONE + STOP)
    write("M16", "m16-frame-lie.pkl", frame, "MALICIOUS",
          "FRAME says 2 bytes, BINBYTES says 0x107: the opcode straddles the frame end", ["FRAME_VIOLATION"])

    seed()
    weights = torch.randn(2, 2)
    m17 = torch_bytes({"w": weights, "x": Evil()})
    write("M17", "m17-torch-zip.pt", m17, "MALICIOUS", "torch zip whose data.pkl reduces to os.system",
          ["DENYLISTED_IMPORT"])
    write("M17", "m17-torch-zip-proto4.pt", torch_bytes({"w": weights, "x": EvilExec()}, pickle_protocol=4),
          "MALICIOUS", "torch zip at pickle protocol 4: STACK_GLOBAL + MEMOIZE to builtins.exec", ["DENYLISTED_IMPORT"])

    name = "archive/data.pkl"
    bad_crc = bytearray(m17)
    c = central_offset(m17, name)
    struct.pack_into("<I", bad_crc, c + 16, struct.unpack_from("<I", m17, c + 16)[0] ^ 0xFFFFFFFF)
    write("M18", "m18a-bad-crc.pt", bytes(bad_crc), "MALICIOUS", "M17 with the data.pkl CRC corrupted",
          ["ZIP_BAD_CRC", "DENYLISTED_IMPORT"])
    flagged = bytearray(m17)
    lo = local_offset(m17, name)
    struct.pack_into("<H", flagged, lo + 6, struct.unpack_from("<H", m17, lo + 6)[0] | 1)
    struct.pack_into("<H", flagged, c + 8, struct.unpack_from("<H", m17, c + 8)[0] | 1)
    write("M18", "m18b-encrypted-flag.pt", bytes(flagged), "MALICIOUS", "M17 with flag bit 0x1 in both headers",
          ["ZIP_ENCRYPTED_FLAG", "DENYLISTED_IMPORT"])
    renamed = bytearray(m17)
    renamed[lo + 30 : lo + 30 + len(name)] = b"archive/datap.kl"
    write("M18", "m18c-name-mismatch.pt", bytes(renamed), "MALICIOUS",
          "M17 with data.pkl renamed datap.kl in the local header only", ["ZIP_NAME_MISMATCH", "DENYLISTED_IMPORT"])
    benign_zip = zipfile.ZipFile(io.BytesIO(torch_bytes({"w": weights})))
    evil_zip = zipfile.ZipFile(io.BytesIO(m17))
    members = [(i.filename, benign_zip.read(i)) for i in benign_zip.infolist()]
    members.append((name, evil_zip.read(name)))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write("M18", "m18d-duplicate-entry.pt", zip_bytes(members), "MALICIOUS",
              "two archive/data.pkl entries, a benign one then an evil one", ["ZIP_DUPLICATE_NAME", "DENYLISTED_IMPORT"])

    write("M19", "m19-weights.bin", m1, "MALICIOUS", "M1 saved as weights.bin", ["DENYLISTED_IMPORT"])
    write("M19", "m19-notes.txt", m1, "MALICIOUS", "M1 saved as notes.txt", ["DENYLISTED_IMPORT"])
    write("M19", "m19-noextension", m1, "MALICIOUS", "M1 with no extension", ["DENYLISTED_IMPORT"])
    write("M19", "m19-zip-payload-txt.zip", zip_bytes([("readme.md", b"# hi\n"), ("payload.txt", m1)]), "MALICIOUS",
          "M1 inside a zip as payload.txt", ["DENYLISTED_IMPORT"])

    legacy = torch_bytes({"w": weights, "x": Evil()}, _use_new_zipfile_serialization=False)
    write("M20", "m20-legacy-fourth-pickle.pt", legacy, "MALICIOUS", "legacy torch file, payload in the 4th pickle",
          ["DENYLISTED_IMPORT"])
    benign_legacy = torch_bytes({"w": weights}, _use_new_zipfile_serialization=False)
    magic_by_eval = PROTO2 + glob("__builtin__", "eval") + u("0x1950A86A20F9469CFC6C") + TUPLE1 + REDUCE + STOP
    write("M20", "m20-legacy-magic-eval.pt", magic_by_eval + benign_legacy[first_pickle_end(benign_legacy):],
          "MALICIOUS", "legacy torch file whose magic number is computed by eval (GHSA-97f8-7cmv-76j2)",
          ["DENYLISTED_IMPORT"])

    write("M21", "m21-pickle-zip-polyglot.pt", m1 + zip_bytes([("a.txt", b"hello")]), "MALICIOUS",
          "M1 followed by a benign zip: zipfile.is_zipfile says yes, torch.load unpickles M1", ["POLYGLOT"])

    evil_npy = npy_bytes(np.array([1, Evil()], dtype=object), allow_pickle=True)
    write("M22", "m22-object.npy", evil_npy, "MALICIOUS", ".npy object array holding an os.system reducer",
          ["DENYLISTED_IMPORT"])
    write("M22", "m22-object.npz", zip_bytes([("ok.npy", npy_bytes(np.zeros(3))), ("evil.npy", evil_npy)],
                                              zipfile.ZIP_DEFLATED),
          "MALICIOUS", ".npz containing it", ["DENYLISTED_IMPORT"])

    code = compile("lambda x: x", "<lambda>", "eval").co_consts[0]
    lambda_config = {"module": "keras", "class_name": "Sequential", "config": {"layers": [
        {"module": "keras.layers", "class_name": "Lambda", "config": {"name": "l", "function": {
            "class_name": "__lambda__", "config": {"code": base64.b64encode(marshal.dumps(code)).decode(),
                                                   "defaults": None, "closure": None}}}}]}}
    write("M23", "m23-lambda.keras", zip_bytes([
        ("metadata.json", json.dumps({"keras_version": "3.3.3"}).encode()),
        ("config.json", json.dumps(lambda_config).encode())]), "MALICIOUS",
          ".keras whose Lambda holds marshalled bytecode (CVE-2024-3660)", ["KERAS_LAMBDA_BYTECODE"])
    unsafe_config = {"module": "keras", "class_name": "Sequential", "config": {"layers": [
        {"module": "keras.layers", "class_name": "Lambda", "config": {"name": "l", "function": {
            "module": "keras.config", "class_name": "function", "config": "enable_unsafe_deserialization",
            "registered_name": "function"}}}]}}
    write("M23", "m23-unsafe-module.keras", zip_bytes([
        ("metadata.json", json.dumps({"keras_version": "3.3.3"}).encode()),
        ("config.json", json.dumps(unsafe_config).encode())]), "MALICIOUS",
          ".keras referencing keras.config.enable_unsafe_deserialization (CVE-2025-9906)", ["KERAS_UNSAFE_MODULE"])

    ssti = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
    write("M24", "m24-chat-template.gguf", gguf([
        ("general.architecture", 8, gguf_str_value("llama")),
        ("tokenizer.chat_template", 8, gguf_str_value(ssti))], [("t", [4], 0, b"\0" * 16)]), "MALICIOUS",
          "GGUF whose tokenizer.chat_template reaches __subclasses__ (CVE-2024-34359)", ["CHAT_TEMPLATE_INJECTION"])

    t2 = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
    header = json.dumps({"a": t2}, separators=(",", ":")).encode()
    broken = [
        ("n-past-end", struct.pack("<Q", 1000) + header, "SAFETENSORS_TRUNCATED", "header length larger than the file"),
        ("n-over-cap", struct.pack("<Q", 200_000_000) + header, "SAFETENSORS_HEADER_TOO_LARGE", "header length > 100 MB"),
        ("overlap", safetensors({"a": t2, "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\0" * 12),
         "SAFETENSORS_OVERLAP", "offsets overlap"),
        ("gap", safetensors({"a": t2, "b": {"dtype": "F32", "shape": [2], "data_offsets": [12, 20]}}, b"\0" * 20),
         "SAFETENSORS_GAP", "a gap between tensors"),
        ("trailing-byte", safetensors({"a": t2}, b"\0" * 9), "SAFETENSORS_TRAILING_DATA", "one trailing byte"),
        ("size-mismatch", safetensors({"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8),
         "SAFETENSORS_SIZE_MISMATCH", "shape x dtype size differs from the span"),
        ("duplicate-key", safetensors(None, b"\0" * 8,
                                      raw_header='{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},'
                                                 '"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'),
         "SAFETENSORS_DUPLICATE_KEY", "a duplicate tensor key"),
        ("metadata-number", safetensors({"__metadata__": {"x": 1}, "a": t2}, b"\0" * 8), "SAFETENSORS_BAD_METADATA",
         "__metadata__ with a number value"),
        ("unknown-dtype", safetensors({"a": {"dtype": "F128", "shape": [1], "data_offsets": [0, 16]}}, b"\0" * 16),
         "SAFETENSORS_UNKNOWN_DTYPE", "an unknown dtype"),
    ]
    for label, data, code, description in broken:
        write("M25", f"m25-{label}.safetensors", data, "INVALID", f"broken safetensors: {description}", [code])

    write("M26", "m26-dup-flood.pkl", PROTO2 + NONE + b"2" * 1_000_000 + STOP, "MALICIOUS",
          "about a million DUP opcodes", ["PICKLE_EXPANSION"])
    write("M26", "m26-deep-nesting.pkl", PROTO2 + b"]" * 10_000 + b"a" * 9_999 + STOP, "MALICIOUS",
          "lists nested 10,000 deep", ["PICKLE_LIMIT"])
    laughs = PROTO2 + b"]" + put(0) + MARK + NONE * 10 + b"e" + POP
    for level in range(1, 10):
        laughs += b"]" + put(level) + MARK + get(level - 1) * 10 + b"e" + POP
    laughs += get(9) + STOP
    write("M26", "m26-billion-laughs.pkl", laughs, "MALICIOUS",
          "GET/PUT blow-up: 9 levels of lists holding the previous level 10 times", ["PICKLE_EXPANSION"])
    write("M26", "m26-gguf-2e60-tensors.gguf",
          gguf([("general.architecture", 8, gguf_str_value("llama"))], [], tensor_count=2**60), "INVALID",
          "GGUF claiming 2^60 tensors", ["GGUF_MALFORMED"])


def extra():
    write("X1", "x1-numpy-builtins.pkl",
          PROTO4 + short_u("numpy") + short_u("__builtins__") + STACK_GLOBAL + POP + NONE + STOP, "MALICIOUS",
          "STACK_GLOBAL numpy.__builtins__ (modelscan#330)", ["DUNDER_IMPORT"])
    write("X2", "x2-reexported-system.pkl", call("somepkg.helpers", "system", "true"), "MALICIOUS",
          "system re-exported by an unknown module: no module denylist has it", ["DANGEROUS_NAME_IMPORT"])
    write("X3", "x3-collect-env.pkl", call("torch.utils.collect_env", "run", "true"), "MALICIOUS",
          "torch.utils.collect_env.run (modelscan#338)", ["DENYLISTED_IMPORT"])
    memo = (PROTO4 + short_u("system") + put(0) + POP + short_u("torch") + put(5) + POP
            + short_u("os") + MEMOIZE + POP + get(2) + get(0) + STACK_GLOBAL + MARK + u("true") + TUPLE + REDUCE + STOP)
    write("X4", "x4-memoize-index.pkl", memo, "MALICIOUS",
          "MEMOIZE writes index len(memo)=2, not the count of MEMOIZEs", ["DENYLISTED_IMPORT"])

    m1 = pickle.dumps(Evil(), protocol=0)
    visible = zip_bytes([("archive/version", b"3\n")])
    hidden_entry = zip_bytes([("archive/data.pkl", m1)])
    # Splice the hidden entry's local header + data in front of the visible archive's, keeping the
    # visible central directory (offsets shift by the spliced length).
    cd_start = struct.unpack_from("<I", visible, len(visible) - 6)[0]
    hidden_local = hidden_entry[: struct.unpack_from("<I", hidden_entry, len(hidden_entry) - 6)[0]]
    rebuilt = bytearray(hidden_local + visible)
    c = len(hidden_local) + cd_start
    struct.pack_into("<I", rebuilt, c + 42, struct.unpack_from("<I", rebuilt, c + 42)[0] + len(hidden_local))
    struct.pack_into("<I", rebuilt, len(rebuilt) - 6, cd_start + len(hidden_local))
    write("X5", "x5-hidden-zip-entry.zip", bytes(rebuilt), "MALICIOUS",
          "a zip entry present only as a local header (missing from the central directory)",
          ["ZIP_HIDDEN_ENTRY", "DENYLISTED_IMPORT"])

    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for member, data in [("sys_info", pickle.dumps({"protocol_version": 1001}, protocol=2)),
                             ("pickle", m1), ("storages", pickle.dumps(0, protocol=2) + pickle.dumps([], protocol=2)),
                             ("tensors", pickle.dumps(0, protocol=2))]:
            info = tarfile.TarInfo(member)
            info.size = len(data)
            info.mtime = 0
            info.uname = info.gname = ""
            t.addfile(info, io.BytesIO(data))
    write("X6", "x6-legacy-tar.pt", tar.getvalue(), "MALICIOUS",
          "torch v0.1.1 tar whose 'pickle' member is M1", ["DENYLISTED_IMPORT"])
    write("X7", "x7-gzipped.pkl.gz", gzip.compress(m1, mtime=0), "MALICIOUS", "gzip-compressed M1 (joblib style)",
          ["DENYLISTED_IMPORT"])
    h5_config = json.dumps({"class_name": "Sequential", "config": {"layers": [
        {"class_name": "Lambda", "config": {"function": "x", "function_type": "raw"}}]}}).encode()
    write("X8", "x8-lambda.h5", b"\x89HDF\r\n\x1a\n" + b"\0" * 64 + b"model_config\0" + h5_config + b"\0" * 64,
          "MALICIOUS", "HDF5 Keras model with a Lambda layer (HDF5 ignores safe_mode, CVE-2025-9905)", ["KERAS_LAMBDA"])
    write("X9", "x9-tokenizer_config.json",
          json.dumps({"chat_template": "{{ cycler.__init__.__globals__.os.popen('true').read() }}"}).encode(),
          "MALICIOUS", "tokenizer_config.json chat_template reaching os.popen", ["CHAT_TEMPLATE_INJECTION"])
    write("X10", "x10-nested-zip.zip", zip_bytes([("inner.zip", zip_bytes([("data.pkl", m1)]))]), "MALICIOUS",
          "a zip inside a zip holding M1", ["DENYLISTED_IMPORT"])
    write("X11", "x11-build-on-global.pkl",
          PROTO2 + glob("collections", "OrderedDict") + EMPTY_DICT + u("x") + u("y") + b"s" + BUILD + POP + NONE + STOP,
          "MALICIOUS", "BUILD sets attributes on an imported class itself (attribute injection)", ["MUTATES_IMPORT"])
    write("X12", "x12-computed-callee.pkl",
          PROTO2 + glob("collections", "OrderedDict") + EMPTY_TUPLE + REDUCE + EMPTY_TUPLE + REDUCE + STOP,
          "MALICIOUS", "REDUCE on the result of a call (a callable produced at load time)", ["CALL_ON_COMPUTED"])


def main():
    if os.path.isdir(OUT):
        shutil.rmtree(OUT)
    os.makedirs(OUT)
    benign()
    malicious()
    extra()
    manifest = {
        "generator": "test/scan/make_corpus.py",
        "torch": torch.__version__,
        "numpy": np.__version__,
        "python": ".".join(map(str, sys.version_info[:3])),
        "cases": MANIFEST,
    }
    with open(os.path.join(OUT, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=2, sort_keys=False)
        f.write("\n")
    print(f"wrote {len(MANIFEST)} files to {OUT}")


if __name__ == "__main__":
    main()
