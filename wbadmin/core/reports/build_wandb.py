"""Operations run inside the library worker (`core/wandb_library.py`): a report spec
(`publish_spec.py`, plain JSON) built into a `wandb_workspaces.reports.v2.Report` and saved,
or a saved one loaded back as JSON. Only the worker imports this module, so the library loads
there and nowhere else.

Panels: line → LinePlot(x, y), bar → BarPlot(metrics), scalar → ScalarChart(metric),
run_comparer → RunComparer, parallel_coordinates → ParallelCoordinatesPlot (a `config.NAME`
metric is a config column, any other a summary metric). A runset's `filters` is a
`wandb_workspaces.expr` string, which the library parses itself.
"""

from __future__ import annotations

from typing import Any


def _panel(spec: dict[str, Any]) -> Any:
    import wandb_workspaces.reports.v2 as wr

    kind, title, metrics = spec["kind"], spec.get("title") or None, list(spec.get("metrics") or [])
    if kind == "line":
        extra = {"x": spec["x"]} if spec.get("x") else {}
        return wr.LinePlot(title=title, y=metrics, **extra)
    if kind == "bar":
        return wr.BarPlot(title=title, metrics=metrics)
    if kind == "scalar":
        return wr.ScalarChart(title=title, metric=metrics[0])
    if kind == "run_comparer":
        return wr.RunComparer(diff_only="split")
    if kind == "parallel_coordinates":
        columns = [wr.ParallelCoordinatesPlotColumn(
            metric=wr.Config(m[len("config."):]) if m.startswith("config.") else m)
            for m in metrics]
        return wr.ParallelCoordinatesPlot(title=title, columns=columns)
    raise ValueError(f"unknown panel kind {kind!r}")


def _block(spec: dict[str, Any], entity: str, project: str) -> Any:
    import wandb_workspaces.reports.v2 as wr

    if spec["kind"] == "markdown":
        return wr.MarkdownBlock(text=spec.get("text") or "")
    runsets = [wr.Runset(entity=r["entity"], project=r["project"], name=r["project"],
                         **({"filters": r["filters"]} if r.get("filters") else {}))
               for r in spec.get("runsets") or []]
    if not runsets:  # no team project known: the report's own project
        runsets = [wr.Runset(entity=entity, project=project)]
    return wr.PanelGrid(runsets=runsets, panels=[_panel(p) for p in spec.get("panels") or []])


def build(spec: dict[str, Any]) -> Any:
    """The spec as an unsaved Report (the id set when it updates one)."""
    import wandb_workspaces.reports.v2 as wr

    entity, project = spec["entity"], spec["project"]
    report = wr.Report(entity=entity, project=project, title=spec["title"],
                       description=spec.get("description") or "",
                       blocks=[_block(b, entity, project) for b in spec.get("blocks") or []])
    if spec.get("id"):
        report.id = spec["id"]
    return report


def save_report(spec: dict[str, Any]) -> dict[str, str]:
    """Build and save; `spec["id"]` updates that report, else a new one is made (and, as
    `Report.save()` does, the project with it when it is missing)."""
    saved = build(spec).save()
    return {"id": saved.id, "url": saved.url, "title": saved.title}


def load_report(url: str) -> dict[str, Any]:
    """The report at `url`, as JSON: what a test or a check compares with the spec."""
    import wandb_workspaces.reports.v2 as wr

    loaded = wr.Report.from_url(url)
    blocks: list[dict[str, Any]] = []
    for block in loaded.blocks:
        if isinstance(block, wr.PanelGrid):
            blocks.append({"kind": "panels",
                           "runsets": [{"entity": r.entity, "project": r.project}
                                       for r in block.runsets],
                           "panels": [type(p).__name__ for p in block.panels]})
        else:
            blocks.append({"kind": type(block).__name__,
                           "text": getattr(block, "text", None)})
    return {"id": loaded.id, "title": loaded.title, "description": loaded.description,
            "entity": loaded.entity, "project": loaded.project, "blocks": blocks}
