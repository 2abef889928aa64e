"""Messages that workers post to the app (workers never touch widgets)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

if TYPE_CHECKING:
    from ..core.client import RequestRecord


class Connected(Message):
    """The client is ready (the embedded sandbox, if any, is listening)."""


class ServerFactsKnown(Message):
    """What the server has (`core.server_facts.ServerFacts`), probed or confirmed."""

    def __init__(self, facts: object) -> None:
        super().__init__()
        self.facts = facts


class DataRefreshed(Message):
    """The cache holds newer data for `scope` ('org' or 'team:<name>')."""

    def __init__(self, scope: str) -> None:
        super().__init__()
        self.scope = scope


class RefreshFailed(Message):
    def __init__(self, scope: str, error: str) -> None:
        super().__init__()
        self.scope = scope
        self.error = error


class ApiCall(Message):
    def __init__(self, record: RequestRecord) -> None:
        super().__init__()
        self.record = record
