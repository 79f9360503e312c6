"""Sphinx configuration of the sklearn-deepfm documentation.

Build with ``python -m sphinx -W -b html docs docs/_build/html`` from the repository
root (``pip install -e ".[docs]"`` first). The gallery runs ``examples/plot_*.py``; the
benchmarks page is generated from ``benchmarks/results/*.json`` (``_ext/benchmark_pages.py``).
"""

import os
import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "_ext"))

import sklearn_deepfm  # noqa: E402

project = "sklearn-deepfm"
author = "The sklearn-deepfm developers"
copyright = "the sklearn-deepfm developers, BSD-3-Clause"  # noqa: A001
release = sklearn_deepfm.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
    "myst_parser",
    "benchmark_pages",
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
templates_path = ["_templates"]
exclude_patterns = ["_build", "_generated", "**.ipynb_checkpoints", "auto_examples/*.ipynb"]
default_role = "literal"

# -- API reference ---------------------------------------------------------------------
autosummary_generate = True
autodoc_default_options = {"members": True}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

intersphinx_mapping = {
    "python": ("https://docs.python.org/3", None),
    "numpy": ("https://numpy.org/doc/stable/", None),
    "sklearn": ("https://scikit-learn.org/stable/", None),
    "torch": ("https://docs.pytorch.org/docs/stable/", None),
}
# The build must pass offline (CI machines may have no network): intersphinx is
# consulted only when SKLEARN_DEEPFM_DOCS_INTERSPHINX=1.
if os.environ.get("SKLEARN_DEEPFM_DOCS_INTERSPHINX") != "1":
    intersphinx_mapping = {}

# -- Gallery ---------------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # Only plot_*.py run at build time; the others (a demo, command-line scripts that
    # take files or torchrun) are shown with their code.
    "filename_pattern": r"/plot_",
    "ignore_pattern": r"__init__\.py",
    "within_subsection_order": "FileNameSortKey",
    "backreferences_dir": None,
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    "plot_gallery": "True",
    "abort_on_example_error": True,
    "run_stale_examples": False,
}

# -- HTML ------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sklearn-deepfm {release}"
html_theme_options = {
    "navbar_end": ["navbar-icon-links"],
    "secondary_sidebar_items": ["page-toc"],
    "show_prev_next": False,
}
html_static_path = []
html_show_sourcelink = False

myst_heading_anchors = 3
suppress_warnings = []


# -- Docstring fixes at build time -----------------------------------------------------
# scikit-learn's shapes name fitted attributes, "(n_features_in_,)": in reStructuredText a
# word ending in "_" is a link, so escape those outside literals once numpydoc is done.
_FITTED_NAME = re.compile(r"(?<![\w`*])(n_\w+?)_(?=[,)])")


def _escape_fitted_names(app, what, name, obj, options, lines):
    for i, line in enumerate(lines):
        if "``" not in line:
            lines[i] = _FITTED_NAME.sub(r"\1\\_", line)


def _skip_metadata_requests(app, what, name, obj, skip, options):
    # scikit-learn's generated set_*_request methods document metadata routing with
    # references into scikit-learn's own documentation; the estimators' pages leave them out.
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    """Connect the docstring fixes."""
    app.connect("autodoc-process-docstring", _escape_fitted_names, priority=900)
    app.connect("autodoc-skip-member", _skip_metadata_requests)
