"""The wbadmin Textual app: the shell every screen lives in.

State lives in the core `Session` (profile, cache, client, journal); screens render from
the cache. Network and disk work run in workers that post messages; the first frame is
drawn from the cache before any network call.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from importlib import import_module

from textual import work
from textual.app import App, ScreenStackError
from textual.binding import Binding
from textual.screen import Screen
from textual.worker import get_current_worker

from .. import clock as wb_clock
from ..core import errors as E
from ..core.permissions import Capabilities
from ..core.session import SandboxLauncher, Session
from .background_reads import date_invites, read_producing_runs, read_service_accounts
from .commands import WbCommands
from .locations import Location
from .messages import ApiCall, Connected, DataRefreshed, RefreshFailed, ServerFactsKnown
from .no_wait_executor import NoWaitExecutor
from .pane_focus import move_focus
from .screens.explorer import ExplorerScreen
from .screens.help import HelpScreen
from .screens.jump import JumpScreen, parse_jump
from .server_state import header_note, known_facts, take_facts, unavailable_reason
from .widgets.api_log import ApiLog
from .widgets.header import ShellHeader


def _later(module: str, name: str) -> Callable[[], Screen]:
    """A mode's screen, imported when first shown: start-up imports the Explorer only
    (the other screens and their services are a third of the import time)."""

    def make() -> Screen:
        screen = getattr(import_module(f"{__package__}.screens.{module}"), name)()
        screen.mode_name = module  # the header names the mode of the screen it sits on
        return screen

    return make


# The screen keys share one footer slot ("12345678 screens"); `?` names each of them.
SCREENS = Binding.Group("screens", compact=True)


WATCH_S = 1.0  # how often the cache and journal files are checked for others' changes


class WbAdminApp(App):
    CSS_PATH = "app.tcss"
    TITLE = "wbadmin"
    MODES = {"explorer": ExplorerScreen,
             "access": _later("access", "AccessScreen"),
             "promotions": _later("promotions", "PromotionsScreen"),
             "quotas": _later("quotas", "QuotasScreen"),
             "onboarding": _later("onboarding", "OnboardingScreen"),
             "journal": _later("journal", "JournalScreen"),
             "audit": _later("audit", "AuditScreen"),
             "governance": _later("governance", "GovernanceScreen")}
    DEFAULT_MODE = "explorer"
    # Narrow terminals (80×24) stack the panes instead of squeezing them side by side:
    # every screen, whichever is shown when the terminal is resized, gets the class.
    HORIZONTAL_BREAKPOINTS = [(0, "narrow"), (100, "wide")]
    COMMANDS = App.COMMANDS | {WbCommands}
    BINDINGS = [
        Binding("1", "switch_mode('explorer')", "Explorer", id="screen.explorer",
                group=SCREENS),
        Binding("2", "switch_mode('access')", "Access", id="screen.access",
                group=SCREENS),
        Binding("3", "switch_mode('promotions')", "Promotions", id="screen.promotions",
                group=SCREENS),
        Binding("4", "switch_mode('quotas')", "Quotas", id="screen.quotas",
                group=SCREENS),
        Binding("5", "switch_mode('onboarding')", "Onboarding", id="screen.onboarding",
                group=SCREENS),
        Binding("6", "switch_mode('journal')", "Journal", id="screen.journal",
                group=SCREENS),
        Binding("7", "switch_mode('audit')", "Audit", id="screen.audit", group=SCREENS),
        Binding("8", "switch_mode('governance')", "Governance", id="screen.governance",
                group=SCREENS),
        Binding("colon", "jump", "jump", id="jump"),
        Binding("question_mark", "help", "help", id="help"),
        Binding("ctrl+l", "toggle_api_log", "API log", show=False, id="api_log"),
        Binding("left_square_bracket", "history_back", "back", show=False, id="history.back"),
        Binding("right_square_bracket", "history_forward", "forward", show=False,
                id="history.forward"),
        Binding("q", "quit", "quit", id="quit"),
    ]

    def __init__(self, session: Session, launcher: SandboxLauncher | None = None, *,
                 clock: Callable[[], float] | None = None, autoconnect: bool = True) -> None:
        super().__init__()
        self.session = session
        self.launcher = launcher
        self.crash: Exception | None = None
        self.show_tracebacks = False
        self.clock = clock or session.clock or wb_clock.now
        session.clock = self.clock
        self.autoconnect = autoconnect
        self.history: list[Location] = []
        self.future: list[Location] = []
        self._navigating = False
        self.api_log_visible = False
        self.refreshing = False
        self.refresh_error: str | None = None
        self.capabilities = self._capabilities()
        self.facts = None  # what the server has (ServerFacts), once known
        self.said: set[str] = set()  # degraded paths already said in a notification
        session.on_request = lambda record: self.post_message(ApiCall(record))
        # A change applied through the core change path (any screen) refreshed the cache:
        # every screen reloads from it.
        session.change_subscribers.append(lambda _: self.post_message(DataRefreshed("org")))

    # ---- start-up ------------------------------------------------------------------------

    def on_load(self) -> None:
        asyncio.get_running_loop().set_default_executor(
            NoWaitExecutor(max_workers=4, thread_name_prefix="wbadmin-worker"))

    def on_mount(self) -> None:
        ui = self.session.settings.ui
        if ui.theme in self.available_themes:
            self.theme = ui.theme
        if self.session.settings.keys:
            self.set_keymap(dict(self.session.settings.keys))
        self.facts = known_facts(self.session)  # stored ones: no request
        self.update_header()
        self.set_interval(1.0, self.update_header)
        self.set_interval(WATCH_S, self.watch_files)
        if self.session.fallback_reason and not self.session.offline:
            self.notify(f"{self.session.fallback_reason}: showing the embedded sandbox "
                        "(demo org). Sign in to W&B with `wbadmin login`.",
                        title="Sandbox", timeout=8)
        if self.session.offline:
            age = self.session.cache.age("org", self.clock())
            if age is None:
                self.notify("offline, and nothing is cached for this profile: "
                            "run `wbadmin sync` when online", severity="error", timeout=10)
        elif self.autoconnect:
            self.refreshing = True
            # After the first frame: starting the sandbox and the client is off that path.
            self.call_after_refresh(self.connect)

    def on_screen_resume(self) -> None:
        self.update_header()

    @property
    def org(self) -> str | None:
        return self.session.cache.meta("org") or None

    def _capabilities(self) -> Capabilities:
        return Capabilities.of(self.session.cache, self.session.cached_identity(),
                               read_only=self.session.read_only, offline=self.session.offline)

    @work(thread=True, exclusive=True, group="connect", exit_on_error=False)
    def connect(self) -> None:
        """Start the embedded sandbox if needed and create the client (blocking work)."""
        try:
            self.session.connect(self.launcher)
        except Exception as exc:  # any failure is shown, never raised into the app
            self.post_message(RefreshFailed("org", _one_line(exc)))
            return
        if not get_current_worker().is_cancelled:
            self.post_message(Connected())

    def on_connected(self, _: Connected) -> None:
        self.check_server()
        if not self.session.read_only:
            self.settle_pending()
        interval = self.session.settings.ui.refresh_interval_s
        # Stale data stays on screen and is refreshed in the background.
        self.set_interval(interval, self._refresh_if_stale, name="background-refresh")
        age = self.session.cache.age("org", self.clock())
        if age is None or age > interval or self.session.cached_identity() is None:
            self.sync("org")
        else:
            self.refreshing = False
            self.update_header()

    @work(exclusive=True, group="facts", exit_on_error=False)
    async def check_server(self) -> None:
        """What this server has: the stored facts confirmed (one request) or probed."""
        try:
            facts = await self.session.server_facts()
        except E.WbError:
            return  # the sync says why the server cannot be read; the known facts stay
        self.post_message(ServerFactsKnown(facts))

    def on_server_facts_known(self, message: ServerFactsKnown) -> None:
        take_facts(self, message.facts)

    async def action_switch_mode(self, mode: str) -> None:
        why = unavailable_reason(self.facts, mode)
        if why is not None:  # greyed: said, not failed at the moment of use
            self.notify(f"{why}. {mode.capitalize()} stays closed.", title="Not on this "
                        "server", severity="warning", timeout=8)
            return
        await super().action_switch_mode(mode)

    @work(exclusive=True, group="reconcile", exit_on_error=False)
    async def settle_pending(self) -> None:
        """Changes a crash left `pending` in the journal are settled from W&B at start:
        applied, not applied, or a conflict to look at, each said once."""
        try:
            settled = await self.session.engine().reconcile(self.session.client)
        except Exception as exc:  # the journal or W&B unavailable: say so, carry on
            self.notify(f"could not settle interrupted changes: {_one_line(exc)}",
                        markup=False, severity="warning", timeout=8)
            return
        for item in settled:
            if item.status != "pending":
                self.notify(f"journal entry {item.entry.id} ({item.entry.target}), left "
                            f"pending by an interrupted apply: {item.status}", markup=False,
                            severity="warning" if item.status == "conflict" else "information",
                            timeout=8)
        from .flows.key_rotation import offer_due_rotations

        offer_due_rotations(self)  # old keys past a rotation's grace period: a plan to confirm

    # ---- refreshing ----------------------------------------------------------------------

    def _refresh_if_stale(self) -> None:
        age = self.session.cache.age("org", self.clock())
        if not self.refreshing and (age is None or
                                    age >= self.session.settings.ui.refresh_interval_s):
            self.sync("org")

    def refresh_scope(self, location: Location | None) -> None:
        if self.session.offline:
            self.notify("offline: showing cached data only", severity="warning")
            return
        if self.session.client is None:
            self.notify("still connecting…", timeout=2)
            return
        self.sync(scope_of(location))

    def action_refresh_all(self) -> None:
        self.refresh_scope(None)

    @work(exclusive=True, group="sync", exit_on_error=False)
    async def sync(self, scope: str) -> None:
        self.refreshing = True
        self.update_header()
        try:
            syncer = self.session.syncer()
            kind, _, what = scope.partition(":")
            if kind == "org":
                await syncer.full(invites=False)
            else:
                await syncer.identify()
                if kind == "team":
                    await syncer.refresh_team(what)
                elif kind == "project":
                    await syncer.refresh_project(*what.split("/", 1))
                elif kind == "collection":
                    await syncer.refresh_collection(*what.split("/", 1))
        except Exception as exc:
            self.session.cache.record_failure(scope, _one_line(exc))
            self.post_message(RefreshFailed(scope, _one_line(exc)))
            return
        self.post_message(DataRefreshed(scope))
        if kind == "org":
            await date_invites(self, syncer)
            await read_service_accounts(self, syncer)
            await read_producing_runs(self, syncer)

    def on_data_refreshed(self, message: DataRefreshed) -> None:
        self.refreshing = False
        self.refresh_error = None
        self.capabilities = self._capabilities()
        self.generation += 1  # first: the screen reloading now records it has this one
        self._reload_screen()
        self.update_header()
        self._seen_versions = self._file_versions()  # what this reload has shown

    # ---- changes made elsewhere ----------------------------------------------------------

    _seen_versions: tuple[int | None, int | None] | None = None
    generation = 0  # moves whenever the data may have: a screen coming back compares it

    def _file_versions(self) -> tuple[int | None, int | None]:
        session = self.session
        try:
            return (session.cache.data_version() if session.cache is not None else None,
                    session.journal.data_version())
        except Exception:  # a file being replaced: look again at the next tick
            return self._seen_versions or (None, None)

    def watch_files(self) -> None:
        """A change made elsewhere — the CLI in another process, another wbadmin — reaches
        the cache or the journal file: every screen reloads from them within WATCH_S."""
        versions = self._file_versions()
        if self._seen_versions is None:
            self._seen_versions = versions
        elif versions != self._seen_versions and not self.refreshing:
            self._seen_versions = versions
            self.generation += 1
            self.capabilities = self._capabilities()
            self._reload_screen()
            self.update_header()

    def on_refresh_failed(self, message: RefreshFailed) -> None:
        self.refreshing = False
        self.refresh_error = message.error
        self.update_header()
        self.notify(message.error, markup=False, title="Refresh failed — showing cached data",
                    severity="error", timeout=10)

    def _reload_screen(self) -> None:
        try:
            reload = getattr(self.screen, "reload", None)
        except ScreenStackError:  # between two modes' stacks: the next screen loads itself
            return
        if callable(reload):
            reload()

    # ---- header --------------------------------------------------------------------------

    def update_header(self, header: ShellHeader | None = None) -> None:
        """Fill the header of the active screen (or the one given: a header that has just
        mounted may belong to a screen that is not active yet)."""
        if header is None:
            try:
                screen = self.screen
            except ScreenStackError:  # between two modes' stacks (switch_mode): none to fill
                return
            headers = list(screen.query(ShellHeader))
            if not headers:
                return
            header = headers[0]
        session = self.session
        identity = session.cached_identity()
        who = ""
        if identity is not None:
            role = f"org {identity.org_role}" if identity.org_role else (
                "service account" if identity.is_service_account else "org role unknown")
            who = f"{identity.username}@{identity.org or '?'} ({role})"
        elif session.username:
            who = session.username
        host = session.profile.host or "embedded sandbox (starting)"
        if session.sandbox:
            host = "embedded sandbox"
        header.identity = who
        header.host = f"{session.profile.name} · {host}"
        header.age_seconds = session.cache.age("org", self.clock())
        header.stale_after = session.settings.ui.refresh_interval_s
        header.refresh_error = self.refresh_error
        header.connecting = self.refreshing
        badges = [session.mode]
        if session.read_only:
            badges.append("READ-ONLY")
        header.badges = tuple(badges)
        # The breadcrumb names what the pane of the header's screen shows (that screen may not
        # be the active one yet), not the last place visited on some other screen.
        mode = getattr(header.screen, "mode_name", None) or self.current_mode
        crumbs_of = getattr(header.screen, "crumbs", None)
        header.crumbs = tuple(crumbs_of() if callable(crumbs_of)
                              else [self.org or "organization", mode])
        header.server_note = header_note(self.facts, mode)

    # ---- navigation ----------------------------------------------------------------------

    def visit(self, location: Location) -> None:
        """Record a place in the history (not when moving through the history itself)."""
        if not self._navigating and (not self.history or self.history[-1] != location):
            self.history.append(location)
            del self.history[:-200]
            self.future.clear()
        self.update_header()

    def visit_person(self, username: str) -> None:
        self.visit(Location("user", name=username))

    def action_history_back(self) -> None:
        if len(self.history) < 2:
            return
        self.future.append(self.history.pop())
        self._go(self.history[-1])

    def action_history_forward(self) -> None:
        if not self.future:
            return
        location = self.future.pop()
        self.history.append(location)
        self._go(location)

    def _go(self, location: Location) -> None:
        self._navigating = True
        try:
            self.show_location(location)
        finally:
            self._navigating = False

    def show_location(self, location: Location) -> bool:
        if self.current_mode != "explorer":
            self.switch_mode("explorer")
        screen = self.screen
        if isinstance(screen, ExplorerScreen):
            return screen.show_location(location)
        return False

    def action_jump(self) -> None:
        self.push_screen(JumpScreen(self.session.cache), self._after_jump)

    def _after_jump(self, command: str | None) -> None:
        if not command:
            return
        self.run_jump(command)

    def run_jump(self, command: str) -> None:
        target, problem = parse_jump(command, self.session.cache)
        if problem:
            self.notify(problem, markup=False, severity="warning")
            return
        if isinstance(target, str):
            self.switch_mode(target)
            return
        assert target is not None
        if not self.show_location(target):
            self.notify(f"{target.kind} {target.name or target.team} is not in the org "
                        "(or not cached yet: press r to refresh)", markup=False,
                        severity="warning")

    # Tab and Shift+Tab (bound by every Screen to these actions) move between panes.
    def action_focus_next(self) -> None:
        move_focus(self.screen, 1)

    def action_focus_previous(self) -> None:
        move_focus(self.screen, -1)

    def action_doctor(self) -> None:
        from .screens.doctor import DoctorScreen

        self.push_screen(DoctorScreen())

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.screen))

    def action_toggle_api_log(self) -> None:
        self.api_log_visible = not self.api_log_visible
        for log in self.screen.query(ApiLog):
            log.display = self.api_log_visible
            if self.api_log_visible:
                log.clear()
                for record in list(self.session.api_log):
                    log.add_record(record)

    def on_api_call(self, message: ApiCall) -> None:
        if not self.api_log_visible:
            return
        for log in self.screen.query(ApiLog):
            log.add_record(message.record)

    async def on_unmount(self) -> None:
        # The terminal is restored after this returns: never wait on the sandbox here.
        await self.session.aclose(wait_for_sandbox=False)

    def _handle_exception(self, error: Exception) -> None:
        # An exception nothing handled is a bug: keep it for the CLI, which prints one line
        # and exits 70, instead of Textual's full-screen traceback (unless --debug).
        self.crash = error
        super()._handle_exception(error)
        if not self.show_tracebacks:
            self._exit_renderables.clear()


def scope_of(location: Location | None) -> str:
    """What `r` refreshes for a selection: the node itself where W&B lets us, else the org."""
    if location is None:
        return "org"
    if location.kind == "team":
        return f"team:{location.team}"
    if location.kind == "project":
        return f"project:{location.team}/{location.name}"
    if location.kind == "collection":
        return f"collection:{location.registry}/{location.name}"
    return "org"


def _one_line(exc: BaseException) -> str:
    if isinstance(exc, E.WbError):
        return str(exc)
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".strip()
