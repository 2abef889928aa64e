"""The promotion policy: a TOML file (reviewed like code), per registry and target alias.

    [defaults]                       # the base of every target below
    approvals = 1
    registry_admins = true           # registry admins may approve

    [registries.model.production]    # a promotion target: registry `model`, alias `production`
    approvals = 2
    users = ["carol"]                # named approvers, besides registry admins
    teams = ["ai-governance"]        # members of these teams may approve
    gates = ["metrics.accuracy >= 0.92", "eval.toxicity <= 0.01"]
    required = { ticket = "[A-Z]+-[0-9]+" }

    [registries."*".staging]         # every registry

    [metrics]                        # how metric diffs read (see metrics.py)
    lower_is_better = ["*loss*", "*latency*"]   # glob patterns on a metric's last name
    regression_percent = 5           # a worse change beyond 5 % flags a regression

    [[webhooks]]
    url = "https://hooks.slack.com/services/..."
    format = "slack"                 # or "json"
    events = ["request", "approve", "reject", "rollback"]

W&B exposes no API that lists a registry's protected aliases, so the policy declares the
promotion targets: only a declared target can be requested, and it names the protected alias
the approval moves. A requester never approves their own request, whatever the file says.
Without a file, `DEFAULT_POLICY` applies (production and staging everywhere, one admin).
"""

from __future__ import annotations

import math
import operator
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import paths, tomlfile
from ..policy_text import read_policy_text
from ..settings import PolicyFileError
from .metrics import MetricRules
from .record import Record, lookup

POLICY_FILE_NAME = "promotions.toml"
POLICY_ENV = "WBADMIN_PROMOTION_POLICY"
EVENTS = ("request", "approve", "reject", "cancel", "rollback")
DEFAULT_POLICY = """
[registries."*".production]
[registries."*".staging]
"""
_OPS = {">=": operator.ge, "<=": operator.le, "==": operator.eq, "!=": operator.ne,
        ">": operator.gt, "<": operator.lt}
_GATE = re.compile(r"^\s*([A-Za-z_][\w.\-]*)\s*(>=|<=|==|!=|>|<)\s*(.+?)\s*$")
_TARGET_KEYS = {"approvals", "registry_admins", "users", "teams", "gates", "required"}
_METRIC_KEYS = ("lower_is_better", "regression_percent")
_SECTIONS = ("defaults", "metrics", "registries", "webhooks")
BUILT_IN = Path("<built-in policy>")


class PolicyError(PolicyFileError):
    """The policy file is unreadable or malformed: names the file, the line and the reason."""

    what = "promotion policy"


def policy_path(explicit: str | Path | None = None) -> Path:
    if explicit:
        return Path(explicit).expanduser()
    if env := os.environ.get(POLICY_ENV):
        return Path(env).expanduser()
    return paths.config_dir() / POLICY_FILE_NAME


@dataclass(frozen=True)
class Gate:
    text: str
    path: str
    op: str
    value: Any

    def check(self, metadata: Any) -> GateResult:
        actual = lookup(metadata, self.path)
        if actual is None:
            return GateResult(self.text, False, None, f"{self.path} is missing")
        try:
            ok = bool(_OPS[self.op](actual, self.value))
        except TypeError:
            ok = False
        if isinstance(actual, float) and math.isnan(actual):
            ok = False
        return GateResult(self.text, ok, actual, "" if ok else f"{self.path} is {actual!r}")


@dataclass(frozen=True)
class GateResult:
    gate: str
    ok: bool
    actual: Any
    why: str = ""


@dataclass(frozen=True)
class Target:
    """The rules of one registry's target alias."""

    registry: str
    alias: str
    approvals: int = 1
    registry_admins: bool = True
    users: tuple[str, ...] = ()
    teams: tuple[str, ...] = ()
    gates: tuple[Gate, ...] = ()
    required: tuple[tuple[str, str], ...] = ()  # (field, regex)

    def approvers_text(self) -> str:
        parts = ["registry admins"] if self.registry_admins else []
        if self.users:
            parts.append("users " + ", ".join(self.users))
        if self.teams:
            parts.append("members of " + ", ".join(self.teams))
        return "; ".join(parts) or "nobody"

    def may_approve(self, username: str, teams: list[str] | tuple[str, ...],
                    registry_admin: bool) -> bool:
        return (self.registry_admins and registry_admin) or username in self.users \
            or any(t in self.teams for t in teams)

    def field_problems(self, record: Record) -> list[str]:
        problems = []
        for name, pattern in self.required:
            value = record.field_value(name)
            if value in (None, ""):
                problems.append(f"{name} is required (matching {pattern})")
            elif not re.fullmatch(pattern, str(value)):
                problems.append(f"{name} {value!r} does not match {pattern}")
        return problems

    def status(self, record: Record, metadata: Any) -> PolicyStatus:
        gates = [g.check(metadata) for g in self.gates]
        return PolicyStatus(self, len(record.approvals), self.approvals, gates,
                            self.field_problems(record))


