"""Report templates: the shipped four load, a user's shadows a shipped one, and every bad
template is refused as `file:line: reason` before anything is read from W&B."""

from __future__ import annotations

from pathlib import Path

import pytest

from wbadmin.core.reports.figures import decided_promotions
from wbadmin.core.reports.templates import (
    TemplateError,
    UnknownTemplate,
    check_teams,
    list_templates,
    load_file,
    load_template,
    user_dir,
)

GOOD = '''[report]
title = "Mine"
teams = ["ml-infra"]

[[blocks]]
kind = "markdown"
text = """
kind = "not a key: inside a multi-line string"
"""

[[blocks]]
kind = "panels"
[[blocks.panels]]
kind = "line"
metrics = ["loss"]
'''


def write(tmp_path: Path, text: str, name: str = "mine.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_shipped_templates_load_with_their_audiences_and_panels() -> None:
    listed = {t.name: t for t in list_templates()}
    assert set(listed) >= {"research", "engineering", "product", "governance"}
    assert all(t.shipped and t.error is None for t in listed.values())
    research = load_template("research")
    kinds = {p.kind for b in research.blocks for p in b.panels}
    assert {"parallel_coordinates", "line", "run_comparer"} <= kinds
    governance = load_template("governance")
    figures = {f for b in governance.blocks if b.kind == "figures" for f in b.figures}
    assert figures == {"gpu_hours", "cost", "promotions", "findings"}
    assert load_template("product").audience == "product"


def test_a_user_template_shadows_the_shipped_one() -> None:
    user_dir().mkdir(parents=True)
    (user_dir() / "governance.toml").write_text('[report]\ntitle = "Our board pack"\n')
    assert load_template("governance").title == "Our board pack"
    entry = next(t for t in list_templates() if t.name == "governance")
    assert not entry.shipped and entry.path == user_dir() / "governance.toml"


def test_unknown_template_names_the_known_ones() -> None:
    with pytest.raises(UnknownTemplate, match=r"no report template named 'board'.*governance"):
        load_template("board")


def test_lines_of_blocks_and_panels_are_their_own(tmp_path: Path) -> None:
    template = load_file(write(tmp_path, GOOD))
    assert [b.line for b in template.blocks] == [5, 11]
    assert template.blocks[1].panels[0].line == 13
    assert template.blocks[1].panels[0].title == "loss"


@pytest.mark.parametrize(("edit", "line", "reason"), [
    (('title = "Mine"', 'title = "Mine"\ncolour = "red"'), 3, "unknown key 'colour' in [report]"),
    (('kind = "panels"', 'kind = "chart"'), 12, "unknown block type 'chart'"),
    (('kind = "line"', 'kind = "pie"'), 14, "unknown panel kind 'pie'"),
    (('kind = "line"\nmetrics = ["loss"]', 'kind = "scalar"\nmetrics = ["loss", "acc"]'), 15,
     "a scalar panel shows exactly 1 metric, not 2"),
    (('kind = "line"\nmetrics = ["loss"]', 'kind = "run_comparer"\nmetrics = ["loss"]'), 15,
     "a run_comparer panel shows no metrics, not 1"),
    (('kind = "panels"', 'kind = "panels"\nruns = "Metric(\'loss\') <"'), 13,
     "runs filter \"Metric('loss') <\" is not a wandb_workspaces.expr filter"),
    (('metrics = ["loss"]', 'metrics = ["loss"]\nsize = 3'), 16,
     "unknown key 'size' in a panel"),
    (('title = "Mine"', 'title = "Mine'), 2, "invalid TOML"),
])
def test_bad_templates_say_file_line_reason(tmp_path: Path, edit: tuple[str, str], line: int,
                                            reason: str) -> None:
    old, new = edit
    path = write(tmp_path, GOOD.replace(old, new, 1))
    with pytest.raises(TemplateError) as caught:
        load_file(path)
    assert str(caught.value).startswith(f"{path}:{line}: {reason}"), str(caught.value)


def test_unknown_team_names_the_teams_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("ml-infra", "ml-infrastructure"))
    template = load_file(path)
    check_teams(template.__class__(**{**template.__dict__, "teams": ("ml-infra",)}),
                ["ml-infra"])
    with pytest.raises(TemplateError, match=rf"^{path}:3: unknown team 'ml-infrastructure'"):
        check_teams(template, ["ml-infra", "vision-research"])


def test_no_cached_versions_means_no_decisions() -> None:
    from wbadmin.core.cache import Cache

    cache = Cache(None)
    try:
        assert decided_promotions(cache, 0, 2e9) == ()
    finally:
        cache.close()
