"""One scaffold for the experiment scripts: each states its science, this handles the rest.

An experiment is a config of defaults (the full run), a quick variant, and a function::

    CONFIG = {
        "steps": Param(3000, "training steps", minimum=1),
        "lr": Param(0.05, "learning rate", minimum=0.0),
    }
    QUICK = {"steps": 100}                       # what --quick changes, for tests

    def run(config, out: str) -> dict:           # config.steps, config.lr, ...; out: a directory
        ...                                      # figures go to out/, the dict is the numbers

    if __name__ == "__main__":
        main(run, CONFIG, quick=QUICK, doc=__doc__)

``main`` builds the command line from the config (``--steps 300``; ``--batch-sizes 8 4`` for
a list; ``--flag`` / ``--no-flag`` for a bool), applies ``--quick`` (explicit flags win over
it), checks every value against its ``Param`` (a bad one ends the process with a one-line
error naming the flag and exit status 2, never a traceback), creates and prints ``--out``
(default ``runs/NAME``), runs, and writes the returned numbers atomically as
``out/NAME.json`` with the config beside them. A run whose training diverged ends with exit
status ``DIVERGED_EXIT_CODE``, the last good checkpoint kept. With ``--log-dir DIR`` the run
is also a TensorBoard run: its figures (every PNG under ``out``) as images, its config as
hyperparameters and its top-level numbers as metrics (HParams). Flax's examples
(``configs/default.py`` + ``get_config()``) are the model: a config per experiment, a comment
on every field; here the comment is the ``Param``'s help, shown by ``--help``.
"""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import math
import os
import sys
import types
from typing import Any, Callable, Mapping, Sequence

import numpy as np

__all__ = ["Param", "main", "parse_config", "output_dir", "save_json", "run_script", "DIVERGED_EXIT_CODE"]

DIVERGED_EXIT_CODE = 3  # distinct from 1 (a crash) and 2 (bad command-line arguments)


@dataclasses.dataclass(frozen=True)
class Param:
    """One config field: its default, what it means, and what values it accepts.

    Attributes:
      default: the full run's value; its type (int, float, str, bool, a list of one of those,
        or None for an optional string) is the flag's type.
      help: what the field means, shown by ``--help``.
      minimum: the smallest value accepted (for a list, for each item); floats are always
        checked to be finite.
      choices: the accepted values of a string (or list of strings) field.
      kind: the type of a field whose default is None (default str).
    """

    default: Any
    help: str = ""
    minimum: float | None = None
    choices: Sequence[str] | None = None
    kind: type | None = None

    def check(self, flag: str, value) -> str | None:
        """Why ``value`` is not accepted (a one-line message naming ``flag``), or None."""
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, float) and not math.isfinite(item):
                return f"{flag} must be a finite number, got {item}"
            if self.minimum is not None and item is not None and not isinstance(item, str) and item < self.minimum:
                return f"{flag} must be >= {self.minimum}, got {item}"
            if self.choices is not None and item is not None and item not in self.choices:
                return f"{flag} must be one of {', '.join(map(str, self.choices))}; got {item!r}"
        return None


class _OneLineParser(argparse.ArgumentParser):
    """argparse, with an error printed as one line (``error: ...``) and exit status 2."""

    def error(self, message: str):
        print(f"error: {message}", file=sys.stderr, flush=True)
        sys.exit(2)


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _add(parser: argparse.ArgumentParser, name: str, param: Param, default) -> None:
    kind = type(param.default[0]) if isinstance(param.default, list) and param.default else (
        str if isinstance(param.default, list) else type(param.default))
    if kind is type(None):
        kind = param.kind or str
    if isinstance(param.default, bool):
        parser.add_argument(_flag(name), action=argparse.BooleanOptionalAction, default=default, help=param.help)
    else:
        parser.add_argument(_flag(name), type=kind, nargs="+" if isinstance(param.default, list) else None,
                            default=default, help=param.help)


