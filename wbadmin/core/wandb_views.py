"""Operations on W&B views run inside the library worker (`core/wandb_library.py`): the only
code that builds `wandb_workspaces` objects. Imported by the worker alone, so the libraries
load there and nowhere else; every argument and result is plain JSON.

A workspace layout is `{"name": ..., "sections": [{"name", "open"?, "panels": [panel]}]}`;
a panel is `{"kind": "line", "y": [...], "x"?, "title"?}`, `{"kind": "bar", "metrics": [...]}`,
`{"kind": "scalar", "metric": ...}` or `{"kind": "scatter", "x": ..., "y": ...}` (the kinds
`onboarding/workspaces.py` checks a layout file against).
"""

from __future__ import annotations

from typing import Any

PANEL_KINDS = {"line": ("y",), "bar": ("metrics",), "scalar": ("metric",),
               "scatter": ("x", "y")}


def _panel(spec: dict[str, Any]) -> Any:
    import wandb_workspaces.reports.v2 as wr

    kind, title = spec["kind"], spec.get("title")
    if kind == "line":
        extra = {"x": spec["x"]} if spec.get("x") else {}
        return wr.LinePlot(title=title, y=list(spec["y"]), **extra)
    if kind == "bar":
        return wr.BarPlot(title=title, metrics=list(spec["metrics"]))
    if kind == "scalar":
        return wr.ScalarChart(title=title, metric=spec["metric"])
    if kind == "scatter":
        return wr.ScatterPlot(title=title, x=spec["x"], y=spec["y"])
    raise ValueError(f"unknown panel kind {kind!r}")


def save_workspace(entity: str, project: str, layout: dict[str, Any]) -> dict[str, str]:
    """Save `layout` as a new saved workspace (`project-view`) of entity/project."""
    import wandb_workspaces.workspaces as ws

    sections = [ws.Section(name=s["name"], is_open=bool(s.get("open", False)),
                           panels=[_panel(p) for p in s.get("panels", [])])
                for s in layout.get("sections", [])]
    saved = ws.Workspace(entity=entity, project=project, name=layout["name"],
                         sections=sections).save()
    return {"id": saved._internal_id, "name": saved._internal_name, "url": saved.url}


def load_workspace(url: str) -> dict[str, Any]:
    """The workspace at `url` as a layout (what `save_workspace` takes)."""
    import wandb_workspaces.workspaces as ws

    loaded = ws.Workspace.from_url(url)
    return {"name": loaded.name, "sections": [
        {"name": s.name, "open": s.is_open,
         "panels": [type(p).__name__ for p in s.panels]} for s in loaded.sections]}
