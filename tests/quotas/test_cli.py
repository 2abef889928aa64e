"""`wbadmin quotas`, `quotas check` and `quotas report` against the sandbox over real HTTP
(a LIVE profile): exit codes for cron and CI, CSV for FinOps, one-line errors."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path

import pytest

from tests.conftest import SEED_NOW

# Whatever the date, the current period of this policy holds the seed's last 30 days of runs
# (a calendar month begun an hour ago holds almost nothing).
WINDOW = ('[defaults]\nperiod = "custom"\n'
          f'start = {time.strftime("%Y-%m-%d", time.gmtime(SEED_NOW - 30 * 86_400))}\n'
          'days = 60\n')
pytestmark = pytest.mark.calendar


@pytest.fixture
def usage(cli, live, tmp_path: Path) -> dict[str, float]:
    """GPU-hours per team this period (WINDOW), as `wbadmin quotas --json` reports them."""
    r = cli("quotas", "--json", "--policy", write(tmp_path, ""))
    assert r.code == 0, r.err
    found = {t["team"]: t["gpu_hours"]["used"] for t in json.loads(r.out)["teams"]}
    assert found["data-science-nlp"] > 0 and found["ml-infra"] > 0
    return found


def write(tmp_path: Path, text: str, *, window: bool = True) -> str:
    """A policy file: `text` (continuing WINDOW's [defaults] when `window`)."""
    path = tmp_path / "quotas.toml"
    path.write_text((WINDOW if window else "") + text)
    return str(path)


def test_no_policy_shows_usage_and_says_how_to_write_one(cli, live) -> None:
    r = cli("quotas", "--json")
    assert r.code == 0, r.err
    out = json.loads(r.out)
    assert out["policy"] == "none" and out["status"] == "ok"
    assert {t["status"] for t in out["teams"]} == {"none"}
    assert all(t["gpu_hours"]["used"] >= 0 for t in out["teams"])
    # This month may have begun a minute ago; the month before holds the seed's runs.
    before = json.loads(cli("quotas", "--json", "--previous").out)
    assert sum(t["gpu_hours"]["used"] for t in before["teams"]) > 0
    assert "no quota policy" in r.err and "quotas.toml" in r.err
    text = cli("quotas")
    assert text.code == 0 and "data-science-nlp" in text.out and "TEAM" in text.out


def test_check_exit_codes(cli, usage, tmp_path: Path) -> None:
    team = "data-science-nlp"
    used = usage[team]
    fine = write(tmp_path, f"[teams.{team}]\ngpu_hours = {used * 100:.0f}\n")
    r = cli("quotas", "check", "--policy", fine)
    assert r.code == 0, r.err
    assert "within their limits" in r.out
    warn = write(tmp_path, f"[teams.{team}]\ngpu_hours = {{ soft = {used / 2:.1f}, "
                           f"hard = {used * 100:.0f} }}\n")
    r = cli("quotas", "check", "--policy", warn)
    assert r.code == 1 and f"WARNING {team}: GPU-hours" in r.out and "soft limit" in r.out
    over = write(tmp_path, f"[teams.{team}]\ngpu_hours = {used / 2:.1f}\n")
    r = cli("quotas", "check", "--policy", over, "--json")
    assert r.code == 2
    out = json.loads(r.out)
    assert out["status"] == "over" and out["exit_code"] == 2
    assert out["problems"][0]["team"] == team and out["problems"][0]["kind"] == "over"


def test_report_csv_gives_cost_per_team_and_project(cli, usage, tmp_path: Path) -> None:
    pol = write(tmp_path, "price_per_gpu_hour = 2.0\n"
                          "[teams.ml-infra]\nprice_per_gpu_hour = 3.0\n")
    r = cli("quotas", "report", "--format", "csv", "--policy", pol)
    assert r.code == 0, r.err
    rows = list(csv.DictReader(io.StringIO(r.out)))
    assert set(rows[0]) == {"period", "team", "project", "gpu_hours", "price_per_gpu_hour",
                            "cost", "currency"}
    totals = {row["team"]: row for row in rows if row["project"] == ""}
    assert set(totals) == set(usage)
    infra = totals["ml-infra"]
    assert float(infra["cost"]) == pytest.approx(float(infra["gpu_hours"]) * 3.0, rel=1e-3)
    projects = [row for row in rows if row["team"] == "ml-infra" and row["project"]]
    assert projects and sum(float(p["cost"]) for p in projects) == \
        pytest.approx(float(infra["cost"]), abs=0.05)


@pytest.mark.parametrize(("text", "words"), [
    ("[teams.a]\ngpu_hours = -10\n", "line 2: gpu_hours must be a number greater than 0"),
    ("[teams.a]\ngpu_hours = { soft = 9, hard = 3 }\n", "line 2: gpu_hours: the soft limit"),
    ("[defaults]\nperiod = \"quarterly\"\n", "line 2: period 'quarterly'"),
])
def test_a_bad_policy_is_one_line_and_exit_8(cli, live, tmp_path: Path, text: str,
                                             words: str) -> None:
    r = cli("quotas", "check", "--policy", write(tmp_path, text, window=False))
    assert r.code == 8 and r.out == ""
    assert len(r.err_lines) == 1 and words in r.err and "Traceback" not in r.err


def test_a_missing_policy_file_is_an_error(cli, live, tmp_path: Path) -> None:
    r = cli("quotas", "--policy", str(tmp_path / "nope.toml"))
    assert r.code == 8 and "no such file" in r.err


def test_unknown_teams_are_a_warning_not_a_crash(cli, usage, tmp_path: Path) -> None:
    pol = write(tmp_path, "[teams.no-such-team]\ngpu_hours = 5\n"
                          f"[teams.ml-infra]\ngpu_hours = {usage['ml-infra'] * 100:.0f}\n")
    r = cli("quotas", "check", "--policy", pol)
    assert r.code == 0
    assert "no-such-team" in r.err and "does not have" in r.err


def test_offline_reads_the_cache_only(cli, live) -> None:
    assert cli("whoami").code == 0  # a key verified here, with no quota data cached yet
    r = cli("quotas", "--offline")
    assert r.code == 7 and "run `wbadmin quotas` online" in r.err
    assert cli("quotas", "--json").code == 0
    r = cli("quotas", "--offline", "--json")
    assert r.code == 0 and json.loads(r.out)["teams"]


def test_the_sandbox_uses_the_demo_policy_and_says_so(cli, monkeypatch) -> None:
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    r = cli("quotas", "--sandbox", "--json")
    assert r.code == 0, r.err
    assert "built-in demo policy" in r.err
    out = json.loads(r.out)
    assert out["policy"].startswith("demo policy")
    assert any(t["gpu_hours"]["hard"] for t in out["teams"])


def test_a_key_switch_never_posts_an_alert_again(cli, live, usage, receiver, monkeypatch,
                                                 tmp_path: Path) -> None:
    """Which alerts were posted is the server's fact, not an identity's: bob (team admin of
    data-science-nlp, a cache of his own) does not post what alice's check posted."""
    from tests.conftest import key_of

    team = "data-science-nlp"
    pol = write(tmp_path, f'[teams.{team}]\ngpu_hours = {usage[team] / 2:.1f}\n'
                          f'[[webhooks]]\nurl = "{receiver.url}/ok"\nformat = "json"\n')
    assert cli("quotas", "check", "--policy", pol).code == 2
    posted = len(receiver.hits)
    assert posted >= 1 and all(b["scope"] == team for b in receiver.bodies("/ok"))
    monkeypatch.setenv("WANDB_API_KEY", key_of("bob"))
    r = cli("quotas", "check", "--policy", pol)
    assert r.code == 2, r.err  # bob sees the same team over its limit...
    assert len(receiver.hits) == posted  # ...and posts nothing again


def keys_of(value: object) -> set[str]:
    """Every key anywhere in a JSON value."""
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_of(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_of(v)}
    return set()


@pytest.mark.parametrize("metric", ["storage_gb", "concurrent_runs"])
def test_storage_and_concurrency_show_no_gpu_cost_or_gpu_forecast(cli, usage, tmp_path: Path,
                                                                  metric: str) -> None:
    """data-science-nlp is within its GPU-hour limit but forecast past it, far within its
    storage and concurrency limits: only the GPU-hours view warns, and only it costs."""
    team = "data-science-nlp"
    pol = write(tmp_path, f"price_per_gpu_hour = 2.0\n[teams.{team}]\n"
                          f"gpu_hours = {usage[team] * 1.02:.1f}\n"
                          "storage_gb = 1000000\nconcurrent_runs = 1000\n")
    full = json.loads(cli("quotas", "--json", "--policy", pol).out)
    dsn = next(t for t in full["teams"] if t["team"] == team)
    assert dsn["gpu_hours"]["status"] == "ok" and dsn["status"] == "warn", \
        "the GPU-hour forecast should warn (the seed burns GPU-hours every day)"
    gpu = cli("quotas", "--metric", "gpu_hours", "--policy", pol)
    assert "COST" in gpu.out and "$" in gpu.out
    assert "warning" in next(line for line in gpu.out.splitlines() if line.startswith(team))

    r = cli("quotas", "--metric", metric, "--policy", pol)
    assert r.code == 0, r.err
    header = next(line for line in r.out.splitlines() if line.startswith("TEAM"))
    assert "COST" not in header and "FORECAST" not in header
    assert "$" not in r.out and "warning" not in r.out
    row = next(line for line in r.out.splitlines() if line.startswith(team))
    assert " ok " in row and ("below the hard limit" in row or "room for" in row)
    assert "GPU metadata" not in r.err

    j = cli("quotas", "--metric", metric, "--json", "--policy", pol)
    assert j.code == 0, j.err
    out = json.loads(j.out)
    assert out["metric"] == metric and out["status"] == "ok"
    assert not keys_of(out) & {"cost", "forecast", "daily_gpu_hours", "gpu_hours",
                               "runs_without_gpu_metadata"}
    mine = next(t for t in out["teams"] if t["team"] == team)
    assert mine["status"] == "ok" and mine[metric]["hard"] in (1000000, 1000)


def test_unlimited_teams_say_so_and_share_the_bar_scale(cli, usage, tmp_path: Path) -> None:
    """Only data-science-nlp has a limit: the others say they have none, and every bar is on
    one scale, so more GPU-hours never draw a shorter bar, limited or not."""
    team = "data-science-nlp"
    pol = write(tmp_path, f"[teams.{team}]\ngpu_hours = {usage[team] * 1.5:.1f}\n")
    r = cli("quotas", "--policy", pol)
    assert r.code == 0, r.err
    rows = {line.split()[0]: line for line in r.out.splitlines()[2:]}
    assert set(rows) == set(usage)
    assert all("no limit" in line for name, line in rows.items() if name != team)
    assert "no limit" not in rows[team]
    eighths = " ▏▎▍▌▋▊▉█"
    filled = {name: sum(eighths.index(c) / 8 for c in line.split()[1] if c in eighths)
              for name, line in rows.items()}
    for a in usage:
        for b in usage:
            if usage[a] > usage[b] * 1.1:
                assert filled[a] >= filled[b], (a, b)
