"""The W&B calls promotions make. Every document uses only types, fields and arguments that the
SDK 0.31.0 sends itself: FetchOrganization, FetchOrgInfoFromEntity, ArtifactMembershipByName,
RegistryVersions, RegistryUserMembers / RegistryTeamMembers, AddAliases, DeleteAliases and
UpdateArtifact (see the SDK's `sdk/artifacts/_generated/operations.py`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .. import errors as E
from ..client import Client
from ..queries import ORG_OF_ENTITY
from .record import REGISTRY_PREFIX, Ref

FETCH_ORGANIZATION = """
query WbadminFetchOrganization($org: String!) {
  organization(name: $org) { id name orgEntity { id name } }
}
"""

_MEMBERSHIP = """
      id versionIndex createdAt
      aliases { alias }
      artifactCollection { __typename name project { name entity { name } } }
      artifact {
        id description metadata createdAt updatedAt
        tags { name }
        createdBy {
          __typename ... on Run { id name summaryMetrics project { name entity { name } } }
        }
      }
"""

MEMBERSHIP_BY_NAME = f"""
query WbadminArtifactMembershipByName($entity: String!, $project: String!, $name: String!) {{
  project(name: $project, entityName: $entity) {{
    artifactCollectionMembership(name: $name) {{ {_MEMBERSHIP} }}
  }}
}}
"""

REGISTRY_VERSIONS = f"""
query WbadminRegistryVersions($organization: String!, $registryFilter: JSONString,
    $collectionFilter: JSONString, $artifactFilter: JSONString, $cursor: String,
    $perPage: Int) {{
  organization(name: $organization) {{
    orgEntity {{
      name
      artifactMemberships(projectFilters: $registryFilter,
          collectionFilters: $collectionFilter, filters: $artifactFilter,
          after: $cursor, first: $perPage) {{
        pageInfo {{ endCursor hasNextPage }}
        edges {{ node {{ {_MEMBERSHIP} }} }}
      }}
    }}
  }}
}}
"""

REGISTRY_MEMBERS = """
query WbadminRegistryMembers($project: String!, $entity: String!) {
  project(name: $project, entityName: $entity) {
    members { id username role { name } }
    teamMembers { team { id name } role { name } }
  }
}
"""

VIEWER = """
query WbadminViewer {
  viewer { id username entity teams { edges { node { name } } } }
}
"""

ADD_ALIASES = """
mutation AddAliases($input: AddAliasesInput!) {
  result: addAliases(input: $input) { success }
}
"""

DELETE_ALIASES = """
mutation DeleteAliases($input: DeleteAliasesInput!) {
  result: deleteAliases(input: $input) { success }
}
"""

UPDATE_ARTIFACT = """
mutation UpdateArtifact($input: UpdateArtifactInput!) {
  result: updateArtifact(input: $input) {
    artifact { id metadata updatedAt tags { name } }
  }
}
"""

ROLE_RANK = {"restricted_viewer": 1, "viewer": 2, "member": 3, "admin": 4}


@dataclass
class Version:
    """One linked version of a registry collection, as promotions need it."""

    ref: Ref
    entity: str                  # the org entity the registry lives in
    artifact_id: str
    index: int
    aliases: list[str]
    tags: list[str]
    metadata: dict[str, Any]
    created_at: str | None = None
    updated_at: str | None = None
    run: dict[str, Any] | None = None   # producing run: name, project, entity
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def version(self) -> str:
        return f"v{self.index}"


def _metadata(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if not value:
        return {}
    try:
        parsed = json.loads(value)
    except (TypeError, json.JSONDecodeError):
        raise E.BadResponse("artifact metadata is not JSON") from None
    return parsed if isinstance(parsed, dict) else {}


def run_metrics(raw: Any) -> dict[str, float]:
    """The numeric summary metrics a run recorded (W&B's `_runtime`, `_step` left out)."""
    summary = _metadata(raw)
    return {k: v for k, v in summary.items() if not k.startswith("_")
            and isinstance(v, int | float) and not isinstance(v, bool)}


def version_of(node: dict[str, Any], org: str) -> Version:
    coll = node.get("artifactCollection") or {}
    project = coll.get("project") or {}
    art = node.get("artifact") or {}
    creator = art.get("createdBy") or {}
    run = None
    if creator.get("__typename") == "Run":
        rp = creator.get("project") or {}
        run = {"name": creator.get("name"), "project": rp.get("name"),
               "entity": (rp.get("entity") or {}).get("name"),
               "summary": run_metrics(creator.get("summaryMetrics"))}
    registry = str(project.get("name") or "").removeprefix(REGISTRY_PREFIX)
    index = int(node.get("versionIndex") or 0)
    return Version(
        ref=Ref(org, registry, str(coll.get("name") or ""), f"v{index}"),
        entity=str((project.get("entity") or {}).get("name") or org),
        artifact_id=art["id"], index=index,
        aliases=[a["alias"] for a in node.get("aliases") or [] if a and a.get("alias")],
        tags=[t["name"] for t in art.get("tags") or [] if t and t.get("name")],
        metadata=_metadata(art.get("metadata")), created_at=art.get("createdAt"),
        updated_at=art.get("updatedAt"), run=run)


async def org_entity(client: Client, org: str) -> str:
    """The entity a registry lives in: the organization's orgEntity (`org` may already be the
    org entity's or a team's name, as the SDK accepts)."""
    try:
        data = await client.graphql(FETCH_ORGANIZATION, {"org": org})
    except E.NotFound:
        data = {}
    found = ((data.get("organization") or {}).get("orgEntity") or {}).get("name")
    if found:
        return found
    data = await client.graphql(ORG_OF_ENTITY, {"entity": org})
    ent = data.get("entity") or {}
    orgs = [ent["organization"]] if ent.get("organization") else \
        ((ent.get("user") or {}).get("organizations") or [])
    for item in orgs:
        if name := (item.get("orgEntity") or {}).get("name"):
            return name
    raise E.NotFound(f"no organization {org!r} visible to this key")


async def org_name(client: Client, org: str) -> str:
    """The organization's name (RegistryVersions takes it), from an org or entity name."""
    data = await client.graphql(FETCH_ORGANIZATION, {"org": org})
    if (data.get("organization") or {}).get("name"):
        return data["organization"]["name"]
    data = await client.graphql(ORG_OF_ENTITY, {"entity": org})
    ent = data.get("entity") or {}
    if (ent.get("organization") or {}).get("name"):
        return ent["organization"]["name"]
    raise E.NotFound(f"no organization {org!r} visible to this key")


async def membership(client: Client, ref: Ref, name: str | None = None) -> Version | None:
    """`ref.collection:<name or ref.version>` in the registry, or None when there is none."""
    entity = await org_entity(client, ref.org)
    data = await client.graphql(MEMBERSHIP_BY_NAME, {
        "entity": entity, "project": ref.project,
        "name": f"{ref.collection}:{name or ref.version}"})
    node = (data.get("project") or {}).get("artifactCollectionMembership")
    if not node or not node.get("artifact"):
        return None
    version = version_of(node, ref.org)
    version.ref = ref.at(version.version)
    version.entity = entity
    return version


async def registry_versions(client: Client, org: str, *, registry: str | None = None,
                            collection: str | None = None, tag_prefix: str | None = None,
                            ) -> list[Version]:
    """Linked versions across registries, narrowed on the server where W&B's search can."""
    organization = await org_name(client, org)
    variables: dict[str, Any] = {"organization": organization}
    if registry:
        variables["registryFilter"] = json.dumps({"name": REGISTRY_PREFIX + registry})
    if collection:
        variables["collectionFilter"] = json.dumps({"name": collection})
    if tag_prefix:
        variables["artifactFilter"] = json.dumps({"tag": {"$regex": f"^{tag_prefix}"}})
    out = []
    async for node in client.paginate(REGISTRY_VERSIONS, variables,
                                      ("organization", "orgEntity", "artifactMemberships")):
        if node.get("artifact"):
            out.append(version_of(node, org))
    return out


async def update_artifact(client: Client, artifact_id: str, *,
                          metadata: dict[str, Any] | None = None,
                          add_tags: Iterable[str] = (), drop_tags: Iterable[str] = (),
                          ) -> dict[str, Any]:
    payload: dict[str, Any] = {"artifactID": artifact_id}
    if metadata is not None:
        payload["metadata"] = json.dumps(metadata)
    if add := [{"tagName": t} for t in add_tags]:
        payload["tagsToAdd"] = add
    if drop := [{"tagName": t} for t in drop_tags]:
        payload["tagsToDelete"] = drop
    data = await client.graphql(UPDATE_ARTIFACT, {"input": payload})
    return ((data.get("result") or {}).get("artifact")) or {}


def _alias_input(version: Version, alias: str) -> dict[str, Any]:
    return {"artifactID": version.artifact_id, "aliases": [{
        "alias": alias, "entityName": version.entity, "projectName": version.ref.project,
        "artifactCollectionName": version.ref.collection}]}


async def add_alias(client: Client, version: Version, alias: str) -> None:
    data = await client.graphql(ADD_ALIASES, {"input": _alias_input(version, alias)})
    if not (data.get("result") or {}).get("success"):
        raise E.BadResponse(f"addAliases did not succeed for {alias} on {version.ref}")


async def delete_alias(client: Client, version: Version, alias: str) -> None:
    data = await client.graphql(DELETE_ALIASES, {"input": _alias_input(version, alias)})
    if not (data.get("result") or {}).get("success"):
        raise E.BadResponse(f"deleteAliases did not succeed for {alias} on {version.ref}")


@dataclass(frozen=True)
class Actor:
    """Who is deciding: the key's user, their teams, and their effective registry role."""

    username: str
    teams: tuple[str, ...]
    registry_role: str | None = None

    @property
    def registry_admin(self) -> bool:
        return self.registry_role == "admin"


async def viewer(client: Client) -> tuple[str, tuple[str, ...]]:
    data = await client.graphql(VIEWER)
    me = data.get("viewer")
    if not me:
        raise E.AuthError("the server does not recognise this API key")
    teams = tuple(e["node"]["name"] for e in (me.get("teams") or {}).get("edges") or [])
    return me["username"], teams


async def _org_admin(client: Client, username: str) -> bool:
    """Org admins are effective registry admins. Only org admins (and org service accounts)
    may read SCIM, so a refusal means "not an org admin"."""
    try:
        answer = await client.scim("GET", "Users",
                                   params={"filter": f'userName eq "{username}"'})
    except (E.PermissionDenied, E.AuthError, E.NotFound, E.BadRequest, E.Unsupported):
        return False
    users = (answer.data or {}).get("Resources") or [] if isinstance(answer.data, dict) else []
    return any(u.get("userName") == username and u.get("organizationRole") == "admin"
               for u in users if isinstance(u, dict))


async def actor(client: Client, version: Version) -> Actor:
    """The caller and their effective role in the version's registry: the highest of the org
    role (admin → admin), the direct registry role and the roles of their teams."""
    username, teams = await viewer(client)
    data = await client.graphql(REGISTRY_MEMBERS, {"project": version.ref.project,
                                                   "entity": version.entity})
    project = data.get("project") or {}
    roles = [(m.get("role") or {}).get("name") for m in project.get("members") or []
             if m.get("username") == username]
    roles += [(t.get("role") or {}).get("name") for t in project.get("teamMembers") or []
              if (t.get("team") or {}).get("name") in teams]
    if "admin" not in roles and await _org_admin(client, username):
        roles.append("admin")
    best = max((r for r in roles if r), key=lambda r: ROLE_RANK.get(r, 0), default=None)
    return Actor(username, teams, best)
