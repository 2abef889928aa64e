"""Changing artifacts: aliases (unique per collection; adding one moves it), version tags,
description and metadata, linking into registries, collection tags and collection edits.

Permissions follow W&B's registry matrix (see `artifact_access`): members edit ordinary
aliases, tags and descriptions; protected aliases need an effective registry admin;
viewers and restricted viewers change nothing.
"""

from __future__ import annotations

import json
import re
from typing import Any

from ... import clock
from .. import ids
from . import artifact_access as acc
from .artifact_nodes import (
    VERSION_RE,
    collection_node,
    load_artifact,
    membership_node,
    tag_node,
)
from .context import Context, GraphQLFault, NotFound, PermissionDenied

TAG_RE = re.compile(r"^[-\w]+([ ]+[-\w]+)*$")
MAX_ALIAS = 128


def _ctx(info: Any) -> Context:
    return info.context


def _now() -> int:
    return int(clock.now())


def _artifact_row(ctx: Context, gid: str) -> Any:
    pk = ids.decode(gid, "Artifact")
    row = None if pk is None else ctx.db.one("SELECT * FROM artifacts WHERE id = ?", (pk,))
    if row is None or not acc.can_read_artifact(ctx, row["id"]):
        raise NotFound(f"artifact {gid!r} not found")
    return row


def _collection(ctx: Context, entity: str | None, project: str | None, name: str) -> Any:
    row = ctx.db.one(
        "SELECT c.* FROM artifact_collections c JOIN projects p ON p.id = c.project_id "
        "JOIN entities e ON e.id = p.entity_id WHERE e.name = ? AND p.name = ? AND c.name = ?",
        (entity, project, name))
    if row is None or not acc.can_read(ctx, row["project_id"]):
        raise NotFound(f"artifact collection {entity}/{project}/{name} not found")
    return row


def _check_alias(alias: str) -> None:
    if not alias or len(alias) > MAX_ALIAS or "/" in alias or ":" in alias:
        raise GraphQLFault(f"invalid alias {alias!r}")
    if VERSION_RE.match(alias):
        raise GraphQLFault(f"aliases of the form vN are reserved: {alias!r}")


def _set_alias(conn: Any, coll_id: int, art_id: int, alias: str) -> None:
    """Point `alias` at the version within the collection, taking it from its holder."""
    conn.execute("DELETE FROM aliases WHERE collection_id = ? AND alias = ?", (coll_id, alias))
    conn.execute("INSERT INTO aliases (collection_id, artifact_id, alias) VALUES (?, ?, ?)",
                 (coll_id, art_id, alias))


def _is_member(ctx: Context, coll_id: int, art_id: int) -> bool:
    return ctx.db.scalar("SELECT 1 FROM memberships WHERE collection_id = ? AND "
                         "artifact_id = ?", (coll_id, art_id)) is not None


def _alias_edits(ctx: Context, input: dict, verb: str) -> tuple[Any, list[tuple[Any, str]]]:
    art = _artifact_row(ctx, input["artifactID"])
    edits = []
    for spec in input["aliases"]:
        coll = _collection(ctx, spec["entityName"], spec["projectName"],
                           spec["artifactCollectionName"])
        if not _is_member(ctx, coll["id"], art["id"]):
            raise GraphQLFault(f"artifact is not in collection {coll['name']!r}")
        _check_alias(spec["alias"])
        acc.require_alias_edit(ctx, coll["project_id"], spec["alias"], verb)
        edits.append((coll, spec["alias"]))
    return art, edits


def resolve_add_aliases(_root: Any, info: Any, input: dict) -> dict[str, Any]:
    ctx = _ctx(info)
    art, edits = _alias_edits(ctx, input, "add")
    with ctx.db.transaction() as conn:
        for coll, alias in edits:
            _set_alias(conn, coll["id"], art["id"], alias)
    return {"success": True, "clientMutationId": input.get("clientMutationId")}


