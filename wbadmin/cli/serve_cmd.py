"""`wbadmin serve`: the TUI in a browser, through textual-serve.

Whoever opens the page drives a TUI holding your W&B key, so every page, asset and the
websocket that starts the app live under a random token in the URL printed at start-up;
without it the server answers 404 and starts nothing. textual_serve and aiohttp are
imported only when the command runs (they cost start-up time no other command should pay).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import ipaddress
import os
import secrets
import shlex
import signal
import sys
from typing import Any

from . import tui_cmd
from .common import command, epilog, one_line
from .errors import UNAVAILABLE, USAGE, CliError

# textual-serve (with aiohttp) missing or broken: what the command needs is not available
# here, which is no bug of wbadmin's (70) and no mistake in the command line (2).
MISSING_DEPENDENCY = UNAVAILABLE
TEXTUAL_SERVE = "textual-serve==1.1.3"  # as pyproject.toml pins it (a test holds them equal)
# How long Ctrl-C waits for the browser sessions' apps to quit before leaving anyway.
STOP_GRACE_S = 10.0


def register(sub: argparse._SubParsersAction) -> None:
    serve = sub.add_parser(
        "serve", help="serve the TUI in a web browser (textual-serve)",
        description="Serve the TUI to a web browser. The URL printed carries a random token:\n"
                    "without it nothing is served and no app starts. Loopback only unless\n"
                    "--host says otherwise: whoever reaches the port with the token acts with\n"
                    "your W&B key.",
        epilog=epilog(USAGE), formatter_class=argparse.RawDescriptionHelpFormatter)
    serve.add_argument("--port", type=port_number, default=8000, help="TCP port (default 8000)")
    serve.add_argument("--host", default="127.0.0.1",
                       help="address to listen on (default 127.0.0.1, this machine only)")
    tui_cmd.add_flags(serve, "the TUI each browser session opens", "serve")
    serve.set_defaults(handler=command(cmd_serve), command_parser=serve)


def port_number(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port (1-65535)")
    return int(text)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve anywhere
        return False


def tui_options(args: argparse.Namespace) -> list[str]:
    """The TUI's own flags, as `wbadmin` with no command takes them (the top-level spelling,
    `wbadmin --sandbox serve`, counts too)."""
    profile = args.serve_profile or args.tui_profile
    options = ["--profile", profile] if profile else []
    for flag, *given in (("--sandbox", args.serve_sandbox, args.tui_sandbox),
                         ("--read-only", args.serve_read_only, args.tui_read_only),
                         ("--offline", args.serve_offline, args.tui_offline)):
        if any(given):
            options.append(flag)
    return options


def app_command(options: list[str], debug: bool = False) -> str:
    """The shell line textual-serve runs for each browser session: this interpreter's
    `wbadmin` TUI. The key is never on it: the app finds it as the TUI always does (the
    environment, the keyring, the profile). SIGINT is ignored there: Ctrl-C reaches the whole
    process group, and each app should end by textual-serve's quit message (its orderly
    exit, as `q`), not by a signal arriving in the middle of its work."""
    argv = [sys.executable, "-m", "wbadmin", *(["--debug"] if debug else []), *options]
    return f"trap '' INT; exec {shlex.join(argv)}"


def load_textual_serve() -> None:
    try:
        import aiohttp_jinja2  # noqa: F401
        import textual_serve.server  # noqa: F401
        from aiohttp import web  # noqa: F401
    except ImportError as exc:
        missing = exc.name or "textual-serve"
        raise CliError(f"wbadmin serve needs textual-serve, and {missing} cannot be imported "
                       f"({one_line(exc)}): install it with `pip install "
                       f"'{TEXTUAL_SERVE}'`", MISSING_DEPENDENCY) from None


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def cmd_serve(args: argparse.Namespace) -> int:
    from ..core.session import Session
    from .common import install_redaction

    install_redaction()
    load_textual_serve()  # before anything else: a broken install starts nothing
    options = tui_options(args)
    profile = args.serve_profile or args.tui_profile
    sandbox = args.serve_sandbox or args.tui_sandbox
    if sandbox and profile not in (None, "sandbox"):
        raise CliError(f"--sandbox and --profile {profile} contradict each other")
    # Resolved and verified here, once, so a missing or refused key is said in the terminal
    # rather than as a blank browser tab.
    session = Session.resolve(profile, offline=args.serve_offline or args.tui_offline,
                              read_only=args.serve_read_only or args.tui_read_only,
                              force_sandbox=sandbox)
    session.ensure_identity()
    token = secrets.token_urlsafe(24)
    if not is_loopback(args.host):
        who = f" (as {session.username})" if session.username else ""
        print(f"wbadmin: warning: listening on {args.host}, not loopback: whoever reaches port "
              f"{args.port} with the token acts with your W&B key{who}", file=sys.stderr)
    return serve(args.host, args.port, token, app_command(options, args.debug))


def serve(host: str, port: int, token: str, command: str) -> int:
    asyncio.run(_serve(host, port, token, command))
    return 0


def cannot_listen(host: str, port: int, exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return f"cannot listen on {host}:{port}: the port is in use; choose another with --port"
    if exc.errno == errno.EADDRNOTAVAIL:
        return f"cannot listen on {host}:{port}: {host} is not an address of this machine"
    reason = os.strerror(exc.errno).lower() if exc.errno else str(exc)
    return f"cannot listen on {host}:{port}: {reason}"


async def _serve(host: str, port: int, token: str, command: str) -> None:
    from aiohttp import web

    server = token_server(command, host, port)
    runner = web.AppRunner(await server.guarded_app(token), handle_signals=False,
                           access_log=None)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):  # before the URL: a Ctrl-C is a stop
        loop.add_signal_handler(signum, stop.set)
    try:
        site = web.TCPSite(runner, host, port)
        try:
            await site.start()
        except OSError as exc:  # the port is taken, or the address is not this machine's
            raise CliError(cannot_listen(host, port, exc), USAGE) from None
        print(f"wbadmin serve: open http://{url_host(host)}:{port}/{token}/ in a browser "
              "(Ctrl-C to stop)", flush=True)
        await stop.wait()
        await server.end_sessions(STOP_GRACE_S)
    finally:
        await runner.cleanup()


def token_server(command: str, host: str, port: int) -> Any:
    """A textual-serve Server whose routes live under /TOKEN/ (a sub-application: the page,
    its assets and the websocket). The page's script appends its own `?width=..&height=..`
    to the websocket URL, so a token in a query string would not survive; a path prefix
    carries it on every URL the page builds."""
    import aiohttp_jinja2
    from aiohttp import web
    from textual_serve.server import Server

    class TokenServer(Server):
        def __init__(self) -> None:
            super().__init__(command, host=host, port=port, title="wbadmin")
            self.sessions: set[asyncio.Task[Any]] = set()

        async def guarded_app(self, token: str) -> web.Application:
            root = web.Application()
            root.add_subapp(f"/{token}/", await self._make_app())
            # The page's script fetches deliveries (screenshots) at the origin's root; each
            # key is random and was announced only to a session behind the token.
            root.add_routes([web.get("/download/{key}", self.handle_download)])
            return root

        async def on_startup(self, app: web.Application) -> None:
            """textual-serve prints its logo and the token-less URL here; `serve` prints
            the real one once the port is bound."""

        @aiohttp_jinja2.template("app_index.html")
        async def handle_index(self, request: web.Request) -> dict[str, Any]:
            # The page's URLs are absolute: built from the address the browser used, so a
            # page opened through another name (--host 0.0.0.0) connects back the same way.
            self.public_url = f"{request.scheme}://{request.host}"
            return await Server.handle_index.__wrapped__(self, request)  # type: ignore[attr-defined]

        async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
            task = asyncio.current_task()
            assert task is not None
            self.sessions.add(task)
            try:
                return await super().handle_websocket(request)
            finally:
                self.sessions.discard(task)

        async def end_sessions(self, grace_s: float) -> None:
            """Cancel each browser session: textual-serve then sends its app `quit` and
            waits for it to end."""
            for task in self.sessions:
                task.cancel()
            if self.sessions:
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait(set(self.sessions), timeout=grace_s)

    return TokenServer()
