"""Where the user is: a place in the org tree, with its breadcrumbs, path and W&B URL."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

REGISTRY_PREFIX = "wandb-registry-"


@dataclass(frozen=True)
class Location:
    kind: str  # org | team | project | registries | registry | collection | user
    team: str | None = None
    name: str | None = None  # project, registry, collection or user name
    registry: str | None = None  # for collections

    def crumbs(self, org: str | None) -> list[str]:
        head = [org or "organization"]
        if self.kind == "team":
            return [*head, self.team or ""]
        if self.kind == "project":
            return [*head, self.team or "", self.name or ""]
        if self.kind == "registries":
            return [*head, "registries"]
        if self.kind == "registry":
            return [*head, "registries", self.name or ""]
        if self.kind == "collection":
            return [*head, "registries", self.registry or "", self.name or ""]
        if self.kind == "user":
            return [*head, "people", self.name or ""]
        return head

    def path(self, org: str | None) -> str:
        """What `y` copies: the W&B path of the selection."""
        if self.kind == "team":
            return self.team or ""
        if self.kind == "project":
            return f"{self.team}/{self.name}"
        if self.kind == "registry":
            return f"{org}/{REGISTRY_PREFIX}{self.name}"
        if self.kind == "collection":
            return f"{org}/{REGISTRY_PREFIX}{self.registry}/{self.name}"
        if self.kind == "user":
            return self.name or ""
        return org or ""

    def url(self, app_url: str | None, org: str | None) -> str | None:
        """The W&B web page of the selection (registry URLs follow W&B's UI; unversioned)."""
        if not app_url:
            return None
        base = app_url.rstrip("/")
        if self.kind in ("team", "user"):
            return f"{base}/{quote(self.team or self.name or '')}"
        if self.kind == "project":
            return f"{base}/{quote(self.team or '')}/{quote(self.name or '')}"
        if self.kind in ("registries", "registry", "collection"):
            url = f"{base}/orgs/{quote(org or '')}/registry"
            if self.kind == "registry":
                url += f"/{quote(self.name or '')}"
            if self.kind == "collection":
                url += (f"/{quote(self.registry or '')}?selectionPath="
                        f"{quote(self.path(org), safe='')}")
            return url
        return f"{base}/orgs/{quote(org or '')}" if org else base

    def title(self) -> str:
        if self.kind == "org":
            return "organization"
        if self.kind == "registries":
            return "registries"
        label = self.name or self.team or ""
        return f"{label} · {self.kind}"
