"""A `sitecustomize` for child interpreters in which some packages cannot be imported, as if
they were not installed: put `blocker_dir(...)` first on the child's PYTHONPATH.

An empty block list writes a blocker that refuses nothing, so a baseline and a blocked run
start the same way and differ only in what is refused.
"""

from __future__ import annotations

from pathlib import Path

BLOCKER = '''\
import importlib.abc
import sys

BLOCKED = {blocked!r}


class Uninstalled(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".", 1)[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
        return None


sys.meta_path.insert(0, Uninstalled())
'''


def blocker_dir(root: Path, blocked: tuple[str, ...]) -> Path:
    """A directory holding a sitecustomize.py that refuses the top-level packages `blocked`."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "sitecustomize.py").write_text(BLOCKER.format(blocked=tuple(sorted(blocked))))
    return root
