"""Where the sandbox keeps its state, and opening (and seeding) it."""

from __future__ import annotations

from pathlib import Path

import platformdirs

from .db import Database
from .seed import PRESETS, seed_preset


def default_db_path() -> Path:
    return Path(platformdirs.user_data_dir("wbadmin", appauthor=False)) / "sandbox.sqlite3"


class PresetMismatch(Exception):
    pass


def open_seeded(path: str | Path | None, preset: str = "demo", seed: int = 0,
                deployment: str = "dedicated", now: int | None = None) -> Database:
    """Open the sandbox database at `path` (None: in memory), seeding it when empty.

    An existing database seeded with another preset is refused rather than silently mixed.
    """
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    db = Database(path)
    if db.is_empty():
        seed_preset(db, preset, seed=seed, now=now, deployment=deployment)
        return db
    existing = db.get_meta("preset")
    if existing != preset:
        db.close()
        raise PresetMismatch(
            f"{path} holds the {existing!r} preset, not {preset!r}; run `wbadmin sandbox reset "
            f"--preset {preset}` or pass another --db")
    return db


def reset(path: str | Path, preset: str = "demo", seed: int = 0,
          deployment: str = "dedicated") -> Database:
    """Delete the database at `path` (and its WAL files) and seed it afresh."""
    path = Path(path)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return open_seeded(path, preset, seed=seed, deployment=deployment)
