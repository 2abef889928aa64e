"""Launching the embedded sandbox for a core Session (used by the CLI and the TUI).

Lives above both layers: core never imports the sandbox, and the sandbox never imports
core, so the one place that joins them is here, imported lazily.
"""

from __future__ import annotations

from collections.abc import Callable

from .core.session import SandboxHandle


def sandbox_launcher(in_memory: bool = False, now: int | None = None,
                     username: str | None = None) -> Callable[[], SandboxHandle]:
    """A launcher that starts the sandbox when called (state in the user data dir, or in
    memory), signed in as its org admin or as `username`."""

    def launch() -> SandboxHandle:
        from .sandbox.embedded import DEMO_ADMIN, start_embedded

        sandbox = start_embedded(in_memory=in_memory, now=now,
                                 username=username or DEMO_ADMIN)
        return SandboxHandle(base_url=sandbox.base_url, api_key=sandbox.api_key,
                             username=sandbox.username, stop=sandbox.stop)

    return launch
