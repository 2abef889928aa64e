"""The service-account findings (see findings.py for what a Finding promises).

They judge `service_accounts.inventory`: keys and the audit log are W&B's org admins' only,
so a finding that needs them is hidden from anyone else (and from an org admin whose cache
has not read them yet), never "none". Team roles are judged over the teams the viewer can
read, as findings.py's team findings are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..changes import Plan
from ..changes_team import RemoveFromTeam, SetTeamRole
from .changes_registry import SetRegistryRole
from .service_accounts import Inventory, ServiceAccount, inventory

if TYPE_CHECKING:
    from .findings import Finding, _Triage

DAY = 86_400.0


def _plan(title: str, changes: list) -> Callable[[], Plan]:
    return lambda: Plan(title=title, changes=list(changes))


class ServiceAccountFindings:
    """Mixed into findings._Triage (which gives `s`, `cache`, `cfg`, `now`, `scope_note`)."""

    _inventory: Inventory | None = None

    @property
    def sa(self: _Triage) -> Inventory:
        if self._inventory is None:
            self._inventory = inventory(self.cache)
        return self._inventory

    def _hidden(self: _Triage, finding: Finding, needs: str) -> Finding | None:
        """`finding` emptied and hidden when this identity's cache lacks what it needs."""
        from .findings import Finding

        inv = self.sa
        lacking = (not inv.keys_readable) if needs == "keys" else inv.log_from is None
        if not lacking:
            return None
        what = "its keys" if needs == "keys" else "the audit log"
        why = inv.note if inv.read else "not read yet: `wbadmin sa list --refresh` reads it"
        return Finding(finding.id, finding.title, finding.severity, [],
                       make_fix=_plan(f"{finding.title}: nothing to fix", []),
                       hidden=f"not visible to {self.s.actor or 'this identity'}: it needs "
                              f"{what} ({why})")

    def sa_admins(self: _Triage) -> Finding:
        from .findings import Finding

        items, changes, people = [], [], set()
        for a in self.sa.accounts:
            for team, role in sorted(a.teams.items()):
                if role == "admin":
                    items.append(f"{a.username}: admin of team {team}")
                    changes.append(SetTeamRole.make(team, a.username, "member", role))
                    people.add(a.username)
            direct = {r[0]: r[1] for r in self.rows(
                "SELECT registry, role FROM registry_members WHERE kind = 'user' AND name = ?",
                (a.username,))}
            for registry, role in sorted(direct.items()):
                if role == "admin":
                    items.append(f"{a.username}: admin of registry {registry}")
                    changes.append(SetRegistryRole.make(registry, "user", a.username, "member",
                                                        role, self.s.org_entity))
                    people.add(a.username)
        return Finding("service-accounts-admin", "Service accounts with an admin role", "high",
                       items, people=sorted(people), note=self.scope_note(),
                       fix_note="make them members (an automation rarely needs to manage "
                                "members; check its jobs first)" if items else "",
                       make_fix=_plan("Service accounts to member", changes))

    def sa_idle(self: _Triage) -> Finding:
        from .findings import Finding

        days = self.cfg.service_account_idle_days
        title = f"Service accounts idle for {days} days"
        inv = self.sa
        empty = Finding("service-accounts-idle", title, "medium", [])
        if hidden := self._hidden(empty, "log"):
            return hidden
        read_days = (inv.log_until - inv.log_from) / DAY
        idle: list[tuple[ServiceAccount, str]] = []
        for a in inv.accounts:
            last = a.last_activity_at
            if last is None:
                # The whole window was read and it did nothing in it: idle at least that long.
                if read_days >= days:
                    idle.append((a, f"no run or audit event in the {round(read_days)} days "
                                    "of audit log read"))
            elif self.now - last > days * DAY:
                idle.append((a, f"last active {int((self.now - last) // DAY)} days ago"))
        changes = [RemoveFromTeam.make(team, a.username, role)
                   for a, _ in idle for team, role in sorted(a.teams.items())]
        return Finding("service-accounts-idle", title, "medium",
                       [f"{a.username}: {why}" for a, why in idle],
                       people=[a.username for a, _ in idle],
                       teams=sorted({t for a, _ in idle for t in a.teams}),
                       note="activity: its runs in the cache and its audit-log events",
                       fix_note="take them out of their teams (their keys then reach nothing "
                                "of the team; delete the keys in W&B)" if idle else "",
                       make_fix=_plan("Take idle service accounts out of their teams",
                                      changes))

    def _keyed(self: _Triage) -> list[ServiceAccount]:
        return [a for a in self.sa.accounts if a.keys]

    def sa_old_keys(self: _Triage) -> Finding:
        from .findings import Finding

        days = self.cfg.key_max_age_days
        title = f"Service-account keys older than {days} days"
        empty = Finding("service-account-keys-old", title, "medium", [])
        if hidden := self._hidden(empty, "keys") or self._hidden(empty, "log"):
            return hidden
        # The audit log dates an account's newest key only: every key it has is at least
        # that old.
        old = [a for a in self._keyed() if a.last_key_at is not None
               and self.now - a.last_key_at > days * DAY]
        unknown = sum(1 for a in self._keyed() if a.last_key_at is None)
        return Finding("service-account-keys-old", title, "medium",
                       [f"{a.username}: {len(a.keys or [])} key(s), the newest made "
                        f"{int((self.now - a.last_key_at) // DAY)} days ago" for a in old
                        if a.last_key_at is not None],
                       # Keys of unknown age are a finding of their own (below), not
                       # this one's unknowns: counting them twice would show "?" here too.
                       people=[a.username for a in old],
                       note=f"{unknown} account(s) whose keys' age the audit log does not say "
                            "are not judged here: see service-account-keys-unknown-age"
                       if unknown else "",
                       # A rotation hands a new key over (to you, a file, a secret store):
                       # something to choose, so no one-key fix.
                       fix_note="rotate them: `wbadmin sa rotate NAME` (or K on the account "
                                "in Access)" if old else "",
                       make_fix=_plan("Old service-account keys: no automatic fix", []))

    def sa_unknown_key_age(self: _Triage) -> Finding:
        from .findings import Finding

        title = "Service-account keys of unknown age"
        empty = Finding("service-account-keys-unknown-age", title, "low", [])
        if hidden := self._hidden(empty, "keys") or self._hidden(empty, "log"):
            return hidden
        undated = [a for a in self._keyed() if a.last_key_at is None]
        unlisted = sum(1 for a in self.sa.accounts if a.keys is None)  # keys not returned
        days = round((self.sa.log_until - self.sa.log_from) / DAY)  # type: ignore[operator]
        return Finding("service-account-keys-unknown-age", title, "low",
                       [f"{a.username}: {len(a.keys or [])} key(s), none made in the {days} "
                        "days of audit log read" for a in undated],
                       people=[a.username for a in undated], unknown=unlisted,
                       note=f"{unlisted} account(s) W&B's user listing did not return"
                       if unlisted else "",
                       fix_note="rotate them to know their age: `wbadmin sa rotate NAME` "
                                "(or K on the account in Access)" if undated else "",
                       make_fix=_plan("Keys of unknown age: no automatic fix", []))

    def sa_many_keys(self: _Triage) -> Finding:
        from .findings import Finding

        title = "Service accounts with more than one key"
        empty = Finding("service-accounts-many-keys", title, "medium", [])
        if hidden := self._hidden(empty, "keys"):
            return hidden
        # Outside a scheduled rotation, one key is enough: a key whose deletion this
        # machine's journal has scheduled (a rotation's grace period) does not count.
        leaving = self._scheduled_key_ids()
        many = [a for a in self._keyed()
                if len([k for k in a.keys or [] if k.id not in leaving]) > 1]
        rotating = sorted(a.username for a in self._keyed()
                          if any(k.id in leaving for k in a.keys or []))
        return Finding("service-accounts-many-keys", title, "medium",
                       [f"{a.username}: {len(a.keys or [])} keys" for a in many],
                       people=[a.username for a in many],
                       note=f"in a scheduled rotation, not counted: {', '.join(rotating)}"
                       if rotating else "",
                       fix_note="delete the keys no job uses: `wbadmin sa revoke NAME --key "
                                "ID` (which one is in use W&B does not say: no automatic fix)"
                       if many else "",
                       make_fix=_plan("Several keys: no automatic fix", []))

    def _scheduled_key_ids(self: _Triage) -> set[str]:
        if self.journal is None:
            return set()
        return {str(e.params.get("key_id")) for e in
                self.journal.query(kind="sa-key-delete", status="scheduled")}

    def sa_org_many_teams(self: _Triage) -> Finding:
        from .findings import Finding

        title = "Org-scoped service accounts logging runs in several teams"
        empty = Finding("org-service-accounts-many-teams", title, "medium", [])
        if hidden := self._hidden(empty, "log"):
            return hidden
        wide = [a for a in self.sa.accounts if len(a.run_teams) > 1]
        found = [a for a in wide if a.scope == "org"]
        unknown = sum(1 for a in wide if a.scope == "unknown")
        return Finding("org-service-accounts-many-teams", title, "medium",
                       [f"{a.username}: runs in {', '.join(a.run_teams)}" for a in found],
                       people=[a.username for a in found],
                       teams=sorted({t for a in found for t in a.run_teams}), unknown=unknown,
                       note=f"{unknown} account(s) logging runs in several teams whose scope "
                            "W&B does not say" if unknown else "",
                       fix_note="give each team a team-scoped account of its own: an "
                                "org-scoped key can also call SCIM (no automatic fix)"
                       if found else "",
                       make_fix=_plan("Org-scoped accounts in many teams: no automatic fix", []))
