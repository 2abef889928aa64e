"""The quota policy file: the documented format, and one clear error (file, line, reason)
for every kind of bad input."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from wbadmin.core.quotas.policy import (
    QuotaPolicyError,
    demo_policy,
    load_policy,
    parse_policy,
)

GOOD = """\
[defaults]
period = "month"
thresholds = [80, 50, 100]
price_per_gpu_hour = 2.5

[teams.llm-platform-eng]
gpu_hours = { soft = 1600, hard = 2000 }
storage_gb = 2000
concurrent_runs = { soft = 8, hard = 12 }
price_per_gpu_hour = 3.1
forecast_alerts = true

[teams.llm-platform-eng.projects.kv-cache-experiments]
gpu_hours = 300

[teams.ai-governance]
period = "custom"
start = 2026-11-03
days = 14

[[webhooks]]
url = "https://hooks.example.com/T000/B000"
format = "json"
"""


def test_the_documented_format() -> None:
    p = parse_policy(GOOD, Path("q.toml"))
    llm = p.rules("llm-platform-eng")
    assert llm.limit("gpu_hours").soft == 1600 and llm.limit("gpu_hours").hard == 2000
    assert llm.limit("storage_gb").hard == 2000 and llm.limit("storage_gb").soft is None
    assert llm.thresholds == (50, 80, 100) and llm.forecast_alerts
    assert p.price("llm-platform-eng") == pytest.approx(3.1)
    proj = p.rules("llm-platform-eng", "kv-cache-experiments")
    assert proj.limit("gpu_hours").hard == 300 and proj.limit("concurrent_runs").hard is None
    assert proj.price_per_gpu_hour == pytest.approx(3.1)  # inherited from the team
    gov = p.rules("ai-governance")
    assert (gov.period.kind, gov.period.start, gov.period.days) == \
        ("custom", date(2026, 11, 3), 14)
    assert p.price("unknown-team") == pytest.approx(2.5)
    assert p.webhooks[0].format == "json"


@pytest.mark.parametrize(("text", "line", "words"), [
    ("[teams.a]\ngpu_hours = -5\n", 2, "greater than 0"),
    ("[teams.a]\ngpu_hours = 0\n", 2, "greater than 0"),
    ("[teams.a]\ngpu_hours = { soft = 10, hard = 5 }\n", 2, "soft limit (10) is above"),
    ("[teams.a]\ngpu_hours = \"lots\"\n", 2, "must be a number"),
    ("[teams.a]\ngpu_hours = nan\n", 2, "must be a number"),
    ("[teams.a]\ngpu_hours = { maximum = 5 }\n", 2, "soft = N, hard = N"),
    ("[teams.a]\nconcurrent_runs = 2.5\n", 2, "whole numbers"),
    ("[teams.a]\nprice_per_gpu_hour = -1\n", 2, "0 or more"),
    ("[defaults]\nthresholds = [50, 150, 2000]\n", 2, "between 1 and 1000"),
    ("[defaults]\nthresholds = [50, 50]\n", 2, "must not repeat"),
    ("[defaults]\nperiod = \"fortnight\"\n", 2, "month, week or custom"),
    ("[defaults]\nperiod = \"custom\"\ndays = 7\n", 1, "start = YYYY-MM-DD"),
    ("[defaults]\nperiod = \"custom\"\nstart = 2026-01-01\ndays = 0\n", 4, "days = 1 to 366"),
    ("[defaults]\nperiod = \"week\"\ndays = 7\n", 3, "custom\" only"),
    ("[teams.a]\ngpu_hourz = 5\n", 2, "unknown key 'gpu_hourz'"),
    ("[limits]\nx = 1\n", 1, "unknown section or key 'limits'"),
    ("[[webhooks]]\nurl = \"ftp://x\"\n", 2, "http(s)://"),
    ("[teams.a\ngpu_hours = 5\n", 1, "invalid TOML"),
])
def test_bad_input_is_one_clear_error(text: str, line: int, words: str) -> None:
    with pytest.raises(QuotaPolicyError) as err:
        parse_policy(text, Path("/etc/q.toml"))
    message = str(err.value)
    assert message.startswith(f"quota policy /etc/q.toml, line {line}: "), message
    assert words in message


def test_project_storage_limits_are_a_warning_not_an_error() -> None:
    p = parse_policy("[teams.a.projects.b]\nstorage_gb = 10\n", Path("q.toml"))
    assert "storage per team only" in p.warnings[0] and "line 2" in p.warnings[0]
    assert p.rules("a", "b").limit("storage_gb").hard is None


def test_where_the_policy_comes_from(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WBADMIN_QUOTA_POLICY", raising=False)
    assert not load_policy().exists  # no file: usage without limits on a live profile
    assert load_policy(sandbox=True).is_demo
    with pytest.raises(QuotaPolicyError, match="no such file"):
        load_policy(tmp_path / "missing.toml")
    file = tmp_path / "q.toml"
    file.write_text("[teams.x]\ngpu_hours = 3\n")
    monkeypatch.setenv("WBADMIN_QUOTA_POLICY", str(file))
    assert load_policy(sandbox=True).rules("x").limit("gpu_hours").hard == 3


def test_the_demo_policy_tells_its_story() -> None:
    demo = demo_policy()
    assert demo.is_demo and not demo.warnings
    assert {"llm-platform-eng", "data-science-nlp", "product-ai-agents"} <= set(demo.teams)
