"""A report template, the teams' projects and wbadmin's figures as the plain JSON a W&B report
is built from (`build_wandb.py`, in the library worker): what crosses the process boundary.

The spec::

    {"entity": ..., "project": ..., "title": ..., "description": ...,   # with the marker
     "blocks": [{"kind": "markdown", "text": ...},
                {"kind": "panels", "runsets": [{"entity", "project", "filters"}],
                 "panels": [{"kind", "title", "metrics", "x"}]}]}

A figures block is already markdown here: the figures come from wbadmin's read model, which
the worker never sees.

The marker `[wbadmin:report=NAME content=HASH]` at the end of the description is how a
published report is found again among a project's views, so publishing again updates it even
when the local cache is gone; HASH (of the title and blocks) is how a re-read tells that W&B
holds what was sent.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from typing import Any

from .model import Block, ReportTemplate

MARKER_RE = re.compile(r"\[wbadmin:report=([A-Za-z0-9_.-]+)(?: content=([0-9a-f]+))?\]")
# How many projects one panel grid shows: one Runset each (W&B's own UI gets slow beyond).
MAX_RUNSETS = 20


def marker(template: str, content: str) -> str:
    return f"[wbadmin:report={template} content={content}]"


def read_marker(description: str | None) -> tuple[str | None, str | None]:
    """(template, content hash) a view's description names in its marker ((None, None):
    not wbadmin's)."""
    found = MARKER_RE.search(description or "")
    return (found.group(1), found.group(2)) if found else (None, None)


def content_hash(title: str, blocks: list[dict[str, Any]]) -> str:
    text = json.dumps({"title": title, "blocks": blocks}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def described(template: ReportTemplate, content: str) -> str:
    text = template.description.strip()
    mark = marker(template.name, content)
    return f"{text}\n\n{mark}" if text else mark


def _panels(block: Block) -> list[dict[str, Any]]:
    return [{"kind": p.kind, "title": p.title, "metrics": list(p.metrics), "x": p.x}
            for p in block.panels]


def build_spec(template: ReportTemplate, *, entity: str, project: str, title: str,
               projects: Sequence[tuple[str, str]],
               figures_markdown: Callable[[Sequence[str]], str]) -> dict[str, Any]:
    """The report as JSON. `projects`: (team, project) of the teams' projects, one runset
    each per panel grid (first MAX_RUNSETS); `figures_markdown(names)`: the figures named."""
    blocks: list[dict[str, Any]] = []
    for block in template.blocks:
        if block.kind == "markdown":
            blocks.append({"kind": "markdown", "text": block.text.strip()})
        elif block.kind == "figures":
            blocks.append({"kind": "markdown", "text": figures_markdown(block.figures)})
        elif block.kind == "panels":
            runs = template.runs_filter(block).strip()
            runsets = [{"entity": team, "project": name, "filters": runs}
                       for team, name in projects[:MAX_RUNSETS]]
            blocks.append({"kind": "panels", "runsets": runsets, "panels": _panels(block)})
    content = content_hash(title, blocks)
    return {"entity": entity, "project": project, "title": title, "content": content,
            "description": described(template, content), "blocks": blocks,
            "projects_total": len(projects)}
