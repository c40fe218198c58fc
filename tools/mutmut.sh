#!/usr/bin/env bash
# Mutation check of the engine: mutmut mutates the train step (jaxdl/_step.py), the batching
# path (jaxdl/_batching.py) and the losses (jaxdl/_losses.py) one small change at a time and
# runs their fast tests (tests/test_step.py, test_batching.py, test_losses.py) against each;
# a mutant that no test notices "survives". The configuration is [tool.mutmut] in
# pyproject.toml. A developer tool, not part of CI: about 15-20 minutes on 2 cores.
#
#   python3 -m venv .venv && .venv/bin/pip install -q -e '.[mutation]'
#   PATH=.venv/bin:$PATH bash tools/mutmut.sh          # run (resumes where it stopped), then list survivors
#   .venv/bin/mutmut show <name>                       # one survivor's diff
#
# The mutations that issue 35 found the suite blind to are replayed by `python tools/mutations.py`.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v mutmut >/dev/null || { echo "mutmut not found: pip install -e '.[mutation]'" >&2; exit 2; }
mutmut run --max-children "${MUTMUT_JOBS:-2}" || true  # non-zero when mutants survive
mutmut results
