"""Convolutional train steps with the defaults a user gets: LeNet-5 (batch 128, 28x28x1, Adam),
ResNet-20, AlexNet-small and VGG-small (32x32x3), against PyTorch on the same CPU.

    python benchmarks/conv_step.py            # full measurement (PyTorch too, when importable)
    python benchmarks/conv_step.py --quick    # tiny, for tests

Measures, in one process and on the same batch, in alternating rounds (every variant once
per round, the median round counts), steps/s of
  * ``default``: the model as ``jaxdl`` builds it (``Conv2D(impl="auto")``: XLA's convolution
    on GPU/TPU, the per-shape CPU formulation of ``jaxdl.cpu.cpu_conv2d`` on a CPU),
  * ``xla``: the same model with ``conv_impl="xla"`` (XLA's convolution everywhere),
  * for LeNet-5 also ``flax-baseline`` (plain Flax ``nn.Conv`` + ``nn.max_pool``, what jaxdl
    started from) and ``s2d`` (``LeNet5(conv_impl="s2d")``, LeNet-5's own blocked layout,
    compiled with ``jaxdl.cpu.matmul_conv_options()``: the one network-specific path kept),
  * PyTorch eager with the fused Adam (LeNet-5: NCHW and channels-last, the best is the
    ratio's baseline; the 32x32 networks: channels-last),
  * mixed precision: LeNet-5's and ResNet-20's default with ``precision="bf16"`` (bf16 x bf16
    -> float32 matmuls and convolutions) against PyTorch channels-last under
    ``torch.autocast("cpu", bfloat16)``.
All JAX steps are jaxdl train steps (jit, donated state, default metrics). Writes
OUT/conv_step.json.
"""

from __future__ import annotations

import argparse

import flax.linen as nn
import jax
import optax

import jaxdl
from common import interleaved_rates, output_dir, save_json, torch_lenet5, torch_train_runner

# The 32x32 networks: jaxdl constructors by conv_impl, tiny versions for --quick.
CIFAR = {
    "resnet20": (lambda impl: jaxdl.resnet20(conv_impl=impl), lambda impl: jaxdl.ResNet(depth=8, width=4, conv_impl=impl)),
    "alexnet_small": (lambda impl: jaxdl.AlexNet(channels=(32, 64, 96, 64, 64), hidden=(256, 256), conv_impl=impl),
                      lambda impl: jaxdl.AlexNet(channels=(4, 4, 4, 4, 4), hidden=(8, 8), conv_impl=impl)),
    "vgg_small": (lambda impl: jaxdl.VGG(stages=((32, 32), (64, 64), (128, 128)), hidden=(256,), batch_norm=True,
                                         conv_impl=impl),
                  lambda impl: jaxdl.VGG(stages=((4,), (4,)), hidden=(8,), batch_norm=True, conv_impl=impl)),
}


class FlaxLeNet5(nn.Module):
    """LeNet-5 as plain Flax writes it: the baseline measured before jaxdl existed."""

    @nn.compact
    def __call__(self, x, *, train=False):
        x = nn.max_pool(nn.relu(nn.Conv(6, (5, 5), padding=((2, 2), (2, 2)))(x)), (2, 2), strides=(2, 2))
        x = nn.max_pool(nn.relu(nn.Conv(16, (5, 5), padding="VALID")(x)), (2, 2), strides=(2, 2))
        x = x.reshape(x.shape[0], -1)
        x = nn.relu(nn.Dense(84)(nn.relu(nn.Dense(120)(x))))
        return nn.Dense(10)(x)


def jax_runner(model, input_shape, batch_size, compiler_options=None, precision="float32"):
    """``run(n)``: ``n`` jaxdl train steps (jit, donated state) of ``model`` on one fixed batch."""
    key = jax.random.key(0)
    x = jax.random.normal(key, (batch_size, *input_shape))
    batch = {"x": x, "y": jax.random.randint(key, (batch_size,), 0, 10)}
    state = jaxdl.create_train_state(model, optax.adam(1e-3), key=key, input_shape=input_shape, precision=precision)
    step = jax.jit(jaxdl.make_train_step(jaxdl.softmax_cross_entropy), donate_argnums=0,
                   compiler_options=compiler_options)

    def run(n):
        nonlocal state
        for _ in range(n):
            state, metrics = step(state, batch, key)
        jax.block_until_ready((state, metrics))

    return run


