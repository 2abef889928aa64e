"""Workspace layouts an onboarding template's project may name (`workspace = "llm-finetune"`).

A layout is data: `workspaces/<name>.toml`, shipped with wbadmin —

    name = "LLM fine-tuning"          # the workspace's name in W&B
    [[sections]]
    name = "Loss"
    open = true                       # expanded when the workspace opens (default false)
    panels = [{ kind = "line", y = ["train/loss", "eval/loss"], title = "Loss" }]

Panel kinds: `line` (y: metrics; x: the axis, default the step), `bar` (metrics), `scalar`
(metric), `scatter` (x, y). `core/wandb_views.py` builds them with wandb-workspaces; this
module only reads and checks, so a template is checked without loading W&B's libraries.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from .. import tomlfile
from ..settings import PolicyFileError
from ..wandb_views import PANEL_KINDS

LAYOUT_DIR = Path(__file__).with_name("workspaces")
OPTIONAL = {"title": str, "x": str}


class LayoutError(PolicyFileError):
    what = "workspace layout"


def layout_names() -> list[str]:
    return sorted(p.stem for p in LAYOUT_DIR.glob("*.toml"))


@functools.cache
def load_layout(name: str) -> dict[str, Any]:
    """The layout `name` as `wandb_views.save_workspace` takes it (KeyError: none such)."""
    path = LAYOUT_DIR / f"{name}.toml"
    if name not in layout_names():
        raise KeyError(name)
    text = path.read_text(encoding="utf-8")
    try:
        return _checked(tomlfile.loads(text), path, text.splitlines())
    except tomlfile.TomlSyntaxError as exc:
        raise LayoutError(path, exc.reason, exc.line) from None


def _checked(data: dict[str, Any], path: Path, lines: list[str]) -> dict[str, Any]:
    def fail(reason: str, table: str | None = None, key: str | None = None) -> LayoutError:
        return LayoutError(path, reason, tomlfile.line_of(lines, table, key))

    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        raise fail("`name` (the workspace's name in W&B) is required", None, "name")
    sections = data.get("sections")
    if not isinstance(sections, list) or not sections:
        raise fail("a layout needs [[sections]], each with a name and panels")
    out = []
    for i, section in enumerate(sections):
        where = f"sections[{i}]"
        if not isinstance(section.get("name"), str) or not section["name"].strip():
            raise fail(f"{where}: `name` is required", "sections", "name")
        panels = [_panel(p, f"{where}.panels[{j}]", fail)
                  for j, p in enumerate(section.get("panels", []))]
        out.append({"name": section["name"].strip(), "open": bool(section.get("open", False)),
                    "panels": panels})
    return {"name": name.strip(), "sections": out}


def _panel(panel: Any, where: str, fail: Any) -> dict[str, Any]:
    kind = panel.get("kind") if isinstance(panel, dict) else None
    if kind not in PANEL_KINDS:
        raise fail(f"{where}: kind {kind!r}; one of {', '.join(PANEL_KINDS)}", "sections",
                   "panels")
    out = {"kind": kind}
    for key in PANEL_KINDS[kind]:
        value = panel.get(key)
        plural = key in ("y", "metrics") and kind in ("line", "bar")
        good = (isinstance(value, list) and value and all(isinstance(v, str) for v in value)
                if plural else isinstance(value, str) and value)
        if not good:
            what = "a list of metric names" if plural else "a metric name"
            raise fail(f"{where}: `{key}` must be {what}", "sections", "panels")
        out[key] = value
    for key, kind_of in OPTIONAL.items():
        if key in panel:
            if not isinstance(panel[key], kind_of):
                raise fail(f"{where}: `{key}` must be a string", "sections", "panels")
            out[key] = panel[key]
    return out
