"""Quotas: per-team GPU-hour, storage and concurrency limits W&B does not have.

policy.py (the TOML policy), period.py, wire.py (what is asked of W&B), refresh.py (full and
incremental refresh of the usage store), store.py (the store in the SQLite cache), usage.py
(usage, limits, cost), scale.py (one bar scale per metric), history.py (each metric's
daily history), forecast.py, alerts.py (webhooks, once per threshold per period),
service.py (all of it for the CLI and the TUI).
"""

from .policy import QuotaPolicy, QuotaPolicyError, load_policy, parse_policy
from .service import QuotaService, policy_for, policy_notice
from .usage import Gauge, TeamUsage, UsageReport

__all__ = ["Gauge", "QuotaPolicy", "QuotaPolicyError", "QuotaService", "TeamUsage",
           "UsageReport", "load_policy", "parse_policy", "policy_for", "policy_notice"]
