"""Screen 3, Promotions: the queue, the detail, and decisions offered only to those who may
make them, applied through a plan against the embedded sandbox."""

from __future__ import annotations

import io
import json
from pathlib import Path

from rich.console import Console
from rich.text import Text
from textual.widgets import Button, DataTable

from tests.tui.conftest import make_app, settle
from wbadmin.core.session import Session
from wbadmin.tui.app import WbAdminApp
from wbadmin.tui.screens.plan import ChoiceScreen, PlanScreen, TypedConfirmScreen
from wbadmin.tui.screens.promotion_dialogs import HistoryScreen, PromptScreen
from wbadmin.tui.screens.promotions import PromotionsScreen
from wbadmin.tui.screenshot import APP_NOW, make_demo_app

SEEDED = {("support-chatbot-ft", "v7", "production", "bob"),
          ("rag-embedder-v1", "v3", "staging", "carol"),
          ("intent-classifier", "v12", "production", "bob")}
DECISIONS = ("approve", "reject", "cancel_request", "rollback", "mark")


def offered(app, action: str) -> bool:
    return any(a.binding.action == action and a.enabled
               for a in app.screen.active_bindings.values())


def text_of(widget) -> str:
    console = Console(width=160, file=io.StringIO(), record=True)
    console.print(widget.content)
    return console.export_text()


def queue(app) -> list[tuple[str, str, str, str]]:
    return [(i.version.ref.collection, i.version.version, i.record.target,
             i.record.requested_by) for i in app.screen.items]


async def open_promotions(app, pilot) -> PromotionsScreen:
    await settle(app, pilot)
    await pilot.press("3")
    await settle(app, pilot)
    assert isinstance(app.screen, PromotionsScreen)
    return app.screen


async def select(app, pilot, collection: str) -> None:
    screen = app.screen
    row = [i.version.ref.collection for i in screen.items].index(collection)
    screen.query_one("#promo-queue", DataTable).move_cursor(row=row)
    await pilot.pause()
    await settle(app, pilot)


def cached_version(app, collection: str, index: int) -> tuple[list[str], dict]:
    row = app.session.cache.query(
        "SELECT aliases, metadata FROM versions WHERE registry = 'model' AND collection = ? "
        "AND version_index = ?", (collection, index))[0]
    return json.loads(row["aliases"]), json.loads(row["metadata"])


async def test_queue_lists_the_seeded_requests_and_sorts() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_promotions(app, pilot)
        assert screen.live and screen.live_error is None
        assert set(queue(app)) == SEEDED
        table = screen.query_one("#promo-queue", DataTable)
        assert table.row_count == 3
        assert screen.query_one("#promo-queue-pane").border_title == "Pending  3"
        orders = {}
        for _ in range(4):
            await pilot.press("s")
            orders[screen.sort_key] = queue(app)
        assert list(orders) == ["target", "collection", "requester", "age"]
        assert [q[2] for q in orders["target"]] == ["production", "production", "staging"]
        assert [q[0] for q in orders["collection"]] == ["intent-classifier",
                                                        "rag-embedder-v1",
                                                        "support-chatbot-ft"]
        assert [q[3] for q in orders["requester"]] == ["bob", "bob", "carol"]
        assert "sorted by age" in screen.query_one("#promo-queue-pane").border_subtitle


async def test_detail_shows_the_current_holder_and_the_metric_diff() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_promotions(app, pilot)
        await select(app, pilot, "support-chatbot-ft")
        detail = screen.details["inference-systems/model/support-chatbot-ft:v7"]
        assert detail.holder is not None and detail.holder.version == "v5"
        text = text_of(screen.query_one("#promo-body"))
        assert "requested by bob" in text and "beats v5 on evals" in text
        assert "production now on  v5" in text
        assert "v5 (production)" in text and "v7 (candidate)" in text
        accuracy = next(line for line in text.splitlines() if "metrics.accuracy" in line)
        old, new = detail.holder.metadata["metrics"]["accuracy"], \
            detail.version.metadata["metrics"]["accuracy"]
        assert str(old) in accuracy and str(new) in accuracy
        assert ("▲" if new > old else "▼") in accuracy
        assert "lineage  run" in text and "llm-platform-eng" in text
        assert "0 of 1 approvals" in text


