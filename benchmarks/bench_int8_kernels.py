"""How fast can int8 make the table's best cell at all? Each convolution timed alone, int8 against float32.

Issue 12 asks int8 to be >= 1.5x faster than float32 at batch 64. ``bench_compress.py`` measured the
whole int8 model at 0.91-0.94x of float32 pooled the same way, and ``bench_int8.py`` found where the
time goes. This script asks the question under both: the convolutions are the only operators int8
can make cheaper (pooling, sums and ReLU are memory-bound steps that int8 only wraps in quantise and
dequantise), so if every other int8 operator cost nothing, the model could be at most

    ceiling = float32 model time / time of the int8 convolutions alone

faster. It builds the cell network (``--channels``), folds BatchNorm into the convolutions as FX's int8
conversion does (the fair float32 side: same arithmetic per layer), converts it with torch's FX int8
tooling on both of torch's x86 engines (fbgemm, and x86 = oneDNN), feeds one batch of 64 test digits
through to capture every convolution's real input, and times every convolution alone and every whole
model, interleaved in rounds (warm-up, then timed calls, one thread), medians kept. Weights are the
untrained initialisation with calibrated int8 ranges: kernel speed does not depend on the values.

    python benchmarks/bench_int8_kernels.py [--channels 8 16 32] [--repeats 20]

Measured here (2-core machine; medians; two runs at 8 channels, absolute times 1.6x apart with the
machine's load, ratios within 0.1):

* 8 channels (the table's recipe): the ten int8 convolutions together 0.99-1.05x float32's (fbgemm) and
  1.10-1.16x (x86). Per layer: the 1->8 stem is 0.29x (fbgemm) / 0.65x (x86), the 8-channel 3x3 layers
  1.1-1.3x, the 16-channel ones 1.3-1.8x. Whole models at batch 64: 0.83-0.84x (fbgemm), 0.79-0.84x (x86);
  the int8 convolutions are 42-49 % of the int8 model. Ceiling 1.70-1.77x (fbgemm), 1.84-1.98x (x86).
* 16 channels: convolutions 1.15x / 1.33x, whole 1.02x / 1.05x, ceiling 1.98x / 2.30x.
* 32 channels: convolutions 1.44x / 2.26x, whole 1.63x / **2.14x** (x86), ceiling 2.59x / 4.07x.

So at 8 channels the convolutions, the only steps int8 makes cheaper, are barely cheaper, and the
rest of the int8 graph (pooling, sums, quantise/dequantise: 51-58 % of its time) costs more than the
same steps in float32. The ceiling clears 1.5x only if those steps ran in under 320 us against
float32's 815 us for its own (first run): 2.6x cheaper than float32 at work int8 does not speed up.
At 32 channels oneDNN's int8 convolutions are 2.3x faster and the whole model 2.1x, like for like.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings

import torch
from torch.fx.experimental.optimization import fuse

from nasnb.compress.pooling import matmul_pooling
from nasnb.compress.quantize import to_int8
from nasnb.data import load_dataset
from nasnb.evaluation.table import load_table
from nasnb.nn import build_model
from nasnb.spaces import CellSpace

ENGINES = ("fbgemm", "x86")


def conv_inputs(
    model: torch.nn.Module, x: torch.Tensor, quantised: bool
) -> list[tuple[str, torch.nn.Module, torch.Tensor]]:
    """Every convolution of ``model`` (float or FX int8) in call order, with the input it saw on ``x``."""
    seen: list[tuple[str, torch.nn.Module, torch.Tensor]] = []
    hooks = []
    for name, module in model.named_modules():
        is_conv = "quantized" in type(module).__module__ and "Conv" in type(module).__name__
        if is_conv if quantised else isinstance(module, torch.nn.Conv2d):
            hooks.append(module.register_forward_hook(lambda m, i, o, n=name: seen.append((n, m, i[0]))))
    with torch.no_grad():
        model(x)
    for hook in hooks:
        hook.remove()
    return seen


def timed(calls: dict[str, tuple[str | None, object]], repeats: int, per_round: int = 5) -> dict[str, float]:
    """Median microseconds per callable; ``calls`` maps name -> (quantised engine or None, zero-argument callable)."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    with torch.no_grad():
        for _ in range(repeats):
            for name, (engine, call) in calls.items():
                if engine:
                    torch.backends.quantized.engine = engine
                call()
                call()
                for _ in range(per_round):
                    start = time.perf_counter()
                    call()
                    times[name].append(1e6 * (time.perf_counter() - start))
    return {name: statistics.median(t) for name, t in times.items()}


