"""`wbadmin sandbox serve | keys | reset` as a person or a script uses them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.conftest import key_of
from wbadmin.cli import main
from wbadmin.sandbox.server import free_port


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wbadmin", *args], capture_output=True,
                          text=True, timeout=60)


def test_keys_json_lists_every_kind_of_identity(tmp_path: Path, capsys) -> None:
    assert main(["sandbox", "keys", "--db", str(tmp_path / "s.db"), "--json"]) == 0
    people = json.loads(capsys.readouterr().out)
    kinds = {p["username"]: p["kind"] for p in people}
    assert kinds["alice"] == "org admin"
    assert kinds["victor"] == "viewer"
    assert kinds["org-provisioner"] == "org service account"
    assert all(len(p["api_key"]) >= 40 for p in people)
    bob = next(p for p in people if p["username"] == "bob")
    assert bob["teams"]["data-science-nlp"] == "admin"


def test_keys_are_stable_across_runs(tmp_path: Path, capsys) -> None:
    main(["sandbox", "keys", "--db", str(tmp_path / "a.db"), "--json"])
    first = json.loads(capsys.readouterr().out)
    main(["sandbox", "keys", "--db", str(tmp_path / "b.db"), "--json"])
    assert json.loads(capsys.readouterr().out) == first


def test_preset_mismatch_is_one_clear_line(tmp_path: Path, capsys) -> None:
    db = str(tmp_path / "s.db")
    assert main(["sandbox", "keys", "--db", db]) == 0
    capsys.readouterr()
    assert main(["sandbox", "keys", "--db", db, "--preset", "large"]) == 8
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert "sandbox reset --preset large" in err


def test_foreign_file_is_refused_with_advice(tmp_path: Path, capsys) -> None:
    db = tmp_path / "not-a-db.sqlite3"
    db.write_text("this is not sqlite " * 100)
    assert main(["sandbox", "keys", "--db", str(db)]) == 8
    err = capsys.readouterr().err
    assert "sandbox reset" in err and "Traceback" not in err


def test_reset_restores_the_seed(tmp_path: Path, capsys) -> None:
    db = tmp_path / "s.db"
    main(["sandbox", "keys", "--db", str(db)])
    import sqlite3

    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM team_members")
    assert main(["sandbox", "reset", "--db", str(db)]) == 0
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*) FROM team_members").fetchone()[0] > 50


def test_bad_fault_flag_is_a_usage_error(tmp_path: Path) -> None:
    out = run_cli("sandbox", "serve", "--db", str(tmp_path / "s.db"), "--error-rate", "7")
    assert out.returncode == 2
    assert "error_rate" in out.stderr and "Traceback" not in out.stderr
    out = run_cli("sandbox", "serve", "--db", str(tmp_path / "s.db"), "--scim-page-cap", "0")
    assert out.returncode == 2
    assert "scim_page_cap must be >= 1" in out.stderr and "Traceback" not in out.stderr
    out = run_cli("sandbox", "serve", "--db", str(tmp_path / "s.db"), "--max-nodes", "0")
    assert out.returncode == 2
    assert out.stderr.strip().splitlines() == [
        "wbadmin: bad --without/--max-root-fields/--max-nodes: the cap on nodes must be at "
        "least 1"]


def test_serve_answers_graphql_on_loopback(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "WBADMIN_SANDBOX_LATENCY_MS": "0"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "wbadmin", "sandbox", "serve", "--port", str(port),
         "--db", str(tmp_path / "s.db"), "--scim-page-cap", "4", "--max-nodes", "5",
         "--over-cap-answer", "timeout"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(url + "/_sandbox/health")
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stderr.read()
                assert time.monotonic() < deadline
                time.sleep(0.1)
        assert health.json()["preset"] == "demo"
        query = {"query": "{ serverInfo { features { name } } }"}
        answer = httpx.post(url + "/graphql", json=query)
        assert answer.status_code == 401  # no key: refused as W&B refuses it
        users = httpx.get(url + "/scim/Users", params={"count": 9999},
                          auth=("alice", key_of("alice"))).json()
        assert len(users["Resources"]) == users["itemsPerPage"] == 4  # --scim-page-cap 4
        assert users["totalResults"] > 4
        ask = "{ viewer { teams(first: %d) { edges { node { name } } } } }"
        auth = ("api", key_of("alice"))
        assert httpx.post(url + "/graphql", json={"query": ask % 5}, auth=auth).status_code \
            == 200
        over = httpx.post(url + "/graphql", json={"query": ask % 6}, auth=auth)
        assert over.status_code == 504 and "Gateway Time-out" in over.text  # --max-nodes 5
    finally:
        proc.terminate()
        proc.wait(timeout=10)
