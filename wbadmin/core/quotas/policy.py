"""The quota policy: a TOML file (reviewed like code) of per-team and per-project limits.

    [defaults]
    period = "month"              # month | week | custom (then start = 2026-01-05, days = 14)
    thresholds = [50, 80, 100]    # % of the hard limit that alert
    forecast_alerts = false       # also alert when the forecast at period end crosses one
    price_per_gpu_hour = 2.50     # for cost attribution
    currency = "USD"

    [teams.llm-platform-eng]
    gpu_hours = { soft = 1600, hard = 2000 }   # per period; a bare number is the hard limit
    storage_gb = 2000
    concurrent_runs = { soft = 8, hard = 12 }
    price_per_gpu_hour = 3.10

    [teams.llm-platform-eng.projects.fine-tune-llama-3-support]
    gpu_hours = 800

    [[webhooks]]
    url = "https://hooks.slack.com/services/..."
    format = "slack"              # or "json"

W&B has no per-team limits: wbadmin keeps them here. Errors name the file, the line and the
reason; teams the org does not have are warnings (`unknown_teams`), never a crash.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field, replace
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from .. import paths, tomlfile
from ..policy_text import read_policy_text
from ..settings import PolicyFileError
from .period import KINDS, PeriodSpec

POLICY_FILE_NAME = "quotas.toml"
POLICY_ENV = "WBADMIN_QUOTA_POLICY"
DEMO_POLICY = Path("<demo policy>")
METRICS = ("gpu_hours", "storage_gb", "concurrent_runs")
METRIC_LABELS = {"gpu_hours": "GPU-hours", "storage_gb": "storage", "concurrent_runs":
                 "concurrent runs"}
_DEFAULT_KEYS = {"period", "start", "days", "thresholds", "forecast_alerts",
                 "price_per_gpu_hour", "currency"}
_TEAM_KEYS = {*_DEFAULT_KEYS, *METRICS, "projects"}
_PROJECT_KEYS = {"gpu_hours", "storage_gb", "concurrent_runs", "price_per_gpu_hour"}
HOW_TO = ("no quota policy: showing usage without limits; write one to "
          "{path} (see `wbadmin quotas --help`)")


class QuotaPolicyError(PolicyFileError):
    """The policy file is unreadable or malformed: names the file, the line and the reason."""

    what = "quota policy"


@dataclass(frozen=True)
class Limit:
    soft: float | None = None
    hard: float | None = None

    @property
    def reference(self) -> float | None:
        """What percentages are of: the hard limit, else the soft one."""
        return self.hard if self.hard is not None else self.soft


NO_LIMIT = Limit()


@dataclass(frozen=True)
class Rules:
    """The limits and settings of one team or project (defaults already applied)."""

    period: PeriodSpec = field(default_factory=PeriodSpec)
    thresholds: tuple[int, ...] = (50, 80, 100)
    forecast_alerts: bool = False
    price_per_gpu_hour: float | None = None
    currency: str = "USD"
    limits: dict[str, Limit] = field(default_factory=dict)

    def limit(self, metric: str) -> Limit:
        return self.limits.get(metric, NO_LIMIT)


@dataclass(frozen=True)
class Webhook:
    url: str
    format: str = "slack"


@dataclass(frozen=True)
class QuotaPolicy:
    """`source` is the file, DEMO_POLICY, or None when there is no policy at all."""

    source: Path | None
    defaults: Rules = field(default_factory=Rules)
    teams: dict[str, Rules] = field(default_factory=dict)
    projects: dict[tuple[str, str], Rules] = field(default_factory=dict)
    webhooks: tuple[Webhook, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def is_demo(self) -> bool:
        return self.source == DEMO_POLICY

    @property
    def exists(self) -> bool:
        return self.source is not None

    def rules(self, team: str, project: str | None = None) -> Rules:
        """A team's rules; a project's own, else its team's settings without limits."""
        if project is None:
            return self.teams.get(team, self.defaults)
        if (team, project) in self.projects:
            return self.projects[(team, project)]
        return replace(self.teams.get(team, self.defaults), limits={})

    def price(self, team: str, project: str | None = None) -> float | None:
        return self.rules(team, project).price_per_gpu_hour

    def unknown_teams(self, known: set[str]) -> list[str]:
        """Policy teams the organization does not have (for a warning)."""
        return sorted(t for t in self.teams if t not in known)


# ---- where the policy comes from -----------------------------------------------------------

