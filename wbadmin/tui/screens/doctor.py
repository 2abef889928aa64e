"""The doctor panel (from the palette): the same check as `wbadmin doctor`, on this session's
server and key, read-only."""

from __future__ import annotations

import re

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

STATE_STYLE = {"ready": "green", "degraded": "yellow", "unavailable": "red",
               "unverified": "yellow"}
STATE = re.compile(r"^(\S+)\s+(ready|degraded|unavailable|unverified)\b")


class DoctorScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,q", "dismiss", "close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="doctor-box"):
            yield Static(Text("checking the server (reads only)…", style="dim"),
                         id="doctor-report")

    def on_mount(self) -> None:
        box = self.query_one("#doctor-box")
        box.border_title = "Doctor: this server and key"
        box.border_subtitle = "esc to close"
        session = self.app.session  # type: ignore[attr-defined]
        if session.offline or session.client is None:
            self._show(Text("offline or still connecting: the check needs the server "
                            "(run `wbadmin doctor` from a shell)", style="yellow"))
            return
        self.check()

    @work(exclusive=True, group="doctor", exit_on_error=False)
    async def check(self) -> None:
        from ...core.doctor import diagnose
        from ...core.whoami import identify_with_role

        session = self.app.session  # type: ignore[attr-defined]
        try:
            me = await identify_with_role(session.client, session.cache)
            report = await diagnose(session.client, me, deployment=session.mode)
        except Exception as exc:  # any failure is the report: one line, nothing raised
            first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            self._show(Text(f"the check failed: {first}", style="red"))
            return
        text = Text()
        for line in report.lines():
            styled = Text(line + "\n")
            state = STATE.match(line)
            if state:  # a feature's row: its state in its colour
                styled.stylize(STATE_STYLE[state.group(2)], state.start(2), state.end(2))
            text.append_text(styled)
        self._show(text)

    def _show(self, text: Text) -> None:
        self.query_one("#doctor-report", Static).update(text)
