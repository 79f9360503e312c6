"""The API reference (docs/api.rst) names every public name of the package.

Sphinx builds the reference from that file (CI runs the build with -W); this test fails
first, without Sphinx, when a name is added to an ``__all__`` and not to the reference.
"""

import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import sklearn_deepfm

API = Path(__file__).resolve().parents[1] / "docs" / "api.rst"


def public_subpackages():
    """The package's public modules: those whose name has no leading underscore."""
    return sorted(
        f"sklearn_deepfm.{info.name}"
        for info in pkgutil.iter_modules(sklearn_deepfm.__path__)
        if not info.name.startswith("_")
    )


def api_text():
    return API.read_text(encoding="utf-8")


def test_the_public_subpackages_are_the_known_ones():
    # A new public subpackage is a decision: it must be added to the reference too.
    assert public_subpackages() == [
        "sklearn_deepfm.data",
        "sklearn_deepfm.datasets",
        "sklearn_deepfm.estimators",
        "sklearn_deepfm.inspection",
        "sklearn_deepfm.io",
        "sklearn_deepfm.nn",
        "sklearn_deepfm.parquet",
        "sklearn_deepfm.preprocessing",
    ]


@pytest.mark.parametrize("name", sklearn_deepfm.__all__)
def test_every_package_name_is_in_the_reference(name):
    assert re.search(rf"(?<!\w){re.escape(name)}\b", api_text()), (
        f"sklearn_deepfm.{name} is public (in __all__) but docs/api.rst does not name it"
    )


@pytest.mark.parametrize("module", public_subpackages())
def test_every_subpackage_and_its_names_are_in_the_reference(module):
    text = api_text()
    assert module in text, f"docs/api.rst has no section for {module}"
    names = importlib.import_module(module).__all__
    missing = [name for name in names if not re.search(rf"\b{re.escape(name)}\b", text)]
    assert not missing, f"{module} exports {missing}, which docs/api.rst does not name"
