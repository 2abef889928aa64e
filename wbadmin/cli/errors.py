"""Exit codes every command documents, and the one-line error that carries them."""

from __future__ import annotations

OK = 0
FINDINGS = 1          # the command worked and found something (e.g. high-severity findings)
USAGE = 2             # bad flags or arguments (argparse uses 2 as well)
AUTH = 3              # no credentials, or the server refused them
PERMISSION = 4        # signed in, but not allowed
NOT_FOUND = 5         # unknown team, user, project, entry ...
CONFLICT = 6          # the change collides with the current state
UNAVAILABLE = 7       # network down, server failing, rate limited past retries
BAD_DATA = 8          # a file or server answer that is not what it should be
INTERNAL = 70         # a bug in wbadmin
INTERRUPTED = 130

# What a command that plans and applies changes may exit with.
# FINDINGS: the plan needs what this server lacks (refused before anything is sent).
CHANGE_CODES = (FINDINGS, USAGE, AUTH, PERMISSION, NOT_FOUND, CONFLICT, UNAVAILABLE, BAD_DATA,
                INTERRUPTED)


class CliError(Exception):
    """A one-line message for a person, and the exit code for a script."""

    def __init__(self, message: str, code: int = USAGE) -> None:
        super().__init__(message)
        self.code = code
