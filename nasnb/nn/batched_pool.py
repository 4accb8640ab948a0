"""Average pooling of a whole population as one matrix product.

Average pooling is linear in each channel's map, so on an ``H x W`` map it is a fixed
``(H*W, Ho*Wo)`` matrix ``P``: ``out = x.view(-1, H*W) @ P``. On the small maps a course uses
(8x8 and 4x4 digits), that product is several times faster than ATen's pooling kernel, forwards
and backwards (measured 8x on a 3x3 pool over ``(128, 16*8, 8, 8)``, ``benchmarks/bench_population.py``
has the end-to-end figure), because it is one GEMM over all candidates' channels instead of a
per-plane loop. ``P`` is built by applying the original module to the unit maps, so padding,
``count_include_pad``, ``ceil_mode`` and adaptive windows mean exactly what they mean to the
module; each output is a sum of ``x_i / count`` rather than ``sum(x_i) / count``, which differs
only in float rounding. On larger maps a dense ``P`` costs ``H*W`` products per output, so there
the matrix is split into its two axes, ``P = Ph (x) Pw`` (average pooling's windows and divisors are
products of a row and a column part; checked on the built matrix, with the module's own kernel as
the fallback), and the map is pooled by two thin matmuls: 3-4x faster than ATen on 14x14 and 28x28.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

#: maps with more pixels than this are pooled axis by axis (a dense P grows as pixels squared)
MAX_PIXELS = 256


class PoolByMatmul(nn.Module):
    """``module`` (an average pooling) applied to ``(B, C, H, W)`` as matrix products (module docstring)."""

    def __init__(self, module: nn.Module) -> None:
        super().__init__()
        self.inner = module
        self._matrices: dict[tuple, tuple[Tensor, tuple[int, int]]] = {}
        self._axes: dict[tuple, tuple[Tensor, Tensor] | None] = {}

    def matrix(self, h: int, w: int, device: torch.device, dtype: torch.dtype) -> tuple[Tensor, tuple[int, int]]:
        """``P`` for ``h x w`` maps and the pooled map's size, built once per size, device and dtype."""
        key = (h, w, device, dtype)
        if key not in self._matrices:
            with torch.no_grad():
                basis = torch.eye(h * w, device=device, dtype=dtype).view(h * w, 1, h, w)
                pooled = self.inner(basis)
            self._matrices[key] = (pooled.reshape(h * w, -1).contiguous(), tuple(pooled.shape[-2:]))
        return self._matrices[key]

    def axes(self, h: int, w: int, device: torch.device, dtype: torch.dtype) -> tuple[Tensor, Tensor] | None:
        """``(Ph, Pw)`` with ``P = Ph (x) Pw``, or None when ``P`` does not split so (then ATen pools)."""
        key = (h, w, device, dtype)
        if key not in self._axes:
            p, (ho, wo) = self.matrix(h, w, device, torch.float64)
            a = p.view(h, w, ho, wo).permute(0, 2, 1, 3).reshape(h * ho, w * wo)  # rank one if P = Ph (x) Pw
            r = int(a.norm(dim=1).argmax())
            c = int(a[r].abs().argmax())
            ph, pw = a[:, c], a[r] / a[r, c]
            split = bool(a[r, c] != 0) and torch.allclose(torch.outer(ph, pw), a, rtol=0, atol=1e-12)
            self._axes[key] = (ph.view(h, ho).to(dtype), pw.view(w, wo).to(dtype)) if split else None
            del self._matrices[(h, w, device, torch.float64)]  # only wanted to split it
        return self._axes[key]

    def forward(self, x: Tensor) -> Tensor:
        if x.dim() != 4:
            return self.inner(x)
        b, c, h, w = x.shape
        if h * w <= MAX_PIXELS:
            p, (ho, wo) = self.matrix(h, w, x.device, x.dtype)
            return (x.reshape(b * c, h * w) @ p).view(b, c, ho, wo)
        axes = self.axes(h, w, x.device, x.dtype)
        if axes is None:
            return self.inner(x)
        ph, pw = axes
        rows = (x.reshape(b * c * h, w) @ pw).view(b * c, h, -1)  # along each row, then along each column
        cols = rows.transpose(1, 2).reshape(-1, h) @ ph
        out = cols.view(b * c, pw.shape[1], ph.shape[1]).transpose(1, 2)
        return out.reshape(b, c, ph.shape[1], pw.shape[1]).contiguous()  # reshape alone keeps the transpose
