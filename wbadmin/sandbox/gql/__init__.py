"""The sandbox's GraphQL endpoint: W&B's schema (a faithful subset) on graphql-core."""
