"""What a benchmark run reports: the leaderboard (Markdown and CSV), learning curves with seed
bands, and Dolan-More performance profiles across problems.

Performance profile (Dolan & More, Math. Programming 2002): for problem ``p`` and optimizer
``s`` with cost ``t_ps`` (here: steps to reach the problem's target, the median over seeds;
infinite if it never does), ``r_ps = t_ps / min_s t_ps`` and ``rho_s(tau) = |{p : r_ps <= tau}|
/ |P|``: the fraction of problems ``s`` solves within a factor ``tau`` of the fastest.
``rho_s(1)`` is how often ``s`` is fastest, ``rho_s(inf)`` how often it reaches the target.
"""

from __future__ import annotations

import csv
import os
from collections import defaultdict
from typing import Any, Sequence

import numpy as np

__all__ = ["leaderboard", "leaderboard_markdown", "write_leaderboard", "performance_profile",
           "plot_performance_profile", "plot_learning_curves"]

COLUMNS = ["problem", "optimizer", "protocol", "metric", "target", "final_mean", "final_std", "seeds",
           "reached", "steps_to_target", "seconds_to_target", "program_seconds", "hyperparams"]


def _median_or_none(values: Sequence[float | None], seeds: int) -> float | None:
    """The median over seeds, counting a seed that never reached the target as infinite; None
    when the median itself is infinite (fewer than half reached)."""
    filled = np.array([np.inf if v is None else v for v in values], np.float64)
    median = float(np.median(filled)) if seeds else np.inf
    return None if not np.isfinite(median) else median


def leaderboard(records: Sequence[dict]) -> list[dict[str, Any]]:
    """One row per (problem, optimizer) from the final runs' records: the final metric's mean
    and std over seeds, how many seeds reached the target, the median steps and seconds to it.
    Rows are sorted by problem, then best final metric first."""
    groups = defaultdict(list)
    for r in records:
        groups[(r["testproblem"], r["optimizer_name"])].append(r)
    rows = []
    for (problem, optimizer), runs in groups.items():
        finals = np.array([r["final_metric"] for r in runs], np.float64)
        to_target = [r["steps_to_target"] for r in runs]
        rows.append({
            "problem": problem, "optimizer": optimizer, "protocol": runs[0]["protocol"] + (
                "" if runs[0]["schedule"] == "constant" else f"/{runs[0]['schedule']}"),
            "metric": runs[0]["metric"], "target": runs[0]["problem"]["target"],
            "final_mean": float(np.mean(finals)), "final_std": float(np.std(finals)), "seeds": len(runs),
            "reached": sum(t is not None for t in to_target),
            "steps_to_target": _median_or_none(to_target, len(runs)),
            "seconds_to_target": _median_or_none([r["seconds_to_target"] for r in runs], len(runs)),
            "program_seconds": float(runs[0]["program_seconds"]),
            "hyperparams": ";".join(f"{n}={v:.3g}" for n, v in sorted(runs[0]["optimizer_hyperparams"].items())),
        })
    sign = {row["problem"]: (1 if row["metric"] == "loss" else -1) for row in rows}
    rows.sort(key=lambda row: (row["problem"], sign[row["problem"]] * np.nan_to_num(row["final_mean"], nan=np.inf
                                                                                      if sign[row["problem"]] > 0
                                                                                      else -np.inf)))
    return rows


