"""Device, threads and seeding.

CUDA when present, else CPU (DESIGN.md 4.5). On CPU every core is used for intra-op parallelism;
SageMaker CPU instances and a laptop alike benefit.
"""

import os
import random

import numpy as np
import torch


def choose_device(prefer: str = None) -> torch.device:
    """`prefer` ("cpu"/"cuda", or env DISTILLERY_DEVICE) wins; else CUDA if available; else CPU."""
    prefer = (prefer or os.environ.get("DISTILLERY_DEVICE") or "").strip().lower()
    if prefer == "cpu":
        return torch.device("cpu")
    try:
        if torch.cuda.is_available():
            return torch.device("cuda")
    except Exception:  # broken driver installs must not kill a CPU run
        pass
    return torch.device("cpu")


def configure_threads() -> int:
    n = os.cpu_count() or 1
    torch.set_num_threads(n)
    return n


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2 ** 32))
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def rng_state() -> dict:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        try:
            torch.cuda.set_rng_state_all(state["cuda"])
        except Exception:  # different GPU count after a restart: keep the fresh state
            pass
