"""The run policy: org-wide rules on runs, in a TOML file reviewed like code.

    [defaults]
    recheck_days = 7                 # a full re-check of every run's tags every N days

    [[rules]]
    id = "jira-ticket"
    require_tag = "[A-Z]+-[0-9]+"    # some tag must match (the whole tag)
    mode = "enforce"                 # or "warn"
    # teams = ["llm-platform-eng"]   # scope: teams and/or "team/project"s; none = the org
    # projects = ["data-science-nlp/rag-pipeline-v2"]
    except_projects = ["ml-infra/gpu-burn-in"]
    except_accounts = ["ci-bot"]     # usernames (service accounts, people) not judged
    start = 2026-11-01               # runs created before it are not judged

    [[rules]]
    id = "prompt-version"
    require_config = ["prompt_template_version"]   # top-level config keys, all required

    [[rules]]
    id = "run-names"
    name_pattern = "[a-z0-9-]+"      # the run's display name must match (whole)

    [[rules]]
    id = "no-zombies"
    max_running_hours = 72           # a running run older than this

    [[webhooks]]
    url = "https://hooks.slack.com/services/..."
    format = "slack"                 # or "json"

Each rule has exactly one of `require_tag`, `require_config`, `name_pattern`,
`max_running_hours`. W&B has no run policies: wbadmin keeps them here. Errors name the file,
the line and the reason (exit 8); teams or projects the org does not have are warnings.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path
from typing import Any

from .. import paths, tomlfile
from ..policy_text import read_policy_text
from ..settings import PolicyFileError

POLICY_FILE_NAME = "policies.toml"
POLICY_ENV = "WBADMIN_RUN_POLICY"
DEMO_POLICY = Path("<demo run policy>")
KINDS = ("require_tag", "require_config", "name_pattern", "max_running_hours")
MODES = ("warn", "enforce")
_RULE_KEYS = {"id", "mode", "teams", "projects", "except_projects", "except_accounts",
              "start", "description", *KINDS}
_DEFAULT_KEYS = {"recheck_days"}
HOW_TO = ("no run policy: nothing to judge; write one to {path} (see `wbadmin policy "
          "--help`)")


class RunPolicyError(PolicyFileError):
    """The run policy file is unreadable or malformed: file, line and reason (exit 8)."""

    what = "run policy"


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str                      # one of KINDS
    mode: str = "warn"             # warn | enforce
    pattern: re.Pattern[str] | None = None   # require_tag, name_pattern
    keys: tuple[str, ...] = ()     # require_config
    hours: float | None = None     # max_running_hours
    teams: tuple[str, ...] = ()    # scope; both empty: the org
    projects: tuple[tuple[str, str], ...] = ()
    except_projects: tuple[tuple[str, str], ...] = ()
    except_accounts: tuple[str, ...] = ()
    start: float | None = None     # epoch seconds (UTC midnight of the date)
    description: str = ""

    @property
    def scope_text(self) -> str:
        parts = [*self.teams, *(f"{t}/{p}" for t, p in self.projects)]
        return ", ".join(parts) if parts else "the org"

    def what(self) -> str:
        """The requirement in words."""
        if self.kind == "require_tag":
            return f"a tag matching {self.pattern.pattern if self.pattern else ''}"
        if self.kind == "require_config":
            return "config keys " + ", ".join(self.keys)
        if self.kind == "name_pattern":
            return f"a run name matching {self.pattern.pattern if self.pattern else ''}"
        return f"running at most {self.hours:g} hours"

    def applies_to(self, team: str, project: str, username: str | None) -> bool:
        if (team, project) in self.except_projects:
            return False
        if username and username in self.except_accounts:
            return False
        if not self.teams and not self.projects:
            return True
        return team in self.teams or (team, project) in self.projects

    def in_force(self, now: float) -> bool:
        return self.start is None or self.start <= now


@dataclass(frozen=True)
class Webhook:
    url: str
    format: str = "slack"


@dataclass(frozen=True)
class RunPolicy:
    """`source`: the file, DEMO_POLICY, or None when there is no policy."""

    source: Path | None
    rules: tuple[Rule, ...] = ()
    recheck_days: int = 7
    webhooks: tuple[Webhook, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def is_demo(self) -> bool:
        return self.source == DEMO_POLICY

    @property
    def exists(self) -> bool:
        return self.source is not None

    def unknown_scopes(self, teams: set[str], projects: set[tuple[str, str]]) -> list[str]:
        """Scopes naming a team or project the org does not have (for a warning)."""
        out = []
        for rule in self.rules:
            out += [f"rule {rule.id}: no team {t!r}" for t in rule.teams if t not in teams]
            out += [f"rule {rule.id}: no project {t}/{p}" for t, p in
                    (*rule.projects, *rule.except_projects) if (t, p) not in projects]
        return out

    def not_in_force(self, now: float) -> list[str]:
        """Notes for rules announced before they apply."""
        return [f"rule {r.id} is not yet in force (from {_day(r.start)})"
                for r in self.rules if not r.in_force(now) and r.start is not None]


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).date().isoformat()


# ---- where the policy comes from -------------------------------------------------------------

def policy_path(explicit: str | Path | None = None) -> Path:
    if explicit:
        return Path(explicit).expanduser()
    if env := os.environ.get(POLICY_ENV):
        return Path(env).expanduser()
    return paths.config_dir() / POLICY_FILE_NAME


def load_policy(path: str | Path | None = None, *, sandbox: bool = False) -> RunPolicy:
    """The policy at `path` (else $WBADMIN_RUN_POLICY, else policies.toml in the config
    dir). A missing default file gives the demo policy on the sandbox, none elsewhere; a
    missing file named explicitly is an error."""
    file = policy_path(path)
    explicit = path is not None or bool(os.environ.get(POLICY_ENV))
    text = read_policy_text(file, explicit=explicit, error=RunPolicyError)
    if text is None:
        return demo_policy() if sandbox else RunPolicy(None)
    return parse_policy(text, file)


def demo_policy() -> RunPolicy:
    text = resources.files(__package__).joinpath("demo_run_policy.toml").read_text("utf-8")
    return parse_policy(text, DEMO_POLICY)


def parse_policy(text: str, path: Path) -> RunPolicy:
    try:
        data = tomlfile.loads(text)
    except tomlfile.TomlSyntaxError as exc:
        raise RunPolicyError(path, exc.reason, exc.line) from None
    return _Loader(path, text).policy(data)


# ---- parsing -----------------------------------------------------------------------------------

class _Loader:
    def __init__(self, path: Path, text: str) -> None:
        self.path, self.lines = path, text.splitlines()
        self.warnings: list[str] = []

    def line(self, table: str | None, key: str | None, nth: int | None = None) -> int | None:
        """The line of `key` in `[table]`, or in the nth `[[table]]` (0-based)."""
        if nth is None:
            return tomlfile.line_of(self.lines, table, key)
        headers = [i for i, raw in enumerate(self.lines, 1)
                   if re.fullmatch(rf"\s*\[\[\s*{re.escape(table or '')}\s*\]\]\s*(#.*)?", raw)]
        if nth >= len(headers):
            return None
        end = headers[nth + 1] if nth + 1 < len(headers) else len(self.lines) + 1
        if key:
            for number in range(headers[nth] + 1, end):
                if re.match(rf'\s*"?{re.escape(key)}"?\s*=', self.lines[number - 1]):
                    return number
        return headers[nth]

    def fail(self, reason: str, table: str | None = None, key: str | None = None,
             nth: int | None = None) -> RunPolicyError:
        return RunPolicyError(self.path, reason, self.line(table, key, nth))

    def policy(self, data: dict[str, Any]) -> RunPolicy:
        unknown = set(data) - {"defaults", "rules", "webhooks"}
        if unknown:
            name = sorted(unknown)[0]
            raise self.fail(f"unknown section or key {name!r} (known: defaults, rules, "
                            "webhooks)", None, name)
        defaults = data.get("defaults", {})
        if not isinstance(defaults, dict):
            raise self.fail("defaults must be a table ([defaults])", None, "defaults")
        for key in defaults:
            if key not in _DEFAULT_KEYS:
                raise self.fail(f"unknown key {key!r} in [defaults] (known: recheck_days)",
                                "defaults", key)
        recheck = defaults.get("recheck_days", 7)
        if not isinstance(recheck, int) or isinstance(recheck, bool) or not 1 <= recheck <= 90:
            raise self.fail("recheck_days must be a whole number of days from 1 to 90",
                            "defaults", "recheck_days")
        rules_data = data.get("rules", [])
        if not isinstance(rules_data, list):
            raise self.fail("rules must be an array of tables ([[rules]])", None, "rules")
        rules: list[Rule] = []
        for nth, body in enumerate(rules_data):
            rule = self.rule(body, nth)
            if any(r.id == rule.id for r in rules):
                raise self.fail(f"rule id {rule.id!r} is used twice", "rules", "id", nth)
            rules.append(rule)
        return RunPolicy(self.path, tuple(rules), recheck,
                         self.webhooks(data.get("webhooks", [])), tuple(self.warnings))

    def rule(self, body: Any, nth: int) -> Rule:
        if not isinstance(body, dict):
            raise self.fail("each rule must be a table ([[rules]])", "rules", None, nth)
        for key in body:
            if key not in _RULE_KEYS:
                raise self.fail(f"unknown rule key {key!r} (known: "
                                f"{', '.join(sorted(_RULE_KEYS))})", "rules", key, nth)
        rid = body.get("id")
        if not isinstance(rid, str) or not re.fullmatch(r"[A-Za-z0-9][\w.-]*", rid):
            raise self.fail("each rule needs id = \"a-name\" (letters, digits, - _ .)",
                            "rules", "id", nth)
        kinds = [k for k in KINDS if k in body]
        if len(kinds) != 1:
            raise self.fail(f"rule {rid}: give exactly one of {', '.join(KINDS)}", "rules",
                            kinds[1] if len(kinds) > 1 else "id", nth)
        kind = kinds[0]
        mode = body.get("mode", "warn")
        if mode not in MODES:
            raise self.fail(f"rule {rid}: mode {mode!r}: use warn or enforce", "rules", "mode",
                            nth)
        values: dict[str, Any] = {}
        if kind in ("require_tag", "name_pattern"):
            values["pattern"] = self.pattern(body[kind], rid, kind, nth)
        elif kind == "require_config":
            keys = body[kind]
            if isinstance(keys, str):
                keys = [keys]
            if not isinstance(keys, list) or not keys or not all(
                    isinstance(k, str) and k for k in keys):
                raise self.fail(f"rule {rid}: require_config must be a list of config keys",
                                "rules", kind, nth)
            values["keys"] = tuple(keys)
        else:
            hours = body[kind]
            if not isinstance(hours, int | float) or isinstance(hours, bool) \
                    or not math.isfinite(hours) or hours <= 0:
                raise self.fail(f"rule {rid}: max_running_hours must be a number above 0",
                                "rules", kind, nth)
            values["hours"] = float(hours)
        return Rule(
            id=rid, kind=kind, mode=mode, **values,
            teams=self.names(body, "teams", rid, nth),
            projects=self.projects(body, "projects", rid, nth),
            except_projects=self.projects(body, "except_projects", rid, nth),
            except_accounts=self.names(body, "except_accounts", rid, nth),
            start=self.start(body, rid, nth),
            description=str(body.get("description", "")))

    def pattern(self, value: Any, rid: str, key: str, nth: int) -> re.Pattern[str]:
        if not isinstance(value, str) or not value:
            raise self.fail(f"rule {rid}: {key} must be a regular expression in quotes",
                            "rules", key, nth)
        try:
            return re.compile(value)
        except re.error as exc:
            raise self.fail(f"rule {rid}: {key} {value!r} is not a valid regular expression "
                            f"({exc.msg})", "rules", key, nth) from None

    def names(self, body: dict[str, Any], key: str, rid: str, nth: int) -> tuple[str, ...]:
        value = body.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
            raise self.fail(f"rule {rid}: {key} must be a list of names", "rules", key, nth)
        return tuple(value)

    def projects(self, body: dict[str, Any], key: str, rid: str, nth: int
                 ) -> tuple[tuple[str, str], ...]:
        out = []
        for item in self.names(body, key, rid, nth):
            team, _, project = item.partition("/")
            if not team or not project or "/" in project:
                raise self.fail(f"rule {rid}: {key} entries are \"team/project\", not "
                                f"{item!r}", "rules", key, nth)
            out.append((team, project))
        return tuple(out)

    def start(self, body: dict[str, Any], rid: str, nth: int) -> float | None:
        value = body.get("start")
        if value is None:
            return None
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                value = None
        if isinstance(value, datetime):
            return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
        if not isinstance(value, date):
            raise self.fail(f"rule {rid}: start must be a date (YYYY-MM-DD)", "rules", "start",
                            nth)
        return datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp()

    def webhooks(self, value: Any) -> tuple[Webhook, ...]:
        if not isinstance(value, list):
            raise self.fail("webhooks must be an array of tables ([[webhooks]])", None,
                            "webhooks")
        out = []
        for nth, item in enumerate(value):
            if not isinstance(item, dict) or not isinstance(item.get("url"), str) \
                    or not re.match(r"^https?://\S+$", item["url"]):
                raise self.fail("each [[webhooks]] needs url = \"http(s)://...\"", "webhooks",
                                "url", nth)
            fmt = item.get("format", "slack")
            if fmt not in ("slack", "json"):
                raise self.fail(f"format {fmt!r}: use slack or json", "webhooks", "format", nth)
            unknown = set(item) - {"url", "format"}
            if unknown:
                name = sorted(unknown)[0]
                raise self.fail(f"unknown key {name!r} in [[webhooks]]", "webhooks", name, nth)
            out.append(Webhook(item["url"], fmt))
        return tuple(out)