def _torch_cifar_models(torch):
    """PyTorch versions of the 32x32 networks, as jaxdl computes them (NCHW modules)."""
    F, nn_ = torch.nn.functional, torch.nn

    class Block(nn_.Module):  # He et al. 2016 option A, as jaxdl.BasicBlock
        def __init__(self, c_in, c, stride):
            super().__init__()
            self.conv0, self.bn0 = nn_.Conv2d(c_in, c, 3, stride, 1, bias=False), nn_.BatchNorm2d(c)
            self.conv1, self.bn1 = nn_.Conv2d(c, c, 3, 1, 1, bias=False), nn_.BatchNorm2d(c)
            self.stride, self.extra = stride, c - c_in

        def forward(self, x):
            y = self.bn1(self.conv1(torch.relu(self.bn0(self.conv0(x)))))
            s = x[:, :, ::self.stride, ::self.stride]
            if self.extra:
                s = F.pad(s, (0, 0, 0, 0, self.extra // 2, self.extra - self.extra // 2))
            return torch.relu(y + s)

    def resnet20():
        layers = [nn_.Conv2d(3, 16, 3, 1, 1, bias=False), nn_.BatchNorm2d(16), nn_.ReLU()]
        c_in = 16
        for stage, c in enumerate((16, 32, 64)):
            for block in range(3):
                layers.append(Block(c_in, c, 2 if stage and not block else 1))
                c_in = c
        return nn_.Sequential(*layers, nn_.AdaptiveAvgPool2d(1), nn_.Flatten(), nn_.Linear(64, 10))

    def alexnet_small():
        layers, c_in = [], 3
        for i, (c, f) in enumerate(zip((32, 64, 96, 64, 64), (5, 5, 3, 3, 3))):
            layers += [nn_.Conv2d(c_in, c, f, padding=f // 2), nn_.ReLU()] + ([nn_.MaxPool2d(2)] if i in (0, 1, 4) else [])
            c_in = c
        return nn_.Sequential(*layers, nn_.Flatten(), nn_.Dropout(0.5), nn_.Linear(1024, 256), nn_.ReLU(),
                              nn_.Dropout(0.5), nn_.Linear(256, 256), nn_.ReLU(), nn_.Linear(256, 10))

    def vgg_small():
        layers, c_in = [], 3
        for stage in ((32, 32), (64, 64), (128, 128)):
            for c in stage:
                layers += [nn_.Conv2d(c_in, c, 3, padding=1, bias=False), nn_.BatchNorm2d(c), nn_.ReLU()]
                c_in = c
            layers.append(nn_.MaxPool2d(2))
        return nn_.Sequential(*layers, nn_.Flatten(), nn_.Linear(2048, 256), nn_.ReLU(), nn_.Dropout(0.5),
                              nn_.Linear(256, 10))

    return {"resnet20": resnet20, "alexnet_small": alexnet_small, "vgg_small": vgg_small}


def torch_runners(batch_size) -> tuple[dict, dict, dict] | None:
    """PyTorch eager ``run(n)`` callables: ``(lenet5 variants, {network: run}, info)``."""
    try:
        import torch
    except ImportError:
        return None
    torch.manual_seed(0)
    runner = torch_train_runner

    y = torch.randint(0, 10, (batch_size,))
    x = torch.randn(batch_size, 1, 28, 28)
    lenet = {}
    for channels_last in (False, True):
        model, xx = torch_lenet5(), x
        if channels_last:
            model, xx = model.to(memory_format=torch.channels_last), x.contiguous(memory_format=torch.channels_last)
        lenet[f"lenet5_torch-{'channels_last' if channels_last else 'nchw'}"] = runner(model, xx, y)
    lenet["lenet5_torch-autocast-bf16"] = runner(torch_lenet5().to(memory_format=torch.channels_last),
                                                 x.contiguous(memory_format=torch.channels_last), y, autocast=True)
    x = torch.randn(batch_size, 3, 32, 32).contiguous(memory_format=torch.channels_last)
    cifar = {f"{name}_torch": runner(make().to(memory_format=torch.channels_last).train(), x, y)
             for name, make in _torch_cifar_models(torch).items()}
    cifar["resnet20_torch-autocast-bf16"] = runner(_torch_cifar_models(torch)["resnet20"]().to(
        memory_format=torch.channels_last).train(), x, y, autocast=True)
    return lenet, cifar, {"torch_version": torch.__version__, "torch_threads": torch.get_num_threads()}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--steps", type=int, default=100, help="LeNet-5 steps per timing round")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--cifar-steps", type=int, default=5, help="steps per timing round of the 32x32 networks")
    p.add_argument("--cifar-rounds", type=int, default=5)
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--out", default="runs/benchmarks")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    if args.quick:
        args.batch_size, args.steps, args.rounds, args.cifar_steps, args.cifar_rounds = 8, 3, 1, 1, 1
        args.no_torch = True
    output_dir(args.out)
    b = args.batch_size
    result = {"device": jax.devices()[0].device_kind, "backend": jax.default_backend(), "batch_size": b}
    lenet = {f"lenet5_{name}": jax_runner(model, (28, 28, 1), b, options) for name, model, options in (
        ("flax-baseline", FlaxLeNet5(), None), ("default", jaxdl.LeNet5(), None),
        ("xla", jaxdl.LeNet5(conv_impl="xla"), None),
        ("s2d", jaxdl.LeNet5(conv_impl="s2d"), jaxdl.cpu.matmul_conv_options()))}
    lenet["lenet5_default-bf16"] = jax_runner(jaxdl.LeNet5(), (28, 28, 1), b, precision="bf16")
    cifar = {f"{name}_{label}": jax_runner(make[args.quick](impl), (32, 32, 3), b)
             for name, make in CIFAR.items() for label, impl in (("default", "auto"), ("xla", "xla"))}
    cifar["resnet20_default-bf16"] = jax_runner(CIFAR["resnet20"][args.quick]("auto"), (32, 32, 3), b, precision="bf16")
    if not args.no_torch:
        torch_out = torch_runners(b)
        if torch_out is None:
            print("PyTorch is not importable: JAX numbers only.")
        else:
            lenet.update(torch_out[0])
            cifar.update(torch_out[1])
            result.update(torch_out[2])
    result.update(interleaved_rates(lenet, steps=args.steps, rounds=args.rounds))
    result.update(interleaved_rates(cifar, steps=args.cifar_steps, rounds=args.cifar_rounds))
    for name in [*lenet, *cifar]:
        print(f"  {name:28s} {result[name]:8.1f} steps/s ({b * result[name]:.0f} images/s)")
    result["ratios"] = _ratios(result, [n for n in lenet if "_torch" in n and "autocast" not in n])
    for name, value in result["ratios"].items():
        print(f"  {name:44s} {value:6.2f}x")
    save_json(result, args.out, "conv_step.json")
    return result


def _ratios(result: dict, torch_lenet: list[str]) -> dict[str, float]:
    """Each network's default against XLA's convolutions and against PyTorch's best."""
    ratios = {"LeNet-5 default / flax-baseline": result["lenet5_default"] / result["lenet5_flax-baseline"]}
    for name in ("lenet5", *CIFAR):
        ratios[f"{name} default / xla"] = result[f"{name}_default"] / result[f"{name}_xla"]
    if torch_lenet:
        best = max(result[n] for n in torch_lenet)
        ratios["lenet5 default / torch best"] = result["lenet5_default"] / best
        ratios["lenet5 s2d / torch best"] = result["lenet5_s2d"] / best
        for name in CIFAR:
            ratios[f"{name} default / torch"] = result[f"{name}_default"] / result[f"{name}_torch"]
        for name in ("lenet5", "resnet20"):  # mixed precision: bf16 against float32 and torch.autocast
            ratios[f"{name} bf16 / float32"] = result[f"{name}_default-bf16"] / result[f"{name}_default"]
            ratios[f"{name} bf16 / torch autocast bf16"] = (result[f"{name}_default-bf16"]
                                                            / result[f"{name}_torch-autocast-bf16"])
    return ratios


if __name__ == "__main__":
    main()
