"""Access: people and their grants, access changes with guard rails, bulk plans, findings.

Importing the package registers its change kinds with the journal.
"""

from . import changes, changes_registry  # noqa: F401  (register change kinds)
from .people import AccessError
from .plans import AccessService, Review

__all__ = ["AccessError", "AccessService", "Review"]
