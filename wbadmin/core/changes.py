"""Changes, Plans and Outcomes: the vocabulary of every write wbadmin makes.

A `Change` is one edit of one target in W&B (a team role, a membership, an alias). It knows the
state it expects to find (`before`), the state it leaves (`after`), how to apply itself, how to
re-read its target, and — when reversible — its inverse. `None` as a state means "absent"
(before of an add, after of a remove). States are small JSON-able dicts.

Changes are journaled as records (`to_record`) and rebuilt from them (`Change.from_record`)
through a registry of kinds, so undo and crash reconciliation work in a later process.
"""

from __future__ import annotations

import dataclasses
import json
from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

State = dict[str, Any] | None

# Base fields: everything else on a dataclass subclass is a "param" stored with the record.
_BASE_FIELDS = ("target", "before", "after", "undo_of")

CHANGE_KINDS: dict[str, type[Change]] = {}


class UnknownChangeKind(LookupError):
    """A journal record names a change kind no loaded module registers."""


class NotReversible(ValueError):
    """`inverse()` on a change that cannot be undone."""


class ChangeError(Exception):
    """A change failed. Changes may raise any Exception; this one can carry a request id."""

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        super().__init__(message)
        self.request_id = request_id


def register_change(cls: type[Change]) -> type[Change]:
    """Class decorator: make `cls` rebuildable from journal records by its `kind`."""
    if not cls.kind:
        raise TypeError(f"{cls.__name__} has no `kind`")
    existing = CHANGE_KINDS.get(cls.kind)
    if existing is not None and existing.__qualname__ != cls.__qualname__:
        raise TypeError(f"change kind {cls.kind!r} is already registered by {existing.__name__}")
    CHANGE_KINDS[cls.kind] = cls
    return cls


@dataclass(frozen=True)
class ApplyResult:
    """What a successful `Change.apply` reports: W&B's request id (when known) and one line."""

    request_id: str | None = None
    detail: str = ""


def format_value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def format_state(state: State) -> str:
    if not state:
        return ""
    if len(state) == 1:
        return format_value(next(iter(state.values())))
    return ", ".join(f"{k}={format_value(v)}" for k, v in state.items())


def format_delta(before: dict[str, Any], after: dict[str, Any]) -> str:
    keys = [k for k in dict.fromkeys([*before, *after]) if before.get(k) != after.get(k)]
    if not keys:
        return "no change"
    if len(keys) == 1 and len(after) == 1:
        k = keys[0]
        return f"{format_value(before.get(k))} → {format_value(after.get(k))}"
    return ", ".join(f"{k}: {format_value(before.get(k))} → {format_value(after.get(k))}"
                     for k in keys)


def states_match(current: State, expected: State) -> bool:
    """Whether a re-read state shows `expected`: both absent, or every expected key equal
    (a re-read may carry more fields than the change cares about)."""
    if expected is None or current is None:
        return expected is None and current is None
    return all(current.get(k) == v for k, v in expected.items())


@dataclass(kw_only=True)
class Change(ABC):
    """One edit of one target. Subclasses set `kind` and `via`, add their own dataclass fields
    (journaled as params), implement `apply` and `read_current`, and are `@register_change`d.

    The default `inverse()` swaps before and after, which is right for any kind whose `apply`
    moves the target from whatever it is to `after` (set / add / remove in one kind). Kinds
    whose inverse is a different kind override it.
    """

    kind: ClassVar[str] = ""
    via: ClassVar[str] = ""          # the API path, e.g. "SCIM teamRoles"
    reversible: ClassVar[bool] = True
    # `apply` may run again from any state a partial apply leaves (it skips the steps W&B
    # already shows), so the engine finishes a change whose later write was lost.
    resumable: ClassVar[bool] = False
    # What the server must have (ServerFacts.refusal, asked before a plan is confirmed): the
    # names of this module's GraphQL documents that `apply` sends, and whether it uses SCIM.
    documents: ClassVar[tuple[str, ...]] = ()
    uses_scim: ClassVar[bool] = False
    # The cache does not hold this change's target (a project's saved workspaces): the change
    # path reads it from W&B when it plans, and drops the change if W&B shows it already.
    read_at_plan: ClassVar[bool] = False
    # `apply` runs W&B's libraries (core/wandb_library.py): a plan is refused before it is
    # confirmed where they are not installed.
    uses_library: ClassVar[bool] = False

    target: str                      # a human path, e.g. "data-science-nlp/bob"
    before: State = None
    after: State = None
    undo_of: int | None = field(default=None, compare=False, repr=False)  # journal entry id

    # -- what subclasses implement ---------------------------------------------------------

    @abstractmethod
    async def apply(self, ctx: Any) -> ApplyResult:
        """Make the change in W&B. Raise on failure (ideally with a `request_id` attribute)."""

    @abstractmethod
    async def read_current(self, ctx: Any) -> State:
        """Re-read the target's state from W&B in the shape of before/after (None: absent)."""

    # -- overridable defaults ----------------------------------------------------------------

    @property
    def action(self) -> str:
        if self.before is None and self.after is not None:
            return "add"
        if self.after is None and self.before is not None:
            return "remove"
        return "update"

    def summary(self) -> str:
        """The middle of the diff line: "member → admin", "add member", "remove"."""
        if self.action == "add":
            return f"add {format_state(self.after)}".rstrip()
        if self.action == "remove":
            return "remove"
        return format_delta(self.before or {}, self.after or {})

    def matches(self, current: State, expected: State) -> bool:
        return states_match(current, expected)

    def inverse(self) -> Change:
        if not self.reversible:
            raise NotReversible(f"{self.kind} on {self.target} cannot be undone")
        return dataclasses.replace(self, before=self.after, after=self.before, undo_of=None)

    def params(self) -> dict[str, Any]:
        """Extra constructor arguments, stored in the journal to rebuild the change."""
        if not dataclasses.is_dataclass(self):
            return {}
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                if f.name not in _BASE_FIELDS}

    @classmethod
    def _from_record(cls, record: dict[str, Any]) -> Change:
        return cls(target=record["target"], before=record.get("before"),
                   after=record.get("after"), **record.get("params", {}))

    # -- fixed behaviour ---------------------------------------------------------------------

    @property
    def symbol(self) -> str:
        return {"add": "+", "remove": "-"}.get(self.action, "~")

    def describe_parts(self) -> tuple[str, list[str], str, str]:
        return self.symbol, self.target.split("/"), self.summary(), self.via

    def describe(self) -> str:
        """One line: `~ data-science-nlp  bob  member → admin  (SCIM teamRoles)`."""
        symbol, parts, summary, via = self.describe_parts()
        line = "  ".join([f"{symbol} {parts[0]}", *parts[1:], summary])
        return f"{line}  ({via})" if via else line

    def to_record(self) -> dict[str, Any]:
        return {"kind": self.kind, "target": self.target, "before": self.before,
                "after": self.after, "via": self.via, "reversible": bool(self.reversible),
                "params": self.params()}

    @staticmethod
    def from_record(record: dict[str, Any]) -> Change:
        """Rebuild a change from `to_record()` output (or a journal entry's columns)."""
        impl = CHANGE_KINDS.get(record["kind"])
        if impl is None:
            raise UnknownChangeKind(f"no change kind {record['kind']!r} is registered")
        return impl._from_record(record)