def _cell(value, digits: int = 4) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def leaderboard_markdown(rows: Sequence[dict]) -> str:
    """The leaderboard as a Markdown table (``-``: the target was not reached by half the seeds)."""
    header = ["problem", "optimizer", "final metric (mean +- std)", "reached", "steps to target",
              "s to target", "program s", "setting"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for row in rows:
        metric = f"{row['metric']} {row['final_mean']:.4g} +- {row['final_std']:.2g}"
        lines.append("| " + " | ".join([
            row["problem"], row["optimizer"], metric, f"{row['reached']}/{row['seeds']}",
            _cell(row["steps_to_target"]), _cell(row["seconds_to_target"], 3), _cell(row["program_seconds"], 3),
            row["hyperparams"]]) + " |")
    return "\n".join(lines) + "\n"


def write_leaderboard(rows: Sequence[dict], folder: str) -> tuple[str, str]:
    """``folder/leaderboard.md`` and ``folder/leaderboard.csv`` (atomically); returns both paths."""
    md, table = os.path.join(folder, "leaderboard.md"), os.path.join(folder, "leaderboard.csv")
    with open(md + ".tmp", "w") as f:
        f.write(leaderboard_markdown(rows))
    with open(table + ".tmp", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows({c: ("" if row[c] is None else row[c]) for c in COLUMNS} for row in rows)
    os.replace(md + ".tmp", md)
    os.replace(table + ".tmp", table)
    return md, table


def performance_profile(rows: Sequence[dict], taus: Sequence[float] | None = None) -> dict[str, Any]:
    """Dolan-More profiles of steps-to-target (see the module docstring).

    Returns:
      A dict with ``"problems"`` ``[P]``, ``"optimizers"`` ``[S]``, ``"cost"`` ``[P][S]`` (None
      where not reached), ``"taus"`` ``[T]`` and ``"rho"`` (``{optimizer: [T]}``); problems no
      optimizer solved are left out (every ratio is undefined there).
    """
    problems = sorted({r["problem"] for r in rows})
    optimizers = sorted({r["optimizer"] for r in rows})
    cost = np.full((len(problems), len(optimizers)), np.inf)
    for r in rows:
        if r["steps_to_target"] is not None:
            cost[problems.index(r["problem"]), optimizers.index(r["optimizer"])] = r["steps_to_target"]
    solved = np.isfinite(cost).any(axis=1)
    ratios = cost[solved] / cost[solved].min(axis=1, keepdims=True)
    if taus is None:
        finite = ratios[np.isfinite(ratios)]
        taus = np.unique(np.concatenate([[1.0], finite, [max(2.0, 1.5 * finite.max()) if finite.size else 2.0]]))
    taus = np.asarray(taus, np.float64)
    rho = {s: [float(np.mean(ratios[:, j] <= t)) if len(ratios) else 0.0 for t in taus]
           for j, s in enumerate(optimizers)}
    return {"problems": [p for p, ok in zip(problems, solved) if ok], "optimizers": optimizers,
            "cost": [[None if not np.isfinite(c) else float(c) for c in row] for row in cost[solved]],
            "taus": taus.tolist(), "rho": rho}


def plot_performance_profile(profile: dict, path: str) -> str:
    """``rho_s(tau)`` as steps against a log ``tau`` axis, one line per optimizer."""
    from jaxdl._plotting import plt, save_figure

    fig, ax = plt.subplots(figsize=(6, 4))
    for name, rho in profile["rho"].items():
        ax.step(profile["taus"], rho, where="post", label=name)
    ax.set_xscale("log")
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("tau: within this factor of the fastest (steps to target)")
    ax.set_ylabel("fraction of problems")
    ax.set_title(f"Performance profile over {len(profile['problems'])} problems")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_learning_curves(records: Sequence[dict], problem: str, path: str) -> str:
    """The final runs' test metric against the step for one problem: mean over seeds with a
    +- one standard deviation band per optimizer, and the target as a dashed line."""
    from jaxdl._plotting import plot_bands

    runs = [r for r in records if r["testproblem"] == problem]
    metric, target = runs[0]["metric"], runs[0]["problem"]["target"]
    key = "test_losses" if metric == "loss" else ("test_accuracies" if metric == "accuracy" else f"test_{metric}_values")
    series = {}
    for name in sorted({r["optimizer_name"] for r in runs}):
        mine = [r for r in runs if r["optimizer_name"] == name]
        series[name] = (np.asarray(mine[0]["eval_steps"]), np.asarray([r[key] for r in mine], np.float64))
    return plot_bands(series, path, ylabel=f"test {metric}", title=f"{problem} (target {target:g})",
                      logy=metric == "loss", hline=target)
