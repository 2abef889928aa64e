"""The cache file: migrations, recovery from corrupt or foreign files, two processes."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest

from wbadmin.core import cache_schema
from wbadmin.core.cache import Cache


def test_a_new_cache_has_the_current_schema(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "c.sqlite3")
    info = cache.info()
    assert info["schema_version"] == cache_schema.SCHEMA_VERSION
    assert cache.scalar("PRAGMA journal_mode") == "wal"
    assert cache.scalar("PRAGMA application_id") == cache_schema.APPLICATION_ID


def test_an_older_schema_is_migrated_forward_keeping_rows(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "c.sqlite3"
    # A cache written by an older wbadmin: only migration 1 existed.
    monkeypatch.setattr("wbadmin.core.cache.MIGRATIONS", cache_schema.MIGRATIONS[:1])
    monkeypatch.setattr("wbadmin.core.cache.SCHEMA_VERSION", 1)
    old = Cache(path)
    with old.transaction() as conn:
        conn.execute("INSERT INTO teams (name, fetched_at) VALUES ('t1', 1.0)")
    old.close()
    # This wbadmin adds a migration.
    newer = [*cache_schema.MIGRATIONS[:1], "ALTER TABLE teams ADD COLUMN colour TEXT;"]
    monkeypatch.setattr("wbadmin.core.cache.MIGRATIONS", newer)
    monkeypatch.setattr("wbadmin.core.cache.SCHEMA_VERSION", 2)
    cache = Cache(path)
    assert cache.rebuilt_from is None
    assert cache.scalar("PRAGMA user_version") == 2
    assert cache.query("SELECT name, colour FROM teams")[0]["name"] == "t1"


def test_a_corrupt_file_is_moved_aside_and_rebuilt(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    path.write_bytes(b"\x00garbage" * 500)
    cache = Cache(path)
    assert cache.rebuilt_from is not None and cache.rebuilt_from.exists()
    assert cache.rebuilt_from.read_bytes().startswith(b"\x00garbage")  # nothing lost
    assert cache.scalar("SELECT COUNT(*) FROM teams") == 0


def test_a_foreign_sqlite_file_is_not_misread(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE teams (x)")
        conn.execute("INSERT INTO teams VALUES (1)")
    cache = Cache(path)
    assert cache.rebuilt_from is not None
    with sqlite3.connect(cache.rebuilt_from) as conn:
        assert conn.execute("SELECT x FROM teams").fetchone() == (1,)


def test_a_cache_from_a_newer_wbadmin_is_set_aside(tmp_path: Path) -> None:
    path = tmp_path / "c.sqlite3"
    Cache(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version = {cache_schema.SCHEMA_VERSION + 5}")
    cache = Cache(path)
    assert cache.rebuilt_from is not None
    assert cache.scalar("PRAGMA user_version") == cache_schema.SCHEMA_VERSION


def _writer(path: str, worker: int, rows: int) -> None:
    cache = Cache(path)
    for i in range(rows):
        with cache.transaction() as conn:
            conn.execute("INSERT INTO teams (name, fetched_at) VALUES (?, ?)",
                         (f"w{worker}-{i}", float(i)))
    cache.close()


def test_two_processes_share_one_cache(tmp_path: Path) -> None:
    path = str(tmp_path / "c.sqlite3")
    Cache(path).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, w, 100)) for w in range(2)]
    for p in procs:
        p.start()
    reader = Cache(path)
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert reader.scalar("SELECT COUNT(*) FROM teams") == 200


def test_age_and_failures_are_recorded(tmp_path: Path) -> None:
    cache = Cache(tmp_path / "c.sqlite3")
    assert cache.age("org") is None
    with cache.transaction() as conn:
        cache.mark(conn, "org", 1000.0)
    assert cache.age("org", now=1060.0) == 60.0
    cache.record_failure("org", "cannot reach W&B")
    assert cache.last_error("org") == "cannot reach W&B"
    assert cache.fetched_at("org") == 1000.0  # a failure keeps the last good time


def test_quota_usage_of_an_older_cache_is_summed_per_team(tmp_path: Path,
                                                          monkeypatch) -> None:
    """Migration 3 fills the per-team daily totals from the per-project ones already kept."""
    path = tmp_path / "c.sqlite3"
    monkeypatch.setattr("wbadmin.core.cache.MIGRATIONS", cache_schema.MIGRATIONS[:2])
    monkeypatch.setattr("wbadmin.core.cache.SCHEMA_VERSION", 2)
    old = Cache(path)
    with old.transaction() as conn:
        conn.executemany("INSERT INTO quota_daily VALUES (?, ?, ?, ?)",
                         [("t1", "p1", 20400, 10.0), ("t1", "p2", 20400, 5.0),
                          ("t1", "p1", 20401, 1.0), ("t2", "p1", 20400, 7.0)])
    old.close()
    monkeypatch.undo()
    cache = Cache(path)
    assert cache.rebuilt_from is None
    rows = [tuple(r) for r in cache.query("SELECT * FROM quota_team_daily ORDER BY 1, 2")]
    assert rows == [("t1", 20400, 15.0), ("t1", 20401, 1.0), ("t2", 20400, 7.0)]


def test_a_bulk_load_gives_back_every_index_and_trigger_or_none_on_failure(tmp_path) -> None:
    """`bulk_load` drops a table's indexes and triggers for a bulk write and makes them
    again from their own SQL; a failure rolls the drop back with the write."""
    from wbadmin.core.cache import bulk_load

    cache = Cache(tmp_path / "c.sqlite3")

    def schema() -> list[tuple]:
        return [tuple(r) for r in cache.query(
            "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'quota_runs' "
            "ORDER BY name")]

    before = schema()
    assert any(r[0] == "trigger" for r in before) and any(r[0] == "index" for r in before)
    row = ("t", "p", "r1", None, "carol", "finished", 1.0, 2.0, 0, 1, None, None)
    with cache.transaction() as conn, bulk_load(conn, "quota_runs"):
        assert [r[0] for r in schema() if r[2] is not None] == ["table"]  # and its key
        conn.execute("INSERT INTO quota_runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", row)
    assert schema() == before
    assert cache.scalar("SELECT COUNT(*) FROM quota_runs") == 1
    assert cache.scalar("SELECT COUNT(*) FROM quota_runs INDEXED BY quota_runs_running "
                        "WHERE state = 'finished'") == 1  # the index holds the bulk's rows
    with pytest.raises(RuntimeError), cache.transaction() as conn, \
            bulk_load(conn, "quota_runs"):
        conn.execute("INSERT INTO quota_runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                     ("t", "p", "r2", *row[3:]))
        raise RuntimeError("the refresh failed")
    assert schema() == before
    assert cache.scalar("SELECT COUNT(*) FROM quota_runs") == 1
    cache.close()
