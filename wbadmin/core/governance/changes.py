"""Fixing a run-policy violation where W&B allows it: tags added to (or taken off) a run.

W&B's `upsertBucket` replaces a run's whole tag list, so a change reads the run's current
tags fresh (the SDK's Run query) and sends the merged list with the run's id and nothing
else — another field sent would overwrite what someone else just set. `AddRunTags` and
`RemoveRunTags` are each other's inverse, so a fix is undoable.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import errors as E
from ..changes import ApplyResult, Change, State, register_change
from ..changes_team import client_of

RUN_TAGS = """
query WbadminRunTags($entity: String!, $project: String!, $run: String!) {
  project(name: $project, entityName: $entity) { run(name: $run) { id tags } }
}
"""
# The SDK's UpsertBucket, with the run's id and its whole tag list only.
UPSERT_TAGS = """
mutation UpsertBucket($id: String, $tags: [String!]) {
  upsertBucket(input: {id: $id, tags: $tags}) { bucket { id tags } }
}
"""


async def _run(client: Any, team: str, project: str, run: str) -> dict[str, Any]:
    data = await client.graphql(RUN_TAGS, {"entity": team, "project": project, "run": run})
    node = ((data.get("project") or {}).get("run")) or None
    if node is None or not node.get("id"):
        raise E.NotFound(f"run {team}/{project}/{run} not found")
    return node


@dataclass(kw_only=True)
class _RunTags(Change):
    """before/after: {"tags": [...]} as planned; apply merges with what W&B shows then."""

    via = "GraphQL upsertBucket (id and tags only)"
    documents = ("UPSERT_TAGS",)

    team: str
    project: str
    run: str
    tags: list[str] = field(default_factory=list)  # a list: the journal keeps JSON

    adding = True

    def _merged(self, current: list[str]) -> list[str]:
        if self.adding:
            return [*current, *(t for t in self.tags if t not in current)]
        return [t for t in current if t not in self.tags]

    def summary(self) -> str:
        verb = "add tag" if self.adding else "remove tag"
        return f"{verb}{'s' if len(self.tags) > 1 else ''} {', '.join(self.tags)}"

    async def apply(self, ctx: Any) -> ApplyResult:
        client = client_of(ctx)
        node = await _run(client, self.team, self.project, self.run)
        merged = self._merged([str(t) for t in node.get("tags") or []])
        await client.graphql(UPSERT_TAGS, {"id": node["id"], "tags": merged})
        return ApplyResult(detail=f"tags now {', '.join(merged) or 'none'}")

    async def read_current(self, ctx: Any) -> State:
        node = await _run(client_of(ctx), self.team, self.project, self.run)
        return {"tags": [str(t) for t in node.get("tags") or []]}

    def matches(self, current: State, expected: State) -> bool:
        """Whether the run shows what this change is about (its tags in, or out), whatever
        else its tags are."""
        if current is None or expected is None:
            return current is None and expected is None
        have = set(current.get("tags") or [])
        wanted = set(expected.get("tags") or [])
        mine = set(self.tags)
        return (mine & wanted) <= have and not (mine - wanted) & have


@register_change
@dataclass(kw_only=True)
class AddRunTags(_RunTags):
    kind = "run.add_tags"
    adding = True

    @classmethod
    def make(cls, team: str, project: str, run: str, current: list[str],
             tags: list[str]) -> AddRunTags:
        after = [*current, *(t for t in tags if t not in current)]
        return cls(target=f"{team}/{project}/{run}", before={"tags": list(current)},
                   after={"tags": after}, team=team, project=project, run=run,
                   tags=list(tags))

    def inverse(self) -> Change:
        return RemoveRunTags(target=self.target, before=self.after, after=self.before,
                             team=self.team, project=self.project, run=self.run,
                             tags=[t for t in self.tags
                                   if t not in (self.before or {}).get("tags", [])])


@register_change
@dataclass(kw_only=True)
class RemoveRunTags(_RunTags):
    kind = "run.remove_tags"
    adding = False

    def inverse(self) -> Change:
        return AddRunTags(target=self.target, before=self.after, after=self.before,
                          team=self.team, project=self.project, run=self.run,
                          tags=list(self.tags))
