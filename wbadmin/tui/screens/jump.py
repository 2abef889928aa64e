"""`:` jump: a one-line command bar with completion (`:team data-science-nlp`)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.suggester import Suggester
from textual.widgets import Input, Static

from ...core import explorer as X
from ...core.cache import Cache
from ..locations import Location

KINDS = ("team", "project", "user", "registry", "collection")
SCREENS = {"explorer": "explorer", "journal": "journal", "promotions": "promotions",
           "quotas": "quotas", "onboarding": "onboarding", "audit": "audit"}
VERBS = (*KINDS, *SCREENS)


def parse_jump(command: str, cache: Cache) -> tuple[Location | str | None, str | None]:
    """(where to go, or a screen name; or None and a one-line problem)."""
    words = command.strip().lstrip(":").split(None, 1)
    if not words:
        return None, None
    verb, arg = words[0].lower(), (words[1].strip() if len(words) > 1 else "")
    if verb in SCREENS and not arg:
        return SCREENS[verb], None
    if verb not in KINDS:
        return None, f"unknown jump {verb!r}: try {', '.join(VERBS)}"
    if not arg:
        return None, f":{verb} needs a name, e.g. :{verb} " + (
            X.completions(cache, verb, "", 1) or ["NAME"])[0]
    if verb == "team":
        return Location("team", team=arg), None
    if verb == "project":
        team, _, name = arg.rpartition("/")
        if not team:
            teams = X.find_project(cache, arg)
            if not teams:
                return None, f"no project named {arg!r} in the cache"
            team = teams[0]
            name = arg
        return Location("project", team=team, name=name), None
    if verb == "user":
        return Location("user", name=arg), None
    if verb == "registry":
        return Location("registry", name=arg.removeprefix("wandb-registry-")), None
    registry, _, name = arg.rpartition("/")
    if not registry:
        rows = cache.query("SELECT registry FROM collections WHERE name = ?", (arg,))
        if not rows:
            return None, f"no collection named {arg!r} in the cache"
        registry, name = rows[0][0], arg
    return Location("collection", name=name, registry=registry), None


class JumpSuggester(Suggester):
    """Completes the verb, then the name from the cache."""

    def __init__(self, cache: Cache) -> None:
        super().__init__(use_cache=False, case_sensitive=True)
        self.store = cache  # not `cache`: Suggester keeps its own memo there

    async def get_suggestion(self, value: str) -> str | None:
        text = value.lstrip(":")
        if " " not in text:
            for verb in VERBS:
                if verb.startswith(text) and text:
                    return (":" if value.startswith(":") else "") + verb + " "
            return None
        verb, _, prefix = text.partition(" ")
        kind = verb if verb in KINDS else None
        if kind is None:
            return None
        names = X.completions(self.store, "project" if kind == "project" else kind, prefix, 1) \
            if kind != "collection" else [r[0] for r in self.store.query(
                "SELECT name FROM collections WHERE name LIKE ? ORDER BY name LIMIT 1",
                (prefix + "%",))]
        if not names:
            return None
        return value[: len(value) - len(prefix)] + names[0]


class JumpScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "cancel"),
                Binding("tab", "complete", "complete", show=False)]

    def __init__(self, cache: Cache) -> None:
        super().__init__()
        self.cache = cache

    def compose(self) -> ComposeResult:
        yield Static(":team NAME  :project NAME  :user NAME  :registry NAME  "
                     ":collection NAME  :journal :promotions :quotas  (tab completes)",
                     id="jump-help")
        yield Input(placeholder=":team data-science-nlp", id="jump-input",
                    suggester=JumpSuggester(self.cache))

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_complete(self) -> None:
        box = self.query_one(Input)
        box.cursor_position = len(box.value)
        box.action_cursor_right()  # at the end of the line this accepts the suggestion

    def action_cancel(self) -> None:
        self.dismiss(None)
