"""What every course page does after its own lines of jaxdl: run the lecture's experiment in its
quick configuration (as ``python experiments/NAME.py --quick`` would, in this process), show
the figures it wrote and print its top-level numbers. The site's figures are therefore never
older than the build."""

from __future__ import annotations

import contextlib
import io
import json
import os
import runpy
import shutil
import sys
import warnings

import matplotlib.image
import matplotlib.pyplot as plt

DOCS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(DOCS)
RUNS = os.path.join(DOCS, "_build", "course_runs")


def run_experiment(name: str) -> dict:
    """Run ``experiments/NAME.py --quick --no-progress --out DIR`` and show its PNGs. Returns
    its JSON numbers."""
    out = run_script(os.path.join("experiments", f"{name}.py"), "--quick", "--no-progress")
    results = [f for f in os.listdir(out) if f.endswith(".json")]
    with open(os.path.join(out, f"{name}.json" if f"{name}.json" in results else sorted(results)[0])) as f:
        return json.load(f)


def run_script(script: str, *args: str) -> str:
    """Run ``python SCRIPT ARGS --out DIR`` (a path from the repository root) in this process,
    as the command line would (its folder first on the path), show its PNGs; returns DIR."""
    path = os.path.join(ROOT, script)
    out = os.path.join(RUNS, os.path.splitext(os.path.basename(script))[0])
    shutil.rmtree(out, ignore_errors=True)  # a fresh run every build: nothing resumed, nothing stale
    old_argv, old_path = sys.argv, sys.path[:]
    sys.argv, sys.path = [path, *args, "--out", out], [os.path.dirname(path), *sys.path]
    try:
        with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the page shows the run's figures and numbers, not its warnings
            runpy.run_path(path, run_name="__main__")
    finally:
        sys.argv, sys.path = old_argv, old_path
    for png in sorted(f for f in os.listdir(out) if f.endswith(".png")):
        show(os.path.join(out, png))
    return out


def show(png: str) -> None:
    """One PNG as a matplotlib figure, which the gallery picks up."""
    image = matplotlib.image.imread(png)
    h, w = image.shape[:2]
    fig = plt.figure(figsize=(8, 8 * h / w), dpi=100)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(image)
    ax.axis("off")


def numbers(result: dict) -> None:
    """Print the top-level numbers of an experiment's JSON."""
    for key, value in result.items():
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            print(f"{key}: {value:.4g}" if isinstance(value, float) else f"{key}: {value}")
