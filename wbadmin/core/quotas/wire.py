"""What quotas ask W&B, and how a run's answer becomes a `RunFact`.

Only fields and arguments W&B's own SDK sends: `Entity.projects(filters, order, first, after)`
(the SDK's registry search), `Project.runs(filters, order, first, after)` with Mongo-style
JSON filters on `createdAt`, `heartbeatAt`, `state` and `name` (the SDK's `Runs`), the run's
`systemMetrics` (RunFragment) and its `wandb-metadata.json` file (`run.metadata`). W&B has no
runtime or GPU field: runtime is heartbeatAt − createdAt, GPUs are the distinct
`system.gpu.<i>.*` indices in systemMetrics, else `gpu_count` in the metadata file.
Many teams or projects share one request through field aliases (`batched`); an incremental
refresh asks for a team's changed projects and their new runs in one nesting of the two.
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any

from ..wire_time import parse_time
from .store import RunFact

PROJECTS_SELECTION = """
    projects(filters: $FILTERS, order: "-updated_at", first: $FIRST, after: $AFTER) {
      pageInfo { endCursor hasNextPage }
      edges { node { name updatedAt } }
    }
"""

STORAGE_SELECTION = " name storageBytes "

# `tags` and `config` (RunFragment's) are for run policies (governance): one reader for both.
RUN_FIELDS = ("name displayName state createdAt heartbeatAt user { username } systemMetrics "
              "tags config")

RUNS_SELECTION = f"""
    runs(filters: $FILTERS, order: "+created_at", first: $FIRST, after: $AFTER) {{
      edges {{ node {{ {RUN_FIELDS} }} cursor }}
      pageInfo {{ hasNextPage }}
    }}
"""

# A team's projects updated since, each with its runs created or heart-beating since: the
# two questions of an incremental refresh in one request per few teams.
CHANGES_SELECTION = f"""
    projects(filters: $PFILTERS, order: "-updated_at", first: $FIRST, after: $AFTER) {{
      pageInfo {{ endCursor hasNextPage }}
      edges {{ node {{ name updatedAt
        runs(filters: $RFILTERS, order: "+created_at", first: $RUNS_FIRST) {{
          edges {{ node {{ {RUN_FIELDS} }} cursor }}
          pageInfo {{ hasNextPage }}
        }} }} }}
    }}
"""

METADATA_FILE = "wandb-metadata.json"
FILES_SELECTION = f"""
    run(name: $RUN) {{ files(names: ["{METADATA_FILE}"]) {{ edges {{ node {{ name url }} }} }} }}
"""

_GPU_KEY = re.compile(r"^system\.gpu\.(\d+)\.")
_SYSTEM_KEY = re.compile(r'"(system\.[^"\\]*)"\s*:')  # a key of the samples object
_GPU_KEY_TEXT = re.compile(r'"system\.gpu\.(\d+)\.[^"\\]*"\s*:')  # its GPU index


def iso(ts: float) -> str:
    """W&B's filter timestamp format (UTC, no zone)."""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%S")


def changes_filter(since: float, sweep: bool) -> dict[str, Any]:
    """An incremental refresh's runs of a changed project: those created since, and those
    that heart-beat since and are no longer running (they ended); on a sweep, every run
    that heart-beat since (the running ones' heartbeats, see `refresh`)."""
    moved: dict[str, Any] = {"heartbeatAt": {"$gt": iso(since)}}
    if not sweep:
        moved = {"$and": [moved, {"state": {"$ne": "running"}}]}
    return {"$or": [{"createdAt": {"$gt": iso(since)}}, moved]}


