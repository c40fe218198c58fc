"""Build the documentation site: ``python docs/build.py`` -> ``docs/_build/html/index.html``.

Sphinx with warnings as errors (``-W --keep-going``: every warning is listed, then the build
fails). The course pages run every experiment's quick configuration, so the build takes a few
minutes on a 2-core CPU. ``--out DIR`` builds elsewhere.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

DOCS = os.path.dirname(os.path.abspath(__file__))


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--out", default=os.path.join(DOCS, "_build", "html"))
    args = p.parse_args(argv)
    from sphinx.cmd.build import build_main

    start = time.perf_counter()
    code = build_main(["-W", "--keep-going", "-q", "-b", "html", DOCS, args.out])
    print(f"{'built' if code == 0 else 'FAILED'} in {time.perf_counter() - start:.0f} s: "
          f"{os.path.join(args.out, 'index.html')}")
    return code


if __name__ == "__main__":
    sys.exit(main())
