"""`wbadmin promote ...` against the sandbox over real HTTP (a LIVE profile): JSON output,
exit codes, confirmation of production moves, and one-line errors that change nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import key_of

from .conftest import CHATBOT, World

V7 = f"{CHATBOT}:v7"


@pytest.fixture
def as_user(live, monkeypatch: pytest.MonkeyPatch):
    def switch(user: str) -> None:
        monkeypatch.setenv("WANDB_API_KEY", key_of(user))

    return switch


def test_request_prints_json_and_asking_twice_changes_nothing(cli, as_user, world) -> None:
    as_user("carol")
    r = cli("promote", "request", f"{CHATBOT}:v4", "--to", "staging", "--comment", "ci run 7",
            "--ticket", "NLP-77", "--json")
    assert r.code == 0, r.err
    out = json.loads(r.out)
    assert out["changed"] is True and out["request"]["requested_by"] == "carol"
    assert out["request"]["ticket"] == "NLP-77" and out["request"]["status"] == "pending"
    again = cli("promote", "request", f"{CHATBOT}:v4", "--to", "staging", "--comment",
                "ci run 7", "--json")
    assert again.code == 0 and json.loads(again.out)["changed"] is False
    assert world.record(f"{CHATBOT}:v4").revision == 1


def test_list_and_show(cli, as_user) -> None:
    as_user("grace")
    r = cli("promote", "list", "--json", "--sort", "collection")
    assert r.code == 0, r.err
    items = json.loads(r.out)
    assert [i["version"] for i in items] == [
        "inference-systems/model/intent-classifier:v12",
        "inference-systems/model/rag-embedder-v1:v3", V7]
    assert items[2]["policy"]["approvals_required"] == 1
    show = cli("promote", "show", V7, "--json")
    assert show.code == 0, show.err
    detail = json.loads(show.out)
    assert detail["current_holder"]["version"] == "v5"
    assert detail["you"]["can_approve"] is True
    assert any(d["key"] == "metrics.accuracy" for d in detail["diff"])
    assert detail["lineage"]["entity"] == "llm-platform-eng"
    text = cli("promote", "list")
    assert text.code == 0 and "support-chatbot-ft:v7" in text.out
    as_user("alice")  # an org admin is an effective registry admin (found through SCIM)
    detail = json.loads(cli("promote", "show", V7, "--json").out)
    assert detail["you"]["registry_role"] == "admin"
    as_user("bob")  # a registry member, and the requester
    detail = json.loads(cli("promote", "show", V7, "--json").out)
    assert detail["you"]["registry_role"] == "member"
    assert "requester never approves" in detail["you"]["why_not"][0]


def test_approving_production_needs_confirmation(cli, as_user, world: World) -> None:
    as_user("grace")
    before = world.state(V7)
    r = cli("promote", "approve", V7)
    assert r.code == 2 and "pass --yes" in r.err
    assert world.state(V7) == before
    ok = cli("promote", "approve", V7, "--yes", "--comment", "ship", "--json")
    assert ok.code == 0, ok.err
    out = json.loads(ok.out)
    assert out["moved"] is True
    assert [j["change"] for j in out["journal"]] == ["registry.move_alias", "promotion.record"]
    assert world.version(f"{CHATBOT}:production").version == "v7"


def test_forbidden_approval_exits_4_and_changes_nothing(cli, as_user, world: World) -> None:
    as_user("victor")
    before = world.state(V7)
    r = cli("promote", "approve", V7, "--yes")
    assert r.code == 4
    assert len(r.err_lines) == 1 and "victor may not approve" in r.err
    assert world.state(V7) == before
    as_user("bob")
    r = cli("promote", "cancel", V7, "--json")
    assert r.code == 0 and json.loads(r.out)["request"]["status"] == "cancelled"


def test_reject_needs_a_reason(cli, as_user, world: World) -> None:
    as_user("grace")
    assert cli("promote", "reject", V7).code == 2
    r = cli("promote", "reject", V7, "--reason", "needs eval on v2 set", "--json")
    assert r.code == 0, r.err
    assert world.record(V7).reason == "needs eval on v2 set"


def test_rollback_is_journaled_and_undone(cli, as_user, world: World) -> None:
    as_user("grace")
    assert cli("promote", "approve", V7, "--yes").code == 0
    r = cli("promote", "rollback", f"{CHATBOT}:production", "--yes", "--json")
    assert r.code == 0, r.err
    entry = json.loads(r.out)["journal"][0]["entry"]
    assert world.version(f"{CHATBOT}:production").version == "v5"
    undo = cli("undo", str(entry), "--yes")
    assert undo.code == 0, undo.err
    assert world.version(f"{CHATBOT}:production").version == "v7"
    history = json.loads(cli("promote", "history", CHATBOT, "--json").out)
    assert [h["action"] for h in history if h["version"] == "v7"] == [
        "approve", "promote", "rollback"]


@pytest.mark.parametrize("args, code, words", [
    (["show", f"{CHATBOT}:v99"], 5, "no such version"),
    (["show", "not-a-ref"], 2, "not a registry version"),
    (["request", f"{CHATBOT}:v4", "--to", "prod", "--comment", "x"], 2,
     "not a protected promotion target"),
    (["rollback", CHATBOT, "--yes"], 2, "name the alias"),
    (["approve", f"{CHATBOT}:v2", "--yes"], 5, "no promotion request"),
])
def test_bad_input_is_one_line_and_nonzero(cli, as_user, world: World, args: list[str],
                                           code: int, words: str) -> None:
    as_user("grace")
    before = world.state(f"{CHATBOT}:v4")
    r = cli("promote", *args)
    assert r.code == code, (r.code, r.err)
    assert len(r.err_lines) == 1 and words in r.err
    assert world.state(f"{CHATBOT}:v4") == before


def test_a_malformed_policy_file_is_reported_with_file_and_line(cli, as_user,
                                                                tmp_path: Path) -> None:
    as_user("grace")
    policy = tmp_path / "promotions.toml"
    policy.write_text("[registries.model.production]\napprovals = 'two'\n")
    r = cli("promote", "approve", V7, "--yes", "--policy", str(policy))
    assert r.code == 8
    assert len(r.err_lines) == 1
    assert f"{policy}, line 2" in r.err and "approvals must be" in r.err


INTENT_V12 = "inference-systems/model/intent-classifier:v12"


def test_show_flags_worse_metrics_and_regressions(cli, as_user, tmp_path: Path) -> None:
    as_user("grace")
    r = cli("promote", "show", INTENT_V12, "--json")
    assert r.code == 0, r.err
    detail = json.loads(r.out)
    rows = {d["key"]: d for d in detail["diff"]}
    loss = rows["run.loss"]
    # The seeded v12's loss is higher than production's (v10): worse, not a gain.
    assert loss["candidate"] > loss["current"]
    assert (loss["direction"], loss["change"], loss["regression"]) == ("lower", "worse", True)
    accuracy = rows["metrics.accuracy"]
    assert accuracy["direction"] == "higher"
    assert accuracy["change"] == ("better" if accuracy["candidate"] > accuracy["current"]
                                  else "worse")
    assert rows["framework"]["direction"] is None and rows["framework"]["regression"] is False
    assert detail["regressions"] == [k for k, d in rows.items() if d["regression"]]
    assert "run.loss" in detail["regressions"]
    assert detail["regression_percent"] == 5

    text = cli("promote", "show", INTENT_V12)
    assert text.code == 0, text.err
    loss_line = next(line for line in text.out.splitlines() if line.startswith("run.loss"))
    assert "lower" in loss_line and "REGRESSION" in loss_line
    assert any(line.strip().startswith("REGRESSIONS") and "run.loss" in line
               for line in text.out.splitlines())

    # The policy's [metrics] decides: loss higher-is-better, a 10000 % threshold.
    policy = tmp_path / "promotions.toml"
    policy.write_text("[registries.model.production]\n[metrics]\nlower_is_better = []\n"
                      "regression_percent = 10000\n")
    relaxed = json.loads(cli("promote", "show", INTENT_V12, "--json", "--policy",
                             str(policy)).out)
    loss = next(d for d in relaxed["diff"] if d["key"] == "run.loss")
    assert (loss["direction"], loss["change"], loss["regression"]) == ("higher", "better",
                                                                       False)
    assert relaxed["regressions"] == []


def test_a_malformed_metrics_section_fails_in_one_line(cli, as_user, tmp_path: Path) -> None:
    as_user("grace")
    policy = tmp_path / "promotions.toml"
    policy.write_text("[metrics]\nregression_percent = 'five'\n")
    r = cli("promote", "show", INTENT_V12, "--policy", str(policy))
    assert r.code == 8
    assert len(r.err_lines) == 1
    assert f"{policy}, line 2" in r.err and "regression_percent must be a number" in r.err


def _typing(monkeypatch: pytest.MonkeyPatch, answers: list[str]) -> list[str]:
    """A terminal on stdin where the person types `answers`, one per prompt."""
    import builtins
    import sys

    prompts: list[str] = []
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)

    def typed(prompt: str = "") -> str:
        prompts.append(prompt)
        if not answers:
            raise EOFError
        return answers.pop(0)

    monkeypatch.setattr(builtins, "input", typed)
    return prompts


def test_a_mistyped_confirmation_asks_again_and_keeps_the_comment(
        cli, as_user, world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    as_user("grace")
    prompts = _typing(monkeypatch, ["support-chatbot-fx", "support-chatbot-ft"])
    ok = cli("promote", "approve", V7, "--comment", "ship it", "--json")
    assert ok.code == 0, ok.err
    assert len(prompts) == 2 and "'support-chatbot-fx' is not 'support-chatbot-ft'" in ok.err
    assert world.version(f"{CHATBOT}:production").version == "v7"
    history = json.loads(cli("promote", "show", V7, "--json").out)
    assert "ship it" in json.dumps(history)


def test_three_wrong_names_change_nothing(cli, as_user, world: World,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    as_user("grace")
    before = world.state(V7)
    _typing(monkeypatch, ["nope", "still-no", "no-again", "never-read"])
    r = cli("promote", "approve", V7, "--comment", "ship it")
    assert r.code == 130 and "not confirmed: nothing changed" in r.err
    assert r.err.count("type it again") == 2
    assert world.state(V7) == before
