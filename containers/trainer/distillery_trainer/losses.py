"""Loss formulas used by the task heads.

Knowledge distillation (Hinton, Vinyals & Dean 2015, "Distilling the Knowledge in a Neural
Network"): with teacher logits t, student logits s, temperature T and weight alpha,

    p_T = softmax(t / T),  q_T = softmax(s / T)
    KD  = T^2 * KL(p_T || q_T) = T^2 * sum_c p_T[c] * (log p_T[c] - log q_T[c])   (batch mean)
    CE  = -log softmax(s)[y]                                                      (batch mean)
    L   = alpha * KD + (1 - alpha) * CE

The T^2 factor keeps the soft-target gradients on the same scale as the hard-label ones when T
changes (soft gradients scale as 1/T^2).
"""

import torch
import torch.nn.functional as F


def cross_entropy(logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Mean of -log softmax(logits)[y]."""
    return F.cross_entropy(logits, y)


def kd_kl(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """T^2 * KL(softmax(teacher/T) || softmax(student/T)), averaged over the batch."""
    t = float(temperature)
    log_q = F.log_softmax(student_logits / t, dim=-1)
    log_p = F.log_softmax(teacher_logits / t, dim=-1)
    kl = (log_p.exp() * (log_p - log_q)).sum(dim=-1).mean()
    return kl * (t * t)


def distillation_terms(student_logits, teacher_logits, y, temperature: float, alpha: float) -> dict:
    """Return {"kd", "ce", "total"} with total = alpha*kd + (1-alpha)*ce (see module docstring)."""
    kd = kd_kl(student_logits, teacher_logits, temperature)
    ce = cross_entropy(student_logits, y)
    total = alpha * kd + (1.0 - alpha) * ce
    return {"kd": kd, "ce": ce, "total": total}
