"""A service account's API keys on the wire: list them, read its current key, make and delete
keys — the documents the wandb SDK sends (`User.api_keys`, `User.generate_api_key`,
`User.delete_api_key`, `Team.members`), nothing else.

W&B has no "rotate" (reference §4.6): a new key is made, then the old one deleted. Making a
key acts as the caller (`generateApiKey` takes no user), so it is made with the account's own
key. That key is read from the team member listing (`members { apiKey }`, which W&B answers
to the team's admins) for this purpose only, held as a `Secret`, and never cached or logged.

Listing keys: an org admin reads any account's keys in the user listing (`users(query:)`,
"local administrators" only); anyone else lists them as the account itself (`viewer`, whose
keys W&B always shows their owner).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from .. import errors as E
from ..client import Client
from ..redact import Secret
from . import service_accounts  # its SA_USERS, not re-exported (doctor names it there)

OWN_KEYS = """
query WbadminOwnKeys {
  viewer { id username apiKeys { edges { node { id description } } } }
}
"""
# The SDK's GetTeamEntity selects `apiKey` on members: for a service account, its key (to
# the team's admins). Read only to act as the account in a rotation.
MEMBER_KEY = """
query WbadminServiceAccountKey($name: String!) {
  entity(name: $name) { members { username accountType apiKey } }
}
"""
# The SDK's GenerateApiKey: `apiKey.name` of its answer is the new secret itself.
GENERATE_KEY = """
mutation GenerateApiKey($description: String) {
  result: generateApiKey(input: {description: $description}) { apiKey { id name } }
}
"""
DELETE_KEY = """
mutation DeleteApiKey($id: String!) {
  result: deleteApiKey(input: {id: $id}) { success }
}
"""


@dataclass(frozen=True)
class KeyRef:
    """A key by its id and description: never its value."""

    id: str
    description: str | None


class KeyMismatch(E.AuthError):
    """A key given as the account's belongs to another identity, or to none (exit 3)."""


def _keys(user: dict[str, Any] | None) -> list[KeyRef] | None:
    conn = (user or {}).get("apiKeys")
    if conn is None:
        return None
    return [KeyRef(n["id"], n.get("description")) for e in (conn.get("edges") or [])
            if e and (n := e.get("node")) and n.get("id")]


async def own_keys(client: Client) -> tuple[str, list[KeyRef]]:
    """(username, keys) of the identity `client` acts as."""
    viewer = (await client.graphql(OWN_KEYS)).get("viewer")
    if not viewer or not viewer.get("username"):
        raise E.AuthError("W&B does not know this key")
    return viewer["username"], _keys(viewer) or []


async def listed_keys(client: Client, account: str) -> list[KeyRef] | None:
    """The account's keys from the org admin's user listing; None when it is not listed
    (PermissionDenied propagates: only org admins may list users)."""
    data = await client.graphql(service_accounts.SA_USERS, {"query": account})
    for edge in (data.get("users") or {}).get("edges") or []:
        node = (edge or {}).get("node") or {}
        if node.get("username") == account:
            return _keys(node) or []
    return None


async def member_key(client: Client, team: str, account: str) -> Secret | None:
    """The account's current key as its team's member listing gives it to an admin of the
    team; None when W&B does not give it (not an admin, not a member)."""
    entity = (await client.graphql(MEMBER_KEY, {"name": team})).get("entity") or {}
    for member in entity.get("members") or []:
        if member.get("username") == account and member.get("apiKey"):
            return Secret(member["apiKey"])
    return None


@asynccontextmanager
async def acting_as(client: Client, key: Secret, account: str) -> AsyncIterator[Client]:
    """A client acting as `account` with `key`, checked first: a key W&B refuses, or one
    that is someone else's, is a KeyMismatch before anything is sent with it."""
    other = client.acting_as(key.reveal())
    try:
        try:
            username, _ = await own_keys(other)
        except E.AuthError as exc:
            raise KeyMismatch(f"the key given for {account} is not a valid W&B key here "
                              f"({exc.message})", hint="give the account's current key") \
                from None
        if username != account:
            raise KeyMismatch(f"the key given for {account} is not {account}'s: it signs in "
                              f"as {username}; nothing was made",
                              hint="give the account's current key")
        yield other
    finally:
        await other.aclose()


async def account_keys(client: Client, account: str, team: str | None) -> list[KeyRef]:
    """The account's keys, as the admin `client` acts for may read them: the user listing
    (org admins), else as the account itself with the key its team listing gives."""
    try:
        listed = await listed_keys(client, account)
        if listed is not None:
            return listed
    except E.PermissionDenied:
        pass
    key = await member_key(client, team, account) if team else None
    if key is None:
        raise E.PermissionDenied(f"the keys of {account} are not readable with this key: W&B "
                                 "shows them to org admins and to the admins of its team")
    async with acting_as(client, key, account) as own:
        return (await own_keys(own))[1]


async def generate_key(client: Client, description: str) -> tuple[str, Secret]:
    """A new key for the identity `client` acts as: (its id, the secret)."""
    data = await client.graphql(GENERATE_KEY, {"description": description})
    key = ((data.get("result") or {}).get("apiKey")) or {}
    if not key.get("id") or not key.get("name"):
        raise E.BadResponse("generateApiKey answered without the new key")
    return key["id"], Secret(key["name"])


async def delete_key(client: Client, key_id: str) -> None:
    data = await client.graphql(DELETE_KEY, {"id": key_id})
    if not (data.get("result") or {}).get("success"):
        raise E.BadResponse(f"deleteApiKey did not delete key {key_id}")
