"""Names W&B rejects, caught at plan time instead of half-way through an apply.

Projects (the SDK's own checks, `wandb_settings.validate_project` and
`sdk/artifacts/_validators.validate_project_name`): not empty, at most 128 characters, none of
`/ \\ # ? % :` nor a line break. The `wandb-registry-` prefix is reserved for registries (the
org entity's projects); the server also refuses leading or trailing spaces.

Teams (entity names, `createTeam`): lowercase letters, digits, `-` and `_`, starting with a
letter or digit, at most 64 characters — the rule the sandbox models. W&B does not document
its entity-name rule; the App refuses uppercase and spaces, and the length cap is the
sandbox's [UNCERTAIN]. A name already used by a user or a team is taken (entities share one
namespace); that needs the org's names, so it is `name_taken`'s job, not the pattern's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

PROJECT_MAX = 128
PROJECT_FORBIDDEN = "/\\#?%:\r\n"
REGISTRY_PREFIX = "wandb-registry-"
TEAM_MAX = 64
TEAM_PATTERN = re.compile(r"[a-z0-9][a-z0-9_-]*")


class InvalidName(ValueError):
    """A name W&B would refuse; str() says which rule it breaks."""


def project_name_problem(name: str) -> str | None:
    """Why W&B would refuse `name` as a team project's name (None: it would accept it)."""
    if not name:
        return "a project name must not be empty"
    if len(name) > PROJECT_MAX:
        return f"project name {name[:40]!r}… is {len(name)} characters (at most {PROJECT_MAX})"
    bad = sorted({c for c in name if c in PROJECT_FORBIDDEN})
    if bad:
        shown = " ".join(repr(c)[1:-1] for c in bad)
        return f"project name {name!r} contains {shown} (W&B refuses / \\ # ? % : and newlines)"
    if name.strip() != name:
        return f"project name {name!r} starts or ends with a space"
    if name.startswith(REGISTRY_PREFIX):
        return f"project name {name!r}: the {REGISTRY_PREFIX} prefix is reserved for registries"
    return None


def team_name_problem(name: str) -> str | None:
    """Why W&B would refuse `name` for a new team (None: it would accept it)."""
    if not name:
        return "a team name must not be empty"
    if len(name) > TEAM_MAX:
        return f"team name {name[:40]!r}… is {len(name)} characters (at most {TEAM_MAX})"
    if not TEAM_PATTERN.fullmatch(name):
        return (f"team name {name!r}: use lowercase letters, digits, '-' and '_', starting "
                "with a letter or digit")
    return None


def name_taken(name: str, existing: Iterable[str]) -> str | None:
    """Teams and users share W&B's entity namespace: a new team cannot reuse either's name."""
    if name in set(existing):
        return f"the name {name!r} is already taken by a user or team in W&B"
    return None


def check_project_name(name: str) -> str:
    if (problem := project_name_problem(name)) is not None:
        raise InvalidName(problem)
    return name


def check_team_name(name: str) -> str:
    if (problem := team_name_problem(name)) is not None:
        raise InvalidName(problem)
    return name
