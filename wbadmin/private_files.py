"""Files only their owner may read: the cache, the journal, walkthrough state and the embedded
sandbox's database (which holds the demo API keys) are created 0600, in folders created 0700.

SQLite gives a database's -wal and -shm files the database file's own mode, so creating the
database file first is enough for them. A file that already exists is tightened too: one
written by an older wbadmin (0644) becomes private the next time it is opened. Folders are
made 0700 when wbadmin creates them; existing ones are left alone.

A leaf module: core and the sandbox both use it and it imports neither.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: str | Path) -> Path:
    """Create `path` and any missing parents 0700. Folders that already exist are left as
    they are: one may be the user's own (a `--cache-path` in their working directory)."""
    folder = Path(path)
    missing = []
    probe = folder
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for created in reversed(missing):  # outermost first; the umask can only narrow 0700
        with contextlib.suppress(FileExistsError):
            created.mkdir(mode=DIR_MODE)
        with contextlib.suppress(OSError):
            os.chmod(created, DIR_MODE)
    return folder


def private_file(path: str | Path) -> Path:
    """Make sure `path` exists with mode 0600 (in a 0700 folder), creating it empty."""
    file = Path(path)
    private_dir(file.parent)
    fd = os.open(file, os.O_CREAT | os.O_WRONLY | getattr(os, "O_CLOEXEC", 0), FILE_MODE)
    os.close(fd)
    with contextlib.suppress(OSError):
        os.chmod(file, FILE_MODE)
    for suffix in ("-wal", "-shm", "-journal"):  # SQLite's side files, if an older run left some
        side = Path(f"{file}{suffix}")
        with contextlib.suppress(OSError):
            if side.exists():
                os.chmod(side, FILE_MODE)
    return file


def write_private_text(path: str | Path, text: str) -> None:
    """Write `text` to `path` atomically (a crash leaves the old file or the new), 0600."""
    target = Path(path)
    private_dir(target.parent)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_WRONLY | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0),
                 FILE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, target)
