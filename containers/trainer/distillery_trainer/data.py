"""Dataset snapshot loading: `manifest.json` + per split `dense/ids/weights/y.npy`.

Shapes (checked here so a bad snapshot fails with a clear message, not deep inside torch):
dense float32 [N, D] (D may be 0), ids int32 [N, L] in [0, hashBuckets), weights float32 [N, L]
(padding has id 0 and weight 0), y int64 [N].
"""

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List

import numpy as np
import torch

SPLITS = ("train", "validation", "test")


class DataError(ValueError):
    """The dataset channel is missing files or holds inconsistent arrays."""


@dataclass
class Manifest:
    raw: dict
    task: str
    kind: str
    labels: List[str]
    dense_dim: int
    max_tokens: int
    hash_buckets: int


@dataclass
class Split:
    name: str
    dense: np.ndarray
    ids: np.ndarray
    weights: np.ndarray
    y: np.ndarray

    def __len__(self):
        return int(self.y.shape[0])

    def tensors(self, device) -> Dict[str, torch.Tensor]:
        """Whole split as tensors on `device` (snapshots are small enough to live in memory)."""
        return {
            "dense": torch.from_numpy(self.dense).to(device),
            "ids": torch.from_numpy(self.ids).to(device),
            "weights": torch.from_numpy(self.weights).to(device),
            "y": torch.from_numpy(self.y).to(device),
        }


def load_manifest(root: Path) -> Manifest:
    path = Path(root) / "manifest.json"
    if not path.is_file():
        raise DataError(f"dataset manifest not found: {path}")
    with open(path, "r", encoding="utf-8") as fh:
        raw = json.load(fh)
    feat = raw.get("featurizer") or {}
    labels = raw.get("labels") or []
    try:
        return Manifest(raw=raw, task=str(raw.get("task", "")), kind=str(raw.get("kind", "classification")),
                        labels=[str(x) for x in labels], dense_dim=int(feat.get("denseDim", -1)),
                        max_tokens=int(feat.get("maxTokens", -1)),
                        hash_buckets=int(feat.get("hashBuckets", 0)))
    except (TypeError, ValueError) as exc:
        raise DataError(f"manifest.json has malformed featurizer fields: {exc}") from None


def _load(path: Path, dtype, ndim: int) -> np.ndarray:
    if not path.is_file():
        raise DataError(f"dataset file not found: {path}")
    arr = np.load(path, allow_pickle=False)
    if arr.ndim != ndim:
        raise DataError(f"{path} must have {ndim} dimensions, got shape {arr.shape}")
    if arr.dtype != dtype:
        if np.issubdtype(arr.dtype, np.floating) != np.issubdtype(np.dtype(dtype), np.floating):
            raise DataError(f"{path} must be {np.dtype(dtype).name}, got {arr.dtype}")
        arr = arr.astype(dtype)
    return np.ascontiguousarray(arr)


def load_split(root: Path, name: str, manifest: Manifest) -> Split:
    base = Path(root) / name
    dense = _load(base / "dense.npy", np.float32, 2)
    ids = _load(base / "ids.npy", np.int32, 2)
    weights = _load(base / "weights.npy", np.float32, 2)
    y = _load(base / "y.npy", np.int64, 1)
    n = y.shape[0]
    if not (dense.shape[0] == ids.shape[0] == weights.shape[0] == n):
        raise DataError(f"split '{name}' row counts differ: dense {dense.shape}, ids {ids.shape}, "
                        f"weights {weights.shape}, y {y.shape}")
    if ids.shape != weights.shape:
        raise DataError(f"split '{name}': ids {ids.shape} and weights {weights.shape} differ")
    if manifest.dense_dim >= 0 and dense.shape[1] != manifest.dense_dim:
        raise DataError(f"split '{name}': dense has {dense.shape[1]} columns, manifest says "
                        f"featurizer.denseDim={manifest.dense_dim}")
    if n and ids.min() < 0:
        raise DataError(f"split '{name}': ids must be non-negative")
    if n and manifest.labels and (y.min() < 0 or y.max() >= len(manifest.labels)):
        raise DataError(f"split '{name}': y must be a class index in [0, {len(manifest.labels)})")
    return Split(name, dense, ids, weights, y)


def load_dataset(root: Path):
    """Return (manifest, {split: Split}); train and validation must be non-empty."""
    manifest = load_manifest(root)
    splits = {name: load_split(root, name, manifest) for name in SPLITS}
    for name in ("train", "validation"):
        if len(splits[name]) == 0:
            raise DataError(f"split '{name}' is empty; cannot train")
    return manifest, splits
