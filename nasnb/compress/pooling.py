"""Average pooling as one matrix product, for float32 and int8 models alike.

At the course's 8 channels, average pooling was nearly half of a cell network's time, and torch's
int8 average pooling has a vectorised kernel only from 16 channels (``benchmarks/bench_int8.py``
measured 1011 us for an int8 3x3 pool over ``(64, 8, 8, 8)`` against 122 us done as below), so int8
hardly sped up the cells that pool. Pooling is linear: ``nasnb.nn.batched_pool.PoolByMatmul`` runs it
as ``x @ P``; ``QuantizedPoolByMatmul`` does the same on an int8 map by dequantising it, multiplying
in float32 and quantising back with the *input's* scale and zero point, which is what torch's own
int8 pooling keeps too, so the rest of the int8 graph is unchanged. The map stays channels-last
(the layout int8 convolutions write): handing an NCHW map to the next quantised add was measured
to cost 20x more than the add itself.

``matmul_pooling`` puts either module in place of every ``nn.AvgPool2d`` of a model. A fair
comparison gives the float32 model the same pooling: it gains as much (about 2x at batch 64), and
``bench_compress.py`` measured the int8 model at 0.91-0.94x the speed of float32 pooled alike at 8
channels: the pooling was never int8's to win.
"""

from __future__ import annotations

import copy

import torch
from torch import Tensor, nn

from ..nn.batched_pool import MAX_PIXELS, PoolByMatmul

#: from this many channels torch's int8 pooling has its vectorised kernel and is as fast or faster
#: (bench_compress --channels 16: 3.1 ms at batch 64 with torch's pooling, 3.8 ms with the product)
TORCH_FAST_CHANNELS = 16


class QuantizedPoolByMatmul(PoolByMatmul):
    """``module`` (an average pooling) on a per-tensor int8 map, as dequantise -> ``x @ P`` -> quantise.

    The output has the input's scale and zero point (as torch's int8 pooling): an average never
    leaves the range of its inputs. Float inputs pool as ``PoolByMatmul``; int8 maps of
    ``TORCH_FAST_CHANNELS`` or more channels, over ``MAX_PIXELS`` pixels (a dense ``P`` grows as pixels
    squared) or quantised per channel go to the module itself, torch's int8 kernel.
    """

    def forward(self, x: Tensor) -> Tensor:
        if not x.is_quantized:
            return super().forward(x)
        if (
            x.dim() != 4
            or x.shape[1] >= TORCH_FAST_CHANNELS
            or x.shape[-2] * x.shape[-1] > MAX_PIXELS
            or x.qscheme() != torch.per_tensor_affine
        ):
            return self.inner(x)
        b, c, h, w = x.shape
        p, (ho, wo) = self.matrix(h, w, x.device, torch.float32)
        # (b, c, h*w) as a view of the channels-last map, pooled in one product, written back channels-last
        rows = x.dequantize().permute(0, 2, 3, 1).reshape(b, h * w, c).transpose(1, 2)
        pooled = torch.matmul(rows, p).view(b, c, ho, wo).contiguous(memory_format=torch.channels_last)
        return torch.quantize_per_tensor(pooled, x.q_scale(), x.q_zero_point(), x.dtype)


def matmul_pooling(model: nn.Module, *, quantized: bool = False) -> nn.Module:
    """A copy of ``model`` with every ``nn.AvgPool2d`` run as a matrix product (``model`` is left as it is).

    ``quantized=True`` uses ``QuantizedPoolByMatmul`` (for a converted int8 model, whose pools see int8
    maps); otherwise ``PoolByMatmul``. Outputs equal the original's up to float rounding (float32) or
    one quantisation step where a rounding tie falls the other way (int8). Only for inference: the
    matrices are built once per map size and cached on the module.
    """
    wrap = QuantizedPoolByMatmul if quantized else PoolByMatmul
    model = copy.deepcopy(model)
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.AvgPool2d):
                setattr(parent, name, wrap(child))
    return model


def pooling_kind(model: nn.Module) -> str:
    """``"matmul"`` if any average pooling of ``model`` runs as a matrix product, else ``"torch"``."""
    return "matmul" if any(isinstance(m, PoolByMatmul) for m in model.modules()) else "torch"
