"""A session: the resolved profile, its credentials, cache, journal and W&B client.

Shared by the CLI and the TUI. Resolving is cheap and does no network work (the TUI's first
frame is drawn from the cache); `connect()` starts the embedded sandbox when needed and
creates the client. Core never imports the sandbox: the caller passes a launcher.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import clock
from . import errors as E
from . import paths
from .cache import Cache
from .credentials import find_key
from .identity import Identity
from .known_keys import KeyIndex
from .redact import Secret
from .settings import SANDBOX_PROFILE, Profile, Settings, get_settings, resolve_profile

if TYPE_CHECKING:  # the client pulls in httpx: imported when connecting, not at start-up
    from .client import Client, RequestRecord
    from .sync import Syncer


@dataclass(frozen=True)
class SandboxHandle:
    """What a sandbox launcher returns: where it listens and whom to sign in as."""

    base_url: str
    api_key: str
    username: str
    stop: Callable[[], None]


SandboxLauncher = Callable[[], SandboxHandle]


def _pointed_at(profile_name: str | None, profile: Profile, settings: Settings) -> str | None:
    """What makes this session mean a particular W&B server (a profile named on the command
    line or as `default_profile`, WANDB_BASE_URL, a base URL in a config or the SDK's
    settings), or None when nothing does: only then may a missing key mean the sandbox."""
    if profile_name is not None:
        return f"--profile {profile_name}"
    if settings.default_profile:
        return f"default_profile in {settings.path}"
    source = profile.sources.get("base_url", "default")
    return None if source == "default" else source


async def viewer_username(client: Client, host: str | None) -> str:
    """The username the server knows the client's key as (`viewer`): AuthError when it
    refuses the key, BadResponse when the answer is not W&B's shape."""
    from .queries import VIEWER

    data = await client.graphql(VIEWER)
    viewer = data.get("viewer") if isinstance(data, dict) else None
    if viewer is None:
        raise E.AuthError(f"{host} does not recognise this API key")
    if not isinstance(viewer, dict) or not isinstance(viewer.get("username"), str) \
            or not viewer["username"]:
        raise E.BadResponse("viewer: the server's answer does not match W&B's API "
                            "(no username)")
    return viewer["username"]


