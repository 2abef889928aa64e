"""Today's org as an org file (TOML), sorted so that two exports of the same org are
byte-identical and a reviewed diff shows only real changes (no timestamp in the header)."""

from __future__ import annotations

import json
import re
from typing import Any

from .changes import access_to_visibility
from .state import OrgState

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def key(text: str) -> str:
    return text if _BARE.match(text) else json.dumps(text, ensure_ascii=False)


def value(v: Any) -> str:
    if isinstance(v, list):
        return "[" + ", ".join(value(x) for x in v) + "]"
    return json.dumps(v, ensure_ascii=False)


def to_dict(state: OrgState) -> dict[str, Any]:
    """The file's structure as plain data (also `wbadmin export --json`)."""
    roles = {u.username: u.org_role for u in sorted(state.users.values(),
                                                    key=lambda u: u.username)
             if u.active and u.org_role}
    teams: dict[str, Any] = {}
    for name in sorted(state.teams):
        t = state.teams[name]
        # Every part is written, even empty: a part the file lists is managed (drift in it
        # is reported), a part it leaves out is not.
        teams[name] = {
            "service_accounts": sorted(t.service_accounts),
            "invites": sorted(set(t.invites), key=lambda e: (e.lower(), e)),
            "members": dict(sorted(t.members.items())),
            "projects": {p: {"description": s.get("description") or "",
                             "visibility": access_to_visibility(s.get("access"))}
                         for p, s in sorted(t.projects.items())}}
    registries: dict[str, Any] = {}
    for name in sorted(state.registries):
        members = state.registries[name]
        registries[name] = {label: {n: r for (k, n), r in sorted(members.items()) if k == kind}
                            for kind, label in (("user", "users"), ("team", "teams"))}
    return {"org": {"name": state.org, "roles": roles}, "teams": teams,
            "registries": registries}


def _table(lines: list[str], header: str, items: dict[str, Any]) -> None:
    lines.append("")
    lines.append(f"[{header}]")
    lines.extend(f"{key(k)} = {value(v)}" for k, v in items.items())


def to_toml(state: OrgState) -> str:
    data = to_dict(state)
    lines = [
        f"# The structure of the W&B organization {data['org']['name']!r}, as wbadmin reads it:",
        "# teams with their members and roles, service accounts, pending invites, projects",
        "# (description, visibility) and registry roles. Written by `wbadmin export`.",
        "# `wbadmin plan FILE` shows how W&B differs from this file (exit 2 on drift);",
        "# `wbadmin apply FILE` makes W&B match it. Members missing from the file are removed",
        "# only with `--prune`; projects are never deleted.",
    ]
    _table(lines, "org", {"name": data["org"]["name"]})
    _table(lines, "org.roles", data["org"]["roles"])
    for name, team in data["teams"].items():
        head = f"teams.{key(name)}"
        _table(lines, head, {k: team[k] for k in ("service_accounts", "invites")})
        _table(lines, f"{head}.members", team["members"])
        if not team["projects"]:
            _table(lines, f"{head}.projects", {})
        for project, spec in team["projects"].items():
            _table(lines, f"{head}.projects.{key(project)}", spec)
    for name, reg in data["registries"].items():
        for label in ("users", "teams"):
            _table(lines, f"registries.{key(name)}.{label}", reg[label])
    return "\n".join(lines) + "\n"
