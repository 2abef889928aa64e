"""The real `wbadmin` process: exit codes, stdout/stderr split, debug logs without the key."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from tests.conftest import key_of

from .conftest import secret_forms


def run(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "wbadmin", *args], input=stdin, env=env,
                          capture_output=True, text=True, timeout=120)


def test_real_process_against_the_sandbox(sandbox, home) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WANDB_")}
    env.update(HOME=str(home.home), XDG_CONFIG_HOME=str(home.config),
               XDG_CACHE_HOME=str(home.cache), XDG_DATA_HOME=str(home.data),
               WANDB_CONFIG_DIR=str(home.wandb_config), NETRC=str(home.netrc),
               NO_PROXY="127.0.0.1,localhost", WANDB_BASE_URL=sandbox.base_url,
               # A headless box: no OS keyring at all.
               PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring")
    key = key_of("alice")

    login = run(env, "login", stdin=key + "\n")
    assert login.returncode == 3
    assert login.stderr.count("\n") == 1 and "No OS keyring is available" in login.stderr
    assert "Traceback" not in login.stderr

    env["WANDB_API_KEY"] = key
    teams = run(env, "--debug", "teams", "--json")
    assert teams.returncode == 0, teams.stderr
    assert len(json.loads(teams.stdout)) == 9
    assert "synced profile default" in teams.stderr
    assert "DEBUG" in teams.stderr  # the debug log went to stderr ...
    for form in secret_forms(key):  # ... without the key
        assert form not in teams.stdout + teams.stderr + login.stdout + login.stderr

    missing = run(env, "members", "no-such-team")
    assert missing.returncode == 5
    assert missing.stdout == ""
    assert missing.stderr.splitlines()[-1].startswith("wbadmin: unknown team 'no-such-team'")

    usage = run(env, "members")
    assert usage.returncode == 2 and "TEAM" in usage.stderr
