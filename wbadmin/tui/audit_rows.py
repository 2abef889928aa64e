"""What the audit screen shows of a timeline Event: its row, its search text, its detail and
the place in the Explorer `enter` opens. No widgets here: the screen draws what these give."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from rich.text import Text

from .. import clock
from ..core.audit_timeline import WANDB, WBADMIN, Event
from .locations import REGISTRY_PREFIX, Location

DAY = 86400.0
PERIODS = ("7d", "30d", "90d")  # `p` cycles them
SOURCES = (None, WANDB, WBADMIN)  # `s` cycles them: all, W&B's log, wbadmin's journal
SOURCE_LABEL = {None: "all sources", WANDB: "W&B", WBADMIN: "wbadmin"}
STATUS_STYLE = {"applied": "green", "failed": "bold red", "pending": "yellow",
                "conflict": "bold yellow"}
HEADERS = ("when (UTC)", "source", "action", "actor", "asset", "link")


def period_seconds(period: str) -> float:
    return float(period.rstrip("d")) * DAY


@dataclass
class Timeline:
    """The loaded timeline, newest first, with what the screen looks things up by."""
    events: list[Event] = field(default_factory=list)
    emails: dict[str, str] = field(default_factory=dict)      # username → email
    by_key: dict[str, Event] = field(default_factory=dict)    # W&B events by their key
    by_id: dict[int, Event] = field(default_factory=dict)     # journal rows by entry id
    haystacks: list[str] = field(default_factory=list)        # what `/` searches, per event
    counts: dict[str, int] = field(default_factory=dict)      # events per source

    @classmethod
    def of(cls, oldest_first: list[Event], emails: dict[str, str]) -> Timeline:
        events = oldest_first[::-1]
        return cls(events, emails,
                   {e.key: e for e in events if e.source == WANDB and e.key},
                   {e.journal_id: e for e in events
                    if e.source == WBADMIN and e.journal_id is not None},
                   [haystack(e) for e in events],
                   {s: sum(1 for e in events if e.source == s) for s in (WANDB, WBADMIN)})

    def matching(self, source: str | None, text: str) -> list[Event]:
        words = text.lower().split()
        return [e for e, hay in zip(self.events, self.haystacks, strict=True)
                if (source is None or e.source == source)
                and all(w in hay for w in words)]

    def count(self, source: str) -> int:
        return self.counts.get(source, 0)


def haystack(e: Event) -> str:
    parts = (when(e), SOURCE_LABEL[e.source], e.action, e.kind, e.actor, e.user, e.team,
             e.project, e.artifact, e.target, e.status)
    return " ".join(p for p in parts if p).lower()


def when(e: Event) -> str:
    # time.strftime: a third of datetime's cost, and 84k rows are searched by it
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(e.at))


def asset(e: Event) -> str:
    where = "/".join(x for x in (e.team, e.project) if x)
    return " ".join(x for x in (where, e.user, e.artifact) if x)


def link_cell(e: Event) -> Text:
    if e.source == WANDB:
        return Text(f"← #{e.journal_id}" if e.journal_id is not None else "", style="bold")
    if e.linked:
        return Text(f"→ {len(e.linked)}", style="bold")  # the W&B events it caused
    return Text("")


def row(e: Event) -> tuple[object, ...]:
    source = Text("W&B", style="cyan") if e.source == WANDB else Text("wbadmin",
                                                                      style="magenta")
    action = (e.kind if e.source == WBADMIN else None) or e.action or ""  # journal: its kind
    return (when(e), source, Text(action), Text(e.actor or ""), Text(asset(e)), link_cell(e))


def _field(text: Text, label: str, value: object) -> None:
    if value not in (None, "", []):
        text.append(f"{label:<9}", style="dim")
        text.append(f"{value}\n")


def detail(e: Event, tl: Timeline) -> Text:
    """Every field of the event, and what it is linked to."""
    text = Text()
    text.append(f"{SOURCE_LABEL[e.source]} · {e.action or e.kind or '?'}", style="bold")
    text.append(f"  {clock.iso(e.at)}\n")
    for label, value in (("actor", e.actor), ("user", e.user), ("team", e.team),
                         ("project", e.project), ("artifact", e.artifact),
                         ("status", e.status), ("kind", e.kind), ("target", e.target)):
        _field(text, label, value)
    if e.source == WANDB:
        _wandb_links(text, e, tl)
    else:
        _journal_links(text, e, tl)
    return text


def _wandb_links(text: Text, e: Event, tl: Timeline) -> None:
    cause = tl.by_id.get(e.journal_id) if e.journal_id is not None else None
    if e.journal_id is not None:
        text.append(f"caused by wbadmin journal entry #{e.journal_id}", style="bold")
        if cause is not None:
            text.append(f": {cause.kind} {cause.target} ({cause.status})")
        text.append("\n")
    else:
        text.append("not made through wbadmin (no journal entry)\n", style="dim")
    if e.entry:
        text.append("as W&B sent it  ", style="dim")
        text.append(json.dumps(e.entry, sort_keys=True, ensure_ascii=False) + "\n")
    if e.key:
        text.append(f"key {e.key}\n", style="dim")


def _journal_links(text: Text, e: Event, tl: Timeline) -> None:
    text.append(f"journal entry #{e.journal_id}\n", style="dim")
    if e.action is None:
        text.append("W&B logs no audit event for this kind of change\n", style="dim")
        return
    if not e.linked:
        text.append(f"expected W&B event {e.action}: none in the log read so far\n",
                    style="yellow")
        return
    text.append(f"W&B events it caused ({len(e.linked)}):\n", style="bold")
    for key in e.linked:
        ev = tl.by_key.get(key)
        if ev is None:
            text.append(f"  {key} (outside the period)\n", style="dim")
        else:
            text.append(f"  {when(ev)}  {ev.action}  {ev.actor or ''}  {asset(ev)}\n")


def artifact_location(e: Event, cache: Any) -> Location | None:
    """The registry collection an artifact event is about: by its qualified name when that
    names a registry, else by the artifact's or its collection's id among the cached
    registry versions and collections (a read names only ids)."""
    entry = e.entry or {}
    parts = str(entry.get("artifact_qualified_name") or "").split("/")
    if len(parts) == 3 and parts[1].startswith(REGISTRY_PREFIX):
        return Location("collection", registry=parts[1][len(REGISTRY_PREFIX):],
                        name=parts[2].split(":")[0])
    for sql, value in (("SELECT registry, collection FROM versions WHERE id = ?",
                        entry.get("artifact_asset")),
                       ("SELECT registry, name FROM collections WHERE id = ?",
                        entry.get("artifact_sequence_asset"))):
        if value and (rows := cache.query(sql, (value,))):
            return Location("collection", registry=rows[0][0], name=rows[0][1])
    return None


def location_of(e: Event, emails: Mapping[str, str], cache: Any = None) -> Location | None:
    """Where `enter` goes: the registry collection of an artifact event, else the project,
    else the team, else the person affected, else the actor (usernames from the cache's
    emails; an address not in the org is no place)."""
    if cache is not None and e.artifact and (place := artifact_location(e, cache)):
        return place
    if e.team and e.project:
        return Location("project", team=e.team, name=e.project)
    if e.team:
        return Location("team", team=e.team)
    names = {v.lower(): k for k, v in emails.items()}
    for who in (e.user, e.actor):
        if not who:
            continue
        if who in emails:  # already a username (journal rows)
            return Location("user", name=who)
        if (name := names.get(who.lower())) is not None:
            return Location("user", name=name)
    return None