def resolve_delete_aliases(_root: Any, info: Any, input: dict) -> dict[str, Any]:
    ctx = _ctx(info)
    art, edits = _alias_edits(ctx, input, "remove")
    with ctx.db.transaction() as conn:
        for coll, alias in edits:
            conn.execute("DELETE FROM aliases WHERE collection_id = ? AND artifact_id = ? "
                         "AND alias = ?", (coll["id"], art["id"], alias))
    return {"success": True, "clientMutationId": input.get("clientMutationId")}


def _tag_names(tags: list[dict] | None) -> list[str]:
    names = []
    for tag in tags or []:
        name = tag["tagName"]
        if len(name) > 128 or not TAG_RE.match(name):
            raise GraphQLFault(f"invalid tag name {name!r}")
        names.append(name)
    return names


def resolve_update_artifact(_root: Any, info: Any, input: dict) -> dict[str, Any]:
    """Description, metadata and tags (tags belong to the version, so every link shows
    them). Aliases in `aliases` are set in the version's own sequence."""
    ctx = _ctx(info)
    art = _artifact_row(ctx, input["artifactID"])
    if not acc.can_write_artifact(ctx, art["id"]):
        raise PermissionDenied("permission denied: cannot update this artifact")
    sets: dict[str, Any] = {}
    if input.get("description") is not None:
        sets["description"] = input["description"]
    if input.get("metadata") is not None:
        metadata = input["metadata"]
        if isinstance(metadata, str):  # JSONString, whether or not the scalar parsed it
            try:
                metadata = json.loads(metadata)
            except json.JSONDecodeError as exc:
                raise GraphQLFault(f"metadata is not JSON: {exc.msg}") from exc
        if not isinstance(metadata, dict):
            raise GraphQLFault("metadata must be a JSON object")
        sets["metadata"] = json.dumps(metadata)
    add, drop = _tag_names(input.get("tagsToAdd")), _tag_names(input.get("tagsToDelete"))
    aliases = []
    for spec in input.get("aliases") or []:
        _check_alias(spec["alias"])
        aliases.append(spec["alias"])
    seq = ctx.db.one("SELECT * FROM artifact_collections WHERE id = ?", (art["sequence_id"],))
    for alias in aliases:
        acc.require_alias_edit(ctx, seq["project_id"], alias, "add")
    with ctx.db.transaction() as conn:
        sets["updated_at"] = _now()
        cols = ", ".join(f"{k} = ?" for k in sets)
        conn.execute(f"UPDATE artifacts SET {cols} WHERE id = ?", (*sets.values(), art["id"]))
        for name in drop:
            conn.execute("DELETE FROM artifact_tags WHERE artifact_id = ? AND name = ?",
                         (art["id"], name))
        for name in add:
            conn.execute("INSERT OR IGNORE INTO artifact_tags (artifact_id, name) VALUES (?, ?)",
                         (art["id"], name))
        for alias in aliases:
            _set_alias(conn, seq["id"], art["id"], alias)
    return {"artifact": load_artifact(ctx, art["id"]),
            "clientMutationId": input.get("clientMutationId")}


def resolve_delete_artifact(_root: Any, info: Any, input: dict) -> dict[str, Any]:
    ctx = _ctx(info)
    art = _artifact_row(ctx, input["artifactID"])
    seq = ctx.db.one("SELECT * FROM artifact_collections WHERE id = ?", (art["sequence_id"],))
    acc.require_write(ctx, seq["project_id"], "delete artifacts")
    if not input.get("deleteAliases") and ctx.db.scalar(
            "SELECT 1 FROM aliases WHERE artifact_id = ? AND alias != 'latest'", (art["id"],)):
        raise GraphQLFault("cannot delete an artifact that has aliases; remove them first "
                           "or pass deleteAliases")
    node = load_artifact(ctx, art["id"])
    with ctx.db.transaction() as conn:
        holders = conn.execute("SELECT collection_id FROM aliases WHERE artifact_id = ? AND "
                               "alias = 'latest'", (art["id"],)).fetchall()
        conn.execute("DELETE FROM artifacts WHERE id = ?", (art["id"],))
        for (coll_id,) in holders:
            _repoint_latest(conn, coll_id)
    return {"artifact": {**node, "state": "DELETED"},
            "clientMutationId": input.get("clientMutationId")}


