"""What every data command shares: flags, the session, the embedded sandbox, error mapping.

Each command handler is wrapped by `command()`, which turns the data layer's typed errors
(WbError subclasses, SettingsError, CredentialsError, JournalError, UndoRefused) into a
`CliError`: one line on stderr and the documented exit code. Unknown exceptions are left to
`main()`, which reports them as internal errors.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import logging
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ..core import errors as E
from ..core import humanize
from ..core.redact import RedactFilter
from ..core.session import SandboxHandle, Session
from ..core.settings import SANDBOX_PROFILE
from .errors import (
    AUTH,
    BAD_DATA,
    CONFLICT,
    FINDINGS,
    INTERNAL,
    INTERRUPTED,
    NOT_FOUND,
    OK,
    PERMISSION,
    UNAVAILABLE,
    USAGE,
    CliError,
)

log = logging.getLogger("wbadmin.cli")
T = TypeVar("T")

EXIT_MEANINGS = {
    OK: "success",
    FINDINGS: "the command worked and found something to act on (for a change: the server "
              "lacks what it needs, as `wbadmin doctor` says; nothing was sent)",
    USAGE: "bad flags or arguments, unknown profile, invalid base URL",
    AUTH: "no API key, a malformed key, no OS keyring, or the server refused the key",
    PERMISSION: "signed in, but not allowed (or --read-only for a write)",
    NOT_FOUND: "unknown team, user or journal entry",
    CONFLICT: "the change collides with the current state (e.g. undo after a later edit)",
    UNAVAILABLE: "network down, server failing or rate limited; --offline with nothing cached",
    BAD_DATA: "a malformed config file, journal, or server answer",
    INTERRUPTED: "interrupted, or declined at the confirmation prompt",
}

SANDBOX_NOTICE = "using the embedded sandbox (demo org)"


class BadServerData(E.WbError):
    """The server answered, but not in the shape W&B's API promises."""

    kind = "bad_response"
    hint = "is the base URL a W&B server?"


# ---- help --------------------------------------------------------------------------------

def epilog(*codes: int) -> str:
    lines = ["exit codes:"]
    for code in (OK, *codes, INTERNAL):
        meaning = EXIT_MEANINGS.get(code, "a bug in wbadmin (please report it)")
        lines.append(f"  {code:<4}{meaning}")
    return "\n".join(lines)


