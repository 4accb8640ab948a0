"""Where int8 loses its size and speed on the table's best digits cell, and which deployment route wins them back.

``bench_compress.py`` measured int8 (torch FX, fbgemm) at the table's best cell, 8 channels: 1.7x smaller
file, about 1.1x faster at batch 64, short of the issue's targets (>= 3x smaller, >= 1.5x faster, <= 1 point).
This benchmark takes that cell apart, side by side in one run (timed in rounds as bench_compress does, one thread):

* file: fp32 and int8 as ``torch.save`` state dicts (split into tensor bytes, pickle and zip overhead),
  frozen TorchScript, ONNX, and ONNX quantised by onnxruntime (QDQ and QOperator formats), each also
  with its tensor names shortened ("compact": names are most of a tiny ONNX int8 file);
* latency: torch eager fp32/int8 (fbgemm, qnnpack), frozen TorchScript, onnxruntime fp32/int8;
* where the time goes: torch.profiler's four most expensive operators at batch 64, fp32 and int8.

FX already folds every BatchNorm into its convolution before quantising (the int8 graph has no BN
inside the cells); the cells' ops are ReLU -> Conv -> BN, so there is no conv-bn-relu triple to fuse.
onnxruntime quantises only Conv, Gemm and Add here: with its default (every op it can), the QOperator
model's test accuracy fell to chance (0.108); adding only Relu to the three reproduces it (QDQ: 0.978),
because QOperator folds a ReLU into the range of the tensor before it, and in a cell that tensor also
feeds the pooling and skip edges. Rows ending in "basic" run onnxruntime with basic graph
optimisations only: its default level fuses the float pooling between Dequantize and Quantize into
QLinearAveragePool, the slow int8 pooling kernel.

Measured here (2-core machine shared by six jobs; int8 against fp32 in the same format and runtime):

* 8 channels (the table's cell): torch FX fbgemm file 1.72x, batch-64 speed-up 1.02-1.47x over six
  runs (no run reached 1.5x); TorchScript int8 1.70x, 1.01-1.52x; onnxruntime int8 QOperator with
  compact names 2.82x (3.80x against the torch.save fp32 file that bench_compress compares with),
  0.13-0.16x (five runs, timed in blocks), with basic graph optimisation 0.37-0.94x (best 1.86 ms, 6.7x torch
  eager fp32 at batch 64); accuracy -0.28 points at worst (one test image).
* 16 / 32 channels: torch FX fbgemm file 2.71x / 3.47x, batch 64 2.09-2.11x / 2.71-3.41x, accuracy
  +0.00 / +0.28; onnxruntime int8 (basic) 0.66x / 0.96x its float32.

So against the baseline bench_compress uses (torch.save fp32 file, torch eager), the onnx-int8
export with basic graph optimisation meets all three targets at 8 channels: 3.80x smaller, 6.7x
faster at batch 64, -0.28 points. Against float32 in the same runtime it does not: 2.82x smaller
and no faster; its speed is onnxruntime's, not int8's. torch's own int8 stays at 1.7x and ~1.0-1.5x.

Where the time goes at 8 channels, batch 64, per forward pass (torch.profiler): fp32 convolutions
6.4 ms and average pooling 5.3 ms (7 calls); int8 convolutions 3.4 ms (1.9x faster: 8 channels fill
few of the int8 SIMD lanes) and average pooling 4.0 ms. Pooling is nearly half of the float model
and int8 barely speeds it up (torch's quantised avg_pool2d has a vectorised NHWC kernel only from 16
channels: 91 us there against 994 us at 8 channels on a comparable input), so 1.5x is about the
ceiling. With its default graph optimisation, onnxruntime's int8 is slower than its float32 at every
width (0.13-0.6x): 54 % of its int8 time went to QLinearAveragePool, while its float32 (MLAS) was
the fastest deployment of all, 8.7x torch eager at batch 64. Files: in torch.save, every tensor is a
zip record with a pickle entry (fp32: 52.0 kB of tensors in a 72.4 kB file; int8: 15.5 kB of
tensors, 9.5 kB pickle, 17.0 kB zip records, 92 entries, because each layer adds a scale and a zero
point); ONNX with short names keeps little beyond the numbers.
Tried and dropped: each pool as a fixed depthwise 3x3 convolution (weights 1/9) times a border
correction (9 / window size), exact in float32 (max difference 1.9e-6), made the FX int8 model no
faster (0.91x against 1.00x at batch 64): the quantised convolution and the quantised multiply by
the correction cost as much as the pooling they replaced.

Since then (issue 12, ideas 1 and 2): the int8 model pools by matrix product (``to_int8(pooling="matmul")``,
the default: dequantise -> ``x @ P`` -> quantise, kept channels-last) and the rows "torch fp32 matmul
pool" / "torch int8 fbgemm matmul pool" compare it with float32 pooled the same way. Measured here
(one run, shared machine): fp32 7.99 -> 3.72 ms and int8 7.90 -> 3.40 ms at batch 64, so int8 against
float32 with the same pooling is 1.09x here (0.89-0.94x in bench_compress's two runs); the pooling
was never int8's to win. ``bench_compress.py`` prints this like for like, with the packed file format
(``nasnb.deploy.packed``) that takes int8 to 3.46x smaller than float32 in the same format.

``nasnb export RUN --format onnx-int8`` writes the "onnx int8 QOperator compact" row's file.

    python benchmarks/bench_int8.py [--channels 8 16 32] [--repeats 15]

Timings on a shared machine are noisy; ratios within one run are what to read.
"""

