"""Structured pruning of the `deep` members of an EnsembleModel (wide members are copied as-is).

Per deep member, with ratio r applied to every group:
  hidden unit j of hidden layer i:  importance = ||[W_i[j,:], b_i[j]]|| * ||W_{i+1}[:,j]||
                                      (* mean |activation_j| on training rows, when rows are given)
  embedding dim d:                  importance = ||E[:,d]|| * ||W_1[:,d]||
keep = max(1, round(n * (1 - r))) of each group, highest importance, kept in original order.

The result is a genuinely smaller model: a freshly built EnsembleModel whose Parameters are slices
of the originals (no masks, no torch.nn.utils.prune reparametrisation). Kept units are untouched:
the bag's kept dims equal the original ones, and with no embedding dim removed every kept hidden
unit's activation is unchanged (removed units only stop feeding the next layer).
"""

import copy
import dataclasses

import torch
import torch.nn as nn

from .models import build_model


def keep_count(n: int, ratio: float) -> int:
    return min(n, max(1, int(round(n * (1.0 - ratio)))))


def _top(importance: torch.Tensor, k: int) -> torch.Tensor:
    idx = torch.argsort(importance, descending=True)[:k]
    return torch.sort(idx).values


def _linears(member):
    return [m for m in member.mlp if isinstance(m, nn.Linear)]


@torch.no_grad()
def _mean_abs_activations(member, rows):
    """Mean |post-ReLU activation| of every hidden layer over `rows` (dense, ids, weights)."""
    if rows is None:
        return None
    was = member.training
    member.eval()
    acts = []
    hooks = [m.register_forward_hook(lambda mod, inp, out: acts.append(out.abs().mean(0)))
             for m in member.mlp if isinstance(m, nn.ReLU)]
    try:
        member(*rows)
    finally:
        for h in hooks:
            h.remove()
        member.train(was)
    return acts


@torch.no_grad()
def plan_member(member, ratio: float, rows=None, dim_ratio: float = None):
    """Kept index tensors: {"dims": [...], "hidden": [[...], ...]} for one deep member."""
    dim_ratio = ratio if dim_ratio is None else dim_ratio
    lins = _linears(member)
    acts = _mean_abs_activations(member, rows)
    hidden = []
    for i, lin in enumerate(lins[:-1]):
        w_in = torch.cat([lin.weight, lin.bias.unsqueeze(1)], dim=1).norm(dim=1)
        w_out = lins[i + 1].weight.norm(dim=0)
        imp = w_in * w_out
        if acts is not None:
            imp = imp * acts[i]
        hidden.append(_top(imp, keep_count(lin.out_features, ratio)))
    dim = member.table.shape[1]
    imp = member.table.norm(dim=0) * lins[0].weight[:, :dim].norm(dim=0)
    return {"dims": _top(imp, keep_count(dim, dim_ratio)), "hidden": hidden}


@torch.no_grad()
def _copy_member(src, dst, plan):
    dim = src.table.shape[1]
    dst.table.copy_(src.table[:, plan["dims"]])
    # first layer input columns: kept bag dims, then every dense column
    cols = torch.cat([plan["dims"], torch.arange(dim, lins_in(src), dtype=plan["dims"].dtype)])
    keep_in = cols
    for i, (s, d) in enumerate(zip(_linears(src), _linears(dst))):
        keep_out = plan["hidden"][i] if i < len(plan["hidden"]) else torch.arange(s.out_features)
        d.weight.copy_(s.weight[keep_out][:, keep_in])
        d.bias.copy_(s.bias[keep_out])
        keep_in = keep_out


def lins_in(member) -> int:
    return _linears(member)[0].in_features



@torch.no_grad()
def prune_model(model, spec, ratio: float, rows=None, dim_ratio: float = None):
    """Return (pruned EnsembleModel on model's device, new ModelSpec, details list).

    `spec` is the ModelSpec `model` was built from; `rows` optional (dense, ids, weights) training
    rows for activation-weighted importance."""
    device = next(model.parameters()).device
    src = copy.deepcopy(model).eval()
    src.set_sparse_grad(False)
    plans, members, details = [], [], []
    for k, (m, ms) in enumerate(zip(src.members, spec.members)):
        if m.type != "deep":
            plans.append(None)
            members.append(ms)
            continue
        plan = plan_member(m, ratio, rows, dim_ratio)
        plans.append(plan)
        members.append(dataclasses.replace(ms, dim=len(plan["dims"]),
                                           hidden=[len(h) for h in plan["hidden"]]))
        details.append({
            "member": k,
            "embeddingDims": {"before": ms.dim, "kept": len(plan["dims"]),
                              "removed": ms.dim - len(plan["dims"]),
                              "keptIndices": plan["dims"].tolist()},
            "hiddenLayers": [{"layer": i, "before": h, "kept": len(p), "removed": h - len(p)}
                             for i, (h, p) in enumerate(zip(ms.hidden, plan["hidden"]))],
        })
    new_spec = dataclasses.replace(spec, members=members)
    pruned = build_model(new_spec, model.dense_dim, model.num_out).to(device)
    for s, d, plan in zip(src.members, pruned.members, plans):
        if plan is None:
            d.load_state_dict(s.state_dict())
        else:
            _copy_member(s, d, plan)
    pruned.eval()
    return pruned, new_spec, details
