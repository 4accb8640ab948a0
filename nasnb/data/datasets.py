"""Datasets as in-memory tensors with deterministic, stratified train/val/test splits.

Every search trial of a run must see the same split, so splits depend only on the arguments
(``seed`` included), never on global random state. Loaded datasets are cached per argument
tuple: a search of hundreds of trials reads and normalises the data once.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from . import sources
from .sources import DatasetUnavailableError, RawData

if TYPE_CHECKING:
    import torch

DATASETS = ("digits", "moons", "mnist", "fashion-mnist", "cifar10")
_TORCHVISION = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST", "cifar10": "CIFAR10"}
MOONS_SAMPLES = 1000


@dataclass(frozen=True, eq=False)
class Split:
    """Inputs ``x`` (float32, normalised) and labels ``y`` (int64) of one split."""

    x: torch.Tensor
    y: torch.Tensor

    def __len__(self) -> int:
        return int(self.y.shape[0])

    def __repr__(self) -> str:
        return f"Split(n={len(self)}, x={tuple(self.x.shape)})"


@dataclass(frozen=True, eq=False)
class Dataset:
    """A dataset ready for training: three splits plus what a network needs to know about it.

    The tensors are shared with the in-memory cache: treat them as read-only.
    """

    name: str
    train: Split
    val: Split
    test: Split
    input_shape: tuple[int, ...]
    num_classes: int
    classes: tuple[str, ...]

    def __repr__(self) -> str:
        sizes = f"train={len(self.train)}, val={len(self.val)}, test={len(self.test)}"
        return f"Dataset({self.name!r}, {sizes}, input_shape={self.input_shape}, num_classes={self.num_classes})"


def load_dataset(
    name: str,
    *,
    root: str | Path | None = None,
    subset: int | None = None,
    seed: int = 0,
    val_fraction: float = 0.2,
    test_fraction: float = 0.2,
    download: bool = True,
) -> Dataset:
    """Load ``name`` (one of ``DATASETS``) with normalised inputs and stratified splits.

    digits and moons are split into train/val/test by ``val_fraction`` and ``test_fraction`` of
    the whole. mnist, fashion-mnist and cifar10 keep their official test set; val is
    ``val_fraction`` of the official training part. ``subset=N`` keeps a stratified N-sample part of
    that pool before splitting (and a proportional part of an official test set), for quick runs.
    Inputs are standardised with statistics of the training split only, so val and test stay unseen.
    """
    key = str(name).strip().lower().replace("_", "-")
    if key not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose from {list(DATASETS)}")
    if subset is not None and (not isinstance(subset, int) or isinstance(subset, bool) or subset < 2):
        raise ValueError(f"subset must be None or an int >= 2, got {subset!r}")
    for param, value in (("val_fraction", val_fraction), ("test_fraction", test_fraction)):
        if not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
            raise ValueError(f"{param} must be a number in [0, 1), got {value!r}")
    if val_fraction <= 0 or val_fraction + test_fraction >= 1.0:
        raise ValueError(
            f"val_fraction must be > 0 and val_fraction + test_fraction < 1, got "
            f"val_fraction={val_fraction!r}, test_fraction={test_fraction!r}"
        )
    resolved = Path(root).expanduser() if root is not None else sources.default_root()
    return _load(key, str(resolved), subset, int(seed), float(val_fraction), float(test_fraction), bool(download))


@functools.lru_cache(maxsize=4)
def _load(
    name: str, root: str, subset: int | None, seed: int, val_fraction: float, test_fraction: float, download: bool
) -> Dataset:
    if name == "digits":
        raw = sources.digits()
    elif name == "moons":
        raw = sources.moons(subset or MOONS_SAMPLES, seed)
    else:
        raw = sources.torchvision_data(_TORCHVISION[name], Path(root), download)
    try:
        # moons was generated at the requested size already
        parts = _split(raw, None if name == "moons" else subset, seed, val_fraction, test_fraction)
    except ValueError as err:
        raise ValueError(
            f"cannot make stratified splits of {name} with subset={subset}, val_fraction={val_fraction}, "
            f"test_fraction={test_fraction} ({err}); use a larger subset or other fractions"
        ) from None
    train, val, test = _normalise(parts, raw.scale)
    shape = tuple(int(s) for s in raw.x.shape[1:])
    return Dataset(name, train, val, test, shape, len(raw.classes), raw.classes)


def _split(
    raw: RawData, subset: int | None, seed: int, val_fraction: float, test_fraction: float
) -> list[tuple[np.ndarray, np.ndarray]]:
    """(x, y) of train, val, test, still in raw units."""
    pool = _take(raw.y, subset, seed)
    if raw.x_test is None:
        rest, test = _divide(pool, raw.y, test_fraction, seed)
        train, val = _divide(rest, raw.y, val_fraction / (1.0 - test_fraction), seed)
        return [(raw.x[i], raw.y[i]) for i in (train, val, test)]
    train, val = _divide(pool, raw.y, val_fraction, seed)
    n_test = None if subset is None else max(2, round(len(raw.y_test) * len(pool) / len(raw.y)))
    test = _take(raw.y_test, n_test, seed)
    return [(raw.x[train], raw.y[train]), (raw.x[val], raw.y[val]), (raw.x_test[test], raw.y_test[test])]


def _take(y: np.ndarray, n: int | None, seed: int) -> np.ndarray:
    """Sorted indices of a stratified sample of ``n`` labels (all of them when n is None or too big)."""
    if n is None or n >= len(y):
        return np.arange(len(y))
    from sklearn.model_selection import train_test_split

    keep, _ = train_test_split(np.arange(len(y)), train_size=n, stratify=y, random_state=seed)
    return np.sort(keep)


def _divide(idx: np.ndarray, y: np.ndarray, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Stratified split of ``idx`` into (rest, part) with ``part`` about ``fraction`` of it."""
    if fraction <= 0:
        return idx, idx[:0]
    from sklearn.model_selection import train_test_split

    rest, part = train_test_split(idx, test_size=fraction, stratify=y[idx], random_state=seed)
    return np.sort(rest), np.sort(part)


def _normalise(parts: list[tuple[np.ndarray, np.ndarray]], scale: float) -> list[Split]:
    """Scale to [0, 1], then standardise per channel (per feature for vectors) with train statistics."""
    import torch

    # x are fresh copies (fancy indexing), so in-place arithmetic keeps peak memory at one copy
    xs = [torch.from_numpy(x).float().div_(scale) for x, _ in parts]
    axes = (0, 2, 3) if xs[0].ndim == 4 else (0,)
    mean = xs[0].mean(dim=axes, keepdim=True)
    std = xs[0].std(dim=axes, keepdim=True).clamp_min(1e-6)
    return [
        Split(x.sub_(mean).div_(std), torch.from_numpy(np.asarray(y, dtype=np.int64))) for x, (_, y) in zip(xs, parts)
    ]


__all__ = ["DATASETS", "Dataset", "DatasetUnavailableError", "Split", "load_dataset"]
