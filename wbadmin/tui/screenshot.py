"""`wbadmin screenshot SCREEN OUT.svg`: render a screen on the demo sandbox and save it.

Each scenario drives a fresh app on an in-memory sandbox seeded at a fixed time, with a
frozen clock and a throw-away cache and journal, so the picture is the same on every run.
The snapshot tests drive the same scenarios.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path

from ..core.session import Session
from ..embedded import sandbox_launcher

DEMO_NOW = 1_795_000_000  # the demo seed's reference time (2026-11-18T11:06:40Z)
APP_NOW = float(DEMO_NOW // 3600 * 3600 + 2 * 3600)  # two hours later
SIZE = (120, 36)


def make_demo_app(workdir: Path, *, user: str = "alice", read_only: bool = False):
    """The app on the demo seed, at APP_NOW: its clock stands still there, and the embedded
    sandbox's clock (the `Date` it answers with, the times it stamps on changes) starts
    there, so nothing in the picture depends on today's date."""
    from .. import clock
    from .app import WbAdminApp

    clock.start_at(APP_NOW)
    session = Session.resolve(
        force_sandbox=True, read_only=read_only,
        flags={"cache_path": workdir / "cache.sqlite3",
               "journal_path": workdir / "journal.sqlite3"})
    launcher = sandbox_launcher(in_memory=True, now=DEMO_NOW, username=user)
    numbers = itertools.count(1)
    session.request_ids = lambda: f"demo-{next(numbers):04d}"
    return WbAdminApp(session, launcher, clock=lambda: APP_NOW)


async def settle(app, pilot) -> None:
    """Wait until connecting and syncing are over and the screen has redrawn."""
    for _ in range(400):
        await pilot.pause(0.02)
        busy = any(w.group in ("connect", "sync", "change", "promotions", "promotions-detail")
                   and not w.is_finished for w in app.workers)
        if not app.refreshing and not busy:
            break
    await pilot.pause()


# ---- scenarios: each drives the app from its first frame to the state to capture --------

Scenario = Callable[..., Awaitable[None]]


async def _org(app, pilot) -> None:
    await settle(app, pilot)


async def _jump(app, pilot, command: str) -> None:
    await settle(app, pilot)
    app.run_jump(command)
    await pilot.pause()
    await pilot.pause()


async def _team(app, pilot) -> None:
    await _jump(app, pilot, "team data-science-nlp")


async def _project(app, pilot) -> None:
    await _jump(app, pilot, "project rag-pipeline-v2")


async def _collection(app, pilot) -> None:
    await _jump(app, pilot, "collection support-chatbot-ft")


async def _user(app, pilot) -> None:
    await _jump(app, pilot, "user bob")


async def _filter(app, pilot) -> None:
    await settle(app, pilot)
    await pilot.press("slash", *"rag")
    await pilot.pause()


async def _help(app, pilot) -> None:
    await _team(app, pilot)
    await pilot.press("question_mark")
    await pilot.pause()


async def _jump_bar(app, pilot) -> None:
    await settle(app, pilot)
    await pilot.press("colon", *"team data")
    await pilot.pause(0.2)


async def _api_log(app, pilot) -> None:
    await _team(app, pilot)
    await pilot.press("ctrl+l")
    await pilot.pause()


async def _doctor(app, pilot) -> None:
    await settle(app, pilot)
    app.action_doctor()
    for _ in range(200):  # the check runs against the sandbox: wait for its report
        await pilot.pause(0.05)
        if "nothing written" in str(app.screen.query_one("#doctor-report").content):
            break


async def _plan(app, pilot) -> None:
    from textual.widgets import DataTable, OptionList

    from .widgets.detail import DetailPane

    await _team(app, pilot)
    detail = app.screen.query_one(DetailPane)
    table = detail.query_one(DataTable)
    table.focus()
    table.move_cursor(row=detail.row_keys.index("carol"))
    await pilot.press("e")
    await pilot.pause()
    app.screen.query_one(OptionList).highlighted = [o[0] for o in app.screen.options].index(
        "viewer")
    await pilot.press("enter")
    await pilot.pause()


