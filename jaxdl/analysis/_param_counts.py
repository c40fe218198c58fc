"""Closed-form parameter counts of fully connected networks (Prince, *Understanding Deep
Learning*, ch. 3-4), to check against ``jaxdl.param_count`` of a model's actual parameters."""

from __future__ import annotations

from typing import Sequence

__all__ = ["shallow_param_count", "deep_param_count", "mlp_param_count"]


def _positive(name: str, value: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}.")
    return value


def mlp_param_count(widths: Sequence[int]) -> int:
    """Weights and biases of a dense network with layer widths ``[D_0, D_1, ..., D_K]``.

    ``sum_k D_k (D_{k-1} + 1)``: each unit of layer ``k`` has one weight per input and a bias.
    """
    widths = [_positive(f"widths[{i}]", w) for i, w in enumerate(widths)]
    if len(widths) < 2:
        raise ValueError(f"widths needs at least an input and an output width, got {widths}.")
    return sum(d_out * (d_in + 1) for d_in, d_out in zip(widths[:-1], widths[1:]))


def shallow_param_count(inputs: int, hidden: int, outputs: int) -> int:
    """A shallow network ``D_i -> D -> D_o``: ``D (D_i + 1) + D_o (D + 1)``."""
    _positive("inputs", inputs), _positive("hidden", hidden), _positive("outputs", outputs)
    return hidden * (inputs + 1) + outputs * (hidden + 1)


def deep_param_count(width: int, depth: int, *, inputs: int = 1, outputs: int = 1) -> int:
    """``K = depth`` hidden layers of ``D = width`` units between ``D_i`` inputs and ``D_o`` outputs:
    ``D (D_i + 1) + (K - 1) D (D + 1) + D_o (D + 1)``.

    With one input and one output this is the lectures' ``3D + 1 + (K - 1) D (D + 1)``.
    """
    _positive("width", width), _positive("depth", depth), _positive("inputs", inputs), _positive("outputs", outputs)
    return width * (inputs + 1) + (depth - 1) * width * (width + 1) + outputs * (width + 1)
