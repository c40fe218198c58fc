"""What every benchmark script shares: its output directory and its JSON file."""

from __future__ import annotations

import json
import os


def output_dir(path: str) -> str:
    """Create ``path`` and print it (every script says where its numbers go)."""
    os.makedirs(path, exist_ok=True)
    print(f"output directory: {os.path.abspath(path)}")
    return path


def save_json(result, out: str, name: str) -> str:
    """Write ``result`` to ``out/name`` atomically and print the path."""
    path = os.path.join(out, name)
    with open(path + ".tmp", "w") as f:
        json.dump(result, f, indent=2)
    os.replace(path + ".tmp", path)
    print(f"wrote {path}")
    return path
