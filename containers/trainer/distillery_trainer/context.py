"""Everything a phase needs, resolved once: paths, hyperparameters, dataset, head, device."""

from dataclasses import dataclass

import torch

from .config import Hyperparameters, load_hyperparameters
from .data import Manifest, load_dataset
from .heads import Head, get_head
from .paths import Paths
from .progress import log
from .runtime import choose_device


@dataclass
class Context:
    paths: Paths
    hp: Hyperparameters
    manifest: Manifest
    splits: dict
    head: Head
    device: torch.device

    @property
    def dense_dim(self) -> int:
        return int(self.splits["train"].dense.shape[1])

    @property
    def num_out(self) -> int:
        return self.head.output_dim(self.manifest)

    def tensors(self, split: str):
        return self.splits[split].tensors(self.device)


def build_context(paths: Paths) -> Context:
    hp = load_hyperparameters(paths.hyperparameters)
    manifest, splits = load_dataset(paths.dataset)
    kind = hp.task_kind or manifest.kind
    if hp.task_kind and manifest.kind and hp.task_kind != manifest.kind:
        log(f"task_kind '{hp.task_kind}' differs from manifest kind '{manifest.kind}'; using task_kind")
    head = get_head(kind)
    return Context(paths, hp, manifest, splits, head, choose_device())
