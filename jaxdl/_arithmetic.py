"""The convolution arithmetic of the lectures, made explicit and checked.

For an input of size ``N`` (per spatial dimension), a filter of size ``F``, zero padding ``P``
on each side and stride ``S``, the output has ``M = (N - F + 2P) / S + 1`` positions
(Dumoulin & Visin 2016, "A guide to convolution arithmetic", relationship 6). A filter
dilated by ``D`` (``D - 1`` zeros between its taps; Yu & Koltun 2016) spans
``F' = D (F - 1) + 1`` inputs and takes ``F'`` in place of ``F`` (relationship 15). The same rule
holds for pooling windows. Frameworks silently floor a fraction; here a combination that
does not tile the padded input is an error, so a misplaced stride shows up at build time.
"""

from __future__ import annotations

__all__ = ["conv_output_size", "same_padding"]


def conv_output_size(n: int, f: int, *, padding: int = 0, stride: int = 1, dilation: int = 1,
                     exact: bool = True) -> int:
    """``M = (N - F' + 2P) / S + 1``, ``F' = D (F - 1) + 1``, for one spatial dimension (``D`` the
    dilation; ``F' = F`` undilated); with ``exact=False``,
    ``floor((N - F + 2P) / S) + 1``, what frameworks compute (for a deliberate choice such as
    ResNet's 3x3 stride-2 convolution with padding 1: 32 -> 16, last padded row unused).

    Examples (the lectures'): ``conv_output_size(32, 5) == 28``;
    ``conv_output_size(32, 5, stride=3) == 10``; ``conv_output_size(32, 5, padding=2) == 32``
    (``P = (F - 1) / 2`` keeps the size); ``conv_output_size(32, 3, dilation=2) == 28``.

    Raises:
      ValueError: for non-positive sizes or strides, negative padding, a filter larger than
        the padded input, or (when ``exact``) a stride that does not tile ``N - F + 2P``.
    """
    for name, value, low in (("input size N", n, 1), ("filter size F", f, 1), ("stride S", stride, 1),
                             ("padding P", padding, 0), ("dilation D", dilation, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an int >= {low}, got {value!r}.")
    spread = dilation * (f - 1) + 1
    span = n - spread + 2 * padding
    if span < 0:
        what = f"filter size F={f}" if dilation == 1 else f"dilated filter size D (F - 1) + 1 = {spread}"
        raise ValueError(f"{what} is larger than the padded input N + 2P = {n + 2 * padding}.")
    if span % stride and exact:
        raise ValueError(
            f"(N - F' + 2P) / S = ({n} - {spread} + 2*{padding}) / {stride} = {span}/{stride} is not an integer: "
            f"stride {stride} does not tile an input of size {n} with filter {f} and padding {padding}; "
            f"the last {span % stride} position(s) would be dropped. Change the padding or the stride."
        )
    return span // stride + 1


def same_padding(f: int) -> int:
    """``P = (F - 1) / 2``, the padding that keeps the size at stride 1 (odd ``F`` only)."""
    if isinstance(f, bool) or not isinstance(f, int) or f < 1 or f % 2 == 0:
        raise ValueError(f"'same' padding P = (F - 1) / 2 needs an odd filter size F >= 1, got {f!r}.")
    return (f - 1) // 2
