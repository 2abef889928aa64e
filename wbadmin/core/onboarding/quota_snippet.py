"""The quota policy a team template carries, as TOML text the quotas feature reads.

Onboarding applies nothing to quotas (W&B has no quota API): it writes the template's
`[quota]` block as a `[teams.<name>]` table into a file the admin keeps and merges into the
quota policy. This module only formats and saves that text; it does not depend on the quotas
code.
"""

from __future__ import annotations

import re
from pathlib import Path

from .. import paths
from .templates import Limit, Template

_BARE = re.compile(r"[A-Za-z0-9_\-]+")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _limit(limit: Limit) -> str:
    parts = [f"{k} = {_number(v)}" for k, v in (("soft", limit.soft), ("hard", limit.hard))
             if v is not None]
    return "{ " + ", ".join(parts) + " }"


def quota_snippet(team: str, template: Template) -> str | None:
    """`[teams.<team>]` with the template's period and limits (None: the template has none)."""
    quota = template.quota
    if quota is None:
        return None
    key = team if _BARE.fullmatch(team) else '"' + team.replace('"', '\\"') + '"'
    lines = [f"# Quota policy for team {team}, from onboarding template {template.name}.",
             "# wbadmin applied nothing here: merge this table into your quota policy file",
             "# (the quotas feature reads [teams.<name>]).",
             f"[teams.{key}]",
             f'period = "{quota.period}"']
    lines += [f"{name} = {_limit(limit)}" for name, limit in quota.limits]
    return "\n".join(lines) + "\n"


def snippet_dir() -> Path:
    return paths.config_dir() / "onboarding"


def save_snippet(team: str, text: str, folder: Path | None = None) -> Path:
    """Write the snippet to `<config dir>/onboarding/<team>-quota.toml` (replacing an older
    one of the same team) and return the path."""
    folder = folder or snippet_dir()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{team}-quota.toml"
    path.write_text(text, encoding="utf-8")
    return path
