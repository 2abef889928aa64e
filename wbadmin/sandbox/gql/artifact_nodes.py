"""Source dicts for artifacts, collections, memberships, aliases, tags and artifact types,
and the lookups the artifact and registry resolvers share.

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
from .context import Context
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


def type_node(ctx: Context, pid: int, name: str) -> dict[str, Any]:
    created = ctx.db.scalar("SELECT MIN(created_at) FROM artifact_collections "
                            "WHERE project_id = ? AND type_name = ?", (pid, name))
    if created is None:
        created = ctx.db.scalar("SELECT created_at FROM projects WHERE id = ?", (pid,))
    return {"id": ids.encode("ArtifactType", zlib.crc32(f"{pid}:{name}".encode())),
            "name": name, "description": None, "createdAt": acc.iso(created),
            "_pid": pid}
