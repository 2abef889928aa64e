"""`wbadmin doctor`: check the configured server before trusting wbadmin with it."""

from __future__ import annotations

import argparse

from .common import add_command, open_session, run_online
from .errors import AUTH, BAD_DATA, FINDINGS, UNAVAILABLE, USAGE
from .output import emit_json, emit_table

DESCRIPTION = """\
Check the configured W&B server and this key, reading only: reachability and round trip,
the deployment, serverInfo features, who the key is, SCIM, the audit-log API, and every
GraphQL type, field, argument and input field wbadmin uses (asked with `__type`, as W&B's own
client probes servers). Then each feature of wbadmin: ready, degraded (what is missing) or
unavailable, with what the server lacks kept apart from what your role may not do."""


def register(sub: argparse._SubParsersAction) -> None:
    add_command(sub, "doctor", cmd_doctor, help="check the server and key wbadmin talks to",
                description=DESCRIPTION, codes=(FINDINGS, USAGE, AUTH, UNAVAILABLE, BAD_DATA))


def cmd_doctor(args: argparse.Namespace) -> int:
    from ..core.doctor import diagnose
    from .auth_cmd import identify_with_role

    session = open_session(args)

    async def work(session):
        me = await identify_with_role(session)
        return await diagnose(session.client, me, deployment=session.mode)

    report = run_online(session, work)
    if args.json:
        emit_json(report.to_json())
    else:
        _print(report)
    return FINDINGS if report.server_lacks_something else 0


def _print(report) -> None:
    who = report.identity
    role = f"org {who['org_role']}" if who["org_role"] else "org role unknown (SCIM)"
    print(f"server     {report.base_url} ({report.deployment}), "
          f"round trip {report.round_trip_ms:.0f} ms")
    print(f"key        {who['username']} @ {who['org'] or '?'} ({role})")
    if report.server_features is None:
        print(f"features   {report.server_features_note}")
    else:
        on = sum(report.server_features.values())
        print(f"features   serverInfo: {on} of {len(report.server_features)} enabled")
    print(f"SCIM       {report.scim}")
    print(f"audit log  {report.audit_log}")
    schema = report.schema
    if schema["refused"]:
        print(f"schema     {schema['refused']}")
    else:
        lacking = len(schema["missing"])
        print(f"schema     {schema['checked']} fields, arguments and input fields of "
              f"{schema['types']} types checked: "
              + ("all present" if not lacking else f"{lacking} missing"))
    print()
    rows = []
    for feature in report.features:
        notes = [f"server: {n}" for n in feature.server_lacks] + \
            [f"your role: {n}" for n in feature.role_limits]
        rows.append((feature.name, feature.state, notes[0] if notes else ""))
        rows += [("", "", note) for note in notes[1:]]
    emit_table(rows, ["feature", "state", "why"])
    print(f"\n{report.requests} requests, nothing written")
