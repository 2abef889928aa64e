"""Scale presets `large` and `huge`: the demo org grown to benchmark size.

Each preset starts from the demo story (same org, named identities, keys, registries and
pending promotions, so every test and `wbadmin sandbox keys` work on every preset) and then
bulk-adds generated people, teams, projects, runs and registry collections.

Everything follows from `seed` and `now`. Rows are generated as tuples and written with
`executemany` in one transaction; foreign-key checks and fsyncs are off during the load
(the generator keeps references valid itself), which keeps `huge` in seconds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from . import seed_data as story
from .db import Database
from .seed import DAY, HOUR, Seeder, api_key_for, key_name, seed_demo, touch_projects
from .seed_audit import Scope, seed_history
from .seed_governance import seed_run_tickets
from .seed_scale_artifacts import add_registry_content

# The team the TUI benchmark expands: 5,000 projects in `huge` (1,000 in `large`).
BIG_TEAM = "foundation-models"
# A team with many members (for member-list paging benchmarks).
CROWDED_TEAM = "research-guild"


@dataclass(frozen=True)
class Scale:
    users: int        # people in the org, demo people included
    teams: int        # teams, demo teams included
    projects: int     # team and personal projects, registries excluded
    runs: int         # runs, demo runs included
    big_team_projects: int
    crowded_team_members: int
    collections: int  # extra registry collections
    extra_registries: int
    audit: Scope      # the audit history of the rows the preset adds (90 days)


PRESET_SCALES: dict[str, Scale] = {
    "large": Scale(users=2_000, teams=200, projects=5_000, runs=100_000, big_team_projects=1_000,
                   crowded_team_members=400, collections=60, extra_registries=2,
                   audit=Scope(days=90, session_gap_days=5.0, reads_per_session=2,
                               role_change_share=0.15)),
    "huge": Scale(users=10_000, teams=500, projects=50_000, runs=1_000_000,
                  big_team_projects=5_000, crowded_team_members=2_000, collections=300,
                  extra_registries=6,
                  # Sparser sign-ins: 90 days stay under the reader's safety cap (200,000).
                  audit=Scope(days=90, session_gap_days=16.0, reads_per_session=2,
                              role_change_share=0.15)),
}

TEAM_AREAS = ["llm", "nlp", "vision", "speech", "search", "recsys", "fraud", "forecast",
              "robotics", "agents", "safety", "data", "infra", "eval", "growth", "ads",
              "maps", "pricing", "ranking", "genomics"]
TEAM_KINDS = ["research", "platform", "eng", "apps", "ops", "lab", "analytics", "core"]
PROJECT_TOPICS = ["finetune", "pretrain", "distill", "eval", "sweep", "ablation", "rlhf",
                  "embedding", "reranker", "classifier", "detector", "tokenizer", "quantize",
                  "serving", "benchmark", "dataset-audit", "lora", "dpo", "retrieval", "asr"]
STATES = ["finished"] * 80 + ["failed"] * 10 + ["crashed"] * 6 + ["killed"] * 4
GPU_CHOICES = [0, 0, 1, 1, 1, 2, 4, 8, 8]
JOB_TYPES = ["train", "eval", "train", "preprocess", "sweep"]
GROUPS = [None, None, "sweep-a", "baseline", "ablation", "nightly"]
RUN_TAGS = ["baseline", "lora", "qlora", "bf16", "prod-candidate", "ablation", "long-context"]
MODELS = ["llama-3-8b", "llama-3-70b", "mistral-7b", "bge-large", "qwen2-7b", "vit-l-16"]

# 32-bit odd multiplier: i -> (i * M + offset) mod 2**32 is a bijection, so run names
# (8 hex characters, like W&B run ids) never collide.
_RUN_NAME_MULT = 2_654_435_761


def seed_scale(db: Database, preset: str, seed: int = 0, now: int | None = None,
               deployment: str = "dedicated") -> None:
    """Fill an empty database with the `large` or `huge` preset."""
    if preset not in PRESET_SCALES:
        raise ValueError(f"unknown scale preset {preset!r}; choose large or huge")
    scale = PRESET_SCALES[preset]
    seed_demo(db, seed=seed, now=now, deployment=deployment)
    now = int(db.get_meta("seeded_at") or 0)
    s = Seeder(db, seed, now)
    # A separate stream from the demo's, so the demo part stays identical to `demo`.
    s.rng.seed(f"scale:{preset}:{seed}")
    with db.lock:
        conn = db.conn
        fk_on = conn.execute("PRAGMA foreign_keys").fetchone()[0]
        sync = conn.execute("PRAGMA synchronous").fetchone()[0]
        cache = conn.execute("PRAGMA cache_size").fetchone()[0]
        conn.execute("PRAGMA foreign_keys = OFF")
        conn.execute("PRAGMA synchronous = OFF")
        conn.execute("PRAGMA cache_size = -262144")  # 256 MiB while building indexes
        try:
            with db.transaction():
                _continue_ids(s)
                first_run = int(conn.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM runs")
                                .fetchone()[0])
                _grow(s, preset, scale)
                seed_run_tickets(db, first_run)
                touch_projects(db)
        finally:
            conn.execute(f"PRAGMA cache_size = {int(cache)}")
            conn.execute(f"PRAGMA synchronous = {int(sync)}")
            conn.execute(f"PRAGMA foreign_keys = {'ON' if fk_on else 'OFF'}")
        conn.execute("PRAGMA optimize")


def _continue_ids(s: Seeder) -> None:
    """New rows continue after the demo's ids."""
    conn = s.db.conn
    for table in ("entities", "users", "api_keys", "projects", "runs", "invites",
                  "artifact_collections", "artifacts", "memberships", "aliases",
                  "artifact_tags", "audit_log", "custom_roles"):
        s.next_id[table] = conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0]
    s.member_seq = conn.execute(
        "SELECT MAX(COALESCE((SELECT MAX(seq) FROM team_members), 0),"
        " COALESCE((SELECT MAX(seq) FROM invites), 0))").fetchone()[0]


