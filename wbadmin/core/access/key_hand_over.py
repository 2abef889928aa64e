"""How a new API key leaves wbadmin, exactly once: shown on the terminal, written to a file
readable by its owner only, or given on standard input to a command (a secret manager's CLI).

The key is never written anywhere else. A command that fails means the key did not arrive:
the rotation then deletes it again (`key_rotation`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..redact import Secret, redact

COMMAND_TIMEOUT_S = 120.0


class HandOverFailed(Exception):
    """The key did not reach its destination; str() says why (never with the key)."""


class BadHandOver(ValueError):
    """The destination cannot work (found before anything is made)."""


@dataclass(frozen=True)
class HandOver:
    """`kind`: "terminal", "file" (`target` the path) or "command" (`target` a shell
    command, given the key on standard input and WBADMIN_SERVICE_ACCOUNT / WBADMIN_KEY_ID in
    its environment)."""

    kind: str = "terminal"
    target: str | None = None

    def describe(self) -> str:
        if self.kind == "file":
            return f"written to {self.target} (readable by you only)"
        if self.kind == "command":
            return f"given on standard input to `{self.target}`"
        return "shown once on this terminal"

    def check(self) -> None:
        """Raise BadHandOver when the destination cannot work, before any key is made."""
        if self.kind == "file":
            path = Path(self.target or "")
            if not self.target or path.is_dir():
                raise BadHandOver(f"--to-file {self.target!r} is not a file path")
            if not path.parent.is_dir():
                raise BadHandOver(f"--to-file: the folder {path.parent} does not exist")
            if not os.access(path.parent, os.W_OK):
                raise BadHandOver(f"--to-file: the folder {path.parent} is not writable")
        elif self.kind == "command":
            if not (self.target or "").strip():
                raise BadHandOver("--to-command is empty")
        elif self.kind != "terminal":
            raise BadHandOver(f"unknown hand-over {self.kind!r}")

    async def give(self, account: str, key_id: str, key: Secret,
                   show: Callable[[str, str, str], None] | None) -> None:
        """Hand the key over; raise HandOverFailed if it did not arrive."""
        if self.kind == "file":
            await asyncio.to_thread(_write_private, Path(self.target or ""), key)
        elif self.kind == "command":
            await _pipe(self.target or "", account, key_id, key)
        else:
            if show is None:
                raise HandOverFailed("no terminal to show the key on")
            show(account, key_id, key.reveal())


def _write_private(path: Path, key: Secret) -> None:
    """The key alone in `path`, mode 0600 from its first byte, replacing the file whole (a
    reader sees the old key or the new one, never half of one)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(key.reveal() + "\n")
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        raise HandOverFailed(f"cannot write {path}: {exc.strerror or exc}") from None


async def _pipe(command: str, account: str, key_id: str, key: Secret) -> None:
    env = {**os.environ, "WBADMIN_SERVICE_ACCOUNT": account, "WBADMIN_KEY_ID": key_id}
    try:
        proc = await asyncio.create_subprocess_shell(
            command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE, env=env)
    except OSError as exc:
        raise HandOverFailed(f"cannot run `{command}`: {exc.strerror or exc}") from None
    try:
        _, err = await asyncio.wait_for(proc.communicate((key.reveal() + "\n").encode()),
                                        COMMAND_TIMEOUT_S)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise HandOverFailed(f"`{command}` did not finish in {COMMAND_TIMEOUT_S:.0f} s") \
            from None
    if proc.returncode != 0:
        last = redact(err.decode(errors="replace"), [key.reveal()]).strip().splitlines()
        said = f": {last[-1][:200]}" if last else ""
        raise HandOverFailed(f"`{command}` exited with {proc.returncode}{said}")
