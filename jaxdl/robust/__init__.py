"""Robustness: adversarial attacks on any ``logits_fn(x) -> [B, C]``, robust accuracy over
many budgets in one program, and adversarial training as a wrapper of the train step."""

from jaxdl.robust._accuracy import ATTACKS, robust_accuracy
from jaxdl.robust._attacks import ATTACK_LOSSES, NORMS, fgsm, margin_loss, pgd
from jaxdl.robust._training import adversarial

__all__ = ["ATTACKS", "ATTACK_LOSSES", "NORMS", "adversarial", "fgsm", "margin_loss", "pgd", "robust_accuracy"]