def common_flags(json_flag: bool = True) -> argparse.ArgumentParser:
    """A parent parser with the flags every data command accepts (after the command name)."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("profile and mode")
    group.add_argument("--profile", help="profile to use (see the config file); default: "
                       "the configured default, else your W&B login, else the sandbox")
    group.add_argument("--base-url", help="W&B API base URL, e.g. https://acme.wandb.io")
    group.add_argument("--entity", help="default entity")
    group.add_argument("--org", help="organization name")
    group.add_argument("--sandbox", action="store_true",
                       help="use the embedded sandbox (demo org) whatever credentials exist")
    group.add_argument("--offline", action="store_true",
                       help="no network: read the local cache only")
    group.add_argument("--read-only", action="store_true", help="refuse every write")
    if json_flag:
        group.add_argument("--json", action="store_true", help="JSON output for scripts")
    # Also accepted after the command; SUPPRESS keeps `wbadmin --debug CMD` working.
    group.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="debug logs (keys are masked)")
    return parent


def add_command(sub: argparse._SubParsersAction, name: str, handler: Callable[..., int],
                *, help: str, codes: tuple[int, ...], description: str | None = None,
                json_flag: bool = True) -> argparse.ArgumentParser:
    parser = sub.add_parser(name, parents=[common_flags(json_flag)], help=help,
                            description=description or help, epilog=epilog(*codes),
                            formatter_class=argparse.RawDescriptionHelpFormatter)
    # The parser itself, so an unknown flag is reported with this command's usage.
    parser.set_defaults(handler=command(handler), command_parser=parser)
    return parser


# ---- errors ------------------------------------------------------------------------------

def add_no_wait(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--no-wait", action="store_true",
                        help="if another wbadmin on this machine is applying changes to the "
                             "org, exit 6 instead of waiting for it")


def note_settled(reconciled: list[Any], refresh_error: str | None = None) -> None:
    """What the change path did besides the change: entries a crash left pending, settled
    first; a cache refresh that failed afterwards."""
    for settled in reconciled:
        note(settled.line())
    if refresh_error:
        note(f"could not refresh the cache: {refresh_error}")


def one_line(text: object) -> str:
    return " ".join(str(text).split())


_WB_CODES: list[tuple[type[E.WbError], int]] = [
    (E.AuthError, AUTH), (E.PermissionDenied, PERMISSION), (E.NotFound, NOT_FOUND),
    (E.Conflict, CONFLICT), (E.RateLimited, UNAVAILABLE), (E.ServerError, UNAVAILABLE),
    (E.Offline, UNAVAILABLE), (E.BadResponse, BAD_DATA), (BadServerData, BAD_DATA),
    (E.Unsupported, UNAVAILABLE), (E.BadRequest, USAGE),
]


def map_error(exc: BaseException) -> CliError | None:
    """The CliError for a known data-layer error, or None for anything else (a bug)."""
    from ..core.server_facts import ServerLacks

    if isinstance(exc, ServerLacks):  # as doctor exits when the server lacks something
        return CliError(one_line(exc), FINDINGS)
    from ..core.credentials import CredentialsError
    from ..core.engine import UndoRefused
    from ..core.journal import JournalError
    from ..core.settings import ConfigFileError, SettingsError

    if isinstance(exc, ConfigFileError):
        return CliError(one_line(exc), BAD_DATA)
    if isinstance(exc, SettingsError | CredentialsError):
        code = USAGE if isinstance(exc, SettingsError) else AUTH
        return CliError(one_line(exc), code)
    if isinstance(exc, E.WbError):
        code = next((c for cls, c in _WB_CODES if isinstance(exc, cls)), UNAVAILABLE)
        return CliError(one_line(exc), code)
    if isinstance(exc, JournalError):
        return CliError(one_line(exc), BAD_DATA)
    if isinstance(exc, UndoRefused):
        text = one_line(exc)
        return CliError(text, NOT_FOUND if text.startswith("there is no journal entry")
                        else CONFLICT)
    return None


def command(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Wrap a handler: known errors become one line and an exit code, never a traceback."""

    @functools.wraps(fn)
    def run(args: argparse.Namespace) -> int:
        try:
            return int(fn(args) or 0)
        except CliError:
            raise
        except Exception as exc:
            mapped = map_error(exc)
            if mapped is None:
                raise
            log.debug("%s: %s", type(exc).__name__, exc)
            raise mapped from None

    return run


def note(text: str) -> None:
    """A line for the person, on stderr (stdout stays clean for scripts)."""
    print(f"wbadmin: {text}", file=sys.stderr)


# ---- the session -------------------------------------------------------------------------

