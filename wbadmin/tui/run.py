"""Starting the TUI on a resolved session."""

from __future__ import annotations

from ..core.session import Session
from ..embedded import sandbox_launcher


def run_tui(session: Session, *, debug: bool = False) -> int:
    """Run the app until it quits. An unexpected exception inside it (a bug, such as a
    stylesheet missing from the install) is raised here once the terminal is restored, so
    the CLI reports it as every other internal error: one line, exit 70."""
    from .app import WbAdminApp

    app = WbAdminApp(session, sandbox_launcher())
    app.show_tracebacks = debug
    app.run()
    if app.crash is not None:
        raise app.crash
    return int(app.return_code or 0)
