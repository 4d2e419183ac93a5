"""Tiny synthetic snapshots in the dataset-channel format, plus helpers to run a phase."""

import json
from pathlib import Path

import numpy as np

HASH_BUCKETS = 1 << 20


def write_snapshot(root: Path, *, classes=4, dense_dim=3, tokens=12, rows=(240, 80, 40), seed=0,
                   hash_buckets=HASH_BUCKETS):
    """Each class owns 6 'keyword' ids; a row holds 3 keywords of its class + noise + padding.
    Dense features carry a weak class signal. Ids span [1, hash_buckets) so `mod buckets` matters."""
    rng = np.random.default_rng(seed)
    root = Path(root)
    keywords = rng.integers(1, hash_buckets, size=(classes, 6))
    counts = {}
    for split, n in zip(("train", "validation", "test"), rows):
        y = rng.integers(0, classes, size=n).astype(np.int64)
        ids = np.zeros((n, tokens), dtype=np.int32)
        weights = np.zeros((n, tokens), dtype=np.float32)
        for i in range(n):
            used = int(rng.integers(max(3, tokens // 2), tokens + 1))
            kw = rng.choice(keywords[y[i]], size=3, replace=False)
            noise = rng.integers(1, hash_buckets, size=used - 3)
            ids[i, :used] = np.concatenate([kw, noise])
            weights[i, :used] = 1.0 / np.sqrt(used)
        dense = (rng.normal(size=(n, dense_dim)) + 0.3 * (y[:, None] % 2)).astype(np.float32)
        d = root / split
        d.mkdir(parents=True, exist_ok=True)
        np.save(d / "dense.npy", dense)
        np.save(d / "ids.npy", ids)
        np.save(d / "weights.npy", weights)
        np.save(d / "y.npy", y)
        counts[split] = n
    manifest = {"task": "synthetic", "kind": "classification",
                "labels": [f"class-{c}" for c in range(classes)],
                "featurizer": {"denseDim": dense_dim, "maxTokens": tokens,
                               "hashBuckets": hash_buckets},
                "counts": counts}
    (root / "manifest.json").write_text(json.dumps(manifest))
    return manifest


def as_strings(obj: dict) -> dict:
    """SageMaker style: every hyperparameter value is a string."""
    return {k: v if isinstance(v, str) else json.dumps(v) for k, v in obj.items()}


TEACHER = {"members": [{"type": "wide", "buckets": 4096},
                       {"type": "deep", "buckets": 4096, "dim": 16, "hidden": [32], "dropout": 0.1}],
           "epochs": 12, "lr": 0.02, "weightDecay": 0.0}
STUDENT = {"members": [{"type": "deep", "buckets": 1024, "dim": 8, "hidden": [16], "dropout": 0.0}],
           "epochs": 12, "lr": 0.02}


def hyperparameters(phase, **overrides):
    hp = {"phase": phase, "task_kind": "classification", "seed": 7, "batch_size": 32,
          "teacher": TEACHER, "student": STUDENT, "temperature": 4, "alpha": 0.7}
    hp.update(overrides)
    return as_strings(hp)


def sm_env(tmp: Path, dataset: Path, phase: str, hp: dict, teacher: Path = None) -> dict:
    """SM_* variables pointing a run at folders under `tmp` (per-phase model/ckpt/output dirs)."""
    config = tmp / f"config-{phase}"
    config.mkdir(parents=True, exist_ok=True)
    (config / "hyperparameters.json").write_text(json.dumps(hp))
    env = {"SM_CHANNEL_DATASET": str(dataset), "SM_INPUT_CONFIG_DIR": str(config),
           "SM_MODEL_DIR": str(tmp / f"model-{phase}"),
           "SM_CHECKPOINT_DIR": str(tmp / f"ckpt-{phase}"),
           "SM_OUTPUT_DIR": str(tmp / f"output-{phase}")}
    if teacher is not None:
        env["SM_CHANNEL_TEACHER"] = str(teacher)
    return env