@dataclass(frozen=True)
class PolicyStatus:
    target: Target
    have: int
    need: int
    gates: list[GateResult]
    field_problems: list[str]

    @property
    def checks_pass(self) -> bool:
        return all(g.ok for g in self.gates) and not self.field_problems

    @property
    def satisfied(self) -> bool:
        return self.checks_pass and self.have >= self.need

    def blockers(self) -> list[str]:
        """Why the alias cannot move yet, in words (empty when it can)."""
        out = [f"gate {g.gate} fails: {g.why}" for g in self.gates if not g.ok]
        out += self.field_problems
        if self.have < self.need:
            out.append(f"{self.have} of {self.need} approvals")
        return out

    def to_json(self) -> dict[str, Any]:
        return {"approvals": self.have, "approvals_required": self.need,
                "approvers": self.target.approvers_text(), "satisfied": self.satisfied,
                "gates": [{"gate": g.gate, "ok": g.ok, "actual": g.actual} for g in self.gates],
                "problems": self.field_problems, "blockers": self.blockers()}


@dataclass(frozen=True)
class Webhook:
    url: str
    format: str = "slack"
    events: tuple[str, ...] = EVENTS


@dataclass(frozen=True)
class Policy:
    path: Path | None
    targets: dict[tuple[str, str], Target] = field(default_factory=dict)
    webhooks: tuple[Webhook, ...] = ()
    metrics: MetricRules = field(default_factory=MetricRules)

    def target(self, registry: str, alias: str) -> Target | None:
        return self.targets.get((registry, alias)) or self.targets.get(("*", alias))

    def targets_of(self, registry: str) -> list[str]:
        return sorted({a for (r, a) in self.targets if r in (registry, "*")})


# ---- loading ---------------------------------------------------------------------------------

def load_policy(path: str | Path | None = None) -> Policy:
    """The policy at `path` (else $WBADMIN_PROMOTION_POLICY, else the config dir). A missing
    default file means DEFAULT_POLICY; a missing file named explicitly is an error."""
    file = policy_path(path)
    explicit = path is not None or bool(os.environ.get(POLICY_ENV))
    text = read_policy_text(file, explicit=explicit, error=PolicyError)
    if text is None:
        return parse_policy(DEFAULT_POLICY, None)
    return parse_policy(text, file)


def parse_policy(text: str, path: Path | None) -> Policy:
    where = path or BUILT_IN
    try:
        data = tomlfile.loads(text)
    except tomlfile.TomlSyntaxError as exc:
        raise PolicyError(where, exc.reason, exc.line) from None
    return _Loader(where, text).policy(data)


