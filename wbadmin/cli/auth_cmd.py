"""`wbadmin login | logout | whoami`: the API key of a profile, kept in the OS keyring.

wbadmin never writes a key file. Without a keyring backend (headless Linux, usually) `login`
explains the alternatives (WANDB_API_KEY, `wandb login`'s ~/.netrc) and fails.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys

from ..core.client import Client
from ..core.credentials import (
    ENV_VAR,
    SERVICE,
    KeyringUnavailableError,
    delete_key,
    find_key,
    keyring_problem,
    store_key,
    validate_key,
)
from ..core.known_keys import KeyIndex
from ..core.redact import Secret
from ..core.session import Session, viewer_username
from ..core.settings import Profile, get_settings, resolve_profile
from ..core.sync import Identity
from .common import (
    add_command,
    command,
    epilog,
    identity_json,
    install_redaction,
    note,
    open_session,
    run_online,
    shape_errors,
)
from .errors import AUTH, BAD_DATA, PERMISSION, UNAVAILABLE, USAGE, CliError
from .output import emit_json


def register(sub: argparse._SubParsersAction) -> None:
    for name, handler, text in (
            ("login", cmd_login, "verify an API key and store it in the OS keyring"),
            ("logout", cmd_logout, "delete a profile's API key from the OS keyring")):
        parser = sub.add_parser(
            name, help=text, formatter_class=argparse.RawDescriptionHelpFormatter,
            description=text + (". The key is read without echo, or from stdin when it is "
                                "not a terminal (`echo $KEY | wbadmin login`)."
                                if name == "login" else "."),
            epilog=epilog(USAGE, AUTH, UNAVAILABLE, BAD_DATA))
        parser.add_argument("--profile", help="profile to sign in to (default: the configured "
                                              "default profile, else `default`)")
        parser.add_argument("--base-url", help="W&B API base URL (overrides the profile's)")
        parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                            help="debug logs (keys are masked)")
        parser.set_defaults(handler=command(handler))
    add_command(sub, "whoami", cmd_whoami, codes=(USAGE, AUTH, PERMISSION, UNAVAILABLE, BAD_DATA),
                help="who wbadmin is signed in as, where, and where the key came from")


def _profile(args: argparse.Namespace) -> Profile:
    return resolve_profile(args.profile, {"base_url": args.base_url}, settings=get_settings())


def _read_key(profile: Profile) -> Secret:
    stdin = sys.stdin
    if stdin is None or stdin.closed:
        raise CliError("no terminal and no stdin to read the API key from", USAGE)
    if stdin.isatty():
        where = f" (get it at {profile.app_url}/authorize)" if profile.app_url else ""
        try:
            raw = getpass.getpass(f"W&B API key for {profile.host}{where}, input hidden: ")
        except EOFError:
            raw = ""
    else:
        raw = stdin.readline()
    if not raw.strip():
        raise CliError("no API key given", USAGE)
    return validate_key(raw, "the key given")


async def _verify(profile: Profile, key: Secret) -> str:
    """The username the server knows this key as; AuthError when it refuses the key."""
    assert profile.base_url is not None
    async with Client(profile.base_url, key.reveal(), scim_prefix=profile.scim_prefix,
                      max_retries=2) as client:
        return await viewer_username(client, profile.host)


def cmd_login(args: argparse.Namespace) -> int:
    install_redaction()
    profile = _profile(args)
    if profile.base_url is None:
        raise CliError("the embedded sandbox needs no login (its demo keys: "
                       "`wbadmin sandbox keys`)", USAGE)
    # Before asking for the key: without a keyring there is nowhere to put it.
    if problem := keyring_problem():
        raise KeyringUnavailableError(problem, profile.base_url)
    key = _read_key(profile)
    username = asyncio.run(_verify(profile, key))
    store_key(profile, key)
    KeyIndex().remember(profile.base_url, key.reveal(), username)
    print(f"signed in to {profile.base_url} as {username} (profile {profile.name}); "
          f"key stored in the OS keyring ({SERVICE}/{profile.name})")
    if os.environ.get(ENV_VAR):
        note(f"{ENV_VAR} is set in this environment and takes precedence over the keyring")
    return 0


def cmd_logout(args: argparse.Namespace) -> int:
    install_redaction()
    profile = _profile(args)
    if profile.base_url and (found := find_key(profile)) is not None:
        KeyIndex().forget(profile.base_url, found.key.reveal())
    if delete_key(profile):
        print(f"deleted the API key of profile {profile.name} from the OS keyring")
    else:
        print(f"no API key of profile {profile.name} was in the OS keyring")
    if os.environ.get(ENV_VAR):
        note(f"{ENV_VAR} is still set in this environment")
    return 0


async def identify_with_role(session: Session) -> Identity:
    """Whose key it is, and their org role where SCIM says (org admins)."""
    from ..core.whoami import identify_with_role as identify

    assert session.client is not None
    try:
        return await identify(session.client, session.cache)
    except (KeyError, TypeError, AttributeError) as exc:
        raise shape_errors(exc) from None


def cmd_whoami(args: argparse.Namespace) -> int:
    session = open_session(args)
    if session.offline:
        identity = session.cached_identity()
        if identity is None:
            raise CliError(f"nothing cached for profile {session.profile.name}; "
                           "run `wbadmin sync`", UNAVAILABLE)
        base_url = session.profile.base_url or session.cache.meta("base_url")
    else:
        identity = run_online(session, identify_with_role)
        base_url = session.profile.base_url
    info = {"profile": session.profile.name, "mode": session.mode, "base_url": base_url,
            **identity_json(identity), "key_source": session.key_source}
    if args.json:
        emit_json(info)
        return 0
    labels = [("profile", "profile"), ("mode", "mode"), ("base URL", "base_url"),
              ("username", "username"), ("name", "name"), ("email", "email"),
              ("org", "org"), ("org role", "org_role"), ("teams", "teams"),
              ("key from", "key_source")]
    for label, key in labels:
        value = info.get(key)
        if key == "org_role" and value is None:
            value = "(unknown: SCIM is for org admins)"
        if isinstance(value, list):
            value = ", ".join(value) or "-"
        print(f"{label + ':':<10} {'' if value is None else value}")
    return 0
