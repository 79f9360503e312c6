"""The package's layers import only what docs/architecture.md allows them to.

Each module's imports, top-level and inside functions, are read from its source, so an
import that breaks the layering fails here before it tangles the package.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "sklearn_deepfm"

# What each part of the package may import of the package (besides itself). The
# leaves (_version, _slots, _json, _sklearn, _files) import nothing of it.
ALLOWED = {
    "_version": set(),
    "_slots": set(),
    "_json": set(),
    "_sklearn": set(),
    "_files": set(),
    "nn": {"_slots"},
    "preprocessing": {"_slots", "_sklearn"},
    "data": {"_slots"},
    "datasets": set(),
    "estimators": {"_slots", "_json", "_files", "_sklearn", "nn", "data"},
    "io": {"_slots", "_json", "_files", "_version", "nn", "preprocessing", "estimators"},
    "inspection": {"_slots", "_sklearn", "data", "estimators"},
    "parquet": {"data"},
    "__init__": {"_version"},  # the rest loads lazily, by name
}
# Third-party packages a part must not import, for those usable without them.
FORBIDDEN_THIRD_PARTY = {"nn": {"sklearn", "skorch", "pandas", "pyarrow", "scipy"}}


def part_of(path):
    relative = path.relative_to(PACKAGE)
    return relative.parts[0].removesuffix(".py")


def imported_parts(path):
    """Yield ``(line, part or None, top-level package)`` for every import of ``path``."""
    module = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    package = (
        module.rsplit(".", 1)[0] if path.name != "__init__.py" else module[: -len(".__init__")]
    )
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
                # `from . import x` at the package root names the part x
                if target == "sklearn_deepfm":
                    names = [f"sklearn_deepfm.{alias.name}" for alias in node.names]
                else:
                    names = [target]
            else:
                names = [node.module]
        else:
            continue
        for name in names:
            parts = name.split(".")
            if parts[0] == "sklearn_deepfm":
                yield node.lineno, (parts[1] if len(parts) > 1 else "__init__"), None
            else:
                yield node.lineno, None, parts[0]


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_imports_only_allowed_layers(path):
    part = part_of(path)
    assert part in ALLOWED, f"{part!r} is a new part: give it a row in ALLOWED and the docs"
    allowed = ALLOWED[part] | {part}
    forbidden = FORBIDDEN_THIRD_PARTY.get(part, set())
    for line, imported, third_party in imported_parts(path):
        where = f"{path.relative_to(PACKAGE.parent)}:{line}"
        assert imported is None or imported in allowed, (
            f"{where} imports sklearn_deepfm.{imported}, which {part!r} may not "
            f"(allowed: {sorted(allowed)}; see docs/architecture.md)"
        )
        assert third_party not in forbidden, f"{where} imports {third_party}"


def test_the_rule_catches_a_forbidden_import(tmp_path, monkeypatch):
    # the checker itself: a module of nn importing the estimators is reported
    module = tmp_path / "sklearn_deepfm" / "nn" / "_bad.py"
    module.parent.mkdir(parents=True)
    module.write_text("from ..estimators import DeepFMClassifier\nimport pandas\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", tmp_path / "sklearn_deepfm")
    with pytest.raises(AssertionError, match="imports sklearn_deepfm.estimators"):
        test_module_imports_only_allowed_layers(module)


@pytest.mark.parametrize(
    "statement, absent",
    [
        ("import sklearn_deepfm.nn", ["pandas", "pyarrow", "sklearn", "skorch", "scipy"]),
        ("import sklearn_deepfm", ["pandas", "pyarrow", "sklearn", "skorch", "torch"]),
    ],
)
def test_light_imports_load_no_heavy_dependency(statement, absent):
    # in a fresh interpreter: this one has imported everything already
    code = f"import sys; {statement}; print(sorted(m for m in {absent!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    assert result.stdout.strip() == "[]", result.stdout
