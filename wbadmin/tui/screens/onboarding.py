"""Screen 5, Onboarding: a walkthrough that turns a template into W&B teams, projects, roles
and invitations — `1 Template › 2 Names & people › 3 Review plan › 4 Apply › 5 Done` — each
step saying in one line what it does in W&B.

The walkthrough is saved (core/onboarding/walkthrough.py) whenever it moves forward, when it
is paused (P) and when the screen is left, so it can be resumed from step 1 after a restart;
a resumed apply skips what the journal shows applied. Read-only mode and identities that may
not make the changes can browse templates and preview plans; the screen says why applying is
not offered. The apply itself is a flow (tui/flows/onboarding.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import ContentSwitcher, Input, OptionList, Static

from ...core.changes import Plan
from ...core.onboarding import walkthrough as W
from ...core.onboarding.library import list_templates, load_template
from ...core.onboarding.template_plan import Filled, Inputs, fill_template
from ...core.onboarding.templates import Template, TemplateError
from ..widgets.api_log import ApiLog
from ..widgets.footer import WbFooter
from ..widgets.header import ShellHeader
from ..widgets.onboarding_form import PeopleForm
from ..widgets.onboarding_pick import TemplatePicker
from ..widgets.onboarding_progress import ApplyPane, DonePane
from ..widgets.onboarding_review import ReviewPane, review_body
from ..widgets.onboarding_stepper import OnboardingStepper

if TYPE_CHECKING:
    from ..app import WbAdminApp

STEP_KEYS = ("a", "o", "n", "x", "P", "escape")


class OnboardingScreen(Screen):
    # Tab / Shift+Tab move between these (the step on show has some of them).
    PANES = "#ob-list, #ob-detail, PeopleForm, #ob-step-review, #ob-step-apply, #ob-step-done"
    DEFAULT_CSS = """
    #onboarding { height: 1fr; }
    #ob-banner { height: auto; padding: 0 1; color: $warning; }
    #ob-steps { height: 1fr; }
    """
    BINDINGS = [
        Binding("a", "apply", "apply…", id="onboarding.apply"),
        Binding("o", "open_link", "open in W&B", id="onboarding.open"),
        Binding("n", "start_over", "new", id="onboarding.new"),
        Binding("x", "discard", "forget paused", id="onboarding.discard"),
        Binding("P", "pause", "pause", id="onboarding.pause"),
        Binding("escape", "back", "back", show=False, id="onboarding.back"),
    ]

    app: WbAdminApp

    def __init__(self) -> None:
        super().__init__()
        self.step = "template"
        self.wt: W.Walkthrough | None = None
        self.template: Template | None = None
        self.filled: Filled | None = None
        self.plan = Plan()             # what step 3 offers to apply
        self.done_lines: list[str] = []
        self.reread = False
        self.applying = False

    def compose(self) -> ComposeResult:
        yield ShellHeader(id="header")
        with Vertical(id="onboarding"):
            yield OnboardingStepper(id="ob-stepper")
            yield Static(id="ob-banner")
            with ContentSwitcher(id="ob-steps", initial="ob-step-template"):
                yield TemplatePicker(id="ob-step-template")
                yield PeopleForm(id="ob-step-people")
                yield ReviewPane(id="ob-step-review")
                yield ApplyPane(id="ob-step-apply")
                yield DonePane(id="ob-step-done")
        yield ApiLog(id="api-log")
        yield WbFooter()

    def on_mount(self) -> None:
        self.query_one(ApiLog).display = self.app.api_log_visible
        self.reload()
        self.go("template")

    def on_screen_resume(self) -> None:
        self.reload()

    def on_screen_suspend(self) -> None:
        self._save()  # leaving the screen pauses the walkthrough

    @property
    def store(self) -> W.Store:
        return W.Store(W.state_dir(self.app.session.profile.journal_path), self.app.clock)

    # ---- data ------------------------------------------------------------------------------

    def reload(self) -> None:
        """Redraw what comes from the cache and the files (the app calls it after a sync)."""
        self._banner()
        if self.step == "template":
            self.query_one(TemplatePicker).load(list_templates(), self.store.unfinished(),
                                                self.app.clock())

    def _banner(self) -> None:
        caps = self.app.capabilities
        banner = self.query_one("#ob-banner", Static)
        why = W.blocker([], caps)
        if why is not None:
            text = (f"⚠ {why}. You can browse the templates and preview plans; applying is not "
                    "offered.")
        elif not caps.is_org_admin and caps.username:
            role = f"org {caps.org_role}" if caps.org_role else "not an org admin"
            text = (f"⚠ {caps.username} is {role}: creating teams and setting roles need an "
                    "org admin. You can browse the templates and preview plans; the review "
                    "says what you may apply.")
        else:
            text = ""
        banner.display = bool(text)
        banner.update(Text(text, style="bold"))

    def _save(self) -> None:
        if self.wt is not None and not self.applying:
            if self.step == "people":
                self.wt.set_inputs(self.query_one(PeopleForm).inputs())
            self.store.save(self.wt)

    # ---- moving between steps --------------------------------------------------------------

    def go(self, step: str) -> None:
        self.step = step
        self.query_one(ContentSwitcher).current = f"ob-step-{step}"
        self._stepper()
        if step == "template":
            self.reload()
            self.query_one("#ob-list", OptionList).focus()
        elif step == "review":
            self.query_one(ReviewPane).focus()
        elif step == "done":
            self.query_one("#ob-links", OptionList).focus()
        self.refresh_bindings()

    def _stepper(self) -> None:
        subject = ""
        if self.wt is not None and self.step != "template":
            subject = f"{self.wt.template} · {self.wt.subject}"
        kind = self.template.kind if self.template and self.step != "template" else None
        self.query_one(OnboardingStepper).show(self.step, kind, subject)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if self.applying:
            return action not in ("apply", "back", "pause", "start_over", "discard",
                                  "open_link") or None
        allowed = {
            "apply": self.step == "review" and self._can_apply(),
            "open_link": self.step == "done" and self.app.session.web_app_url is not None,
            "start_over": self.step == "done",
            "discard": self.step == "template" and (
                self.query_one(TemplatePicker).highlighted_id() or "").startswith("w:"),
            "pause": self.step in ("people", "review") or (self.step == "apply"
                                                            and self.wt is not None),
            "back": self.step != "template",
        }
        return allowed.get(action, True)

    def _can_apply(self) -> bool:
        return (self.wt is not None and not self.plan.is_empty and
                (self.filled is None or self.filled.ok) and
                W.blocker(self.plan.changes, self.app.capabilities) is None)

    @on(OptionList.OptionSelected, "#ob-list")
    def _picked(self, event: OptionList.OptionSelected) -> None:
        kind, _, key = (event.option.id or "").partition(":")
        if kind == "t":
            self.start(key)
        elif kind == "w":
            self.resume(key)

    @on(OptionList.OptionHighlighted, "#ob-list")
    def _highlight(self) -> None:
        self.refresh_bindings()

    def _load(self, ref: str) -> Template | None:
        try:
            return load_template(ref)
        except TemplateError as exc:
            self.notify(str(exc), markup=False, severity="error", timeout=10)
            return None

    def start(self, name: str) -> None:
        template = self._load(name)
        if template is None:
            return
        self.template, self.filled = template, None
        self.wt = W.new(name, template.kind, self.app.session.profile.name, self.app.clock)
        self.query_one(PeopleForm).configure(template, Inputs(), self.app.session.cache)
        self.go("people")

    def resume(self, wid: str) -> None:
        try:
            wt = self.store.load(wid)
        except KeyError as exc:
            self.notify(str(exc.args[0]), markup=False, severity="error")
            return
        template = self._load(wt.template)
        if template is None:
            return
        self.wt, self.template, self.filled = wt, template, None
        if not wt.plan:
            self.query_one(PeopleForm).configure(template, wt.get_inputs(),
                                                 self.app.session.cache)
            self.go("people")
            return
        self.plan, self.done_lines, self.reread = Plan(title=_title(wt), changes=wt.changes()), \
            [], False
        self._show_review()
        self.go("review")
        if wt.started_at is not None:
            self.reread_remaining()

    @on(Input.Changed)
    def _typed(self) -> None:
        if self.step == "people" and self.wt is not None:
            self.wt.set_inputs(self.query_one(PeopleForm).inputs())
            self._stepper()

    @on(PeopleForm.Next)
    def review(self) -> None:
        assert self.wt is not None and self.template is not None
        inputs = self.query_one(PeopleForm).inputs()
        self.wt.set_inputs(inputs)
        self.filled = fill_template(self.template, inputs, self.app.session.cache)
        self.plan, self.done_lines, self.reread = self.filled.plan, [], False
        if self.filled.ok:
            self.wt.freeze(self.filled)
            self.wt.step = "review"
            self.store.save(self.wt)
        self._show_review()
        self.go("review")

    def _show_review(self) -> None:
        assert self.wt is not None
        f = self.filled
        body = review_body(
            self.plan, done=self.done_lines, notes=f.notes if f else self.wt.notes,
            concerns=f.concerns if f else [], quota=f.quota if f else self.wt.quota,
            problems=f.problems if f else [], reread=self.reread,
            compact=self.app.size.width < 100,
            blocker=W.blocker(self.plan.changes, self.app.capabilities),
            ticket=self.wt.get_inputs().ticket)
        n = len(self.plan)
        self.query_one(ReviewPane).show(f"{_title(self.wt)} · {n} change{'s' * (n != 1)}", body)
        self.refresh_bindings()

    @work(exclusive=True, group="onboarding", exit_on_error=False)
    async def reread_remaining(self) -> None:
        """A resumed walkthrough: settle what an interruption left, drop what is done."""
        client = self.app.session.client
        if client is None or self.wt is None:
            return

        engine = self.app.session.engine()
        try:
            plan, done = await W.remaining(self.wt, engine, client)
        except Exception as exc:  # shown; the frozen plan stays on screen
            self.notify(f"could not re-read W&B: {exc}", markup=False, severity="error")
            return
        plan.title = _title(self.wt)
        self.plan, self.done_lines, self.reread = plan, done, True
        self._show_review()

    # ---- actions ---------------------------------------------------------------------------

    def action_back(self) -> None:
        if self.step == "people":
            inputs = self.query_one(PeopleForm).inputs()
            if self.wt is not None and (inputs.team or inputs.user or inputs.people
                                        or inputs.ticket):
                self.wt.set_inputs(inputs)
                self.store.save(self.wt)  # something was typed: keep it as paused
            self.wt = None
            self.go("template")
        elif self.step == "review":
            if self.wt is not None and self.wt.started_at is None and self.template:
                self.wt.step = "people"
                self.query_one(PeopleForm).configure(self.template, self.wt.get_inputs(),
                                                     self.app.session.cache)
                self.go("people")
            else:
                self.action_pause()
        elif self.step in ("apply", "done"):
            self.wt = None
            self.go("template")

    def action_pause(self) -> None:
        if self.wt is None:
            return
        self._save()
        self.notify(f"paused: resume it from step 1, or `wbadmin onboard resume {self.wt.id}`",
                    markup=False, timeout=6)
        self.wt = None
        self.go("template")

    def action_start_over(self) -> None:
        self.wt = None
        self.go("template")

    def action_discard(self) -> None:
        oid = self.query_one(TemplatePicker).highlighted_id() or ""
        if oid.startswith("w:"):
            self.store.delete(oid[2:])
            self.notify("walkthrough forgotten (nothing in W&B changes)", timeout=4)
            self.reload()

    def action_open_link(self) -> None:
        link = self.query_one(DonePane).selected()
        base = self.app.session.web_app_url
        if link is None or not base:
            self.notify("no W&B page for this" if base else "the sandbox has no web UI",
                        severity="warning")
            return
        url = f"{base.rstrip('/')}/{link.path}"
        self.app.open_url(url)
        self.notify(f"opening {url}", markup=False, timeout=3)

    def action_apply(self) -> None:
        if self._can_apply():
            from ..flows.onboarding import apply_walkthrough

            apply_walkthrough(self)


def _title(wt: W.Walkthrough) -> str:
    """The plan's title as shown (the journal's title also carries the walkthrough id)."""
    return wt.plan_title.split(" · walkthrough ")[0] or wt.template