def install_redaction() -> None:
    """Mask every live key in every log record (the root handlers cover all loggers)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactFilter) for f in handler.filters):
            handler.addFilter(RedactFilter())


def open_session(args: argparse.Namespace, *, offline: bool | None = None,
                 quiet: bool = False, identity: bool = True) -> Session:
    """Resolve the profile and key, and (unless `identity=False`, for commands that read no
    W&B data) whose key it is: a key verified on this machine before costs no request; any
    other is verified by the server first, so a wrong key sees nothing (exit 3) and an
    unreachable server is exit 7. `offline=True` for local-only commands."""
    install_redaction()
    profile = _flag(args, "profile")
    sandbox = bool(_flag(args, "sandbox"))
    if sandbox and profile not in (None, SANDBOX_PROFILE):
        raise CliError(f"--sandbox and --profile {profile} contradict each other; "
                       "drop one", USAGE)
    flags = {"base_url": getattr(args, "base_url", None), "entity": getattr(args, "entity", None),
             "org": getattr(args, "org", None)}
    session = Session.resolve(
        profile, flags=flags, offline=bool(_flag(args, "offline") if offline is None
                                           else offline),
        read_only=bool(_flag(args, "read_only")), force_sandbox=sandbox)
    # Once per command, though a command (`report`) may open the sessions of others.
    quiet = quiet or getattr(args, "_sandbox_noticed", False)
    if not quiet and session.fallback_reason:
        note(f"{session.fallback_reason}: {SANDBOX_NOTICE}")
    elif not quiet and session.sandbox:
        note(SANDBOX_NOTICE)
    if session.sandbox and not quiet:
        args._sandbox_noticed = True
    if identity:
        session.ensure_identity()
    return session


def _flag(args: argparse.Namespace, name: str) -> Any:
    """A shared flag given after the command, else before it (`wbadmin --profile P teams`:
    the top-level parser keeps those under `tui_<name>`)."""
    return getattr(args, name, None) or getattr(args, f"tui_{name}", None)


def sandbox_launcher() -> SandboxHandle:
    """Start the embedded sandbox (state in the user data dir), signed in as its org admin."""
    from ..embedded import sandbox_launcher as launcher

    try:
        return launcher()()
    except Exception as exc:  # a broken state file, no free port ...
        raise CliError(f"cannot start the embedded sandbox: {one_line(exc)}; "
                       "try `wbadmin sandbox reset`", UNAVAILABLE) from None


def run_online(session: Session, work: Callable[[Session], Awaitable[T]]) -> T:
    """Connect (starting the embedded sandbox if needed), run `work`, close everything."""
    if session.offline:
        raise CliError("this command needs W&B; run it without --offline", USAGE)

    # The result is handed back beside asyncio.run, not through it: on Python 3.11 its
    # SIGINT-handler check formats the main task, result included, in a repr (for a huge
    # org's run-policy judgement that repr alone took seconds).
    done: list[T] = []

    async def main() -> None:
        try:
            session.connect(sandbox_launcher)
            done.append(await work(session))
        finally:
            await session.aclose()

    try:
        asyncio.run(main())
    finally:
        session.close_sandbox()
    return done[0]


def shape_errors(exc: Exception) -> BadServerData:
    """A KeyError/TypeError while reading a server answer: the answer is not W&B's shape."""
    log.debug("unexpected answer shape", exc_info=True)
    return BadServerData(f"the server's answer does not match W&B's API ({type(exc).__name__}: "
                         f"{one_line(exc)})")


# ---- cache freshness ---------------------------------------------------------------------

def age_text(seconds: float | None) -> str:
    if seconds is None:
        return "never synced"
    if seconds < 60:
        return "less than a minute old"
    minutes = seconds / 60
    if minutes < 90:
        return f"{round(minutes)} min old"
    hours = minutes / 60
    if hours < 36:
        return f"{round(hours)} h old"
    return f"{round(hours / 24)} days old"


def when_text(ts: float | None) -> str:
    return "" if ts is None else time.strftime("%Y-%m-%d %H:%M", time.localtime(ts))


def size_text(n: int | None) -> str:
    """Sizes as the TUI shows them (decimal units), blank when unknown."""
    return "" if n is None else humanize.size(n)


def confirm(question: str, yes: bool) -> bool:
    """True when the person (or --yes) agrees. A non-TTY without --yes is refused loudly."""
    if yes:
        return True
    if not sys.stdin.isatty():
        raise CliError("refusing to change anything without confirmation: stdin is not a "
                       "terminal; pass --yes to confirm", USAGE)
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        answer = ""
    return answer.strip().lower() in ("y", "yes")


def confirm_guarded(args: argparse.Namespace, concerns: list[Any], phrase: str | None) -> bool:
    """Agreement to a plan. Without concerns: `confirm` (--yes or y/N). With a guard-rail
    concern (the last admin of a team, yourself): the `phrase` typed, or `--confirm PHRASE`;
    a non-TTY without it is refused with the flag to pass."""
    if not concerns or phrase is None:
        return confirm("Apply these changes?", args.yes)
    if args.confirm is not None:
        if args.confirm.strip() != phrase:
            raise CliError(f"the confirmation does not match: type {phrase!r} to go ahead",
                           USAGE)
        return True
    if not sys.stdin.isatty():
        raise CliError(f"guard rail: {concerns[0].message}; nothing changed. To go ahead anyway "
                       f"pass --confirm {phrase!r}", USAGE)
    try:
        typed = input(f"Type {phrase!r} to go ahead anyway: ")
    except EOFError:
        typed = ""
    return typed.strip() == phrase


def identity_json(identity: Any) -> dict[str, Any]:
    return {"username": identity.username, "name": identity.name, "email": identity.email,
            "entity": identity.entity, "org": identity.org, "org_role": identity.org_role,
            "service_account": identity.is_service_account, "teams": list(identity.teams)}
