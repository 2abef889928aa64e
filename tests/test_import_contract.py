"""The layering rules of ARCHITECTURE.md, checked on the source and at import time."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "wbadmin"

FORBIDDEN = {
    "core": ("textual", "wbadmin.tui"),
    "sandbox": ("textual", "wbadmin.tui", "wbadmin.core"),
}


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = []
    package = "wbadmin." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts[:-1])
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # resolve relative imports against the module's package
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                names.append(".".join([*base, node.module] if node.module else base))
            elif node.module:
                names.append(node.module)
    return names


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_source_never_imports_forbidden(layer: str) -> None:
    layer_dir = PACKAGE / layer
    if not layer_dir.exists():
        pytest.skip(f"wbadmin/{layer} does not exist yet")
    bad = []
    for path in layer_dir.rglob("*.py"):
        for name in _imports(path):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN[layer]):
                bad.append(f"{path.relative_to(PACKAGE.parent)} imports {name}")
    assert bad == []


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_import_loads_no_forbidden_module(layer: str) -> None:
    if not (PACKAGE / layer).exists():
        pytest.skip(f"wbadmin/{layer} does not exist yet")
    modules = sorted(
        "wbadmin." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts)
        for p in (PACKAGE / layer).rglob("*.py")
    )
    modules = [m.removesuffix(".__init__") for m in modules]
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"bad = [m for m in sys.modules if any(m == f or m.startswith(f + '.') "
        f"for f in {FORBIDDEN[layer]!r})]\n"
        "print(','.join(sorted(bad)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
