"""`wbadmin report render` over real HTTP against the sandbox (a LIVE profile): the figures are
the ones `wbadmin quotas --json` and `wbadmin access findings --json` give the same identity,
the file is self-contained, and bad input is one line with nothing written."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import pytest

from tests.conftest import SEED_NOW, key_of
from wbadmin.core.reports.templates import user_dir

# A quota period anchored to the seed, never to today's date: `--previous` is the 30 days that
# ended 30 days before the seed's now, so every run in it has ended and two commands a moment
# apart read the same GPU-hours.
START = time.strftime("%Y-%m-%d", time.gmtime(SEED_NOW - 30 * 86_400))
POLICY = (f'[defaults]\nperiod = "custom"\nstart = {START}\ndays = 30\n'
          "price_per_gpu_hour = 2.5\n"
          "[teams.data-science-nlp]\ngpu_hours = { soft = 300, hard = 400 }\n"
          "[teams.ml-infra]\ngpu_hours = 5000\n")


@pytest.fixture
def policy(tmp_path: Path) -> str:
    path = tmp_path / "quotas.toml"
    path.write_text(POLICY)
    return str(path)


def render(cli, tmp_path: Path, *args: str, name: str = "report.html"):
    out = tmp_path / name
    return out, cli("report", "render", *args, "-o", str(out))


def quota_teams(cli, policy: str) -> dict[str, dict]:
    r = cli("quotas", "--json", "--previous", "--policy", policy)
    assert r.code == 0, r.err
    return {t["team"]: t for t in json.loads(r.out)["teams"]}


def open_findings(cli) -> dict[str, int]:
    r = cli("access", "findings", "--json")
    assert r.code in (0, 1), r.err
    counts = {"high": 0, "medium": 0, "low": 0}
    for f in json.loads(r.out):
        if f["visible"] and f["count"] is not None:
            counts[f["severity"]] += f["count"]
    return counts


def same_figures(figures: dict, quotas: dict[str, dict]) -> None:
    assert [t["team"] for t in figures["teams"]] == list(quotas)
    for t in figures["teams"]:
        q = quotas[t["team"]]
        assert (t["gpu_hours"], t["soft"], t["hard"], t["status"]) == (
            q["gpu_hours"]["used"], q["gpu_hours"]["soft"], q["gpu_hours"]["hard"],
            q["gpu_hours"]["status"])
        assert t["cost"] == q["cost"] and t["daily_gpu_hours"] == q["daily_gpu_hours"]


def test_governance_html_carries_alices_figures(cli, live, policy, tmp_path: Path) -> None:
    out, r = render(cli, tmp_path, "governance", "--format", "html", "--policy", policy,
                    "--previous", "--json")
    assert r.code == 0, r.err
    summary = json.loads(r.out)
    assert summary["viewer"] == "alice" and summary["file"] == str(out)
    quotas = quota_teams(cli, policy)
    same_figures(summary["figures"], quotas)
    assert quotas["data-science-nlp"]["gpu_hours"]["status"] == "over"  # the seed's story
    assert summary["figures"]["findings"]["by_severity"] == open_findings(cli)
    html = out.read_text()
    # Self-contained: nothing is fetched (links to W&B projects are anchors, not resources).
    assert not re.search(r"<script|<link|<img|<iframe|\bsrc=|@import|url\(", html)
    assert html.count("<svg") == 4  # GPU-hours over the period, cost, promotions, findings
    for team, q in quotas.items():
        assert f">{team}<" in html
        assert f"{q['gpu_hours']['used']:,.1f}" in html
    promotions = summary["figures"]["promotions"]
    assert f"{promotions['approved']} approved, {promotions['rejected']} rejected" in html
    # The panels W&B draws are links to the teams' projects on the server's web app.
    assert f'href="{live}/ml-infra/gpu-burn-in"' in html


def test_a_team_admin_sees_his_own_figures(cli, live, policy, monkeypatch,
                                           tmp_path: Path) -> None:
    monkeypatch.setenv("WANDB_API_KEY", key_of("bob"))
    out, r = render(cli, tmp_path, "governance", "--policy", policy, "--previous", "--json")
    assert r.code == 0, r.err
    summary = json.loads(r.out)
    assert summary["viewer"] == "bob"
    quotas = quota_teams(cli, policy)
    same_figures(summary["figures"], quotas)
    assert set(quotas) == {"data-science-nlp", "product-ai-agents"}  # his teams, not the org's
    bob = open_findings(cli)
    assert summary["figures"]["findings"]["by_severity"] == bob
    # What a team admin cannot judge is said, never counted as none.
    assert "Invites older than 30 days" in summary["figures"]["findings"]["unjudged"]
    assert "as seen by bob" in out.read_text()


def test_teams_flag_narrows_and_markdown_is_tables(cli, live, policy, tmp_path: Path) -> None:
    out, r = render(cli, tmp_path, "engineering", "--teams", "ml-infra,data-science-nlp",
                    "--policy", policy, "--previous", name="eng.md")
    assert r.code == 0, r.err
    assert "wrote" in r.out and "(md, template engineering, 2 teams" in r.out
    md = out.read_text()
    assert md.startswith("# Engineering review")
    quotas = quota_teams(cli, policy)
    rows = [line for line in md.splitlines()
            if line.startswith("| ") and not line.startswith(("| Team", "| ---"))]
    assert [row.split(" | ")[0][2:] for row in rows] == ["data-science-nlp", "ml-infra"]
    nlp = quotas["data-science-nlp"]
    assert (f"| data-science-nlp | {nlp['gpu_hours']['used']:,.1f} | 300 | 400 | over | "
            f"${nlp['cost']:,.2f} |") in md
    assert "Run time (s) by step (line): _runtime by _step" in md
    assert f"- [ml-infra/gpu-burn-in]({live}/ml-infra/gpu-burn-in)" in md
    assert "vision-research" not in md


def test_a_user_template_shadows_the_shipped_one(cli, live, policy, tmp_path: Path) -> None:
    user_dir().mkdir(parents=True)
    (user_dir() / "governance.toml").write_text(
        '[report]\ntitle = "Board pack <b>Q4</b>"\n\n[[blocks]]\nkind = "markdown"\n'
        'text = "Ours: <script>alert(1)</script> **bold**"\n\n'
        '[[blocks]]\nkind = "figures"\nfigures = ["findings"]\n')
    out, r = render(cli, tmp_path, "governance", "--policy", policy)
    assert r.code == 0, r.err
    html = out.read_text()
    assert "<title>Board pack &lt;b&gt;Q4&lt;/b&gt;</title>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; <strong>bold</strong>" in html
    assert "<script" not in html
    assert "Open access findings" in html and "GPU-hours per team" not in html


BAD = {
    "block": ('[[blocks]]\nkind = "chart"\n', 6, "unknown block type 'chart'"),
    "panel": ('[[blocks]]\nkind = "panels"\n[[blocks.panels]]\nkind = "pie"\n', 8,
              "unknown panel kind 'pie'"),
    "scalar": ('[[blocks]]\nkind = "panels"\n[[blocks.panels]]\nkind = "scalar"\n'
               'metrics = ["loss", "accuracy"]\n', 9,
               "a scalar panel shows exactly 1 metric, not 2"),
    "filter": ('[[blocks]]\nkind = "panels"\nruns = "State =="\n[[blocks.panels]]\n'
               'kind = "run_comparer"\n', 7, "runs filter 'State ==' is not a "
               "wandb_workspaces.expr filter"),
    "key": ('[[blocks]]\nkind = "markdown"\ntext = "x"\nwidth = 3\n', 8,
            "unknown key 'width' in a markdown block"),
    "team": ("", 3, "unknown team 'ml-infrastructure'"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_templates_exit_8_with_file_line_and_write_nothing(cli, live, policy, case: str,
                                                               tmp_path: Path) -> None:
    text, line, reason = BAD[case]
    user_dir().mkdir(parents=True)
    path = user_dir() / "mine.toml"
    path.write_text('[report]\ntitle = "Mine"\nteams = ["ml-infra", "ml-infrastructure"]\n'
                    .replace(', "ml-infrastructure"', "" if case != "team" else
                             ', "ml-infrastructure"') + "\n" + text)
    out, r = render(cli, tmp_path, "mine", "--policy", policy)
    assert r.code == 8, r.err
    assert r.err_lines[-1].startswith(f"wbadmin: {path}:{line}: {reason}"), r.err
    if case != "team":  # refused before anything is read from W&B
        assert len(r.err_lines) == 1, r.err
    assert "Traceback" not in r.err and not out.exists()


def test_unknown_template_and_bad_flags_are_one_line(cli, live, policy,
                                                     tmp_path: Path) -> None:
    out, r = render(cli, tmp_path, "board-pack")
    assert r.code == 5 and r.err_lines == [
        f"wbadmin: no report template named 'board-pack' (known: engineering, governance, "
        f"product, research; yours go in {user_dir()}/NAME.toml)"]
    out, r = render(cli, tmp_path, "governance", "--teams", "nope", "--policy", policy)
    assert r.code == 5 and r.err_lines[-1].startswith("wbadmin: unknown team 'nope'")
    out, r = render(cli, tmp_path, "governance", "--period", "soon")
    assert r.code == 2 and r.err_lines[-1] == (
        "wbadmin: --period: not a duration: 'soon' (use e.g. 0, 30m, 24h or 7d)")
    r = cli("report", "render", "governance", "-o", str(tmp_path / "no" / "such.html"))
    assert r.code == 2 and "no such directory" in r.err_lines[-1]
    assert not out.exists()
