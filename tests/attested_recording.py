"""Every GraphQL document wbadmin sends during the test run, checked against the pinned wandb
SDK's documents at session end (issue 17, "only attested operations").

`wbadmin.core.client.Client.graphql` is wrapped for the whole session (the product code is
left as it is). Each distinct document is kept once: by its text first, then by its shape —
the fields it selects at each path with their argument names, aliases and variables ignored,
so `r0 … r39` batches of one selection count once. Each process appends what it records to
its own file in a directory the controller creates (passed to pytest-xdist's workers in
WBADMIN_ATTESTED_RECORDS, which they inherit), so the controller, at session end, checks the
union of what every worker sent; with `-n 0` the one process does both. A deviation that is
not a listed exception (`tests.attested_graphql.EXCEPTIONS`) fails the run, naming the test
that first sent it.

Not recorded: documents a test sends itself (the caller of `Client.graphql`, past the
client's own frames and `graphql` overrides, is a test module: helpers that create runs as
the SDK would, the client's error tests; a static wbadmin document a test sends directly is
checked by tests/core/test_attested_queries.py anyway); and `wbadmin` run as a subprocess
(some CLI tests), whose client lives in another interpreter.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from graphql import GraphQLError, parse

from tests.attested_graphql import EXCEPTIONS, deviations, fields_of
from wbadmin.core import client as client_module
from wbadmin.core.client import Client, operation_name

ENV = "WBADMIN_ATTESTED_RECORDS"
TESTS_DIR = os.path.realpath(Path(__file__).parent) + os.sep
CLIENT_FILE = os.path.realpath(client_module.__file__)


@functools.cache
def _real(filename: str) -> str:
    return os.path.realpath(filename)


def shape(document: str) -> str:
    """The document as the attestation compares it: (path, field, argument names), sorted."""
    try:
        doc = parse(document)
    except GraphQLError:
        return "unparsable: " + document
    return json.dumps(sorted({(path, name, tuple(sorted(args)))
                              for path, name, args in fields_of(doc, {})}))


def sent_by_a_test(depth: int = 2) -> bool:
    """Whether the caller of `Client.graphql` is test code, not wbadmin."""
    frame = sys._getframe(depth)
    while frame is not None:
        code = frame.f_code
        if _real(code.co_filename) != CLIENT_FILE and code.co_name != "graphql":
            return _real(code.co_filename).startswith(TESTS_DIR)
        frame = frame.f_back
    return False


class Recorder:
    """What this process sent, appended to `path` as JSON lines as it is first seen."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.texts: set[str] = set()
        self.shapes: set[str] = set()
        self.current_test = "(outside any test)"

    def add(self, document: str) -> None:
        if document in self.texts:
            return
        self.texts.add(document)
        key = shape(document)
        if key in self.shapes:
            return
        self.shapes.add(key)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(json.dumps({"shape": key, "document": document,
                                  "test": self.current_test}) + "\n")


def recorded(directory: Path) -> dict[str, dict[str, str]]:
    """{shape: the first record of it} over every process's file."""
    out: dict[str, dict[str, str]] = {}
    for path in sorted(directory.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                record = json.loads(line)
                out.setdefault(record["shape"], record)
    return out


def unattested(records: Mapping[str, Mapping[str, str]]) -> dict[str, tuple[str, str]]:
    """{deviation: (the test that first sent it, the document)} not listed in EXCEPTIONS."""
    found: dict[str, tuple[str, str]] = {}
    for record in records.values():
        document = record["document"]
        try:
            found_here = deviations(document)
        except GraphQLError as exc:
            found_here = [f"unparsable document ({exc.message})"]
        for deviation in found_here:
            if deviation not in EXCEPTIONS:
                found.setdefault(deviation, (record["test"], document))
    return found


class RecordingPlugin:
    """Wraps Client.graphql for the session; the controller checks what was recorded."""

    def __init__(self, config: pytest.Config) -> None:
        self.is_worker = hasattr(config, "workerinput")
        if not self.is_worker:  # the controller, or the only process with -n 0
            os.environ[ENV] = tempfile.mkdtemp(prefix="wbadmin-attested-")
        self.directory = Path(os.environ[ENV])
        worker = getattr(config, "workerinput", {}).get("workerid", "main")
        self.recorder = Recorder(self.directory / f"{worker}-{os.getpid()}.jsonl")
        self.failures: dict[str, tuple[str, str]] = {}
        self.checked = 0
        self._original = Client.graphql
        recorder, original = self.recorder, self._original

        async def graphql(self: Client, query: str,
                          variables: Mapping[str, Any] | None = None) -> dict:
            if not sent_by_a_test():
                recorder.add(query)
            return await original(self, query, variables)

        Client.graphql = graphql  # type: ignore[method-assign]

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Iterator[None]:
        self.recorder.current_test = item.nodeid
        try:
            return (yield)
        finally:
            self.recorder.current_test = "(outside any test)"

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        Client.graphql = self._original  # type: ignore[method-assign]
        if self.is_worker:
            return
        records = recorded(self.directory)
        shutil.rmtree(self.directory, ignore_errors=True)
        self.checked = len(records)
        self.failures = unattested(records)
        if self.failures and session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.is_worker or not self.checked:
            return
        if not self.failures:
            terminalreporter.write_line(
                f"attested GraphQL: {self.checked} distinct documents sent, all attested by "
                "the pinned wandb SDK or listed exceptions")
            return
        terminalreporter.section("GraphQL the pinned wandb SDK never sends", red=True)
        for deviation, (test, document) in sorted(self.failures.items()):
            terminalreporter.write_line(f"{deviation}  — first sent by {test}")
            body = " ".join(document[document.find("{"):].split())  # past the variables
            terminalreporter.write_line(f"    {operation_name(document)} {body[:240]}")
        terminalreporter.write_line(
            f"{len(self.failures)} unattested: make them what the SDK sends, or list each in "
            "tests/attested_graphql.py's EXCEPTIONS with a reason")