def _repoint_latest(conn: Any, coll_id: int) -> None:
    newest = conn.execute("SELECT artifact_id FROM memberships WHERE collection_id = ? "
                          "ORDER BY version_index DESC LIMIT 1", (coll_id,)).fetchone()
    if newest is not None:
        _set_alias(conn, coll_id, newest[0], "latest")


# ---- linking ---------------------------------------------------------------------------------

def _target_portfolio(ctx: Context, input: dict, art: Any, seq: Any) -> int:
    """The registry collection to link into, created on first link (member+)."""
    if input.get("artifactPortfolioID"):
        pk = ids.decode(input["artifactPortfolioID"], "ArtifactCollection", "ArtifactPortfolio")
        row = None if pk is None else ctx.db.one(
            "SELECT * FROM artifact_collections WHERE id = ? AND kind = 'PORTFOLIO'", (pk,))
        if row is None or not acc.can_read(ctx, row["project_id"]):
            raise NotFound("artifact portfolio not found")
        acc.require_write(ctx, row["project_id"], "link artifacts")
        return row["id"]
    project = ctx.db.one("SELECT p.* FROM projects p JOIN entities e ON e.id = p.entity_id "
                         "WHERE e.name = ? AND p.name = ?",
                         (input.get("entityName"), input.get("projectName")))
    name = input.get("artifactPortfolioName")
    if project is None or not name or not acc.can_read(ctx, project["id"]):
        raise NotFound(f"project {input.get('projectName')!r} not found")
    acc.require_write(ctx, project["id"], "link artifacts")
    row = ctx.db.one("SELECT * FROM artifact_collections WHERE project_id = ? AND name = ?",
                     (project["id"], name))
    if row is not None:
        if row["kind"] != "PORTFOLIO" or row["type_name"] != seq["type_name"]:
            raise GraphQLFault(f"collection {name!r} holds {row['type_name']!r} artifacts")
        return row["id"]
    allowed = json.loads(project["artifact_types"] or "[]")
    if project["is_registry"] and not project["allow_all_types"] \
            and seq["type_name"] not in allowed:
        raise GraphQLFault(f"artifact type {seq['type_name']!r} is not allowed in this registry")
    with ctx.db.transaction() as conn:
        now = _now()
        return conn.execute(
            "INSERT INTO artifact_collections (project_id, type_name, name, kind, created_at, "
            "updated_at) VALUES (?, ?, ?, 'PORTFOLIO', ?, ?)",
            (project["id"], seq["type_name"], name, now, now)).lastrowid