def _take_ids(s: Seeder, table: str, n: int) -> range:
    first = s.next_id.get(table, 0) + 1
    s.next_id[table] = first + n - 1
    return range(first, first + n)


@dataclass
class _Org:
    id: int
    entity: int
    alice: int
    roles: dict[str, int]


def _grow(s: Seeder, preset: str, scale: Scale) -> None:
    conn = s.db.conn
    conn.execute("UPDATE meta SET value = ? WHERE key = 'preset'", (preset,))
    first = {table: s.next_id.get(table, 0) + 1 for table in ("users", "entities", "runs",
                                                              "artifacts")}
    org_id, org_entity = conn.execute("SELECT id, entity_id FROM orgs").fetchone()
    conn.execute("UPDATE orgs SET seats = ? WHERE id = ?", (scale.users + scale.users // 5, org_id))
    org = _Org(org_id, org_entity,
               conn.execute("SELECT id FROM users WHERE username = 'alice'").fetchone()[0],
               dict(conn.execute("SELECT name, id FROM custom_roles").fetchall()))
    people = _people(s, org, scale.users - conn.execute(
        "SELECT COUNT(*) FROM users WHERE account_type = 'USER'").fetchone()[0])
    teams = _teams(s, org, scale, people)
    projects = _projects(s, scale, teams, people)
    run_ranges = _runs(s, scale.runs - conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0],
                       projects)
    add_registry_content(s, org.id, org.entity, scale.collections, scale.extra_registries,
                         run_ranges)
    seed_history(s.db, s.seed, s.now, replace(scale.audit, first_user=first["users"],
                                              first_entity=first["entities"],
                                              first_run=first["runs"],
                                              first_artifact=first["artifacts"]), preset)


# ---- people --------------------------------------------------------------------------------

@dataclass
class _Person:
    id: int
    org_role: str
    active: bool


def _people(s: Seeder, org: _Org, n: int) -> list[_Person]:
    """n generated users, each with a personal entity and an API key."""
    rng, now, r = s.rng, s.now, s.rng.random
    firsts, lasts = story.FIRST_NAMES, story.LAST_NAMES
    entity_rows, user_rows, key_rows, people = [], [], [], []
    for eid, uid, kid in zip(_take_ids(s, "entities", n), _take_ids(s, "users", n),
                             _take_ids(s, "api_keys", n), strict=True):
        first, last = firsts[int(r() * len(firsts))], lasts[int(r() * len(lasts))]
        username = f"{first}.{last}{uid}".lower()
        roll = r()
        org_role = "admin" if roll < 0.01 else "viewer" if roll < 0.15 else "member"
        seat = "viewer" if org_role == "viewer" or r() < 0.05 else "full"
        active = r() >= 0.03  # about 3% deactivated
        created = now - rng.randint(30, 1_200) * DAY
        roll = r()
        if roll < 0.02:
            last_active = None  # never signed in
        elif roll < 0.8:
            last_active = now - int(r() * 30 * DAY)
        else:
            last_active = now - int((30 + r() * 300) * DAY)
        days_active = 0 if last_active is None else 1 + int(r() * 400)
        entity_rows.append((eid, username, "user", org.id, created))
        user_rows.append((uid, username, f"{first} {last}", f"{username}@{story.EMAIL_DOMAIN}",
                          eid, org.id, org_role, int(active), seat,
                          "viewer" if seat == "viewer" else "full", created, last_active,
                          days_active))
        key = api_key_for(s.seed, username)
        key_rows.append((kid, uid, key, key_name(key), "default", created))
        people.append(_Person(uid, org_role, active))
    conn = s.db.conn
    conn.executemany("INSERT INTO entities (id, name, kind, org_id, created_at)"
                     " VALUES (?,?,?,?,?)", entity_rows)
    conn.executemany(
        "INSERT INTO users (id, username, name, email, entity_id, org_id, org_role, active,"
        " models_seat, weave_role, created_at, last_active_at, days_active)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", user_rows)
    conn.executemany("INSERT INTO api_keys (id, user_id, key, name, description, created_at)"
                     " VALUES (?,?,?,?,?,?)", key_rows)
    return people


# ---- teams ---------------------------------------------------------------------------------

@dataclass
class _Team:
    id: int
    name: str
    members: list[int]  # in listing order (seq)


def _team_names(n: int) -> list[str]:
    names = [BIG_TEAM, CROWDED_TEAM]
    i = 0
    while len(names) < n:
        area, kind = TEAM_AREAS[i % len(TEAM_AREAS)], TEAM_KINDS[(i // len(TEAM_AREAS)) % 8]
        names.append(f"{area}-{kind}-{i // (len(TEAM_AREAS) * 8) + 1}")
        i += 1
    return names[:n]


def _teams(s: Seeder, org: _Org, scale: Scale, people: list[_Person]) -> list[_Team]:
    """New teams with members, admins (a few with none or one), service accounts, invites."""
    rng, now, r, conn = s.rng, s.now, s.rng.random, s.db.conn
    n_new = scale.teams - conn.execute(
        "SELECT COUNT(*) FROM entities WHERE kind = 'team'").fetchone()[0]
    names = _team_names(n_new)
    teams = [_Team(tid, name, []) for tid, name in zip(_take_ids(s, "entities", n_new), names,
                                                        strict=True)]
    conn.executemany(
        "INSERT INTO entities (id, name, kind, org_id, created_at) VALUES (?,?,?,?,?)",
        [(t.id, t.name, "team", org.id, now - rng.randint(60, 900) * DAY) for t in teams])

    # Memberships: 1-4 teams per person, popular teams first (a heavy tail of team sizes).
    weights = [1.0 / (rank + 1) ** 0.8 for rank in range(len(teams))]
    chosen: list[set[int]] = [set() for _ in teams]
    for p_index, _ in enumerate(people):
        k = 1 + (r() < 0.5) + (r() < 0.2) + (r() < 0.05)
        for t_index in rng.choices(range(len(teams)), weights=weights, k=k):
            chosen[t_index].add(p_index)
    chosen[1].update(rng.sample(range(len(people)), min(len(people), scale.crowded_team_members)))
    for picks in chosen:
        while len(picks) < 3:
            picks.add(rng.randrange(len(people)))

    rows = []
    for t_index, (team, picks) in enumerate(zip(teams, chosen, strict=True)):
        order = sorted(picks)
        rng.shuffle(order)
        # Every 25th team has no admin, every 10th exactly one; the rest one or more.
        no_admin, single_admin = t_index % 25 == 7, t_index % 10 == 3
        admins = 0
        for p_index in order:
            person = people[p_index]
            if person.org_role == "viewer":
                role = "viewer"
            elif not no_admin and (admins == 0 or (not single_admin and r() < 0.06)):
                role = "admin"
                admins += 1
            else:
                roll = r()
                role = "custom" if roll < 0.05 else "viewer" if roll < 0.17 else "member"
            custom = None
            if role == "custom":
                custom = org.roles["ml-ops-engineer" if r() < 0.7 else "auditor"]
            s.member_seq += 1
            rows.append((team.id, person.id, role, custom,
                         now - rng.randint(1, 600) * DAY, s.member_seq))
            team.members.append(person.id)
    # Alice administers the big team (the benchmark signs in as her).
    s.member_seq += 1
    rows.append((teams[0].id, org.alice, "admin", None, now - 200 * DAY, s.member_seq))
    teams[0].members.append(org.alice)
    conn.executemany("INSERT INTO team_members (team_id, user_id, role, custom_role_id,"
                     " joined_at, seq) VALUES (?,?,?,?,?,?)", rows)

    # Team service accounts on every fourth team; pending invites, a third of them stale.
    for team in teams[::4]:
        sa = s.service_account(org.id, f"{team.name}-bot", f"{team.name}-bot: CI pipeline",
                               "team", team.id)
        s.member(team.id, sa, "member")
        team.members.append(sa)
    for t_index, team in enumerate(teams[::3]):
        age = rng.randint(31, 120) if t_index % 3 == 0 else rng.randint(0, 10)
        email = (f"candidate{team.id}@{story.EMAIL_DOMAIN}" if t_index % 2
                 else f"contractor{team.id}@partner-labs.io")
        s.invite(team.id, email, team.members[0], age)
    return teams


# ---- projects ------------------------------------------------------------------------------

@dataclass
class _Project:
    id: int
    authors: list[int]  # who logs runs in it


def _projects(s: Seeder, scale: Scale, teams: list[_Team],
              people: list[_Person]) -> list[_Project]:
    """Team projects (the big team gets its share first) and some personal projects."""
    rng, now, r, conn = s.rng, s.now, s.rng.random, s.db.conn
    n_new = scale.projects - conn.execute(
        "SELECT COUNT(*) FROM projects WHERE is_registry = 0").fetchone()[0]
    n_personal = n_new // 50
    per_team = [0] * len(teams)
    per_team[0] = scale.big_team_projects
    rest = n_new - n_personal - scale.big_team_projects
    weights = [rng.paretovariate(1.5) for _ in teams[1:]]
    total = sum(weights)
    for i, w in enumerate(weights, start=1):
        per_team[i] = int(rest * w / total)
    for i in range(rest - sum(per_team[1:])):
        per_team[1 + i % (len(teams) - 1)] += 1

    owners: list[tuple[int, list[int], str]] = []  # (entity id, authors, entity name)
    for team, count in zip(teams, per_team, strict=True):
        owners += [(team.id, team.members, team.name)] * count
    active = [p for p in people if p.active]
    for p in rng.sample(active, n_personal):
        entity = conn.execute("SELECT entity_id, username FROM users WHERE id = ?",
                              (p.id,)).fetchone()
        owners.append((entity[0], [p.id], entity[1]))

    rows, restricted, projects = [], [], []
    storage: dict[int, int] = {}
    counter: dict[int, int] = {}
    topics = PROJECT_TOPICS
    for pid, (entity_id, authors, entity_name) in zip(
            _take_ids(s, "projects", len(owners)), owners, strict=True):
        counter[entity_id] = counter.get(entity_id, 0) + 1
        name = f"{topics[int(r() * len(topics))]}-{counter[entity_id]:04d}"
        roll = r()
        access = "RESTRICTED" if roll < 0.04 else "ENTITY_READ" if roll < 0.3 else "PRIVATE"
        owner = authors[int(r() * len(authors))]
        size = int(r() * r() * 500) * 1_000_000_000
        storage[entity_id] = storage.get(entity_id, 0) + size
        created = now - rng.randint(1, 700) * DAY
        rows.append((pid, entity_id, name, f"{name.replace('-', ' ')} ({entity_name})", access,
                     owner, size, created, max(created, now - rng.randint(0, 60) * DAY)))
        if access == "RESTRICTED":
            restricted.append((pid, owner, "admin"))
        projects.append(_Project(pid, authors))
    conn.executemany(
        "INSERT INTO projects (id, entity_id, name, description, access, owner_id,"
        " storage_bytes, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?)", rows)
    conn.executemany("INSERT INTO project_members VALUES (?, ?, ?)", restricted)
    conn.executemany("UPDATE entities SET storage_bytes = ? WHERE id = ?",
                     [(size, eid) for eid, size in storage.items()])
    return projects


# ---- runs ----------------------------------------------------------------------------------

def _run_counts(s: Seeder, projects: list[_Project], n: int) -> list[int]:
    """Runs per project: heavy-tailed, some projects empty, summing to n."""
    rng = s.rng
    weights = [0.0 if rng.random() < 0.1 else rng.paretovariate(1.3) for _ in projects]
    total = sum(weights) or 1.0
    counts = [int(n * w / total) for w in weights]
    busy = sorted(range(len(projects)), key=lambda i: -weights[i])
    for i in range(n - sum(counts)):
        counts[busy[i % len(busy)]] += 1
    return counts


def _runs(s: Seeder, n: int, projects: list[_Project]) -> dict[int, tuple[int, int]]:
    """n runs over 90 days, written project by project (ids and index order agree).

    Returns {project id: (first run id, run count)}.
    """
    if n <= 0:
        return {}
    rng, now, conn = s.rng, s.now, s.db.conn
    r, bits = rng.random, rng.getrandbits
    counts = _run_counts(s, projects, n)
    first_id = _take_ids(s, "runs", n).start
    offset = bits(32)
    # Pools indexed by slices of one 64-bit draw per run: a few draws per row, not fifteen.
    states = [STATES[i * 100 // 128] for i in range(128)]
    gpu_pool = [GPU_CHOICES[i * 9 // 16] for i in range(16)]
    names = [f"{rng.choice(story.RUN_ADJECTIVES)}-{rng.choice(story.RUN_NOUNS)}-"
             for _ in range(256)]
    gpu_types = [story.GPU_TYPES[i % 3] for i in range(4)]
    groups = [GROUPS[i * 6 // 8] for i in range(8)]
    jobs = [JOB_TYPES[i * 5 // 8] for i in range(8)]
    tags_pool = [json.dumps(rng.sample(RUN_TAGS, k=rng.randint(0, 2))) for _ in range(64)]
    config_pool = [json.dumps({"learning_rate": round(10 ** rng.uniform(-5, -3), 7),
                               "batch_size": rng.choice([8, 16, 32, 64]),
                               "epochs": rng.randint(1, 5), "model": rng.choice(MODELS)})
                   for _ in range(256)]
    summary_pool = [f'{{"loss": {rng.uniform(0.05, 2.0):.4f}, "accuracy":'
                    f' {rng.uniform(0.7, 0.96):.4f}, "_step": {rng.randint(100, 20_000)},'
                    f' "_runtime": ' for _ in range(256)]
    window, gpu_span, cpu_span = 90 * DAY, 30 * HOUR, 2 * HOUR
    sql = ("INSERT INTO runs (id, project_id, name, display_name, state, user_id, created_at,"
           " heartbeat_at, runtime_s, gpu_count, gpu_type, group_name, job_type, tags, config,"
           " summary) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)")
    run_id = first_id
    batch: list[tuple] = []
    ranges: dict[int, tuple[int, int]] = {}
    for project, count in zip(projects, counts, strict=True):
        ranges[project.id] = (run_id, count)
        pid, authors = project.id, project.authors
        n_authors = len(authors)
        starts = sorted(now - int(r() ** 1.6 * window) for _ in range(count))
        for k, start in enumerate(starts, start=1):
            x = bits(64)
            gpus = gpu_pool[x & 15]
            runtime = (300 + int(r() * gpu_span)) if gpus else (60 + int(r() * cpu_span))
            state = states[(x >> 4) & 127]
            if start + runtime > now or (now - start < 6 * HOUR and (x >> 11) & 3 == 0):
                state, runtime = "running", now - start
            batch.append((
                run_id, pid, f"{(run_id * _RUN_NAME_MULT + offset) & 0xFFFFFFFF:08x}",
                names[(x >> 13) & 255] + str(k), state, authors[((x >> 21) & 0xFFFF) % n_authors],
                start, start + runtime, runtime, gpus, gpu_types[(x >> 37) & 3] if gpus else None,
                groups[(x >> 39) & 7], jobs[(x >> 42) & 7], tags_pool[(x >> 45) & 63],
                config_pool[(x >> 51) & 255], summary_pool[(x >> 56) & 255] + f"{runtime}}}"))
            run_id += 1
        if len(batch) >= 50_000:
            conn.executemany(sql, batch)
            batch.clear()
    conn.executemany(sql, batch)
    return ranges


