"""The layering rules of ARCHITECTURE.md: which layer may import which (import-linter's
contracts in pyproject.toml), and which dependencies stay unloaded until they are used."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "wbadmin"
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"

# The sandbox's server stack: started only by `wbadmin sandbox serve` or the embedded launcher.
SANDBOX_STACK = ("wbadmin.sandbox", "uvicorn", "starlette", "graphql", "orjson")
# Found by wbadmin's tests, never by a user's install.
TEST_ONLY = ("pytest", "hypothesis", "pyte")
# Installed for `wbadmin report`, template workspaces and `wbadmin serve`, and imported only there:
# wandb starts a helper binary, and all four cost start-up time nobody else should pay.
ON_DEMAND = ("wandb", "wandb_workspaces", "textual_serve", "aiohttp")

# Importing every module of a layer (as a command or a screen does) loads none of these.
LAYER_LEAVES_UNLOADED = {
    # keyring: backend discovery can be slow (D-Bus); credentials import it when asked.
    "core": ("textual", "wbadmin.tui", "wbadmin.cli", "keyring", *SANDBOX_STACK, *TEST_ONLY,
             *ON_DEMAND),
    "sandbox": ("textual", "wbadmin.tui", "wbadmin.core", "wbadmin.cli", *TEST_ONLY, *ON_DEMAND),
    # ARCHITECTURE: the CLI imports core; the TUI and the sandbox lazily, when a command needs
    # them, so `wbadmin teams` never pays for Textual or the server.
    "cli": ("textual", "wbadmin.tui", "keyring", *SANDBOX_STACK, *TEST_ONLY, *ON_DEMAND),
    # The TUI starts the sandbox through wbadmin.embedded only when the session uses it.
    "tui": ("wbadmin.cli", "keyring", *SANDBOX_STACK, *TEST_ONLY, *ON_DEMAND),
}

# Single modules whose docstrings or comments promise a lazy import.
MODULE_LEAVES_UNLOADED = {
    "wbadmin.cli": ("textual", "wbadmin.tui", "keyring", *SANDBOX_STACK, *TEST_ONLY, *ON_DEMAND),
    # "the client pulls in httpx: imported when connecting, not at start-up"
    "wbadmin.core.session": ("httpx", "wbadmin.core.client", "keyring"),
    "wbadmin.core.credentials": ("keyring",),
    # the one place joining core and the sandbox imports the sandbox when it launches it
    "wbadmin.embedded": SANDBOX_STACK,
}


def lint_imports() -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo"], cwd=ROOT,
                          capture_output=True, text=True)


def test_import_linter_contracts_are_kept() -> None:
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_import_linter_catches_a_forbidden_import(tmp_path: Path) -> None:
    """The contracts bite: core importing Textual breaks them (on a copy of the package)."""
    copy = tmp_path / "wbadmin"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    (copy / "core" / "sneaky.py").write_text("import textual\n")
    result = subprocess.run([str(LINT_IMPORTS), "--no-cache", "--no-logo"], cwd=tmp_path,
                            capture_output=True, text=True,
                            env={"PATH": str(LINT_IMPORTS.parent), "PYTHONPATH": str(tmp_path)})
    assert result.returncode != 0, result.stdout + result.stderr
    assert "wbadmin.core.sneaky -> textual" in result.stdout


def _modules(layer: str) -> list[str]:
    return sorted(
        ("wbadmin." + ".".join(p.relative_to(PACKAGE).with_suffix("").parts))
        .removesuffix(".__init__")
        for p in (PACKAGE / layer).rglob("*.py"))


def _loaded_after_importing(modules: list[str], watched: tuple[str, ...]) -> list[str]:
    """Which of `watched` (or their submodules) a fresh interpreter holds after importing
    `modules`."""
    code = (
        "import importlib, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"bad = {{w for w in {watched!r} for m in sys.modules\n"
        f"       if m == w or m.startswith(w + '.')}}\n"
        "print(','.join(sorted(bad)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, cwd=ROOT)
    return [name for name in out.stdout.strip().split(",") if name]


@pytest.mark.parametrize("layer", sorted(LAYER_LEAVES_UNLOADED))
def test_importing_a_layer_loads_nothing_it_defers(layer: str) -> None:
    assert _loaded_after_importing(_modules(layer), LAYER_LEAVES_UNLOADED[layer]) == []


@pytest.mark.parametrize("module", sorted(MODULE_LEAVES_UNLOADED))
def test_importing_a_module_loads_nothing_it_defers(module: str) -> None:
    assert _loaded_after_importing([module], MODULE_LEAVES_UNLOADED[module]) == []


def test_commands_run_on_an_install_without_the_on_demand_packages(tmp_path: Path) -> None:
    """Only the commands that use them need them: with all four unimportable, the help (every
    command registered, `serve` included) and a data command on the sandbox still work."""
    import json
    import os

    from tests.import_blocker import blocker_dir

    shim = blocker_dir(tmp_path / "shim", ON_DEMAND)
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(PYTHONPATH=os.pathsep.join([str(shim), str(ROOT)]), HOME=str(tmp_path),
               XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_CACHE_HOME=str(tmp_path / "cache"),
               XDG_DATA_HOME=str(tmp_path / "data"))

    def wbadmin(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "wbadmin", *args], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=120)

    blocked = subprocess.run([sys.executable, "-c", "import aiohttp"], env=env,
                             capture_output=True, text=True)
    assert "ModuleNotFoundError" in blocked.stderr  # the shim works
    helped = wbadmin("--help")
    assert helped.returncode == 0 and "serve" in helped.stdout, helped.stderr
    teams = wbadmin("teams", "--json", "--sandbox")
    assert teams.returncode == 0, teams.stderr
    assert len(json.loads(teams.stdout)) == 9
