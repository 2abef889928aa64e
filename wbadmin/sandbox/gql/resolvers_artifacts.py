"""Reading artifacts: collections, versions, memberships, aliases, tags, artifact types.

Version aliases `vN` are implied by each membership's version index; `latest` and custom
aliases are rows of `aliases` (unique per collection). Tags are shared by name, so a tag's
id is derived from its name.
"""

from __future__ import annotations

import re
import sqlite3
import zlib
from typing import Any

from .. import ids
from . import artifact_access as acc
from .context import Context, GraphQLFault
from .mongo_filter import Column, compile_filter, compile_order, install_functions
from .paging import connection, page_bounds

VERSION_RE = re.compile(r"^v(\d+)$")
COLLECTION_TYPENAME = {"SEQUENCE": "ArtifactSequence", "PORTFOLIO": "ArtifactPortfolio"}

# Filterable collection fields (W&B's names and the SDK's aliases for them).
COLLECTION_FIELDS = {
    "id": Column("c.id"), "artifact_collection_id": Column("c.id"),
    "collection_id": Column("c.id"),
    "name": Column("c.name"), "collection_name": Column("c.name"),
    "artifact_collection_name": Column("c.name"),
    "description": Column("c.description"),
    "tag": Column("c.tags", "list"), "tags": Column("c.tags", "list"),
    "created_at": Column("c.created_at", "time"), "createdAt": Column("c.created_at", "time"),
    "updated_at": Column("c.updated_at", "time"), "updatedAt": Column("c.updated_at", "time"),
}
VERSION_ORDER_FIELDS = {
    "created_at": Column("a.created_at", "time"), "createdAt": Column("a.created_at", "time"),
    "version_index": Column("m.version_index"), "versionIndex": Column("m.version_index"),
}


def ctx_of(info: Any) -> Context:
    return info.context


# ---- nodes ---------------------------------------------------------------------------------

def tag_node(name: str) -> dict[str, Any]:
    return {"id": ids.encode("Tag", zlib.crc32(name.encode())), "name": name,
            "tagCategoryName": None, "attributes": None}


def collection_node(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "__typename": COLLECTION_TYPENAME[row["kind"]],
        "id": ids.encode("ArtifactCollection", row["id"]),
        "name": row["name"], "description": row["description"],
        "createdAt": acc.iso(row["created_at"]), "updatedAt": acc.iso(row["updated_at"]),
        "state": "READY",
        "_pk": row["id"], "_pid": row["project_id"], "_type": row["type_name"],
        "_kind": row["kind"], "_tags": row["tags"],
    }


def artifact_node(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "id": ids.encode("Artifact", row["id"]), "versionIndex": row["version_index"],
        "description": row["description"], "metadata": row["metadata"],
        "ttlDurationSeconds": -1, "ttlIsInherited": True, "historyStep": None,
        "state": row["state"], "size": row["size"], "digest": row["digest"],
        "digestAlgorithm": "MANIFEST_MD5", "commitHash": row["commit_hash"],
        "fileCount": row["file_count"], "createdAt": acc.iso(row["created_at"]),
        "updatedAt": acc.iso(row["updated_at"]),
        "_pk": row["id"], "_seq": row["sequence_id"], "_run": row["created_by_run_id"],
    }


def membership_node(row: sqlite3.Row) -> dict[str, Any]:
    return {"id": ids.encode("ArtifactCollectionMembership", row["id"]),
            "versionIndex": row["version_index"], "createdAt": acc.iso(row["created_at"]),
            "_pk": row["id"], "_coll": row["collection_id"], "_art": row["artifact_id"]}


def alias_node(alias: str, coll_id: int, art_id: int, pk: int | None,
               membership_pk: int | None = None) -> dict[str, Any]:
    gid = (ids.encode("ArtifactAlias", pk) if pk is not None
           else ids.encode("ArtifactVersionAlias", membership_pk or 0))
    return {"id": gid, "alias": alias, "_coll": coll_id, "_art": art_id}


def load_collection(ctx: Context, coll_id: int) -> dict[str, Any] | None:
    row = ctx.db.one("SELECT * FROM artifact_collections WHERE id = ?", (coll_id,))
    return collection_node(row) if row and acc.can_read(ctx, row["project_id"]) else None


