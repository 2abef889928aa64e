"""The policy file: defaults, lookup per registry and alias, and malformed files reported with
the file, the line and the reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from wbadmin.core.promotions import PolicyError, load_policy
from wbadmin.core.promotions.record import Record


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "promotions.toml"
    path.write_text(text)
    return path


def test_defaults_apply_to_every_declared_target(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, """
[defaults]
approvals = 2
users = ["carol"]

[registries.model.production]
gates = ["metrics.accuracy >= 0.92", 'framework == "transformers"']

[registries."*".staging]
approvals = 1
"""))
    prod = policy.target("model", "production")
    assert prod is not None and prod.approvals == 2 and prod.users == ("carol",)
    assert policy.target("dataset", "staging").approvals == 1
    assert policy.target("dataset", "production") is None
    assert policy.targets_of("model") == ["production", "staging"]
    meta = {"metrics": {"accuracy": 0.93}, "framework": "transformers"}
    record = Record(target="production", requested_by="bob", requested_at="t")
    assert prod.status(record, meta).checks_pass
    assert not prod.status(record, {"metrics": {"accuracy": 0.9}}).checks_pass


def test_no_file_means_the_built_in_policy(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.delenv("WBADMIN_PROMOTION_POLICY", raising=False)
    policy = load_policy()
    assert policy.path is None
    assert policy.targets_of("model") == ["production", "staging"]


@pytest.mark.parametrize("text, line, reason", [
    ("[registries.model.production]\napprovals = \n", 2, "invalid TOML"),
    ("[registries.model.production]\n\napprovals = 0\n", 3, "approvals must be"),
    ("[registries.model.production]\napprovals = 1\ngates = ['accuracy ~ 3']\n", 3,
     "is not `path op value`"),
    ("[registries.model.production]\nrequired = { ticket = '[A-Z+' }\n", 2, "bad regex"),
    ("[registries.model.production]\nusers = 'carol'\n", 2, "list of names"),
    ("[registries.model.production]\napprovers = ['x']\n", 2, "unknown key 'approvers'"),
    ("[defaults]\n[[webhooks]]\nurl = 'ftp://x'\n", 3, "needs url"),
    ("[registries.model.production]\n[[webhooks]]\nurl = 'http://x'\nformat = 'xml'\n", 4,
     "format 'xml'"),
    ("[policy]\n", 1, "unknown section"),
])
def test_a_malformed_file_names_file_line_and_reason(tmp_path: Path, text: str, line: int,
                                                     reason: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    message = str(info.value)
    assert f"{path}, line {line}:" in message, message
    assert reason in message
    assert "\n" not in message


def test_a_named_file_that_is_missing_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="no such file"):
        load_policy(tmp_path / "nope.toml")
