"""The install a user gets: the wheel holds every file the package needs, and a start-up that
goes wrong in an unexpected way says so in one line with exit 70 (not a traceback, not 1)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.ptyterm import spawn

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "wbadmin"


def package_data_files() -> set[str]:
    """Every non-Python file under wbadmin/ (stylesheets, schemas, templates, policies)."""
    return {p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*")
            if p.is_file() and p.suffix not in (".py", ".pyc") and "__pycache__" not in p.parts}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel `pip install .` builds on a clean clone: CI's own (WBADMIN_WHEEL), else one
    built here from a copy without build leftovers (an editable install's *.egg-info lists
    every file, and setuptools would take data files from it that a clean build leaves out)."""
    given = os.environ.get("WBADMIN_WHEEL")
    if given:
        return Path(given)
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, src / name)
    shutil.copytree(PACKAGE, src / "wbadmin",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w",
                    str(tmp), str(src)], check=True, capture_output=True, timeout=300)
    return next(tmp.glob("wbadmin-*.whl"))


def test_the_wheel_holds_every_file_of_the_package(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    data = package_data_files()
    assert "wbadmin/tui/app.tcss" in data  # the file a user's first start needs
    assert sorted(data - names) == []
    sources = {p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*.py")}
    assert sorted(sources - names) == []


def _crash_at_start(*flags: str) -> tuple[int, str]:
    """`wbadmin --sandbox` on a terminal, with the app's stylesheet missing (the bug a wheel
    without its .tcss had)."""
    code = ("import sys; from wbadmin.tui.app import WbAdminApp; "
            "WbAdminApp.CSS_PATH = 'no-such-file.tcss'; from wbadmin.cli import main; "
            f"sys.exit(main([*{list(flags)!r}, '--sandbox']))")
    term = spawn([sys.executable, "-c", code], cwd=str(ROOT), cols=100, rows=30)
    exit_code = term.finish(timeout=60)
    return exit_code, term.raw.decode("utf-8", "replace")


def test_an_unexpected_error_at_start_is_one_line_and_exit_70() -> None:
    code, out = _crash_at_start()
    assert code == 70, out
    assert "wbadmin: internal error: StylesheetError" in out
    assert "run with --debug" in out
    assert "Traceback" not in out and "╭" not in out


def test_debug_shows_the_traceback() -> None:
    code, out = _crash_at_start("--debug")
    assert code != 0
    assert "Traceback" in out or "StylesheetError" in out
    assert "internal error" not in out
