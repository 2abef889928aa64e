"""Deterministic seed of the sandbox: the `demo` org (the product's story).

Everything follows from one integer (`seed`) and a reference time (`now`): the same pair
always gives the same rows, ids and API keys, so snapshots and tests are stable.
Scale presets for benchmarks live in `seed_scale.py`.
"""

from __future__ import annotations

import hashlib
import json
import random
import time
from dataclasses import dataclass, field

from .. import clock
from . import audit, ids
from . import seed_data as story
from .db import Database
from .seed_audit import Scope, seed_history
from .seed_governance import seed_run_tickets

DAY = 86_400
HOUR = 3_600
# Eight weeks of audit history (the pending invites write their own entries: Seeder.invite).
DEMO_HISTORY = Scope(days=56, session_gap_days=1.6, reads_per_session=3, role_change_share=1.0)


def api_key_for(seed: int, username: str) -> str:
    """A deterministic 40-hex-character key (W&B keys are >= 40 characters)."""
    return "sbx-" + hashlib.sha256(f"{seed}:{username}".encode()).hexdigest()[:40]


def key_name(key: str) -> str:
    """What `apiKeys { name }` shows: an identifier, never the secret itself."""
    return "key-" + hashlib.sha256(key.encode()).hexdigest()[:10]


@dataclass
class Seeder:
    """Inserts rows with explicit ids so the result is reproducible; used by every preset."""

    db: Database
    seed: int
    now: int
    rng: random.Random = field(init=False)
    next_id: dict[str, int] = field(default_factory=dict)
    member_seq: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def new_id(self, table: str) -> int:
        self.next_id[table] = self.next_id.get(table, 0) + 1
        return self.next_id[table]

    def insert(self, table: str, **values) -> int:
        if "id" not in values:
            values["id"] = self.new_id(table)
        cols = ", ".join(values)
        marks = ", ".join("?" for _ in values)
        self.db.conn.execute(f"INSERT INTO {table} ({cols}) VALUES ({marks})",
                             tuple(values.values()))
        return values["id"]

    # ---- building blocks shared by all presets -------------------------------------------

    def org(self, name: str, deployment: str = "dedicated", seats: int = 100) -> tuple[int, int]:
        entity_id = self.insert("entities", name=name, kind="organization",
                                created_at=self.now - 900 * DAY)
        org_id = self.insert("orgs", name=name, entity_id=entity_id, deployment=deployment,
                             seats=seats, created_at=self.now - 900 * DAY)
        self.db.conn.execute("UPDATE entities SET org_id = ? WHERE id = ?", (org_id, entity_id))
        return org_id, entity_id

    def user(self, org_id: int, username: str, name: str, email: str, org_role: str,
             *, seat: str = "full", active: bool = True, last_active_ago: int | None = None,
             instance_admin: bool = False) -> int:
        created = self.now - self.rng.randint(120, 800) * DAY
        entity_id = self.insert("entities", name=username, kind="user", org_id=org_id,
                                created_at=created)
        last_active = None if last_active_ago is None else self.now - last_active_ago
        days_active = 0 if last_active is None else self.rng.randint(5, 300)
        user_id = self.insert(
            "users", username=username, name=name, email=email, entity_id=entity_id,
            org_id=org_id, org_role=org_role, account_type="USER", active=int(active),
            instance_admin=int(instance_admin), models_seat=seat,
            weave_role="viewer" if seat == "viewer" else "full", created_at=created,
            last_active_at=last_active, days_active=days_active)
        self.api_key(user_id, username, created)
        return user_id

    def service_account(self, org_id: int, username: str, description: str, scope: str,
                        team_id: int | None) -> int:
        created = self.now - self.rng.randint(30, 400) * DAY
        user_id = self.insert(
            "users", username=username, name=description, email=None, entity_id=None,
            org_id=org_id, org_role="member", account_type="SERVICE", sa_scope=scope,
            sa_team_id=team_id, created_at=created,
            last_active_at=self.now - self.rng.randint(60, 6 * HOUR))
        self.api_key(user_id, username, created)
        return user_id

    def api_key(self, user_id: int, username: str, created: int) -> None:
        key = api_key_for(self.seed, username)
        self.insert("api_keys", user_id=user_id, key=key, name=key_name(key),
                    description="default", created_at=created)

    def team(self, org_id: int, name: str, storage_bytes: int) -> int:
        return self.insert("entities", name=name, kind="team", org_id=org_id,
                           storage_bytes=storage_bytes,
                           created_at=self.now - self.rng.randint(200, 800) * DAY)

    def member(self, team_id: int, user_id: int, role: str, custom_role_id: int | None = None,
               joined_ago: int | None = None) -> None:
        self.member_seq += 1
        joined = self.now - (joined_ago if joined_ago is not None
                             else self.rng.randint(20, 500) * DAY)
        self.db.conn.execute(
            "INSERT INTO team_members (team_id, user_id, role, custom_role_id, joined_at, seq)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (team_id, user_id, role, custom_role_id, joined, self.member_seq))

    def invite(self, team_id: int, email: str, from_user: int, age_days: int,
               to_user: int | None = None) -> None:
        """A pending invite and its `team:invite_user` audit entry (the same fields as the
        createInvite resolver writes), so invite ages can be read from the audit log."""
        self.member_seq += 1
        created = self.now - age_days * DAY
        self.insert("invites", team_id=team_id, email=email, to_user_id=to_user,
                    from_user_id=from_user, admin=0, created_at=created, seq=self.member_seq)
        team = self.db.conn.execute("SELECT name FROM entities WHERE id = ?",
                                    (team_id,)).fetchone()[0]
        detail = {"entity_name": team, "entity_asset": ids.encode("Entity", team_id),
                  "user_email": email, "response_code": 200,
                  "user_asset": ids.encode("User", to_user) if to_user is not None else None}
        audit.record(self.db.conn, created, "team:invite_user", from_user, **detail)

    def run_name(self) -> str:
        return "".join(self.rng.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(8))

    def display_name(self, n: int) -> str:
        return f"{self.rng.choice(story.RUN_ADJECTIVES)}-{self.rng.choice(story.RUN_NOUNS)}-{n}"


def seed_demo(db: Database, seed: int = 0, now: int | None = None,
              deployment: str = "dedicated") -> None:
    """Write the `demo` org: inference-systems, its teams, people, projects, runs, registry."""
    now = int(now if now is not None else clock.now()) // HOUR * HOUR
    s = Seeder(db, seed, now)
    rng = s.rng
    with db.transaction():
        db.conn.execute("INSERT OR REPLACE INTO meta VALUES ('preset', 'demo')")
        db.conn.execute("INSERT OR REPLACE INTO meta VALUES ('seed', ?)", (str(seed),))
        db.conn.execute("INSERT OR REPLACE INTO meta VALUES ('seeded_at', ?)", (str(now),))
        org_id, org_entity = s.org(story.ORG_NAME, deployment=deployment, seats=60)

        # Custom roles.
        roles = {}
        for name, description, inherited, perms in story.CUSTOM_ROLES:
            roles[name] = s.insert("custom_roles", org_id=org_id, name=name,
                                   description=description, inherited_from=inherited,
                                   permissions=json.dumps(perms), created_at=now - 200 * DAY,
                                   updated_at=now - 30 * DAY)

        # Teams.
        teams = {name: s.team(org_id, name, rng.randint(40, 2_400) * 1_000_000_000)
                 for name in story.TEAMS}

        # The named identities first, so their ids are small and stable.
        users: dict[str, int] = {}
        for username, (name, org_role, seat, _, _) in story.IDENTITIES.items():
            users[username] = s.user(org_id, username, name,
                                     f"{username}@{story.EMAIL_DOMAIN}", org_role, seat=seat,
                                     last_active_ago=rng.randint(5 * 60, 20 * HOUR))

        # About 35 more people with a realistic mix.
        people: list[str] = []
        for i, first in enumerate(story.FIRST_NAMES[:35]):
            last = story.LAST_NAMES[i % len(story.LAST_NAMES)]
            username = f"{first.lower()}.{last.lower()}"
            org_role = "admin" if i in (3, 17) else "member"
            active = i not in (8, 22, 29)  # three deactivated people
            seat = "viewer" if i % 11 == 5 else "full"
            ago = None if i == 33 else (
                rng.randint(1, 40) * DAY if i % 5 else rng.randint(60, 180) * DAY)
            if i == 17:
                ago = 120 * DAY  # an org admin inactive for months (a finding)
            users[username] = s.user(org_id, username, f"{first} {last}",
                                     f"{first.lower()}.{last.lower()}@{story.EMAIL_DOMAIN}",
                                     org_role, seat=seat, active=active, last_active_ago=ago)
            people.append(username)

        # Memberships of the named identities.
        for username, (_, _, _, team_roles, _) in story.IDENTITIES.items():
            for team, role in team_roles.items():
                s.member(teams[team], users[username], role)

        # Everyone else joins 1–3 teams; the story's admin situations are kept.
        team_names = list(story.TEAMS)
        for i, username in enumerate(people):
            picks = rng.sample(team_names, k=1 + i % 3)
            for team in picks:
                if any(r[0] == users[username] for r in db.conn.execute(
                        "SELECT user_id FROM team_members WHERE team_id=? AND user_id=?",
                        (teams[team], users[username]))):
                    continue
                if team in (story.SINGLE_ADMIN_TEAM, story.NO_ADMIN_TEAM):
                    role = "viewer" if i % 4 == 0 else "member"
                elif i % 7 == 0:
                    role = "admin"
                elif i % 9 == 4:
                    role = "custom"
                else:
                    role = rng.choice(["member", "member", "member", "viewer"])
                custom = roles["ml-ops-engineer"] if role == "custom" else None
                if role == "custom" and db.conn.execute(
                        "SELECT org_role FROM users WHERE id=?", (users[username],)
                ).fetchone()[0] != "member":
                    role, custom = "member", None
                s.member(teams[team], users[username], role, custom)
        # Teams other than the two story teams must have at least one admin.
        for team in team_names:
            if team in (story.SINGLE_ADMIN_TEAM, story.NO_ADMIN_TEAM):
                continue
            if not db.conn.execute("SELECT 1 FROM team_members WHERE team_id=? AND role='admin'",
                                   (teams[team],)).fetchone():
                s.member(teams[team], users["alice"], "admin")
        # An auditor with the custom role on the governance team.
        auditor = next(users[p] for p in people if not db.conn.execute(
            "SELECT 1 FROM team_members WHERE team_id=? AND user_id=?",
            (teams["ai-governance"], users[p])).fetchone() and db.conn.execute(
            "SELECT org_role='member' AND active FROM users WHERE id=?", (users[p],)).fetchone()[0])
        s.member(teams["ai-governance"], auditor, "custom", roles["auditor"])

        # Service accounts: one per busy team (team-scoped) and an org-scoped provisioner.
        for team, description in [("llm-platform-eng", "ci-bot: nightly fine-tune pipeline"),
                                  ("data-science-nlp", "eval-runner: scheduled evaluations"),
                                  ("product-ai-agents", "deploy-bot: release automation")]:
            username = description.split(":")[0]
            sa = s.service_account(org_id, username, description, "team", teams[team])
            s.member(teams[team], sa, "member")
        provisioner = s.service_account(org_id, "org-provisioner",
                                        "org-provisioner: SCIM sync from the IdP", "org", None)

        # Pending invites, some stale.
        s.invite(teams["data-science-nlp"], f"dave@{story.EMAIL_DOMAIN}", users["bob"], 21)
        s.invite(teams["product-ai-agents"], f"new.hire@{story.EMAIL_DOMAIN}", users["alice"], 2)
        s.invite(teams["llm-platform-eng"], "contractor@partner-labs.io", users["alice"], 45)

        # Projects and runs.
        projects = _projects_and_runs(s, teams, users, people)
        touch_projects(db)
        runs_without_stats(db, now)
        seed_run_tickets(db)

        # Registries with collections, versions, aliases and pending promotions.
        _registries(s, org_id, org_entity, teams, users, projects, provisioner)
        seed_history(db, seed, now, DEMO_HISTORY, "demo")


def _projects_and_runs(s: Seeder, teams: dict[str, int], users: dict[str, int],
                       people: list[str]) -> dict[tuple[str, str], int]:
    rng, now, conn = s.rng, s.now, s.db.conn
    projects: dict[tuple[str, str], int] = {}
    for team, names in story.TEAMS.items():
        member_ids = [r[0] for r in conn.execute(
            "SELECT user_id FROM team_members WHERE team_id=? ORDER BY seq", (teams[team],))]
        for j, name in enumerate(names):
            created = now - rng.randint(95, 400) * DAY
            access = "PRIVATE" if j % 3 else "ENTITY_READ"
            if name in ("red-team-evals", "toxicity-audits"):
                access = "RESTRICTED"
            pid = s.insert("projects", entity_id=teams[team], name=name,
                           description=f"{name.replace('-', ' ').capitalize()} ({team})",
                           access=access, owner_id=member_ids[0],
                           storage_bytes=rng.randint(1, 400) * 1_000_000_000,
                           created_at=created, updated_at=now - rng.randint(0, 20) * DAY)
            projects[(team, name)] = pid
            n_runs = rng.randint(6, 40)
            rows = []
            for k in range(n_runs):
                start = now - rng.randint(0, 90 * DAY)
                gpus = rng.choice([0, 1, 1, 2, 4, 8, 8])
                runtime = rng.randint(5 * 60, 30 * HOUR) if gpus else rng.randint(60, 2 * HOUR)
                state = rng.choices(["finished", "failed", "crashed", "killed"],
                                    weights=[80, 10, 6, 4])[0]
                if start + runtime > now or (now - start < 6 * HOUR and rng.random() < 0.3):
                    state, runtime = "running", now - start
                lr = round(10 ** rng.uniform(-5, -3), 7)
                rows.append((
                    s.new_id("runs"), pid, s.run_name(), s.display_name(k + 1), state,
                    rng.choice(member_ids), start, start + runtime, runtime, gpus,
                    rng.choice(story.GPU_TYPES) if gpus else None,
                    rng.choice([None, "sweep-a", "baseline", "ablation"]),
                    rng.choice(["train", "eval", "train", "preprocess"]),
                    json.dumps(rng.sample(["baseline", "lora", "qlora", "bf16", "prod-candidate",
                                           "ablation", "long-context"], k=rng.randint(0, 2))),
                    json.dumps({"learning_rate": lr, "batch_size": rng.choice([8, 16, 32, 64]),
                                "epochs": rng.randint(1, 5), "model": rng.choice(
                                    ["llama-3-8b", "llama-3-70b", "mistral-7b", "bge-large"])}),
                    json.dumps({"loss": round(rng.uniform(0.05, 2.0), 4),
                                "accuracy": round(rng.uniform(0.7, 0.96), 4),
                                "_runtime": runtime, "_step": rng.randint(100, 20_000)}),
                ))
            conn.executemany(
                "INSERT INTO runs (id, project_id, name, display_name, state, user_id,"
                " created_at, heartbeat_at, runtime_s, gpu_count, gpu_type, group_name, job_type,"
                " tags, config, summary) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", rows)
    return projects


def runs_without_stats(db: Database, now: int) -> None:
    """Some runs were logged with system-stats sampling off: no `system.*` samples, and an
    uploaded `wandb-metadata.json`; every second one also lacks the GPU facts (machine info
    off too). Rows are only added (a project's first three runs are never picked), so
    nothing the other screens show moves. Chosen by id, not by the seed's random stream."""
    from .gql.files import METADATA, synthesized_metadata

    rows = db.conn.execute(
        "SELECT r.* FROM runs r WHERE r.id % 19 = 4 AND (SELECT COUNT(*) FROM runs o "
        "WHERE o.project_id = r.project_id AND o.id < r.id) >= 3 ORDER BY r.id").fetchall()
    for i, run in enumerate(rows):
        meta = synthesized_metadata(db, run)
        if i % 2:
            for key in ("gpu", "gpu_type", "gpu_nvidia", "gpu_count", "cpu_count",
                        "cpu_count_logical"):
                meta.pop(key, None)
        db.conn.execute("INSERT OR IGNORE INTO run_files (run_id, name, content, mimetype,"
                        " created_at) VALUES (?, ?, ?, 'application/json', ?)",
                        (run["id"], METADATA, json.dumps(meta, indent=2).encode(),
                         min(now, run["created_at"] + 60)))


def touch_projects(db: Database) -> None:
    """A project's updatedAt follows its newest run's heartbeat, as logging a run does."""
    db.conn.execute(
        "UPDATE projects SET updated_at = MAX(updated_at, COALESCE("
        "(SELECT MAX(heartbeat_at) FROM runs WHERE runs.project_id = projects.id), 0))")


def _registries(s: Seeder, org_id: int, org_entity: int, teams: dict[str, int],
                users: dict[str, int], projects: dict[tuple[str, str], int],
                provisioner: int) -> None:
    rng, now, conn = s.rng, s.now, s.db.conn
    registry_ids: dict[str, int] = {}
    for name, (description, visibility, protected) in story.REGISTRIES.items():
        registry_ids[name] = s.insert(
            "projects", entity_id=org_entity, name=f"wandb-registry-{name}",
            description=description,
            access="PRIVATE" if visibility == "organization" else "RESTRICTED",
            owner_id=users["alice"], is_registry=1, allow_all_types=0,
            artifact_types=json.dumps([name]), protected_aliases=json.dumps(protected),
            created_at=now - 300 * DAY, updated_at=now - 10 * DAY)
    # Registry roles of the named identities, and of two teams.
    for username, (_, _, _, _, reg_roles) in story.IDENTITIES.items():
        for reg, role in reg_roles.items():
            conn.execute("INSERT INTO project_members VALUES (?, ?, ?)",
                         (registry_ids[reg], users[username], role))
    conn.execute("INSERT INTO project_team_members VALUES (?, ?, ?)",
                 (registry_ids["model"], teams["llm-platform-eng"], "member"))
    conn.execute("INSERT INTO project_team_members VALUES (?, ?, ?)",
                 (registry_ids["dataset"], teams["data-science-nlp"], "member"))

    pending = {(c, v): (t, who, why, ticket)
               for c, v, t, who, why, ticket in story.PENDING_PROMOTIONS}
    for registry, collections, type_name in [("model", story.MODEL_COLLECTIONS, "model"),
                                             ("dataset", story.DATASET_COLLECTIONS, "dataset")]:
        for cname, (team, project, n_versions) in collections.items():
            pid = projects[(team, project)]
            seq_id = s.insert("artifact_collections", project_id=pid, type_name=type_name,
                              name=cname, kind="SEQUENCE",
                              description=f"{cname} as logged by {project}",
                              created_at=now - 120 * DAY, updated_at=now - DAY)
            port_id = s.insert("artifact_collections", project_id=registry_ids[registry],
                               type_name=type_name, name=cname, kind="PORTFOLIO",
                               description=f"{cname.replace('-', ' ')} ({team})",
                               tags=json.dumps([team]), created_at=now - 110 * DAY,
                               updated_at=now - DAY)
            run_rows = conn.execute(
                "SELECT id FROM runs WHERE project_id=? ORDER BY created_at", (pid,)).fetchall()
            accuracy = 0.86
            art_ids = []
            holds = _model_holders(n_versions)
            for v in range(n_versions):
                created = now - (n_versions - v) * rng.randint(3, 9) * DAY
                accuracy = round(min(0.97, accuracy + rng.uniform(-0.004, 0.012)), 4)
                metadata: dict = {
                    "metrics": {"accuracy": accuracy,
                                "f1": round(accuracy - rng.uniform(0.01, 0.03), 4)},
                    "eval": {"toxicity": round(rng.uniform(0.001, 0.02), 4),
                             "latency_p95_ms": rng.randint(80, 400)},
                    "framework": "transformers",
                }
                tags: list[str] = []
                if registry == "model" and (alias := holds.get(v)):
                    metadata["wbadmin"] = {"promotion": _approved(cname, v, alias, created,
                                                                  now)}
                if (cname, v) in pending:
                    target, who, why, ticket = pending[(cname, v)]
                    request = {"target": target, "requested_by": who,
                               "requested_at": _iso(now - rng.randint(5, 60) * HOUR),
                               "comment": why, "status": "pending", "approvals": [],
                               "history": []}
                    if ticket:
                        request["ticket"] = ticket
                    metadata["wbadmin"] = {"promotion": request}
                    tags.append(f"promote-to-{target}")
                run_id = run_rows[min(v, len(run_rows) - 1)][0] if run_rows else None
                digest = hashlib.sha256(f"{cname}:{v}".encode()).hexdigest()[:32]
                art = s.insert("artifacts", sequence_id=seq_id, version_index=v, digest=digest,
                               description=f"{cname} v{v}", metadata=json.dumps(metadata),
                               size=rng.randint(50, 16_000) * 1_000_000,
                               file_count=rng.randint(2, 12), created_by_run_id=run_id,
                               commit_hash=digest[:12], created_at=created, updated_at=created)
                art_ids.append(art)
                for tag in tags:
                    s.insert("artifact_tags", artifact_id=art, name=tag)
                s.insert("memberships", collection_id=seq_id, artifact_id=art, version_index=v,
                         created_at=created)
                s.insert("memberships", collection_id=port_id, artifact_id=art,
                         version_index=v, created_at=created + HOUR)
            # Aliases: latest on both; production/staging on the registry collection.
            for coll in (seq_id, port_id):
                s.insert("aliases", collection_id=coll, artifact_id=art_ids[-1], alias="latest")
            protected = story.REGISTRIES[registry][2]
            if registry == "model":
                prod = max(0, n_versions - 3)
                moved, alias, to = story.OUTSIDE_WORKFLOW
                if cname == moved and alias == "production":
                    prod = to  # moved through the SDK: the record stays on the old holder
                s.insert("aliases", collection_id=port_id, artifact_id=art_ids[prod],
                         alias="production")
                staging = art_ids[-2 if n_versions > 1 else -1]
                s.insert("aliases", collection_id=port_id, artifact_id=staging, alias="staging")
            else:
                s.insert("aliases", collection_id=port_id, artifact_id=art_ids[-1],
                         alias=protected[0])


def _model_holders(n_versions: int) -> dict[int, str]:
    """The versions the workflow promoted, by index: production three back, staging two."""
    out = {max(0, n_versions - 3): "production"}
    out.setdefault(n_versions - 2 if n_versions > 1 else n_versions - 1, "staging")
    return out


def _approved(collection: str, version: int, alias: str, created: int, now: int) -> dict:
    """An approved promotion record (wbadmin's format, see promotions/record.py), dated a day
    and two after the version was made; no random draws, so nothing else in the seed moves."""
    requester, approver = story.APPROVED_PROMOTIONS[collection]
    asked, decided = _iso(min(now, created + DAY)), _iso(min(now, created + 2 * DAY))
    rid = hashlib.sha256(f"promotion:{collection}:{version}".encode()).hexdigest()[:12]
    comment = f"promote v{version} to {alias}"
    return {
        "id": rid, "revision": 2, "writer": rid[:8], "target": alias,
        "requested_by": requester, "requested_at": asked, "comment": comment,
        "status": "approved", "approvals": [{"by": approver, "at": decided, "comment": ""}],
        "decided_by": approver, "decided_at": decided,
        **({"previous": f"v{version - 1}"} if version else {}),
        "history": [
            {"id": rid + "-1", "request": rid, "action": "request", "by": requester,
             "at": asked, "target": alias, "comment": comment},
            {"id": rid + "-2", "request": rid, "action": "approve", "by": approver,
             "at": decided, "target": alias},
            {"id": rid + "-3", "request": rid, "action": "promote", "by": approver,
             "at": decided, "target": alias, "to": f"v{version}"}]}


def _iso(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


PRESETS = ("demo", "large", "huge")


def seed_preset(db: Database, preset: str = "demo", seed: int = 0, now: int | None = None,
                deployment: str = "dedicated") -> None:
    """Fill an empty database with one of the presets."""
    if preset == "demo":
        seed_demo(db, seed=seed, now=now, deployment=deployment)
    elif preset in ("large", "huge"):
        from .seed_scale import seed_scale

        seed_scale(db, preset, seed=seed, now=now, deployment=deployment)
    else:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