async def test_grace_approves_to_production_with_the_typed_confirmation() -> None:
    app = make_app(user="grace")
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        screen = await open_promotions(app, pilot)
        await select(app, pilot, "support-chatbot-ft")
        assert offered(app, "approve") and offered(app, "reject")
        assert not offered(app, "cancel_request")
        aliases, _ = cached_version(app, "support-chatbot-ft", 5)
        assert "production" in aliases
        await pilot.press("A")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)
        await pilot.press(*"looks good", "enter")
        await pilot.pause()
        assert isinstance(app.screen, PlanScreen)
        assert app.screen.focused is app.screen.query_one("#cancel", Button)
        kinds = [c.kind for c in app.screen.plan.changes]
        assert kinds == ["registry.move_alias", "promotion.record"]
        await pilot.press("tab", "enter")
        await pilot.pause()
        assert isinstance(app.screen, TypedConfirmScreen)
        await pilot.press(*"support-chatbot-ft", "enter")
        await settle(app, pilot)
        assert app.screen is screen
        # The refreshed cache: v7 holds production, its request is approved and gone.
        aliases, metadata = cached_version(app, "support-chatbot-ft", 7)
        assert "production" in aliases
        assert "production" not in cached_version(app, "support-chatbot-ft", 5)[0]
        record = metadata["wbadmin"]["promotion"]
        assert record["status"] == "approved" and record["approvals"][0]["by"] == "grace"
        assert record["approvals"][0]["comment"] == "looks good"
        assert ("support-chatbot-ft", "v7", "production", "bob") not in queue(app)
        assert len(queue(app)) == 2
        assert any("now v7" in str(n.message) for n in app._notifications)
        journal = app.session.journal.query(limit=10)
        assert any(e.kind == "registry.move_alias" and e.status == "applied" for e in journal)

        # Rolling back: the selected request is intent-classifier's, whose production and
        # staging the workflow moved (the demo's approved records): the dialog offers those,
        # each back to the version the record names.
        await select(app, pilot, "intent-classifier")
        assert offered(app, "rollback")
        await pilot.press("B")
        await pilot.pause()
        assert isinstance(app.screen, ChoiceScreen)
        assert app.screen.title_text == "Roll back which alias of model/intent-classifier?"
        assert [label for _, label, _ in app.screen.options] == [
            "model/intent-classifier:production  v10 → v9",
            "model/intent-classifier:staging  v11 → v10"]
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, PlanScreen)
        assert app.screen.plan.title == "Roll back model/intent-classifier:production"
        await pilot.press("escape")
        await pilot.pause()
        assert "production" in cached_version(app, "intent-classifier", 10)[0]



POLICY = """
[registries.model.production]
approvals = 2
gates = ["metrics.accuracy >= 0.5"]

[registries.model.staging]
gates = ["eval.toxicity <= 0.0001"]
"""


async def test_policy_status_two_approvals_failing_gate_and_history(
        isolated_dirs: Path) -> None:
    policy = isolated_dirs / "XDG_CONFIG_HOME" / "wbadmin" / "promotions.toml"
    policy.parent.mkdir(parents=True)
    policy.write_text(POLICY)
    app = make_app(user="grace")
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        screen = await open_promotions(app, pilot)
        # A failing gate: approve is shown but disabled, and the detail says why.
        await select(app, pilot, "rag-embedder-v1")
        assert not offered(app, "approve") and offered(app, "reject")
        text = text_of(screen.query_one("#promo-body"))
        assert "✗ eval.toxicity <= 0.0001" in text and "grace cannot approve" in text
        # One approval of two: recorded, the alias stays, the request stays in the queue.
        await select(app, pilot, "intent-classifier")
        assert "0 of 2 approvals" in text_of(screen.query_one("#promo-body"))
        await pilot.press("A", *"first look ok", "enter")
        await pilot.pause()
        assert isinstance(app.screen, PlanScreen)
        assert [c.kind for c in app.screen.plan.changes] == ["promotion.record"]
        await pilot.press("tab", "enter")  # no alias moves: no typed confirmation
        await settle(app, pilot)
        aliases, metadata = cached_version(app, "intent-classifier", 12)
        assert "production" not in aliases
        assert metadata["wbadmin"]["promotion"]["approvals"][0]["by"] == "grace"
        await select(app, pilot, "intent-classifier")
        assert "1 of 2 approvals" in text_of(screen.query_one("#promo-body"))
        await pilot.press("H")
        await settle(app, pilot)
        await pilot.pause(0.2)
        assert isinstance(app.screen, HistoryScreen)
        rows = [app.screen.query_one(DataTable).get_row_at(i)
                for i in range(app.screen.query_one(DataTable).row_count)]
        assert any(str(r[3]) == "approve" and str(r[4]) == "grace" and "first look ok" in str(r[5])
                   for r in rows)