def policy_path(explicit: str | Path | None = None, setting: str | None = None) -> Path:
    if explicit:
        return Path(explicit).expanduser()
    if env := os.environ.get(POLICY_ENV):
        return Path(env).expanduser()
    if setting:
        return Path(setting).expanduser()
    return paths.config_dir() / POLICY_FILE_NAME


def load_policy(path: str | Path | None = None, *, sandbox: bool = False,
                setting: str | None = None) -> QuotaPolicy:
    """The policy at `path` (else $WBADMIN_QUOTA_POLICY, else quotas.toml in the config dir).

    A missing default file gives the demo policy on the sandbox and no policy elsewhere;
    a missing file named explicitly is an error."""
    file = policy_path(path, setting)
    explicit = path is not None or bool(os.environ.get(POLICY_ENV)) or bool(setting)
    text = read_policy_text(file, explicit=explicit, error=QuotaPolicyError)
    if text is None:
        return demo_policy() if sandbox else QuotaPolicy(None)
    return parse_policy(text, file)


def demo_policy() -> QuotaPolicy:
    text = resources.files(__package__).joinpath("demo_policy.toml").read_text("utf-8")
    return parse_policy(text, DEMO_POLICY)


def parse_policy(text: str, path: Path) -> QuotaPolicy:
    try:
        data = tomlfile.loads(text)
    except tomlfile.TomlSyntaxError as exc:
        raise QuotaPolicyError(path, exc.reason, exc.line) from None
    return _Loader(path, text).policy(data)


# ---- parsing ---------------------------------------------------------------------------------

