"""The package's shape: no import cycles, short functions, a top level without machinery,
no machine timings in the library."""

import ast
import pathlib
import re

import pytest

import jaxdl

PACKAGE = pathlib.Path(jaxdl.__file__).parent


def _module_name(path: pathlib.Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _modules() -> dict[str, ast.Module]:
    return {_module_name(p): ast.parse(p.read_text()) for p in sorted(PACKAGE.rglob("*.py"))}


def _imports(name: str, tree: ast.Module, known: set[str]) -> set[str]:
    """The jaxdl modules ``tree`` imports anywhere (deferred imports included): for ``from
    jaxdl.pkg import x``, the submodule ``jaxdl.pkg.x`` when it is one, else ``jaxdl.pkg``."""
    package = name if (PACKAGE.parent / name.replace(".", "/") / "__init__.py").exists() else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name in known}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in known else base)
    return {m for m in found if m in known and m != name}


def test_no_import_cycle_between_jaxdl_modules():
    modules = _modules()
    graph = {name: _imports(name, tree, set(modules)) for name, tree in modules.items()}
    assert graph["jaxdl._fit"], "the import graph is empty: the parser missed the imports"
    cycles = []
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])
    assert not cycles, f"import cycles: {cycles}"


def test_no_private_name_imported_across_modules():
    offenders = []
    for name, tree in _modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("jaxdl"):
                offenders += [f"{name}: {node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
    assert not offenders, offenders


def _body_length(fn: ast.FunctionDef) -> int:
    body = fn.body
    if len(body) > 1 and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant):
        body = body[1:]  # the docstring does not count
    return fn.end_lineno - body[0].lineno + 1


def test_no_function_body_over_80_lines():
    long = [f"{name}.{node.name}: {_body_length(node)}" for name, tree in _modules().items()
            for node in ast.walk(tree) if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and _body_length(node) > 80]
    assert not long, long


CPU_MACHINERY = ["cpu_conv2d", "cpu_conv_formulation", "blocked_conv2d", "s2d_conv2d_windows", "s2d_conv2d_maxpool",
                 "space_to_depth", "depth_to_space", "legacy_emitters", "matmul_conv_options", "CONV_IMPLS",
                 "LENET5_CONV_IMPLS", "jit_once"]


@pytest.mark.parametrize("name", CPU_MACHINERY)
def test_cpu_machinery_is_off_the_top_level(name):
    assert not hasattr(jaxdl, name)
    assert name not in jaxdl.__all__


def test_every_public_name_resolves():
    for namespace in (jaxdl, jaxdl.cpu, jaxdl.data, jaxdl.models, jaxdl.optim, jaxdl.sweep, jaxdl.analysis):
        missing = [n for n in namespace.__all__ if not hasattr(namespace, n)]
        assert not missing, (namespace.__name__, missing)


# A duration measured on some machine: "0.5 s", "12 ms", "1.5x faster", "steps/s", "2-core".
TIMING = re.compile(r"\d\s?(ms|us)\b|\d(\.\d+)?\s?s\b(?![ ^]?[\w^])|\d\.?\d*x faster|steps/s|images/s|\d-core|GFLOP")


def test_no_machine_timings_in_the_library():
    found = [f"{p.relative_to(PACKAGE.parent)}:{i}: {line.strip()}" for p in sorted(PACKAGE.rglob("*.py"))
             for i, line in enumerate(p.read_text().splitlines(), 1) if TIMING.search(line)]
    assert not found, "\n".join(found)
