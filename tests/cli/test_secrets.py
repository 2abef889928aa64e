"""The API key never appears in output, logs, the cache file or the journal file."""

from __future__ import annotations

import io
import json
import logging

from tests.conftest import key_of
from wbadmin.core.changes_team import SetTeamRole

from .conftest import cache_file, files_under, journal_file, secret_forms
from .test_journal_undo import apply


def test_no_command_leaks_the_key_anywhere(sandbox, monkeypatch, caplog, home, cli) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("WANDB_BASE_URL", sandbox.base_url)
    key = key_of("alice")
    seen: list[str] = []

    monkeypatch.setattr("sys.stdin", io.StringIO(key + "\n"))
    r = cli("--debug", "login")
    assert r.code == 0, r.err
    seen += [r.out, r.err]
    for args in (["whoami", "--json"], ["sync", "--json"], ["teams", "--json"],
                 ["members", "ml-infra", "--json"], ["users", "--json"],
                 ["cache", "info", "--json"]):
        r = cli("--debug", *args)
        assert r.code == 0, (args, r.err)
        seen += [r.out, r.err]
        r = cli(*args, "--debug")  # --debug after the command works too
        assert r.code == 0, (args, r.err)
        seen += [r.out, r.err]
    outcome = apply(sandbox.base_url, SetTeamRole.make("ml-infra", "carol", "admin", None))
    assert outcome.status in ("applied", "failed")  # carol is not in ml-infra: fails
    ok = apply(sandbox.base_url, SetTeamRole.make("data-science-nlp", "carol", "admin",
                                                  "member"))
    assert ok.ok
    for args in (["journal", "--json"], ["journal", "--format", "csv"],
                 ["undo", str(ok.entry_id), "--yes", "--json"]):
        r = cli("--debug", *args)
        assert r.code == 0, (args, r.err)
        seen += [r.out, r.err]
    # A refused key and a malformed one: their error lines do not echo them either.
    monkeypatch.setenv("WANDB_API_KEY", "0" * 40)
    r = cli("--debug", "teams", "--refresh")
    assert r.code == 3
    seen += [r.out, r.err]
    assert caplog.records, "debug logging produced no records"
    logs = caplog.text + "\n".join(rec.getMessage() for rec in caplog.records)
    assert "WbadminViewer" in logs or "HTTP Request" in logs  # debug logs really were on

    files = [cache_file(), journal_file(), *files_under(home.root)]
    assert journal_file().exists() and cache_file().exists()
    for form in secret_forms(key) + secret_forms("0" * 40):
        for text in seen:
            assert form not in text
        assert form not in logs
        for path in files:
            assert form.encode() not in path.read_bytes(), path
    assert json.loads(cli("journal", "--json").out)[-1]["undo_of"] == ok.entry_id
