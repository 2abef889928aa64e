"""The cache belongs to one server and one identity. After alice (org admin) syncs, another
key never sees her data: a wrong key is refused (exit 3) and sees nothing; victor (viewer),
bob and carol each get a cache of their own, filled from what W&B lets them see; another
server or a closed port never shows the cached data; a key verified here before reads its
own cache with no request, also offline; the journal's actor is whoever holds the key."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from tests.conftest import key_of
from wbadmin.core import paths
from wbadmin.core.known_keys import FILE_NAME

READS = [("teams", "--json"), ("members", "ml-infra", "--json"), ("users", "--json"),
         ("projects", "--json"), ("access", "user", "alice", "--json"),
         ("access", "findings", "--json")]
WRONG_KEY = "0123456789abcdef0123456789abcdef01234567"


def requests_served(base_url: str) -> int:
    return httpx.get(f"{base_url}/_sandbox/health").json()["requests"]


def as_key(monkeypatch: pytest.MonkeyPatch, key: str) -> None:
    monkeypatch.setenv("WANDB_API_KEY", key)


@pytest.fixture
def alice_synced(live, cli, home) -> str:
    r = cli("sync")
    assert r.code == 0, r.err
    return live


def test_a_wrong_key_is_refused_and_sees_nothing(alice_synced, cli, monkeypatch) -> None:
    as_key(monkeypatch, WRONG_KEY)
    for args in READS:
        r = cli(*args)
        assert r.code == 3, (args, r.code, r.err)
        assert r.out == "" and len(r.err_lines) == 1, args
        assert "not logged in" in r.err or "does not recognise" in r.err or "refused" in r.err
    offline = cli("teams", "--offline")  # nor offline: nothing cached is this key's
    assert offline.code == 7 and "never verified on this machine" in offline.err


@pytest.mark.parametrize("who", ["victor", "bob", "carol"])
def test_each_identity_reads_its_own_cache_never_alices(alice_synced, cli, monkeypatch,
                                                        who) -> None:
    alice = {args: cli(*args).out for args in READS}
    as_key(monkeypatch, key_of(who))
    differs = 0
    for n, args in enumerate(READS):
        r = cli(*args)
        assert r.code in (0, 1, 4, 5), (who, args, r.err)
        if n == 0:  # nothing of this identity's is cached yet: it is read from W&B
            assert "synced profile default" in r.err, r.err
        differs += r.out != alice[args]
    assert differs >= 3, f"{who} saw alice's answers"
    me = json.loads(cli("whoami", "--json").out)
    assert me["username"] == who
    teams = {t["name"]: t for t in json.loads(cli("teams", "--json").out)}
    if who == "victor":  # a viewer of the org does not read ml-infra's members
        r = cli("members", "ml-infra", "--json")
        assert r.code != 0 or "alice" not in r.out, r.out
    assert teams  # filled from what W&B shows this identity, on its own cache
    caches = sorted(p.name for p in paths.cache_dir().glob("default@*.sqlite3"))
    assert any(c.startswith("default@alice@") for c in caches)
    assert any(c.startswith(f"default@{who}@") for c in caches)


def test_a_known_key_reads_its_cache_with_no_request(alice_synced, cli) -> None:
    before = requests_served(alice_synced)
    r = cli("teams", "--json")
    assert r.code == 0 and len(json.loads(r.out)) == 9
    assert requests_served(alice_synced) == before
    offline = cli("teams", "--offline", "--json")
    assert offline.code == 0 and offline.out == r.out


def test_another_server_or_a_closed_port_never_shows_the_cache(alice_synced, cli,
                                                                monkeypatch) -> None:
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")  # nothing listens on port 9
    r = cli("teams", "--json")
    assert r.code == 7 and r.out == "" and "127.0.0.1:9" in r.err
    assert cli("teams", "--offline").code == 7  # never verified for that server: nothing


def test_another_server_with_the_same_key_gets_a_cache_of_its_own(alice_synced, cli,
                                                                   monkeypatch) -> None:
    from tests.conftest import SEED, SEED_NOW
    from wbadmin.sandbox.db import Database
    from wbadmin.sandbox.seed import seed_preset
    from wbadmin.sandbox.server import SandboxServer

    db = Database()
    seed_preset(db, "large", seed=SEED, now=SEED_NOW)  # another org, alice's key the same
    with SandboxServer(db) as other:
        monkeypatch.setenv("WANDB_BASE_URL", other.base_url)
        r = cli("teams", "--json")
        assert r.code == 0, r.err
        assert len(json.loads(r.out)) > 9  # the other org's teams, not the cached nine
    db.close()


def test_the_actor_is_whoever_holds_the_key(alice_synced, cli, monkeypatch,
                                            tmp_path: Path) -> None:
    as_key(monkeypatch, key_of("bob"))  # team admin of data-science-nlp, no SCIM
    rows = tmp_path / "invite.csv"
    rows.write_text("email,team,role\nnew.hire@example.com,data-science-nlp,member\n")
    r = cli("access", "apply", str(rows), "--yes")
    assert r.code == 0, r.err
    entries = [json.loads(line) for line in
               cli("journal", "--format", "jsonl").out.splitlines() if line.strip()]
    assert entries and {e["actor"] for e in entries} == {"bob"}, entries


def test_the_known_keys_file_cannot_give_a_key_back(alice_synced, cli, monkeypatch) -> None:
    as_key(monkeypatch, key_of("victor"))
    assert cli("whoami").code == 0
    text = (paths.cache_dir() / FILE_NAME).read_text()
    for who in ("alice", "victor"):
        assert key_of(who) not in text and key_of(who)[:12] not in text
    data = json.loads(text)
    assert {e["username"] for e in data["keys"]} == {"alice", "victor"}
    assert all(set(e) == {"server", "username", "verified_at", "cost", "fingerprint"}
               for e in data["keys"])
    assert Path(paths.cache_dir() / FILE_NAME).stat().st_mode & 0o077 == 0
