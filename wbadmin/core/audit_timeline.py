"""W&B's audit log and wbadmin's journal on one timeline, each journal entry linked to the
W&B events it caused (`wbadmin audit`; the API the audit screen builds on).

A journal entry is linked to an audit entry when the audit entry has the action its change
maps to, lies in the entry's time window (from just before the intent was written to a while
after its outcome), was made by the entry's identity (`actor_email` = the actor's email) and
names the same asset (team, invitee/user email, project). What maps to what (wandb-api.md
§7.5):

    team.invite                   -> team:invite_user            (team, email)
    team.add_member (createInvite) -> team:invite_user           (team, email)
    team.cancel_invite            -> team:uninvite               (team, email)
    team.remove_member            -> team:uninvite               (team, email)
    user.deactivate               -> user:deactivate             (email)
    user.reactivate               -> user:reactivate             (email)
    org.set_role                  -> organization:update_member  (email)
    team.create                   -> team:create                 (team)
    team.create_service_account   -> team:create_service_account (team)
    project.delete                -> project:delete              (team, project)

No audit action exists for team and registry role changes (`team.set_role`,
`registry.set_role`; W&B logs no role assignments), alias moves (`registry.move_alias`: no
alias actions), a SCIM team membership (`team.add_member` over SCIM), project creation or
updates, nor wbadmin's local records (promotions, settings): those entries stand alone.
Anonymized entries lack the emails and names, so they link to nothing.

For the audit screen (and anything else that shows the log): `audit_store.refresh()` in a
worker (online only), then `timeline(audit_store.stored(cache, since, now), journal.query(...),
known_emails(cache, identity), AuditFilter(...))`; each Event's team / project / user /
artifact is what `enter` opens in the Explorer, `Event.record()` what an export writes, and
`unreadable()` the one line for an identity or server that cannot read the log.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from . import errors as E
from .audit import is_multi_tenant
from .journal import Entry, iso

WANDB, WBADMIN = "wandb", "wbadmin"
LINK_BEFORE = 5.0     # seconds: the audit row's second may round down past the intent's time
LINK_AFTER = 120.0    # seconds after the outcome (or the intent, if none was written)
# Stable keys of an exported record, in order (jsonl and csv alike).
RECORD_KEYS = ("time", "source", "action", "actor", "user", "team", "project", "artifact",
               "status", "key", "journal_id", "kind", "target", "linked", "entry")


@dataclass(frozen=True)
class Expected:
    """The audit entry a journal entry's change makes, as far as it can be told."""
    action: str
    team: str | None = None
    email: str | None = None
    project: str | None = None


@dataclass
class Event:
    """One row of the timeline: a W&B audit entry, or a wbadmin journal entry."""
    at: float
    source: str                # WANDB | WBADMIN
    action: str | None         # W&B's action; for a journal entry, the one it maps to
    actor: str | None = None   # W&B: actor_email (or id); wbadmin: the identity's username
    user: str | None = None    # the affected person (email or username)
    team: str | None = None
    project: str | None = None
    artifact: str | None = None
    status: str | None = None  # W&B: response_code; wbadmin: the journal status
    key: str | None = None     # W&B: the entry's dedup key
    journal_id: int | None = None  # W&B: the journal entry that caused it; wbadmin: its id
    kind: str | None = None    # wbadmin: the change kind
    target: str | None = None  # wbadmin: the change's target
    linked: list[str] = field(default_factory=list)  # wbadmin: keys of the W&B events
    entry: dict[str, Any] | None = None  # W&B: the entry as sent

    def record(self) -> dict[str, Any]:
        """JSON-ready, with RECORD_KEYS in order; times RFC 3339 UTC."""
        data = {k: getattr(self, k) for k in RECORD_KEYS if k != "time"}
        return {"time": iso(self.at), **data}


@dataclass(frozen=True)
class AuditFilter:
    """Filters that apply to both sources. `actor` is a username or an email; `action` an
    action (`team:invite_user`), an object (`team`), or a journal kind (`team.invite`)."""
    since: float | None = None
    until: float | None = None
    actor: str | None = None
    action: str | None = None
    team: str | None = None
    project: str | None = None

    def matches(self, event: Event, emails: Mapping[str, str]) -> bool:
        if self.since is not None and event.at < self.since:
            return False
        if self.until is not None and event.at >= self.until:
            return False
        if self.actor is not None and not _same_actor(self.actor, event.actor, emails):
            return False
        if self.action is not None and not _action_matches(self.action, event):
            return False
        if self.team is not None and not _same(self.team, event.team):
            return False
        return self.project is None or _same(self.project, event.project)


