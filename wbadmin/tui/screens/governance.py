"""Screen 8, Governance: the run policy — its rules, each team's compliance as a gauge, the
runs breaking a rule (owner, project, why, link) — and `f` to add a ticket tag to the marked
runs through the change path, where W&B allows it.

The first frame is judged from the run store in the cache (a thread); a worker then brings
the store up to date from W&B (the quota refresh, plus the projects the audit log names),
once per visit. Judging reads no W&B: a changed policy file is judged again on `r`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Static
from textual.worker import get_current_worker

from ...core.governance import judge as J
from ...core.governance.run_policy import DEMO_POLICY, RunPolicy, RunPolicyError, load_policy
from ...core.governance.verdict_store import judge_store
from ..widgets.api_log import ApiLog
from ..widgets.fit_columns import FitTable
from ..widgets.footer import WbFooter
from ..widgets.header import ShellHeader

if TYPE_CHECKING:
    from ..app import WbAdminApp

GAUGE = 8
MARK = "◉"
SHOWN = 2000  # runs listed at most, newest first (a huge org breaks rules by the 100,000)


def compliance_bar(share: float | None, width: int = GAUGE) -> Text:
    """The compliant share as a bar: green from 95 %, yellow from 80 %, red below."""
    if share is None:
        return Text("—", style="dim")
    style = "green" if share >= 0.95 else ("yellow" if share >= 0.8 else "red")
    filled = round(share * width)
    return Text.assemble(("█" * filled, style), ("░" * (width - filled), "grey37"))


class GovernanceScreen(Screen):
    PANES = "#gov-rules, #gov-teams, #gov-owners, #gov-runs"  # Tab / Shift+Tab move
    DEFAULT_CSS = """
    #governance { height: 1fr; }
    #gov-left { width: 2fr; }
    #gov-right { width: 3fr; }
    #gov-rules { height: auto; max-height: 40%; border: round $primary 40%; }
    #gov-teams { height: 1fr; border: round $primary 40%; }
    #gov-owners { height: 1fr; border: round $primary 40%; }
    #gov-runs { height: 1fr; border: round $primary 40%; }
    #gov-rules:focus, #gov-teams:focus, #gov-owners:focus, #gov-runs:focus {
        border: round $primary;
    }
    #gov-note { height: auto; padding: 0 1; }
    #gov-detail { height: auto; padding: 0 1; border-top: solid $primary 30%; }
    """
    BINDINGS = [
        Binding("space", "mark", "mark", id="governance.mark"),
        Binding("f", "fix", "fix (tag, notify)", id="governance.fix"),
        Binding("r", "refresh", "refresh", id="governance.refresh"),
    ]

    app: WbAdminApp

    def __init__(self) -> None:
        super().__init__()
        self.policy: RunPolicy | None = None
        self.judgement: J.Judgement | None = None
        self.runs: list[J.Violation] = []
        self.holdings: list = []  # the production map's rows
        self.marked: set[tuple[str, str, str]] = set()
        self.refreshed = False
        self.reading = False
        self.problem: str | None = None

    def compose(self) -> ComposeResult:
        yield ShellHeader(id="header")
        yield Static(id="gov-note")
        with Horizontal(id="governance"):
            with Vertical(id="gov-left"):
                yield FitTable(id="gov-rules", cursor_type="row")
                yield FitTable(id="gov-teams", cursor_type="row")
                yield FitTable(id="gov-owners", cursor_type="row")
            with Vertical(id="gov-right"):
                yield FitTable(id="gov-runs", cursor_type="row", zebra_stripes=True)
                yield Static(id="gov-detail")
        yield ApiLog(id="api-log")
        yield WbFooter()

    def on_mount(self) -> None:
        self.query_one("#gov-rules", FitTable).border_title = "Run policy"
        self.query_one("#gov-rules", FitTable).add_columns("rule", "mode", "requires",
                                                           "scope")
        self.query_one("#gov-teams", FitTable).border_title = "Compliance per team"
        self.query_one("#gov-teams", FitTable).add_columns("team", "compliant", "%", "runs",
                                                           "bad")
        owners = self.query_one("#gov-owners", FitTable)
        owners.border_title = "Production map (⚠ moved outside the workflow)"
        owners.add_columns("alias", "version", "since", "team", "requested", "approved")
        self.query_one("#gov-runs", FitTable).border_title = "Runs breaking a rule"
        self.query_one("#gov-runs", FitTable).add_columns(" ", "run", "owner", "project",
                                                          "rule")
        self.query_one(ApiLog).display = self.app.api_log_visible
        self.query_one("#gov-runs", FitTable).focus()

    def on_screen_resume(self) -> None:
        self.reload()

    def crumbs(self) -> list[str]:
        return [self.app.org or "organization", "governance"]

    # ---- data ----------------------------------------------------------------------------

    def reload(self) -> None:
        self.load()
        session = self.app.session
        if not self.refreshed and session.client is not None and not session.offline:
            self.read_runs()

    @work(thread=True, exclusive=True, group="governance-load", exit_on_error=False)
    def load(self) -> None:
        """The policy and its judgement of the cached run store (no W&B)."""
        session = self.app.session
        try:
            policy = load_policy(sandbox=session.mode == "SANDBOX")
            problem = None
        except RunPolicyError as exc:
            policy, problem = RunPolicy(None), str(exc)
        judged = judge_store(session.cache, policy, self.app.clock(), limit=SHOWN,
                             projects=False)  # the pane shows teams
        held = self._holdings()
        if not get_current_worker().is_cancelled:
            self.app.call_from_thread(self._loaded, policy, judged, problem, held)

    def _holdings(self) -> list:
        """The production map (promotions/ownership.py) from the cache; [] on a bad policy
        file (the Promotions screen says what is wrong with it)."""
        from ...core.promotions.ownership import holdings
        from ...core.promotions.policy import PolicyError
        from ...core.promotions.policy import load_policy as promotion_policy

        try:
            return holdings(self.app.session.cache, promotion_policy())
        except PolicyError:
            return []

    def _loaded(self, policy: RunPolicy, judged: J.Judgement, problem: str | None,
                held: list) -> None:
        self.policy, self.judgement, self.holdings = policy, judged, held
        if problem:
            self.problem = problem
        self._draw()

    @work(exclusive=True, group="governance-read", exit_on_error=False)
    async def read_runs(self) -> None:
        """Bring the run store up to date from W&B (incremental), then judge again."""
        from ...core.governance.freshness import refresh_runs
        from ...core.quotas import policy_for

        session = self.app.session
        self.refreshed, self.reading, self.problem = True, True, None
        self._draw_note()
        try:
            sandbox = session.mode == "SANDBOX"
            policy = self.policy or load_policy(sandbox=sandbox)
            facts = await session.server_facts()
            await refresh_runs(session, policy_for(None, sandbox=sandbox), policy,
                               lacks=facts.lacks)
        except Exception as exc:  # the cached judgement stays; say why it is not newer
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            self.problem = f"runs could not be read from W&B: {text} (judging the cache)"
        finally:
            self.reading = False
        self.load()

    # ---- drawing -------------------------------------------------------------------------

    def _draw(self) -> None:
        j, policy = self.judgement, self.policy
        if j is None or policy is None:
            return
        rules = self.query_one("#gov-rules", FitTable)
        rules.clear()
        for rule in policy.rules:
            mode = Text(rule.mode, style="bold red" if rule.mode == "enforce" else "yellow")
            rules.add_row(rule.id, mode, rule.what(), rule.scope_text)
        teams = self.query_one("#gov-teams", FitTable)
        teams.clear()
        for team, place in sorted(j.teams.items()):
            share = place.compliance
            teams.add_row(team, compliance_bar(share),
                          "—" if share is None else f"{share * 100:.0f}", str(place.judged),
                          str(place.violating))
        owners = self.query_one("#gov-owners", FitTable)
        held_row = owners.cursor_row  # a reload keeps the admin's place in both tables
        owners.clear()
        for h in self.holdings:
            if h.version is None:
                continue
            alias = Text(f"{h.collection}:{h.alias}",
                         style="bold red" if h.outside_workflow else "")
            if h.outside_workflow:
                alias.append(" ⚠", style="red")
            owners.add_row(alias, h.version, h.since[:10] if h.since else "",
                           h.team or "unknown", h.requested_by,
                           ", ".join(h.approved_by) or "—")
        if owners.row_count:
            owners.move_cursor(row=min(held_row, owners.row_count - 1), animate=False)
        table = self.query_one("#gov-runs", FitTable)
        keep = table.cursor_row
        table.clear()
        self.runs = sorted(j.violations, key=lambda v: (-v.run.created_at, v.rule.id))
        for v in self.runs:
            key = (v.run.team, v.run.project, v.run.name)
            table.add_row(MARK if key in self.marked else " ", v.run.title,
                          v.run.username or "—", v.run.project, v.rule.id)
        if self.runs:
            table.move_cursor(row=min(keep, len(self.runs) - 1), animate=False)
        self._draw_note()
        self._detail_of_focus()

    def _detail_of_focus(self) -> None:
        """The detail line follows the focused pane: the production map's holding there,
        else the highlighted run (a reload while an admin reads a holding keeps it)."""
        owners = self.query_one("#gov-owners", FitTable)
        if owners.has_focus:
            self._show_holding_at(owners.cursor_row)
        else:
            self._show_detail()

    def on_descendant_focus(self) -> None:
        self._detail_of_focus()

    def _draw_note(self) -> None:
        j, policy = self.judgement, self.policy
        text = Text()
        if self.problem:
            text.append(self.problem, style="yellow")
        elif policy is not None and policy.source == DEMO_POLICY:
            text.append("the built-in demo policy (sandbox): write your own to "
                        "~/.config/wbadmin/policies.toml", style="dim")
        elif policy is not None and not policy.exists:
            text.append("no run policy: write one to ~/.config/wbadmin/policies.toml (see "
                        "`wbadmin policy --help`)", style="yellow")
        if j is not None and policy is not None and policy.rules:
            bad = j.violating_runs
            table = self.query_one("#gov-runs", FitTable)
            listed = f"the newest {SHOWN:,} listed · " if bad > SHOWN else ""
            table.border_subtitle = (f"{listed}{bad:,} of {j.runs_judged:,} runs judged"
                                     + (f" · {len(self.marked)} marked" if self.marked else ""))
        if self.reading:
            text.append(" · reading runs from W&B…", style="dim italic")
        self.query_one("#gov-note", Static).update(text)

    def selected(self) -> J.Violation | None:
        row = self.query_one("#gov-runs", FitTable).cursor_row
        return self.runs[row] if 0 <= row < len(self.runs) else None

    @on(DataTable.RowHighlighted, "#gov-runs, #gov-owners")
    def _highlighted(self) -> None:
        self._detail_of_focus()

    def _show_detail(self) -> None:
        v = self.selected()
        detail = self.query_one("#gov-detail", Static)
        if v is None:
            detail.update(Text("No run breaks a rule." if self.judgement else "reading…",
                               style="dim"))
            return
        base = self.app.session.web_app_url
        link = f"{base.rstrip('/')}/{v.run.team}/{v.run.project}/runs/{v.run.name}" \
            if base else None
        tags = ", ".join(v.run.tags or ()) or "none"
        text = Text.assemble((v.run.title, "bold"), f"  {v.run.team}/{v.run.project}\n",
                             f"owner {v.run.username or 'unknown'} · {v.run.state} · tags "
                             f"{tags}\n", (f"{v.rule.id}: {v.why}", "red"))
        if link:
            text.append(f"\n{link}", style="underline")
        detail.update(text)

    def _show_holding_at(self, row: int) -> None:
        shown = [h for h in self.holdings if h.version is not None]
        if not 0 <= row < len(shown):
            return
        h = shown[row]
        run = (f"{h.team}/{h.project}/{h.run}" if h.traceable else
               "unknown (W&B names no producing run)" if h.traceable is False else
               "not read yet")
        text = Text.assemble((f"{h.ref} → {h.version}", "bold"), f"  since {h.since}\n",
                             f"produced by {run} · team admins {h.admins_text}\n",
                             f"requested by {h.requested_by} · approved by "
                             f"{', '.join(h.approved_by) or 'nobody'}")
        if h.outside_workflow:
            text.append("\nno approval record: moved outside the workflow (the SDK or the "
                        "UI); see the access finding protected-alias-outside-workflow",
                        style="red")
        self.query_one("#gov-detail", Static).update(text)

    # ---- actions -------------------------------------------------------------------------

    def action_mark(self) -> None:
        v = self.selected()
        if v is None:
            return
        key = (v.run.team, v.run.project, v.run.name)
        self.marked.symmetric_difference_update({key})
        self._draw()
        table = self.query_one("#gov-runs", FitTable)
        if table.cursor_row < len(self.runs) - 1:
            table.move_cursor(row=table.cursor_row + 1, animate=False)

    def targets(self) -> list[J.StoredRun]:
        """The marked runs, else the one under the cursor: those breaking a tag rule."""
        chosen = [v for v in self.runs if (v.run.team, v.run.project, v.run.name)
                  in self.marked] or ([v] if (v := self.selected()) else [])
        seen: dict[tuple[str, str, str], J.StoredRun] = {}
        for v in chosen:
            if v.rule.kind == "require_tag":
                seen.setdefault((v.run.team, v.run.project, v.run.name), v.run)
        return list(seen.values())

    def action_fix(self) -> None:
        runs = self.targets()
        if not runs:
            self.notify("f adds a ticket tag: mark runs breaking a tag rule (space)",
                        timeout=5)
            return
        from ..flows.governance import start_tag_fix

        start_tag_fix(self.app, self, runs)

    def clear_marks(self) -> None:
        self.marked.clear()
        self._draw()

    def action_refresh(self) -> None:
        session = self.app.session
        self.problem = None
        if session.offline or session.client is None:
            self.load()
        else:
            self.read_runs()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "fix":
            return self.app.capabilities.can_change
        return True