class _Loader:
    def __init__(self, path: Path, text: str) -> None:
        self.path, self.lines = path, text.splitlines()
        self.warnings: list[str] = []

    def fail(self, table: str | None, key: str | None, reason: str) -> QuotaPolicyError:
        return QuotaPolicyError(self.path, reason, self.line_of(table, key))

    def line_of(self, table: str | None, key: str | None) -> int | None:
        """Best effort: the line of `key` in `[table]`, else the table's header line."""
        return tomlfile.line_of(self.lines, table, key)

    def policy(self, data: dict[str, Any]) -> QuotaPolicy:
        unknown = set(data) - {"defaults", "teams", "webhooks"}
        if unknown:
            name = sorted(unknown)[0]
            raise QuotaPolicyError(self.path, f"unknown section or key {name!r} (known: "
                                   "defaults, teams, webhooks)",
                                   self.line_of(None, name) or self.line_of(name, None))
        defaults = self.rules(self.table(data, "defaults", None), "defaults", Rules(),
                              _DEFAULT_KEYS)
        teams: dict[str, Rules] = {}
        projects: dict[tuple[str, str], Rules] = {}
        for team, body in self.table(data, "teams", None).items():
            table = f"teams.{team}"
            if not isinstance(body, dict):
                raise self.fail("teams", team, f"{table} must be a table ([{table}])")
            rules = self.rules(body, table, defaults, _TEAM_KEYS)
            teams[team] = rules
            for project, pbody in self.table(body, "projects", table).items():
                ptable = f"{table}.projects.{project}"
                if not isinstance(pbody, dict):
                    raise self.fail(f"{table}.projects", project, f"{ptable} must be a table")
                base = replace(rules, limits={})
                projects[(team, project)] = self.rules(pbody, ptable, base, _PROJECT_KEYS)
        return QuotaPolicy(self.path, defaults, teams, projects,
                           self.webhooks(data.get("webhooks", [])), tuple(self.warnings))

    def table(self, data: dict[str, Any], key: str, parent: str | None) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(parent, key, f"{key!r} must be a table")
        return value

    def rules(self, body: dict[str, Any], table: str, base: Rules, known: set[str]) -> Rules:
        for key in body:
            if key not in known:
                raise self.fail(table, key, f"unknown key {key!r} in [{table}] (known: "
                                f"{', '.join(sorted(known))})")
        values: dict[str, Any] = {}
        if "thresholds" in body:
            values["thresholds"] = self.thresholds(body["thresholds"], table)
        if "forecast_alerts" in body:
            if not isinstance(body["forecast_alerts"], bool):
                raise self.fail(table, "forecast_alerts", "forecast_alerts must be true or "
                                "false")
            values["forecast_alerts"] = body["forecast_alerts"]
        if "price_per_gpu_hour" in body:
            values["price_per_gpu_hour"] = self.number(body["price_per_gpu_hour"], table,
                                                       "price_per_gpu_hour", allow_zero=True)
        if "currency" in body:
            cur = body["currency"]
            if not isinstance(cur, str) or not re.fullmatch(r"[A-Za-z$€£¥]{1,5}", cur):
                raise self.fail(table, "currency", "currency must be a short code such as "
                                "\"USD\" or \"EUR\"")
            values["currency"] = cur
        if {"period", "start", "days"} & set(body):
            values["period"] = self.period(body, table, base.period)
        limits = dict(base.limits)
        for metric in METRICS:
            if metric in body:
                limits[metric] = self.limit(body[metric], table, metric)
        if ".projects." in table and "storage_gb" in limits:
            self.warnings.append(f"{self.where(table, 'storage_gb')}: W&B reports storage per "
                                 "team only; this project storage limit is ignored")
            del limits["storage_gb"]
        return replace(base, limits=limits, **values)

    def where(self, table: str, key: str) -> str:
        line = self.line_of(table, key)
        return f"{self.path}, line {line}" if line else str(self.path)

    def number(self, value: Any, table: str, key: str, *, allow_zero: bool = False) -> float:
        ok = isinstance(value, int | float) and not isinstance(value, bool) \
            and math.isfinite(value) and (value >= 0 if allow_zero else value > 0)
        if not ok:
            bound = "0 or more" if allow_zero else "greater than 0"
            raise self.fail(table, key, f"{key} must be a number {bound}, not {value!r}")
        return float(value)

    def limit(self, value: Any, table: str, metric: str) -> Limit:
        if not isinstance(value, dict):
            value = {"hard": value}
        extra = set(value) - {"soft", "hard"}
        if extra or not value:
            raise self.fail(table, metric, f"{metric} must be a number or "
                            "{ soft = N, hard = N }")
        soft = self.number(value["soft"], table, metric) if "soft" in value else None
        hard = self.number(value["hard"], table, metric) if "hard" in value else None
        if soft is not None and hard is not None and soft > hard:
            raise self.fail(table, metric, f"{metric}: the soft limit ({soft:g}) is above the "
                            f"hard limit ({hard:g})")
        if metric == "concurrent_runs" and any(
                v is not None and v != int(v) for v in (soft, hard)):
            raise self.fail(table, metric, "concurrent_runs limits must be whole numbers")
        return Limit(soft, hard)

    def thresholds(self, value: Any, table: str) -> tuple[int, ...]:
        if not isinstance(value, list) or not value or not all(
                isinstance(v, int) and not isinstance(v, bool) and 0 < v <= 1000 for v in value):
            raise self.fail(table, "thresholds", "thresholds must be a list of percentages "
                            "between 1 and 1000, e.g. [50, 80, 100]")
        if len(set(value)) != len(value):
            raise self.fail(table, "thresholds", "thresholds must not repeat")
        return tuple(sorted(value))

    def period(self, body: dict[str, Any], table: str, base: PeriodSpec) -> PeriodSpec:
        kind = body.get("period", base.kind)
        if kind not in KINDS:
            raise self.fail(table, "period", f"period {kind!r}: use month, week or custom")
        if kind != "custom":
            for key in ("start", "days"):
                if key in body:
                    raise self.fail(table, key, f"{key} applies to period = \"custom\" only")
            return PeriodSpec(kind)
        start, days = body.get("start", base.start), body.get("days", base.days)
        if isinstance(start, str):
            try:
                start = date.fromisoformat(start)
            except ValueError:
                start = None
        if not isinstance(start, date) or hasattr(start, "hour"):
            raise self.fail(table, "start", "a custom period needs start = YYYY-MM-DD (its "
                            "first day)")
        if not isinstance(days, int) or isinstance(days, bool) or not 1 <= days <= 366:
            raise self.fail(table, "days", "a custom period needs days = 1 to 366 (its length)")
        return PeriodSpec("custom", start, days)

    def webhooks(self, value: Any) -> tuple[Webhook, ...]:
        if not isinstance(value, list):
            raise self.fail(None, "webhooks", "webhooks must be an array of tables "
                            "([[webhooks]])")
        out = []
        for item in value:
            if not isinstance(item, dict) or not isinstance(item.get("url"), str) \
                    or not re.match(r"^https?://\S+$", item["url"]):
                raise self.fail("webhooks", "url", "each [[webhooks]] needs url = "
                                "\"http(s)://...\"")
            fmt = item.get("format", "slack")
            if fmt not in ("slack", "json"):
                raise self.fail("webhooks", "format", f"format {fmt!r}: use slack or json")
            unknown = set(item) - {"url", "format"}
            if unknown:
                raise self.fail("webhooks", sorted(unknown)[0],
                                f"unknown key {sorted(unknown)[0]!r} in [[webhooks]]")
            out.append(Webhook(item["url"], fmt))
        return tuple(out)
