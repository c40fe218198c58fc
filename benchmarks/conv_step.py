"""Convolutional train steps: LeNet-5 (batch 128, 28x28x1, Adam) and ResNet-20 (32x32x3).

    python benchmarks/conv_step.py            # full measurement (PyTorch too, when importable)
    python benchmarks/conv_step.py --quick    # tiny, for tests

Measures, in one process and on the same batch, in alternating rounds (every variant once
per round, the median round counts), steps/s of
  * ``flax-baseline``: plain Flax LeNet-5 (``nn.Conv`` + ``nn.max_pool``), what jaxdl started from,
  * ``jaxdl-xla``: ``jaxdl.LeNet5()`` (XLA convolutions, strided-slice pooling),
  * ``jaxdl-toeplitz-legacy``: ``jaxdl.LeNet5(conv_impl="toeplitz")`` (banded-matmul
    convolutions, each fused with its max pool), compiled with ``jaxdl.cpu.legacy_emitters()``
    (XLA:CPU's older loop-fusion emitters),
  * ``jaxdl-toeplitz-legacy-mb4``: the same, the batch split into 4 micro-batches whose
    gradients are summed (``make_train_step(..., microbatches=4)``: the same update, four
    independent passes that XLA:CPU's executor runs side by side on the cores),
  * ``jaxdl-s2d-legacy``: ``jaxdl.LeNet5(conv_impl="s2d")`` (convolutions on the image cut
    into 4x4 / 2x2 blocks, ``jaxdl.cpu.s2d_conv2d_maxpool``) with the older emitters,
  * ``jaxdl-s2d`` and ``jaxdl-s2d-mb4``: the same compiled with ``jaxdl.cpu.matmul_conv_options()``
    (the older emitters, and the dots compiled by XLA rather than YNNPACK), one batch and 4
    micro-batches,
  * PyTorch eager, NCHW and channels-last, with the for-loop and the fused Adam (best is the
    baseline of the ratio),
and ResNet-20 steps/s and images/s for jaxdl and PyTorch. All JAX steps are jaxdl train steps
(jit, donated state, default metrics). Writes OUT/conv_step.json.
"""

from __future__ import annotations

import argparse

import flax.linen as nn
import jax
import optax

import jaxdl
from common import interleaved_rates, output_dir, save_json, torch_lenet5


class FlaxLeNet5(nn.Module):
    """LeNet-5 as plain Flax writes it: the baseline measured before jaxdl existed."""

    @nn.compact
    def __call__(self, x, *, train=False):
        x = nn.max_pool(nn.relu(nn.Conv(6, (5, 5), padding=((2, 2), (2, 2)))(x)), (2, 2), strides=(2, 2))
        x = nn.max_pool(nn.relu(nn.Conv(16, (5, 5), padding="VALID")(x)), (2, 2), strides=(2, 2))
        x = x.reshape(x.shape[0], -1)
        x = nn.relu(nn.Dense(84)(nn.relu(nn.Dense(120)(x))))
        return nn.Dense(10)(x)


def jax_runner(model, input_shape, batch_size, compiler_options=None, microbatches=1):
    """``run(n)``: ``n`` jaxdl train steps (jit, donated state) of ``model`` on one fixed batch."""
    key = jax.random.key(0)
    x = jax.random.normal(key, (batch_size, *input_shape))
    batch = {"x": x, "y": jax.random.randint(key, (batch_size,), 0, 10)}
    state = jaxdl.create_train_state(model, optax.adam(1e-3), key=key, input_shape=input_shape)
    step = jax.jit(jaxdl.make_train_step(jaxdl.softmax_cross_entropy, microbatches=microbatches), donate_argnums=0,
                   compiler_options=compiler_options)

    def run(n):
        nonlocal state
        for _ in range(n):
            state, metrics = step(state, batch, key)
        jax.block_until_ready((state, metrics))

    return run