def load_artifact(ctx: Context, art_id: int) -> dict[str, Any] | None:
    row = ctx.db.one("SELECT * FROM artifacts WHERE id = ?", (art_id,))
    return artifact_node(row) if row and acc.can_read_artifact(ctx, art_id) else None


def membership_aliases(ctx: Context, coll_id: int, art_id: int) -> list[dict[str, Any]]:
    """The aliases of one version in one collection: stored ones, then its `vN`."""
    m = ctx.db.one("SELECT id, version_index FROM memberships "
                   "WHERE collection_id = ? AND artifact_id = ?", (coll_id, art_id))
    if m is None:
        return []
    out = [alias_node(r["alias"], coll_id, art_id, r["id"]) for r in ctx.db.query(
        "SELECT id, alias FROM aliases WHERE collection_id = ? AND artifact_id = ? "
        "ORDER BY id", (coll_id, art_id))]
    out.append(alias_node(f"v{m['version_index']}", coll_id, art_id, None, m["id"]))
    return out


def find_membership(ctx: Context, coll_id: int, ref: str) -> sqlite3.Row | None:
    """A collection's membership by `vN`, by alias, or `latest` (newest when unset)."""
    if match := VERSION_RE.match(ref):
        return ctx.db.one("SELECT * FROM memberships WHERE collection_id = ? AND "
                          "version_index = ?", (coll_id, int(match.group(1))))
    row = ctx.db.one(
        "SELECT m.* FROM aliases a JOIN memberships m ON m.collection_id = a.collection_id "
        "AND m.artifact_id = a.artifact_id WHERE a.collection_id = ? AND a.alias = ?",
        (coll_id, ref))
    if row is None and ref == "latest":
        row = ctx.db.one("SELECT * FROM memberships WHERE collection_id = ? "
                         "ORDER BY version_index DESC LIMIT 1", (coll_id,))
    return row


def project_pk(source: Any) -> int | None:
    if isinstance(source, dict) and isinstance(source.get("_pk"), int):
        return source["_pk"]
    gid = source.get("id") if isinstance(source, dict) else getattr(source, "id", None)
    return ids.decode(gid, "Project") if isinstance(gid, str) else None


def collection_by_name(ctx: Context, pid: int, name: str) -> sqlite3.Row | None:
    if not acc.can_read(ctx, pid):
        return None
    return ctx.db.one("SELECT * FROM artifact_collections WHERE project_id = ? AND name = ?",
                      (pid, name))


def list_collections(ctx: Context, where: list[str], params: list[Any], after: str | None,
                     first: int | None, filters: Any, order: str | None,
                     collection_types: list[str] | None) -> dict[str, Any]:
    """One page of collections (alias `c`) matching `where`, a filter and types."""
    fsql, fparams = compile_filter(filters, COLLECTION_FIELDS)
    clauses = [*where, fsql]
    args = [*params, *fparams]
    if collection_types:
        clauses.append(f"c.kind IN ({', '.join('?' for _ in collection_types)})")
        args.extend(collection_types)
    osql, oparams = compile_order(order, COLLECTION_FIELDS, "-created_at", "c.id")
    offset, limit = page_bounds(after, first)
    sql_where = " AND ".join(f"({c})" for c in clauses)
    with ctx.db.lock:
        install_functions(ctx.db.conn)
        total = ctx.db.scalar(f"SELECT COUNT(*) FROM artifact_collections c WHERE {sql_where}",
                              tuple(args))
        rows = ctx.db.query(f"SELECT c.* FROM artifact_collections c WHERE {sql_where} "
                            f"ORDER BY {osql} LIMIT ? OFFSET ?",
                            (*args, *oparams, limit, offset))
    return connection(rows, offset, total, collection_node)


# ---- Project fields ------------------------------------------------------------------------

def type_node(ctx: Context, pid: int, name: str) -> dict[str, Any]:
    created = ctx.db.scalar("SELECT MIN(created_at) FROM artifact_collections "
                            "WHERE project_id = ? AND type_name = ?", (pid, name))
    if created is None:
        created = ctx.db.scalar("SELECT created_at FROM projects WHERE id = ?", (pid,))
    return {"id": ids.encode("ArtifactType", zlib.crc32(f"{pid}:{name}".encode())),
            "name": name, "description": None, "createdAt": acc.iso(created),
            "_pid": pid}


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
    import json

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
