"""Run files: the `Run.files` connection and the bytes behind `GET /files/<Run id>/<name>`.

A run's files are its `run_files` rows plus a `wandb-metadata.json` synthesized from the run
row when none is stored (the sandbox has no uploads): GPU count and type, host, OS, Python,
program, start and heartbeat times and runtime, in the keys the SDK writes. `Run.systemMetrics`
holds the latest `system.*` samples (one `system.gpu.<i>.*` group per GPU). wbadmin's GPU-hour
quotas read exactly these, as they would on W&B.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from typing import Any

from .. import ids
from ..auth import Identity, project_role
from ..db import Database
from .context import Context
from .paging import connection, page_bounds

METADATA = "wandb-metadata.json"


def _iso_z(ts: int) -> str:
    from .resolvers_projects import iso

    return f"{iso(ts)}.000000Z"


def host_of(run: Any) -> str:
    """A stable host name per run (the seed records no hosts; W&B shows one per run)."""
    digest = int(hashlib.sha256(f"{run['project_id']}:{run['name']}".encode()).hexdigest(), 16)
    pool = "gpu" if run["gpu_count"] else "cpu"
    return f"{pool}-node-{digest % 48:02d}"


def synthesized_metadata(db: Database, run: Any) -> dict[str, Any]:
    """`wandb-metadata.json` as the SDK writes it, derived from the run row."""
    user = db.one("SELECT username, email FROM users WHERE id = ?", (run["user_id"],))
    gpus = int(run["gpu_count"] or 0)
    meta: dict[str, Any] = {
        "os": "Linux-5.15.0-105-generic-x86_64-with-glibc2.35",
        "python": "CPython 3.11.9",
        "startedAt": _iso_z(run["created_at"]),
        "heartbeatAt": _iso_z(run["heartbeat_at"]),
        "program": f"{run['job_type'] or 'train'}.py",
        "codePath": f"{run['job_type'] or 'train'}.py",
        "args": [],
        "host": host_of(run),
        "username": user["username"] if user else None,
        "email": user["email"] if user else None,
        "executable": "/usr/bin/python3",
        "cpu_count": 32 if gpus else 8,
        "cpu_count_logical": 64 if gpus else 16,
        "gpu_count": gpus,
        "runtime": int(run["runtime_s"]),
        "state": run["state"],
    }
    if gpus:
        meta["gpu"] = run["gpu_type"]
        meta["gpu_type"] = run["gpu_type"]
        meta["gpu_nvidia"] = [{"name": run["gpu_type"]} for _ in range(gpus)]
    return meta


def _stored_metadata(db: Database, run_pk: int) -> Any:
    return db.one("SELECT content FROM run_files WHERE run_id = ? AND name = ?",
                  (run_pk, METADATA))


# The samples, as functions of one byte of the run's digest: the run's 7 host metrics read
# bytes 0-6; GPU i reads byte 7 + i for its 5 metrics.
_HOST_METRICS: list[tuple[str, Any]] = [
    ("system.cpu", lambda b: round(5 + b / 255 * 60, 1)),
    ("system.memory", lambda b: round(10 + b / 255 * 70, 1)),
    ("system.disk", lambda b: round(20 + b / 255 * 50, 1)),
    ("system.proc.memory.rssMB", lambda b: round(800 + b * 40.0, 1)),
    ("system.proc.cpu.threads", lambda b: 16 + b % 48),
    ("system.network.sent", lambda b: 1_000_000 * (1 + b)),
    ("system.network.recv", lambda b: 1_000_000 * (1 + b)),
]
_GPU_METRICS: list[tuple[str, Any]] = [
    ("gpu", lambda b: round(40 + b / 255 * 59, 1)),
    ("memory", lambda b: round(20 + b / 255 * 70, 1)),
    ("memoryAllocated", lambda b: round(30 + b / 255 * 65, 1)),
    ("temp", lambda b: 45 + b % 35),
    ("powerWatts", lambda b: round(120 + b * 1.9, 1)),
]
# Each sample's JSON text for each byte value, made once: a page of 500 runs would
# otherwise compute and encode 6,000 numbers.
_HOST_TEXT = [[f'"{key}":{json.dumps(fn(b))}' for b in range(256)] for key, fn in _HOST_METRICS]
_GPU_TEXT = [(name, [json.dumps(fn(b)) for b in range(256)]) for name, fn in _GPU_METRICS]
_GPU_BLOCKS: dict[int, list[str]] = {}  # GPU index -> its samples' text for each byte


def _gpu_block(i: int, b: int) -> str:
    blocks = _GPU_BLOCKS.get(i)
    if blocks is None:
        blocks = _GPU_BLOCKS[i] = [
            ",".join(f'"system.gpu.{i}.{name}":{values[byte]}' for name, values in _GPU_TEXT)
            for byte in range(256)]
    return blocks[b]


def system_metrics_json(db: Database, run: Any, stored: bool | None = None) -> str:
    """The run's latest `system.*` samples as the JSON text W&B's `Run.systemMetrics` holds.

    A run whose `wandb-metadata.json` was uploaded (a stored `run_files` row) models a run
    logged with system-stats sampling off (`x_disable_stats`): W&B then has no samples, so
    this is empty and only the file (if it names them) tells the GPUs.
    """
    if stored if stored is not None else _stored_metadata(db, run["id"]) is not None:
        return "{}"
    digest = hashlib.sha256(f"sys:{run['id']}".encode()).digest()
    parts = [texts[digest[j]] for j, texts in enumerate(_HOST_TEXT)]
    parts += [_gpu_block(i, digest[(7 + i) % len(digest)])
              for i in range(int(run["gpu_count"] or 0))]
    return "{" + ",".join(parts) + "}"


def system_metrics(db: Database, run: Any, stored: bool | None = None) -> dict[str, Any]:
    """`system_metrics_json` as a dict."""
    return json.loads(system_metrics_json(db, run, stored))


def resolve_system_metrics(run: dict, info: Any) -> str:
    ctx = info.context
    row = run.get("_row") or _run_row(ctx.db, run["_pk"])
    if row is None:
        return "{}"
    stored = ctx.remember(("stored_metadata", row["id"]),
                          lambda: _stored_metadata(ctx.db, row["id"]) is not None)
    return system_metrics_json(ctx.db, row, stored)


def _run_files(db: Database, run: Any) -> list[dict[str, Any]]:
    """Every file of a run, by name: stored rows first, the synthesized metadata if absent."""
    files = [{"name": r["name"], "content": bytes(r["content"]), "mimetype": r["mimetype"],
              "updated": r["created_at"], "gid": ids.encode("File", r["id"])}
             for r in db.query("SELECT * FROM run_files WHERE run_id = ? ORDER BY name",
                               (run["id"],))]
    if not any(f["name"] == METADATA for f in files):
        content = json.dumps(synthesized_metadata(db, run), indent=2).encode()
        files.append({"name": METADATA, "content": content, "mimetype": "application/json",
                      "updated": run["created_at"],
                      "gid": base64.b64encode(f"File:{run['id']}:{METADATA}".encode()).decode()})
        files.sort(key=lambda f: f["name"])
    return files


def _file_node(ctx: Context, run: Any, f: dict[str, Any]) -> dict[str, Any]:
    url = f"{ctx.base_url}/files/{ids.encode('Run', run['id'])}/{f['name']}"
    return {
        "id": f["gid"],
        "name": f["name"],
        "displayName": f["name"].rsplit("/", 1)[-1],
        "url": url,
        "directUrl": url,
        "sizeBytes": len(f["content"]),
        "mimetype": f["mimetype"],
        "updatedAt": _iso_z(f["updated"]).split(".")[0],
        "md5": base64.b64encode(hashlib.md5(f["content"]).digest()).decode(),
    }


def _like(pattern: str) -> re.Pattern[str]:
    """MySQL LIKE (what `files(pattern:)` takes) as a regex: % any run, _ one character."""
    out = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile(f"^{out}$", re.IGNORECASE | re.DOTALL)


def _run_row(db: Database, run_pk: int) -> Any:
    return db.one("SELECT * FROM runs WHERE id = ?", (run_pk,))


def resolve_file_count(run: dict, info: Any) -> int:
    db = info.context.db
    row = _run_row(db, run["_pk"])
    return 0 if row is None else len(_run_files(db, row))


def resolve_files(run: dict, info: Any, names: list[str] | None = None,
                  pattern: str | None = None, after: str | None = None,
                  first: int | None = None, **_: Any) -> dict[str, Any]:
    ctx: Context = info.context
    row = _run_row(ctx.db, run["_pk"])
    files = [] if row is None else _run_files(ctx.db, row)
    if names:
        files = [f for f in files if f["name"] in set(names)]
    elif pattern:
        rx = _like(pattern)
        files = [f for f in files if rx.match(f["name"])]
    offset, limit = page_bounds(after, first)
    return connection(files[offset:offset + limit], offset, len(files),
                      lambda f: _file_node(ctx, row, f))


def resolve_file_url(file: dict, info: Any, upload: bool | None = None) -> str:
    return file["url"]


def file_content(db: Database, viewer: Identity, run_pk: int, name: str
                 ) -> tuple[bytes, str] | None:
    """(bytes, mimetype) of a run file the caller may read, else None (a 404)."""
    row = _run_row(db, run_pk)
    if row is None or project_role(db, row["project_id"], viewer) is None:
        return None
    for f in _run_files(db, row):
        if f["name"] == name:
            return f["content"], f["mimetype"]
    return None
