"""The production-map findings (see findings.py for what a Finding promises), over
promotions/ownership.py's map of the protected aliases.

Registries are judged as far as this identity's cache holds them (a registry it cannot read is
not listed to it). The producing runs are read by `wbadmin ownership`; until then the finding
that needs them is hidden, never "none". A responsible team without an admin is the
`teams-without-admin` finding's: it is named in that finding's note, not found twice here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from ..changes import Plan
from ..promotions.ownership import Holding, holdings
from ..promotions.policy import Policy, PolicyError, load_policy

if TYPE_CHECKING:
    from .findings import Finding, _Triage

def _no_fix(title: str) -> Callable[[], Plan]:
    return lambda: Plan(title=f"{title}: no automatic fix")


class OwnershipFindings:
    """Mixed into findings._Triage (which gives `s`, `cache`, `knows_people`)."""

    policy: Policy | None = None
    _map: list[Holding] | None = None
    _policy_problem: str = ""

    @property
    def held(self: _Triage) -> list[Holding]:
        if self._map is None:
            policy = self.policy
            if policy is None:
                try:
                    policy = load_policy()
                except PolicyError as exc:
                    self._policy_problem = str(exc)
                    self._map = []
                    return self._map
            self._map = [h for h in holdings(self.cache, policy) if h.version]
        return self._map

    def _who(self: _Triage) -> str:
        return self.s.actor or "this identity"

    def _registry_scope(self: _Triage) -> str:
        return "" if self.knows_people else "judged over the registries you can see"

    def _policy_hidden(self: _Triage, finding_id: str, title: str, severity: str
                       ) -> Finding | None:
        from .findings import Finding

        if self.held is not None and self._policy_problem:
            return Finding(finding_id, title, severity, [], make_fix=_no_fix(title),
                           hidden=f"not judged: the promotion policy (which names the "
                                  f"protected aliases) is unreadable: {self._policy_problem}")
        return None

    def alias_outside_workflow(self: _Triage) -> Finding:
        from .findings import Finding

        title = "Protected aliases held without an approval record"
        if hidden := self._policy_hidden("protected-alias-outside-workflow", title, "high"):
            return hidden
        found = [h for h in self.held if h.outside_workflow]
        return Finding(
            "protected-alias-outside-workflow", title, "high",
            [f"{h.ref} is {h.version}: no approved promotion record" + (
                f" ({h.record_problem})" if h.record_problem else "") for h in found],
            teams=sorted({h.team for h in found if h.team}), note=self._registry_scope(),
            fix_note="moved outside the workflow (the SDK or the UI): request the version "
                     "through `wbadmin promote request`, or roll the alias back "
                     "(`wbadmin promote rollback`)" if found else "",
            make_fix=_no_fix(title))

    def production_untraceable(self: _Triage) -> Finding:
        from .findings import Finding

        title = "Production versions with no traceable run"
        fid = "production-version-untraceable"
        if hidden := self._policy_hidden(fid, title, "medium"):
            return hidden
        prod = [h for h in self.held if h.alias == "production"]
        if prod and all(h.traceable is None for h in prod):
            return Finding(fid, title, "medium", [], make_fix=_no_fix(title),
                           hidden=f"not visible to {self._who()} yet: it needs the runs that "
                                  "produced them (not read yet: `wbadmin ownership` reads them)")
        found = [h for h in prod if h.traceable is False]
        unread = sum(1 for h in prod if h.traceable is None)
        notes = [self._registry_scope()] if self._registry_scope() else []
        if unread:
            notes.insert(0, f"{unread} production version(s) whose run is not read yet "
                            "(`wbadmin ownership` reads them)")
        return Finding(fid, title, "medium",
                       [f"{h.ref} is {h.version}: W&B names no run that produced it"
                        for h in found], note="; ".join(notes), unknown=unread,
                       fix_note="find who made it and log it from a run (`run.log_artifact`), "
                                "then promote that version" if found else "",
                       make_fix=_no_fix(title))

    def requester_gone(self: _Triage) -> Finding:
        from .findings import Finding

        title = "Promotion requesters who left the team or were deactivated"
        fid = "promotion-requester-gone"
        if hidden := self._policy_hidden(fid, title, "medium"):
            return hidden
        if not self.knows_people:
            return Finding(fid, title, "medium", [], make_fix=_no_fix(title),
                           hidden=f"not visible to {self._who()}: it needs who is deactivated "
                                  "and every responsible team's members, which W&B shows to "
                                  "org admins only (SCIM)")
        active = {r[0]: r[1] for r in self.rows("SELECT username, active FROM users")}
        members = {(r[0], r[1]) for r in self.rows("SELECT team, username FROM team_members")}
        items, people = [], set()
        for h in self.held:
            if h.record is None:
                continue
            who = h.requested_by
            if active.get(who) == 0:
                items.append(f"{h.ref} ({h.version}): requested by {who}, deactivated")
            elif h.team and (h.team, who) not in members:
                items.append(f"{h.ref} ({h.version}): requested by {who}, no longer in "
                             f"{h.team}")
            else:
                continue
            people.add(who)
        unread = sum(1 for h in self.held if h.record is not None and h.traceable is None)
        return Finding(fid, title, "medium", items, people=sorted(people), unknown=unread,
                       note=f"{unread} version(s) whose team is not read yet: only "
                            "deactivation judged (`wbadmin ownership` reads them)"
                       if unread else "",
                       fix_note="name a new owner in the team for these versions" if items
                       else "", make_fix=_no_fix(title))

    def responsible_without_admin(self: _Triage, teams: list[str]) -> str:
        """The note `teams-without-admin` adds: which admin-less teams own protected
        versions."""
        owned = sorted({f"{h.team} ({h.ref})" for h in self.held if h.team in teams})
        return ("responsible for protected versions (see `wbadmin ownership`): "
                + ", ".join(owned)) if owned else ""
