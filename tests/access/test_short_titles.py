"""Every finding has a short title that fits the Access screen's findings table, keeping the
threshold it was judged by; the full title stays in the detail and the JSON."""

from __future__ import annotations

import pytest

from wbadmin.core.access.findings import SHORT_TITLES, Finding


@pytest.mark.parametrize("finding_id", sorted(SHORT_TITLES))
def test_short_titles_fit(finding_id: str) -> None:
    finding = Finding(finding_id, "A long title judged at 90 days or 3 teams", "low", [])
    assert len(finding.short) <= 23
    assert "{" not in finding.short


def test_the_threshold_survives_and_the_full_title_stays() -> None:
    finding = Finding("inactive-admins", "Org admins inactive for 45 days", "high", ["x"])
    assert finding.short == "Org admins idle 45d+"
    assert finding.to_dict()["title"] == "Org admins inactive for 45 days"
    assert finding.to_dict()["short"] == "Org admins idle 45d+"