async def _journal(app, pilot) -> None:
    await _plan(app, pilot)
    await pilot.press("tab", "enter")
    await settle(app, pilot)
    app.clear_notifications()  # toasts expire on their own clock: keep them out of the picture
    app.switch_mode("journal")
    await pilot.pause()
    await pilot.pause()


async def _access(app, pilot) -> None:
    await settle(app, pilot)
    app.switch_mode("access")
    await pilot.pause()
    await pilot.pause()


async def _access_marked(app, pilot) -> None:
    await _access(app, pilot)
    await pilot.press("slash", *"l")
    await pilot.pause()
    await pilot.press("enter", "space", "space")  # mark two people
    await pilot.pause()
    await pilot.press("g")  # org role for both
    await pilot.pause()


async def _access_service_accounts(app, pilot) -> None:
    await _access(app, pilot)
    await pilot.press("v")  # the service accounts instead of the people
    await pilot.pause()
    await pilot.press("down", "down")  # eval-runner: two findings name it
    await pilot.pause()


async def _promotions(app, pilot) -> None:
    await settle(app, pilot)
    app.switch_mode("promotions")
    await pilot.pause()
    for _ in range(200):  # the live queue (with its holders' metrics), not the cached one
        await settle(app, pilot)
        if getattr(app.screen, "live", False) and app.screen.details:
            break
    await settle(app, pilot)


async def _promotions_approve(app, pilot) -> None:
    await _promotions(app, pilot)
    await pilot.press("A")
    await pilot.pause()
    await pilot.press(*"beats v5 on every eval", "enter")
    await pilot.pause()


async def _onboarding(app, pilot) -> None:
    await settle(app, pilot)
    app.switch_mode("onboarding")
    await pilot.pause()
    options = app.screen.query_one("#ob-list")
    ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
    options.highlighted = ids.index("t:research-team")
    await pilot.pause()


async def _onboarding_review(app, pilot) -> None:
    await _onboarding(app, pilot)
    await pilot.press("enter")
    await pilot.pause()
    await pilot.press(*"vision-nlp", "tab", *"bob", "tab", *"carol, new.hire@example.com",
                      "tab", *"victor")
    await pilot.pause()
    await pilot.press("enter")  # the last field: on to the review
    await pilot.pause()
    await pilot.press("a")  # the review's Plan dialog, Cancel focused
    await pilot.pause()
    await pilot.pause()


async def _quotas(app, pilot) -> None:
    await settle(app, pilot)
    app.switch_mode("quotas")
    await pilot.pause()
    for _ in range(400):  # the usage store is read from the cache, then refreshed from W&B
        await pilot.pause(0.02)
        screen = app.screen
        busy = any(w.group in ("quotas", "quotas-cache") and not w.is_finished
                   for w in app.workers)
        if not busy and not getattr(screen, "pending", True) and \
                getattr(screen, "view", None) is not None and screen.view.report is not None:
            break
    app.clear_notifications()
    await pilot.pause()


async def _quotas_team(app, pilot) -> None:
    await _quotas(app, pilot)
    screen = app.screen
    names = [t.team for t in screen.rows]
    screen.table.move_cursor(row=names.index("data-science-nlp"))
    await pilot.pause()
    await pilot.press("enter")
    await pilot.pause()
    await pilot.pause()


async def settle_audit(app, pilot) -> None:
    """Until the audit screen has read the log (when online) and drawn the timeline."""
    for _ in range(500):
        await pilot.pause(0.02)
        busy = any(w.group in ("audit-read", "audit-load") and not w.is_finished
                   for w in app.workers)
        if not busy and getattr(app.screen, "loaded", False):
            break
    await pilot.pause()


