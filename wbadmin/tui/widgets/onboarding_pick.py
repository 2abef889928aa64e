"""Step 1 of the onboarding walkthrough: the templates (and paused walkthroughs) on the left,
the highlighted one in detail on the right. Option ids: `t:<template>` and `w:<walkthrough>`."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from ...core import humanize
from ...core.onboarding.library import Listing
from ...core.onboarding.templates import Template
from ...core.onboarding.walkthrough import Walkthrough

KIND_LABEL = {"team": "team", "hire": "new hire"}


class TemplatePicker(Horizontal):
    DEFAULT_CSS = """
    TemplatePicker { height: 1fr; }
    TemplatePicker #ob-list { width: 40%; min-width: 34; height: 1fr;
                              border: round $primary 40%; }
    TemplatePicker #ob-list:focus { border: round $primary; }
    TemplatePicker #ob-detail { width: 1fr; border: round $primary 40%; padding: 0 1; }
    TemplatePicker #ob-detail:focus { border: round $primary; }
    """

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.listing: dict[str, Listing] = {}
        self.paused: dict[str, Walkthrough] = {}
        self.now = 0.0

    def compose(self) -> ComposeResult:
        yield OptionList(id="ob-list")
        with VerticalScroll(id="ob-detail"):
            yield Static(id="ob-detail-body")

    @property
    def options(self) -> OptionList:
        return self.query_one("#ob-list", OptionList)

    def load(self, listing: list[Listing], paused: list[Walkthrough], now: float) -> None:
        self.listing = {e.name: e for e in listing}
        self.paused = {w.id: w for w in paused}
        self.now = now
        self._fill()

    def on_resize(self) -> None:
        if self.listing:
            self._fill()  # descriptions are cut to the list's width

    def _fill(self) -> None:
        keep = self.highlighted_id()
        options = self.options
        width = max((options.size.width or 48) - 8, 20)
        options.clear_options()

        def heading(text: str) -> None:
            options.add_option(Option(Text(text, style="bold underline"), disabled=True))

        def two_lines(first: Text, second: str, oid: str) -> None:
            line = second if len(second) <= width else second[:width - 1] + "…"
            options.add_option(Option(Text.assemble("  ", first, "\n", (f"  {line}", "dim")),
                                      id=oid))

        if self.paused:
            heading("Paused walkthroughs")
            for w in self.paused.values():
                two_lines(Text.assemble(("⏸ ", "yellow"), (w.subject, "bold"),
                                        (f"  {w.template}", "dim")),
                          f"{w.state_text()} · {humanize.ago(w.updated_at, self.now)} ago",
                          f"w:{w.id}")
        for kind, title in (("team", "Team templates"), ("hire", "New-hire templates")):
            entries = [e for e in self.listing.values() if e.template and e.template.kind == kind]
            if entries:
                heading(title)
            for entry in entries:
                assert entry.template is not None
                two_lines(Text(entry.name, style="bold"), entry.template.description,
                          f"t:{entry.name}")
        broken = [e for e in self.listing.values() if e.template is None]
        if broken:
            heading("Cannot be used")
            for entry in broken:
                two_lines(Text.assemble(("✗ ", "red"), (entry.name, "bold")),
                          "see the reason on the right", f"t:{entry.name}")
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        first = next((i for i, oid in enumerate(ids) if oid is not None), None)
        options.highlighted = ids.index(keep) if keep is not None and keep in ids else first
        self.show_detail()

    def highlighted_id(self) -> str | None:
        options = self.options
        if options.highlighted is None or not options.option_count:
            return None
        return options.get_option_at_index(options.highlighted).id

    @on(OptionList.OptionHighlighted, "#ob-list")
    def _highlighted(self) -> None:
        self.show_detail()

    def show_detail(self) -> None:
        oid = self.highlighted_id() or ""
        pane = self.query_one("#ob-detail", VerticalScroll)
        body = self.query_one("#ob-detail-body", Static)
        kind, _, key = oid.partition(":")
        if kind == "w" and key in self.paused:
            w = self.paused[key]
            pane.border_title = f"{w.subject} · paused walkthrough"
            body.update(walkthrough_detail(w, self.now))
        elif kind == "t" and key in self.listing:
            entry = self.listing[key]
            t = entry.template
            pane.border_title = f"{entry.name} · {KIND_LABEL[t.kind]} template" if t \
                else f"{entry.name} · cannot be used"
            body.update(template_detail(t) if t else Text(entry.error or "", style="red"))
        else:
            pane.border_title = ""
            body.update("")


def _rows(rows: list[tuple[str, RenderableType]]) -> Table:
    table = Table(box=None, show_header=False, padding=(0, 1), expand=True)
    table.add_column(style="dim", no_wrap=True, width=17)
    table.add_column(ratio=1)
    for label, value in rows:
        table.add_row(label, value)
    return table


def template_detail(t: Template) -> RenderableType:
    rows: list[tuple[str, RenderableType]] = []
    if t.kind == "team":
        rows.append(("People", Text(", ".join(f"{g}: {r}" for g, r in t.groups))))
        projects = Text()
        for p in t.projects:
            projects.append(p.name, style="bold")
            projects.append(f"  {p.visibility}\n", style="cyan")
            if p.description:
                projects.append(f"{p.description}\n", style="dim")
        projects.rstrip()
        rows.append(("Projects", projects if t.projects else Text("none", style="dim")))
        rows.append(("Service accounts", Text(", ".join(s.name for s in t.service_accounts)
                                              or "none")))
    else:
        teams = [f"{'every team' if g.team == '*' else g.team} → {g.role}" for g in t.teams]
        rows.append(("Teams", Text(" · ".join(teams) or "none")))
    access = [f"{g.registry}: {g.role}" + ("" if t.kind == "hire" else
                                           f" for {'the team' if g.who == 'team' else g.who}")
              for g in t.registry_access]
    rows.append(("Registry access", Text("\n".join(access) or "none")))
    if t.quota is not None:
        quota = Text(f"per {t.quota.period}, as a policy file (W&B has no quotas)\n",
                     style="dim")
        for name, limit in t.quota.limits:
            parts = [f"{k} {v:g}" for k, v in (("soft", limit.soft), ("hard", limit.hard))
                     if v is not None]
            quota.append(f"{name.replace('_', ' ')}: {', '.join(parts)}\n")
        quota.rstrip()
        rows.append(("Quota", quota))
    rows.append(("File", Text("shipped with wbadmin" if t.shipped else str(t.path),
                              style="dim")))
    head = Text(t.description or "(no description)")
    hint = Text("enter: fill it in (nothing changes in W&B until you apply)", style="dim")
    return Group(head, Text(""), _rows(rows), Text(""), hint)


def walkthrough_detail(w: Walkthrough, now: float) -> RenderableType:
    inputs = w.get_inputs()
    rows: list[tuple[str, RenderableType]] = [("Template", Text(w.template)),
                                              ("State", Text(w.state_text()))]
    if w.kind == "team":
        rows.append(("Team", Text(inputs.team or "—")))
        for group, people in inputs.people.items():
            rows.append((group, Text(", ".join(people) or "—")))
    else:
        rows.append(("New hire", Text(inputs.user or "—")))
        if inputs.team:
            rows.append(("Team", Text(inputs.team)))
    if w.plan:
        done = sum(1 for r in w.results if r.get("status") == "applied")
        rows.append(("Plan", Text(f"{len(w.plan)} changes; {done} applied so far")))
    rows.append(("Last touched", Text(f"{humanize.ago(w.updated_at, now)} ago")))
    rows.append(("Id", Text(f"{w.id}  (wbadmin onboard resume {w.id})", style="dim")))
    hint = Text("enter: resume where it stopped (a change W&B already took is never applied "
                "again) · x: forget it", style="dim")
    return Group(_rows(rows), Text(""), hint)
