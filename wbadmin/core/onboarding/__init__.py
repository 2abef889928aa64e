"""Onboarding: new teams and new hires (templates, walkthrough), org-as-code, IdP import.

Importing the package registers its change kinds (teams, projects) with the journal.
"""

from . import changes  # noqa: F401  (register change kinds)
