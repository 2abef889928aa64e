"""Cache, journal, walkthrough state and the embedded sandbox's database (it holds the demo
keys) are private: files 0600 in folders 0700 that wbadmin creates, whatever the umask; an
older file is tightened when opened; moved-aside copies of a corrupt cache are bounded."""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from wbadmin import clock
from wbadmin.core.cache import BAD_COPIES_KEPT, Cache
from wbadmin.core.journal import Journal
from wbadmin.core.onboarding import walkthrough as W
from wbadmin.sandbox.db import Database


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def open_umask() -> Iterator[None]:
    old = os.umask(0o022)  # the usual umask: what it lets through is what a user would get
    yield
    os.umask(old)


def test_every_private_file_is_0600_in_a_0700_folder(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o755)  # the user's own folder (a --cache-path beside their work)
    Cache(mine / "cache.sqlite3").close()
    cache = Cache(tmp_path / "c" / "deep" / "cache.sqlite3")
    with cache.transaction() as conn:
        conn.execute("INSERT INTO meta VALUES ('org', 'x')")
    journal = Journal(tmp_path / "j" / "journal.sqlite3")
    journal.query()
    store = W.Store(tmp_path / "w" / "walkthroughs")
    wt = W.new("research-team", "team", "default")
    store.save(wt)
    db = Database(tmp_path / "s" / "sandbox.sqlite3")
    files = [tmp_path / "c" / "deep" / "cache.sqlite3", tmp_path / "j" / "journal.sqlite3",
             store.path(wt.id), tmp_path / "s" / "sandbox.sqlite3"]
    files += [Path(f"{f}{s}") for f in files for s in ("-wal", "-shm")
              if Path(f"{f}{s}").exists()]
    assert len(files) > 4  # the WAL side files exist, and are checked too
    assert {str(f): oct(mode(f)) for f in files} == {str(f): "0o600" for f in files}
    folders = [tmp_path / "c", tmp_path / "c" / "deep", tmp_path / "j", tmp_path / "w",
               tmp_path / "w" / "walkthroughs", tmp_path / "s"]
    assert {str(d): oct(mode(d)) for d in folders} == {str(d): "0o700" for d in folders}
    assert mode(mine) == 0o755  # a folder that was there already is left alone
    assert mode(mine / "cache.sqlite3") == 0o600
    cache.close()
    journal.close()
    db.close()


def test_a_file_an_older_wbadmin_wrote_0644_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    Cache(path).close()
    os.chmod(path, 0o644)
    Cache(path).close()
    assert mode(path) == 0o600


def test_moved_aside_copies_of_a_bad_cache_are_bounded(tmp_path: Path) -> None:
    path = tmp_path / "cache.sqlite3"
    for n in range(BAD_COPIES_KEPT + 3):
        clock.start_at(1_795_000_000 + n * 60)  # (the env's anchor may be minutes old)
        path.write_bytes(b"\x00not sqlite" * 100)
        Cache(path).close()
    copies = sorted(p.name for p in tmp_path.glob("cache.sqlite3.bad-*"))
    stamps = [time.strftime("%Y%m%d-%H%M%S", time.localtime(1_795_000_000 + n * 60))
              for n in range(BAD_COPIES_KEPT + 3)]
    assert copies == [f"cache.sqlite3.bad-{s}" for s in stamps[-BAD_COPIES_KEPT:]]
    assert mode(path) == 0o600  # the cache started afresh is private too
