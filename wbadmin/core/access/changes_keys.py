"""Changes of a service account's API keys: make one (`CreateApiKey`), delete one
(`DeleteApiKey`). Neither can be undone: W&B cannot bring a deleted key back, and a made
key is taken back by deleting it.

A made key is journaled by its id and a marker description only — never its value, which
exists in this process alone, held as a `Secret` (`CreateApiKey.made`), until it is handed
over (`key_rotation`). An entry left 'pending' by a crash before the hand-over is settled by
deleting the key it made (`settle`): nobody received it, so nobody can be using it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import errors as E
from ..changes import ApplyResult, Change, State, register_change
from ..changes_team import client_of
from ..redact import Secret
from .api_keys import (
    DELETE_KEY,  # noqa: F401 - named in `documents`
    GENERATE_KEY,  # noqa: F401 - named in `documents`
    account_keys,
    acting_as,
    delete_key,
    generate_key,
)


def key_target(account: str, key_id: str) -> str:
    return f"{account}/keys/{key_id}"


@register_change
@dataclass(kw_only=True)
class DeleteApiKey(Change):
    """Delete one key of a service account (the SDK's `User.delete_api_key`), as the admin.
    `due_at`: when a rotation's grace period ends (the plan shows it; the journal keeps the
    entry 'scheduled' until then). before {"key": id}, after None."""

    kind = "sa-key-delete"
    via = "GraphQL deleteApiKey"
    reversible = False
    documents = ("DELETE_KEY",)

    account: str
    key_id: str
    team: str | None = None          # where an admin who is not an org admin reads its keys
    description: str | None = None
    due_at: float | None = None

    def summary(self) -> str:
        what = f"delete key {self.key_id}" + (f" ({self.description})"
                                              if self.description else "")
        if self.due_at is None:
            return what
        from ..journal import iso

        return f"{what} at {iso(self.due_at)} (after the grace period)"

    async def apply(self, ctx: Any) -> ApplyResult:
        await delete_key(client_of(ctx), self.key_id)
        return ApplyResult(detail=f"key {self.key_id} of {self.account} deleted")

    async def read_current(self, ctx: Any) -> State:
        keys = await account_keys(client_of(ctx), self.account, self.team)
        return {"key": self.key_id} if any(k.id == self.key_id for k in keys) else None


@register_change
@dataclass(kw_only=True)
class CreateApiKey(Change):
    """Make a key for a service account (the SDK's `User.generate_api_key`), acting as the
    account with its current key (`acting`: in memory, never journaled). `description` is
    a marker unique to this rotation, so the key can be found by it before its id is known.
    before None; after {"description": marker}, then {"key": id, ...} once made."""

    kind = "sa-key-create"
    via = "GraphQL generateApiKey, as the account"
    reversible = False
    documents = ("GENERATE_KEY",)

    account: str
    description: str
    team: str | None = None
    acting: Secret | None = field(default=None, compare=False, repr=False)
    made: Secret | None = field(default=None, compare=False, repr=False)
    made_id: str | None = field(default=None, compare=False)

    def params(self) -> dict[str, Any]:
        return {"account": self.account, "description": self.description, "team": self.team}

    def summary(self) -> str:
        return f"make a new key ({self.description})"

    async def apply(self, ctx: Any) -> ApplyResult:
        if self.acting is None:
            raise E.AuthError(f"making a key for {self.account} needs its current key")
        async with acting_as(client_of(ctx), self.acting, self.account) as own:
            self.made_id, self.made = await generate_key(own, self.description)
        return ApplyResult(detail=f"key {self.made_id} made for {self.account}")

    async def read_current(self, ctx: Any) -> State:
        keys = await account_keys(client_of(ctx), self.account, self.team)
        mine = [k for k in keys if k.description == self.description]
        return {"key": mine[0].id, "description": self.description} if mine else None

    def matches(self, current: State, expected: State) -> bool:
        if expected is None or current is None:
            return expected is None and current is None
        return current.get("description") == expected.get("description")

    async def settle(self, ctx: Any) -> tuple[str, str]:
        """An entry left 'pending': the key was made but never handed over, or never made.
        A made key is deleted (its value is gone with the process that made it)."""
        client = client_of(ctx)
        orphans = [k for k in await account_keys(client, self.account, self.team)
                   if k.description == self.description]
        for key in orphans:
            await delete_key(client, key.id)
        if orphans:
            ids = ", ".join(k.id for k in orphans)
            return "not_applied", (f"reconciled: the rotation stopped before the new key was "
                                   f"handed over; the orphan key {ids} was deleted, the old "
                                   "key is untouched")
        return "not_applied", ("reconciled: the rotation stopped before W&B made the new key; "
                               "nothing to delete, the old key is untouched")
