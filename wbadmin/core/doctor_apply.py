"""What the smallest real reads mean for each feature of wbadmin, and how doctor says it.

A read refused as a validation error names what the server lacks; a read refused for
permission is a limit of the key's role, not of the server; a read that ran verifies every
field and argument of its document. With introspection refused a feature is:
- unavailable when the server refused every one of its reads,
- degraded when it refused some,
- ready when it refused none — its writes (mutations) listed as not checked, since a
  mutation cannot be read-tested: "ready" says everything checkable was checked.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Any

from .doctor_readcheck import ReadCheck
from .doctor_reads import BEHAVIOUR, ROUND_1, ROUND_2
from .wire_documents import feature_of

if TYPE_CHECKING:
    from .doctor import Feature

WRITES_NOTE = "writes (mutations) cannot be checked without introspection"


def _add(notes: list[str], note: str) -> None:
    if note not in notes:
        notes.append(note)


def apply_reads(reads: ReadCheck, features: dict[str, Feature], *, everything: bool,
                team_read: bool) -> None:
    """`everything`: introspection was refused, so these reads are all doctor knows."""
    failed: set[str] = set(reads.refused)
    for missing, where in sorted(reads.missing.items()):
        failed |= where
        for name in sorted({feature_of(w) for w in where}):
            _add(features[name].server_lacks, f"the server has no {missing}")
    for where, message in sorted(reads.refused.items()):
        _add(features[feature_of(where)].server_lacks,
             f"the server refused {reads.operations.get(where, where)}: {message}")
    for where, message in sorted(reads.role_limits.items()):
        if where not in failed:
            operation = reads.operations.get(where, where)
            _add(features[feature_of(where)].role_limits, f"{operation} is refused: {message}")
    if not team_read:
        _add(features["Quotas"].unverified, "Entity.projects(filters:) on a team entity not "
             "checked: this key reads no team")
    if not everything:
        return
    tried = Counter(feature_of(w) for w in {**ROUND_1, **BEHAVIOUR, **ROUND_2})
    refused = Counter(feature_of(w) for w in failed)
    for name, count in tried.items():
        if refused[name] == count:
            features[name].state = "unavailable"
    for name, count in _mutations().items():
        features[name].writes_unchecked = count


def _mutations() -> Counter[str]:
    """Documents doctor does not send, per feature: the writes, and the reads of NOT_SENT."""
    from .doctor_reads import NOT_SENT
    from .wire_documents import all_documents

    return Counter(feature_of(where) for where, text in all_documents().items()
                   if text.lstrip().startswith("mutation") or where in NOT_SENT)


def reads_summary(reads: ReadCheck, *, everything: bool) -> dict[str, Any]:
    return {"why": "introspection refused: every read document, smallest arguments"
            if everything else "argument values __type cannot judge: "
            "Entity.projects(filters:, order:) on a team entity",
            "documents": reads.sent, "verified": len(reads.verified),
            "requests": reads.requests, "per_request": reads.per_request,
            "missing": {name: sorted(where) for name, where in sorted(reads.missing.items())},
            "refused": dict(sorted(reads.refused.items())),
            "role_limits": dict(sorted(reads.role_limits.items())),
            "writes_unchecked": sum(_mutations().values()) if everything else 0}


def reads_lines(summary: dict[str, Any]) -> list[str]:
    if not summary:
        return []
    refused = {w for where in summary["missing"].values() for w in where} | \
        set(summary["refused"])
    found = "all verified" if not refused else \
        f"{len(refused)} refused by the server" + \
        (f", which lacks {', '.join(summary['missing'])}" if summary["missing"] else "")
    if summary["writes_unchecked"]:
        return [f"reads      {summary['documents']} read documents of every feature sent with "
                f"the smallest arguments ({summary['requests']} requests): {found}",
                f"           {summary['writes_unchecked']} {WRITES_NOTE}; a feature whose "
                "every read is verified is ready"]
    return [f"reads      {summary['documents']} reads of Entity.projects(filters:) on a team "
            f"(its value, which __type cannot judge): {found}"]
