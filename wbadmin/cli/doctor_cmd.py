"""`wbadmin doctor`: check the configured server before trusting wbadmin with it."""

from __future__ import annotations

import argparse

from .common import add_command, open_session, run_online
from .errors import AUTH, BAD_DATA, FINDINGS, UNAVAILABLE, USAGE
from .output import emit_json

DESCRIPTION = """\
Check the configured W&B server and this key, reading only: reachability and round trip,
the deployment, serverInfo features, who the key is, SCIM, the audit-log API, and every
GraphQL type, field, argument and input field wbadmin uses (asked with `__type`, as W&B's own
client probes servers), and each feature's smallest real read (its own documents, `first: 1`,
one team, the org's entity, one registry) where `__type` cannot judge an argument's value
or introspection is refused. Then each feature of wbadmin: ready, degraded (what is missing)
or unavailable, with what the server lacks kept apart from what your role may not do. With
introspection refused, writes (mutations) cannot be checked: a feature whose every read
passes is ready, its writes listed as not checked."""


def register(sub: argparse._SubParsersAction) -> None:
    add_command(sub, "doctor", cmd_doctor, help="check the server and key wbadmin talks to",
                description=DESCRIPTION, codes=(FINDINGS, USAGE, AUTH, UNAVAILABLE, BAD_DATA))


def cmd_doctor(args: argparse.Namespace) -> int:
    from ..core.doctor import diagnose
    from ..core.server_facts import ServerFacts
    from .auth_cmd import identify_with_role

    session = open_session(args)

    async def work(session):
        me = await identify_with_role(session)
        report = await diagnose(session.client, me, deployment=session.mode)
        # What the server has is now known: the next command need not probe it again.
        previous = ServerFacts.load(session.server_cache(), session.server)
        session.remember_facts(ServerFacts.from_diagnosis(report, session.server,
                                                          session.clock(), previous))
        return report

    report = run_online(session, work)
    if args.json:
        emit_json(report.to_json())
    else:
        print("\n".join(report.lines()))
    return FINDINGS if report.server_lacks_something else 0
