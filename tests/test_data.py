"""nasnb.data: deterministic stratified splits, offline torchvision loading, clear failures."""

from __future__ import annotations

import gzip
import struct
import subprocess
import sys

import numpy as np
import pytest
import torch

from nasnb.data import DATASETS, Dataset, DatasetUnavailableError, Split, load_dataset, sources
from nasnb.data import datasets as datasets_module
from nasnb.data.sources import IDX_FILES, RawData


def write_idx(raw_dir, n_train=200, n_test=50, size=28):
    """Tiny MNIST-format files: IDX headers as torchvision reads them, balanced labels."""
    raw_dir.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        images = rng.integers(0, 256, size=(n, size, size), dtype=np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        (raw_dir / f"{prefix}-images-idx3-ubyte").write_bytes(
            struct.pack(">iiii", 0x0803, n, size, size) + images.tobytes()
        )
        (raw_dir / f"{prefix}-labels-idx1-ubyte").write_bytes(struct.pack(">ii", 0x0801, n) + labels.tobytes())


def test_digits_splits_have_expected_sizes_shapes_and_normalisation():
    ds = load_dataset("digits")
    assert isinstance(ds, Dataset) and isinstance(ds.train, Split)
    assert (len(ds.train), len(ds.val), len(ds.test)) == (1077, 360, 360)
    assert ds.input_shape == (1, 8, 8) and ds.num_classes == 10 and ds.classes[3] == "3"
    assert ds.train.x.dtype == torch.float32 and ds.train.y.dtype == torch.int64
    assert abs(float(ds.train.x.mean())) < 1e-4 and abs(float(ds.train.x.std()) - 1) < 1e-3


def test_digits_splits_are_deterministic_and_depend_on_the_seed():
    a = load_dataset("digits", seed=1)
    datasets_module._load.cache_clear()
    b = load_dataset("digits", seed=1)
    assert a is not b and torch.equal(a.val.x, b.val.x) and torch.equal(a.train.y, b.train.y)
    assert load_dataset("digits", seed=1) is b  # cached
    c = load_dataset("digits", seed=2)
    assert not torch.equal(a.val.x, c.val.x)


def test_splits_are_stratified():
    ds = load_dataset("digits")
    for split in (ds.train, ds.val, ds.test):
        counts = np.bincount(split.y.numpy(), minlength=10)
        assert counts.max() - counts.min() <= 5, counts


@pytest.mark.parametrize("official_test", [False, True])
def test_splits_are_disjoint_and_cover_the_pool(official_test):
    y = np.arange(500) % 5
    ids = np.arange(500)[:, None]
    raw = RawData(
        ids,
        y,
        tuple("abcde"),
        x_test=-ids[:100] - 1 if official_test else None,
        y_test=y[:100] if official_test else None,
    )
    train, val, test = (set(x.ravel().tolist()) for x, _ in datasets_module._split(raw, None, 0, 0.2, 0.2))
    assert not (train & val or train & test or val & test)
    if official_test:
        assert train | val == set(range(500)) and len(val) == 100 and len(test) == 100
    else:
        assert train | val | test == set(range(500)) and len(val) == len(test) == 100


def test_subset_is_stratified_and_shrinks_every_split():
    ds = load_dataset("digits", subset=500)
    assert len(ds.train) + len(ds.val) + len(ds.test) == 500
    assert np.bincount(ds.train.y.numpy()).min() >= 28


def test_moons_are_vectors_of_two_features():
    ds = load_dataset("moons")
    assert ds.input_shape == (2,) and ds.num_classes == 2
    assert len(ds.train) + len(ds.val) + len(ds.test) == 1000
    small = load_dataset("moons", subset=300)
    assert len(small.train) + len(small.val) + len(small.test) == 300


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(ValueError, match="fashion-mnist"):
        load_dataset("imagenet")


@pytest.mark.parametrize("kwargs", [{"subset": 1}, {"val_fraction": 0}, {"val_fraction": 0.5, "test_fraction": 0.5}])
def test_bad_arguments_are_named(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        load_dataset("digits", **kwargs)


def test_fake_mnist_idx_files_load_offline(tmp_path):
    write_idx(tmp_path / "MNIST" / "raw")
    ds = load_dataset("mnist", root=tmp_path, download=False)
    assert (len(ds.train), len(ds.val), len(ds.test)) == (160, 40, 50)
    assert ds.input_shape == (1, 28, 28) and ds.num_classes == 10
    small = load_dataset("MNIST", root=tmp_path, download=False, subset=100)
    assert (len(small.train) + len(small.val), len(small.test)) == (100, 25)


def test_fashion_mnist_is_unpacked_from_the_system_copy(tmp_path, monkeypatch):
    write_idx(tmp_path / "idx")
    system = tmp_path / "system"
    system.mkdir()
    for name in IDX_FILES:
        (system / f"{name}.gz").write_bytes(gzip.compress((tmp_path / "idx" / name).read_bytes()))
    monkeypatch.setattr(sources, "FASHION_SYSTEM_DIR", system)
    ds = load_dataset("fashion_mnist", root=tmp_path / "data", download=False)
    assert len(ds.test) == 50 and ds.classes[0] == "T-shirt/top"
    assert sorted(p.name for p in (tmp_path / "data" / "FashionMNIST" / "raw").iterdir()) == sorted(IDX_FILES)


@pytest.mark.skipif(not sources.FASHION_SYSTEM_DIR.exists(), reason="apt-get install dataset-fashion-mnist")
def test_real_fashion_mnist_loads_from_the_debian_package(tmp_path):
    ds = load_dataset("fashion-mnist", root=tmp_path, subset=1000)
    assert (len(ds.train), len(ds.val), len(ds.test)) == (800, 200, 167)


def test_missing_cifar10_says_how_to_get_it(tmp_path):
    with pytest.raises(DatasetUnavailableError, match="cifar-10-python.tar.gz") as info:
        load_dataset("cifar10", root=tmp_path, download=False)
    assert isinstance(info.value, RuntimeError) and str(tmp_path) in str(info.value)


def test_missing_fashion_mnist_mentions_the_debian_package(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "FASHION_SYSTEM_DIR", tmp_path / "nowhere")
    with pytest.raises(DatasetUnavailableError, match="apt-get install dataset-fashion-mnist"):
        load_dataset("fashion-mnist", root=tmp_path, download=False)


def test_root_defaults_to_the_environment_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("NASNB_DATA", str(tmp_path))
    assert sources.default_root() == tmp_path
    assert set(DATASETS) == {"digits", "moons", "mnist", "fashion-mnist", "cifar10"}


def test_importing_data_and_evaluation_does_not_import_torch():
    code = "import sys, nasnb.data, nasnb.evaluation; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
