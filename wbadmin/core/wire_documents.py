"""Every GraphQL document wbadmin sends, found in its own modules: the module-level strings
that are operations, and the static selections the batched queries repeat under aliases
(with the root field and arguments their callers give them). `doctor` checks each against
the server; the attestation test checks each against the pinned wandb SDK's documents."""

from __future__ import annotations

import importlib
import pkgutil
from types import ModuleType

# Static selections the batched queries repeat under aliases: constant -> (root field, the
# arguments its caller passes).
BATCHED_SELECTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "wbadmin.core.queries.TEAM_SELECTION": ("entity", ("name",)),
    "wbadmin.core.queries.PROJECTS_SELECTION": ("models", ("entityName", "first", "after")),
    "wbadmin.core.queries.PROJECTS_WITH_LAST_RUN_SELECTION":
        ("models", ("entityName", "first", "after")),
    "wbadmin.core.queries.REGISTRY_MEMBERS_SELECTION": ("project", ("name", "entityName")),
    "wbadmin.core.onboarding.state.DESCRIPTIONS": ("models", ("entityName", "first", "after")),
    "wbadmin.core.quotas.wire.PROJECTS_SELECTION": ("entity", ("name",)),
    "wbadmin.core.quotas.wire.CHANGES_SELECTION": ("entity", ("name",)),
    "wbadmin.core.quotas.wire.STORAGE_SELECTION": ("entity", ("name",)),
    "wbadmin.core.quotas.wire.RUNS_SELECTION": ("project", ("name", "entityName")),
    "wbadmin.core.quotas.wire.FILES_SELECTION": ("project", ("name", "entityName")),
    "wbadmin.core.quotas.degraded.ORDERED_PROJECTS_SELECTION": ("entity", ("name",)),
    "wbadmin.core.quotas.degraded.ALL_PROJECTS_SELECTION":
        ("models", ("entityName", "first", "after")),
}

# Which feature of wbadmin a document serves, by the module that holds it (first match).
FEATURES: list[tuple[str, str]] = [
    ("wbadmin.core.access.", "Access"),
    ("wbadmin.core.changes_team", "Access"),
    ("wbadmin.core.promotions.", "Promotions"),
    ("wbadmin.core.quotas.", "Quotas"),
    ("wbadmin.core.governance.", "Governance"),
    ("wbadmin.core.onboarding.orgfile", "Org-as-code"),
    ("wbadmin.core.onboarding.export", "Org-as-code"),
    ("wbadmin.core.onboarding.", "Onboarding"),
    ("wbadmin.core.reports.", "Reports"),
    ("wbadmin.core.", "Explorer"),  # the sync, the tree and everything read for it
]


def feature_of(where: str) -> str:
    return next(feature for prefix, feature in FEATURES if where.startswith(prefix))


def _modules() -> list[ModuleType]:
    from .. import core

    return [importlib.import_module(m.name)
            for m in pkgutil.walk_packages(core.__path__, "wbadmin.core.")
            if not m.name.startswith("wbadmin.core.doctor")]


def static_documents() -> dict[str, str]:
    """{module.NAME: document} for module-level strings that are GraphQL operations."""
    from graphql import GraphQLError, parse  # graphql-core: loaded by doctor, not at start
    from graphql.language import ast as g

    found: dict[str, str] = {}
    for module in _modules():
        for name, value in vars(module).items():
            if not isinstance(value, str) or "{" not in value:
                continue
            try:
                doc = parse(value)
            except GraphQLError:
                continue
            if any(isinstance(d, g.OperationDefinitionNode) for d in doc.definitions):
                found.setdefault(value, f"{module.__name__}.{name}")  # re-exports: once
    return {where: doc for doc, where in found.items()}


def batched_documents() -> dict[str, str]:
    out = {}
    for where, (field, args) in BATCHED_SELECTIONS.items():
        module, name = where.rsplit(".", 1)
        selection = getattr(importlib.import_module(module), name)
        call = ", ".join(f"{arg}: $a0_{arg}" for arg in args)
        out[where] = f"query Batched {{ r0: {field}({call}) {{ {selection} }} }}"
    return out


def all_documents() -> dict[str, str]:
    return {**static_documents(), **batched_documents()}
