"""W&B's SCIM API (`/scim/...` and `/scim/v2/...`): Users, Groups (= teams), Roles (= custom roles).

W&B implements a subset of RFC 7643/7644 with its own quirks (capitalised `emails` and
`members` keys, `schemas: [""]` on roles, string `status` in errors, Dedicated vs Multi-tenant
behaviour). `handler.handle` is the entry point the server calls.
"""
