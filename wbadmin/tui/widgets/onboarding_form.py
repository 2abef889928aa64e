"""Step 2 of the onboarding walkthrough: the team's name, its ticket (templates with `ticket`)
and its people by group (a team template), or the new hire and their team (a hire template).
Usernames and emails complete from the org as cached (→ accepts), and each field says at once
what it resolves to: a member of the org, an invitation, or a problem (a ticket: whether it
matches the template's pattern)."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.suggester import Suggester
from textual.widgets import Button, Input, Static

from ...core.access.people import EMAIL, find_person
from ...core.cache import Cache
from ...core.onboarding.names import team_name_problem
from ...core.onboarding.template_plan import Inputs, split_people
from ...core.onboarding.templates import Template, fill


class OrgSuggester(Suggester):
    """Completes the last name of a comma-separated list from the org's people (or teams)."""

    def __init__(self, names: list[str]) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.names = sorted(set(names), key=str.lower)

    async def get_suggestion(self, value: str) -> str | None:
        token = value.rpartition(",")[2]
        token = token.lstrip()
        if not token:
            return None
        lowered = token.lower()
        for name in self.names:
            if name.lower().startswith(lowered) and len(name) > len(token):
                return value + name[len(token):]
        return None


class PeopleForm(VerticalScroll):
    DEFAULT_CSS = """
    PeopleForm { height: 1fr; border: round $primary 40%; padding: 0 1; }
    PeopleForm:focus-within { border: round $primary; }
    PeopleForm .ob-row { height: 3; }
    PeopleForm .ob-label { width: 22; padding-top: 1; }
    PeopleForm .ob-input { width: 44; }
    PeopleForm .ob-check { width: 1fr; padding: 1 0 0 2; }
    PeopleForm #ob-preview { margin: 1 0 0 0; height: auto; }
    PeopleForm #ob-form-buttons { height: 3; align-horizontal: right; margin-top: 1; }
    """

    class Next(Message):
        """The person asked to go on to the review (enter in the last field, or the button)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.template: Template | None = None
        self.cache: Cache | None = None
        self.fields: list[tuple[str, str]] = []  # (input id, what it holds)

    def configure(self, template: Template, inputs: Inputs, cache: Cache) -> None:
        """Rebuild the fields for `template`, filled with `inputs`."""
        self.template, self.cache = template, cache
        people = [r[0] for r in cache.query(
            "SELECT username FROM users WHERE account_type = 'USER' AND active = 1")]
        people += [r[0] for r in cache.query(
            "SELECT email FROM users WHERE account_type = 'USER' AND email IS NOT NULL")]
        teams = [r[0] for r in cache.query("SELECT name FROM teams ORDER BY name")]
        rows: list[tuple[str, str, str, str, Suggester | None]] = []  # id, label, value, ph
        if template.kind == "team":
            rows.append(("ob-team", "Team name", inputs.team, "e.g. vision-nlp", None))
            if template.ticket is not None:
                rows.append(("ob-ticket", "Ticket", inputs.ticket,
                             f"matching {template.ticket.pattern}", None))
            for group, role in template.groups:
                rows.append((f"ob-group-{group}", f"{group} → {role}",
                             ", ".join(inputs.people.get(group, [])),
                             "usernames or emails, comma-separated", OrgSuggester(people)))
        else:
            rows.append(("ob-user", "New hire", inputs.user, "username or email",
                         OrgSuggester(people)))
            if template.asks_team:
                rows.append(("ob-team", "Their team", inputs.team, "an existing team",
                             OrgSuggester(teams)))
        self.fields = [(r[0], r[1]) for r in rows]
        widgets = []
        for wid, label, value, placeholder, suggester in rows:
            widgets.append(Horizontal(
                Static(Text(label, style="bold"), classes="ob-label"),
                Input(value=value, placeholder=placeholder, id=wid, classes="ob-input",
                      suggester=suggester),
                Static(id=f"{wid}-check", classes="ob-check"), classes="ob-row"))
        widgets.append(Static(id="ob-preview"))
        widgets.append(Horizontal(Button("Review the plan ›", id="ob-next", variant="primary"),
                                  id="ob-form-buttons"))
        self.call_later(self._rebuild, widgets)

    async def _rebuild(self, widgets: list) -> None:
        # The old fields must be gone before new ones with the same ids are mounted.
        await self.remove_children()
        await self.mount(*widgets)
        self._after_mount()

    def _after_mount(self) -> None:
        for wid, _ in self.fields:
            self._check(wid)
        self._preview()
        empty = next((wid for wid, _ in self.fields if not self.query_one(f"#{wid}",
                                                                          Input).value), None)
        self.query_one(f"#{empty or self.fields[0][0]}", Input).focus()

    # ---- values -------------------------------------------------------------------------------

    def value(self, wid: str) -> str:
        found = self.query(f"#{wid}")
        return found.first(Input).value.strip() if found else ""

    def inputs(self) -> Inputs:
        assert self.template is not None
        if self.template.kind == "team":
            people = {g: split_people(self.value(f"ob-group-{g}"))
                      for g, _ in self.template.groups}
            return Inputs(team=self.value("ob-team"),
                          people={g: p for g, p in people.items() if p},
                          ticket=self.value("ob-ticket"))
        return Inputs(user=self.value("ob-user"), team=self.value("ob-team"))

    # ---- live checks --------------------------------------------------------------------------

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        if event.input.id:
            self._check(event.input.id)
            self._preview()

    @on(Input.Submitted)
    def _submitted(self, event: Input.Submitted) -> None:
        ids = [wid for wid, _ in self.fields]
        if event.input.id in ids and ids.index(event.input.id) < len(ids) - 1:
            self.query_one(f"#{ids[ids.index(event.input.id) + 1]}", Input).focus()
        else:
            self.post_message(self.Next())

    @on(Button.Pressed, "#ob-next")
    def _next(self) -> None:
        self.post_message(self.Next())

    def _check(self, wid: str) -> None:
        found = self.query(f"#{wid}-check")
        if not found or self.cache is None:
            return
        value = self.value(wid)
        if wid == "ob-team":
            text = self._team_check(value)
        elif wid == "ob-ticket":
            text = self._ticket_check(value)
        elif not value:
            text = Text("nobody (optional)" if wid.startswith("ob-group-") else "required",
                        style="dim")
        else:
            text = Text()
            for i, key in enumerate(split_people(value)):
                if i:
                    text.append(" · ", style="dim")
                text.append_text(self._person_check(key))
        text.no_wrap, text.overflow = True, "ellipsis"
        found.first(Static).update(text)

    def _team_check(self, name: str) -> Text:
        assert self.cache is not None and self.template is not None
        if not name:
            return Text("required", style="dim")
        exists = self.cache.scalar("SELECT 1 FROM teams WHERE name = ?", (name,))
        if self.template.kind == "hire":
            return Text("✓ in the org", style="green") if exists else \
                Text(f"✗ no team {name!r}", style="red")
        if problem := team_name_problem(name):
            return Text(f"✗ {problem.split(': ', 1)[-1]}", style="red")
        if exists:
            return Text("exists: only what is missing is planned", style="yellow")
        return Text("✓ a new team", style="green")

    def _ticket_check(self, ticket: str) -> Text:
        assert self.template is not None and self.template.ticket is not None
        if not ticket:
            return Text(f"required: matching {self.template.ticket.pattern}", style="dim")
        if problem := self.template.ticket_problem(ticket):
            return Text(f"✗ {problem.removeprefix(f'ticket {ticket!r} ')}", style="red")
        return Text("✓ recorded in the journal and the projects' descriptions", style="green")

    def _person_check(self, key: str) -> Text:
        assert self.cache is not None
        person = find_person(self.cache, key)
        if person is None:
            if "@" in key and EMAIL.match(key):
                return Text(f"✉ {key}: invitation", style="cyan")
            return Text(f"✗ {key}: not in the org", style="red")
        if person.service_account:
            return Text(f"✗ {person.username}: a service account", style="red")
        if not person.active:
            return Text(f"✗ {person.username}: deactivated", style="red")
        return Text(f"✓ {person.username}" + (f" ({person.name})" if person.name else ""),
                    style="green")

    def _preview(self) -> None:
        found = self.query("#ob-preview")
        if not found or self.template is None:
            return
        t, values = self.template, {"team": self.value("ob-team") or "{team}"}
        text = Text("In W&B this will ", style="dim")
        if t.kind == "team":
            text.append("create ", style="dim")
            parts = [f"team {values['team']}"]
            parts += [f"project {fill(p.name, values)} ({p.visibility})" for p in t.projects]
            parts += [f"service account {fill(s.name, values)}" for s in t.service_accounts]
            text.append(", ".join(parts))
            text.append(" where missing, and grant each group its role.", style="dim")
        else:
            teams = [values["team"] if g.team == "{team}" else
                     ("every team" if g.team == "*" else g.team) for g in t.teams]
            grants = [f"{team} as {g.role}" for team, g in zip(teams, t.teams, strict=True)]
            grants += [f"registry {g.registry} as {g.role}" for g in t.registry_access]
            text.append("add the new hire to ", style="dim")
            text.append(", ".join(grants))
            text.append(" (an invitation if they are not in the org yet).", style="dim")
        text.append("\n\nenter: next field, then the review · → accepts a completion from the "
                    "org · esc: back (what you typed is kept as a paused walkthrough)",
                    style="dim")
        found.first(Static).update(text)
