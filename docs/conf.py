"""Sphinx configuration of jaxdl's documentation site (see docs/README.md).

Build: ``python docs/build.py`` (or ``python -m sphinx -W -b html docs docs/_build/html``).
The API reference is generated here from each namespace's ``__all__``, so a public name
cannot be left out; the course pages are a sphinx-gallery whose scripts run every
experiment's quick configuration at build time.
"""

from __future__ import annotations

import inspect
import os
import sys

DOCS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(DOCS)
sys.path[:0] = [ROOT, DOCS]
os.environ.setdefault("JAX_PLATFORMS", "cpu")
os.environ.setdefault("MPLBACKEND", "Agg")

import api_pages  # noqa: E402  (docs/api_pages.py)
import jaxdl  # noqa: E402

project = "jaxdl"
author = "the jaxdl developers"
copyright = "2026, the jaxdl developers"
release = getattr(jaxdl, "__version__", "")

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.mathjax",
    "sphinx_gallery.gen_gallery",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = ["_build", "README.md", "course/README.rst", "course/*.py", "course/*.ipynb"]
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3

# API reference: one page per public name, generated from the docstrings.
api_pages.write(os.path.join(DOCS, "api"))
autodoc_default_options = {}
autodoc_typehints = "signature"
autodoc_member_order = "bysource"
napoleon_google_docstring = True
napoleon_numpy_docstring = False
napoleon_use_ivar = True  # a NamedTuple's "Attributes:" as fields, not as second descriptions of its members
add_module_names = True

# Formulas: MathJax 3 served from the site itself (the single-file SVG build in the
# django-static-mathjax package, which has no dependencies), so pages render offline, from
# file:// too (SVG output loads no web fonts), and a browser fetches nothing from elsewhere.
html_static_path = ["_static", api_pages.mathjax_script()]
mathjax_path = "tex-svg.js"

html_theme = "furo"
html_title = "jaxdl"
html_favicon = "_static/favicon.png"
html_show_sourcelink = False

sphinx_gallery_conf = {
    "examples_dirs": "course",
    "gallery_dirs": "course_gallery",
    "filename_pattern": r"/lecture_",
    "within_subsection_order": "FileNameSortKey",
    "image_scrapers": ("matplotlib",),
    "download_all_examples": False,
    "show_memory": False,
    "write_computation_times": False,  # its page loads DataTables from a CDN; the site stays offline
    "remove_config_comments": True,
    "abort_on_example_error": True,
    "plot_gallery": "True",
    "parallel": 2,  # two examples at a time (one process each): the build stays within 5 minutes on 2 cores
}


def _drop_type_docstrings(app, what, name, obj, options, lines):
    """A constant (a dict of activations, an array) has no docstring of its own: autodoc would
    show its type's (``dict``'s), which is neither about jaxdl nor valid reST."""
    foreign = type(obj).__module__.split(".")[0] in ("builtins", "numpy", "jax", "jaxlib")
    if what in ("data", "attribute") and not inspect.isclass(obj) and not callable(obj) and foreign:
        lines[:] = []


def setup(app):
    app.connect("autodoc-process-docstring", _drop_type_docstrings)
