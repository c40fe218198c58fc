"""PGD-40 on a LeNet-5 over 2,000 images: jaxdl against torchattacks, and robust accuracy for
7 budgets in one program against 7 separate calls.

    python benchmarks/attacks.py [--data-dir MNIST_IDX_DIR]   # full measurement
    python benchmarks/attacks.py --quick                      # tiny sizes, for tests

1. **PGD-40** (L-infinity, eps 0.3, step 0.01, one random start, Madry et al. 2018's MNIST
   attack) on ``--images`` images in batches of ``--batch-size``: ``jaxdl.pgd`` under ``jit``
   against torchattacks' ``PGD`` (when PyTorch and torchattacks are installed) on the same
   network with the same weights (jaxdl's default ``LeNet5()``, copied into PyTorch's layout;
   the clean logits are checked equal), and on ``LeNet5(conv_impl="s2d")``, the blocked
   convolutions of jaxdl's CPU path (same parameters). Images: MNIST's when ``--data-dir`` is given, else
   uniform noise (the cost of an attack does not depend on the pixels).
2. **Many budgets**: ``jaxdl.robust_accuracy`` for 7 budgets in one call (one program vmapped
   over eps) against 7 calls with one budget each, PGD-``--budget-steps`` (both compiled
   before timing: the 7 calls share one cached program).

Alternating rounds, medians; prints images/s and the ratios, writes OUT/attacks.json.
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np

import jaxdl
from common import interleaved_seconds, output_dir, save_json, torch_lenet5

EPS = [0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3]


def torch_lenet(params):
    """PyTorch's LeNet-5 with jaxdl's weights (HWIO -> OIHW kernels, [in, out] -> [out, in]
    dense weights, and F5's rows reordered from NHWC's flattening to NCHW's)."""
    import torch

    net, p = torch_lenet5(), jax.tree.map(np.asarray, params)
    with torch.no_grad():
        for name in ("c1", "c3"):
            getattr(net, name).weight.copy_(torch.from_numpy(p[name]["kernel"].transpose(3, 2, 0, 1).copy()))
            getattr(net, name).bias.copy_(torch.from_numpy(p[name]["bias"].copy()))
        f5 = p["f5"]["kernel"].reshape(5, 5, 16, 120).transpose(2, 0, 1, 3).reshape(400, 120)
        for name, ours, kernel in (("f5", "f5", f5), ("f6", "f6", p["f6"]["kernel"]),
                                   ("out", "output", p["output"]["kernel"])):
            getattr(net, name).weight.copy_(torch.from_numpy(kernel.T.copy()))
            getattr(net, name).bias.copy_(torch.from_numpy(p[ours]["bias"].copy()))
    return net.eval()


def torch_runner(params, x, y, batch_size, steps):
    try:
        import torch
        import torchattacks
    except ImportError:
        return None, {}
    net = torch_lenet(params)
    tx, ty = torch.from_numpy(np.asarray(x).transpose(0, 3, 1, 2).copy()), torch.from_numpy(np.asarray(y, np.int64))
    with torch.no_grad():
        diff = float(np.max(np.abs(net(tx[:64]).numpy() - np.asarray(jaxdl.LeNet5().apply({"params": params}, x[:64])))))
    if diff > 1e-4:
        raise SystemExit(f"the PyTorch copy of the network differs: max |logit difference| {diff:g}")
    attack = torchattacks.PGD(net, eps=0.3, alpha=0.01, steps=steps, random_start=True)

    def run():
        return [attack(tx[i:i + batch_size], ty[i:i + batch_size]) for i in range(0, len(tx), batch_size)]
    return run, {"torch_version": torch.__version__, "torchattacks_version": torchattacks.__version__,
                 "torch_threads": torch.get_num_threads(), "logit_difference": diff}


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir", default=None, help="MNIST IDX files (default: uniform noise images)")
    p.add_argument("--images", type=int, default=2000)
    p.add_argument("--batch-size", type=int, default=250)
    p.add_argument("--steps", type=int, default=40, help="PGD steps of the attack comparison")
    p.add_argument("--budget-steps", type=int, default=10, help="PGD steps in the many-budgets comparison")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--no-torch", action="store_true")
    p.add_argument("--out", default="runs/benchmarks")
    p.add_argument("--quick", action="store_true")
    args = p.parse_args(argv)
    if args.quick:
        args.images, args.batch_size, args.steps, args.budget_steps, args.rounds = 32, 32, 2, 1, 1
    output_dir(args.out)
    if args.data_dir:
        data = jaxdl.data.mnist_idx(args.data_dir, train_count=8000)
        x, y = data.x_test[:args.images], data.y_test[:args.images]
    else:
        x = jax.random.uniform(jax.random.key(0), (args.images, 28, 28, 1))
        y = jax.random.randint(jax.random.key(1), (args.images,), 0, 10)
    params = jaxdl.LeNet5().init(jax.random.key(2), x[:1])["params"]
    logits_fn = lambda v: jaxdl.LeNet5().apply({"params": params}, v)

    def pgd_runner(model):
        fn = lambda v: model.apply({"params": params}, v)
        attack = jax.jit(lambda xb, yb, k: jaxdl.pgd(fn, xb, yb, eps=0.3, steps=args.steps, step_size=0.01, key=k))
        return lambda: [attack(x[i:i + args.batch_size], y[i:i + args.batch_size], jax.random.key(i))
                        for i in range(0, len(x), args.batch_size)]

    # jaxdl's default LeNet5() (XLA's convolutions), and the same weights on the blocked CPU path.
    runners, info = {"jaxdl": pgd_runner(jaxdl.LeNet5()), "jaxdl_s2d": pgd_runner(jaxdl.LeNet5(conv_impl="s2d"))}, {}
    if not args.no_torch:
        run_torch, info = torch_runner(params, x, y, args.batch_size, args.steps)
        if run_torch is not None:
            runners["torchattacks"] = run_torch
    pgd_seconds = interleaved_seconds(runners, rounds=args.rounds)

    kw = dict(attack="pgd", steps=args.budget_steps, batch_size=args.batch_size, key=jax.random.key(3))
    budgets = {"one_program": lambda: jaxdl.robust_accuracy(logits_fn, x, y, eps=EPS, **kw),
               "separate_calls": lambda: jnp.stack([jaxdl.robust_accuracy(logits_fn, x, y, eps=[e], **kw)[0]
                                                    for e in EPS])}
    budget_seconds = interleaved_seconds(budgets, rounds=args.rounds)

    result = {"device": jax.devices()[0].device_kind, "jax_version": jax.__version__, "images": len(x),
              "batch_size": args.batch_size, "steps": args.steps, "data": "mnist" if args.data_dir else "uniform noise",
              "pgd_seconds": pgd_seconds, "pgd_images_per_second": {k: len(x) / v for k, v in pgd_seconds.items()},
              "budgets": EPS, "budget_steps": args.budget_steps, "budget_seconds": budget_seconds,
              "budgets_speedup": budget_seconds["separate_calls"] / budget_seconds["one_program"],
              "quick": args.quick, **info}
    print(f"PGD-{args.steps} (linf, eps 0.3) on LeNet-5, {len(x)} images in batches of {args.batch_size}, on {result['device']}:")
    for name, s in pgd_seconds.items():
        print(f"  {name:13s} {s:7.2f} s  {len(x) / s:8.1f} images/s")
    if "torchattacks" in pgd_seconds:
        for name in ("jaxdl", "jaxdl_s2d"):
            result[f"{name}_over_torchattacks"] = pgd_seconds["torchattacks"] / pgd_seconds[name]
            print(f"  {name} / torchattacks: {result[f'{name}_over_torchattacks']:.2f}x")
    print(f"robust accuracy, PGD-{args.budget_steps} at {len(EPS)} budgets: one program {budget_seconds['one_program']:.2f} s, "
          f"{len(EPS)} calls {budget_seconds['separate_calls']:.2f} s ({result['budgets_speedup']:.2f}x)")
    save_json(result, args.out, "attacks.json")
    return result


if __name__ == "__main__":
    main()
