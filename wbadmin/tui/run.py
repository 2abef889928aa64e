"""Starting the TUI on a resolved session."""

from __future__ import annotations

from ..core.session import Session
from ..embedded import sandbox_launcher


def run_tui(session: Session) -> int:
    from .app import WbAdminApp

    app = WbAdminApp(session, sandbox_launcher())
    app.run()
    return int(app.return_code or 0)
