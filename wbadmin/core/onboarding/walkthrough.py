"""Walkthrough state: the steps of an onboarding, what was filled in, how far the apply got.

One JSON file per walkthrough, in a folder beside the profile's journal
(`<data dir>/<profile>-journal.onboarding/<id>.json`): the journal is what tells a resumed
walkthrough which of its changes W&B already took, so the two live together (and unlike the
cache, deleting neither loses less than it should). The file is rewritten atomically after
every step and after every applied change, so a walkthrough can be paused — or the process
killed mid-apply — and picked up after a restart.

The plan is frozen when the person reviews it (change records, as the journal stores them);
resuming never re-fills the template against a cache that may have moved since. Before any
apply, `remaining` drops the changes the journal shows applied under this walkthrough's plan
title (after `Engine.reconcile` has settled what an interruption left pending) and those W&B
already shows on a re-read: nothing is applied twice.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ... import clock
from ...private_files import write_private_text
from .. import errors as E
from ..access.changes import AddToTeam
from ..access.changes_registry import SetRegistryRole
from ..changes import Change, Outcome, Plan
from ..changes_team import SetTeamRole
from ..engine import Engine, Progress, ProgressCallback
from ..permissions import Capabilities
from .changes import CreateProject, CreateTeam
from .quota_snippet import save_snippet
from .template_plan import Filled, Inputs, Link


@dataclass(frozen=True)
class Step:
    key: str
    title: str


STEPS = (Step("template", "Template"), Step("people", "Names & people"),
         Step("review", "Review plan"), Step("apply", "Apply"), Step("done", "Done"))
STEP_KEYS = tuple(s.key for s in STEPS)


def explain(step: str, kind: str | None) -> str:
    """One line: what this step does in W&B (for a team or a new-hire template)."""
    hire = kind == "hire"
    return {
        "template": "Pick what to set up: a new team, or a new hire by job function. "
                    "Nothing changes in W&B yet.",
        "people": ("Say who the new hire is and which team they join; someone not in the org "
                   "gets an invitation. Nothing changes yet." if hire else
                   "Name the team and say who joins it, by group; people not in the org get "
                   "an invitation. Nothing changes yet."),
        "review": "Every change W&B will get, in order; each is re-read from W&B before it is "
                  "applied. Quotas go to a file.",
        "apply": ("Adds the person to teams and registries in W&B, one journaled change at a "
                  "time." if hire else
                  "Creates the team, its projects and service accounts, and grants the roles "
                  "in W&B, one journaled change at a time."),
        "done": "What now exists in W&B, with links (o opens one).",
    }[step]


@dataclass
class Walkthrough:
    id: str
    template: str                 # name or path, as `load_template` takes it
    kind: str                     # team | hire
    profile: str
    step: str = "template"
    status: str = "draft"         # draft | applying | applied | failed
    inputs: dict[str, Any] = field(default_factory=dict)
    plan_title: str = ""
    plan: list[dict[str, Any]] = field(default_factory=list)   # change records (frozen)
    links: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    quota: str | None = None      # the quota snippet text
    quota_path: str | None = None
    results: list[dict[str, Any]] = field(default_factory=list)  # one per attempted change
    created_at: float = 0.0
    updated_at: float = 0.0
    started_at: float | None = None   # first apply (journal entries are looked up from here)

    # ---- derived --------------------------------------------------------------------------

    @property
    def step_index(self) -> int:
        return STEP_KEYS.index(self.step) + 1

    @property
    def subject(self) -> str:
        data = self.get_inputs()
        return (data.team if self.kind == "team" else data.user) or "(not named yet)"

    @property
    def finished(self) -> bool:
        return self.status == "applied"

    def state_text(self) -> str:
        if self.status == "applying":
            return "interrupted while applying"
        if self.status == "failed":
            return "apply stopped on a failure"
        return f"paused at step {self.step_index} {STEPS[self.step_index - 1].title}"

    def get_inputs(self) -> Inputs:
        return Inputs.from_dict(self.inputs)

    def set_inputs(self, inputs: Inputs) -> None:
        self.inputs = inputs.to_dict()

    def changes(self) -> list[Change]:
        return [Change.from_record(r) for r in self.plan]

    def link_list(self) -> list[Link]:
        return [Link(**d) for d in self.links]

    def freeze(self, filled: Filled) -> None:
        """Keep the reviewed plan (and what it will create) for apply and resume."""
        self.set_inputs(filled.inputs)
        self.plan_title = f"{filled.plan.title} · walkthrough {self.id}"
        self.plan = [c.to_record() for c in filled.plan]
        self.links = [asdict(link) for link in filled.links]
        self.notes = list(filled.notes)
        self.quota = filled.quota
        self.results = []


def new(template: str, kind: str, profile: str, clock: Callable[[], float] = clock.now
        ) -> Walkthrough:
    now = clock()
    return Walkthrough(id=uuid.uuid4().hex[:8], template=template, kind=kind, profile=profile,
                       created_at=now, updated_at=now)


# ---- the store --------------------------------------------------------------------------------

def state_dir(journal_path: str | Path) -> Path:
    path = Path(journal_path)
    return path.with_name(f"{path.stem}.onboarding")


class Store:
    """Walkthrough files of one profile."""

    def __init__(self, folder: Path, clock: Callable[[], float] = clock.now) -> None:
        self.folder = Path(folder)
        self.clock = clock

    def path(self, wid: str) -> Path:
        return self.folder / f"{wid}.json"

    def save(self, wt: Walkthrough) -> None:
        wt.updated_at = self.clock()
        write_private_text(self.path(wt.id), json.dumps(asdict(wt), indent=1, sort_keys=True))

    def load(self, wid: str) -> Walkthrough:
        matches = [p for p in self.folder.glob(f"{wid}*.json")] if self.folder.is_dir() else []
        if not matches:
            raise KeyError(f"no paused walkthrough {wid!r}")
        if len(matches) > 1:
            raise KeyError(f"{wid!r} matches {len(matches)} walkthroughs: give more of the id")
        try:
            data = json.loads(matches[0].read_text(encoding="utf-8"))
            return Walkthrough(**data)
        except (OSError, ValueError, TypeError) as exc:
            raise KeyError(f"walkthrough file {matches[0]} cannot be read: {exc}") from None

    def all(self) -> list[Walkthrough]:
        """Every readable walkthrough, most recently touched first (unreadable files skipped:
        a half-written temp file is never named *.json)."""
        out = []
        for path in self.folder.glob("*.json") if self.folder.is_dir() else []:
            try:
                out.append(self.load(path.stem))
            except KeyError:
                continue
        return sorted(out, key=lambda w: -w.updated_at)

    def unfinished(self) -> list[Walkthrough]:
        return [w for w in self.all() if not w.finished]

    def delete(self, wid: str) -> None:
        self.path(wid).unlink(missing_ok=True)


# ---- apply and resume ---------------------------------------------------------------------------

async def remaining(wt: Walkthrough, engine: Engine, ctx: Any) -> tuple[Plan, list[str]]:
    """The frozen plan minus what is already done, and one line per change left out.

    Pending journal entries are reconciled first (re-read, never re-applied); then a change
    the journal shows applied under this walkthrough, or that W&B already shows, is dropped.
    A change whose target cannot be read yet (its team is still to be created) stays."""
    skipped: list[str] = []
    if wt.started_at is not None:
        await engine.reconcile(ctx)
    done: dict[tuple[str, str], int] = {}
    if wt.started_at is not None and wt.plan_title:
        for entry in engine.journal.query(since=wt.started_at - 1, newest_first=False):
            if entry.plan_title == wt.plan_title and entry.status == "applied":
                done[(entry.kind, entry.target)] = entry.id
    plan = Plan(title=wt.plan_title)
    for change in wt.changes():
        entry = done.get((change.kind, change.target))
        if entry is not None:
            skipped.append(f"✓ {change.describe()} — applied earlier (journal entry {entry})")
            continue
        try:
            current = await change.read_current(ctx)
        except E.NotFound:
            plan.add(change)  # e.g. a member of a team that is still to be created
            continue
        if change.matches(current, change.after):
            skipped.append(f"✓ {change.describe()} — W&B already shows it")
            continue
        if change.before is not None and current is not None:
            change.before = current
        plan.add(change)
    return plan, skipped


async def apply(wt: Walkthrough, store: Store, engine: Engine, plan: Plan, ctx: Any,
                actor: str, *, on_progress: ProgressCallback | None = None,
                quota_dir: Path | None = None) -> list[Outcome]:
    """Apply `plan` (from `remaining`), saving progress after every change. Stops at the
    first failure: later changes build on earlier ones (a member needs the team)."""
    wt.step, wt.status = "apply", "applying"
    wt.started_at = wt.started_at or store.clock()
    store.save(wt)

    async def progress(p: Progress) -> None:
        if p.outcome is not None:
            o = p.outcome
            wt.results.append({"kind": o.change.kind, "target": o.change.target,
                               "line": o.line(), "status": o.status, "entry": o.entry_id})
            store.save(wt)
        if on_progress is not None:
            result = on_progress(p)
            if hasattr(result, "__await__"):
                await result

    outcomes = await engine.apply(plan, ctx, actor, on_progress=progress, stop_on_error=True)
    ok = all(o.ok for o in outcomes)
    if ok and wt.quota and wt.kind == "team":
        wt.quota_path = str(save_snippet(wt.get_inputs().team, wt.quota, quota_dir))
    wt.status = "applied" if ok else "failed"
    wt.step = "done" if ok else "apply"
    store.save(wt)
    return outcomes


def blocker(changes: list[Change], caps: Capabilities) -> str | None:
    """Why this identity cannot apply the plan (None: it may), in words for the screen.

    W&B is the judge in the end; this keeps a walkthrough from offering an apply that cannot
    work (browsing templates and previewing the plan stay open to everyone)."""
    who = caps.username or "this identity"
    if caps.read_only:
        return "read-only mode: wbadmin changes nothing (start it without --read-only)"
    if caps.offline:
        return "offline: applying needs W&B (start wbadmin without --offline)"
    if caps.is_org_admin:
        return None
    role = f"org {caps.org_role}" if caps.org_role else "not an org admin"
    for change in changes:
        team = getattr(change, "team", None) or getattr(change, "entity", None)
        if isinstance(change, CreateTeam):
            return (f"creating a team needs an org admin (W&B's createTeam); {who} is {role}")
        if isinstance(change, SetTeamRole | AddToTeam) and getattr(change, "scim", True):
            return (f"team roles are set through SCIM, which W&B opens to org admins only; "
                    f"{who} is {role}")
        if isinstance(change, SetRegistryRole) and not caps.can_admin_registry(change.registry):
            return f"{who} is not an admin of registry {change.registry}"
        if team and not caps.can_admin_team(team) and not isinstance(change, CreateProject):
            return f"{who} is not an admin of team {team}"
    return None
