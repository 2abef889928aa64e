"""The changes a promotion makes, applied through the engine so the journal records them.

- `MoveAlias`: a registry collection's alias from one version to another (GraphQL `addAliases`,
  which takes the alias from its holder; `deleteAliases` when the alias goes away). Its own
  inverse, so a promotion and a rollback can both be undone from the journal.
- `RecordDecision`: a request, approval, rejection, cancellation or rollback written into the
  version's promotion record (`updateArtifact` metadata + the queue tag), conflict-checked by
  `store.write`. Not reversible: decisions are history; a rollback is a new decision.

The `ctx` the engine passes is a `Client`, or anything with a `.client`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import errors as E
from ..changes import ApplyResult, Change, State, register_change
from ..changes_team import client_of
from ..humanize import plural
from . import store, wire
from .record import Ref, parse_record, parse_ref


@register_change
@dataclass(kw_only=True)
class MoveAlias(Change):
    """`after={"version": "v7"}` moves the alias there; `after=None` removes it."""

    kind = "registry.move_alias"
    via = "GraphQL addAliases"

    collection: str   # ORG/REGISTRY/COLLECTION
    alias: str

    @classmethod
    def make(cls, ref: Ref, alias: str, current: str | None, new: str | None) -> MoveAlias:
        return cls(target=f"{ref.collection_path}:{alias}",
                   before=None if current is None else {"version": current},
                   after=None if new is None else {"version": new},
                   collection=ref.collection_path, alias=alias)

    @property
    def ref(self) -> Ref:
        return parse_ref(self.collection, version=False)

    def summary(self) -> str:
        old = (self.before or {}).get("version", "—")
        new = (self.after or {}).get("version", "—")
        return f"{self.alias}: {old} → {new}"

    async def apply(self, ctx: Any) -> ApplyResult:
        client = client_of(ctx)
        new = (self.after or {}).get("version")
        if new is None:
            holder = await wire.membership(client, self.ref, self.alias)
            if holder is not None:
                await wire.delete_alias(client, holder, self.alias)
            return ApplyResult(None, f"{self.alias} removed from {self.collection}")
        version = await wire.membership(client, self.ref, new)
        if version is None:
            raise E.NotFound(f"{self.collection}:{new} does not exist")
        await wire.add_alias(client, version, self.alias)
        return ApplyResult(None, f"{self.collection}:{self.alias} is now {new}")

    async def read_current(self, ctx: Any) -> State:
        holder = await wire.membership(client_of(ctx), self.ref, self.alias)
        return None if holder is None else {"version": holder.version}


@register_change
@dataclass(kw_only=True)
class RecordDecision(Change):
    """One decision written into the record of ORG/REGISTRY/COLLECTION:vN."""

    kind = "promotion.record"
    via = "GraphQL updateArtifact"
    reversible = False

    version: str          # ORG/REGISTRY/COLLECTION:vN
    decision: str         # request | approve | reject | cancel | rollback | promote
    # Not journaled: the edit itself (a store.Mutation); rebuilt changes only re-read.
    mutation: store.Mutation | None = field(default=None, compare=False, repr=False)
    written: bool = field(default=False, compare=False, repr=False)  # set by apply

    def params(self) -> dict[str, Any]:
        return {"version": self.version, "decision": self.decision}

    def summary(self) -> str:
        before = (self.before or {}).get("status", "—")
        after = (self.after or {}).get("status", "—")
        have = (self.after or {}).get("approvals")
        tail = f" ({plural(have, 'approval')})" if have is not None else ""
        return f"{self.decision}: {before} → {after}{tail}"

    async def apply(self, ctx: Any) -> ApplyResult:
        if self.mutation is None:
            raise E.Unsupported("a journaled promotion decision cannot be re-applied")
        _, record, changed = await store.write(client_of(ctx), parse_ref(self.version),
                                               self.mutation)
        self.written = changed
        if record is not None:
            self.after = {"status": record.status, "approvals": len(record.approvals)}
        return ApplyResult(None, f"{self.version}: {self.decision} recorded"
                           + ("" if changed else " (already there)"))

    async def read_current(self, ctx: Any) -> State:
        version = await wire.membership(client_of(ctx), parse_ref(self.version))
        record = None if version is None else parse_record(version.metadata)
        if record is None:
            return None
        return {"status": record.status, "approvals": len(record.approvals)}
