"""The library runner (core/wandb_library.py): W&B's libraries act as the identity wbadmin
verified, whatever WANDB_API_KEY, ~/.netrc or the SDK's settings hold; their failures come
back as wbadmin's one-line errors."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import key_of
from wbadmin.core import errors as E
from wbadmin.core import wandb_library
from wbadmin.core.client import Client
from wbadmin.core.redact import Secret

pytestmark = pytest.mark.sdk

TEAM, PROJECT = "data-science-nlp", "intent-classifier"
LAYOUT = {"name": "Runner check", "sections": [
    {"name": "Loss", "open": True, "panels": [{"kind": "line", "y": ["loss"]}]}]}


@pytest.fixture
def someone_elses_login(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sandbox) -> None:
    """The parent environment holds another identity: victor's key in WANDB_API_KEY and in
    ~/.netrc for the same server, and the SDK's settings pointing at another server."""
    home = tmp_path / "parent-home"
    (home / ".config" / "wandb").mkdir(parents=True)
    host = urlparse(sandbox.base_url).netloc
    (home / ".netrc").write_text(f"machine {host}\n  login user\n  password {key_of('victor')}\n")
    (home / ".netrc").chmod(0o600)
    (home / ".config" / "wandb" / "settings").write_text(
        "[default]\nbase_url = http://127.0.0.1:9\nentity = victor\n")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("WANDB_API_KEY", key_of("victor"))
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("WANDB_CONFIG_DIR", str(home / ".config" / "wandb"))
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")


def verified(sandbox, username: str) -> wandb_library.LibraryIdentity:
    async def ask() -> wandb_library.LibraryIdentity:
        async with Client(sandbox.base_url, key_of(username)) as client:
            return await wandb_library.verify(client, key_of(username))

    return asyncio.run(ask())


def _author_of(db, display_name: str) -> str | None:
    return db.scalar("SELECT u.username FROM views v JOIN users u ON u.id = v.created_by "
                     "WHERE v.display_name = ?", (display_name,))


def test_the_library_acts_as_the_verified_identity_not_the_environments(
        someone_elses_login, sandbox, sandbox_db, capfd):
    carol = verified(sandbox, "carol")
    assert carol.username == "carol"
    assert wandb_library.run(carol, "wbadmin.core.wandb_worker:whoami") == "carol"
    saved = wandb_library.run(carol, "wbadmin.core.wandb_views:save_workspace",
                              {"entity": TEAM, "project": PROJECT, "layout": LAYOUT})
    assert _author_of(sandbox_db, "Runner check") == "carol"
    assert saved["url"].startswith(f"{sandbox.base_url}/{TEAM}/{PROJECT}?nw=")
    loaded = wandb_library.run(carol, "wbadmin.core.wandb_views:load_workspace",
                               {"url": saved["url"]})
    assert loaded == {"name": "Runner check", "sections": [
        {"name": "Loss", "open": True, "panels": ["LinePlot"]}]}
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")  # the libraries' console never reaches wbadmin's
    assert key_of("carol") not in out + err


def test_a_refused_write_is_permission_denied_and_makes_nothing(someone_elses_login, sandbox,
                                                               sandbox_db):
    victor = verified(sandbox, "victor")  # View-Only in the team
    with pytest.raises(E.PermissionDenied, match="permission denied"):
        wandb_library.run(victor, "wbadmin.core.wandb_views:save_workspace",
                          {"entity": TEAM, "project": PROJECT, "layout": LAYOUT})
    assert sandbox_db.scalar("SELECT COUNT(*) FROM views") == 0


def test_an_identity_the_key_does_not_belong_to_acts_not_at_all(sandbox, sandbox_db):
    wrong = wandb_library.LibraryIdentity(sandbox.base_url, Secret(key_of("carol")), "bob")
    with pytest.raises(E.AuthError, match="signed in as 'carol', not as 'bob'"):
        wandb_library.run(wrong, "wbadmin.core.wandb_views:save_workspace",
                          {"entity": TEAM, "project": PROJECT, "layout": LAYOUT})
    assert sandbox_db.scalar("SELECT COUNT(*) FROM views") == 0


def test_a_library_that_fails_to_import_says_what_to_install(sandbox, tmp_path, monkeypatch):
    broken = tmp_path / "broken" / "wandb_workspaces"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise ImportError('half an install')\n")
    monkeypatch.setenv("PYTHONPATH", str(broken.parent))
    carol = wandb_library.LibraryIdentity(sandbox.base_url, Secret(key_of("carol")), "carol")
    with pytest.raises(wandb_library.LibraryMissing) as caught:
        wandb_library.run(carol, "wbadmin.core.wandb_worker:whoami")
    message = str(caught.value)
    assert "pip install wandb-workspaces==0.4.13" in message
    assert "half an install" in message and "\n" not in message


def test_only_wbadmins_own_operations_run(sandbox):
    carol = wandb_library.LibraryIdentity(sandbox.base_url, Secret(key_of("carol")), "carol")
    with pytest.raises(wandb_library.LibraryFailed, match="not a wbadmin operation"):
        wandb_library.run(carol, "os:system", {"command": "true"})


def test_the_key_travels_on_stdin_only_and_the_worker_gets_no_login_of_the_parents(
        someone_elses_login, sandbox, monkeypatch):
    import subprocess

    seen: dict = {}
    real_run = subprocess.run

    def spy(argv, **kwargs):
        seen.update(argv=argv, env=kwargs["env"], stdin=kwargs["input"])
        return real_run(argv, **kwargs)

    monkeypatch.setattr(wandb_library.subprocess, "run", spy)
    carol = verified(sandbox, "carol")
    assert wandb_library.run(carol, "wbadmin.core.wandb_worker:whoami") == "carol"
    key = key_of("carol")
    assert key in seen["stdin"].decode()
    assert not any(key in part for part in seen["argv"])
    assert not any(key in value for value in seen["env"].values())
    assert key_of("victor") not in str(seen["env"])
    env = seen["env"]
    assert "WANDB_API_KEY" not in env and "WANDB_BASE_URL" not in env
    assert env["HOME"] != str(Path.home()) and not Path(env["NETRC"]).exists()
    assert not Path(env["HOME"]).exists()  # the private dirs are gone once it has answered