def bench(channels: int, repeats: int) -> None:
    data = load_dataset("digits")
    arch = CellSpace().parse(load_table("digits").best().arch)
    torch.manual_seed(0)
    model = build_model(arch, data.input_shape, data.num_classes, channels=channels).eval()
    x = data.test.x[:64]
    folded = matmul_pooling(fuse(model))  # the fair float32 side: BN folded, pooling as int8's
    int8 = {e: to_int8(model, data, calibration=512, engine=e) for e in ENGINES}

    float_convs = conv_inputs(folded, x, quantised=False)
    calls: dict[str, tuple[str | None, object]] = {}
    for name, module, inp in float_convs:
        calls[f"fp32 {name}"] = (None, lambda m=module, i=inp: m(i))
    for engine in ENGINES:
        torch.backends.quantized.engine = engine
        convs = conv_inputs(int8[engine], x, quantised=True)
        if [n for n, _, _ in convs] != [n for n, _, _ in float_convs]:
            raise SystemExit(f"int8 ({engine}) and float32 convolutions differ: {[n for n, _, _ in convs]}")
        for name, module, inp in convs:
            calls[f"{engine} {name}"] = (engine, lambda m=module, i=inp: m(i))
    calls["fp32 model"] = (None, lambda: folded(x))
    for engine in ENGINES:
        calls[f"{engine} model"] = (engine, lambda m=int8[engine]: m(x))
    us = timed(calls, repeats)

    print(f"\n=== {channels} channels, batch 64, one thread: microseconds (median), float32 / int8 as x")
    print(f"{'convolution':<24} {'input':<17} {'fp32':>7} " + " ".join(f"{e:>8} {'x':>5}" for e in ENGINES))
    sums = {"fp32": 0.0, **{e: 0.0 for e in ENGINES}}
    for name, _, inp in float_convs:
        f = us[f"fp32 {name}"]
        sums["fp32"] += f
        row = f"{name:<24} {str(tuple(inp.shape)):<17} {f:>7.0f} "
        for engine in ENGINES:
            q = us[f"{engine} {name}"]
            sums[engine] += q
            row += f"{q:>8.0f} {f / q:>5.2f} "
        print(row)
    print(
        f"{'all convolutions':<42} {sums['fp32']:>7.0f} "
        + " ".join(f"{sums[e]:>8.0f} {sums['fp32'] / sums[e]:>5.2f}" for e in ENGINES)
    )
    whole = us["fp32 model"]
    print(
        f"{'whole model':<42} {whole:>7.0f} "
        + " ".join(f"{us[f'{e} model']:>8.0f} {whole / us[f'{e} model']:>5.2f}" for e in ENGINES)
    )
    for engine in ENGINES:
        print(
            f"  {engine}: int8 convolutions are {sums[engine] / us[f'{engine} model']:.0%} of the int8 model; "
            f"ceiling with every other int8 step free = fp32 model / int8 convolutions = {whole / sums[engine]:.2f}x "
            f"(target 1.5x)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--channels", type=int, nargs="+", default=[8, 16, 32])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(1)
    warnings.filterwarnings("ignore")
    for channels in args.channels:
        bench(channels, args.repeats)


if __name__ == "__main__":
    main()
