"""Datasets held in memory as tensors, with deterministic stratified splits.

torch, torchvision and scikit-learn are imported only when a dataset is loaded.
"""

from .datasets import DATASETS, Dataset, Split, load_dataset
from .sources import DatasetUnavailableError

__all__ = ["DATASETS", "Dataset", "DatasetUnavailableError", "Split", "load_dataset"]
