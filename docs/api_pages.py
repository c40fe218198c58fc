"""The API reference's pages, written from each namespace's ``__all__`` when the site is built.

Each group is one page with a table (autosummary) whose every name links to its own page,
generated from the docstring. Top-level names are listed once, under the namespace they come
from: ``jaxdl.MLP`` is documented as ``jaxdl.models.MLP``; the engine, losses and metrics live
at the top level. ``public_names()`` is what the tests check the built site against.
"""

from __future__ import annotations

import importlib
import inspect
import os

import jaxdl

# (page, title, namespace, what the page is about); the top-level groups pick names by module.
GROUPS = [
    ("engine", "Engine", "jaxdl", "Train state, steps, fit, checkpoints, devices and hosts."),
    ("losses", "Losses and metrics", "jaxdl", "Losses derived by maximum likelihood, penalties, metrics."),
    ("models", "Models", "jaxdl.models", "Every network of the course, as Flax linen modules."),
    ("optimizers", "Optimizers", "jaxdl.optim", "optax GradientTransformations, each tested equal to optax's own."),
    ("sweeps", "Sweeps", "jaxdl.sweep", "K configurations as one jit(vmap(scan)) program."),
    ("data", "Data", "jaxdl.data", "Data sets, loaders (IDX files, tfds), toy generators, augmentation."),
    ("analysis", "Analysis", "jaxdl.analysis", "The lectures' theory tools, landscapes, curvature, attribution."),
    ("robustness", "Robustness", "jaxdl.robust", "Adversarial attacks and adversarial training."),
    ("tuning", "Tuning", "jaxdl.tune", "Hyperparameter tuning with Optuna, K trials per program."),
    ("benchmarks", "Benchmarks", "jaxdl.bench", "The optimizer benchmark suite."),
    ("plotting", "Plotting", "jaxdl.plotting", "Figures, and the run's figures in TensorBoard."),
    ("experiment", "Experiment scaffold", "jaxdl.experiment", "Config, --quick, --out, atomic JSON."),
    ("cpu", "XLA:CPU machinery", "jaxdl.cpu", "Compile options and convolutions as matmuls."),
]
_LOSS_MODULES = ("jaxdl._losses", "jaxdl._metrics")
# Top-level names re-exported from a namespace that has its own page.
_SUBPACKAGES = ("jaxdl.models", "jaxdl.optim", "jaxdl.sweep", "jaxdl.data", "jaxdl.analysis", "jaxdl.robust",
                "jaxdl.tune", "jaxdl.bench", "jaxdl.cpu")


def _home(obj) -> str:
    return getattr(obj, "__module__", "") or ""


def group_names(page: str, namespace: str) -> list[str]:
    """The public names documented on ``page``, in ``__all__`` order."""
    module = importlib.import_module(namespace)
    names = [n for n in module.__all__ if not isinstance(getattr(module, n), type(os))]  # no submodules
    if namespace != "jaxdl":
        return names
    top = [n for n in names if not _home(getattr(jaxdl, n)).startswith(_SUBPACKAGES)
           and not any(n in importlib.import_module(p).__all__ for p in _SUBPACKAGES)]
    losses = [n for n in top if _home(getattr(jaxdl, n)) in _LOSS_MODULES]
    return losses if page == "losses" else [n for n in top if n not in losses]


def public_names() -> list[str]:
    """Every documented name, fully qualified (``jaxdl.fit``, ``jaxdl.models.MLP``, ...)."""
    return [f"{ns}.{n}" for page, _, ns, _ in GROUPS for n in group_names(page, ns)]


def write(folder: str) -> None:
    """Write ``index.rst``, one page per group (a table of its names with their one-line
    summaries) and one page per name (``generated/NAME.rst``, autodoc) into ``folder``; only
    files that changed are rewritten, so an unchanged build stays incremental."""
    os.makedirs(os.path.join(folder, "generated"), exist_ok=True)
    index = ["API reference", "=============", "",
             "Every public name of jaxdl, grouped as the package is; each links to its own page.", "",
             ".. toctree::", "   :maxdepth: 1", ""] + [f"   {page}" for page, *_ in GROUPS]
    _write(os.path.join(folder, "index.rst"), index)
    for page, title, namespace, about in GROUPS:
        module = importlib.import_module(namespace)
        names = group_names(page, namespace)
        lines = [title, "=" * len(title), "", about, "", ".. list-table::", "   :widths: 30 70", ""]
        for name in names:
            lines += [f"   * - :py:obj:`~{namespace}.{name}`", f"     - {summary(getattr(module, name))}"]
        lines += ["", ".. toctree::", "   :hidden:", ""] + [f"   generated/{namespace}.{name}" for name in names]
        _write(os.path.join(folder, f"{page}.rst"), lines)
        for name in names:
            _write(os.path.join(folder, "generated", f"{namespace}.{name}.rst"),
                   _name_page(namespace, name, getattr(module, name)))


def _name_page(namespace: str, name: str, obj) -> list[str]:
    full = f"{namespace}.{name}"
    kind = ("autoclass" if inspect.isclass(obj) else "autofunction" if callable(obj) else "autodata")
    lines = [full, "=" * len(full), "", f".. currentmodule:: {namespace}", "", f".. {kind}:: {name}"]
    if kind == "autoclass":
        lines += ["   :members:", "   :exclude-members: __init__, __new__, parent, name, scope"]
    if kind == "autodata":
        lines += ["   :no-value:", "", describe_value(obj)]
    return lines


def describe_value(obj) -> str:
    """A constant's page text: its type and entries (a dict of functions has no docstring)."""
    if isinstance(obj, dict):
        keys = ", ".join(f"``{k}``" for k in list(obj)[:40])
        return f"A ``dict`` of {len(obj)} entries: {keys}{', ...' if len(obj) > 40 else ''}."
    if isinstance(obj, (tuple, list)):
        return f"A ``{type(obj).__name__}``: ``{obj!r}``."
    return f"``{obj!r}``"


def summary(obj) -> str:
    """The first sentence of ``obj``'s docstring, cut outside inline literals, on one line."""
    if not (inspect.isclass(obj) or callable(obj)):
        return describe_value(obj).split(":")[0] + "."
    doc = inspect.getdoc(obj) or ""
    paragraph = " ".join(doc.split("\n\n")[0].split())
    parts, literal, i = [], False, 0
    while i < len(paragraph):
        if paragraph.startswith("``", i):
            literal, i = not literal, i + 2
            parts.append("``")
            continue
        parts.append(paragraph[i])
        end = paragraph[i] == "." and (i + 1 == len(paragraph) or paragraph[i + 1] == " ")
        if end and not literal and not paragraph[:i].endswith(("e.g", "i.e", "et al", "cf", "vs")):
            break
        i += 1
    text = "".join(parts)
    if literal:
        text += "``"
    # A lone * or ` outside literals would open emphasis or a role that never closes.
    pieces = text.split("``")
    pieces[::2] = [p.replace("*", "\\*").replace("`", "'") for p in pieces[::2]]
    return "``".join(pieces)


def _write(path: str, lines: list[str]) -> None:
    text = "\n".join(lines) + "\n"
    if os.path.exists(path) and open(path).read() == text:
        return
    with open(path, "w") as f:
        f.write(text)


def mathjax_script() -> str:
    """MathJax 3's single-file TeX-to-SVG build, from the django-static-mathjax package (the
    package has no dependencies; Django is not needed to use its files)."""
    import mathjax

    return os.path.join(os.path.dirname(mathjax.__file__), "static", "mathjax", "es5", "tex-svg.js")
