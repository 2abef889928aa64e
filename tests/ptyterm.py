"""A command on a real pseudo-terminal, read through a terminal emulator (pyte), as a person
at a terminal would see it. Used by the installed-package smoke in `.ci/run` and by the tests
of how the TUI starts and ends. Imports nothing of wbadmin: it drives whatever `argv` runs."""

from __future__ import annotations

import fcntl
import os
import pty
import select
import struct
import subprocess
import termios
import time
from collections.abc import Sequence
from dataclasses import dataclass

import pyte


@dataclass
class Terminal:
    proc: subprocess.Popen
    fd: int
    screen: pyte.Screen
    stream: pyte.ByteStream
    raw: bytearray

    def text(self) -> str:
        return "\n".join(line.rstrip() for line in self.screen.display)

    def pump(self, seconds: float) -> None:
        """Read what the program writes for up to `seconds`."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            ready, _, _ = select.select([self.fd], [], [], min(left, 0.05))
            if not ready:
                if self.proc.poll() is not None:
                    return
                continue
            try:
                chunk = os.read(self.fd, 65536)
            except OSError:  # the program closed the terminal
                return
            if not chunk:
                return
            self.raw += chunk
            self.stream.feed(chunk)

    def wait_for(self, *needles: str, timeout: float = 60) -> bool:
        """True once every needle is on screen; False at the timeout or when the program ends."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if all(n in self.text() for n in needles):
                return True
            if self.proc.poll() is not None:
                self.pump(0.2)
                return all(n in self.text() for n in needles)
            self.pump(0.1)
        return False

    def send(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def finish(self, timeout: float = 30) -> int:
        """The exit code, reading output until the program ends (killed at the timeout)."""
        end = time.monotonic() + timeout
        while self.proc.poll() is None and time.monotonic() < end:
            self.pump(0.1)
        if self.proc.poll() is None:
            self.proc.kill()
        code = self.proc.wait()
        self.pump(0.2)
        os.close(self.fd)
        return code

    def tail(self) -> str:
        """What the program left on the terminal, without escape sequences: for messages."""
        return self.raw.decode("utf-8", "replace")[-2000:]


def spawn(argv: Sequence[str], *, env: dict[str, str] | None = None, cwd: str | None = None,
          cols: int = 120, rows: int = 40) -> Terminal:
    main, child = pty.openpty()
    fcntl.ioctl(child, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    full_env = {**(os.environ if env is None else env), "TERM": "xterm-256color",
                "COLUMNS": str(cols), "LINES": str(rows)}
    proc = subprocess.Popen(list(argv), stdin=child, stdout=child, stderr=child, env=full_env,
                            cwd=cwd, start_new_session=True, close_fds=True)
    os.close(child)
    screen = pyte.Screen(cols, rows)
    return Terminal(proc, main, screen, pyte.ByteStream(screen), bytearray())
