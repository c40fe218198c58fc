"""The README's library examples run as written."""

import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_readme_python_examples_run(tmp_path, monkeypatch):
    with open(os.path.join(ROOT, "README.md")) as f:
        blocks = re.findall(r"```python\n(.*?)```", f.read(), flags=re.S)
    assert len(blocks) >= 2
    monkeypatch.chdir(tmp_path)  # the example writes runs/moons relative to the working directory
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)
    assert namespace["result"].history[-1]["eval_accuracy"][0] > 0.8
    # the theory example's values, as the README states them (not only the README's own asserts)
    assert namespace["count"] == 97 and 1 <= namespace["regions"] <= 81 and namespace["check"].ok is True
    assert (tmp_path / "runs" / "moons" / "history.jsonl").exists()