def parse_config(config: Mapping[str, Param], argv: Sequence[str] | None, *, quick: Mapping[str, Any] | None = None,
                 doc: str = "", name: str = "experiment",
                 default_out: Callable[[types.SimpleNamespace], str] | None = None,
                 check: Callable[[types.SimpleNamespace], str | None] | None = None) -> types.SimpleNamespace:
    """The config from the command line ``argv``: defaults, then ``quick`` with ``--quick``,
    then explicit flags; each value checked against its ``Param``. Adds ``quick``, ``out``
    (default ``default_out(config)``, else ``runs/NAME``), ``progress`` and ``log_dir``. ``check(config)``
    returns why a combination of values is not accepted (a one-line message), or None.

    Raises:
      SystemExit(2): a bad flag or value, after printing one line naming it.
    """
    quick = dict(quick or {})
    unknown = set(quick) - set(config)
    if unknown:
        raise ValueError(f"quick names fields not in the config: {sorted(unknown)}")
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _OneLineParser(prog=f"{name}.py", description=(doc or "").strip().split("\n\n")[0],
                            formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a small, fast configuration (for tests)")
    parser.add_argument("--out", default=None, help=f"output directory (default: runs/{name})")
    parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=True, help="progress bars")
    parser.add_argument("--log-dir", default=None,
                        help="also a TensorBoard run there: the figures, the config and the numbers (needs tensorboardX)")
    is_quick = "--quick" in argv
    for field, param in config.items():
        _add(parser, field, param, quick[field] if is_quick and field in quick else param.default)
    values = vars(parser.parse_args(argv))
    for field, param in config.items():
        problem = param.check(_flag(field), values[field])
        if problem:
            parser.error(problem)
    values = types.SimpleNamespace(**values)
    problem = check(values) if check else None
    if problem:
        parser.error(problem)
    if values.out is None:
        values.out = default_out(values) if default_out else os.path.join("runs", name)
    return values


def main(run: Callable[[types.SimpleNamespace, str], Mapping[str, Any]], config: Mapping[str, Param], *,
         quick: Mapping[str, Any] | None = None, doc: str = "", name: str | None = None,
         result_file: str | None = None, default_out: Callable[[types.SimpleNamespace], str] | None = None,
         check: Callable[[types.SimpleNamespace], str | None] | None = None,
         argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run an experiment from the command line (see the module docstring).

    Args:
      run: ``run(config, out) -> numbers``; writes its figures under ``out``.
      config: ``{field: Param}``, the full run's defaults.
      quick: ``{field: value}`` for ``--quick``.
      doc: the script's docstring (its first paragraph is ``--help``'s description).
      name: the experiment's name (default: the file name of the script defining ``run``), for
        ``runs/NAME`` and ``NAME.json``.
      result_file: the JSON file's name (default ``NAME.json``).
      default_out: ``config -> directory`` when ``--out`` is not given (default ``runs/NAME``).
      check: ``config -> message or None``, for constraints between fields.
      argv: the command line (default ``sys.argv[1:]``); tests call ``main`` in-process.

    Returns:
      what ``run`` returned, with ``config`` added; also written to ``out/NAME.json``.
    """
    name = name or os.path.splitext(os.path.basename(inspect.getfile(run)))[0]
    values = parse_config(config, argv, quick=quick, doc=doc, name=name, default_out=default_out, check=check)
    out = output_dir(values.out)

    def go(_):
        result = dict(run(values, out))
        result.setdefault("config", vars(values))
        save_json(result, out, result_file or f"{name}.json")
        if values.log_dir is not None:
            _to_tensorboard(values.log_dir, out, result)
        return result

    return run_script(go, [])


def _to_tensorboard(log_dir: str, out: str, result: Mapping[str, Any]) -> None:
    """Every PNG under ``out`` as an image, the config's plain values as hyperparameters and the
    result's top-level numbers as metrics, in one TensorBoard run at ``log_dir``."""
    from jaxdl.plotting import write_figures

    plain = (bool, int, float, str)
    config = result.get("config")
    config = config if isinstance(config, Mapping) else {}
    hparams = {n: v for n, v in config.items() if isinstance(v, plain) and n not in ("out", "log_dir", "progress")}
    metrics = {n: float(v) for n, v in result.items()
               if isinstance(v, (int, float, np.number)) and not isinstance(v, bool) and math.isfinite(v)}
    figures = [os.path.join(d, f) for d, _, files in os.walk(out) for f in files if f.endswith(".png")]
    tags = write_figures(log_dir, figures, hparams=hparams, metrics=metrics)
    print(f"TensorBoard run with {len(tags)} figure(s): {os.path.abspath(log_dir)}")


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


def run_script(main: Callable[..., Any], argv: list[str] | None = None) -> Any:
    """``main(argv)``; a run whose training diverged (``FloatingPointError`` from ``fit``,
    naming the metric and step) ends the process with that message on stderr and exit status
    ``DIVERGED_EXIT_CODE`` instead of a traceback, so shell loops and schedulers see the
    failure. The last good checkpoint stays on disk."""
    argv = sys.argv[1:] if argv is None else argv
    try:
        return main(argv)
    except FloatingPointError as error:
        print(f"error: training diverged: {error}", file=sys.stderr, flush=True)
        sys.exit(DIVERGED_EXIT_CODE)
