"""The one way wbadmin runs W&B's own libraries (`wandb`, `wandb_workspaces`).

`wandb_workspaces` calls `wandb.Api()` itself, which signs in with whatever WANDB_API_KEY,
~/.netrc or ~/.config/wandb/settings hold — possibly another person's key on another server.
So the libraries never run in wbadmin's process: each call is one worker process
(`python -m wbadmin.core.wandb_worker`) with an environment built from nothing but wbadmin's
verified identity (base URL, key, username) and a private, throw-away HOME and WANDB_* dirs,
so no netrc or settings file is reachable. The key travels on the worker's stdin, never in
argv or a file. The worker checks that the SDK's `viewer` is the user wbadmin verified before
it acts, runs one operation (`module:function` inside wbadmin) and answers JSON on its own
channel; the libraries' console output is captured, never reaching wbadmin's stdout.

Errors come back as wbadmin's own (`core/errors.py`): a refused write is PermissionDenied
(exit 4), a library that fails to import is LibraryMissing (one line naming what to install).
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import errors as E
from .redact import Secret

if TYPE_CHECKING:
    from .client import Client

WORKER_MODULE = "wbadmin.core.wandb_worker"
PACKAGES = {"wandb": "wandb==0.31.0", "wandb_workspaces": "wandb-workspaces==0.4.13"}
# What the worker may keep of the caller's environment: how to reach the network and run
# Python, nothing that names a W&B identity or where its files are.
PASSED_THROUGH = ("PATH", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "HTTP_PROXY", "HTTPS_PROXY",
                  "NO_PROXY", "http_proxy", "https_proxy", "no_proxy", "SSL_CERT_FILE",
                  "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "WBADMIN_NOW")
DEFAULT_TIMEOUT = 300.0

log = logging.getLogger("wbadmin.wandb_library")


class LibraryMissing(E.WbError):
    """`wandb` or `wandb_workspaces` is not installed, or fails to import."""

    kind = "library_missing"


class LibraryFailed(E.WbError):
    """The library failed in a way that is neither a refusal nor a missing object."""

    kind = "library_failed"
    hint = "the W&B library failed; rerun with --debug to see its output"


def check_installed() -> None:
    """LibraryMissing unless both libraries can be found — without importing them (that is
    the worker's, which also reports an install that is there but broken)."""
    for module, package in PACKAGES.items():
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found:
            raise LibraryMissing(f"{module} is not installed: install it with "
                                 f"`pip install {package}`", hint="")


@dataclass(frozen=True)
class LibraryIdentity:
    """Whom the libraries act as: verified by wbadmin's own client (`verify`)."""

    base_url: str
    api_key: Secret
    username: str


async def verify(client: Client, api_key: Secret | str) -> LibraryIdentity:
    """Ask the server who `client`'s key is (`viewer`) and hand that identity on."""
    from .session import viewer_username

    username = await viewer_username(client, client.base_url)
    return LibraryIdentity(client.base_url, Secret(api_key), username)


def _worker_env(home: Path) -> dict[str, str]:
    env = {k: os.environ[k] for k in PASSED_THROUGH if k in os.environ}
    root = str(Path(__file__).resolve().parents[2])  # wbadmin's own checkout or site-packages
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (os.environ.get("PYTHONPATH"), root) if p)
    dirs = {"HOME": "home", "WANDB_DIR": "wandb", "WANDB_CACHE_DIR": "cache",
            "WANDB_CONFIG_DIR": "config", "WANDB_DATA_DIR": "data",
            "WANDB_ARTIFACT_DIR": "artifacts", "XDG_CONFIG_HOME": "xdg-config"}
    for var, sub in dirs.items():
        (home / sub).mkdir(mode=0o700)
        env[var] = str(home / sub)
    env["NETRC"] = str(home / "home" / ".netrc")  # does not exist: no stored login
    env.update(WANDB_SILENT="true", WANDB_CONSOLE="off", WANDB_DISABLE_GIT="true",
               WANDB_ERROR_REPORTING="false", PYTHONUNBUFFERED="1")
    return env


def _error(answer: dict[str, Any]) -> E.WbError:
    kind, message = answer.get("error"), str(answer.get("message") or "the library failed")
    if kind == "missing":
        package = PACKAGES.get(str(answer.get("module")), str(answer.get("module")))
        return LibraryMissing(f"{message}: install it with `pip install {package}`", hint="")
    classes: dict[Any, type[E.WbError]] = {
        "permission": E.PermissionDenied, "not_found": E.NotFound, "auth": E.AuthError}
    if kind == "identity":
        return E.AuthError(message, hint="")
    return classes.get(kind, LibraryFailed)(message)


def run(identity: LibraryIdentity, op: str, args: dict[str, Any] | None = None, *,
        timeout: float = DEFAULT_TIMEOUT) -> Any:
    """Run `op` ("wbadmin.module:function", called with `args`) in a worker acting as
    `identity`; its JSON result. Raises a WbError on any failure."""
    key = identity.api_key.reveal()
    request = json.dumps({"base_url": identity.base_url, "api_key": key,
                          "username": identity.username, "op": op, "args": args or {}})
    with tempfile.TemporaryDirectory(prefix="wbadmin-wandb-") as tmp:
        os.chmod(tmp, 0o700)
        console = Path(tmp) / "console.log"
        with console.open("w+b") as out:
            try:
                done = subprocess.run([sys.executable, "-m", WORKER_MODULE],
                                      input=request.encode(), stdout=subprocess.PIPE,
                                      stderr=out, env=_worker_env(Path(tmp)), timeout=timeout,
                                      check=False)
            except subprocess.TimeoutExpired as exc:
                raise LibraryFailed(f"the W&B library did not finish within {timeout:.0f}s"
                                    ) from exc
            out.seek(0)
            captured = out.read().decode(errors="replace").replace(key, "[redacted]")
    if captured.strip():  # the libraries' own console: `--debug` shows it, nothing else
        log.debug("%s printed:\n%s", op, captured.rstrip())
    try:
        answer = json.loads(done.stdout.decode() or "null")
    except (UnicodeDecodeError, json.JSONDecodeError):
        answer = None
    if not isinstance(answer, dict):
        last = captured.strip().splitlines()[-1:] or [f"exit status {done.returncode}"]
        raise LibraryFailed(f"the W&B library worker gave no answer ({last[0][:200]})")
    if "error" in answer:
        raise _error(answer)
    return answer.get("result")
