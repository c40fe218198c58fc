"""The McCulloch-Pitts unit of the LxMLS slides: a Boolean function as one threshold unit.

``y = x_2 AND (x_1 OR NOT x_3)`` is computed by ``v = -2 + 2 x_1 + 4 x_2 - x_3``, ``y = sign(v)``,
with truth values encoded as ``+1`` (true) and ``-1`` (false), the encoding a sign activation
implies. (With ``{0, 1}`` inputs the same weights get row ``x = (0, 1, 1)`` wrong: ``v = 1 > 0``
but ``y`` is false; the tests check both statements.)
"""

from __future__ import annotations

import itertools

import numpy as np

__all__ = ["MCCULLOCH_PITTS_WEIGHTS", "MCCULLOCH_PITTS_BIAS", "truth_table", "mcculloch_pitts_target", "sign_unit"]

MCCULLOCH_PITTS_WEIGHTS = np.array([2.0, 4.0, -1.0])
MCCULLOCH_PITTS_BIAS = -2.0


def truth_table(num_inputs: int = 3, *, encoding: str = "sign") -> np.ndarray:
    """All ``2^n`` input rows, ``[2^n, n]``: ``+-1`` (``encoding="sign"``) or ``0/1`` (``"binary"``)."""
    if encoding not in ("sign", "binary"):
        raise ValueError(f"truth_table: encoding must be 'sign' or 'binary', got {encoding!r}.")
    rows = np.array(list(itertools.product([0, 1], repeat=num_inputs)), np.float32)
    return 2 * rows - 1 if encoding == "sign" else rows


def mcculloch_pitts_target(x: np.ndarray) -> np.ndarray:
    """``x_2 AND (x_1 OR NOT x_3)`` per row of ``x: [N, 3]`` (true = positive entry), as ``+-1``."""
    truth = np.asarray(x) > 0
    value = truth[:, 1] & (truth[:, 0] | ~truth[:, 2])
    return np.where(value, 1.0, -1.0).astype(np.float32)


def sign_unit(w: np.ndarray, b: float, x: np.ndarray) -> np.ndarray:
    """A McCulloch-Pitts threshold unit ``sign(x w + b)`` (``+1`` for ``v > 0``, else ``-1``)."""
    return np.where(np.asarray(x) @ np.asarray(w) + b > 0, 1.0, -1.0).astype(np.float32)