class _Loader:
    def __init__(self, path: Path, text: str) -> None:
        self.path, self.lines = path, text.splitlines()

    def fail(self, table: str | None, key: str | None, reason: str) -> PolicyError:
        return PolicyError(self.path, reason, self.line_of(table, key))

    def line_of(self, table: str | None, key: str | None) -> int | None:
        """Best effort: the line of `key` in `[table]` (tomllib reports lines only for syntax
        errors); the table header when the key is not found."""
        return tomlfile.line_of(self.lines, table, key, sub_tables=True)

    def policy(self, data: dict[str, Any]) -> Policy:
        unknown = set(data) - set(_SECTIONS)
        if unknown:
            name = sorted(unknown)[0]
            raise PolicyError(self.path, f"unknown section or key {name!r} (known: "
                              f"{', '.join(_SECTIONS)})",
                              self.line_of(None, name) or self.line_of(name, None))
        defaults = self.table(data, "defaults", None)
        base = self.target_fields(defaults, "defaults")
        targets: dict[tuple[str, str], Target] = {}
        for registry, aliases in self.table(data, "registries", None).items():
            if not isinstance(aliases, dict):
                raise self.fail("registries", registry, f"registries.{registry} must be a "
                                "table of target aliases")
            for alias, rules in aliases.items():
                table = f"registries.{registry}.{alias}"
                if not isinstance(rules, dict):
                    raise self.fail(f"registries.{registry}", alias,
                                    f"{table} must be a table")
                fields = {**base, **self.target_fields(rules, table)}
                short = registry.removeprefix("wandb-registry-")
                targets[(short, alias)] = Target(registry=short, alias=alias, **fields)
        path = None if self.path == BUILT_IN else self.path
        return Policy(path, targets, self.webhooks(data.get("webhooks", [])),
                      self.metrics(self.table(data, "metrics", None)))

    def table(self, data: dict[str, Any], key: str, parent: str | None) -> dict[str, Any]:
        value = data.get(key, {})
        if not isinstance(value, dict):
            raise self.fail(parent, key, f"{key!r} must be a table")
        return value

    def target_fields(self, rules: dict[str, Any], table: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key, value in rules.items():
            if key not in _TARGET_KEYS:
                raise self.fail(table, key, f"unknown key {key!r} (known: "
                                f"{', '.join(sorted(_TARGET_KEYS))})")
            if key == "approvals":
                if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                    raise self.fail(table, key, "approvals must be a whole number >= 1")
                out[key] = value
            elif key == "registry_admins":
                if not isinstance(value, bool):
                    raise self.fail(table, key, "registry_admins must be true or false")
                out[key] = value
            elif key in ("users", "teams"):
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise self.fail(table, key, f"{key} must be a list of names")
                out[key] = tuple(value)
            elif key == "gates":
                if not isinstance(value, list):
                    raise self.fail(table, key, "gates must be a list of strings such as "
                                    "\"metrics.accuracy >= 0.92\"")
                out[key] = tuple(self.gate(v, table) for v in value)
            else:
                out[key] = self.required(value, table)
        return out

    def gate(self, text: Any, table: str) -> Gate:
        match = _GATE.match(text) if isinstance(text, str) else None
        if match is None:
            raise self.fail(table, "gates", f"gate {text!r} is not `path op value` (op one of "
                            ">= <= > < == !=)")
        raw = match.group(3)
        value: Any
        if raw in ("true", "false"):
            value = raw == "true"
        elif len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
            value = raw[1:-1]
        else:
            try:
                value = float(raw) if any(c in raw for c in ".eE") else int(raw)
            except ValueError:
                raise self.fail(table, "gates", f"gate {text!r}: {raw!r} is not a number, "
                                "true/false or a quoted string") from None
        return Gate(text, match.group(1), match.group(2), value)

    def required(self, value: Any, table: str) -> tuple[tuple[str, str], ...]:
        if not isinstance(value, dict):
            raise self.fail(table, "required", "required must be a table of field = regex")
        out = []
        for name, pattern in value.items():
            if not isinstance(pattern, str):
                raise self.fail(table, "required", f"required.{name} must be a regex string")
            try:
                re.compile(pattern)
            except re.error as exc:
                raise self.fail(table, "required",
                                f"required.{name}: bad regex {pattern!r}: {exc}") from None
            out.append((name, pattern))
        return tuple(out)

    def metrics(self, section: dict[str, Any]) -> MetricRules:
        for key in section:
            if key not in _METRIC_KEYS:
                raise self.fail("metrics", key, f"unknown key {key!r} in [metrics] (known: "
                                f"{', '.join(_METRIC_KEYS)})")
        rules = MetricRules()
        patterns = section.get("lower_is_better", rules.lower_is_better)
        if not isinstance(patterns, list | tuple) or not all(
                isinstance(p, str) and p.strip() for p in patterns):
            raise self.fail("metrics", "lower_is_better", "metrics.lower_is_better must be a "
                            "list of glob patterns such as [\"*loss*\", \"*latency*\"]")
        percent = section.get("regression_percent", rules.regression_percent)
        if not isinstance(percent, int | float) or isinstance(percent, bool) \
                or not math.isfinite(percent) or percent < 0:
            raise self.fail("metrics", "regression_percent", "metrics.regression_percent must "
                            "be a number of percent >= 0, such as 5")
        return MetricRules(tuple(p.strip() for p in patterns), float(percent))

    def webhooks(self, value: Any) -> tuple[Webhook, ...]:
        if not isinstance(value, list):
            raise self.fail(None, "webhooks", "webhooks must be an array of tables "
                            "([[webhooks]])")
        out = []
        for item in value:
            if not isinstance(item, dict) or not isinstance(item.get("url"), str) \
                    or not re.match(r"^https?://", item["url"]):
                raise self.fail("webhooks", "url", "each [[webhooks]] needs url = "
                                "\"http(s)://...\"")
            fmt = item.get("format", "slack")
            if fmt not in ("slack", "json"):
                raise self.fail("webhooks", "format", f"format {fmt!r}: use slack or json")
            events = item.get("events", list(EVENTS))
            if not isinstance(events, list) or any(e not in EVENTS for e in events):
                raise self.fail("webhooks", "events",
                                f"events must be a list of {', '.join(EVENTS)}")
            unknown = set(item) - {"url", "format", "events"}
            if unknown:
                raise self.fail("webhooks", sorted(unknown)[0],
                                f"unknown key {sorted(unknown)[0]!r} in [[webhooks]]")
            out.append(Webhook(item["url"], fmt, tuple(events)))
        return tuple(out)
