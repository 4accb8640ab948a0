"""Average pooling of a whole population as one matrix product.

Average pooling is linear in each channel's map, so on an ``H x W`` map it is a fixed
``(H*W, Ho*Wo)`` matrix ``P``: ``out = x.view(-1, H*W) @ P``. On the small maps a course uses
(8x8 and 4x4 digits), that product is several times faster than ATen's pooling kernel, forwards
and backwards (measured 8x on a 3x3 pool over ``(128, 16*8, 8, 8)``, ``benchmarks/bench_population.py``
has the end-to-end figure), because it is one GEMM over all candidates' channels instead of a
per-plane loop. ``P`` is built by applying the original module to the unit maps, so padding,
``count_include_pad``, ``ceil_mode`` and adaptive windows mean exactly what they mean to the
module; each output is a sum of ``x_i / count`` rather than ``sum(x_i) / count``, which differs
only in float rounding. Large maps (more than ``MAX_PIXELS``) keep the module's own kernel,
where a dense ``P`` would cost more arithmetic than it saves.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

#: maps with more pixels than this are pooled by the module itself (a dense P grows as pixels squared)
MAX_PIXELS = 256


class PoolByMatmul(nn.Module):
    """``module`` (an average pooling) applied to ``(B, C, H, W)`` as ``x.view(-1, H*W) @ P``."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.inner = module
        self._matrices: dict[tuple, tuple[Tensor, tuple[int, int]]] = {}

    def matrix(self, h: int, w: int, device: torch.device, dtype: torch.dtype) -> tuple[Tensor, tuple[int, int]]:
        """``P`` for ``h x w`` maps and the pooled map's size, built once per size, device and dtype."""
        key = (h, w, device, dtype)
        if key not in self._matrices:
            with torch.no_grad():
                basis = torch.eye(h * w, device=device, dtype=dtype).view(h * w, 1, h, w)
                pooled = self.inner(basis)
            self._matrices[key] = (pooled.reshape(h * w, -1).contiguous(), tuple(pooled.shape[-2:]))
        return self._matrices[key]

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4 or x.shape[-1] * x.shape[-2] > MAX_PIXELS:
            return self.inner(x)
        b, c, h, w = x.shape
        p, (ho, wo) = self.matrix(h, w, x.device, x.dtype)
        return (x.reshape(b * c, h * w) @ p).view(b, c, ho, wo)