async def test_reject_needs_a_reason() -> None:
    app = make_app(user="grace")
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        await open_promotions(app, pilot)
        await select(app, pilot, "rag-embedder-v1")
        await pilot.press("R")
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)
        await pilot.press("enter")  # no reason: refused, the prompt stays
        await pilot.pause()
        assert isinstance(app.screen, PromptScreen)
        assert any("required" in str(n.message) for n in app._notifications)
        await pilot.press(*"no eval on hard negatives", "enter")
        await pilot.pause()
        assert isinstance(app.screen, PlanScreen)
        await pilot.press("tab", "enter")
        await settle(app, pilot)
        _, metadata = cached_version(app, "rag-embedder-v1", 3)
        record = metadata["wbadmin"]["promotion"]
        assert record["status"] == "rejected"
        assert record["reason"] == "no eval on hard negatives"
        assert {q[0] for q in queue(app)} == {"support-chatbot-ft", "intent-classifier"}


async def test_cancelling_the_plan_changes_nothing() -> None:
    app = make_app(user="grace")
    async with app.run_test(size=(120, 36)) as pilot:
        await open_promotions(app, pilot)
        await select(app, pilot, "rag-embedder-v1")
        await pilot.press("A", "enter")  # no comment
        await pilot.pause()
        assert isinstance(app.screen, PlanScreen)
        await pilot.press("enter")  # Cancel has the focus
        await settle(app, pilot)
        assert len(queue(app)) == 3
        _, metadata = cached_version(app, "rag-embedder-v1", 3)
        assert metadata["wbadmin"]["promotion"]["status"] == "pending"


async def test_the_requester_may_cancel_but_not_approve() -> None:
    app = make_app(user="bob")
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        screen = await open_promotions(app, pilot)
        await select(app, pilot, "support-chatbot-ft")
        assert not offered(app, "reject")
        assert offered(app, "cancel_request")
        text = text_of(screen.query_one("#promo-body"))
        assert "bob cannot approve" in text and "requester never approves" in text
        before = cached_version(app, "support-chatbot-ft", 7)
        notes: list[str] = []
        keep = app.notify
        app.notify = lambda message, *a, **k: (notes.append(str(message)), keep(message, *a, **k))
        await pilot.press("A")  # says why not, and changes nothing
        await settle(app, pilot)
        assert any("cannot approve" in n and "requester never approves" in n for n in notes)
        assert cached_version(app, "support-chatbot-ft", 7) == before
        assert not isinstance(app.screen, PlanScreen)
        app.notify = keep
        await pilot.press("C")
        await pilot.pause()
        assert isinstance(app.screen, PlanScreen)
        buttons = [str(b.label) for b in app.screen.query(Button)]
        assert buttons == ["Keep the request", "Cancel the request"]  # not Cancel / Apply
        await pilot.press("tab", "enter")
        await settle(app, pilot)
        _, metadata = cached_version(app, "support-chatbot-ft", 7)
        assert metadata["wbadmin"]["promotion"]["status"] == "cancelled"
        assert len(queue(app)) == 2


async def test_a_viewer_is_offered_no_decision() -> None:
    app = make_app(user="victor")
    async with app.run_test(size=(120, 36)) as pilot:
        await open_promotions(app, pilot)
        assert set(queue(app)) == SEEDED
        for name in ("support-chatbot-ft", "rag-embedder-v1"):
            await select(app, pilot, name)
            assert not any(offered(app, a) for a in DECISIONS)
            assert offered(app, "history")


async def test_read_only_offers_no_decision() -> None:
    app = make_app(read_only=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await open_promotions(app, pilot)
        assert set(queue(app)) == SEEDED
        await select(app, pilot, "support-chatbot-ft")
        assert not any(offered(app, a) for a in DECISIONS)
        await pilot.press("A")  # the key does nothing
        await pilot.pause()
        assert isinstance(app.screen, PromotionsScreen)


async def test_offline_draws_the_queue_from_the_cache(tmp_path: Path) -> None:
    online = make_demo_app(tmp_path)
    async with online.run_test(size=(120, 36)) as pilot:
        await settle(online, pilot)
    session = Session.resolve(force_sandbox=True, offline=True,
                              flags={"cache_path": tmp_path / "cache.sqlite3",
                                     "journal_path": tmp_path / "journal.sqlite3"})
    app = WbAdminApp(session, launcher=None, clock=lambda: APP_NOW + 600)
    async with app.run_test(size=(120, 36)) as pilot:
        await pilot.pause()
        await pilot.press("3")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, PromotionsScreen)
        assert set(queue(app)) == SEEDED and not screen.live
        await select(app, pilot, "support-chatbot-ft")
        text = text_of(screen.query_one("#promo-body"))
        assert "production now on  v5" in text and "(from the cache)" in text
        assert not any(offered(app, a) for a in DECISIONS)
        assert session.client is None


