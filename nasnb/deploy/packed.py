"""A compact deployment file for a cell network, float32 or int8: one header, one buffer of numbers.

For the course's small networks the file format costs more than the numbers: ``torch.save`` writes
each tensor as its own zip record with pickle entries, and an int8 layer adds a scale and a zero
point of its own, so an int8 file at 8 channels was 42 kB for 15.5 kB of tensors, only 1.7x smaller
than float32 (``benchmarks/bench_int8.py``). A packed file holds

    b"NASNBPK" + version byte | header length (uint32, little endian) | zlib(JSON header) | buffer

The header says how to rebuild the network (space, architecture, input shape, classes, network
options, and for int8 the engine and pooling) and indexes the state dict: every tensor's dtype,
shape and place in the buffer; per-tensor scales, zero points and other scalars sit in the header
as numbers. The buffer is all tensors back to back, each stored in the narrowest dtype that holds
it exactly (int64 zero points as int8, float64 per-channel scales as float32 when no bit is lost).
The same rules apply to float32 and int8 models, so their file sizes compare like for like.

``load_packed`` rebuilds the network (for int8: the same FX conversion, then the saved scales) and
loads the state dict; outputs equal the saved model's exactly (tested).

A float32 model whose layers a compression technique changed (structured pruning's narrower
channels, low rank's pairs of thinner layers) no longer fits the network its architecture builds.
``pack(..., changed_layers=True)`` also writes those layers' constructor arguments into the header
(``packed_layers.py``), and ``load_packed`` puts them into the rebuilt network before loading the
tensors. It is opt-in: by default a model that does not fit its description stays an error at load
time, so a wrong description is caught rather than written around.
"""

from __future__ import annotations

import json
import math
import os
import struct
import zlib
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

MAGIC = b"NASNBPK"
VERSION = 1
_PREFIX = struct.Struct("<8sI")  # magic + version byte, header length
_DTYPES = {
    str(d).removeprefix("torch."): d
    for d in (
        torch.float64,
        torch.float32,
        torch.float16,
        torch.bfloat16,
        torch.int64,
        torch.int32,
        torch.int16,
        torch.int8,
        torch.uint8,
        torch.bool,
        torch.qint8,
        torch.quint8,
        torch.qint32,
    )
}
_INT_REPR = {torch.qint8: torch.int8, torch.quint8: torch.uint8, torch.qint32: torch.int32}
MODEL_KEYS = ("space", "arch", "input_shape", "num_classes", "network")


class PackedFormatError(ValueError):
    """A file is not a packed nasnb model, or is damaged; the message names the file and what to do."""


def model_description(arch: Any, input_shape: Any, num_classes: int, **network: Any) -> dict[str, Any]:
    """What a packed file needs to rebuild a network: as in a weights file (``space``, ``arch``, ...)."""
    from ..spaces import space_to_config

    return {
        "space": space_to_config(arch.space),
        "arch": str(arch),
        "input_shape": [int(s) for s in input_shape],
        "num_classes": int(num_classes),
        "network": dict(network),
    }


