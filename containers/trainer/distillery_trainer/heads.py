"""The seam for the task kind: everything that differs between classification, regression,
anomaly scoring and forecasting lives behind `Head`.

A head decides: the output width, the activation exported next to the raw `logits`, the hard-label
loss, the soft-target (distillation) loss, the validation metric (higher is better) and how the
labels `y.npy` are typed. Only classification exists today; regression/anomaly would use an
identity activation, MSE hard loss and MSE-to-teacher soft loss (DESIGN.md 4.5).
"""

from typing import Dict

import torch

from . import losses


class Head:
    kind = "abstract"
    activation_name = "probabilities"  # ONNX output name of activation(logits)
    metric_name = "accuracy"
    metric_key = "valAccuracy"          # key in progress lines and metrics.json

    def output_dim(self, manifest) -> int:
        raise NotImplementedError

    def activation(self, logits: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def hard_loss(self, logits, y) -> Dict[str, torch.Tensor]:
        """Loss on labels only; returns terms with a "total"."""
        raise NotImplementedError

    def soft_loss(self, logits, teacher_logits, y, temperature, alpha) -> Dict[str, torch.Tensor]:
        """Distillation loss; returns named terms with a "total"."""
        raise NotImplementedError

    def metric(self, logits, y) -> float:
        raise NotImplementedError


class ClassificationHead(Head):
    """C-way softmax for binary and multi-class alike (binary is just C = 2)."""
    kind = "classification"

    def output_dim(self, manifest) -> int:
        if len(manifest.labels) < 2:
            raise ValueError("classification needs at least 2 labels in manifest.json 'labels'")
        return len(manifest.labels)

    def activation(self, logits):
        return torch.softmax(logits, dim=-1)

    def hard_loss(self, logits, y):
        ce = losses.cross_entropy(logits, y)
        return {"ce": ce, "total": ce}

    def soft_loss(self, logits, teacher_logits, y, temperature, alpha):
        return losses.distillation_terms(logits, teacher_logits, y, temperature, alpha)

    def metric(self, logits, y) -> float:
        if y.numel() == 0:
            return float("nan")
        return float((logits.argmax(dim=-1) == y).float().mean().item())


HEADS = {"classification": ClassificationHead}


def get_head(kind: str) -> Head:
    try:
        return HEADS[kind]()
    except KeyError:
        raise ValueError(f"task kind '{kind}' is not supported by this trainer yet "
                         f"(supported: {', '.join(sorted(HEADS))})") from None
