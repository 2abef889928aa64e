"""An apply that finishes what it starts: 150 rows of `access apply` under 10% server errors,
5% rate limiting and 2% dropped connections complete in one run — every row applied and
verified, none duplicated, no entry left pending — and W&B (the sandbox) shows all of them.
A write whose answer was lost is re-read; an add whose second write (the role) was lost is
finished, not left `failed` with W&B half changed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

ROLES = ("member", "viewer", "admin")


def pick_rows(db, n: int) -> list[tuple[str, str, str]]:
    """`n` (email, team, role) rows of people not yet in those teams."""
    pairs = db.query(
        "SELECT u.email, e.name FROM users u, entities e WHERE e.kind = 'team' "
        "AND u.account_type = 'USER' AND u.active = 1 AND u.org_id IS NOT NULL "
        "AND u.email IS NOT NULL AND NOT EXISTS (SELECT 1 FROM team_members m "
        "WHERE m.team_id = e.id AND m.user_id = u.id) ORDER BY e.name, u.username")
    assert len(pairs) >= n
    return [(p[0], p[1], ROLES[i % 3]) for i, p in enumerate(pairs[:n])]


def roles_in_wandb(db) -> dict[tuple[str, str], str]:
    return {(r[0], r[1]): r[2] for r in db.query(
        "SELECT u.email, e.name, m.role FROM team_members m JOIN users u ON u.id = m.user_id "
        "JOIN entities e ON e.id = m.team_id")}


@pytest.mark.parametrize("faulty", [False, True], ids=["fault-free", "faults"])
def test_150_rows_finish_in_one_run(live, cli, home, sandbox, sandbox_db, tmp_path: Path,
                                    faulty: bool) -> None:
    home.write_config("[network]\nbackoff_base_s = 0.005\nbackoff_cap_s = 0.02\n")
    assert cli("sync").code == 0
    rows = pick_rows(sandbox_db, 150)
    csv = tmp_path / "rows.csv"
    csv.write_text("email,team,role\n" + "".join(f"{e},{t},{r}\n" for e, t, r in rows))
    if faulty:
        sandbox.faults.update(error_rate=0.10, rate_limit_rate=0.05, drop_rate=0.02,
                              retry_after_s=0.01, seed=7)
    r = cli("access", "apply", str(csv), "--yes", "--json")
    injected = dict(sandbox.faults.injected)
    sandbox.faults.reset()
    assert r.code == 0, r.err[-2000:]
    report = json.loads(r.out)
    assert len(report) == 150 and all(row["outcome"].startswith("✓") for row in report), \
        [row for row in report if not row["outcome"].startswith("✓")][:3]

    shown = roles_in_wandb(sandbox_db)
    assert {(e, t): shown.get((e, t)) for e, t, _ in rows} == {(e, t): role for e, t, role in rows}

    entries = [json.loads(line) for line in
               cli("journal", "--format", "jsonl").out.splitlines() if line.strip()]
    assert len(entries) == 150  # one entry per row: no duplicate, no stray retry entry
    assert {e["status"] for e in entries} == {"applied"}
    assert all(e["verified"] for e in entries)
    assert len({e["target"] for e in entries}) == 150
    if faulty:  # the faults did happen, writes among them, and were absorbed
        assert injected.get("drop", 0) > 3 and injected.get("429", 0) > 5 \
            and injected.get("503", 0) > 10, injected
        assert sum("tries" in e["result"] for e in entries) >= 3, injected
