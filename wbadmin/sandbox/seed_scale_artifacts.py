"""Registry content for the scale presets: more registries, collections, versions, aliases
and pending promotions, shaped like the demo's (see `seed._registries`)."""

from __future__ import annotations

import hashlib
import json
import time

from .seed import DAY, HOUR, Seeder

# Extra registries: name -> (artifact type, protected aliases)
EXTRA_REGISTRIES: list[tuple[str, str, list[str]]] = [
    ("evals", "eval-results", ["production"]),
    ("prompts", "prompt", ["production", "staging"]),
    ("checkpoints", "checkpoint", ["production"]),
    ("reward-models", "model", ["production", "staging"]),
    ("tokenizers", "tokenizer", ["production"]),
    ("agents", "agent", ["production", "canary"]),
]
COLLECTION_STEMS = ["support-bot", "ranker", "embedder", "classifier", "summarizer", "guardrail",
                    "planner", "asr", "ocr", "router", "retriever", "judge"]


def _iso(ts: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def add_registry_content(s: Seeder, org_id: int, org_entity: int, n_collections: int,
                         n_extra_registries: int,
                         run_ranges: dict[int, tuple[int, int]]) -> None:
    """Extra registries and n_collections registry collections linked from team projects.

    run_ranges maps a project id to (first run id, run count) for the runs it holds.
    """
    rng, now, conn = s.rng, s.now, s.db.conn
    alice = conn.execute("SELECT id FROM users WHERE username = 'alice'").fetchone()[0]
    members = [tuple(row) for row in conn.execute(
        "SELECT id, username FROM users WHERE account_type = 'USER' AND active = 1"
        " AND org_role = 'member' AND username NOT IN ('bob', 'carol', 'grace')"
        " ORDER BY id LIMIT 400")]
    teams = [row[0] for row in conn.execute(
        "SELECT id FROM entities WHERE kind = 'team' ORDER BY id")]

    registries: list[tuple[int, str, list[str]]] = [
        (row[0], row[1], json.loads(row[2])) for row in conn.execute(
            "SELECT id, json_extract(artifact_types, '$[0]'), protected_aliases FROM projects"
            " WHERE is_registry = 1 ORDER BY id")]
    for name, type_name, protected in EXTRA_REGISTRIES[:n_extra_registries]:
        restricted = rng.random() < 0.3
        rid = s.insert("projects", entity_id=org_entity, name=f"wandb-registry-{name}",
                       description=f"Curated {type_name} artifacts",
                       access="RESTRICTED" if restricted else "PRIVATE", owner_id=alice,
                       is_registry=1, allow_all_types=0, artifact_types=json.dumps([type_name]),
                       protected_aliases=json.dumps(protected),
                       created_at=now - rng.randint(30, 300) * DAY, updated_at=now - DAY)
        admin, *others = rng.sample(members, 6)
        conn.execute("INSERT INTO project_members VALUES (?, ?, ?)", (rid, admin[0], "admin"))
        for uid, _ in others:
            conn.execute("INSERT INTO project_members VALUES (?, ?, ?)",
                         (rid, uid, rng.choice(["member", "viewer", "restricted_viewer"])))
        conn.execute("INSERT INTO project_team_members VALUES (?, ?, ?)",
                     (rid, rng.choice(teams), "member"))
        registries.append((rid, type_name, protected))

    sources = sorted(pid for pid, (_, count) in run_ranges.items() if count)
    for i in range(n_collections):
        # Half of the collections go to the model registry, the rest spread over the others.
        reg_id, type_name, protected = (registries[0] if rng.random() < 0.5
                                        else rng.choice(registries[1:]))
        pid = rng.choice(sources)
        cname = f"{rng.choice(COLLECTION_STEMS)}-{i + 1:04d}"
        _collection(s, reg_id, type_name, protected, pid, cname, run_ranges[pid], members)


def _collection(s: Seeder, registry_id: int, type_name: str, protected: list[str],
                project_id: int, cname: str, runs: tuple[int, int],
                members: list[tuple[int, str]]) -> None:
    rng, now = s.rng, s.now
    seq_id = s.insert("artifact_collections", project_id=project_id, type_name=type_name,
                      name=cname, kind="SEQUENCE", description=f"{cname} as logged",
                      created_at=now - 120 * DAY, updated_at=now - DAY)
    port_id = s.insert("artifact_collections", project_id=registry_id, type_name=type_name,
                       name=cname, kind="PORTFOLIO", description=cname.replace("-", " "),
                       tags=json.dumps(rng.sample(["nlp", "vision", "prod", "experimental"],
                                                  k=rng.randint(0, 2))),
                       created_at=now - 110 * DAY, updated_at=now - DAY)
    n_versions = rng.randint(1, 20)
    pending = n_versions > 1 and rng.random() < 0.12
    accuracy = round(rng.uniform(0.7, 0.88), 4)
    first_run, n_runs = runs
    art_ids = []
    for v in range(n_versions):
        created = now - (n_versions - v) * rng.randint(1, 4) * DAY
        accuracy = round(min(0.99, accuracy + rng.uniform(-0.004, 0.012)), 4)
        metadata: dict = {"metrics": {"accuracy": accuracy},
                          "eval": {"latency_p95_ms": rng.randint(40, 500)}}
        tags: list[str] = []
        if pending and v == n_versions - 1:
            target = "production" if "production" in protected else protected[0]
            username = rng.choice(members)[1]
            metadata["wbadmin"] = {"promotion": {
                "target": target, "requested_by": username,
                "requested_at": _iso(now - rng.randint(2, 96) * HOUR),
                "comment": f"v{v} improves accuracy to {accuracy}", "status": "pending",
                "approvals": [], "history": []}}
            tags.append(f"promote-to-{target}")
        digest = hashlib.sha256(f"{project_id}:{cname}:{v}".encode()).hexdigest()[:32]
        art = s.insert("artifacts", sequence_id=seq_id, version_index=v, digest=digest,
                       description=f"{cname} v{v}", metadata=json.dumps(metadata),
                       size=rng.randint(1, 16_000) * 1_000_000, file_count=rng.randint(1, 20),
                       created_by_run_id=first_run + min(v, n_runs - 1),
                       commit_hash=digest[:12], created_at=created, updated_at=created)
        art_ids.append(art)
        for tag in tags:
            s.insert("artifact_tags", artifact_id=art, name=tag)
        s.insert("memberships", collection_id=seq_id, artifact_id=art, version_index=v,
                 created_at=created)
        s.insert("memberships", collection_id=port_id, artifact_id=art, version_index=v,
                 created_at=created + HOUR)
    for coll in (seq_id, port_id):
        s.insert("aliases", collection_id=coll, artifact_id=art_ids[-1], alias="latest")
    # Protected aliases point at older versions (the newest awaits promotion).
    for k, alias in enumerate(protected):
        index = len(art_ids) - 2 - k
        if index >= 0:
            s.insert("aliases", collection_id=port_id, artifact_id=art_ids[index], alias=alias)