@dataclass
class Session:
    profile: Profile
    settings: Settings
    cache: Cache | None  # None until the key's identity is known (ensure_identity)
    offline: bool = False
    read_only: bool = False
    sandbox: bool = False  # the embedded sandbox (started by connect)
    fallback_reason: str | None = None  # why the sandbox was chosen, when it was not asked for
    key: Secret | None = None
    key_source: str | None = None  # env | keyring | netrc | sandbox
    username: str | None = None  # the verified identity (the sandbox's: once connected)
    client: Client | None = None
    api_log: deque[RequestRecord] = field(default_factory=lambda: deque(maxlen=500))
    on_request: Callable[[RequestRecord], None] | None = None
    # Told of every change the change path applied (ChangeNotice): the screens subscribe.
    change_subscribers: list[Callable[[Any], None]] = field(default_factory=list)
    clock: Callable[[], float] = clock.now  # injectable for deterministic screenshots
    request_ids: Callable[[], str] | None = None  # likewise (default: random ids)
    _sandbox_handle: SandboxHandle | None = None
    _journal: Any = None
    _server_cache: Cache | None = None
    _facts: Any = None  # ServerFacts, once asked for (server_facts)

    # ---- resolution ----------------------------------------------------------------------

    @classmethod
    def resolve(cls, profile_name: str | None = None, *, flags: dict | None = None,
                offline: bool = False, read_only: bool = False,
                force_sandbox: bool = False, settings: Settings | None = None) -> Session:
        """Pick the profile and key without touching the network.

        With no credentials anywhere and no profile named, the embedded sandbox is chosen
        (and `fallback_reason` says so); a profile named explicitly must have a key.
        """
        settings = settings or get_settings()
        read_only = read_only or settings.ui.read_only
        if force_sandbox or profile_name == SANDBOX_PROFILE:
            profile = resolve_profile(SANDBOX_PROFILE, flags, settings=settings)
            return cls._sandbox(profile, settings, offline, read_only, None)
        profile = resolve_profile(profile_name, flags, settings=settings)
        if profile.is_sandbox:  # default_profile = "sandbox"
            return cls._sandbox(profile, settings, offline, read_only, None)
        found = find_key(profile)
        if found is None:
            pointer = _pointed_at(profile_name, profile, settings)
            if pointer is None:
                sandbox_profile = resolve_profile(SANDBOX_PROFILE, None, settings=settings)
                return cls._sandbox(sandbox_profile, settings, offline, read_only,
                                    "no W&B credentials found")
            if not offline:
                login = "wbadmin login" + ("" if profile.name == "default"
                                           else f" --profile {profile.name}")
                raise E.AuthError(
                    f"no API key for {profile.base_url} (chosen by {pointer}): run "
                    f"`{login}`, set WANDB_API_KEY, or use --sandbox", hint="")
        session = cls(profile=profile, settings=settings, cache=None, offline=offline,
                      read_only=read_only)
        if found is not None:
            session.key, session.key_source = found.key, found.source
            known = KeyIndex().lookup(session.server, found.key.reveal())
            if known is not None:  # verified on this machine before: its cache, no request
                session._open_identity(known.username)
        return session

    @classmethod
    def _sandbox(cls, profile: Profile, settings: Settings, offline: bool, read_only: bool,
                 reason: str | None) -> Session:
        return cls(profile=profile, settings=settings, cache=Cache(profile.cache_path),
                   offline=offline, read_only=read_only, sandbox=profile.embedded,
                   fallback_reason=reason, key_source="sandbox" if profile.embedded else None)

    # ---- whose cache ---------------------------------------------------------------------

    @property
    def server(self) -> str:
        """Which server this session's data comes from: its base URL, or the embedded
        sandbox (whose port changes from run to run)."""
        return "embedded-sandbox" if self.profile.embedded or self.sandbox \
            else str(self.profile.base_url)

    def _open_identity(self, username: str) -> None:
        self.username = username
        self.cache = Cache(paths.identity_cache_path(self.profile.cache_path, self.server,
                                                     username))

    def ensure_identity(self) -> None:
        """Know whose key this is before anything is shown: a key verified on this machine
        before is known already; any other is asked about (`viewer`). A key the server
        refuses is an AuthError and opens nothing; an unreachable server is Offline (exit 7);
        offline, only a key verified here before may read."""
        if self.cache is not None:
            return
        if self.key is None:
            raise E.AuthError(f"no API key for {self.profile.base_url}: run `wbadmin login`, "
                              "set WANDB_API_KEY, or use --sandbox", hint="")
        if self.offline:  # exit 7, as "offline with nothing cached" is
            raise E.Offline(
                f"offline, and this API key was never verified on this machine for "
                f"{self.profile.base_url}: nothing cached is its to read",
                hint="run once without --offline")
        import asyncio

        username = asyncio.run(self._ask_viewer())
        KeyIndex().remember(self.server, self.key.reveal(), username)
        self._open_identity(username)

    async def _ask_viewer(self) -> str:
        from .client import Client

        assert self.key is not None and self.profile.base_url is not None
        async with Client(self.profile.base_url, self.key.reveal(),
                          scim_prefix=self.profile.scim_prefix,
                          on_request=self._log_request, request_ids=self.request_ids,
                          **self.settings.network.client_options()) as client:
            return await viewer_username(client, self.profile.host)

    def server_cache(self) -> Cache:
        """Facts of the server that are no identity's to keep apart and must survive a key
        switch: which quota alerts were posted (so another admin's key never posts them
        again)."""
        if self._server_cache is None:
            on_disk = self.cache is not None and self.cache.path is not None
            self._server_cache = Cache(paths.server_cache_path(self.profile.cache_path,
                                                               self.server)
                                       if on_disk else None)  # in memory, as the cache is
        return self._server_cache

    async def server_facts(self, *, reprobe: bool = False):
        """What this server has (`ServerFacts`), for the features that depend on it: asked
        the first time a feature needs it, so commands that do not pay nothing. The stored
        facts are trusted for a day while the server's `serverInfo` flags stay the same (one
        request tells); otherwise, and when there are none, the server is probed (the checks
        of `doctor`, reads only, about ten requests) and the facts stored for the next
        command. The embedded sandbox wbadmin starts itself has everything: no request."""
        from .server_facts import MAX_AGE_S, ServerFacts, probe

        if self._facts is not None:
            return self._facts
        now = self.clock()
        if self.sandbox:  # started by connect(), always the full sandbox
            self._facts = ServerFacts.full(self.server, now)
            return self._facts
        from .doctor import server_feature_flags

        client = self.client or self.connect()
        cache = self.server_cache()
        stored = ServerFacts.load(cache, self.server)
        if stored is not None and not reprobe and 0 <= now - stored.probed_at < MAX_AGE_S:
            flags, _ = await server_feature_flags(client)
            if not stored.stale(now, flags):
                self._facts = stored
                return stored
        username = self.username or self.cached_username() or ""
        self._facts = await probe(client, username, self.server, now, stored)
        self._facts.save(cache)
        client.strip_paths = frozenset(self._facts.strip_paths)
        return self._facts

    def known_facts(self):
        """The server's facts without a request (the TUI's first frame, drawn from the
        cache): this session's, else the stored ones however old; None when never probed.
        `server_facts()` then says whether they still hold."""
        from .server_facts import ServerFacts

        if self._facts is not None:
            return self._facts
        if self.sandbox:
            return ServerFacts.full(self.server, self.clock())
        return ServerFacts.load(self.server_cache(), self.server)

    def remember_facts(self, facts: Any) -> None:
        """Facts found elsewhere (`doctor`): kept for this session and the next."""
        self._facts = facts
        facts.save(self.server_cache())

    # ---- connecting ----------------------------------------------------------------------

    def connect(self, launcher: SandboxLauncher | None = None, **client_options: Any) -> Client:
        """Create the client (starting the embedded sandbox first when this session uses it).

        Blocking: the TUI calls it from a worker thread.
        """
        if self.offline:
            raise E.Offline("offline mode: reading the cache only",
                            hint="run without --offline to talk to W&B")
        if self.client is not None:
            return self.client
        if self.sandbox and self._sandbox_handle is None:
            if launcher is None:
                raise E.Unsupported("the embedded sandbox is not available here")
            handle = launcher()
            self._sandbox_handle = handle
            self.profile = self.profile.with_base_url(handle.base_url)
            self.key, self.username = Secret(handle.api_key), handle.username
        if self.key is None:
            raise E.AuthError(f"no API key for profile {self.profile.name!r}")
        assert self.profile.base_url is not None
        from .client import Client

        self.client = Client(self.profile.base_url, self.key.reveal(),
                             scim_prefix=self.profile.scim_prefix,
                             scim_username=self.username or self.cached_username(),
                             on_request=self._log_request, request_ids=self.request_ids,
                             **{**self.settings.network.client_options(), **client_options})
        if not self.sandbox:  # what this server lacks is left out of queries (wire_strip)
            known = self.known_facts()
            if known is not None:
                self.client.strip_paths = frozenset(known.strip_paths)
            self.client.on_unknown_field = self._learn_what_the_server_lacks
        return self.client

    async def _learn_what_the_server_lacks(self) -> frozenset:
        """A query was refused for a field the server lacks: what else does it lack? (The
        checks of `doctor`, once; stored for the next command.)"""
        self._facts = None
        facts = await self.server_facts(reprobe=True)
        return frozenset(facts.strip_paths)

    def _log_request(self, record: RequestRecord) -> None:
        self.api_log.append(record)
        if self.on_request is not None:
            self.on_request(record)

    def syncer(self) -> Syncer:
        from .sync import Syncer

        client = self.client or self.connect()
        return Syncer(client, self.cache, clock=self.clock)

    async def aclose(self, *, wait_for_sandbox: bool = True) -> None:
        if self.client is not None:
            await self.client.aclose()
            self.client = None
        self.close_sandbox(wait=wait_for_sandbox)

    def close_sandbox(self, *, wait: bool = True) -> None:
        """Stop the embedded sandbox. `wait=False` (the TUI quitting) stops it on a daemon
        thread: its server takes a tenth of a second or more to wind down, and a user who
        pressed q is waiting for their prompt, not for the demo server."""
        handle, self._sandbox_handle = self._sandbox_handle, None
        if handle is None:
            return
        if wait:
            handle.stop()
        else:
            threading.Thread(target=handle.stop, name="wbadmin-sandbox-stop",
                             daemon=True).start()

    # ---- what the cache knows about us -----------------------------------------------------

    def cached_identity(self) -> Identity | None:
        raw = self.cache.meta("identity")
        if not raw:
            return None
        try:
            return Identity(**json.loads(raw))
        except (TypeError, ValueError):
            return None

    def cached_username(self) -> str | None:
        identity = self.cached_identity()
        return identity.username if identity else None

    def engine(self):
        """The change engine on this profile's journal, retrying as [network] says."""
        from .engine import Engine

        return Engine(self.journal, profile=self.profile.name,
                      retry_pause=self.settings.network.backoff_base_s)

    @property
    def journal(self):
        """The journal of changes made through wbadmin (opened on first use)."""
        if self._journal is None:
            from .journal import Journal

            self._journal = Journal(self.profile.journal_path, clock=self.clock)
        return self._journal

    @property
    def on_sandbox(self) -> bool:
        """Whether the server is wbadmin's sandbox: the embedded one, or the `sandbox` profile
        pointed at a `wbadmin sandbox serve`."""
        return self.sandbox or self.profile.name == SANDBOX_PROFILE

    @property
    def web_app_url(self) -> str | None:
        """W&B's web app for this server, to link to (https://wandb.ai for api.wandb.ai); None
        on the sandbox, which speaks W&B's API but has no web UI."""
        return None if self.on_sandbox else self.profile.app_url

    @property
    def mode(self) -> str:
        """The header badge: SANDBOX, LIVE or OFFLINE."""
        if self.offline:
            return "OFFLINE"
        return "SANDBOX" if self.on_sandbox else "LIVE"