@dataclass
class Plan:
    """Ordered changes shown to the user before anything is applied."""

    title: str = ""
    changes: list[Change] = field(default_factory=list)
    undo_of: int | None = None  # the journal entry this plan undoes, if it is an undo

    def add(self, change: Change) -> None:
        self.changes.append(change)

    def __len__(self) -> int:
        return len(self.changes)

    def __iter__(self) -> Iterator[Change]:
        return iter(self.changes)

    @property
    def is_empty(self) -> bool:
        return not self.changes

    @property
    def reversible_count(self) -> int:
        return sum(1 for c in self.changes if c.reversible)

    def summary(self) -> str:
        """"3 changes; undo possible for 3" (or "No changes")."""
        n = len(self.changes)
        if n == 0:
            return "No changes"
        noun = "change" if n == 1 else "changes"
        r = self.reversible_count
        undo = "undo not possible" if r == 0 else f"undo possible for {r}"
        return f"{n} {noun}; {undo}"

    def preview(self) -> list[str]:
        """One diff line per change, columns aligned across the plan (the confirm dialog)."""
        rows = [c.describe_parts() for c in self.changes]
        ncols = max((len(parts) for _, parts, _, _ in rows), default=0)
        widths = [max((len(parts[i]) for _, parts, _, _ in rows if i < len(parts)), default=0)
                  for i in range(ncols)]
        summary_w = max((len(s) for _, _, s, _ in rows), default=0)
        lines = []
        for symbol, parts, summary, via in rows:
            cells = [p.ljust(widths[i]) for i, p in enumerate(parts)]
            cells += [" " * widths[i] for i in range(len(parts), ncols)]
            line = f"{symbol} " + "  ".join([*cells, summary.ljust(summary_w)])
            line = f"{line}  ({via})" if via else line
            lines.append(line.rstrip())
        return lines

    async def replan(self, ctx: Any) -> Plan:
        """The changes still needed: those whose target does not yet show `after`. Empty after
        a successful apply."""
        remaining = [c for c in self.changes if not c.matches(await c.read_current(ctx), c.after)]
        return Plan(title=self.title, changes=remaining, undo_of=self.undo_of)


@dataclass
class Outcome:
    """The result of one change of an applied plan.

    status: 'applied' | 'failed' | 'skipped' (not attempted because an earlier change failed
    under stop_on_error). `verified` says whether the re-read showed `after` (None: unknown).
    """

    change: Change
    status: str
    entry_id: int | None
    result: str
    request_id: str | None = None
    verified: bool | None = None
    current: State = None

    @property
    def ok(self) -> bool:
        return self.status == "applied"

    def line(self) -> str:
        """"✓ <diff>" / "✗ <diff> — reason" / "⚠ <diff> — applied, but ..."."""
        text = self.change.describe()
        if self.status == "applied" and self.verified is not False:
            return f"✓ {text}"
        mark = "⚠" if self.status == "applied" else ("·" if self.status == "skipped" else "✗")
        return f"{mark} {text} — {self.result}"
