"""`wbadmin report ACTION`: reports built from report templates (see `wbadmin report render
--help`). Each action is a module of its own that registers itself here, so `publish` and
`list` join the group without touching `render`."""

from __future__ import annotations

import argparse

from . import report_list_cmd, report_publish_cmd, report_render_cmd

# Each module has `register(actions)`, adding its subcommand to the `report` group.
ACTIONS = (report_render_cmd, report_publish_cmd, report_list_cmd)


def register(sub: argparse._SubParsersAction) -> None:
    report = sub.add_parser("report", help="stakeholder reports from report templates",
                            description="Reports for every audience from report templates "
                                        "(shipped: research, engineering, product, governance; "
                                        "yours in ~/.config/wbadmin/reports/NAME.toml).")
    actions = report.add_subparsers(dest="report_command", metavar="ACTION", required=True)
    for module in ACTIONS:
        module.register(actions)
