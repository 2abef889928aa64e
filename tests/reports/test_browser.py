"""The offline governance report of the demo org in a real browser: Debian's headless
`chromium` (never a browser download) shows the teams and the figures `wbadmin quotas --json`
gives, with the network off, and takes the picture.

Under CI=true a missing browser fails the test (.ci/run installs it); elsewhere it skips.
WBADMIN_SAVE_SCREENSHOTS=1 also saves the picture as screenshots/report-governance.png.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from importlib import resources
from pathlib import Path

import pytest

from tests.reports.test_render_cli import quota_teams

ROOT = Path(__file__).resolve().parents[2]
FLAGS = ("--headless", "--no-sandbox", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--hide-scrollbars")


def chromium() -> str:
    found = shutil.which("chromium") or ("/usr/bin/chromium"
                                         if Path("/usr/bin/chromium").exists() else None)
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail("no chromium: CI must have Debian's chromium (.ci/run installs it)")
    pytest.skip("no chromium (apt-get install chromium)")


def browse(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([browser, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=180, check=False)


class Cells(HTMLParser):
    """The rows of one table (by id) as the browser laid out the DOM, and every text."""

    def __init__(self, table: str) -> None:
        super().__init__()
        self.table, self.inside, self.rows, self.texts = table, False, [], []
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table" and ("id", self.table) in attrs:
            self.inside = True
        elif self.inside and tag == "tr":
            self.rows.append([])
        elif self.inside and tag == "td":
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag == "table":
            self.inside = False
        elif tag == "td" and self.cell is not None:
            self.rows[-1].append("".join(self.cell))
            self.cell = None

    def handle_data(self, data: str) -> None:
        self.texts.append(data)
        if self.cell is not None:
            self.cell.append(data)


def test_governance_report_in_headless_chromium(cli, live, tmp_path: Path) -> None:
    browser = chromium()
    demo_policy = resources.files("wbadmin.core.quotas").joinpath("demo_policy.toml")
    policy = tmp_path / "quotas.toml"
    policy.write_text(demo_policy.read_text("utf-8"))  # the demo's limits and prices
    out = tmp_path / "governance.html"
    r = cli("report", "render", "governance", "--format", "html", "-o", str(out),
            "--policy", str(policy), "--previous", "--json")
    assert r.code == 0, r.err
    quotas = quota_teams(cli, str(policy))
    assert any(q["gpu_hours"]["hard"] for q in quotas.values())

    dom = browse(browser, tmp_path / "profile", "--dump-dom", out.as_uri())
    assert dom.returncode == 0 and "<svg" in dom.stdout, dom.stderr[-2000:]
    cells = Cells("gpu-hours")
    cells.feed(dom.stdout)
    shown = {row[0]: row[1:] for row in cells.rows if row}
    assert list(shown) == list(quotas)
    for team, q in quotas.items():
        g = q["gpu_hours"]
        limits = ["—" if v is None else f"{v:,.0f}" for v in (g["soft"], g["hard"])]
        assert shown[team] == [f"{g['used']:,.1f}", *limits, g["status"]]
    text = " ".join(cells.texts)
    summary = json.loads(r.out)["figures"]
    assert f"{summary['promotions']['approved']} approved" in text
    assert "high" in text and "as seen by alice" in text

    picture = tmp_path / "report-governance.png"
    shot = browse(browser, tmp_path / "profile", f"--screenshot={picture}",
                  "--window-size=1100,3000", out.as_uri())
    assert shot.returncode == 0 and picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", \
        shot.stderr[-2000:]
    assert picture.stat().st_size > 50_000  # charts and tables drawn, not a blank page
    if os.environ.get("WBADMIN_SAVE_SCREENSHOTS") == "1":
        shutil.copyfile(picture, ROOT / "screenshots" / "report-governance.png")
