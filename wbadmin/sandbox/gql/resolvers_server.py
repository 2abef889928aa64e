"""`serverInfo`: the capability probe (`ServerFeaturesQuery`) the SDK sends before registry work."""

from __future__ import annotations

from typing import Any

# Features the sandbox implements, by the names W&B's server reports.
ENABLED_FEATURES = [
    "ARTIFACT_REGISTRY_SEARCH",
    "ARTIFACT_TAGS",
    "ARTIFACT_COLLECTIONS_FILTERING_SORTING",
    "PROJECT_ARTIFACT_COLLECTION_MEMBERSHIP",
    "ARTIFACT_MEMBERSHIP_IN_LINK_ARTIFACT_RESPONSE",
    "INCLUDE_ARTIFACT_TYPES_IN_REGISTRY_CREATION",
]
DISABLED_FEATURES = [
    "ARTIFACT_DIGEST_ALGORITHM",
    "QUERY_AUTOMATIONS_ON_ENTITY",
    "TOTAL_COUNT_IN_FILE_CONNECTION",
    "LARGE_FILENAMES",
]


def resolve_server_info(_root: Any, info: Any) -> dict[str, Any]:
    features = [{"name": n, "isEnabled": True} for n in ENABLED_FEATURES]
    features += [{"name": n, "isEnabled": False} for n in DISABLED_FEATURES]
    return {
        "features": features,
        "latestLocalVersionInfo": None,
        "availableBucketProviders": [],
        "cliVersionInfo": {},
        "frontendHost": info.context.base_url,
    }


RESOLVERS = {"Query": {"serverInfo": resolve_server_info}}
