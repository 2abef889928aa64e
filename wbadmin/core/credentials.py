"""API keys: where to find them, and storing them in the OS keyring.

Discovery order (`find_key`), first hit wins:

1. WANDB_API_KEY in the environment (as the SDK);
2. the OS keyring: service "wbadmin", username = the profile name; then username = the
   profile's host[:port], for keys saved per deployment;
3. the netrc file ($NETRC, else ~/.netrc): the `machine host[:port]` entry `wandb login` writes.

Keys are held as `redact.Secret`, so they cannot leak into exception text, logs or --json
output. wbadmin never writes a key file of its own: without a keyring backend, `store_key`
explains the alternatives instead.
"""

from __future__ import annotations

import logging
import netrc
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from . import paths
from .errors import WbError
from .redact import Secret
from .settings import Profile

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

log = logging.getLogger(__name__)

SERVICE = "wbadmin"
ENV_VAR = "WANDB_API_KEY"
KeySource = Literal["env", "keyring", "netrc"]

# `wandb login` with the SDK 0.31 default writes the CoreWeave Forge host, which fronts SaaS.
_NETRC_ALIASES = {
    "api.wandb.ai": "api.forge.coreweave.com",
    "api.forge.coreweave.com": "api.wandb.ai",
    "api.qa.wandb.ai": "api.qa.forge.coreweave.com",
    "api.qa.forge.coreweave.com": "api.qa.wandb.ai",
}

_NO_KEYRING_HELP = (
    "Alternatives: set WANDB_API_KEY in the environment; or run `wandb login{host}`, which "
    "writes the key to ~/.netrc (wbadmin reads it); or install a keyring backend "
    "(SecretService, e.g. gnome-keyring, or `pip install keyrings.alt`)."
)


class CredentialsError(WbError):
    """A credentials problem the user must fix; `str(e)` is a one-line message."""

    kind = "credentials"


class KeyringUnavailableError(CredentialsError):
    def __init__(self, backend: str, base_url: str | None = None) -> None:
        self.backend = backend
        super().__init__(
            f"No OS keyring is available on this machine (keyring backend: {backend}), so "
            "wbadmin cannot store or delete API keys there. "
            + _NO_KEYRING_HELP.format(host=f" --host {base_url}" if base_url else ""))


class InvalidKeyError(CredentialsError):
    def __init__(self, where: str, problem: str) -> None:
        self.where = where
        super().__init__(f"The API key from {where} is not a valid W&B API key: {problem} "
                         "Copy the key again from your W&B user settings "
                         "(or the service account page).")


@dataclass(frozen=True)
class FoundKey:
    key: Secret
    source: KeySource
    where: str  # human-readable origin, e.g. "keyring wbadmin/saas"; never the key


# ---- key format (as the SDK's wbauth/validation.py) ---------------------------------------

def check_key(key: str | Secret) -> str | None:
    """None for a well-formed key, else a sentence saying what is wrong (never the key).

    Format: an optional `prefix-` followed by 40+ characters of letters, digits, '_' or '-'.
    """
    value = key.reveal() if isinstance(key, Secret) else key
    if not value:
        return "It is empty."
    secret = value.split("-", 1)[-1]  # split, not rsplit: as the SDK
    if not re.fullmatch(r"[\w-]+", secret):
        return "It may only contain letters, digits, '_' and '-'."
    if len(secret) < 40:
        return f"It must have 40+ characters, has {len(secret)}."
    return None


def validate_key(key: str | Secret, where: str) -> Secret:
    value = key.reveal().strip() if isinstance(key, Secret) else key.strip()
    if problem := check_key(value):
        raise InvalidKeyError(where, problem)
    return Secret(value)


# ---- the OS keyring ------------------------------------------------------------------------

def _keyring() -> KeyringBackend:
    import keyring  # imported lazily: backend discovery can be slow (D-Bus)

    return keyring.get_keyring()


def keyring_problem(backend: Any | None = None) -> str | None:
    """None when a usable keyring backend is set, else the backend's description."""
    from keyring.backends import chainer, fail, null

    backend = backend if backend is not None else _keyring()
    usable = not isinstance(backend, fail.Keyring | null.Keyring) and not (
        isinstance(backend, chainer.ChainerBackend) and not backend.backends)
    if usable:
        return None
    cls = type(backend)
    return f"{cls.__module__}.{cls.__qualname__}"


