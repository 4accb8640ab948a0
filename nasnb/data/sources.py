"""Where each dataset's raw arrays come from: scikit-learn generators or torchvision files.

A source returns the raw pool (and the official test set, when the dataset has one) without
normalising or splitting: ``datasets.py`` does that the same way for every dataset, so splits
and statistics never depend on where the pixels came from.
"""

from __future__ import annotations

import gzip
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: Where Debian's ``dataset-fashion-mnist`` package puts the Fashion-MNIST IDX files.
FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


class DatasetUnavailableError(RuntimeError):
    """A dataset's files are missing and could not be downloaded; the message says how to get them."""


@dataclass(frozen=True)
class RawData:
    """Unsplit arrays: ``x`` in its stored dtype (uint8 pixels are scaled to [0, 1] by ``scale``)."""

    x: np.ndarray
    y: np.ndarray
    classes: tuple[str, ...]
    scale: float = 1.0
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None


def default_root() -> Path:
    """``$NASNB_DATA`` if set, else ``~/.cache/nasnb/data``: one copy shared by every notebook."""
    return Path(os.environ.get("NASNB_DATA") or Path.home() / ".cache" / "nasnb" / "data").expanduser()


def digits() -> RawData:
    from sklearn.datasets import load_digits

    bunch = load_digits()
    x = bunch.images.reshape(-1, 1, 8, 8).astype(np.float32)
    return RawData(x, bunch.target.astype(np.int64), tuple(str(c) for c in bunch.target_names), scale=16.0)


def moons(n_samples: int, seed: int) -> RawData:
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=n_samples, noise=0.25, random_state=seed)
    return RawData(x.astype(np.float32), y.astype(np.int64), ("0", "1"))


HOW_TO_GET = {
    "MNIST": "put the four IDX files ({files}) into {root}/MNIST/raw/",
    "FashionMNIST": "run `apt-get install dataset-fashion-mnist` (Debian/Ubuntu; nasnb unpacks it) or put "
    "the four IDX files ({files}) into {root}/FashionMNIST/raw/",
    "CIFAR10": "put cifar-10-python.tar.gz, or the cifar-10-batches-py/ folder extracted from it, into {root}/",
}


def torchvision_data(cls_name: str, root: Path, download: bool) -> RawData:
    """MNIST, FashionMNIST or CIFAR10 through torchvision, as uint8 arrays in (N, C, H, W)."""
    import torchvision.datasets

    if cls_name == "FashionMNIST":
        unpack_system_fashion_mnist(root)
    cls = getattr(torchvision.datasets, cls_name)
    try:
        train = cls(str(root), train=True, download=download)
        test = cls(str(root), train=False, download=download)
    except Exception as err:  # torchvision raises RuntimeError, URLError, OSError... all mean "not here"
        how = HOW_TO_GET[cls_name].format(files=", ".join(IDX_FILES), root=root)
        fetch = "download=True could not fetch it" if download else "download=False was given"
        reason = " ".join(str(err).split())  # torchvision's messages span lines
        raise DatasetUnavailableError(
            f"{cls_name} is not available under {root} ({fetch}: {reason}). To use it offline, {how}."
        ) from err
    return RawData(*_arrays(train), tuple(str(c) for c in train.classes), 255.0, *_arrays(test))


def _arrays(ds: Any) -> tuple[np.ndarray, np.ndarray]:
    data = np.asarray(ds.data)
    x = data[:, None] if data.ndim == 3 else data.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(x), np.asarray(ds.targets, dtype=np.int64)


def unpack_system_fashion_mnist(root: Path, system_dir: Path | None = None) -> bool:
    """Decompress Debian's Fashion-MNIST files into ``<root>/FashionMNIST/raw/`` when missing there.

    Debian recompressed the ``.gz`` files, so their checksums differ from torchvision's and
    torchvision would reject them; the decompressed IDX files are identical, and torchvision reads
    those without a checksum. Returns whether anything was written.
    """
    system_dir = FASHION_SYSTEM_DIR if system_dir is None else system_dir
    raw = root / "FashionMNIST" / "raw"
    missing = [f for f in IDX_FILES if not (raw / f).exists()]
    if not missing or not all((system_dir / f"{f}.gz").exists() for f in missing):
        return False
    raw.mkdir(parents=True, exist_ok=True)
    for name in missing:
        partial = raw / f"{name}.partial"
        with gzip.open(system_dir / f"{name}.gz", "rb") as src, open(partial, "wb") as dst:
            shutil.copyfileobj(src, dst)
        os.replace(partial, raw / name)  # never leave a truncated file that looks complete
    return True
