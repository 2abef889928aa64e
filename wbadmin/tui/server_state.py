"""What the server has, as the TUI shows it: the screens whose feature the server lacks are
greyed with the reason (the palette, `?`, a note when the key is pressed) instead of failing
when used, and a degraded path is said once (a notification) and kept in the header of its
screen. The facts are the CLI's (`core.server_facts`): cached per server, re-probed when old
or when the server's flags change."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..core.server_facts import FeatureState, ServerFacts

# The feature of wbadmin each screen (mode) serves; the journal is wbadmin's own.
MODE_FEATURE = {"explorer": "Explorer", "access": "Access", "promotions": "Promotions",
                "quotas": "Quotas", "onboarding": "Onboarding", "governance": "Governance"}
DOCTOR = "Doctor in ctrl+p says more"


def state_of(facts: ServerFacts | None, mode: str | None) -> FeatureState | None:
    """The server's state of the mode's feature; None when unknown or not a feature."""
    feature = MODE_FEATURE.get(mode or "")
    if facts is None or feature is None:
        return None
    return facts.feature(feature)


def unavailable_reason(facts: ServerFacts | None, mode: str | None) -> str | None:
    """Why the mode's screen cannot be used on this server, or None."""
    state = state_of(facts, mode)
    if state is None or state.usable:
        return None
    why = state.reasons[0] if state.reasons else "the server lacks what it needs"
    return f"{state.name} is unavailable on this server: {why}"


def header_note(facts: ServerFacts | None, mode: str | None) -> str | None:
    """One line for the header of the mode's screen when the server limits it."""
    state = state_of(facts, mode)
    if state is None or state.state == "ready":
        return None
    if state.state == "unverified":
        return None  # not known to lack anything: nothing to warn about
    said = state.notices[0] if state.notices else \
        (state.reasons[0] if state.reasons else "the server lacks part of it")
    more = len(state.notices or state.reasons) - 1
    return (f"{state.name} {state.state} on this server: {said}"
            + (f" (+{more} more)" if more > 0 else "") + f" · {DOCTOR}")


def notices(facts: ServerFacts) -> list[tuple[str, str]]:
    """(feature, line) for every degraded path this server makes wbadmin take."""
    return [(state.name, line) for state in facts.all_features() for line in state.notices]


def known_facts(session) -> ServerFacts | None:
    """The stored facts (no request); None when never probed or unreadable."""
    try:
        return session.known_facts()
    except Exception:  # a broken server cache must not stop the app from opening
        return None


def take_facts(app, facts: ServerFacts) -> None:
    """Keep the facts; say each degraded path once a session; grey what is unavailable."""
    app.facts = facts
    for feature, line in notices(facts):
        if line not in app.said:
            app.said.add(line)
            app.notify(line, title=f"{feature} on this server", timeout=10)
    app.update_header()
    app.refresh_bindings()
