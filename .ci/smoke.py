"""The installed package, used as a new user would: run by .ci/run after `pip install .`,
from outside the checkout, in an empty home, with the `wbadmin` on PATH.

1. `wbadmin --sandbox teams --json` answers with the demo org's teams.
2. `wbadmin` (no credentials: the embedded sandbox) on a pseudo-terminal draws the Explorer
   with those teams, and `q` gives the terminal back with exit 0.
3. `wbadmin --sandbox report render governance` writes the HTML report (the shipped templates
   and the figures, as installed), and `report publish` saves it in W&B through the worker
   that runs wandb-workspaces (`python -m wbadmin.core.wandb_worker`, as installed), which
   `report list` then reads back.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from ptyterm import spawn  # beside the tests; imports nothing of wbadmin

DEMO_TEAMS = ("ml-infra", "data-science-nlp", "vision-research")


def main() -> int:
    wbadmin = shutil.which("wbadmin")
    if wbadmin is None:
        print("smoke: `wbadmin` is not on PATH after the install")
        return 1
    home = Path(tempfile.mkdtemp(prefix="wbadmin-smoke-"))
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WANDB_", "WBADMIN_", "XDG_"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"),
               XDG_CACHE_HOME=str(home / "cache"), XDG_DATA_HOME=str(home / "data"),
               NETRC=str(home / "netrc"), PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring")
    try:
        out = subprocess.run([wbadmin, "--sandbox", "teams", "--json"], cwd=home, env=env,
                             capture_output=True, text=True, timeout=120)
        if out.returncode != 0:
            print(f"smoke: `wbadmin --sandbox teams --json` exited {out.returncode}: {out.stderr}")
            return 1
        names = {team["name"] for team in json.loads(out.stdout)}
        if not set(DEMO_TEAMS) <= names:
            print(f"smoke: the demo org's teams are missing from `teams --json`: {sorted(names)}")
            return 1
        print(f"smoke: `wbadmin --sandbox teams --json`: {len(names)} teams")

        term = spawn([wbadmin], env=env, cwd=str(home), cols=120, rows=40)
        drawn = term.wait_for("Organization", "inference-systems", *DEMO_TEAMS, timeout=90)
        screen = term.text()
        term.send("q")
        code = term.finish(timeout=30)
        if not drawn:
            print("smoke: the TUI did not draw the Explorer with the demo teams; screen:")
            print(screen)
            print(term.tail())
            return 1
        if code != 0:
            print(f"smoke: the TUI exited {code} after q:\n{term.tail()}")
            return 1
        print("smoke: the TUI drew the Explorer with the demo teams and quit on q (exit 0)")
        return _reports(wbadmin, home, env)
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _reports(wbadmin: str, home: Path, env: dict[str, str]) -> int:
    def run(*argv: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([wbadmin, "--sandbox", *argv], cwd=home, env=env,
                              capture_output=True, text=True, timeout=180)

    html = home / "governance.html"
    out = run("report", "render", "governance", "--format", "html", "-o", str(html))
    if out.returncode != 0 or not html.is_file():
        print(f"smoke: `report render` exited {out.returncode}: {out.stderr}")
        return 1
    missing = [t for t in DEMO_TEAMS if t not in html.read_text()]
    if missing:
        print(f"smoke: the rendered report lacks the teams {missing}")
        return 1
    print(f"smoke: `report render governance`: {html.stat().st_size:,} bytes of HTML")
    project = "ml-infra/smoke-reports"
    out = run("report", "publish", "governance", "--project", project, "--create-project",
              "--yes", "--json")
    if out.returncode != 0:
        print(f"smoke: `report publish` exited {out.returncode}: {out.stderr}")
        return 1
    out = run("report", "list", "--project", project, "--json")
    listed = json.loads(out.stdout) if out.returncode == 0 else []
    if [r.get("template") for r in listed] != ["governance"]:
        print(f"smoke: `report list` does not show the published report: {out.stdout}"
              f"{out.stderr}")
        return 1
    print(f"smoke: `report publish` saved it with wandb-workspaces; `report list`: {project}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
