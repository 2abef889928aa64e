"""The demo identities that `wbadmin sandbox keys` prints: who they are and what they may do."""

from __future__ import annotations

from typing import Any

from .db import Database

# One identity per kind of access, in the order they are listed.
LISTED = [
    ("alice", "org admin"),
    ("bob", "team admin"),
    ("carol", "member"),
    ("victor", "viewer"),
    ("grace", "registry admin"),
    ("ci-bot", "team service account"),
    ("org-provisioner", "org service account"),
]


def demo_identities(db: Database) -> list[dict[str, Any]]:
    """Each listed identity with its roles and API key, read from the database."""
    out = []
    for username, kind in LISTED:
        user = db.one("SELECT * FROM users WHERE username = ?", (username,))
        if user is None:
            continue
        key = db.scalar("SELECT key FROM api_keys WHERE user_id = ? ORDER BY id LIMIT 1",
                        (user["id"],))
        teams = {r["name"]: r["role"] if r["role"] != "custom" else r["custom"]
                 for r in db.query(
                     "SELECT e.name, m.role, c.name AS custom FROM team_members m "
                     "JOIN entities e ON e.id = m.team_id "
                     "LEFT JOIN custom_roles c ON c.id = m.custom_role_id "
                     "WHERE m.user_id = ? ORDER BY e.name", (user["id"],))}
        registries = {r["name"].removeprefix("wandb-registry-"): r["role"] for r in db.query(
            "SELECT p.name, m.role FROM project_members m JOIN projects p ON p.id = m.project_id "
            "WHERE m.user_id = ? ORDER BY p.name", (user["id"],))}
        out.append({
            "username": username,
            "kind": kind,
            "email": user["email"],
            "org_role": user["org_role"] if user["account_type"] == "USER" else None,
            "service_account": user["account_type"] == "SERVICE",
            "scope": user["sa_scope"],
            "teams": teams,
            "registries": registries,
            "api_key": key,
        })
    return out
