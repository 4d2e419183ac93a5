"""Shared training loop: mini-batch Adam, per-epoch validation, best-epoch restore, early stopping,
checkpoint/resume. Phase modules supply only the loss function (hard labels or distillation).

Optimizers: SparseAdam for the embedding tables (sparse gradients, only touched rows move; weight
decay is not applied to them) and Adam with `weightDecay` (L2) for every other parameter.
"""

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List

import torch

from . import checkpoint, runtime
from .progress import emit, log

EVAL_BATCH = 4096


@dataclass
class FitResult:
    history: List[dict] = field(default_factory=list)
    best_epoch: int = 0
    best_metric: float = float("-inf")
    seconds: float = 0.0
    resumed_from_epoch: int = 0


@torch.no_grad()
def predict(model, tensors: Dict[str, torch.Tensor], batch_size: int = EVAL_BATCH) -> torch.Tensor:
    """Logits for every row, in row order, in eval mode (no dropout)."""
    was_training = model.training
    model.eval()
    n = tensors["ids"].shape[0]
    out = []
    for start in range(0, n, batch_size):
        sl = slice(start, start + batch_size)
        out.append(model(tensors["dense"][sl], tensors["ids"][sl], tensors["weights"][sl]))
    model.train(was_training)
    if not out:
        return torch.zeros(0, model.num_out, device=tensors["ids"].device)
    return torch.cat(out, dim=0)


def _load_best(state, best_path, identity):
    """Best weights at resume: the checkpoint's own model if its epoch was the best, else the
    `.best` file (written before the checkpoint that needs it)."""
    if state["best_epoch"] == state["epoch"]:
        return {k: v.clone() for k, v in state["model"].items()}
    if state["best_epoch"] == 0:
        return None
    best = checkpoint.load(best_path, identity)
    if best is None or best["best_epoch"] != state["best_epoch"]:
        raise RuntimeError(f"checkpoint {best_path} is missing or stale; delete the checkpoint "
                           f"directory to restart training")
    return best["state"]


def _optimizers(model, spec):
    opts = [torch.optim.SparseAdam(model.table_parameters(), lr=spec.lr)]
    others = model.other_parameters()
    if others:
        opts.append(torch.optim.Adam(others, lr=spec.lr, weight_decay=spec.weight_decay))
    return opts


def fit(*, phase: str, name: str, model, head, spec, train: Dict[str, torch.Tensor],
        val: Dict[str, torch.Tensor], loss_fn: Callable, batch_size: int, seed: int,
        checkpoint_path, identity: dict) -> FitResult:
    """Train `model` in place; on return it holds the best-validation-epoch weights, in eval mode.

    `loss_fn(logits, batch)` returns a dict of scalar terms including "total" (the one minimised);
    every term's epoch mean is logged. A non-finite loss raises FloatingPointError.
    """
    model.set_sparse_grad(True)
    opts = _optimizers(model, spec)
    result = FitResult()
    start_epoch, bad_epochs, best_state, elapsed_before = 0, 0, None, 0.0
    best_path = Path(str(checkpoint_path) + ".best")
    best_file_epoch = 0  # epoch whose best weights are in best_path

    state = checkpoint.load(checkpoint_path, identity)
    if state is not None:
        model.load_state_dict(state["model"])
        for opt, opt_state in zip(opts, state["optimizers"]):
            opt.load_state_dict(opt_state)
        runtime.set_rng_state(state["rng"])
        start_epoch = state["epoch"]
        bad_epochs = state["bad_epochs"]
        best_state = _load_best(state, best_path, identity)
        best_file_epoch = state["best_epoch"]
        elapsed_before = state["seconds"]
        result.history = state["history"]
        result.best_epoch, result.best_metric = state["best_epoch"], state["best_metric"]
        result.resumed_from_epoch = start_epoch
        log(f"{name}: resumed from checkpoint after epoch {start_epoch}")
        if state.get("stopped"):
            start_epoch = spec.epochs

    n = train["ids"].shape[0]
    device = train["ids"].device
    t0 = time.time() - elapsed_before
    for epoch in range(start_epoch, spec.epochs):
        model.train()
        # Shuffle from (seed, epoch) so a resumed run sees the same order as an uninterrupted one.
        gen = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
        perm = torch.randperm(n, generator=gen).to(device)
        sums: Dict[str, float] = {}
        for start in range(0, n, batch_size):
            idx = perm[start:start + batch_size]
            batch = {k: v[idx] for k, v in train.items()}
            logits = model(batch["dense"], batch["ids"], batch["weights"])
            terms = loss_fn(logits, batch)
            total = terms["total"]
            if not torch.isfinite(total):
                raise FloatingPointError(
                    f"{name}: loss became {total.item()} at epoch {epoch + 1} "
                    f"(terms: { {k: float(v.item()) for k, v in terms.items()} }); "
                    f"lower lr (now {spec.lr}) or check the input data for NaN/Inf")
            for opt in opts:
                opt.zero_grad(set_to_none=True)
            total.backward()
            for opt in opts:
                opt.step()
            rows = idx.shape[0]
            for k, v in terms.items():
                sums[k] = sums.get(k, 0.0) + float(v.detach().item()) * rows
        metric = head.metric(predict(model, val), val["y"])
        epoch_no = epoch + 1
        means = {k: v / n for k, v in sums.items()}
        entry = {"epoch": epoch_no, "loss": means.pop("total"), **means, head.metric_key: metric,
                 "seconds": round(time.time() - t0, 3)}
        result.history.append(entry)
        if not math.isnan(metric) and metric > result.best_metric:
            result.best_metric, result.best_epoch, bad_epochs = metric, epoch_no, 0
            best_state = {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()}
        else:
            bad_epochs += 1
        stopped = bad_epochs >= spec.patience
        emit("progress", {"phase": phase, "model": name, "epoch": epoch_no, "epochs": spec.epochs,
                          **entry})
        if result.best_epoch != epoch_no and best_file_epoch != result.best_epoch:
            # The best weights are no longer the current ones: persist them once, beside the
            # checkpoint, rather than rewriting 100+ MB of identical tables every epoch.
            checkpoint.save(best_path, {"identity": identity, "best_epoch": result.best_epoch,
                                        "state": best_state})
            best_file_epoch = result.best_epoch
        checkpoint.save(checkpoint_path, {
            "identity": identity, "epoch": epoch_no, "model": model.state_dict(),
            "optimizers": [o.state_dict() for o in opts], "rng": runtime.rng_state(),
            "history": result.history, "best_epoch": result.best_epoch,
            "best_metric": result.best_metric,
            "bad_epochs": bad_epochs, "stopped": stopped, "seconds": time.time() - t0})
        if stopped:
            log(f"{name}: early stop after epoch {epoch_no} (best epoch {result.best_epoch})")
            break

    if best_state is not None:
        model.load_state_dict(best_state)
    model.set_sparse_grad(False)
    model.eval()
    result.seconds = round(time.time() - t0, 3)
    return result