def torch_runners(batch_size) -> tuple[dict, dict, dict] | None:
    """PyTorch eager ``run(n)`` callables: ``(lenet5 variants, {"torch_resnet20": ...}, info)``."""
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)
    F = torch.nn.functional

    class Block(torch.nn.Module):  # He et al. 2016 option A, as jaxdl.BasicBlock
        def __init__(self, c_in, c, stride):
            super().__init__()
            self.conv0, self.bn0 = torch.nn.Conv2d(c_in, c, 3, stride, 1, bias=False), torch.nn.BatchNorm2d(c)
            self.conv1, self.bn1 = torch.nn.Conv2d(c, c, 3, 1, 1, bias=False), torch.nn.BatchNorm2d(c)
            self.stride, self.extra = stride, c - c_in

        def forward(self, x):
            y = self.bn1(self.conv1(torch.relu(self.bn0(self.conv0(x)))))
            s = x[:, :, ::self.stride, ::self.stride]
            if self.extra:
                s = F.pad(s, (0, 0, 0, 0, self.extra // 2, self.extra - self.extra // 2))
            return torch.relu(y + s)

    def resnet20():
        layers = [torch.nn.Conv2d(3, 16, 3, 1, 1, bias=False), torch.nn.BatchNorm2d(16), torch.nn.ReLU()]
        c_in = 16
        for stage, c in enumerate((16, 32, 64)):
            for block in range(3):
                layers.append(Block(c_in, c, 2 if stage and not block else 1))
                c_in = c
        return torch.nn.Sequential(*layers, torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(), torch.nn.Linear(64, 10))

    def runner(model, x, y, fused):
        opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=fused)

        def run(n):
            for _ in range(n):
                opt.zero_grad(set_to_none=True)
                F.cross_entropy(model(x), y).backward()
                opt.step()

        return run

    y = torch.randint(0, 10, (batch_size,))
    x = torch.randn(batch_size, 1, 28, 28)
    lenet = {}
    for channels_last in (False, True):
        for fused in (False, True):
            model, xx = torch_lenet5(), x
            if channels_last:
                model, xx = model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
            lenet[f"torch_lenet5_{'channels_last' if channels_last else 'nchw'}_{'fused' if fused else 'foreach'}"] = \
                runner(model, xx, y, fused)
    x = torch.randn(batch_size, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    resnet = {"torch_resnet20": runner(resnet20().to(memory_format=torch.channels_last), x, y, True)}
    return lenet, resnet, {"torch_version": torch.__version__, "torch_threads": torch.get_num_threads()}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--steps", type=int, default=100, help="LeNet-5 steps per timing round")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--resnet-steps", type=int, default=5, help="ResNet-20 steps per timing round")
    p.add_argument("--resnet-rounds", type=int, default=3)
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--out", default="runs/benchmarks")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    if args.quick:
        args.batch_size, args.steps, args.rounds, args.resnet_steps, args.resnet_rounds = 8, 3, 1, 1, 1
        args.no_torch = True
    output_dir(args.out)
    b = args.batch_size
    result = {"device": jax.devices()[0].device_kind, "backend": jax.default_backend(), "batch_size": b}
    banded, blocked = jaxdl.LeNet5(conv_impl="toeplitz"), jaxdl.LeNet5(conv_impl="s2d")
    lenet = {f"lenet5_{name}": jax_runner(model, (28, 28, 1), b, options, micro) for name, model, options, micro in (
        ("flax-baseline", FlaxLeNet5(), None, 1), ("jaxdl-xla", jaxdl.LeNet5(), None, 1),
        ("jaxdl-toeplitz-legacy", banded, jaxdl.cpu.legacy_emitters(), 1),
        ("jaxdl-toeplitz-legacy-mb4", banded, jaxdl.cpu.legacy_emitters(), 4),
        ("jaxdl-s2d-legacy", blocked, jaxdl.cpu.legacy_emitters(), 1),
        ("jaxdl-s2d", blocked, jaxdl.cpu.matmul_conv_options(), 1),
        ("jaxdl-s2d-mb4", blocked, jaxdl.cpu.matmul_conv_options(), 4))}
    resnet = {"resnet20_jaxdl": jax_runner(jaxdl.resnet20() if not args.quick else jaxdl.ResNet(depth=8, width=4),
                                           (32, 32, 3), b)}
    torch_lenet = {}
    if not args.no_torch:
        torch_out = torch_runners(b)
        if torch_out is None:
            print("PyTorch is not importable: JAX numbers only.")
        else:
            torch_lenet, torch_resnet, info = torch_out
            lenet.update(torch_lenet)
            resnet.update(torch_resnet)
            result.update(info)
    result.update(interleaved_rates(lenet, steps=args.steps, rounds=args.rounds))
    result.update(interleaved_rates(resnet, steps=args.resnet_steps, rounds=args.resnet_rounds))
    for name in lenet:
        print(f"  {name:34s} {result[name]:8.1f} steps/s")
    for name in resnet:
        print(f"  {name:34s} {result[name]:8.2f} steps/s ({b * result[name]:.0f} images/s)")
    lenet_jax = [n for n in lenet if not n.startswith("torch")]
    best_name = max(lenet_jax, key=lambda n: result[n])
    best_jax, result["jaxdl_best_variant"] = result[best_name], best_name
    print(f"  jaxdl's best LeNet-5 variant: {best_name}")
    ratios = {"jaxdl best / flax-baseline (LeNet-5)": best_jax / result["lenet5_flax-baseline"]}
    if torch_lenet:
        ratios["jaxdl best / torch best (LeNet-5)"] = best_jax / max(result[n] for n in torch_lenet)
        ratios["jaxdl / torch (ResNet-20)"] = result["resnet20_jaxdl"] / result["torch_resnet20"]
    for name, value in ratios.items():
        print(f"  {name:40s} {value:6.2f}x")
    result["ratios"] = ratios
    save_json(result, args.out, "conv_step.json")
    return result


if __name__ == "__main__":
    main()