def batched(name: str, field: str, selection: str, calls: list[dict[str, Any]],
            arg_types: dict[str, str], inner: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """`field(args) { selection }` once per call under aliases r0, r1, ...

    `arg_types` are the field's own arguments; `inner` maps placeholders in `selection`
    (e.g. $FILTERS) to their GraphQL types, each call giving their values too. A
    placeholder with the same value in every call becomes one shared variable: the server
    then reads one filter per request, not one per alias."""
    params, parts, variables = [], [], {}
    shared: dict[str, str] = {}
    for placeholder, gql_type in inner.items():
        values = [call.get(placeholder) for call in calls]
        if values and all(v == values[0] for v in values):
            var = shared[placeholder] = f"s_{placeholder.lower()}"
            params.append(f"${var}: {gql_type}")
            variables[var] = values[0]
    for i, call in enumerate(calls):
        args = []
        for arg, gql_type in arg_types.items():
            params.append(f"$a{i}_{arg}: {gql_type}")
            args.append(f"{arg}: $a{i}_{arg}")
            variables[f"a{i}_{arg}"] = call.get(arg)
        body = selection
        for placeholder, gql_type in inner.items():
            var = shared.get(placeholder)
            if var is None:
                var = f"a{i}_{placeholder.lower()}"
                params.append(f"${var}: {gql_type}")
                variables[var] = call.get(placeholder)
            body = body.replace(f"${placeholder}", f"${var}")
        parts.append(f"  r{i}: {field}({', '.join(args)}) {{{body}  }}")
    return (f"query {name}({', '.join(params)}) {{\n" + "\n".join(parts) + "\n}\n", variables)


def gpus_from_system_metrics(raw: Any) -> int | None:
    """Distinct GPU indices among the `system.*` samples; None when there are no samples.

    W&B sends the samples as one JSON object in a string; its keys are read straight from
    the text (a refresh reads thousands of runs, and decoding each object cost more than
    the rest of the run together)."""
    if isinstance(raw, str):
        indices = _GPU_KEY_TEXT.findall(raw)
        if indices:
            return len(set(indices))
        return 0 if _SYSTEM_KEY.search(raw) else None
    if isinstance(raw, dict):
        keys = [str(k) for k in raw if str(k).startswith("system.")]
    else:
        return None
    if not keys:
        return None
    return len({m.group(1) for k in keys if (m := _GPU_KEY.match(k))})


def gpus_from_metadata(meta: Any) -> int | None:
    """`gpu_count` of a wandb-metadata.json (or its per-GPU lists); None when absent."""
    if not isinstance(meta, dict):
        return None
    count = meta.get("gpu_count")
    if isinstance(count, int) and not isinstance(count, bool) and count >= 0:
        return count
    for key in ("gpu_nvidia", "gpu_amd", "gpu_apple"):
        if isinstance(meta.get(key), list):
            return len(meta[key])
    return None


def run_fact(team: str, project: str, node: dict[str, Any]) -> RunFact | None:
    """A RunFact from a run node; None when the node lacks its times (not W&B's shape)."""
    created = parse_time(node.get("createdAt"))
    if created is None or not node.get("name"):
        return None
    heartbeat = parse_time(node.get("heartbeatAt")) or created
    gpus = gpus_from_system_metrics(node.get("systemMetrics"))
    return RunFact(team=team, project=project, name=node["name"],
                   display_name=node.get("displayName"),
                   username=(node.get("user") or {}).get("username"),
                   state=str(node.get("state") or "finished"),
                   created_at=float(int(created)), heartbeat_at=float(int(max(heartbeat, created))),
                   gpus=gpus or 0, gpu_known=gpus is not None,
                   tags=_tags(node), config_keys=config_keys(node.get("config")))


def _tags(node: dict[str, Any]) -> tuple[str, ...] | None:
    if "tags" not in node:
        return None  # not asked (a server without the field: wire_strip left it out)
    tags = node.get("tags") or []
    if type(tags) is not list:
        return None
    # W&B sends strings; anything else is made one (and is rare enough to cost nothing).
    # `join` checks that every item is a string at C speed (a generator per run cost half
    # a second of a huge org's read).
    try:
        "".join(tags)
    except TypeError:
        return tuple(str(t) for t in tags)
    return tuple(tags)


def config_keys(config: Any) -> tuple[str, ...] | None:
    """The top-level keys of a run's config (W&B sends it as a JSON string of
    `{key: {value, desc}}`); W&B's own `_wandb` key is not the run's."""
    if config is None:
        return None
    if isinstance(config, str):
        return _keys_of_text(config)
    if not isinstance(config, dict):
        return None
    return tuple(sorted(k for k in config if k != "_wandb"))


@functools.lru_cache(maxsize=4096)
def _keys_of_text(text: str) -> tuple[str, ...] | None:
    # Runs of one sweep or script send the same config text, so each distinct text is
    # decoded once; a huge org's runs still send some 200,000, so by orjson (a third of
    # `json`'s time), and by `json` what orjson refuses (NaN, as a script's config may hold).
    import orjson

    try:
        config = orjson.loads(text) if text.strip() else {}
    except ValueError:
        try:
            config = json.loads(text)
        except ValueError:
            return None
    return config_keys(config) if isinstance(config, dict) else None