async def test_jump_and_palette_reach_the_screen() -> None:
    app = make_app()
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        app.run_jump("promotions")
        await settle(app, pilot)
        assert isinstance(app.screen, PromotionsScreen)


async def test_bulk_approve_of_marked_requests() -> None:
    app = make_app(user="grace")
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        screen = await open_promotions(app, pilot)
        for name in ("rag-embedder-v1", "intent-classifier"):
            await select(app, pilot, name)
            await pilot.press("space")
        assert len(screen.marked) == 2
        assert "2 marked" in screen.query_one("#promo-queue-pane").border_subtitle
        await pilot.press("A", "enter")
        await pilot.pause()
        assert isinstance(app.screen, PlanScreen)
        assert [c.kind for c in app.screen.plan.changes].count("registry.move_alias") == 2
        await pilot.press("tab", "enter")
        await pilot.pause()
        # Only the production target asks for its collection's name.
        assert isinstance(app.screen, TypedConfirmScreen)
        assert app.screen.word == "intent-classifier"
        await pilot.press(*"intent-classifier", "enter")
        await settle(app, pilot)
        assert "staging" in cached_version(app, "rag-embedder-v1", 3)[0]
        assert "production" in cached_version(app, "intent-classifier", 12)[0]
        assert queue(app) == [("support-chatbot-ft", "v7", "production", "bob")]
        assert not screen.marked


async def test_a_registry_member_requests_a_promotion_from_the_explorer() -> None:
    import json

    from textual.widgets import DataTable, Input, OptionList

    from wbadmin.tui.widgets.detail import DetailPane

    app = make_app(user="carol")
    async with app.run_test(size=(120, 36)) as pilot:
        await settle(app, pilot)
        app.run_jump("collection rag-embedder-v1")
        await pilot.pause()
        await pilot.pause()
        detail = app.screen.query_one(DetailPane)
        table = detail.query_one(DataTable)
        table.focus()
        table.move_cursor(row=detail.row_keys.index("0"))
        await pilot.press("p")
        await pilot.pause()
        options = app.screen.query_one(OptionList)
        options.highlighted = [o[0] for o in app.screen.options].index("production")
        await pilot.press("enter")
        await pilot.pause()
        app.screen.query_one(Input).value = "v0 for the rollback drill"
        await pilot.press("enter")
        for _ in range(80):
            await pilot.pause(0.05)
            tags = json.loads(app.session.cache.scalar(
                "SELECT tags FROM versions WHERE collection='rag-embedder-v1' AND "
                "version_index=0") or "[]")
            if "promote-to-production" in tags:
                break
        assert "promote-to-production" in tags
        meta = json.loads(app.session.cache.scalar(
            "SELECT metadata FROM versions WHERE collection='rag-embedder-v1' AND "
            "version_index=0"))
        request = meta["wbadmin"]["promotion"]
        assert request["requested_by"] == "carol" and request["status"] == "pending"


async def test_b_rolls_back_the_selected_rows_collection() -> None:
    from wbadmin.core.promotions import PromotionService, load_policy
    from wbadmin.core.promotions.record import Ref

    app = make_app(user="grace")
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        screen = await open_promotions(app, pilot)
        # Two aliases wbadmin moved: rag-embedder-v1's staging, intent-classifier's production.
        for name in ("rag-embedder-v1", "intent-classifier"):
            await select(app, pilot, name)
            await pilot.press("space")
        await pilot.press("A", "enter")
        await pilot.pause()
        await pilot.press("tab", "enter")
        await pilot.pause()
        await pilot.press(*"intent-classifier", "enter")
        await settle(app, pilot)
        assert "production" in cached_version(app, "intent-classifier", 12)[0]
        # Someone asks for another intent-classifier version: a row of that collection.
        service = PromotionService(app.session.client, load_policy(), app.session.engine())
        await service.request(Ref("inference-systems", "model", "intent-classifier", "v9"),
                              "staging", "rollback drill")
        await pilot.press("r")
        await settle(app, pilot)
        assert ("intent-classifier", "v9", "staging", "grace") in queue(app)
        await select(app, pilot, "intent-classifier")
        await pilot.press("B")
        await pilot.pause()
        # A pick among that collection's aliases only (its staging the demo's workflow moved),
        # none of other collections'.
        assert isinstance(app.screen, ChoiceScreen)
        assert [label for _, label, _ in app.screen.options] == [
            "model/intent-classifier:staging  v11 → v10",
            "model/intent-classifier:production  v12 → v10"]
        await pilot.press("down", "enter")
        await pilot.pause()
        assert isinstance(app.screen, PlanScreen)
        assert app.screen.plan.title == "Roll back model/intent-classifier:production"
        await pilot.press("escape")
        await pilot.pause()
        assert app.screen is screen
        assert "production" in cached_version(app, "intent-classifier", 12)[0]


