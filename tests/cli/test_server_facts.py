"""Features follow the server (issue 17): what the server has is probed once, cached per
server and reused; probed again after a day or when its serverInfo flags change; a degraded
path is taken and said once; a plan needing a mutation the server lacks is refused before
anything is sent. Each against a sandbox playing an older W&B (`ServerVariant`), over HTTP,
and each as `doctor` says of that server."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import key_of
from wbadmin import clock
from wbadmin.sandbox.db import Database
from wbadmin.sandbox.server import SandboxServer
from wbadmin.sandbox.server_variant import ServerVariant

NOTICE = "note: this server has no Entity.projects(filters:); quota refresh reads ordered " \
    "project lists instead"


class Recorder:
    """ASGI wrapper around the sandbox: every request's method, path and body, as the server
    got it."""

    def __init__(self, app) -> None:
        self.app, self.seen = app, []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        body: list[bytes] = []

        async def recording():
            message = await receive()
            if message["type"] == "http.request":
                body.append(message.get("body", b""))
            return message

        try:
            await self.app(scope, recording, send)
        finally:
            self.seen.append((scope["method"], scope["path"],
                              b"".join(body).decode(errors="replace")))

    def take(self) -> list[tuple[str, str, str]]:
        seen, self.seen = self.seen, []
        return seen

    @staticmethod
    def probes(seen: list[tuple[str, str, str]]) -> int:
        return sum(1 for _, _, body in seen if "__type(name:" in body)


@pytest.fixture
def older(sandbox_db: Database, monkeypatch: pytest.MonkeyPatch):
    servers: list[SandboxServer] = []

    def serve(variant: ServerVariant, user: str = "alice") -> Recorder:
        server = SandboxServer(sandbox_db, variant=variant)
        recorder = server.app = Recorder(server.app)
        server.start()
        servers.append(server)
        monkeypatch.setenv("WANDB_BASE_URL", server.base_url)
        monkeypatch.setenv("WANDB_API_KEY", key_of(user))
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
        return recorder

    yield serve
    for server in servers:
        server.stop()


def doctor_features(cli) -> dict[str, dict]:
    r = cli("doctor", "--json")
    assert r.code == 1, r.err  # the server lacks something
    return {f["name"]: f for f in json.loads(r.out)["features"]}


def test_doctor_writes_the_facts_and_quotas_degrade_as_it_says(home, cli, older) -> None:
    seen = older(ServerVariant.of(["Entity.projects(filters)"]))
    quotas = doctor_features(cli)["Quotas"]
    assert quotas["state"] == "degraded"
    assert "the server has no Entity.projects(filters:)" in quotas["server_lacks"]
    assert Recorder.probes(seen.take()) > 0
    r = cli("quotas", "--json")
    assert r.code == 0, r.err
    assert r.err.count(NOTICE) == 1, r.err  # said once, for the whole command
    sent = seen.take()
    assert Recorder.probes(sent) == 0  # doctor's facts were used: no probe again
    assert not any("filters: $s_filters" in body and "projects(" in body for _, _, body in sent)


def test_a_first_command_probes_and_the_next_reuses_the_facts(home, cli, older) -> None:
    seen = older(ServerVariant.of(["Entity.projects(filters)"]))
    first = cli("quotas", "--json")
    assert first.code == 0, first.err
    assert first.err.count(NOTICE) == 1
    assert Recorder.probes(seen.take()) > 0
    again = cli("quotas", "--json")
    assert again.code == 0 and again.err.count(NOTICE) == 1, again.err
    assert Recorder.probes(seen.take()) == 0
    # What the TUI greys from, before any request: the stored facts, as doctor names them.
    from wbadmin.core.session import Session

    known = Session.resolve().known_facts()
    assert known is not None and known.lacks("Entity.projects(filters:)")
    assert known.feature("Quotas").state == "degraded"
    assert known.feature("Quotas").notices == (NOTICE.removeprefix("note: "),)
    assert known.feature("Promotions").state == "ready"
    assert [t["team"] for t in json.loads(again.out)["teams"]] == \
        [t["team"] for t in json.loads(first.out)["teams"]]


def test_the_facts_are_probed_again_after_a_day(home, cli, older, monkeypatch) -> None:
    seen = older(ServerVariant.of(["Entity.projects(filters)"]))
    monkeypatch.setenv(clock.ENV, str(int(clock.now())))
    assert cli("quotas", "--json").code == 0
    seen.take()
    monkeypatch.setenv(clock.ENV, str(int(clock.now()) + 3600))
    assert cli("quotas", "--json").code == 0
    assert Recorder.probes(seen.take()) == 0  # an hour later: still trusted
    monkeypatch.setenv(clock.ENV, str(int(clock.now()) + 86_400))
    r = cli("quotas", "--json")
    assert r.code == 0, r.err
    assert Recorder.probes(seen.take()) > 0


def test_the_facts_are_probed_again_when_the_server_features_change(home, cli, older,
                                                                    monkeypatch) -> None:
    seen = older(ServerVariant.of(["Entity.projects(filters)"]))
    assert cli("quotas", "--json").code == 0
    seen.take()
    from wbadmin.sandbox.gql import resolvers_server

    # The server upgraded: a flag it did not have before.
    monkeypatch.setattr(resolvers_server, "ENABLED_FEATURES",
                        [*resolvers_server.ENABLED_FEATURES, "A_NEW_FEATURE"])
    assert cli("quotas", "--json").code == 0
    assert Recorder.probes(seen.take()) > 0
    assert cli("quotas", "--json").code == 0
    assert Recorder.probes(seen.take()) == 0


def test_a_full_server_needs_no_notice(home, cli, older) -> None:
    older(ServerVariant.of([]))
    r = cli("quotas", "--json")
    assert r.code == 0 and "note:" not in r.err, r.err


SERVICE_ACCOUNT = """
[teams.data-science-nlp]
service_accounts = ["fraud-bot: nightly scoring"]

