"""A W&B-compatible API server (GraphQL, SCIM, run files) backed by SQLite.

The far side of the wire: it imports nothing from `wbadmin.core` or `wbadmin.tui`.
"""