def pack(model: nn.Module, description: Mapping[str, Any], *, changed_layers: bool = False) -> bytes:
    """The packed file of ``model`` (float32, or int8 from ``nasnb.compress.to_int8``) as bytes.

    ``description`` says how to rebuild it: ``model_description(...)`` or a weights record
    (``TrainedModel.record``); only its ``space``, ``arch``, ``input_shape``, ``num_classes`` and
    ``network`` are kept. ``changed_layers=True`` (float32 only) also describes the layers that differ
    from the network ``description`` builds, for a pruned or factorised model; TypeError if a
    difference is not one of convolutions, BatchNorms, linear layers or sequences of them.
    """
    from ..compress.pooling import pooling_kind

    missing = [k for k in MODEL_KEYS if k not in description]
    if missing:
        raise ValueError(f"description lacks {missing}; build it with nasnb.deploy.packed.model_description(...)")
    state = model.state_dict()
    int8 = any(_is_quantised(v) for v in state.values())
    layers = {}
    if changed_layers and not int8:
        from .packed_layers import layer_changes

        layers = layer_changes(model, _network(description, "the description"))
    buffer = bytearray()
    entries = [[name, _encode(value, buffer)] for name, value in state.items()]
    header = {
        "format": "nasnb-packed",
        "model": {k: description[k] for k in MODEL_KEYS},
        "int8": {"engine": torch.backends.quantized.engine} if int8 else None,
        "pooling": pooling_kind(model),
        "entries": entries,
        "versions": _versions(state),
    }
    if layers:  # absent otherwise, so files of unchanged models stay as they were
        header["layers"] = layers
    compressed = zlib.compress(json.dumps(header, separators=(",", ":")).encode("utf-8"), 9)
    return _PREFIX.pack(MAGIC + bytes([VERSION]), len(compressed)) + compressed + bytes(buffer)


def save_packed(
    path: str | os.PathLike, model: nn.Module, description: Mapping[str, Any], *, changed_layers: bool = False
) -> Path:
    """Write ``pack(model, description, changed_layers=...)`` to ``path``, which must not exist yet; returns it."""
    path = Path(path)
    if path.exists():
        raise FileExistsError(f"{path} exists already; choose another path or delete it first")
    payload = pack(model, description, changed_layers=changed_layers)
    with open(path, "xb") as handle:
        handle.write(payload)
    return path


def load_packed(source: str | os.PathLike | bytes) -> nn.Module:
    """The network in a packed file (a path, or its bytes), rebuilt and in eval mode on the CPU."""
    name = "the given bytes" if isinstance(source, (bytes, bytearray)) else str(source)
    payload = bytes(source) if isinstance(source, (bytes, bytearray)) else Path(source).read_bytes()
    header, buffer = read_header(payload, name)
    state = {}
    for entry in header["entries"]:
        try:
            key, spec = entry
            state[key] = _decode(spec, buffer, name)
        except PackedFormatError:
            raise
        except (KeyError, TypeError, ValueError) as err:
            raise PackedFormatError(f"{name}: damaged index entry {str(entry)[:80]} ({err})") from None
    state = OrderedDict(state)
    state._metadata = {  # each module's state-dict version: quantised layers read their keys by it
        prefix: {"version": int(version) if version != "None" else None}
        for version, prefixes in header.get("versions", {}).items()
        for prefix in prefixes
    }
    model = _skeleton(header, name)
    try:
        model.load_state_dict(state)
    except (RuntimeError, KeyError) as err:
        raise PackedFormatError(
            f"{name}: its tensors do not fit the network its header describes ({str(err)[:300]}); the file is "
            "damaged or was written by another nasnb: export it again"
        ) from None
    return model.eval()


def read_header(payload: bytes, name: str = "the file") -> tuple[dict[str, Any], memoryview]:
    """The decoded header and the tensor buffer of a packed file; PackedFormatError if it is not one."""
    hint = "write one with nasnb.deploy.packed.save_packed (or `nasnb export --format packed`)"
    if len(payload) < _PREFIX.size or not payload.startswith(MAGIC):
        raise PackedFormatError(f"{name} is not a packed nasnb model (it does not start with {MAGIC!r}); {hint}")
    magic, length = _PREFIX.unpack_from(payload)
    if magic[-1] != VERSION:
        raise PackedFormatError(f"{name} is a packed model of format version {magic[-1]}; this nasnb reads {VERSION}")
    if _PREFIX.size + length > len(payload):
        raise PackedFormatError(
            f"{name} is truncated: its header needs {_PREFIX.size + length} bytes, the file has {len(payload)}"
        )
    try:
        header = json.loads(zlib.decompress(payload[_PREFIX.size : _PREFIX.size + length]))
    except (zlib.error, ValueError) as err:
        raise PackedFormatError(f"{name} has a damaged header ({err}); {hint}") from None
    if not isinstance(header, dict) or header.get("format") != "nasnb-packed" or "entries" not in header:
        raise PackedFormatError(f"{name} has no nasnb-packed header; {hint}")
    buffer = memoryview(payload)[_PREFIX.size + length :]
    end = max((_extent(spec) for _, spec in header["entries"]), default=0)
    if end > len(buffer):
        raise PackedFormatError(
            f"{name} is truncated: its index needs {end} bytes of tensors after the header, the file has "
            f"{len(buffer)}; copy the file again"
        )
    return header, buffer