def resolve_link_artifact(_root: Any, info: Any, input: dict) -> dict[str, Any]:
    ctx = _ctx(info)
    art = _artifact_row(ctx, input.get("artifactID") or "")
    seq = ctx.db.one("SELECT c.*, e.kind AS entity_kind FROM artifact_collections c JOIN "
                     "projects p ON p.id = c.project_id JOIN entities e ON e.id = p.entity_id "
                     "WHERE c.id = ?", (art["sequence_id"],))
    if seq["entity_kind"] == "user":
        raise GraphQLFault("artifacts logged to a personal entity cannot be linked")
    coll_id = _target_portfolio(ctx, input, art, seq)
    coll = ctx.db.one("SELECT * FROM artifact_collections WHERE id = ?", (coll_id,))
    aliases = [a["alias"] for a in input.get("aliases") or []]
    for alias in aliases:
        _check_alias(alias)
        acc.require_alias_edit(ctx, coll["project_id"], alias, "add")
    with ctx.db.transaction() as conn:
        existing = conn.execute("SELECT id FROM memberships WHERE collection_id = ? AND "
                                "artifact_id = ?", (coll_id, art["id"])).fetchone()
        if existing is None:
            nxt = conn.execute("SELECT COALESCE(MAX(version_index), -1) + 1 FROM memberships "
                               "WHERE collection_id = ?", (coll_id,)).fetchone()[0]
            conn.execute("INSERT INTO memberships (collection_id, artifact_id, version_index, "
                         "created_at) VALUES (?, ?, ?, ?)", (coll_id, art["id"], nxt, _now()))
            _set_alias(conn, coll_id, art["id"], "latest")
            conn.execute("UPDATE artifact_collections SET updated_at = ? WHERE id = ?",
                         (_now(), coll_id))
        for alias in aliases:
            _set_alias(conn, coll_id, art["id"], alias)
    m = ctx.db.one("SELECT * FROM memberships WHERE collection_id = ? AND artifact_id = ?",
                   (coll_id, art["id"]))
    return {"versionIndex": m["version_index"], "artifactCollection": collection_node(coll),
            "artifactMembership": membership_node(m),
            "clientMutationId": input.get("clientMutationId")}


def resolve_unlink_artifact(_root: Any, info: Any, input: dict) -> dict[str, Any]:
    ctx = _ctx(info)
    art = _artifact_row(ctx, input["artifactID"])
    pk = ids.decode(input["artifactPortfolioID"], "ArtifactCollection", "ArtifactPortfolio")
    coll = None if pk is None else ctx.db.one(
        "SELECT * FROM artifact_collections WHERE id = ? AND kind = 'PORTFOLIO'", (pk,))
    if coll is None or not _is_member(ctx, coll["id"], art["id"]):
        raise NotFound("the artifact is not linked to that collection")
    acc.require_write(ctx, coll["project_id"], "unlink artifacts")
    held = {r[0] for r in ctx.db.query("SELECT alias FROM aliases WHERE collection_id = ? AND "
                                       "artifact_id = ?", (coll["id"], art["id"]))}
    for alias in held & acc.protected_aliases(ctx, coll["project_id"]):
        acc.require_alias_edit(ctx, coll["project_id"], alias, "remove")
    with ctx.db.transaction() as conn:
        conn.execute("DELETE FROM aliases WHERE collection_id = ? AND artifact_id = ?",
                     (coll["id"], art["id"]))
        conn.execute("DELETE FROM memberships WHERE collection_id = ? AND artifact_id = ?",
                     (coll["id"], art["id"]))
        if "latest" in held:
            _repoint_latest(conn, coll["id"])
    return {"artifactID": input["artifactID"], "success": True,
            "clientMutationId": input.get("clientMutationId")}


# ---- collections -------------------------------------------------------------------------

def _collection_tags(info: Any, input: dict, add: bool) -> list[str]:
    ctx = _ctx(info)
    coll = _collection(ctx, input["entityName"], input["projectName"],
                       input["artifactCollectionName"])
    acc.require_write(ctx, coll["project_id"], "edit collection tags")
    names = _tag_names(input["tags"])
    tags = json.loads(coll["tags"] or "[]")
    tags = [*tags, *(n for n in names if n not in tags)] if add else \
        [t for t in tags if t not in names]
    with ctx.db.transaction() as conn:
        conn.execute("UPDATE artifact_collections SET tags = ?, updated_at = ? WHERE id = ?",
                     (json.dumps(tags), _now(), coll["id"]))
    return names


def resolve_add_collection_tags(_root: Any, info: Any, input: dict) -> dict[str, Any]:
    return {"tags": [tag_node(n) for n in _collection_tags(info, input, True)],
            "clientMutationID": input.get("clientMutationID")}


