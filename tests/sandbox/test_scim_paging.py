"""The sandbox's SCIM paging over real HTTP: RFC 7644 startIndex (1-based) and count, the
page cap a test sets (`scim_page_cap`), and a server that ignores startIndex."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import key_of
from wbadmin.sandbox.server import SandboxServer


@pytest.fixture
def scim(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{sandbox.base_url}/scim", auth=("alice", key_of("alice")),
                      timeout=10) as client:
        yield client


def ids(page: dict) -> list[str]:
    return [r["id"] for r in page["Resources"]]


@pytest.mark.parametrize("resource", ["Users", "Groups"])
def test_the_cap_bounds_every_page_and_start_index_walks_the_list(
        sandbox: SandboxServer, scim: httpx.Client, resource: str) -> None:
    everyone = ids(scim.get(f"/{resource}").json())
    sandbox.faults.update(scim_page_cap=5)
    first = scim.get(f"/{resource}", params={"count": 9999}).json()
    assert ids(first) == everyone[:5]
    assert first["totalResults"] == len(everyone)
    assert first["itemsPerPage"] == 5 and first["startIndex"] == 1
    second = scim.get(f"/{resource}", params={"startIndex": 6, "count": 9999}).json()
    assert ids(second) == everyone[5:10] and second["startIndex"] == 6
    assert ids(scim.get(f"/{resource}", params={"count": 3}).json()) == everyone[:3]
    last = len(everyone) - 1  # 1-based: the last resource alone
    assert ids(scim.get(f"/{resource}", params={"startIndex": last + 1}).json()) == \
        everyone[last:]


def test_ignoring_start_index_answers_the_first_page_again(sandbox: SandboxServer,
                                                            scim: httpx.Client) -> None:
    sandbox.faults.update(scim_page_cap=5, scim_ignore_start_index=True)
    first = scim.get("/Users").json()
    again = scim.get("/Users", params={"startIndex": 6}).json()
    assert ids(again) == ids(first) and again["startIndex"] == 1


def test_page_settings_switch_over_the_control_endpoint(scim: httpx.Client,
                                                        sandbox: SandboxServer) -> None:
    control = f"{sandbox.base_url}/_sandbox/faults"
    assert httpx.post(control, json={"scim_page_cap": 2}).json()["scim_page_cap"] == 2
    assert len(scim.get("/Users").json()["Resources"]) == 2
    refused = httpx.post(control, json={"scim_page_cap": 0})
    assert refused.status_code == 400 and "scim_page_cap" in refused.json()["error"]
    httpx.delete(control)
    assert len(scim.get("/Users").json()["Resources"]) > 2