STALE_INVITE = ("llm-platform-eng", "contractor@partner-labs.io")  # the demo's stale invite


async def cancel_stale_invite(app, at: float = APP_NOW + 60) -> None:
    """A change W&B logs (`team:uninvite`), journaled through the core engine. The sandbox
    stamps its audit event on the process clock, which is put at `at` for it: the picture
    must not depend on how long the run took."""
    from .. import clock
    from ..core.access.changes import CancelInvite
    from ..core.changes import Plan

    clock.start_at(at)
    team, email = STALE_INVITE
    plan = Plan("cancel the stale invite", [CancelInvite.make(team, email=email)])
    await app.session.engine().apply(plan, app.session.client, app.session.username)


async def _audit(app, pilot) -> None:
    await _plan(app, pilot)  # a change W&B logs no event for (a team role)
    await pilot.press("tab", "enter")
    await settle(app, pilot)
    await cancel_stale_invite(app)  # and one it does
    app.clear_notifications()
    app.switch_mode("audit")
    await settle_audit(app, pilot)


async def _governance(app, pilot) -> None:
    await settle(app, pilot)
    app.switch_mode("governance")
    for _ in range(400):  # the judgement, then the runs read from W&B and judged again
        await pilot.pause(0.02)
        screen = app.screen
        busy = any(w.group.startswith("governance") and not w.is_finished
                   for w in app.workers)
        if getattr(screen, "judgement", None) is not None and screen.refreshed and not busy:
            break
    await pilot.pause()


def _then_paint(scenario: Scenario) -> Scenario:
    """Let deferred updates (header, scroll) reach the screen before the capture."""

    async def run(app, pilot) -> None:
        await scenario(app, pilot)
        app.update_header()  # the active screen's header, whatever the timers did
        for _ in range(3):
            await pilot.pause(0.05)

    return run


SCENARIOS: dict[str, tuple[str, Scenario, tuple[int, int]]] = {
    "explorer": ("the org, its teams and their numbers", _then_paint(_org), SIZE),
    "explorer-team": ("a team: members, roles, service accounts, invites",
                      _then_paint(_team), SIZE),
    "explorer-project": ("a project: visibility, runs, who has access",
                         _then_paint(_project), SIZE),
    "explorer-collection": ("a registry collection: versions, aliases, requests",
                            _then_paint(_collection), SIZE),
    "explorer-user": ("a person: org role, teams, registries", _then_paint(_user), SIZE),
    "explorer-filter": ("`/` filter over teams, projects and collections",
                        _then_paint(_filter), SIZE),
    "explorer-narrow": ("a team at 80×24", _then_paint(_team), (80, 24)),
    "access": ("people, roles and the access findings", _then_paint(_access), SIZE),
    "access-bulk": ("two people marked, one change for both", _then_paint(_access_marked),
                    SIZE),
    "access-service-accounts": ("the service accounts: scope, keys (ids only), activity",
                                _then_paint(_access_service_accounts), SIZE),
    "promotions": ("pending promotion requests and one in detail", _then_paint(_promotions),
                   SIZE),
    "promotions-approve": ("approving a production promotion: the plan, Cancel focused",
                           _then_paint(_promotions_approve), SIZE),
    "quotas": ("GPU-hour gauges per team: soft and hard limits, forecast, daily usage",
               _then_paint(_quotas), SIZE),
    "quotas-team": ("a team drilled into: projects, top runs and users, cost",
                    _then_paint(_quotas_team), SIZE),
    "onboarding": ("onboarding: pick a team or new-hire template", _then_paint(_onboarding),
                   SIZE),
    "onboarding-review": ("onboarding: a team template filled in, its plan, Cancel focused",
                          _then_paint(_onboarding_review), SIZE),
    "help": ("`?` the keys that work here", _then_paint(_help), SIZE),
    "jump": ("`:` jump with completion", _then_paint(_jump_bar), SIZE),
    "api-log": ("the API-call log", _then_paint(_api_log), SIZE),
    "doctor": ("the doctor panel (palette): what the server has, what the key may do",
               _then_paint(_doctor), SIZE),
    "plan": ("a role change as a plan, Cancel focused", _then_paint(_plan), SIZE),
    "journal": ("the journal after a change", _then_paint(_journal), SIZE),
    "audit": ("W&B's audit log and the journal on one timeline", _then_paint(_audit), SIZE),
    "governance": ("the run policy: rules, compliance per team, runs breaking a rule",
                   _then_paint(_governance), SIZE),
}