def _versions(state: Mapping[str, Any]) -> dict[str, list[str]]:
    """The state dict's per-module versions (``state._metadata``) as ``{version: [module prefixes]}``."""
    grouped: dict[str, list[str]] = {}
    for prefix, meta in getattr(state, "_metadata", {}).items():
        grouped.setdefault(str(meta.get("version")), []).append(prefix)
    return grouped


def _is_quantised(value: Any) -> bool:
    if isinstance(value, torch.Tensor):
        return value.is_quantized
    if isinstance(value, (tuple, list)):
        return any(_is_quantised(v) for v in value)
    return isinstance(value, torch.dtype) and value in _INT_REPR


def _narrowest(t: torch.Tensor) -> torch.Tensor:
    """``t`` in the smallest dtype that holds every value exactly (the same rule for every model)."""
    if t.dtype == torch.int64 and t.numel():
        lo, hi = int(t.min()), int(t.max())
        for dtype in (torch.int8, torch.int16, torch.int32):
            info = torch.iinfo(dtype)
            if info.min <= lo and hi <= info.max:
                return t.to(dtype)
    if t.dtype == torch.float64 and torch.equal(t.float().double(), t):
        return t.float()
    return t


def _put(t: torch.Tensor, buffer: bytearray) -> dict[str, Any]:
    """Append ``t`` (narrowed) to ``buffer``; the index entry that finds it again."""
    stored = _narrowest(t.detach().cpu().contiguous())
    raw = stored.view(torch.uint8).numpy().tobytes() if stored.numel() else b""
    spec = {"t": str(t.dtype).removeprefix("torch."), "s": list(t.shape), "o": len(buffer), "n": len(raw)}
    if stored.dtype != t.dtype:
        spec["as"] = str(stored.dtype).removeprefix("torch.")
    buffer.extend(raw)
    return spec


def _encode(value: Any, buffer: bytearray) -> dict[str, Any]:
    if value is None:
        return {"none": 1}
    if isinstance(value, torch.dtype):
        return {"dtype": str(value).removeprefix("torch.")}
    if isinstance(value, (tuple, list)):
        return {"tuple": [_encode(v, buffer) for v in value]}
    if not isinstance(value, torch.Tensor):
        raise TypeError(f"a packed file holds tensors, tuples, dtypes and None; got {type(value).__name__}")
    if value.is_quantized:
        spec = _put(value.int_repr(), buffer)
        spec["t"] = str(value.dtype).removeprefix("torch.")
        if value.qscheme() == torch.per_tensor_affine:
            spec.update(q="tensor", scale=float(value.q_scale()), zp=int(value.q_zero_point()))
        elif value.qscheme() in (torch.per_channel_affine, torch.per_channel_affine_float_qparams):
            spec.update(
                q="channel",
                axis=int(value.q_per_channel_axis()),
                scales=_put(value.q_per_channel_scales(), buffer),
                zps=_put(value.q_per_channel_zero_points(), buffer),
            )
        else:
            raise TypeError(f"a packed file cannot hold a tensor quantised as {value.qscheme()}")
        return spec
    if value.dim() == 0:  # a number in JSON is exact for every dtype here (float32 widens to double exactly)
        return {"t": str(value.dtype).removeprefix("torch."), "v": value.item()}  # scalars live in the header
    return _put(value, buffer)


