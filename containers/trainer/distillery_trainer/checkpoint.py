"""Per-model training checkpoints in SM_CHECKPOINT_DIR (SageMaker syncs it to S3).

Saved at the end of every epoch: model + optimizer states, epoch, RNG states, history and the best
weights so far, plus an `identity` (model spec, seed, data shape...). A checkpoint whose identity
differs from the current run is ignored, so a changed spec never resumes stale weights.
Writes go to a temp file then `os.replace`, so an interruption never leaves a torn checkpoint.
"""

import os
from pathlib import Path

import torch

from .progress import log


def torch_load(path):
    """torch.load of our own files (they hold optimizer/RNG state, not just tensors)."""
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except TypeError:  # very old torch without weights_only
        return torch.load(path, map_location="cpu")


def save(path: Path, state: dict) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load(path: Path, identity: dict):
    """Return the checkpoint dict, or None if absent, unreadable or for a different run."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        state = torch_load(path)
    except Exception as exc:  # corrupted upload etc.: start over rather than fail the job
        log(f"checkpoint {path} unreadable ({exc}); starting from scratch")
        return None
    if state.get("identity") != identity:
        log(f"checkpoint {path} belongs to a different configuration; starting from scratch")
        return None
    return state