[teams.data-science-nlp.members]
carol = "viewer"
"""


@pytest.mark.parametrize("command", [["plan"], ["apply", "--yes"], ["apply", "--dry-run"]])
def test_a_plan_needing_a_mutation_the_server_lacks_is_refused_before_anything_is_sent(
        home, cli, older, sandbox_db, tmp_path: Path, command: list[str]) -> None:
    seen = older(ServerVariant.of(["Mutation.createServiceAccount"]))
    access = doctor_features(cli)["Access"]
    assert "the server has no Mutation.createServiceAccount: changes that need it are " \
        "refused before anything is sent" in access["server_lacks"]
    path = tmp_path / "org.toml"
    path.write_text(SERVICE_ACCOUNT)
    roles_before = sandbox_db.query("SELECT * FROM team_members ORDER BY 1, 2")
    seen.take()
    r = cli(*command, str(path))
    assert r.code == 1, (r.code, r.err)
    assert len(r.err_lines) == 1, r.err
    assert "Mutation.createServiceAccount" in r.err and "wbadmin doctor" in r.err
    assert not any("mutation" in body.lower() for _, _, body in seen.take())
    assert sandbox_db.query("SELECT * FROM team_members ORDER BY 1, 2") == roles_before
    assert json.loads(cli("journal", "--json").out) == []


def test_the_same_plan_applies_where_the_server_has_the_mutation(home, cli, older,
                                                                 tmp_path: Path) -> None:
    older(ServerVariant.of([]))
    path = tmp_path / "org.toml"
    path.write_text(SERVICE_ACCOUNT)
    r = cli("apply", "--yes", str(path))
    assert r.code == 0, r.err


def test_without_scim_a_role_change_is_refused_as_doctor_says(home, cli, older,
                                                               sandbox_db) -> None:
    seen = older(ServerVariant.of(scim=False))
    access = doctor_features(cli)["Access"]
    assert any("no SCIM API at /scim" in line and "role changes" in line
               for line in access["server_lacks"]), access
    roles_before = sandbox_db.query("SELECT * FROM team_members ORDER BY 1, 2")
    seen.take()
    r = cli("access", "set-role", "data-science-nlp", "carol", "viewer", "--yes")
    assert r.code == 1, (r.code, r.err)
    assert "no SCIM API at /scim" in r.err and "wbadmin doctor" in r.err, r.err
    sent = seen.take()
    assert Recorder.probes(sent) == 0  # doctor's facts, reused
    assert all(method == "GET" for method, path, _ in sent if path.startswith("/scim"))
    assert not any("mutation" in body.lower() for _, _, body in sent)
    assert sandbox_db.query("SELECT * FROM team_members ORDER BY 1, 2") == roles_before


def test_without_introspection_the_argument_is_found_by_a_real_read(home, cli, older) -> None:
    """`__type` refused: the argument with a degraded path is asked by its smallest real
    read, so doctor names it and quotas take the degraded path rather than fail on it."""
    older(ServerVariant.of(["Entity.projects(filters)"], introspection=False))
    quotas = doctor_features(cli)["Quotas"]
    assert quotas["state"] == "degraded"
    assert "the server has no Entity.projects(filters:)" in quotas["server_lacks"]
    r = cli("quotas", "--json")
    assert r.code == 0, r.err
    assert r.err.count(NOTICE) == 1, r.err


def role_of(db: Database, team: str, user: str) -> str | None:
    return db.scalar("SELECT m.role FROM team_members m JOIN users u ON u.id = m.user_id "
                     "JOIN entities e ON e.id = m.team_id WHERE e.name = ? AND u.username = ?",
                     (team, user))


def test_a_role_limit_is_not_a_server_fact(home, cli, older, monkeypatch, sandbox_db) -> None:
    """bob (no SCIM for his role) runs doctor first; alice, an org admin on the same machine
    and server, then uses the facts he left, and SCIM is not refused to her."""
    seen = older(ServerVariant.of([]), user="bob")
    r = cli("doctor", "--json")
    assert r.code == 0, r.err
    access = {f["name"]: f for f in json.loads(r.out)["features"]}["Access"]
    assert access["role_limits"] and not access["server_lacks"]
    seen.take()
    assert role_of(sandbox_db, "data-science-nlp", "carol") != "viewer"
    monkeypatch.setenv("WANDB_API_KEY", key_of("alice"))
    r = cli("access", "set-role", "data-science-nlp", "carol", "viewer", "--yes")
    assert r.code == 0, r.err
    assert Recorder.probes(seen.take()) == 0  # bob's facts, reused
    assert role_of(sandbox_db, "data-science-nlp", "carol") == "viewer"


def test_a_server_fact_found_by_one_identity_holds_for_the_next(home, cli, older,
                                                                monkeypatch) -> None:
    seen = older(ServerVariant.of(scim=False), user="bob")
    r = cli("doctor", "--json")
    assert r.code == 1, r.err  # no SCIM at all: the server's lack, whoever asks
    seen.take()
    monkeypatch.setenv("WANDB_API_KEY", key_of("alice"))
    r = cli("access", "set-role", "data-science-nlp", "carol", "viewer", "--yes")
    assert r.code == 1 and "no SCIM API" in r.err, r.err
    assert Recorder.probes(seen.take()) == 0
