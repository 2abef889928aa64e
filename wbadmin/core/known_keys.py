"""Which identity each API key verified on this machine belongs to, so that a key seen before
opens its own identity's cache at once (no request before the first frame), and any other key
is asked about before anything is shown.

What is kept, in `<cache dir>/known-keys.json` (0600): per verified key, the server's base URL,
the username W&B answered `viewer` with, when, and a fingerprint of the key: scrypt of the key
with a random salt of this file and the server URL. scrypt is slow on purpose and one-way, so
the file cannot give a key back, nor test guesses cheaply; nothing else about the key is kept.
`WBADMIN_KEY_HASH_COST` (log2 of scrypt's N, default 14) is lowered only by the tests.

Deleting the file loses nothing: keys are verified again on their next use.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import logging
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path

from .. import clock
from ..private_files import write_private_text
from . import paths

log = logging.getLogger("wbadmin.known_keys")

COST_ENV = "WBADMIN_KEY_HASH_COST"
DEFAULT_COST = 14  # scrypt N = 2**14: about 50 ms here, 16 MB of memory
FILE_NAME = "known-keys.json"
MAX_ENTRIES = 200  # oldest forgotten first: keys rotate, the file must not grow for ever

_lock = threading.Lock()  # one process's writers; between processes the last writer wins


@dataclass(frozen=True)
class KnownKey:
    server: str
    username: str
    verified_at: float


def _cost() -> int:
    raw = os.environ.get(COST_ENV, "").strip()
    try:
        cost = int(raw) if raw else DEFAULT_COST
    except ValueError:
        return DEFAULT_COST
    return min(max(cost, 1), 20)


def fingerprint(key: str, server: str, salt: bytes, cost: int) -> str:
    digest = hashlib.scrypt(key.encode(), salt=salt + b"\0" + server.encode(), n=2 ** cost,
                            r=8, p=1, dklen=32, maxmem=2 ** 31 - 1)
    return digest.hex()


class KeyIndex:
    """The file of known keys. Reads are tolerant: a damaged file counts as empty."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else paths.cache_dir() / FILE_NAME

    def _read(self) -> dict:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("ignoring %s (%s): keys will be verified again", self.path, exc)
            return {}
        return data if isinstance(data, dict) and isinstance(data.get("keys"), list) else {}

    def lookup(self, server: str, key: str) -> KnownKey | None:
        """The identity `key` was verified as on `server`, or None. No network."""
        data = self._read()
        try:
            salt = bytes.fromhex(data["salt"])
        except (KeyError, TypeError, ValueError):
            return None
        by_cost: dict[int, str] = {}
        for entry in data["keys"]:
            if not isinstance(entry, dict) or entry.get("server") != server:
                continue
            cost = entry.get("cost")
            if not isinstance(cost, int) or not 1 <= cost <= 20:
                continue
            if cost not in by_cost:
                by_cost[cost] = fingerprint(key, server, salt, cost)
            if hmac.compare_digest(str(entry.get("fingerprint", "")), by_cost[cost]):
                with contextlib.suppress(KeyError, TypeError, ValueError):
                    return KnownKey(server, str(entry["username"]),
                                    float(entry["verified_at"]))
        return None

    def remember(self, server: str, key: str, username: str) -> None:
        """Record that the server verified `key` as `username` (replacing what it said of
        this key before)."""
        with _lock:
            data = self._read()
            try:
                salt = bytes.fromhex(data["salt"])
            except (KeyError, TypeError, ValueError):
                salt, data = secrets.token_bytes(16), {"keys": []}
            cost = _cost()
            mine = fingerprint(key, server, salt, cost)
            keys = [e for e in data["keys"] if isinstance(e, dict) and not (
                e.get("server") == server and e.get("fingerprint") == mine)]
            keys.append({"server": server, "username": username, "verified_at": clock.now(),
                         "cost": cost, "fingerprint": mine})
            keys = keys[-MAX_ENTRIES:]
            write_private_text(self.path, json.dumps({"salt": salt.hex(), "keys": keys},
                                                     indent=1))

    def forget(self, server: str, key: str) -> None:
        """Drop what is known of `key` on `server` (after `wbadmin logout`)."""
        with _lock:
            data = self._read()
            try:
                salt = bytes.fromhex(data["salt"])
            except (KeyError, TypeError, ValueError):
                return
            keys = [e for e in data["keys"] if not (
                isinstance(e, dict) and e.get("server") == server and isinstance(
                    e.get("cost"), int) and e.get("fingerprint") == fingerprint(
                    key, server, salt, e["cost"]))]
            write_private_text(self.path, json.dumps({"salt": salt.hex(), "keys": keys},
                                                     indent=1))
