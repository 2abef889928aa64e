"""Team and registry changes from the Explorer, for the identities allowed to make them."""

from __future__ import annotations

from textual.widgets import DataTable, Input, OptionList

from tests.tui.conftest import make_app, settle
from wbadmin.core import explorer as X
from wbadmin.tui.screens.plan import ChoiceScreen, InputScreen, PlanScreen
from wbadmin.tui.widgets.detail import DetailPane


def offered(app, action: str) -> bool:
    return any(a.binding.action.startswith(action) and a.enabled
               for a in app.screen.active_bindings.values())


async def open_team(app, pilot, team: str) -> None:
    await settle(app, pilot)
    app.run_jump(f"team {team}")
    await pilot.pause()
    await pilot.pause()


async def apply_plan(app, pilot) -> None:
    assert isinstance(app.screen, PlanScreen), app.screen
    await pilot.press("tab", "enter")
    for _ in range(80):
        await pilot.pause(0.05)
        if not any(w.group in ("change", "sync") and not w.is_finished for w in app.workers):
            break
    await settle(app, pilot)


async def test_a_team_admin_invites_by_email_and_cancels_it() -> None:
    app = make_app(user="bob")  # team admin of data-science-nlp, not an org admin
    async with app.run_test(size=(120, 36)) as pilot:
        await open_team(app, pilot, "data-science-nlp")
        assert offered(app, "team_action")
        assert not offered(app, "edit_role")  # role changes need SCIM (org admins)
        await pilot.press("i")
        await pilot.pause()
        assert isinstance(app.screen, InputScreen)
        app.screen.query_one(Input).value = "new.analyst@inference-systems.ai"
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        await pilot.press("enter")  # member
        await pilot.pause()
        await apply_plan(app, pilot)
        base_url = app.session.profile.base_url
        assert "new.analyst@inference-systems.ai" in pending_emails(base_url, "data-science-nlp")
        await pilot.press("c")
        await pilot.pause()
        options = app.screen.query_one(OptionList)
        labels = [str(o.prompt) for o in options.options]
        options.highlighted = labels.index("new.analyst@inference-systems.ai")
        await pilot.press("enter")
        await pilot.pause()
        await apply_plan(app, pilot)
        assert "new.analyst@inference-systems.ai" not in pending_emails(base_url,
                                                                        "data-science-nlp")


async def test_a_service_account_is_created_and_listed() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await open_team(app, pilot, "ml-infra")
        await pilot.press("s")
        await pilot.pause()
        app.screen.query_one(Input).value = "gpu burn-in scheduler"
        await pilot.press("enter")
        await pilot.pause()
        await apply_plan(app, pilot)
        accounts = [m for m in app.screen.query_one(DetailPane).row_keys]
        assert any("gpu-burn-in-scheduler" in a for a in accounts)


async def test_a_member_may_not_change_a_team() -> None:
    app = make_app(user="carol")
    async with app.run_test(size=(120, 36)) as pilot:
        await open_team(app, pilot, "data-science-nlp")
        assert not offered(app, "team_action") and not offered(app, "edit_role")


async def test_a_registry_admin_sets_a_registry_role() -> None:
    app = make_app(user="grace")  # registry admin of `model`, not an org admin
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        app.run_jump("registry model")
        await pilot.pause()
        await pilot.pause()
        assert offered(app, "edit_role")
        detail = app.screen.query_one(DetailPane)
        table = detail.query_one(DataTable)
        table.focus()
        table.move_cursor(row=detail.row_keys.index("user:carol"))
        await pilot.press("e")
        await pilot.pause()
        options = app.screen.query_one(OptionList)
        options.highlighted = [o[0] for o in app.screen.options].index("viewer")
        await pilot.press("enter")
        await pilot.pause()
        await apply_plan(app, pilot)
        roles = {(k, n): r for k, n, r in X.registry_members(app.session.cache, "model")}
        assert roles[("user", "carol")] == "viewer"


def pending_emails(base_url: str, team: str, user: str = "alice") -> set[str]:
    """Read the team back over real HTTP, as the SDK's GetTeamEntity does."""
    import base64

    import httpx

    from tests.conftest import key_of

    token = base64.b64encode(f"api:{key_of(user)}".encode()).decode()
    query = "query Q($n: String!) { entity(name: $n) { members { email pending username } } }"
    answer = httpx.post(f"{base_url}/graphql", json={"query": query, "variables": {"n": team}},
                        headers={"Authorization": f"Basic {token}"})
    members = answer.json()["data"]["entity"]["members"]
    return {m["email"] for m in members if m["pending"]}


async def test_removing_a_member_asks_then_removes() -> None:
    from tests.tui.test_access import scim_user

    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await open_team(app, pilot, "product-ai-agents")
        base_url = app.session.profile.base_url
        assert "product-ai-agents" in {r["teamName"] for r in scim_user(base_url,
                                                                        "carol")["teamRoles"]}
        detail = app.screen.query_one(DetailPane)
        table = detail.query_one(DataTable)
        table.focus()
        table.move_cursor(row=detail.row_keys.index("carol"))
        await pilot.press("x")
        await pilot.pause()
        assert isinstance(app.screen, PlanScreen)
        assert any("carol" in line for line in app.screen.plan.preview())
        await pilot.press("enter")  # Cancel has the focus: nothing happens
        await pilot.pause()
        assert "product-ai-agents" in {r["teamName"] for r in scim_user(base_url,
                                                                        "carol")["teamRoles"]}
        await pilot.press("x")
        await pilot.pause()
        await apply_plan(app, pilot)
        assert "product-ai-agents" not in {r["teamName"] for r in scim_user(base_url,
                                                                            "carol")["teamRoles"]}