def resolve_delete_collection_tags(_root: Any, info: Any, input: dict) -> dict[str, Any]:
    _collection_tags(info, input, False)
    return {"success": True, "clientMutationID": input.get("clientMutationID")}


def _collection_by_id(ctx: Context, gid: str, kind: str) -> Any:
    pk = ids.decode(gid, "ArtifactCollection", "ArtifactSequence", "ArtifactPortfolio")
    row = None if pk is None else ctx.db.one(
        "SELECT * FROM artifact_collections WHERE id = ? AND kind = ?", (pk, kind))
    if row is None or not acc.can_read(ctx, row["project_id"]):
        raise NotFound(f"artifact collection {gid!r} not found")
    return row


def _update_collection(info: Any, input: dict, key: str, kind: str) -> dict[str, Any]:
    ctx = _ctx(info)
    coll = _collection_by_id(ctx, input[key], kind)
    acc.require_write(ctx, coll["project_id"], "edit collections")
    name = input.get("name") or coll["name"]
    if name != coll["name"] and ctx.db.scalar(
            "SELECT 1 FROM artifact_collections WHERE project_id = ? AND name = ?",
            (coll["project_id"], name)):
        raise GraphQLFault(f"a collection named {name!r} already exists")
    description = input.get("description", coll["description"])
    new_type = input.get("destinationArtifactTypeName") or coll["type_name"]
    with ctx.db.transaction() as conn:
        conn.execute("UPDATE artifact_collections SET name = ?, description = ?, type_name = ?, "
                     "updated_at = ? WHERE id = ?",
                     (name, description, new_type, _now(), coll["id"]))
    row = ctx.db.one("SELECT * FROM artifact_collections WHERE id = ?", (coll["id"],))
    return {"artifactCollection": collection_node(row),
            "clientMutationId": input.get("clientMutationId")}


def _delete_collection(info: Any, input: dict, key: str, kind: str) -> dict[str, Any]:
    ctx = _ctx(info)
    coll = _collection_by_id(ctx, input[key], kind)
    acc.require_write(ctx, coll["project_id"], "delete collections")
    held = {r[0] for r in ctx.db.query("SELECT alias FROM aliases WHERE collection_id = ?",
                                       (coll["id"],))}
    for alias in held & acc.protected_aliases(ctx, coll["project_id"]):
        acc.require_alias_edit(ctx, coll["project_id"], alias, "remove")
    node = {**collection_node(coll), "state": "DELETED"}
    with ctx.db.transaction() as conn:
        conn.execute("DELETE FROM artifact_collections WHERE id = ?", (coll["id"],))
    return {"artifactCollection": node, "clientMutationId": input.get("clientMutationId")}


RESOLVERS = {
    "Mutation": {
        "addAliases": resolve_add_aliases,
        "deleteAliases": resolve_delete_aliases,
        "updateArtifact": resolve_update_artifact,
        "deleteArtifact": resolve_delete_artifact,
        "linkArtifact": resolve_link_artifact,
        "unlinkArtifact": resolve_unlink_artifact,
        "createArtifactCollectionTagAssignments": resolve_add_collection_tags,
        "deleteArtifactCollectionTagAssignments": resolve_delete_collection_tags,
        "updateArtifactSequence":
            lambda r, i, input: _update_collection(i, input, "artifactSequenceID", "SEQUENCE"),
        "updateArtifactPortfolio":
            lambda r, i, input: _update_collection(i, input, "artifactPortfolioID", "PORTFOLIO"),
        "moveArtifactSequence":
            lambda r, i, input: _update_collection(i, input, "artifactSequenceID", "SEQUENCE"),
        "deleteArtifactSequence":
            lambda r, i, input: _delete_collection(i, input, "artifactSequenceID", "SEQUENCE"),
        "deleteArtifactPortfolio":
            lambda r, i, input: _delete_collection(i, input, "artifactPortfolioID", "PORTFOLIO"),
    },
}
