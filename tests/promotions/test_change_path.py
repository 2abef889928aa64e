"""Promotion decisions on the core change path, as `wbadmin promote` runs them over real HTTP:
one writer per org (a second waits, or with --no-wait exits 6 and changes nothing), entries a
crash left pending settled before the decision, read-only refusing every decision, and the
decision's collection re-read into this identity's cache so every screen shows it."""

from __future__ import annotations

import contextlib
import json
import sqlite3

from tests.cli.conftest import cache_file, journal_file
from tests.conftest import key_of, org_lock_held_elsewhere

from .conftest import CHATBOT, World

V7 = f"{CHATBOT}:v7"


def _cached_aliases(user: str, collection: str) -> dict[int, list[str]]:
    with contextlib.closing(sqlite3.connect(cache_file(user=user))) as conn:
        rows = conn.execute("SELECT version_index, aliases FROM versions WHERE collection = ?",
                            (collection,)).fetchall()
    return {index: json.loads(aliases) for index, aliases in rows}


def test_a_second_writer_with_no_wait_exits_6_and_decides_nothing(live, cli, monkeypatch,
                                                                  world: World) -> None:
    monkeypatch.setenv("WANDB_API_KEY", key_of("grace"))
    before = world.state(V7)
    with org_lock_held_elsewhere(live) as pid:
        r = cli("promote", "approve", V7, "--yes", "--no-wait")
    assert r.code == 6, r.err
    assert f"pid {pid}" in r.err and len(r.err_lines) == 1
    assert world.state(V7) == before
    assert cli("promote", "approve", V7, "--yes", "--no-wait").code == 0
    assert world.version(f"{CHATBOT}:production").version == "v7"


def test_a_decision_refreshes_this_identitys_cache(live, cli, monkeypatch,
                                                   world: World) -> None:
    monkeypatch.setenv("WANDB_API_KEY", key_of("grace"))
    assert cli("sync").code == 0
    collection = CHATBOT.rsplit("/", 1)[1]
    assert "production" in _cached_aliases("grace", collection)[5]
    r = cli("promote", "approve", V7, "--yes")
    assert r.code == 0, r.err
    cached = _cached_aliases("grace", collection)  # no sync: the change path re-read it
    assert "production" in cached[7] and "production" not in cached[5]


def test_a_pending_alias_move_left_by_a_crash_is_settled_first(live, cli, monkeypatch,
                                                               world: World) -> None:
    monkeypatch.setenv("WANDB_API_KEY", key_of("grace"))
    assert cli("promote", "approve", V7, "--yes").code == 0
    # As if a crash had struck between writing the intent and hearing W&B's answer: the
    # alias move goes back to pending although W&B holds it.
    with contextlib.closing(sqlite3.connect(journal_file())) as conn, conn:
        conn.execute("UPDATE entries SET status = 'pending', owner = '' WHERE kind = "
                     "'registry.move_alias'")
    r = cli("promote", "request", f"{CHATBOT}:v4", "--to", "staging", "--comment", "next",
            "--ticket", "NLP-1")
    assert r.code == 0, r.err
    assert "left pending by an interrupted apply: applied" in r.err
    entries = json.loads(cli("journal", "--json").out)
    assert not [e for e in entries if e["status"] == "pending"]


def test_read_only_refuses_every_decision(live, cli, monkeypatch, world: World) -> None:
    monkeypatch.setenv("WANDB_API_KEY", key_of("grace"))
    before = world.state(V7)
    for args in (["approve", V7, "--yes"], ["reject", V7, "--reason", "no"],
                 ["request", f"{CHATBOT}:v4", "--to", "staging", "--comment", "x"]):
        r = cli("promote", *args, "--read-only")
        assert r.code == 4 and "read-only" in r.err and len(r.err_lines) == 1, args
    assert world.state(V7) == before
    assert json.loads(cli("journal", "--json").out) == []
