"""Hashed-feature models: ensembles of `wide` and `deep` members over (dense, ids, weights).

Every member owns an embedding table of `buckets` rows and reads row `ids mod buckets`, so a big
teacher and a small student share the featurizer's ids (which range over hashBuckets). The bag is

    bag[n] = sum_l  E[ids[n, l] mod B] * weights[n, l]

written as Gather + Mul + ReduceSum rather than nn.EmbeddingBag, because EmbeddingBag's ONNX
export is slow or unsupported. `torch.remainder` on int64 exports to ONNX `Mod(fmod=0)` on int64,
which is exact (ids are non-negative, so floor and truncating modulo agree).

Training uses sparse gradients for the tables (`F.embedding(..., sparse=True)`): a batch touches
~15k of 262k rows, so SparseAdam updates only those rows instead of the whole table.
"""

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def hashed_bag(table: torch.Tensor, ids: torch.Tensor, weights: torch.Tensor, sparse: bool = False):
    """sum_l table[ids[:, l] mod B] * weights[:, l]  ->  [N, table.shape[1]]."""
    idx = torch.remainder(ids.long(), table.shape[0])
    vectors = F.embedding(idx, table, sparse=sparse)  # ONNX Gather
    return (vectors * weights.unsqueeze(-1)).sum(dim=1)


class Member(nn.Module):
    """`wide`: logits = bag_C(ids) + W·dense + b (a linear model over hashed features).
    `deep`: logits = MLP([bag_dim(ids), dense]) with ReLU + dropout hidden layers."""

    def __init__(self, spec, dense_dim: int, num_out: int):
        super().__init__()
        self.type = spec.type
        self.sparse_grad = False
        if spec.type == "wide":
            self.table = nn.Parameter(torch.zeros(spec.buckets, num_out))
            self.dense_linear = nn.Linear(dense_dim, num_out, bias=False) if dense_dim > 0 else None
            self.bias = nn.Parameter(torch.zeros(num_out))
            self.mlp = None
        elif spec.type == "deep":
            # N(0, 1/sqrt(dim)): a bag of ~L unit-weight tokens then has O(1) activations.
            self.table = nn.Parameter(torch.randn(spec.buckets, spec.dim) / math.sqrt(spec.dim))
            self.dense_linear = None
            self.bias = None
            layers, width = [], spec.dim + dense_dim
            for h in spec.hidden:
                layers += [nn.Linear(width, h), nn.ReLU(), nn.Dropout(spec.dropout)]
                width = h
            layers.append(nn.Linear(width, num_out))
            self.mlp = nn.Sequential(*layers)
            self.dense_dim = dense_dim
        else:
            raise ValueError(f"unknown member type {spec.type!r}")

    def forward(self, dense, ids, weights):
        bag = hashed_bag(self.table, ids, weights, sparse=self.sparse_grad and self.training)
        if self.type == "wide":
            out = bag + self.bias
            if self.dense_linear is not None:
                out = out + self.dense_linear(dense)
            return out
        x = torch.cat([bag, dense], dim=1) if self.dense_dim > 0 else bag
        return self.mlp(x)


class EnsembleModel(nn.Module):
    """logits = mean over members of member logits."""

    def __init__(self, spec, dense_dim: int, num_out: int):
        super().__init__()
        self.members = nn.ModuleList([Member(m, dense_dim, num_out) for m in spec.members])
        self.dense_dim = dense_dim
        self.num_out = num_out

    def set_sparse_grad(self, enabled: bool):
        for m in self.members:
            m.sparse_grad = enabled

    def forward(self, dense, ids, weights):
        out = self.members[0](dense, ids, weights)
        for m in self.members[1:]:
            out = out + m(dense, ids, weights)
        if len(self.members) > 1:
            out = out / float(len(self.members))
        return out

    def table_parameters(self):
        """Embedding tables (sparse gradients, SparseAdam)."""
        return [m.table for m in self.members]

    def other_parameters(self):
        tables = {id(p) for p in self.table_parameters()}
        return [p for p in self.parameters() if id(p) not in tables]


def count_parameters(model: nn.Module) -> int:
    return int(sum(p.numel() for p in model.parameters()))


def build_model(spec, dense_dim: int, num_out: int) -> EnsembleModel:
    return EnsembleModel(spec, dense_dim, num_out)
