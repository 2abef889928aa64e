"""`wbadmin access apply` on files that are not the CSV it needs: exit 8 with `file:line:
reason` in one line (or one per bad row, then the summary), no traceback, nothing applied.
A UTF-16 file with its byte-order mark (Excel's "Unicode text") is read as the text it is."""

from __future__ import annotations

from pathlib import Path

import pytest

ROW = "carol@inference-systems.ai,ml-infra,member\n"


def memberships(db) -> int:
    return db.scalar("SELECT COUNT(*) FROM team_members")


@pytest.mark.parametrize(("content", "line", "words"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", 1, "not UTF-8 text"),
    (b"email,team,role\n" + ROW.encode() + b"\x00\x01\x02", 3, "not a text file"),
    (b"email,team,role\ncarol@inference-systems.ai,\xe9quipe,member\n", 2, "not UTF-8 text"),
    (("email,team,role\n" + "x" * 200_000 + "@a.io,ml-infra,member\n").encode(), 2,
     "a field is longer than"),
    (b"mail,group,perm\n" + ROW.encode(), 1, "the first row must be the header"),
    (b'email,team,role\n"carol@inference-systems.ai,ml-infra,member\n', 2,
     "a quote is opened and never closed"),
])
def test_a_bad_csv_is_exit_8_by_line(live, cli, sandbox_db, tmp_path: Path, content: bytes,
                                     line: int, words: str) -> None:
    path = tmp_path / "rows.csv"
    path.write_bytes(content)
    before = memberships(sandbox_db)
    r = cli("access", "apply", str(path), "--yes")
    assert r.code == 8, r.err
    assert f"{path}:{line}: " in r.err and words in r.err, r.err
    assert "Traceback" not in r.err and "internal error" not in r.err
    assert r.err_lines[-1].endswith("nothing applied")
    assert memberships(sandbox_db) == before


def test_a_utf16_csv_from_excel_is_read(live, cli, sandbox_db, tmp_path: Path) -> None:
    path = tmp_path / "rows.csv"
    path.write_bytes(("email,team,role\n" + ROW).encode("utf-16"))
    r = cli("access", "apply", str(path), "--yes")
    assert r.code == 0, r.err
    assert sandbox_db.scalar(
        "SELECT m.role FROM team_members m JOIN users u ON u.id = m.user_id JOIN entities e ON "
        "e.id = m.team_id WHERE u.username = 'carol' AND e.name = 'ml-infra'") == "member"


def test_a_missing_file_is_exit_8(live, cli, tmp_path: Path) -> None:
    r = cli("access", "apply", str(tmp_path / "nope.csv"), "--yes")
    assert r.code == 8 and "cannot read it" in r.err and len(r.err_lines) == 1
