"""What the benchmark modules share: a seeded sandbox file, and the figures a module records,
printed as one table when it ends."""

from __future__ import annotations

import time
from pathlib import Path

from tests.conftest import SEED, SEED_NOW
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
