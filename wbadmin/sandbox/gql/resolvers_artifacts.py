"""Reading artifacts: the `Project`, `Query`, collection, version, membership, alias and
artifact-type fields. Node builders live in `artifact_nodes`."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from .. import ids
from . import artifact_access as acc
from .artifact_nodes import (
    alias_node,
    artifact_node,
    collection_by_name,
    collection_node,
    find_membership,
    list_collections,
    load_artifact,
    load_collection,
    membership_aliases,
    membership_node,
    project_pk,
    tag_node,
    type_node,
)
from .context import Context, GraphQLFault
from .mongo_filter import Column, compile_filter, compile_order, install_functions
from .paging import connection, page_bounds

VERSION_ORDER_FIELDS = {
    "created_at": Column("a.created_at", "time"), "createdAt": Column("a.created_at", "time"),
    "version_index": Column("m.version_index"), "versionIndex": Column("m.version_index"),
}


def ctx_of(info: Any) -> Context:
    return info.context


# ---- Project fields ------------------------------------------------------------------------
def resolve_project_artifact_type(source: Any, info: Any, name: str) -> dict[str, Any] | None:
    ctx, pid = ctx_of(info), project_pk(source)
    if pid is None or not acc.can_read(ctx, pid):
        return None
    found = ctx.db.scalar("SELECT 1 FROM artifact_collections WHERE project_id = ? AND "
                          "type_name = ? LIMIT 1", (pid, name))
    return type_node(ctx, pid, name) if found else None


def resolve_project_collections(source: Any, info: Any, after: str | None = None,
                                first: int | None = None, filters: Any = None,
                                order: str | None = None,
                                collectionTypes: list[str] | None = None) -> dict | None:
    ctx, pid = ctx_of(info), project_pk(source)
    if pid is None or not acc.can_read(ctx, pid):
        return None
    return list_collections(ctx, ["c.project_id = ?"], [pid], after, first, filters, order,
                            collectionTypes)


def resolve_project_collection(source: Any, info: Any, name: str) -> dict[str, Any] | None:
    ctx, pid = ctx_of(info), project_pk(source)
    row = None if pid is None else collection_by_name(ctx, pid, name)
    return collection_node(row) if row else None


def _membership_by_name(ctx: Context, pid: int | None, name: str) -> sqlite3.Row | None:
    coll_name, _, ref = name.partition(":")
    row = None if pid is None else collection_by_name(ctx, pid, coll_name)
    return find_membership(ctx, row["id"], ref or "latest") if row else None


def resolve_project_membership(source: Any, info: Any, name: str) -> dict[str, Any] | None:
    m = _membership_by_name(ctx_of(info), project_pk(source), name)
    return membership_node(m) if m else None


def resolve_project_artifact(source: Any, info: Any, name: str) -> dict[str, Any] | None:
    ctx = ctx_of(info)
    m = _membership_by_name(ctx, project_pk(source), name)
    return load_artifact(ctx, m["artifact_id"]) if m else None


# ---- Query roots ---------------------------------------------------------------------------

def resolve_artifact_by_id(_root: Any, info: Any, id: str) -> dict[str, Any] | None:
    pk = ids.decode(id, "Artifact")
    return None if pk is None else load_artifact(ctx_of(info), pk)


def resolve_collection_by_id(_root: Any, info: Any, id: str) -> dict[str, Any] | None:
    pk = ids.decode(id, "ArtifactCollection", "ArtifactSequence", "ArtifactPortfolio")
    return None if pk is None else load_collection(ctx_of(info), pk)


# ---- ArtifactCollection fields ---------------------------------------------------------------

def _project_node(ctx: Context, pid: int) -> Any:
    from .resolvers_projects import project_node  # written by the projects area

    return project_node(ctx.db, pid)


def resolve_coll_project(source: dict, info: Any) -> Any:
    # An invisible source project reads as null (the SDK then treats it as read-only).
    ctx = ctx_of(info)
    return _project_node(ctx, source["_pid"]) if acc.can_read(ctx, source["_pid"]) else None


def resolve_coll_type(source: dict, info: Any) -> dict[str, Any]:
    return type_node(ctx_of(info), source["_pid"], source["_type"])


def resolve_coll_tags(source: dict, info: Any, after: str | None = None,
                      first: int | None = None) -> dict[str, Any]:
    names = json.loads(source["_tags"] or "[]")
    offset, limit = page_bounds(after, first)
    return connection(names[offset:offset + limit], offset, len(names), tag_node)


def resolve_coll_aliases(source: dict, info: Any, after: str | None = None,
                         first: int | None = None) -> dict[str, Any]:
    ctx = ctx_of(info)
    offset, limit = page_bounds(after, first)
    total = ctx.db.scalar("SELECT COUNT(*) FROM aliases WHERE collection_id = ?",
                          (source["_pk"],))
    rows = ctx.db.query("SELECT * FROM aliases WHERE collection_id = ? ORDER BY id "
                        "LIMIT ? OFFSET ?", (source["_pk"], limit, offset))
    return connection(rows, offset, total, lambda r: alias_node(
        r["alias"], r["collection_id"], r["artifact_id"], r["id"]))


def resolve_coll_artifacts(source: dict, info: Any, after: str | None = None,
                           first: int | None = None, order: str | None = None,
                           filters: Any = None) -> dict[str, Any]:
    from .resolvers_registry_search import VERSION_FIELDS

    ctx = ctx_of(info)
    fsql, fparams = compile_filter(filters, VERSION_FIELDS)
    osql, oparams = compile_order(order, VERSION_ORDER_FIELDS, "-version_index", "m.id")
    offset, limit = page_bounds(after, first)
    base = ("FROM memberships m JOIN artifacts a ON a.id = m.artifact_id "
            f"WHERE m.collection_id = ? AND ({fsql})")
    with ctx.db.lock:
        install_functions(ctx.db.conn)
        total = ctx.db.scalar(f"SELECT COUNT(*) {base}", (source["_pk"], *fparams))
        rows = ctx.db.query(f"SELECT a.*, m.version_index AS m_version {base} "
                            f"ORDER BY {osql} LIMIT ? OFFSET ?",
                            (source["_pk"], *fparams, *oparams, limit, offset))
    conn = connection(rows, offset, total, artifact_node)
    for edge, row in zip(conn["edges"], rows, strict=True):
        edge["version"] = f"v{row['m_version']}"
    return conn


def resolve_coll_membership(source: dict, info: Any, aliasName: str) -> dict | None:
    m = find_membership(ctx_of(info), source["_pk"], aliasName)
    return membership_node(m) if m else None


def resolve_coll_memberships(source: dict, info: Any, after: str | None = None,
                             first: int | None = None) -> dict[str, Any]:
    ctx = ctx_of(info)
    offset, limit = page_bounds(after, first)
    total = ctx.db.scalar("SELECT COUNT(*) FROM memberships WHERE collection_id = ?",
                          (source["_pk"],))
    rows = ctx.db.query("SELECT * FROM memberships WHERE collection_id = ? "
                        "ORDER BY version_index DESC LIMIT ? OFFSET ?",
                        (source["_pk"], limit, offset))
    return connection(rows, offset, total, membership_node)


def resolve_latest_artifact(source: dict, info: Any) -> dict[str, Any] | None:
    m = find_membership(ctx_of(info), source["_pk"], "latest")
    return load_artifact(ctx_of(info), m["artifact_id"]) if m else None


# ---- Artifact, membership, alias, type fields -------------------------------------------------

def resolve_art_sequence(source: dict, info: Any) -> dict[str, Any] | None:
    row = ctx_of(info).db.one("SELECT * FROM artifact_collections WHERE id = ?",
                              (source["_seq"],))
    return collection_node(row) if row else None


def resolve_art_type(source: dict, info: Any) -> dict[str, Any]:
    ctx = ctx_of(info)
    row = ctx.db.one("SELECT project_id, type_name FROM artifact_collections WHERE id = ?",
                     (source["_seq"],))
    return type_node(ctx, row["project_id"], row["type_name"])


def resolve_art_tags(source: dict, info: Any) -> list[dict[str, Any]]:
    return [tag_node(r[0]) for r in ctx_of(info).db.query(
        "SELECT name FROM artifact_tags WHERE artifact_id = ? ORDER BY id", (source["_pk"],))]


def resolve_art_aliases(source: dict, info: Any) -> list[dict[str, Any]]:
    """Aliases in every collection the caller can see, each with its collection."""
    ctx = ctx_of(info)
    out: list[dict[str, Any]] = []
    for row in ctx.db.query(
            "SELECT m.collection_id, c.project_id FROM memberships m JOIN artifact_collections"
            " c ON c.id = m.collection_id WHERE m.artifact_id = ? ORDER BY m.id",
            (source["_pk"],)):
        if acc.can_read(ctx, row["project_id"]):
            out.extend(membership_aliases(ctx, row["collection_id"], source["_pk"]))
    return out


def resolve_art_memberships(source: dict, info: Any, after: str | None = None,
                            first: int | None = None) -> dict[str, Any]:
    ctx = ctx_of(info)
    rows = [r for r in ctx.db.query(
        "SELECT m.*, c.project_id FROM memberships m JOIN artifact_collections c "
        "ON c.id = m.collection_id WHERE m.artifact_id = ? ORDER BY m.id", (source["_pk"],))
        if acc.can_read(ctx, r["project_id"])]
    offset, limit = page_bounds(after, first)
    return connection(rows[offset:offset + limit], offset, len(rows), membership_node)


def resolve_art_created_by(source: dict, info: Any) -> Any:
    if source["_run"] is None:
        return None
    from .resolvers_runs import run_node  # written by the runs area

    node = run_node(ctx_of(info).db, source["_run"])
    if isinstance(node, dict):
        node = {**node, "__typename": "Run"}
    return node


def resolve_membership_aliases(source: dict, info: Any) -> list[dict[str, Any]]:
    return membership_aliases(ctx_of(info), source["_coll"], source["_art"])


def resolve_link_collection(source: dict, info: Any) -> dict[str, Any] | None:
    return load_collection(ctx_of(info), source["_coll"])


def resolve_link_artifact(source: dict, info: Any) -> dict[str, Any] | None:
    return load_artifact(ctx_of(info), source["_art"])


def resolve_type_collections(source: dict, info: Any, after: str | None = None,
                             first: int | None = None, filters: Any = None,
                             order: str | None = None,
                             collectionTypes: list[str] | None = None) -> dict[str, Any]:
    return list_collections(ctx_of(info), ["c.project_id = ?", "c.type_name = ?"],
                            [source["_pid"], source["name"]], after, first, filters, order,
                            collectionTypes)


def _type_collection(source: dict, info: Any, name: str, kind: str | None) -> dict | None:
    row = collection_by_name(ctx_of(info), source["_pid"], name)
    if row is None or row["type_name"] != source["name"] or (kind and row["kind"] != kind):
        return None
    return collection_node(row)


def resolve_collection_type(value: Any, _info: Any, _type: Any) -> str:
    if isinstance(value, dict) and "__typename" in value:
        return value["__typename"]
    raise GraphQLFault("unknown artifact collection kind")


def resolve_creator_type(value: Any, _info: Any, _type: Any) -> str:
    return value.get("__typename", "Run") if isinstance(value, dict) else "Run"


COLLECTION_RESOLVERS = {
    "project": resolve_coll_project, "defaultArtifactType": resolve_coll_type,
    "tags": resolve_coll_tags, "aliases": resolve_coll_aliases,
    "artifacts": resolve_coll_artifacts, "artifactMembership": resolve_coll_membership,
    "artifactMemberships": resolve_coll_memberships,
}

RESOLVERS = {
    "Query": {"artifact": resolve_artifact_by_id,
              "artifactCollection": resolve_collection_by_id},
    "Project": {
        "artifactType": resolve_project_artifact_type,
        "artifactCollections": resolve_project_collections,
        "artifactCollection": resolve_project_collection,
        "artifactCollectionMembership": resolve_project_membership,
        "artifact": resolve_project_artifact,
    },
    "ArtifactSequence": {**COLLECTION_RESOLVERS, "latestArtifact": resolve_latest_artifact},
    "ArtifactPortfolio": COLLECTION_RESOLVERS,
    "Artifact": {
        "artifactSequence": resolve_art_sequence, "artifactType": resolve_art_type,
        "tags": resolve_art_tags, "aliases": resolve_art_aliases,
        "artifactMemberships": resolve_art_memberships, "createdBy": resolve_art_created_by,
    },
    "ArtifactCollectionMembership": {
        "aliases": resolve_membership_aliases, "artifactCollection": resolve_link_collection,
        "artifact": resolve_link_artifact,
    },
    "ArtifactAlias": {"artifactCollection": resolve_link_collection,
                      "artifact": resolve_link_artifact},
    "ArtifactType": {
        "artifactCollections": resolve_type_collections,
        "artifactCollection": lambda s, i, name: _type_collection(s, i, name, None),
        "artifactSequence": lambda s, i, name: _type_collection(s, i, name, "SEQUENCE"),
    },
}

TYPE_RESOLVERS = {
    "ArtifactCollection": resolve_collection_type,
    "ArtifactCreator": resolve_creator_type,
}
