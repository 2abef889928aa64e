"""A session: the resolved profile, its credentials, cache, journal and W&B client.

Shared by the CLI and the TUI. Resolving is cheap and does no network work (the TUI's first
frame is drawn from the cache); `connect()` starts the embedded sandbox when needed and
creates the client. Core never imports the sandbox: the caller passes a launcher.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .. import clock
from . import errors as E
from .cache import Cache
from .credentials import find_key
from .identity import Identity
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


@dataclass
class Session:
    profile: Profile
    settings: Settings
    cache: Cache
    offline: bool = False
    read_only: bool = False
    sandbox: bool = False  # the embedded sandbox (started by connect)
    fallback_reason: str | None = None  # why the sandbox was chosen, when it was not asked for
    key: Secret | None = None
    key_source: str | None = None  # env | keyring | netrc | sandbox
    username: str | None = None  # known before connecting for the sandbox only
    client: Client | None = None
    api_log: deque[RequestRecord] = field(default_factory=lambda: deque(maxlen=500))
    on_request: Callable[[RequestRecord], None] | None = None
    clock: Callable[[], float] = clock.now  # injectable for deterministic screenshots
    request_ids: Callable[[], str] | None = None  # likewise (default: random ids)
    _sandbox_handle: SandboxHandle | None = None
    _journal: Any = None

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
                    f"`{login}`, set WANDB_API_KEY, or use --sandbox")
        session = cls(profile=profile, settings=settings, cache=Cache(profile.cache_path),
                      offline=offline, read_only=read_only)
        if found is not None:
            session.key, session.key_source = found.key, found.source
        return session

    @classmethod
    def _sandbox(cls, profile: Profile, settings: Settings, offline: bool, read_only: bool,
                 reason: str | None) -> Session:
        return cls(profile=profile, settings=settings, cache=Cache(profile.cache_path),
                   offline=offline, read_only=read_only, sandbox=profile.embedded,
                   fallback_reason=reason, key_source="sandbox" if profile.embedded else None)

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
        return self.client

    def _log_request(self, record: RequestRecord) -> None:
        self.api_log.append(record)
        if self.on_request is not None:
            self.on_request(record)

    def syncer(self) -> Syncer:
        from .sync import Syncer

        client = self.client or self.connect()
        return Syncer(client, self.cache, clock=self.clock)

    async def aclose(self) -> None:
        if self.client is not None:
            await self.client.aclose()
            self.client = None
        self.close_sandbox()

    def close_sandbox(self) -> None:
        if self._sandbox_handle is not None:
            self._sandbox_handle.stop()
            self._sandbox_handle = None

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

    @property
    def journal(self):
        """The journal of changes made through wbadmin (opened on first use)."""
        if self._journal is None:
            from .journal import Journal

            self._journal = Journal(self.profile.journal_path, clock=self.clock)
        return self._journal

    @property
    def mode(self) -> str:
        """The header badge: SANDBOX, LIVE or OFFLINE."""
        if self.offline:
            return "OFFLINE"
        return "SANDBOX" if self.sandbox or self.profile.name == SANDBOX_PROFILE else "LIVE"
