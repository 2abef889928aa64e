"""The GraphQL documents wbadmin sends.

Only types, fields and arguments that W&B's own SDK (0.31.0) sends are used, so what works
against the sandbox works against W&B (see shared/reference/wandb-sdk-wire.md). Batched
queries repeat one of these selections under field aliases (`t0: entity(...)`), which any
GraphQL server accepts.
"""

from __future__ import annotations

from collections.abc import Sequence

VIEWER = """
query WbadminViewer {
  viewer { id username name email admin entity teams { edges { node { name } } } }
}
"""

# The shape of the SDK's FetchOrgInfoFromEntity.
ORG_OF_ENTITY = """
query WbadminOrgOfEntity($entity: String!) {
  entity(name: $entity) {
    organization { name orgEntity { name } }
    user { organizations { name orgEntity { name } } }
  }
}
"""

# One project, with its newest run (the SDK's GetProject fields plus `access`/`runCount`).
PROJECT = """
query WbadminProject($name: String!, $entity: String!) {
  project(name: $name, entityName: $entity) {
    id name entityName createdAt updatedAt access runCount user { username }
    lastRun: runs(first: 1, order: "-created_at") { edges { node { createdAt heartbeatAt } } }
  }
}
"""

# One team: the fields of the SDK's TeamFragment / TeamMemberFragment that wbadmin uses.
TEAM_SELECTION = """
    id name isTeam storageBytes
    members { id role pending email username name accountType }
"""

# One page of a team's projects: ProjectFragment fields, plus `access` (RegistryFragment)
# and `runCount` (the Runs query). The full sync stops there; refreshing one team also asks
# for each project's newest run ("last run"), a per-project runs query on W&B's side too.
_PROJECT_FIELDS = "id name entityName createdAt updatedAt access runCount user { username }"
PROJECTS_SELECTION = f"""
    pageInfo {{ endCursor hasNextPage }}
    edges {{ node {{ {_PROJECT_FIELDS} }} }}
"""
PROJECTS_WITH_LAST_RUN_SELECTION = f"""
    pageInfo {{ endCursor hasNextPage }}
    edges {{ node {{
      {_PROJECT_FIELDS}
      lastRun: runs(first: 1, order: "-created_at") {{
        edges {{ node {{ createdAt heartbeatAt }} }}
      }}
    }} }}
"""

FETCH_REGISTRIES = """
query WbadminRegistries($organization: String!, $cursor: String, $perPage: Int) {
  organization(name: $organization) {
    orgEntity {
      projects(after: $cursor, first: $perPage) {
        pageInfo { endCursor hasNextPage }
        edges { node { id name description access createdAt } }
      }
    }
  }
}
"""

REGISTRY_COLLECTIONS = """
query WbadminRegistryCollections($organization: String!, $cursor: String, $perPage: Int) {
  organization(name: $organization) {
    orgEntity {
      artifactCollections(collectionTypes: [PORTFOLIO], after: $cursor, first: $perPage) {
        pageInfo { endCursor hasNextPage }
        edges { node {
          __typename id name description createdAt
          project { name }
          type: defaultArtifactType { name }
          tags { edges { node { name } } }
        } }
      }
    }
  }
}
"""

# Filters are the SDK's own Mongo-style JSON strings (RegistryVersions sends the same).
REGISTRY_VERSIONS = """
query WbadminRegistryVersions($organization: String!, $cursor: String, $perPage: Int,
                              $registryFilter: JSONString, $collectionFilter: JSONString) {
  organization(name: $organization) {
    orgEntity {
      artifactMemberships(projectFilters: $registryFilter, collectionFilters: $collectionFilter,
                          after: $cursor, first: $perPage) {
        pageInfo { endCursor hasNextPage }
        edges { node {
          id versionIndex createdAt
          aliases { alias }
          artifactCollection { __typename name project { name } }
          artifact { id metadata tags { name } createdAt }
        } }
      }
    }
  }
}
"""

REGISTRY_MEMBERS_SELECTION = """
    members { id username role { name } }
    teamMembers { team { name } role { name } }
"""


def batched(name: str, field: str, selection: str, var_types: dict[str, str],
            calls: Sequence[dict[str, object]]) -> tuple[str, dict[str, object]]:
    """One query holding `len(calls)` copies of `field(...) { selection }` under aliases.

    `var_types` maps the field's argument names to GraphQL types; each call gives the
    argument values. Returns the document and its variables (`a0_name`, `a1_name`, ...).
    """
    params, parts, variables = [], [], {}
    for i, call in enumerate(calls):
        args = []
        for arg, gql_type in var_types.items():
            var = f"a{i}_{arg}"
            params.append(f"${var}: {gql_type}")
            args.append(f"{arg}: ${var}")
            variables[var] = call.get(arg)
        parts.append(f"  r{i}: {field}({', '.join(args)}) {{{selection}  }}")
    document = f"query {name}({', '.join(params)}) {{\n" + "\n".join(parts) + "\n}\n"
    return document, variables
