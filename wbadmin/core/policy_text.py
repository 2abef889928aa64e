"""Reading a policy file (promotion, quota, run policy) the one way: a file named (a flag,
an environment variable, a setting) must exist; the default one may be missing, which each
policy answers in its own way (a default, a demo on the sandbox, none)."""

from __future__ import annotations

from pathlib import Path

from .settings import PolicyFileError


def read_policy_text(file: Path, *, explicit: bool, error: type[PolicyFileError]
                     ) -> str | None:
    """The file's text; None when the default file does not exist. Raises `error` (with
    the file) for a named file that does not exist, one that is not UTF-8, or unreadable."""
    try:
        return file.read_text(encoding="utf-8")
    except FileNotFoundError:
        if explicit:
            raise error(file, "no such file") from None
        return None
    except UnicodeDecodeError:
        raise error(file, "it is not UTF-8 text") from None
    except OSError as exc:
        raise error(file, exc.strerror or str(exc)) from None