def _extent(spec: Any) -> int:
    """The end in the buffer of everything an index entry points at."""
    if not isinstance(spec, dict):
        return 0
    ends = [spec["o"] + spec["n"]] if "o" in spec and "n" in spec else []
    ends += [_extent(spec[k]) for k in ("scales", "zps") if k in spec]
    ends += [_extent(s) for s in spec.get("tuple", [])]
    return max(ends, default=0)


def _get(spec: dict[str, Any], buffer: memoryview, name: str) -> torch.Tensor:
    dtype = _DTYPES[spec["t"]]
    stored = _DTYPES[spec.get("as", spec["t"])]
    storage = _INT_REPR.get(stored, stored)
    shape = tuple(spec["s"])
    raw = bytearray(buffer[spec["o"] : spec["o"] + spec["n"]])
    if len(raw) != math.prod(shape) * torch.empty((), dtype=storage).element_size():
        raise PackedFormatError(f"{name}: a tensor of shape {list(shape)} has {len(raw)} bytes; the file is damaged")
    flat = torch.frombuffer(raw, dtype=storage) if raw else torch.empty(0, dtype=storage)
    out = flat.reshape(shape)
    return out if dtype in _INT_REPR else out.to(dtype)


def _decode(spec: dict[str, Any], buffer: memoryview, name: str) -> Any:
    if "none" in spec:
        return None
    if "dtype" in spec:
        return _DTYPES[spec["dtype"]]
    if "tuple" in spec:
        return tuple(_decode(s, buffer, name) for s in spec["tuple"])
    if "v" in spec:
        return torch.tensor(spec["v"], dtype=_DTYPES[spec["t"]])
    values = _get(spec, buffer, name)
    if spec.get("q") == "tensor":
        return torch._make_per_tensor_quantized_tensor(values, spec["scale"], spec["zp"])
    if spec.get("q") == "channel":
        scales = _get(spec["scales"], buffer, name)
        zero_points = _get(spec["zps"], buffer, name)
        return torch._make_per_channel_quantized_tensor(values, scales, zero_points, spec["axis"])
    return values


def _network(model_info: Any, name: str) -> nn.Module:
    """The network a description (a header's ``model``) builds, with fresh weights."""
    from ..nn import build_model
    from ..spaces import space_from_config

    try:
        arch = space_from_config(model_info["space"]).parse(model_info["arch"])
        return build_model(arch, model_info["input_shape"], model_info["num_classes"], **model_info["network"])
    except (KeyError, TypeError) as err:
        raise PackedFormatError(f"{name} does not describe a network ({err})") from None


def _skeleton(header: dict[str, Any], name: str) -> nn.Module:
    """The network the header describes, with the structure (not yet the weights) of the saved one."""
    from ..compress.pooling import matmul_pooling
    from .packed_layers import apply_layer_changes

    model_info = header.get("model")
    model = _network(model_info, f"the header of {name}")
    try:
        apply_layer_changes(model, header.get("layers") or {})
    except (AttributeError, TypeError, ValueError) as err:
        raise PackedFormatError(f"{name}: the header's changed layers do not fit its network ({err})") from None
    model.eval()
    int8 = header.get("int8")
    if int8:
        from ..compress.quantize import fx_int8

        engine = int8["engine"]
        if engine not in torch.backends.quantized.supported_engines:
            raise PackedFormatError(
                f"{name} was quantised for the {engine!r} engine, which this torch lacks "
                f"({torch.backends.quantized.supported_engines}); quantise the float model again here"
            )
        example = torch.zeros((2, *model_info["input_shape"]))
        return fx_int8(model, example, [], engine=engine, pooling=header.get("pooling", "torch"))
    return matmul_pooling(model) if header.get("pooling") == "matmul" else model
