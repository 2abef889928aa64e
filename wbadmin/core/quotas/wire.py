"""What quotas ask W&B, and how a run's answer becomes a `RunFact`.

Only fields and arguments W&B's own SDK sends: `Entity.projects(filters, order, first, after)`
(the SDK's registry search), `Project.runs(filters, order, first, after)` with Mongo-style
JSON filters on `createdAt`, `heartbeatAt`, `state` and `name` (the SDK's `Runs`), the run's
`systemMetrics` (RunFragment) and its `wandb-metadata.json` file (`run.metadata`). W&B has no
runtime or GPU field: runtime is heartbeatAt − createdAt, GPUs are the distinct
`system.gpu.<i>.*` indices in systemMetrics, else `gpu_count` in the metadata file.
Many teams or projects share one request through field aliases (`queries.batched`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from ..sync import parse_time
from .store import RunFact

PROJECTS_SELECTION = """
    projects(filters: $FILTERS, order: "-updated_at", first: $FIRST, after: $AFTER) {
      pageInfo { endCursor hasNextPage }
      edges { node { name updatedAt } }
    }
"""

STORAGE_SELECTION = " name storageBytes "

RUNS_SELECTION = """
    runs(filters: $FILTERS, order: "+created_at", first: $FIRST, after: $AFTER) {
      edges { node { name displayName state createdAt heartbeatAt user { username }
                     systemMetrics } cursor }
      pageInfo { hasNextPage }
    }
"""

METADATA_FILE = "wandb-metadata.json"
FILES_SELECTION = f"""
    run(name: $RUN) {{ files(names: ["{METADATA_FILE}"]) {{ edges {{ node {{ name url }} }} }} }}
"""

_GPU_KEY = re.compile(r"^system\.gpu\.(\d+)\.")


def iso(ts: float) -> str:
    """W&B's filter timestamp format (UTC, no zone)."""
    from datetime import UTC, datetime

    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%S")


def batched(name: str, field: str, selection: str, calls: list[dict[str, Any]],
            arg_types: dict[str, str], inner: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """`field(args) { selection }` once per call under aliases r0, r1, ...

    `arg_types` are the field's own arguments; `inner` maps placeholders in `selection`
    (e.g. $FILTERS) to their GraphQL types, each call giving their values too."""
    params, parts, variables = [], [], {}
    for i, call in enumerate(calls):
        args = []
        for arg, gql_type in arg_types.items():
            params.append(f"$a{i}_{arg}: {gql_type}")
            args.append(f"{arg}: $a{i}_{arg}")
            variables[f"a{i}_{arg}"] = call.get(arg)
        body = selection
        for placeholder, gql_type in inner.items():
            var = f"a{i}_{placeholder.lower()}"
            params.append(f"${var}: {gql_type}")
            body = body.replace(f"${placeholder}", f"${var}")
            variables[var] = call.get(placeholder)
        parts.append(f"  r{i}: {field}({', '.join(args)}) {{{body}  }}")
    return (f"query {name}({', '.join(params)}) {{\n" + "\n".join(parts) + "\n}\n", variables)


def gpus_from_system_metrics(raw: Any) -> int | None:
    """Distinct GPU indices among the `system.*` samples; None when there are no samples."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw or "{}")
        except json.JSONDecodeError:
            return None
    if not isinstance(raw, dict) or not any(str(k).startswith("system.") for k in raw):
        return None
    return len({m.group(1) for k in raw if (m := _GPU_KEY.match(str(k)))})


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
                   gpus=gpus or 0, gpu_known=gpus is not None)
