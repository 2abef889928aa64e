"""The Access screen's service-account view (`v`): its table rows and its detail pane.

Everything comes from `service_accounts.inventory` (the cache only), as `wbadmin sa list |
show` shows it: a time W&B did not tell is "unknown", keys the viewer cannot see are "not
visible" — never a guess — and a key is named by its id and description, never its value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.text import Text

from ..core import humanize
from ..core.access.service_accounts import Inventory, ServiceAccount

if TYPE_CHECKING:
    from ..core.access.findings import Finding

# "key made": when its newest key was made; short labels, so that a team name fits at 120
# columns (the table gives the widest column way first).
COLUMNS = ("name", "team", "scope", "keys", "key made", "active")
SEVERITY_STYLE = {"high": "bold red", "medium": "yellow", "low": "cyan"}
FILTER_HINT = "filter service accounts by name, team or description…"
# The Access keys that act on people only: refused, in one line, in this view.
PEOPLE_ONLY = {"team_role": "team role (e)", "add_to_team": "add to team (a)",
               "remove_from_team": "remove (x)", "org_role": "org role (g)",
               "toggle_active": "(de)activate (d)", "mark": "marks (space)",
               "load_csv": "load CSV (L)", "sort": "sort (s)"}


def matching(inventory: Inventory, text: str) -> list[ServiceAccount]:
    """The accounts whose name, team or description holds `text` (any case)."""
    needle = text.strip().lower()
    if not needle:
        return list(inventory.accounts)
    return [a for a in inventory.accounts
            if needle in a.username.lower() or needle in (a.description or "").lower()
            or any(needle in team.lower() for team in a.teams)]


def when(ts: float | None, now: float) -> str:
    return "unknown" if ts is None else humanize.ago(ts, now)


def keys_text(account: ServiceAccount) -> str:
    return "not visible" if account.keys is None else str(len(account.keys))


def row(account: ServiceAccount, now: float) -> tuple[Text | str, ...]:
    team = account.team or "—"
    if len(account.teams) > 1:
        team += f" +{len(account.teams) - 1}"
    keys = Text(keys_text(account), style="dim" if account.keys is None else "")
    return (Text(account.username), team, account.scope, keys,
            when(account.last_key_at, now), when(account.last_activity_at, now))


def empty_text(inventory: Inventory, filtered: bool) -> Text:
    if filtered and inventory.accounts:
        return Text("No service account matches.", style="dim")
    text = Text("No service account is visible to you: W&B shows them to org admins and "
                "to the members of their team.", style="yellow")
    if inventory.note:
        text.append(f"\n{inventory.note}", style="dim")
    return text


def detail(account: ServiceAccount, inventory: Inventory, found: list[Finding],
           now: float) -> Text:
    """The account in full: what `wbadmin sa show` prints, and the findings naming it."""
    text = Text()
    text.append(account.username, style="bold")
    text.append("  service account\n", style="dim")
    if account.description:
        text.append(f"{account.description}\n")
    teams = ", ".join(f"{team} ({role})" for team, role in sorted(account.teams.items()))
    text.append(f"team: {teams or 'none you can read'}\n")
    text.append(f"scope: {account.scope}")
    text.append(f" ← {account.scope_why}\n", style="dim")
    naming = [f for f in found if account.username in f.people]
    text.append("findings naming it\n" if naming else "no finding names it\n", style="dim")
    for f in naming:
        text.append(f"  ● {f.severity} ", style=SEVERITY_STYLE.get(f.severity, ""))
        text.append(f"{f.title}\n")
        said = f"{account.username}: "
        for item in f.items:  # what the finding says of this account
            if item.startswith(said):
                text.append(f"    {item[len(said):]}\n", style="dim")
    if account.keys is None:
        text.append("keys: not visible to you (W&B lists keys to org admins only)\n",
                    style="dim")
    else:
        text.append(f"keys: {len(account.keys)} (ids only, never a value)\n")
        for key in account.keys:
            text.append(f"  {key.id}  {key.description or ''}".rstrip() + "\n")
    text.append(f"last key made: {when(account.last_key_at, now)}\n")
    text.append(f"last activity: {when(account.last_activity_at, now)}")
    text.append(f" (audit log {when(account.last_event_at, now)}, runs "
                f"{when(account.last_run_at, now)})\n", style="dim")
    text.append(f"logged runs in: {', '.join(account.run_teams) or 'no team seen'}\n")
    # What it reaches last: the longest part (a team's every project), in a pane of its size.
    text.append("reaches\n", style="dim")
    for line in account.reach or ["nothing you can read"]:
        text.append(f"  {line}\n")
    if inventory.note:
        text.append(f"{inventory.note}\n", style="dim italic")
    return text
