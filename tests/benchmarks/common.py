"""What the benchmark modules share: a seeded sandbox file, and the figures a module records,
printed as one table when it ends."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.conftest import SEED, SEED_NOW, key_of
from wbadmin.sandbox.db import Database
from wbadmin.sandbox.seed import seed_preset


def seed_file(path: Path, preset: str) -> float:
    """Seed `preset` into a sandbox file; the seconds it took."""
    db = Database(path)
    start = time.perf_counter()
    seed_preset(db, preset, seed=SEED, now=SEED_NOW)
    elapsed = time.perf_counter() - start
    db.close()  # checkpoints the WAL into the file
    return elapsed


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


class Results:
    def __init__(self, title: str) -> None:
        self.title = title
        self.rows: list[tuple[str, str, str]] = []  # (what, figure, note)

    def record(self, what: str, figure: str, note: str = "") -> None:
        self.rows.append((what, figure, note))
        print(f"  {what}: {figure} {note}", flush=True)

    def print_table(self) -> None:
        if not self.rows:
            return
        width = max(len(w) for w, _, _ in self.rows)
        fig = max(len(f) for _, f, _ in self.rows)
        print(f"\n\n{self.title}")
        print(f"{'measure':<{width}}  {'figure':>{fig}}  note")
        print(f"{'-' * width}  {'-' * fig}  ----")
        for what, figure, note in self.rows:
            print(f"{what:<{width}}  {figure:>{fig}}  {note}")


def cli_env(tmp: Path, base_url: str) -> dict[str, str]:
    """A `wbadmin` subprocess's environment: alice's key for `base_url`, and a home, config,
    cache and netrc of its own under `tmp` (nothing of the machine's login)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WANDB_", "XDG_")) and k != "HOME"}
    env.update(HOME=str(tmp / "home"), XDG_CONFIG_HOME=str(tmp / "config"),
               XDG_CACHE_HOME=str(tmp / "cache"), XDG_DATA_HOME=str(tmp / "data"),
               NETRC=str(tmp / "netrc"), WANDB_BASE_URL=base_url,
               WANDB_API_KEY=key_of("alice"), NO_PROXY="127.0.0.1,localhost",
               PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")
    return env
