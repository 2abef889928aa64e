"""The seeded audit history: what W&B's audit log would hold for the seeded org's recent weeks.

Audit rows only, read off the seeded state so they agree with it: sign-ins of people who were
active (a person's newest event is never after their `last_active_at`), invites that ended in
today's memberships, the creation of users, service accounts and keys that exist, deactivations
of deactivated people, org-role or seat changes of people whose role or seat is not the
default, and service-account traffic (artifacts read and made, runs updated by CI). Only the
actions and fields in the reference (`wandb-api.md` §7.4, §7.5; `audit.ACTIONS`, `.FIELDS`).

Deterministic: its own random stream (the seed's other rows do not move) and times relative to
the seed's clock. The scale presets add a history for the rows they add (`Scope.first_*`).
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

from . import ids
from .db import Database

DAY, HOUR = 86_400, 3_600
SDK_VERSIONS = ("0.19.11", "0.21.4", "0.22.3")
Event = tuple[int, str, int, dict[str, Any]]  # timestamp, action, actor id, entry fields


@dataclass(frozen=True)
class Scope:
    days: int                 # how far back the history goes
    session_gap_days: float   # mean time between one person's sign-ins
    reads_per_session: int    # at most this many `project:read` per sign-in
    role_change_share: float  # of people with a non-default role or seat, changed in range
    first_user: int = 1       # only rows from these ids on (the demo's when 1)
    first_entity: int = 1
    first_run: int = 1
    first_artifact: int = 1


def seed_history(db: Database, seed: int, now: int, scope: Scope, label: str) -> int:
    """Write the history into `audit_log` (ids after the existing ones); how many rows."""
    h = _History(db, random.Random(f"audit:{label}:{seed}"), now, now - scope.days * DAY, scope)
    h.people()
    h.memberships()
    h.service_accounts()
    h.artifacts()
    h.events.sort(key=lambda e: (e[0], e[1]))
    first = int(db.scalar("SELECT COALESCE(MAX(id), 0) FROM audit_log")) + 1
    db.conn.executemany(
        "INSERT INTO audit_log (id, timestamp, action, actor_id, detail) VALUES (?,?,?,?,?)",
        [(first + i, ts, action, actor, json.dumps(fields))
         for i, (ts, action, actor, fields) in enumerate(h.events)])
    return len(h.events)


def _user(row: Any) -> dict[str, Any]:
    fields = {"user_asset": ids.encode("User", row["id"])}
    if row["email"]:
        fields["user_email"] = row["email"]
    return fields


def _team(team_id: int, name: str) -> dict[str, Any]:
    return {"entity_asset": ids.encode("Entity", team_id), "entity_name": name}


def _project(row: Any) -> dict[str, Any]:
    return {**_team(row["entity_id"], row["entity_name"]),
            "project_asset": ids.encode("Project", row["project_id"]),
            "project_name": row["project_name"]}


class _History:
    def __init__(self, db: Database, rng: random.Random, now: int, start: int,
                 scope: Scope) -> None:
        self.db, self.rng, self.now, self.start, self.scope = db, rng, now, start, scope
        self.events: list[Event] = []
        self.users = {r["id"]: r for r in db.query("SELECT * FROM users ORDER BY id")}
        admins = [u for u in self.users.values() if u["org_role"] == "admin" and u["active"]
                  and u["account_type"] == "USER"]
        self.alice = next((u["id"] for u in admins if u["username"] == "alice"), admins[0]["id"])
        self.provisioner = next((u["id"] for u in self.users.values()
                                 if u["account_type"] == "SERVICE" and u["sa_scope"] == "org"),
                                self.alice)

    def add(self, ts: int, action: str, actor: int, **fields: Any) -> None:
        if not self.start <= ts <= self.now:
            return  # e.g. the invite of someone who joined on the range's first day
        self.events.append((ts, action, actor, {k: v for k, v in fields.items()
                                                if v is not None}))

    def active_at(self, user_id: int, ts: int) -> bool:
        """Whether an event by this user at ts agrees with their last activity."""
        last = self.users[user_id]["last_active_at"]
        return self.start <= ts <= self.now and last is not None and ts <= last

    # ---- people: sign-ins, creation, deactivation, org-role and seat changes --------------

    def people(self) -> None:
        rng, scope = self.rng, self.scope
        projects = self._projects_by_user()
        for u in self.users.values():
            if u["id"] < scope.first_user or u["account_type"] != "USER":
                continue
            if self.start <= u["created_at"] <= self.now:
                self.add(u["created_at"], "user:create", self.provisioner, **_user(u),
                         response_code=200)
                self.add(u["created_at"], "user:create_api_key", self.provisioner, **_user(u),
                         response_code=200)
            self._sessions(u, projects.get(u["id"], []))
            last = u["last_active_at"]
            if not u["active"] and last is not None:
                gone = min(self.now - HOUR, last + rng.randint(HOUR, 3 * DAY))
                if gone >= self.start:
                    self.add(gone, "user:deactivate", self.provisioner, **_user(u),
                             response_code=200)
            changed = u["org_role"] == "admin" or u["models_seat"] == "viewer"
            since = max(self.start, u["created_at"])
            if (changed and u["id"] != self.alice and last is not None and since <= last
                    and rng.random() < scope.role_change_share):
                self.add(rng.randint(since, last), "organization:update_member", self.alice,
                         **_user(u), response_code=200)

    def _sessions(self, u: Any, projects: list[Any]) -> None:
        """Sign-ins back from the last activity, a few project reads after each."""
        rng, last = self.rng, u["last_active_at"]
        if last is None or last < self.start:
            return
        ip = f"10.{20 + u['id'] // 65_536 % 200}.{u['id'] // 256 % 256}.{u['id'] % 256}"
        floor = max(self.start, u["created_at"])
        at = last - rng.randint(60, 8 * HOUR)
        while at >= floor:
            self.add(at - rng.randint(2, 40), "user:initiate_login", u["id"], actor_ip=ip)
            self.add(at, "user:login", u["id"], actor_ip=ip, response_code=200)
            end = min(last, self.now, at + 9 * HOUR)
            for _ in range(rng.randint(0, self.scope.reads_per_session) if projects else 0):
                self.add(rng.randint(at, end), "project:read", u["id"], actor_ip=ip,
                         **_project(rng.choice(projects)), response_code=200)
            if rng.random() < 0.15:
                self.add(end, "user:logout", u["id"], actor_ip=ip, response_code=200)
            at -= max(2 * HOUR, int(rng.expovariate(1 / self.scope.session_gap_days) * DAY))

    def _projects_by_user(self) -> dict[int, list[Any]]:
        """A few projects of each person's teams (what they would open)."""
        by_team: dict[int, list[Any]] = {}
        for r in self.db.query(
                "SELECT p.id AS project_id, p.name AS project_name, e.id AS entity_id, "
                "e.name AS entity_name FROM projects p JOIN entities e ON e.id = p.entity_id "
                "WHERE p.is_registry = 0 AND e.kind = 'team' ORDER BY p.id"):
            picked = by_team.setdefault(r["entity_id"], [])
            if len(picked) < 12:
                picked.append(r)
        out: dict[int, list[Any]] = {}
        for team_id, user_id in self.db.query("SELECT team_id, user_id FROM team_members "
                                              "WHERE user_id >= ? ORDER BY seq",
                                              (self.scope.first_user,)):
            out.setdefault(user_id, []).extend(by_team.get(team_id, []))
        return out

    # ---- invites that became today's memberships --------------------------------------------

    def memberships(self) -> None:
        rng = self.rng
        pending = {(t, (e or "").lower()) for t, e in self.db.query(
            "SELECT team_id, email FROM invites")}
        rows = self.db.query(
            "SELECT m.team_id, m.user_id, m.joined_at, m.role, e.name FROM team_members m "
            "JOIN entities e ON e.id = m.team_id WHERE m.joined_at >= ? "
            "AND (m.team_id >= ? OR m.user_id >= ?) ORDER BY m.seq",
            (self.start, self.scope.first_entity, self.scope.first_user))
        admins: dict[int, list[tuple[int, int]]] = {}
        for team_id, user_id, joined in self.db.query(
                "SELECT team_id, user_id, joined_at FROM team_members WHERE role = 'admin'"):
            admins.setdefault(team_id, []).append((user_id, joined))
        for team_id, user_id, joined, _role, team in rows:
            u = self.users[user_id]
            if u["account_type"] != "USER" or (team_id, (u["email"] or "").lower()) in pending:
                continue
            sent = joined - rng.randint(HOUR, 4 * DAY)
            inviters = [a for a, since in admins.get(team_id, [])
                        if a != user_id and since < sent and self.active_at(a, sent)]
            self.add(sent, "team:invite_user", rng.choice(inviters) if inviters else self.alice,
                     **_team(team_id, team), **_user(u), response_code=200)

    # ---- service accounts: creation, keys, CI traffic ---------------------------------------

    def service_accounts(self) -> None:
        rng, scope = self.rng, self.scope
        accounts = [u for u in self.users.values()
                    if u["account_type"] == "SERVICE" and u["id"] >= scope.first_user]
        names = dict(self.db.query("SELECT id, name FROM entities WHERE kind = 'team'"))
        for sa in accounts:
            created = sa["created_at"]
            if self.start <= created <= self.now and sa["sa_team_id"] is not None:
                maker = self.db.scalar(
                    "SELECT user_id FROM team_members m JOIN users u ON u.id = m.user_id "
                    "WHERE m.team_id = ? AND m.role = 'admin' AND u.account_type = 'USER' "
                    "ORDER BY m.seq LIMIT 1", (sa["sa_team_id"],)) or self.alice
                team = _team(sa["sa_team_id"], names[sa["sa_team_id"]])
                self.add(created, "team:create_service_account", maker, **team, **_user(sa),
                         response_code=200)
                # The account's first key comes with it (createServiceAccount makes it).
                self.add(created, "user:create_api_key", maker, **_user(sa), response_code=200)
        artifacts = self.db.query(
            "SELECT a.id, a.digest, a.version_index, c.id AS seq_id, c.name AS coll "
            "FROM artifacts a JOIN artifact_collections c ON c.id = a.sequence_id "
            "ORDER BY a.id LIMIT 200")
        by_id = {sa["id"]: sa for sa in accounts}
        for run in self.db.query(
                "SELECT r.user_id, r.created_at, r.heartbeat_at, r.state, p.id AS project_id, "
                "p.name AS project_name, e.id AS entity_id, e.name AS entity_name FROM runs r "
                "JOIN projects p ON p.id = r.project_id JOIN entities e ON e.id = p.entity_id "
                "WHERE r.created_at >= ? AND r.id >= ? ORDER BY r.id",
                (self.start, scope.first_run)):
            if run["user_id"] not in by_id:
                continue
            sdk = rng.choice(SDK_VERSIONS)
            read_at = run["created_at"] + rng.randint(5, 120)
            if artifacts and self.active_at(run["user_id"], read_at):
                a = rng.choice(artifacts)
                self.add(read_at, "artifact:read", run["user_id"], cli_version=sdk,
                         artifact_asset=ids.encode("Artifact", a["id"]),
                         artifact_digest=a["digest"],
                         artifact_sequence_asset=ids.encode("ArtifactCollection", a["seq_id"]),
                         response_code=200)
            if run["state"] == "finished" and self.active_at(run["user_id"], run["heartbeat_at"]):
                # The pipeline tags its finished run.
                self.add(run["heartbeat_at"], "run:update", run["user_id"], cli_version=sdk,
                         **_project(run), response_code=200)

    # ---- artifacts logged by runs -----------------------------------------------------------

    def artifacts(self) -> None:
        for a in self.db.query(
                "SELECT a.id, a.digest, a.version_index, a.created_at, c.id AS seq_id, "
                "c.name AS coll, r.user_id, p.id AS project_id, p.name AS project_name, "
                "e.id AS entity_id, e.name AS entity_name FROM artifacts a "
                "JOIN artifact_collections c ON c.id = a.sequence_id "
                "JOIN runs r ON r.id = a.created_by_run_id JOIN projects p ON p.id = c.project_id "
                "JOIN entities e ON e.id = p.entity_id WHERE a.id >= ? AND a.created_at >= ? "
                "ORDER BY a.id", (self.scope.first_artifact, self.start)):
            if not self.active_at(a["user_id"], a["created_at"]):
                continue
            self.add(a["created_at"], "artifact:create", a["user_id"],
                     cli_version=self.rng.choice(SDK_VERSIONS), **_project(a),
                     artifact_asset=ids.encode("Artifact", a["id"]), artifact_digest=a["digest"],
                     artifact_qualified_name=(f"{a['entity_name']}/{a['project_name']}/"
                                              f"{a['coll']}:v{a['version_index']}"),
                     artifact_sequence_asset=ids.encode("ArtifactCollection", a["seq_id"]),
                     response_code=200)
