"""Promotions: the registry approval queue kept in W&B itself (a `promote-to-<alias>` tag plus
a record in the version's metadata), with a TOML policy, journaled decisions and webhooks.

Entry point: `PromotionService` (service.py). Importing this package registers the change
kinds (`registry.move_alias`, `promotion.record`) so the journal can rebuild and undo them.
"""

from . import changes  # noqa: F401  (registers the change kinds)
from .policy import Policy, PolicyError, load_policy
from .record import Record, Ref, parse_record, parse_ref
from .service import NotPending, PolicyDenied, PromotionService
from .views import Decision, Detail, HistoryEntry, QueueItem

__all__ = ["Decision", "Detail", "HistoryEntry", "NotPending", "Policy", "PolicyDenied",
           "PolicyError", "PromotionService", "QueueItem", "Record", "Ref", "load_policy",
           "parse_record", "parse_ref"]
