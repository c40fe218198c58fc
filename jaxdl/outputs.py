"""Where experiment and benchmark scripts put their results: a printed output directory and
JSON files written atomically (a crash mid-write never leaves half a file)."""

from __future__ import annotations

import json
import os

import numpy as np

__all__ = ["output_dir", "save_json"]


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
