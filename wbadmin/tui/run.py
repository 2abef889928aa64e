"""Starting the TUI: a session, the embedded sandbox launcher, the app."""

from __future__ import annotations

from ..core.session import SandboxHandle, Session


def sandbox_launcher(in_memory: bool = False, now: int | None = None):
    """A launcher that starts the embedded sandbox (imported only when it is needed)."""

    def launch() -> SandboxHandle:
        from ..sandbox.embedded import start_embedded

        sandbox = start_embedded(in_memory=in_memory, now=now)
        return SandboxHandle(base_url=sandbox.base_url, api_key=sandbox.api_key,
                             username=sandbox.username, stop=sandbox.stop)

    return launch


def run_tui(session: Session) -> int:
    from .app import WbAdminApp

    app = WbAdminApp(session, sandbox_launcher())
    app.run()
    return int(app.return_code or 0)
