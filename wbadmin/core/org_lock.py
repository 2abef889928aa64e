"""One writer per org on this machine: a lock around planning and applying, keyed by
(server URL, org) and shared by every profile, so two applies at once cannot both plan from
the same state and both write it.

An advisory `flock` on `<data dir>/locks/<hash>.lock`: the kernel drops it when the holder
exits, `kill -9` included, so a crash never leaves the org locked. The file names its holder
(pid, command, since when) for the message a second writer gets. Two machines are not
covered: W&B has no lock wbadmin could take, so two admins on two machines can still race
(each apply re-reads its targets first, which narrows that to the time of one change).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from .. import clock
from ..private_files import private_dir
from . import errors as E
from . import paths

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks here; say so, don't fail
    fcntl = None  # type: ignore[assignment]

# flock is per open file: two holders of one lock in one process must queue here first.
_locals: dict[Path, threading.Lock] = {}
_locals_guard = threading.Lock()


class OrgBusy(E.Conflict):
    """Another wbadmin on this machine is applying changes to this org (exit 6)."""


def lock_path(server: str, org: str | None, folder: Path | None = None) -> Path:
    digest = hashlib.sha256(f"{server}\n{org or ''}".encode()).hexdigest()[:20]
    return (folder or paths.data_dir() / "locks") / f"{digest}.lock"


def _holder(fd: int) -> str:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        info = json.loads(os.read(fd, 4096).decode() or "{}")
        since = time.strftime("%H:%M:%S", time.localtime(float(info["since"])))
        return f"pid {info['pid']} (`{info['command']}`, since {since})"
    except (OSError, ValueError, KeyError, TypeError):
        return "another wbadmin process"


@contextlib.contextmanager
def org_lock(server: str, org: str | None, *, wait: bool = True,
             on_wait: Callable[[str], None] | None = None,
             folder: Path | None = None) -> Iterator[None]:
    """Hold the org's lock for the block. Busy: `wait` → tell `on_wait` who holds it and
    wait; else raise OrgBusy naming the other process."""
    if fcntl is None:  # pragma: no cover
        yield
        return
    path = lock_path(server, org, folder)
    private_dir(path.parent)
    what = f"org {org}" if org else server
    with _locals_guard:
        local = _locals.setdefault(path, threading.Lock())
    if not local.acquire(blocking=False):
        if not wait:
            raise OrgBusy(f"pid {os.getpid()} (this process) is applying changes to {what}; "
                          "nothing changed", hint="try again when it is done")
        if on_wait is not None:
            on_wait(f"waiting for another change to {what} in this process")
        local.acquire()
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                holder = _holder(fd)
                if not wait:
                    raise OrgBusy(f"{holder} is applying changes to {what} on this machine; "
                                  "nothing changed",
                                  hint="try again when it is done, or drop --no-wait to "
                                       "wait for it") from None
                if on_wait is not None:
                    on_wait(f"waiting for {holder}, which is applying changes to {what}")
                fcntl.flock(fd, fcntl.LOCK_EX)
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, json.dumps({"pid": os.getpid(), "since": clock.now(),
                                     "command": " ".join(["wbadmin", *sys.argv[1:3]])}
                                    ).encode())
            try:
                yield
            finally:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)
    finally:
        local.release()
