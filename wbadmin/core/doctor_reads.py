"""Each feature's smallest real read: its own documents (imported, never copied), with the
smallest arguments — `first: 1`, one team the key can read, the org's entity, one registry.

Two rounds: the first needs only who the key is; the second needs a registry, a project, a
run and a registry version, taken from the first round's answers (a name not found still
has its document validated by the server, which is what tells what it lacks).

When introspection works, `__type` has already said which fields and arguments exist; what
it cannot say is whether the server takes an argument's *value* where wbadmin passes it.
The one such case known (issue 17): `Entity.projects(filters:, order:)`, which the SDK
passes only on the organization's entity and quota refresh passes on team entities, with
`Project.runs(filters:)` nested. So those two reads (`BEHAVIOUR`) run in every case, in one
request; the rest only when introspection is refused.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .doctor_readcheck import Read
from .identity import Identity

NO_NAME = "wbadmin-doctor-none"  # nothing found to read: the document is still validated
EPOCH = "1970-01-01T00:00:00"    # `updated_at > EPOCH`: every project, in the filters' shape


@dataclass
class Facts:
    """The arguments: who the key is, then what the first round found."""

    username: str
    entity: str
    org: str
    org_entity: str
    team: str                   # one team the key can read (else its own entity)
    team_is_a_team: bool
    registry: str = NO_NAME
    project: str = NO_NAME
    run: str = NO_NAME
    version: tuple[str, str] = (NO_NAME, NO_NAME)  # (registry project, "collection:vN")

    @classmethod
    def of(cls, me: Identity) -> Facts:
        entity = me.entity or me.username
        return cls(username=me.username, entity=entity, org=me.org or NO_NAME,
                   org_entity=me.org_entity or NO_NAME, team=(me.teams or [entity])[0],
                   team_is_a_team=bool(me.teams))


def _constant(where: str) -> Any:
    module, name = where.rsplit(".", 1)
    return getattr(importlib.import_module(module), name)


def _static(variables: Callable[[Facts], dict[str, Any]]) -> Callable[[str, Facts], Read]:
    return lambda where, f: Read(where, _constant(where), variables(f))


def _models(name: str) -> Callable[[str, Facts], Read]:
    """The Explorer's and onboarding's batched `models(entityName:)` pages."""
    def build(where: str, f: Facts) -> Read:
        from .queries import batched

        return Read(where, *batched(name, "models", _constant(where),
                                    {"entityName": "String!", "first": "Int", "after": "String"},
                                    [{"entityName": f.team, "first": 1, "after": None}]))
    return build


def _queries_batched(name: str, field: str, var_types: dict[str, str],
                     call: Callable[[Facts], dict[str, Any]]) -> Callable[[str, Facts], Read]:
    def build(where: str, f: Facts) -> Read:
        from .queries import batched

        return Read(where, *batched(name, field, _constant(where), var_types, [call(f)]))
    return build


def _quotas(name: str, field: str, arg_types: dict[str, str], inner: dict[str, str],
            call: Callable[[Facts], dict[str, Any]]) -> Callable[[str, Facts], Read]:
    def build(where: str, f: Facts) -> Read:
        from .quotas.wire import batched

        return Read(where, *batched(name, field, _constant(where), [call(f)], arg_types,
                                    inner))
    return build


_SINCE = json.dumps({"updated_at": {"$gt": EPOCH}})
_RECENT = json.dumps({"$or": [{"createdAt": {"$gt": EPOCH}}, {"heartbeatAt": {"$gt": EPOCH}}]})
_TEAM = {"name": "String!"}
_PROJECT = {"name": "String!", "entityName": "String!"}
_PAGE = {"FIRST": "Int", "AFTER": "String"}
_FIRST_PAGE = {"organization": None, "perPage": 1}

# module.NAME -> how to read it. Round 1 needs only the identity.
ROUND_1: dict[str, Callable[[str, Facts], Read]] = {
    "wbadmin.core.queries.VIEWER": _static(lambda f: {}),
    "wbadmin.core.queries.FETCH_REGISTRIES": _static(lambda f: {**_FIRST_PAGE,
                                                                "organization": f.org}),
    "wbadmin.core.queries.REGISTRY_COLLECTIONS": _static(lambda f: {**_FIRST_PAGE,
                                                                    "organization": f.org}),
    "wbadmin.core.queries.REGISTRY_VERSIONS": _static(lambda f: {**_FIRST_PAGE,
                                                                 "organization": f.org}),
    "wbadmin.core.queries.TEAM_SELECTION": _queries_batched(
        "WbadminTeams", "entity", _TEAM, lambda f: {"name": f.team}),
    "wbadmin.core.queries.PROJECTS_SELECTION": _models("WbadminProjects"),
    "wbadmin.core.queries.PROJECTS_WITH_LAST_RUN_SELECTION": _models("WbadminProjects"),
    "wbadmin.core.onboarding.state.DESCRIPTIONS": _models("WbadminProjectDescriptions"),
    "wbadmin.core.access.changes.TEAM_PEOPLE": _static(lambda f: {"name": f.team}),
    "wbadmin.core.access.changes_registry.TEAM_ID": _static(lambda f: {"name": f.team}),
    "wbadmin.core.access.user_ids.SEARCH_USERS": _static(lambda f: {"query": f.username}),
    "wbadmin.core.access.service_accounts.SA_USERS": _static(lambda f: {"query": f.username}),
    "wbadmin.core.access.api_keys.OWN_KEYS": _static(lambda f: {}),
    "wbadmin.core.access.user_ids.VIEWER_TEAMS": _static(lambda f: {}),
    "wbadmin.core.access.user_ids.TEAM_MEMBER_IDS": _static(lambda f: {"name": f.team}),
    "wbadmin.core.changes_team.TEAM_MEMBERS": _static(lambda f: {"name": f.team}),
    "wbadmin.core.onboarding.changes.ENTITY": _static(lambda f: {"name": f.team}),
    "wbadmin.core.promotions.wire.ORG_OF_ENTITY": _static(lambda f: {"entity": f.entity}),
    "wbadmin.core.promotions.wire.FETCH_ORGANIZATION": _static(lambda f: {"org": f.org}),
    "wbadmin.core.promotions.wire.REGISTRY_VERSIONS": _static(lambda f: {**_FIRST_PAGE,
                                                                         "organization": f.org}),
    "wbadmin.core.promotions.wire.VIEWER": _static(lambda f: {}),
    "wbadmin.core.quotas.wire.STORAGE_SELECTION": _quotas(
        "WbadminQuotaStorage", "entity", _TEAM, {}, lambda f: {"name": f.team}),
    # The quota refresh's degraded paths (a server without projects(filters:) / (order:)).
    "wbadmin.core.quotas.degraded.ORDERED_PROJECTS_SELECTION": _quotas(
        "WbadminQuotaOrderedProjects", "entity", _TEAM, _PAGE,
        lambda f: {"name": f.team, "FIRST": 1, "AFTER": None}),
    "wbadmin.core.quotas.degraded.ALL_PROJECTS_SELECTION": _quotas(
        "WbadminQuotaAllProjects", "models",
        {"entityName": "String", "first": "Int", "after": "String"}, {},
        lambda f: {"entityName": f.team, "first": 1, "after": None}),
}

BEHAVIOUR: dict[str, Callable[[str, Facts], Read]] = {
    "wbadmin.core.quotas.wire.PROJECTS_SELECTION": _quotas(
        "WbadminQuotaProjects", "entity", _TEAM, {"FILTERS": "JSONString", **_PAGE},
        lambda f: {"name": f.team, "FILTERS": _SINCE, "FIRST": 1, "AFTER": None}),
    "wbadmin.core.quotas.wire.CHANGES_SELECTION": _quotas(
        "WbadminQuotaChanges", "entity", _TEAM,
        {"PFILTERS": "JSONString", "RFILTERS": "JSONString", **_PAGE, "RUNS_FIRST": "Int"},
        lambda f: {"name": f.team, "PFILTERS": _SINCE, "RFILTERS": _RECENT, "FIRST": 1,
                   "RUNS_FIRST": 1, "AFTER": None}),
}

# Reads doctor never sends, and why; they are counted with the writes it does not check.
NOT_SENT: dict[str, str] = {
    # Its answer is a service account's key itself: asked only inside a key rotation.
    "wbadmin.core.access.api_keys.MEMBER_KEY": "answers with a service account's key",
}

# Round 2: what round 1 found.
ROUND_2: dict[str, Callable[[str, Facts], Read]] = {
    "wbadmin.core.queries.PROJECT": _static(lambda f: {"name": f.project,
                                                       "entity": f.team}),
    "wbadmin.core.onboarding.changes.PROJECT": _static(lambda f: {"name": f.project,
                                                                  "entity": f.team}),
    "wbadmin.core.onboarding.workspace_change.PROJECT_WORKSPACES": _static(
        lambda f: {"name": f.project, "entityName": f.team, "viewType": "project-view"}),
    "wbadmin.core.reports.published.REPORT_VIEWS": _static(
        lambda f: {"project": f.project, "entity": f.team, "reportLimit": 1,
                   "viewType": "runs"}),
    "wbadmin.core.queries.REGISTRY_MEMBERS_SELECTION": _queries_batched(
        "WbadminRegistryMembers", "project", _PROJECT,
        lambda f: {"name": f.registry, "entityName": f.org_entity}),
    "wbadmin.core.access.changes_registry.REGISTRY_MEMBERS": _static(
        lambda f: {"name": f.registry, "entity": f.org_entity}),
    "wbadmin.core.promotions.wire.REGISTRY_MEMBERS": _static(
        lambda f: {"project": f.registry, "entity": f.org_entity}),
    "wbadmin.core.promotions.wire.MEMBERSHIP_BY_NAME": _static(
        lambda f: {"entity": f.org_entity, "project": f.version[0], "name": f.version[1]}),
    "wbadmin.core.quotas.wire.RUNS_SELECTION": _quotas(
        "WbadminQuotaRuns", "project", _PROJECT, {"FILTERS": "JSONString", **_PAGE},
        lambda f: {"name": f.project, "entityName": f.team, "FILTERS": _RECENT, "FIRST": 1,
                   "AFTER": None}),
    "wbadmin.core.governance.changes.RUN_TAGS": _static(
        lambda f: {"entity": f.team, "project": f.project, "run": f.run}),
    "wbadmin.core.quotas.wire.FILES_SELECTION": _quotas(
        "WbadminQuotaRunFiles", "project", _PROJECT, {"RUN": "String!"},
        lambda f: {"name": f.project, "entityName": f.team, "RUN": f.run}),
}


def build(table: dict[str, Callable[[str, Facts], Read]], facts: Facts,
          only: set[str] | None = None) -> list[Read]:
    return [make(where, facts) for where, make in table.items()
            if only is None or where in only]


def _first_node(connection: Any) -> dict[str, Any]:
    edges = (connection or {}).get("edges") or []
    return (edges[0] or {}).get("node") or {} if edges else {}


def learn(data: dict[str, dict[str, Any]], facts: Facts) -> None:
    """Round 2's arguments from round 1's answers (`data`: where -> its answer)."""
    def org_entity(where: str) -> dict[str, Any]:
        return ((data.get(where) or {}).get("organization") or {}).get("orgEntity") or {}

    registry = _first_node(org_entity("wbadmin.core.queries.FETCH_REGISTRIES").get("projects"))
    if registry.get("name"):
        facts.registry = registry["name"]
    version = _first_node(org_entity("wbadmin.core.queries.REGISTRY_VERSIONS")
                          .get("artifactMemberships"))
    collection = version.get("artifactCollection") or {}
    if collection.get("name") and (collection.get("project") or {}).get("name"):
        facts.version = (collection["project"]["name"],
                         f"{collection['name']}:v{version.get('versionIndex') or 0}")
    project = _first_node((data.get("wbadmin.core.queries.PROJECTS_SELECTION") or {}).get("r0"))
    if project.get("name"):
        facts.project = project["name"]
    changed = _first_node(((data.get("wbadmin.core.quotas.wire.CHANGES_SELECTION") or {})
                           .get("r0") or {}).get("projects"))
    run = _first_node(changed.get("runs"))
    if changed.get("name") and run.get("name"):
        facts.project, facts.run = changed["name"], run["name"]
