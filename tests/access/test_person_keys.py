"""People's API keys on their detail (`wbadmin access user NAME`): named by id and description
to org admins (W&B's user listing), "not visible" to anyone else — each identity on its own
cache, over real HTTP against the demo sandbox — and never a key's value anywhere."""

from __future__ import annotations

import json

import pytest

from tests.cli.conftest import cache_file, files_under
from wbadmin.core.access import service_accounts as sa
from wbadmin.core.cache import Cache
from wbadmin.sandbox import ids

PERSON = "carol"


def sandbox_keys(db, username: str) -> list[tuple[str, str | None]]:
    return [(ids.encode("ApiKey", r[0]), r[1]) for r in db.query(
        "SELECT k.id, k.description FROM api_keys k JOIN users u ON u.id = k.user_id "
        "WHERE u.username = ? ORDER BY k.id", (username,))]


def user_json(cli, name: str) -> dict:
    result = cli("access", "user", name, "--json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def test_an_org_admin_sees_a_persons_keys_by_id(live, cli, home, sandbox_db) -> None:
    expected = sandbox_keys(sandbox_db, PERSON)
    assert expected  # the demo gives carol a key
    shown = user_json(cli, PERSON)
    assert [(k["id"], k["description"]) for k in shown["keys"]] == sorted(expected)
    assert shown["key_count"] == len(expected) and shown["keys_note"] is None
    assert all(set(k) == {"id", "description"} for k in shown["keys"])
    text = cli("access", "user", PERSON)
    assert text.code == 0, text.err
    assert f"API keys: {len(expected)} (ids only" in text.out
    for key_id, _ in expected:
        assert key_id in text.out
    cache = Cache(cache_file(user="alice"))
    try:
        assert [k.id for k in sa.person_keys(cache, PERSON)] == sorted(i for i, _ in expected)
        assert sa.person_keys(cache, "ci-bot") is None  # a service account is not a person
    finally:
        cache.close()
    bot = user_json(cli, "ci-bot")
    assert bot["keys"] is None and bot["keys_note"].startswith("a service account's")


@pytest.mark.parametrize("user", ["bob", "carol", "victor"])
def test_anyone_else_is_told_keys_are_not_visible(live, cli, home, as_user, user) -> None:
    as_user(user)
    shown = user_json(cli, user)
    assert shown["keys"] is None and shown["key_count"] is None
    assert shown["keys_note"].startswith("not visible to you")
    text = cli("access", "user", user)
    assert "API keys: not visible to you" in text.out
    cache = Cache(cache_file(user=user))  # this identity's own cache
    try:
        assert cache.scalar("SELECT COUNT(*) FROM person_keys") == 0
        assert sa.person_keys(cache, user) is None
    finally:
        cache.close()


def test_never_a_key_value_in_the_output_or_the_cache(live, cli, home, sandbox_db) -> None:
    people = [r[0] for r in sandbox_db.query(
        "SELECT DISTINCT u.username FROM users u JOIN api_keys k ON k.user_id = u.id "
        "WHERE u.account_type = 'USER' ORDER BY u.username LIMIT 5")]
    out = "".join(cli("access", "user", p, *flag).out for p in people for flag in ((), ("--json",)))
    assert '"QXBpS2V5' in out or "QXBpS2V5" in out  # key ids are shown
    cached = b"".join(p.read_bytes() for p in files_under(home.root))
    assert cached.count(b"QXBpS2V5") >= len(people)
    secrets = [r[0] for r in sandbox_db.query("SELECT key FROM api_keys")]
    names = [r[0] for r in sandbox_db.query("SELECT name FROM api_keys")]
    for value in secrets + names:  # names too: W&B's `name` may be the secret
        assert value not in out and value.encode() not in cached
