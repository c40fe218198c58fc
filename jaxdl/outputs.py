"""Where experiment and benchmark scripts put their results: a printed output directory and
JSON files written atomically (a crash mid-write never leaves half a file); and how they end
when training diverges (``run_script``)."""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Callable

import numpy as np

__all__ = ["output_dir", "save_json", "run_script", "DIVERGED_EXIT_CODE"]

DIVERGED_EXIT_CODE = 3  # distinct from 1 (a crash) and 2 (bad command-line arguments)


def output_dir(path: str | os.PathLike) -> str:
    """Create ``path`` and print it (every script says where its numbers go)."""
    path = os.path.abspath(path)
    os.makedirs(path, exist_ok=True)
    print(f"output directory: {path}", flush=True)
    return path


def save_json(result, out: str | os.PathLike, name: str) -> str:
    """Write ``result`` to ``out/name`` atomically (temporary file, then rename) and print the path."""
    path = os.path.join(out, name)
    with open(path + ".tmp", "w") as f:
        json.dump(result, f, indent=2, default=_builtin)
    os.replace(path + ".tmp", path)
    print(f"wrote {path}")
    return path


def _builtin(value):
    """numpy scalars and arrays as plain numbers and lists (json cannot write them)."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    raise TypeError(f"save_json: cannot write {type(value).__name__} as JSON.")


def run_script(main: Callable[..., Any], argv: list[str] | None = None) -> None:
    """Entry point of the experiment scripts: ``main(argv)``; a run whose training diverged
    (``FloatingPointError`` from ``fit``, naming the metric and step) ends the process with
    that message on stderr and exit status ``DIVERGED_EXIT_CODE`` instead of a traceback, so
    shell loops and schedulers see the failure. The last good checkpoint stays on disk."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        main(argv)
    except FloatingPointError as error:
        print(f"error: training diverged: {error}", file=sys.stderr, flush=True)
        sys.exit(DIVERGED_EXIT_CODE)