def _profile_parts(profile: Profile | str) -> tuple[str, str | None, str | None]:
    """(profile name, host[:port] or None, base URL or None)."""
    if isinstance(profile, Profile):
        return profile.name, profile.host, profile.base_url
    return profile, None, None


def _from_keyring(backend: KeyringBackend, username: str) -> FoundKey | None:
    from keyring.errors import KeyringError

    where = f"keyring {SERVICE}/{username}"
    try:
        value = backend.get_password(SERVICE, username)
    except KeyringError as e:  # NoKeyringError, KeyringLocked, ...
        log.debug("keyring lookup of %s skipped: %s", where, type(e).__name__)
        return None
    if not value:
        return None
    return FoundKey(validate_key(value, where), "keyring", where)


def store_key(profile: Profile | str, key: str | Secret) -> None:
    """Save the key in the OS keyring under (service "wbadmin", username = profile name)."""
    from keyring.errors import KeyringError

    name, _, base_url = _profile_parts(profile)
    secret = validate_key(key, "the key given")
    backend = _keyring()
    if problem := keyring_problem(backend):
        raise KeyringUnavailableError(problem, base_url)
    try:
        backend.set_password(SERVICE, name, secret.reveal())
    except KeyringError as e:
        raise CredentialsError(
            f"The OS keyring refused to store the key for profile {name!r} "
            f"({type(e).__name__}: {e}). Unlock the keyring and try again.") from None


def delete_key(profile: Profile | str) -> bool:
    """Remove the profile's key from the OS keyring. False when there was none."""
    from keyring.errors import KeyringError, PasswordDeleteError

    name, _, base_url = _profile_parts(profile)
    backend = _keyring()
    if problem := keyring_problem(backend):
        raise KeyringUnavailableError(problem, base_url)
    try:
        if backend.get_password(SERVICE, name) is None:
            return False
        backend.delete_password(SERVICE, name)
    except PasswordDeleteError:
        return False
    except KeyringError as e:
        raise CredentialsError(
            f"The OS keyring refused to delete the key for profile {name!r} "
            f"({type(e).__name__}: {e}). Unlock the keyring and try again.") from None
    return True


# ---- netrc ---------------------------------------------------------------------------------

def _from_netrc(host: str) -> FoundKey | None:
    path = paths.netrc_file()
    try:
        parsed = netrc.netrc(str(path))
    except FileNotFoundError:
        return None
    except netrc.NetrcParseError as e:
        log.warning("Ignoring netrc file %s: line %s: %s", path, e.lineno, e.msg)
        return None
    except OSError as e:
        log.warning("Ignoring netrc file %s: %s", path, e.strerror or e)
        return None
    for machine in (host, _NETRC_ALIASES.get(host)):
        # hosts[], not authenticators(): its fallback to a `default` entry would pick up
        # passwords meant for other services.
        if machine and (entry := parsed.hosts.get(machine)):
            password = entry[2]
            if password:
                where = f"{path} (machine {machine})"
                return FoundKey(validate_key(password, where), "netrc", where)
    return None


def netrc_host(base_url: str) -> str:
    """The netrc machine name of a base URL: host[:port], the port only when the URL has one."""
    return urlsplit(base_url).netloc


# ---- discovery -----------------------------------------------------------------------------

def find_key(profile: Profile | str) -> FoundKey | None:
    """The API key for a profile, or None. Raises InvalidKeyError for a malformed key found
    (so a typo in WANDB_API_KEY is reported, not silently skipped).

    With a profile name (str) instead of a Profile, host-based lookups are skipped.
    """
    if value := os.environ.get(ENV_VAR, "").strip():
        return FoundKey(validate_key(value, ENV_VAR), "env", ENV_VAR)
    name, host, _ = _profile_parts(profile)
    backend = _keyring()
    if keyring_problem(backend) is None:
        for username in dict.fromkeys(u for u in (name, host) if u):
            if found := _from_keyring(backend, username):
                return found
    if host:
        return _from_netrc(host)
    return None