async def test_a_mistyped_production_name_asks_again_and_keeps_the_comment() -> None:
    app = make_app(user="grace")
    async with app.run_test(size=(120, 36), notifications=True) as pilot:
        screen = await open_promotions(app, pilot)
        await select(app, pilot, "support-chatbot-ft")
        await pilot.press("A", *"looks good", "enter")
        await pilot.pause()
        await pilot.press("tab", "enter")
        await pilot.pause()
        confirm = app.screen
        assert isinstance(confirm, TypedConfirmScreen)
        await pilot.press(*"support-chatbot", "enter")
        await pilot.pause()
        # Still asking, and saying why; nothing moved.
        assert app.screen is confirm
        error = text_of(confirm.query_one("#confirm-error"))
        assert "'support-chatbot' is not 'support-chatbot-ft'" in error
        assert confirm.query_one("#confirm-word").value == ""
        assert "production" in cached_version(app, "support-chatbot-ft", 5)[0]
        await pilot.press(*"support-chatbot-ft", "enter")
        await settle(app, pilot)
        assert app.screen is screen
        aliases, metadata = cached_version(app, "support-chatbot-ft", 7)
        assert "production" in aliases
        assert metadata["wbadmin"]["promotion"]["approvals"][0]["comment"] == "looks good"


def diff_cells(screen) -> dict[str, Text]:
    """The detail's metadata diff: key -> the candidate's cell (with its marker)."""
    from rich.console import Group
    from rich.table import Table

    def tables(renderable):
        if isinstance(renderable, Table):
            yield renderable
        elif isinstance(renderable, Group):
            for inner in renderable.renderables:
                yield from tables(inner)

    table = next(tables(screen.query_one("#promo-body").content))
    keys = [str(c) for c in table.columns[0]._cells]
    return dict(zip(keys, table.columns[2]._cells, strict=True))


def styles_of(cell: Text) -> str:
    return " ".join(str(span.style) for span in cell.spans)


async def test_worse_metrics_are_red_and_regressions_flag_the_row() -> None:
    app = make_app(user="grace")
    async with app.run_test(size=(120, 36)) as pilot:
        screen = await open_promotions(app, pilot)
        await select(app, pilot, "intent-classifier")
        detail = screen.details["inference-systems/model/intent-classifier:v12"]
        rows = {d["key"]: d for d in detail.diff}
        assert rows["run.loss"]["candidate"] > rows["run.loss"]["current"]
        cells = diff_cells(screen)
        # A loss that went up reads as a regression in red, not as a gain.
        loss = cells["run.loss"]
        assert "▲ +" in loss.plain and "%" in loss.plain and "red" in styles_of(loss)
        assert "better" not in loss.plain
        for key, row in rows.items():
            if row["change"] == "better":
                assert "better" in cells[key].plain and "green" in styles_of(cells[key])
            elif row["change"] == "worse" and not row["regression"]:
                assert "worse" in cells[key].plain and "red" in styles_of(cells[key])
        text = text_of(screen.query_one("#promo-body"))
        note = next(line for line in text.splitlines() if "✗ regressions" in line)
        assert "by more than 5%" in note and "run.loss" in note
        # The request's row in the queue is marked, and the hint below says how many.
        assert len(detail.regressions) >= 1
        table = screen.query_one("#promo-queue", DataTable)
        row = table.get_row("inference-systems/model/intent-classifier:v12")
        assert str(row[-1]).endswith("!")
        hint = text_of(screen.query_one("#promo-hint"))
        assert "! metrics worse than the current holder's by more than 5%" in hint
        assert f"intent-classifier:v12 ({len(detail.regressions)})" in hint