def _same(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and a.lower() == b.lower()  # type: ignore[union-attr]


def _same_actor(wanted: str, actor: str | None, emails: Mapping[str, str]) -> bool:
    if actor is None:
        return False
    names = {wanted.lower()}
    if wanted in emails:
        names.add(emails[wanted].lower())
    return actor.lower() in names or (emails.get(actor) or "").lower() in names


def _action_matches(wanted: str, event: Event) -> bool:
    for name in (event.action, event.kind):
        if name and (name == wanted or name.split(":")[0] == wanted.rstrip(":*")):
            return True
    return False


def expected(entry: Entry, emails: Mapping[str, str]) -> Expected | None:
    """The audit entry `entry`'s change makes, or None when W&B logs no action for it."""
    p = entry.params
    email = p.get("email") or emails.get(p.get("username") or "")
    team = p.get("team")
    match entry.kind:
        case "team.invite":
            return Expected("team:invite_user", team, email)
        case "team.add_member" if p.get("scim") is False:
            return Expected("team:invite_user", team, email)
        case "team.cancel_invite" | "team.remove_member":
            return Expected("team:uninvite", team, email)
        case "user.deactivate":
            return Expected("user:deactivate", email=email)
        case "user.reactivate":
            return Expected("user:reactivate", email=email)
        case "org.set_role":
            return Expected("organization:update_member", email=email)
        case "team.create":
            return Expected("team:create", team)
        case "team.create_service_account":
            return Expected("team:create_service_account", team)
        case "project.delete":
            return Expected("project:delete", p.get("entity"), project=p.get("project"))
    return None


def wandb_event(key: str, at: float, entry: dict[str, Any]) -> Event:
    code = entry.get("response_code")
    return Event(at, WANDB, entry.get("action"),
                 actor=entry.get("actor_email") or entry.get("actor_user_id"),
                 user=entry.get("user_email") or entry.get("user_asset"),
                 team=entry.get("entity_name"), project=entry.get("project_name"),
                 artifact=entry.get("artifact_qualified_name") or entry.get("artifact_asset"),
                 status=None if code is None else str(code), key=key, entry=entry)


def journal_event(entry: Entry, emails: Mapping[str, str]) -> Event:
    p = entry.params
    maps_to = expected(entry, emails)
    event = Event(entry.created_at, WBADMIN, maps_to.action if maps_to else None,
                  actor=entry.actor, user=p.get("email") or p.get("username"),
                  team=p.get("team") or p.get("entity"), project=p.get("project"),
                  status=entry.status, journal_id=entry.id, kind=entry.kind,
                  target=entry.target)
    return event


def anonymized(event: Event) -> Event:
    """A journal row without what W&B's anonymize drops: who, whom, which team/project."""
    if event.source == WBADMIN:
        event.actor = event.user = event.team = event.project = event.target = None
    return event


def _links(entry: Entry, want: Expected, actor_email: str, event: Event) -> bool:
    end = (entry.finished_at or entry.created_at) + LINK_AFTER
    raw = event.entry or {}
    return (event.action == want.action and entry.created_at - LINK_BEFORE <= event.at <= end
            and _same(raw.get("actor_email"), actor_email)
            and (want.team is None or _same(raw.get("entity_name"), want.team))
            and (want.email is None or _same(raw.get("user_email"), want.email))
            and (want.project is None or _same(raw.get("project_name"), want.project)))


def link(journal: list[Event], entries: Mapping[int, Entry], wandb: list[Event],
         emails: Mapping[str, str]) -> None:
    """Link each applied journal entry to the W&B events it caused (each event to one
    entry: the earliest that fits)."""
    for row in sorted(journal, key=lambda r: r.at):
        entry = entries[row.journal_id]  # type: ignore[index]
        want = expected(entry, emails)
        actor_email = emails.get(entry.actor)
        if want is None or not actor_email or entry.status != "applied":
            continue
        for event in wandb:
            if event.journal_id is None and _links(entry, want, actor_email, event):
                event.journal_id = entry.id
                row.linked.append(event.key)  # type: ignore[arg-type]


def timeline(stored: Iterable[tuple[str, float, dict[str, Any]]], journal: Iterable[Entry],
             emails: Mapping[str, str], flt: AuditFilter = AuditFilter(), *,
             anonymize: bool = False) -> list[Event]:
    """Both sources on one timeline, oldest first, linked, then filtered. `stored` is
    audit_store.stored(); `emails` maps usernames to emails (the cache's users)."""
    wandb = [wandb_event(key, at, entry) for key, at, entry in stored]
    entries = {e.id: e for e in journal}
    mine = [journal_event(e, emails) for e in entries.values()]
    link(mine, entries, wandb, emails)  # anonymized entries have no emails: nothing links
    events = sorted(wandb + mine, key=lambda e: (e.at, e.source == WBADMIN))
    kept = [e for e in events if flt.matches(e, emails)]  # filtered before PII goes
    return [anonymized(e) for e in kept] if anonymize else kept


def known_emails(cache: Any, identity: Any = None) -> dict[str, str]:
    """username → email from the cache's users (who the journal's actors and invitees are),
    and the identity's own (known before any sync)."""
    out = {r[0]: r[1] for r in cache.conn.execute(
        "SELECT username, email FROM users WHERE email IS NOT NULL")}
    if identity is not None and identity.email:
        out.setdefault(identity.username, identity.email)
    return out


def unreadable(exc: E.WbError, base_url: str) -> tuple[str, str]:
    """(one line, "role" | "server") for an audit log this identity or server cannot give:
    PermissionDenied is the role (not an org admin; on Multi-tenant also an org without
    Enterprise), NotFound the server (no audit-log API)."""
    if isinstance(exc, E.PermissionDenied):
        who = ("only org admins of an Enterprise org may read it" if is_multi_tenant(base_url)
               else "only org admins may read it")
        return f"the audit log is not readable: {who} ({exc.message})", "role"
    return (f"the audit log is not readable: this server has no audit-log API "
            f"({exc.message})", "server")