from __future__ import annotations

import argparse
import functools
import io
import logging
import os
import tempfile
import warnings
import zipfile

import numpy as np
import torch
from bench_compress import interleaved_latency, time_shares  # this folder: python benchmarks/bench_int8.py

from nasnb.compress.pooling import matmul_pooling
from nasnb.compress.quantize import to_int8
from nasnb.data import load_dataset
from nasnb.deploy.onnx_int8 import compact_onnx
from nasnb.evaluation import Trainer
from nasnb.evaluation.recipes import recipe
from nasnb.evaluation.table import load_table
from nasnb.evaluation.trainer import evaluate_model
from nasnb.spaces import CellSpace


def state_dict_breakdown(model: torch.nn.Module) -> dict[str, int]:
    """File bytes of ``torch.save(state_dict)`` split into tensor data, the pickle, and zip records."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    with zipfile.ZipFile(buffer) as z:
        infos = z.infolist()
    pickle = sum(i.file_size for i in infos if i.filename.endswith("data.pkl"))
    data = sum(i.file_size for i in infos if "/data/" in i.filename)
    size = len(buffer.getvalue())
    return {"file": size, "entries": len(infos), "tensor_data": data, "pickle": pickle, "zip": size - data - pickle}


def compact_copy(src: str, dst: str) -> None:
    """``src`` with short tensor names (``nasnb.deploy.onnx_int8.compact_onnx``, what ``format="onnx-int8"`` writes)."""
    import onnx

    model = compact_onnx(onnx.load(src))
    onnx.save(model, dst)
    onnx.checker.check_model(dst)


def onnx_models(model: torch.nn.Module, data, folder: str) -> dict[str, str]:
    """fp32 ONNX and its onnxruntime int8 versions (QDQ, QOperator), each also compacted: name -> path."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    fp32 = os.path.join(folder, "fp32.onnx")
    torch.onnx.export(
        model,
        (data.test.x[:2],),
        fp32,
        dynamo=False,
        opset_version=17,
        input_names=["input"],
        output_names=["logits"],
        dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
    )

    class Calibration(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = iter([{"input": data.train.x[i : i + 128].numpy()} for i in range(0, 512, 128)])

        def get_next(self):
            return next(self.batches, None)

    paths = {"onnx fp32": fp32}
    for fmt in ("QDQ", "QOperator"):
        path = os.path.join(folder, f"int8_{fmt}.onnx")
        quantize_static(
            fp32,
            path,
            Calibration(),
            quant_format=getattr(QuantFormat, fmt),
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["Conv", "Gemm", "Add"],
        )
        paths[f"onnx int8 {fmt}"] = path
    for name, path in list(paths.items()):
        compact_copy(path, path + ".compact")
        paths[name + " compact"] = path + ".compact"
    return paths


def _run_session(session, x: torch.Tensor):
    return session.run(None, {"input": x.numpy()})


def bench(channels: int, repeats: int) -> None:
    import onnxruntime as ort

    best = load_table("digits").best()
    arch = CellSpace().parse(best.arch)
    config = recipe("digits")
    config["network"] = {**config["network"], "channels": channels}
    trainer = Trainer(**config, keep_model=True)
    trainer(arch)
    fp32 = trainer.last_model_.cpu().eval()
    data = load_dataset("digits")
    folder = tempfile.mkdtemp(prefix="bench_int8_")
    # torch's own int8 pooling here (what this benchmark took apart); the matmul-pooled rows are added below
    int8 = {e: to_int8(fp32, data, calibration=512, engine=e, pooling="torch") for e in ("qnnpack", "fbgemm")}
    int8["fbgemm matmul pool"] = to_int8(fp32, data, calibration=512, engine="fbgemm")
    example = data.test.x[:2]
    with torch.no_grad():
        scripted = {
            "torchscript fp32": torch.jit.freeze(torch.jit.trace(fp32, example)),
            "torchscript int8 fbgemm": torch.jit.freeze(torch.jit.trace(int8["fbgemm"], example)),
        }

    sizes: dict[str, int] = {}
    split = {"fp32": state_dict_breakdown(fp32), "int8": state_dict_breakdown(int8["fbgemm"])}
    sizes["torch fp32"], sizes["torch int8 fbgemm"] = split["fp32"]["file"], split["int8"]["file"]
    for name, module in scripted.items():
        path = os.path.join(folder, name.replace(" ", "_") + ".pt")
        torch.jit.save(module, path)
        sizes[name] = os.path.getsize(path)
    paths = onnx_models(fp32, data, folder)
    sizes.update({name: os.path.getsize(p) for name, p in paths.items()})

    options = ort.SessionOptions()
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    sessions = {name: ort.InferenceSession(p, options, providers=["CPUExecutionProvider"]) for name, p in paths.items()}
    basic = ort.SessionOptions()
    basic.intra_op_num_threads = basic.inter_op_num_threads = 1
    basic.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    for name in ("onnx int8 QOperator compact", "onnx int8 QDQ compact"):
        sessions[name + " basic"] = ort.InferenceSession(paths[name], basic, providers=["CPUExecutionProvider"])
        sizes[name + " basic"] = sizes[name]
    torch_models = {
        "torch fp32": fp32,
        "torch int8 fbgemm": int8["fbgemm"],
        "torch fp32 matmul pool": matmul_pooling(fp32),
        "torch int8 fbgemm matmul pool": int8["fbgemm matmul pool"],
        **scripted,
    }

    def engine_runner(engine: str, module: torch.nn.Module):
        def run(x):
            torch.backends.quantized.engine = engine
            return module(x)

        return run

    runners = {name: engine_runner("fbgemm", m) for name, m in torch_models.items()}
    runners["torch int8 qnnpack"] = engine_runner("qnnpack", int8["qnnpack"])
    runners.update({name: functools.partial(_run_session, s) for name, s in sessions.items()})

    accuracy = {}
    with torch.no_grad():
        for name, run in runners.items():
            out = run(data.test.x)
            logits = out[0] if name.startswith("onnx") else out.numpy()
            accuracy[name] = float((logits.argmax(1) == data.test.y.numpy()).mean())
    torch.backends.quantized.engine = "fbgemm"
    assert abs(accuracy["torch fp32"] - evaluate_model(fp32, data.test)[1]) < 1e-9
    latency = {}
    with torch.no_grad():
        torch.set_num_threads(1)
        for batch in (1, 64):
            latency[batch] = interleaved_latency(runners, data.test.x[:batch].contiguous(), repeats)

    print(f"\n=== best digits cell {best.arch}, {channels} channels (table recipe, seed 0)")
    for kind in ("fp32", "int8"):
        s = split[kind]
        print(
            f"torch.save {kind}: {s['file']:,} B = tensors {s['tensor_data']:,} + pickle {s['pickle']:,} "
            f"+ zip records {s['zip']:,} ({s['entries']} entries)"
        )
    header = f"{'model':<36} {'bytes':>8} {'x file':>7} {'ms b1':>7} {'x b1':>6} {'ms b64':>7} {'x b64':>6} {'acc':>7}"
    print(header + f" {'change':>7}")
    for name in runners:
        size = sizes.get(name)
        size_text = f"{size:>8,} {sizes['torch fp32'] / size:>7.2f}" if size else f"{'':>8} {'':>7}"
        print(
            f"{name:<36} {size_text} {latency[1][name]:>7.3f} {latency[1]['torch fp32'] / latency[1][name]:>6.2f} "
            f"{latency[64][name]:>7.3f} {latency[64]['torch fp32'] / latency[64][name]:>6.2f} "
            f"{accuracy[name]:>7.4f} {100 * (accuracy[name] - accuracy['torch fp32']):>+7.2f}"
        )
    pairs = [
        ("torch fp32", "torch int8 fbgemm"),
        ("torch fp32 matmul pool", "torch int8 fbgemm matmul pool"),
        ("torch fp32", "torch int8 qnnpack"),
        ("torchscript fp32", "torchscript int8 fbgemm"),
        ("onnx fp32", "onnx int8 QDQ"),
        ("onnx fp32", "onnx int8 QOperator"),
        ("onnx fp32 compact", "onnx int8 QDQ compact"),
        ("onnx fp32 compact", "onnx int8 QOperator compact"),
        ("onnx fp32 compact", "onnx int8 QOperator compact basic"),
    ]
    print("int8 against fp32 in the same format and runtime (targets: file >= 3x, b64 >= 1.5x, loss <= 1 point):")
    for a, b in pairs:
        size_ratio = sizes[a] / sizes[b] if a in sizes and b in sizes else float("nan")
        print(
            f"  {b:<36} file {size_ratio:5.2f}x  b1 {latency[1][a] / latency[1][b]:5.2f}x  "
            f"b64 {latency[64][a] / latency[64][b]:5.2f}x  accuracy {100 * (accuracy[b] - accuracy[a]):+.2f} points"
        )
    x64 = data.test.x[:64]
    for name in ("torch fp32", "torch int8 fbgemm", "torch fp32 matmul pool", "torch int8 fbgemm matmul pool"):
        model = torch_models[name]
        ops = ", ".join(f"{op} {ms:.2f} ms ({calls}x)" for op, ms, calls in time_shares(model, x64))
        print(f"  where {name} spends batch 64: {ops}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, nargs="+", default=[8], help="network widths (table's recipe: 8)")
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)  # onnxruntime.quantization's advice to pre-process
    np.set_printoptions(precision=3)
    for channels in args.channels:
        bench(channels, args.repeats)


if __name__ == "__main__":
    main()
