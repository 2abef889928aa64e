"""`wbadmin sandbox serve | keys | reset`: the W&B-compatible sandbox on loopback."""

from __future__ import annotations

import argparse
from pathlib import Path

from .errors import BAD_DATA, CliError
from .output import emit_json, emit_table


def register(sub: argparse._SubParsersAction) -> None:
    sandbox = sub.add_parser("sandbox", help="run the W&B-compatible sandbox server",
                             description="A local server that speaks W&B's GraphQL and SCIM.")
    ssub = sandbox.add_subparsers(dest="sandbox_command", required=True, metavar="COMMAND")

    serve = ssub.add_parser("serve", help="serve the sandbox on 127.0.0.1")
    serve.add_argument("--port", type=int, default=8765, help="TCP port (0: any free port)")
    _db_args(serve)
    faults = serve.add_argument_group("fault injection (also WBADMIN_SANDBOX_* variables)")
    faults.add_argument("--latency-ms", type=float, help="latency added to every request")
    faults.add_argument("--jitter-ms", type=float, help="plus a uniform random 0..jitter")
    faults.add_argument("--error-rate", type=float, help="share of requests answered 503")
    faults.add_argument("--rate-limit-rate", type=float, help="share answered 429")
    faults.add_argument("--retry-after", type=float, dest="retry_after_s",
                        help="Retry-After seconds on 429 answers")
    faults.add_argument("--drop-rate", type=float, help="share of connections dropped")
    faults.add_argument("--scim-page-cap", type=int, metavar="N",
                        help="at most N resources per SCIM list page (W&B: 9999)")
    faults.add_argument("--scim-ignore-start-index", action="store_true", default=None,
                        help="answer every SCIM list page from the first resource")
    serve.set_defaults(handler=cmd_serve)

    older = serve.add_argument_group("play an older or stricter W&B")
    older.add_argument("--without", action="append", default=[], metavar="TYPE.FIELD",
                       help="a field (Type.field) or argument (Type.field(arg)) the server "
                            "does not have (repeatable)")
    older.add_argument("--no-introspection", action="store_true",
                       help="refuse __type and __schema, as servers that turn it off do")
    older.add_argument("--max-root-fields", type=int, metavar="N",
                       help="refuse a request with more than N root fields (a cost limit)")
    older.add_argument("--max-nodes", type=int, metavar="N",
                       help="refuse a request asking more than N nodes (each connection's "
                            "first: times its parent's, as query-cost gateways count)")
    older.add_argument("--over-cap-answer", choices=["error", "timeout"], default="error",
                       help="how a request over a cap is answered: a GraphQL complexity "
                            "error (HTTP 400) or a gateway timeout (HTTP 504, HTML)")
    older.add_argument("--no-scim", action="store_true",
                       help="no SCIM API (404 under /scim), as a server without it")
    keys = ssub.add_parser("keys", help="print the demo identities with their roles and keys")
    _db_args(keys)
    keys.add_argument("--json", action="store_true", help="JSON output")
    keys.set_defaults(handler=cmd_keys)

    reset = ssub.add_parser("reset", help="delete the sandbox state and seed it again")
    _db_args(reset)
    reset.set_defaults(handler=cmd_reset)


def _db_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", type=Path, help="SQLite file (default: in the user data dir)")
    parser.add_argument("--preset", default="demo", choices=["demo", "large", "huge"],
                        help="what to seed an empty database with")
    parser.add_argument("--seed", type=int, default=0, help="seed integer (deterministic)")
    parser.add_argument("--deployment", default="dedicated",
                        choices=["dedicated", "multi_tenant"],
                        help="which W&B deployment's SCIM behaviour to mimic")


def _open(args: argparse.Namespace):
    from ..sandbox.store import PresetMismatch, default_db_path, open_seeded

    path = args.db or default_db_path()
    try:
        return open_seeded(path, args.preset, seed=args.seed, deployment=args.deployment), path
    except PresetMismatch as exc:
        raise CliError(str(exc), BAD_DATA) from None
    except Exception as exc:  # sqlite3.DatabaseError and friends: a file that is not ours
        raise CliError(f"cannot open the sandbox database {path}: {exc}; "
                       f"run `wbadmin sandbox reset --db {path}`", BAD_DATA) from None


def cmd_serve(args: argparse.Namespace) -> int:
    from ..sandbox.faults import Faults
    from ..sandbox.server import SandboxServer

    try:
        faults = Faults.from_env()
        changes = {name: getattr(args, name) for name in
                   ("latency_ms", "jitter_ms", "error_rate", "rate_limit_rate",
                    "retry_after_s", "drop_rate", "scim_page_cap", "scim_ignore_start_index")
                   if getattr(args, name) is not None}
        faults.update(**changes)
    except ValueError as exc:
        raise CliError(f"bad fault setting: {exc}") from None
    from ..sandbox.server_variant import ServerVariant

    try:
        variant = ServerVariant.of(args.without, introspection=not args.no_introspection,
                                   max_root_fields=args.max_root_fields,
                                   max_nodes=args.max_nodes,
                                   over_cap_answer=args.over_cap_answer,
                                   scim=not args.no_scim)
    except ValueError as exc:
        raise CliError(f"bad --without/--max-root-fields/--max-nodes: {exc}") from None
    db, path = _open(args)
    try:
        server = SandboxServer(db, port=args.port, faults=faults, variant=variant)
    except OSError as exc:
        raise CliError(f"cannot listen on 127.0.0.1:{args.port}: {exc.strerror}") from None
    print(f"wbadmin sandbox: org {db.scalar('SELECT name FROM orgs')} "
          f"({db.get_meta('preset')} preset) at {server.base_url}")
    print(f"  state:  {path}")
    print(f"  use it: export WANDB_BASE_URL={server.base_url}")
    print("  keys:   wbadmin sandbox keys" + (f" --db {args.db}" if args.db else ""))
    print("  stop:   ctrl+c")
    try:
        server.serve_forever()
    finally:
        db.close()
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    from ..sandbox.identities import demo_identities

    db, _ = _open(args)
    try:
        people = demo_identities(db)
    finally:
        db.close()
    if args.json:
        emit_json(people)
        return 0
    rows = []
    for p in people:
        teams = " ".join(f"{t}:{r}" for t, r in p["teams"].items())
        regs = " ".join(f"{t}:{r}" for t, r in p["registries"].items())
        rows.append([p["username"], p["kind"], p["org_role"] or "-", teams, regs or "-",
                     p["api_key"]])
    emit_table(rows, ["identity", "kind", "org role", "teams", "registries", "api key"])
    return 0


def cmd_reset(args: argparse.Namespace) -> int:
    from ..sandbox.store import default_db_path, reset

    path = args.db or default_db_path()
    db = reset(path, args.preset, seed=args.seed, deployment=args.deployment)
    users = db.scalar("SELECT COUNT(*) FROM users")
    db.close()
    print(f"sandbox reset: {path} now holds the {args.preset} preset ({users} users)")
    return 0
