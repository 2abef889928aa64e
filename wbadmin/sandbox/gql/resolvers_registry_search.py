"""Org-wide registry search: `orgEntity.artifactCollections` (RegistryCollections) and
`orgEntity.artifactMemberships` (RegistryVersions), with W&B's three filter levels —
registry (project), collection and version — each a Mongo-style JSON document.

Field names accept both the SDK's "basic" and "advanced" spellings.
"""

from __future__ import annotations

from typing import Any

from . import artifact_access as acc
from .artifact_nodes import COLLECTION_FIELDS, list_collections, membership_node
from .context import Context
from .mongo_filter import Column, compile_filter, compile_order, install_functions
from .paging import connection, page_bounds

REGISTRY_FIELDS = {
    "id": Column("p.id"), "project_id": Column("p.id"), "name": Column("p.name"),
    "entity_id": Column("p.entity_id"), "description": Column("p.description"),
    "created_at": Column("p.created_at", "time"), "createdAt": Column("p.created_at", "time"),
    "updated_at": Column("p.updated_at", "time"), "updatedAt": Column("p.updated_at", "time"),
}

_TAGS = Column("(SELECT json_group_array(t.name) FROM artifact_tags t "
               "WHERE t.artifact_id = a.id)", "list")
# A version's aliases in its collection, including the implied `vN`.
_ALIASES = Column("(SELECT json_group_array(x.alias) FROM (SELECT al.alias AS alias FROM "
                  "aliases al WHERE al.collection_id = m.collection_id AND al.artifact_id = "
                  "m.artifact_id UNION ALL SELECT 'v' || m.version_index) x)", "list")
VERSION_FIELDS = {
    "id": Column("a.id"), "artifact_id": Column("a.id"),
    "version": Column("('v' || m.version_index)"), "version_index": Column("m.version_index"),
    "tag": _TAGS, "tags": _TAGS, "alias": _ALIASES, "aliases": _ALIASES,
    "metadata": Column("a.metadata", "json"), "artifact_metadata": Column("a.metadata", "json"),
    "created_at": Column("a.created_at", "time"),
    "artifact_created_at": Column("a.created_at", "time"),
    "updated_at": Column("a.updated_at", "time"),
    "artifact_size": Column("a.size"),
    "acm_created_at": Column("m.created_at", "time"), "linked_at": Column("m.created_at", "time"),
}


def visible_registries(ctx: Context, entity_pk: int, registry_filter: Any) -> list[int]:
    """Ids of the entity's registries that match the filter and the caller can see."""
    sql, params = compile_filter(registry_filter, REGISTRY_FIELDS)
    with ctx.db.lock:
        install_functions(ctx.db.conn)
        rows = ctx.db.query(f"SELECT p.id FROM projects p WHERE p.entity_id = ? AND "
                            f"p.is_registry = 1 AND ({sql})", (entity_pk, *params))
    return [r[0] for r in rows if acc.can_read(ctx, r[0])]


def _marks(values: list[Any]) -> str:
    return ", ".join("?" for _ in values) or "NULL"


def resolve_entity_collections(source: dict, info: Any, projectFilters: Any = None,
                               filters: Any = None, collectionTypes: list[str] | None = None,
                               after: str | None = None, first: int | None = None,
                               order: str | None = None) -> dict[str, Any]:
    ctx: Context = info.context
    pids = visible_registries(ctx, source["_pk"], projectFilters)
    return list_collections(ctx, [f"c.project_id IN ({_marks(pids)})"], list(pids), after,
                            first, filters, order, collectionTypes)


def resolve_entity_memberships(source: dict, info: Any, projectFilters: Any = None,
                               collectionFilters: Any = None, filters: Any = None,
                               after: str | None = None, first: int | None = None,
                               order: str | None = None) -> dict[str, Any]:
    ctx: Context = info.context
    pids = visible_registries(ctx, source["_pk"], projectFilters)
    csql, cparams = compile_filter(collectionFilters, COLLECTION_FIELDS)
    vsql, vparams = compile_filter(filters, VERSION_FIELDS)
    osql, oparams = compile_order(order, VERSION_FIELDS, "-linked_at", "m.id")
    offset, limit = page_bounds(after, first)
    base = ("FROM memberships m JOIN artifact_collections c ON c.id = m.collection_id "
            "JOIN artifacts a ON a.id = m.artifact_id "
            f"WHERE c.kind = 'PORTFOLIO' AND c.project_id IN ({_marks(pids)}) "
            f"AND ({csql}) AND ({vsql})")
    args = (*pids, *cparams, *vparams)
    with ctx.db.lock:
        install_functions(ctx.db.conn)
        total = ctx.db.scalar(f"SELECT COUNT(*) {base}", args)
        rows = ctx.db.query(f"SELECT m.* {base} ORDER BY {osql} LIMIT ? OFFSET ?",
                            (*args, *oparams, limit, offset))
    return connection(rows, offset, total, membership_node)


RESOLVERS = {
    "Entity": {
        "artifactCollections": resolve_entity_collections,
        "artifactMemberships": resolve_entity_memberships,
    },
}