async def capture(name: str, workdir: Path | None = None,
                  size: tuple[int, int] | None = None) -> str:
    """The SVG of scenario `name` (at its own terminal size, or `size`)."""
    if name not in SCENARIOS:
        raise KeyError(name)
    _, scenario, own_size = SCENARIOS[name]
    size = size or own_size
    with tempfile.TemporaryDirectory(prefix="wbadmin-shot-") as tmp, _default_config(tmp):
        app = make_demo_app(Path(workdir or tmp))
        async with app.run_test(size=size, notifications=True) as pilot:
            _freeze_cursor(app)
            await scenario(app, pilot)
            await pilot.pause()
            return app.export_screenshot(title=f"wbadmin — {name}")


@contextlib.contextmanager
def _default_config(tmp: str):
    """The pictures show wbadmin's defaults, not this machine's config (theme, keys,
    promotion policy)."""
    from ..core.settings import clear_settings_cache

    saved = os.environ.get("XDG_CONFIG_HOME")
    policy = os.environ.pop("WBADMIN_PROMOTION_POLICY", None)
    quota_policy = os.environ.pop("WBADMIN_QUOTA_POLICY", None)
    os.environ["XDG_CONFIG_HOME"] = str(Path(tmp) / "config")
    clear_settings_cache()
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop("XDG_CONFIG_HOME", None)
        else:
            os.environ["XDG_CONFIG_HOME"] = saved
        if policy is not None:
            os.environ["WBADMIN_PROMOTION_POLICY"] = policy
        if quota_policy is not None:
            os.environ["WBADMIN_QUOTA_POLICY"] = quota_policy
        clear_settings_cache()


def _freeze_cursor(app) -> None:
    from textual.widgets import Input

    Input.cursor_blink = False  # a blinking cursor would make every capture differ


def png_ready_svg(svg: str) -> str:
    """rsvg-convert drops non-breaking spaces at the start of a text run; plain spaces with
    xml:space="preserve" render as the terminal shows them."""
    svg = svg.replace("&#160;", " ")
    return re.sub(r"<svg ", '<svg xml:space="preserve" ', svg, count=1)


def to_png(svg_path: Path, png_path: Path, width: int = 1400) -> bool:
    """PNG through rsvg-convert when it is installed (Debian: librsvg2-bin)."""
    tool = shutil.which("rsvg-convert")
    if tool is None:
        return False
    with tempfile.NamedTemporaryFile("w", suffix=".svg", delete=False) as tmp:
        tmp.write(png_ready_svg(svg_path.read_text()))
    try:
        subprocess.run([tool, "-w", str(width), tmp.name, "-o", str(png_path)], check=True,
                       capture_output=True, timeout=60)
    finally:
        Path(tmp.name).unlink(missing_ok=True)
    return True


def save(name: str, out: Path, png: bool = False,
         size: tuple[int, int] | None = None) -> list[Path]:
    svg = asyncio.run(capture(name, size=size))
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(svg)
    written = [out]
    if png and to_png(out, out.with_suffix(".png")):
        written.append(out.with_suffix(".png"))
    return written


def save_all(folder: Path) -> list[Path]:
    written: list[Path] = []
    for name in SCENARIOS:
        written += save(name, folder / f"{name}.svg", png=True)
    return written
