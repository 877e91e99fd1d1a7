"""Datasets: scikit-learn's bundled digits (the embedded default), MNIST and Fashion-MNIST from a
directory of the four standard IDX files (gzip or unpacked). Nothing is downloaded.

Every loader returns a ``Splits`` of float32 inputs z-scored with the global mean and standard
deviation of the training split (SCIENCE.md section 5) and int64 labels.
"""

from __future__ import annotations

import gzip
import os
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from inspector.errors import InfomorphError, choose_one

IDX_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
DEFAULT_MNIST_DIR = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "mnist"
TORCHVISION_FOLDERS = {"mnist": "MNIST", "fashion-mnist": "FashionMNIST"}
"""torchvision keeps the same files in ``ROOT/<folder>/raw``: such a ROOT is accepted too."""


@dataclass(frozen=True)
class Splits:
    """(x, y) per split; ``x`` (sample, feature) float32 z-scored, ``y`` (sample,) int64."""

    name: str
    train: tuple[np.ndarray, np.ndarray]
    val: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]
    image_shape: tuple[int, int]
    classes: int = 10

    @property
    def features(self) -> int:
        return self.train[0].shape[1]


def _zscore(train_x: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    mean, std = float(train_x.mean()), float(train_x.std())
    std = std if std > 0 else 1.0
    return [((x - mean) / std).astype(np.float32) for x in (train_x, *others)]


def _split(x: np.ndarray, y: np.ndarray, val_fraction: float, seed: int):
    order = np.random.default_rng(seed).permutation(len(x))
    n_val = round(len(x) * val_fraction)
    val, train = order[:n_val], order[n_val:]
    return (x[train], y[train]), (x[val], y[val])


def load_digits(seed: int = 0) -> Splits:
    """scikit-learn's 1797 8x8 digits: 60 % train, 20 % validation, 20 % test."""
    from sklearn.datasets import load_digits as sk_digits

    data = sk_digits()
    x, y = data.data.astype(np.float32), data.target.astype(np.int64)
    order = np.random.default_rng(seed).permutation(len(x))
    n_test = round(len(x) * 0.2)
    test, rest = order[:n_test], order[n_test:]
    (tx, ty), (vx, vy) = _split(x[rest], y[rest], 0.25, seed + 1)
    tx, vx, ex = _zscore(tx, vx, x[test])
    return Splits("digits", (tx, ty), (vx, vy), (ex, y[test]), (8, 8))


def read_idx(path: Path) -> np.ndarray:
    """One IDX file, gzip-compressed or not (magic 2049 labels or 2051 images, big-endian
    header), as uint8."""
    try:
        with open(path, "rb") as handle:
            packed = handle.read(2) == b"\x1f\x8b"  # gzip's magic
        if path.suffix == ".gz" and not packed:
            raise OSError("no gzip header")
        with (gzip.open if packed else open)(path, "rb") as handle:
            data = handle.read()
    except (OSError, EOFError) as err:
        raise InfomorphError(f"{path} is not a readable gzip IDX file: {err}") from None
    if len(data) < 8:
        raise InfomorphError(f"{path} is truncated: {len(data)} bytes")
    magic, count = struct.unpack(">II", data[:8])
    if magic == 2049:
        shape, offset = (count,), 8
    elif magic == 2051 and len(data) >= 16:
        rows, cols = struct.unpack(">II", data[8:16])
        shape, offset = (count, rows, cols), 16
    else:
        raise InfomorphError(f"{path} is not an IDX file (magic number {magic})")
    expected = offset + int(np.prod(shape))
    if len(data) != expected:
        raise InfomorphError(
            f"{path} is truncated or padded: {len(data)} bytes, "
            f"expected {expected} for shape {shape}"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(shape)


def load_idx_dataset(name: str, data_dir: str | os.PathLike | None, seed: int = 0) -> Splits:
    """MNIST or Fashion-MNIST (same file names) from ``data_dir``: 48k/12k/10k splits."""
    if data_dir is None:
        if name != "mnist" or not DEFAULT_MNIST_DIR.is_dir():
            raise InfomorphError(
                f"--data {name} needs --data-dir, a directory holding "
                f"{', '.join(IDX_FILES.values())}"
            )
        data_dir = DEFAULT_MNIST_DIR
    root = Path(data_dir)
    if not root.is_dir():
        raise InfomorphError(
            f"data directory {root} does not exist; it must hold {', '.join(IDX_FILES.values())}"
        )
    paths = _idx_paths(root, name)
    arrays = {key: read_idx(path) for key, path in paths.items()}
    for split in ("train", "test"):
        if len(arrays[f"{split}_images"]) != len(arrays[f"{split}_labels"]):
            raise InfomorphError(f"{root}: {split} images and labels differ in number")
    x = arrays["train_images"].reshape(len(arrays["train_images"]), -1).astype(np.float32)
    (tx, ty), (vx, vy) = _split(x, arrays["train_labels"].astype(np.int64), 0.2, seed)
    ex = arrays["test_images"].reshape(len(arrays["test_images"]), -1).astype(np.float32)
    tx, vx, ex = _zscore(tx, vx, ex)
    shape = arrays["train_images"].shape[1:]
    return Splits(
        name,
        (tx, ty),
        (vx, vy),
        (ex, arrays["test_labels"].astype(np.int64)),
        (int(shape[0]), int(shape[1])),
    )


def _idx_paths(root: Path, name: str) -> dict[str, Path]:
    """The four IDX files of ``name`` below ``root``: each as ``.gz`` or unpacked (its name
    without ``.gz``), in ``root`` itself, in ``root/raw`` or in torchvision's
    ``root/<MNIST|FashionMNIST>/raw``; the first of these folders holding all four."""

    def found_in(folder: Path) -> dict[str, Path]:
        found = {}
        for key, file in IDX_FILES.items():
            packed, unpacked = folder / file, folder / file.removesuffix(".gz")
            if packed.is_file() or unpacked.is_file():
                found[key] = packed if packed.is_file() else unpacked
        return found

    for folder in (root, root / "raw", root / TORCHVISION_FOLDERS[name] / "raw"):
        found = found_in(folder)
        if len(found) == len(IDX_FILES):
            return found
    missing = [file for key, file in IDX_FILES.items() if key not in found_in(root)]
    expected = f"the four standard IDX files, gzip or unpacked: {', '.join(IDX_FILES.values())}"
    if len(missing) == len(IDX_FILES):
        raise InfomorphError(f"data directory {root} holds none of {expected}")
    raise InfomorphError(f"data directory {root} lacks {', '.join(missing)} (expected {expected})")


DATASETS = ("digits", "mnist", "fashion-mnist")


def load_dataset(name: str, data_dir: str | os.PathLike | None = None, seed: int = 0) -> Splits:
    if name == "digits":
        return load_digits(seed)
    if name in ("mnist", "fashion-mnist"):
        return load_idx_dataset(name, data_dir, seed)
    raise choose_one("dataset", name, DATASETS)
