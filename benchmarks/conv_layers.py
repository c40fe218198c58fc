"""One convolution layer's train cost (forward + gradients of input and kernel), per formulation.

    python benchmarks/conv_layers.py            # ResNet-20's and LeNet-5's layers, batch 128
    python benchmarks/conv_layers.py --quick    # for tests

For each layer shape: XLA's convolution (``lax.conv_general_dilated``), the pixel-block matmul
(``jaxdl.cpu.blocked_conv2d``, 2x2 blocks, and 4x4 for 5x5 filters), the formulation
``Conv2D``'s default picks on a CPU (``auto``: ``jaxdl.cpu.cpu_conv2d``) and, when PyTorch is
installed, PyTorch's convolution in channels-last layout, the same arithmetic
(``sum(conv(x, k)^2)`` and its two gradients). All timed in alternating rounds in one
process, medians; ratios against XLA's convolution. Writes ``OUT/conv_layers.json``.
"""

from __future__ import annotations

import argparse
import functools

import jax
import jax.numpy as jnp

from common import interleaved_seconds, output_dir, save_json
from jaxdl.cpu import blocked_conv2d, cpu_conv2d

# (name, H, C_in, C_out, filter, stride, padding)
LAYERS = [
    ("resnet 32x32 3->16", 32, 3, 16, 3, 1, 1),
    ("resnet 32x32 16->16", 32, 16, 16, 3, 1, 1),
    ("resnet 32x32 16->32 s2", 32, 16, 32, 3, 2, 1),
    ("resnet 16x16 32->32", 16, 32, 32, 3, 1, 1),
    ("resnet 8x8 64->64", 8, 64, 64, 3, 1, 1),
    ("lenet c1 28x28 1->6", 28, 1, 6, 5, 1, 2),
    ("lenet c3 14x14 6->16", 14, 6, 16, 5, 1, 0),
    ("vgg 16x16 64->64", 16, 64, 64, 3, 1, 1),
    ("vgg 8x8 128->128", 8, 128, 128, 3, 1, 1),
    ("alexnet 16x16 32->64 (5x5)", 16, 32, 64, 5, 1, 2),
    ("inception 16x16 64->32 (1x1)", 16, 64, 32, 1, 1, 0),
]


def _jax_variants(f, stride, padding):
    def xla(x, k):
        return jax.lax.conv_general_dilated(x, k, (stride, stride), ((padding, padding),) * 2,
                                            dimension_numbers=("NHWC", "HWIO", "NHWC"))

    # "auto": what Conv2D(impl="auto") runs on a CPU (cpu_conv2d's choice for the shape).
    variants = {"xla": xla, "auto": functools.partial(cpu_conv2d, stride=stride, padding=padding)}
    for block in (2, 4) if f == 5 else (2,):
        if block % stride == 0:
            variants[f"blocked{block}"] = functools.partial(blocked_conv2d, stride=stride, padding=padding, block=block)
    return {name: jax.jit(jax.grad(lambda x, k, fn=fn: jnp.sum(fn(x, k) ** 2), (0, 1)))
            for name, fn in variants.items()}


def _torch_runner(batch, h, c, o, f, stride, padding):
    try:
        import torch
    except ImportError:
        return None
    x = torch.randn(batch, c, h, h).contiguous(memory_format=torch.channels_last).requires_grad_()
    k = (0.1 * torch.randn(o, c, f, f)).contiguous(memory_format=torch.channels_last).requires_grad_()

    def run():
        x.grad = k.grad = None
        (torch.nn.functional.conv2d(x, k, stride=stride, padding=padding) ** 2).sum().backward()
        return jnp.zeros(())

    return run


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--rounds", type=int, default=7)
    p.add_argument("--out", default="runs/benchmarks")
    p.add_argument("--only", default="", help="layers whose name contains this text")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    if args.quick:  # two layers, batch 4
        args.batch, args.rounds = 4, 1
    out = output_dir(args.out)
    rows = {}
    layers = [LAYERS[0], LAYERS[5]] if args.quick else [row for row in LAYERS if args.only in row[0]]
    for name, h, c, o, f, stride, padding in layers:
        x = jax.random.normal(jax.random.key(0), (args.batch, h, h, c))
        k = 0.1 * jax.random.normal(jax.random.key(1), (f, f, c, o))
        runners = {n: functools.partial(fn, x, k) for n, fn in _jax_variants(f, stride, padding).items()}
        torch_run = _torch_runner(args.batch, h, c, o, f, stride, padding)
        if torch_run is not None:
            runners["torch_channels_last"] = torch_run
        seconds = interleaved_seconds(runners, rounds=args.rounds)
        rows[name] = {n: 1000 * s for n, s in seconds.items()}
        print(f"{name:24s} " + "  ".join(f"{n} {1000 * s:6.1f} ms ({seconds['xla'] / s:.2f}x)"
                                         for n, s in seconds.items()), flush=True)
    result = {"batch": args.batch, "rounds": args.rounds, "device": jax.devices()[0].device_kind,
              "milliseconds": rows}
    save_json(result, out, "conv_layers.json")
    return result


if __name__ == "__main__":
    main()
