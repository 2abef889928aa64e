"""GPU counts of runs W&B sent no `system.*` samples for, from their wandb-metadata.json
(`gpu_count`, or the length of its GPU lists)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import httpx

from ..client import Client
from . import wire
from .store import RunFact


async def fill_gpus(client: Client, all_runs: list[RunFact], wanted: Callable[[RunFact], bool],
                    project_batch: int) -> tuple[list[RunFact], int, int]:
    """`all_runs` with those `wanted` filled in from their metadata files; also how many
    files were read and how many of those runs are still without GPU facts."""
    at = [i for i, r in enumerate(all_runs) if wanted(r)]
    runs = [all_runs[i] for i in at]
    if not runs:
        return all_runs, 0, 0
    urls: dict[int, str] = {}

    async def batch(chunk: list[int]) -> None:
        doc, variables = wire.batched(
            "WbadminQuotaRunFiles", "project", wire.FILES_SELECTION,
            [{"name": runs[k].project, "entityName": runs[k].team, "RUN": runs[k].name}
             for k in chunk],
            {"name": "String!", "entityName": "String!"}, {"RUN": "String!"})
        data = await client.graphql(doc, variables)
        for i, k in enumerate(chunk):
            files = (((data.get(f"r{i}") or {}).get("run") or {}).get("files") or {})
            for edge in files.get("edges") or []:
                if (edge.get("node") or {}).get("url"):
                    urls[k] = edge["node"]["url"]

    await client.batch_sizes.run_all("quota.files", list(range(len(runs))), project_batch,
                                     batch)
    metas = await asyncio.gather(*(_metadata(client, u) for u in urls.values()))
    for index, meta in zip(urls, metas, strict=True):
        gpus = wire.gpus_from_metadata(meta)
        if gpus is not None:
            runs[index] = runs[index].with_gpus(gpus, True)
    out = list(all_runs)
    for i, run in zip(at, runs, strict=True):
        out[i] = run
    return out, len(urls), sum(1 for r in runs if not r.gpu_known)


async def _metadata(client: Client, url: str) -> Any:
    """A run file's JSON. Our API key goes only to the W&B host itself (file URLs on other
    hosts are pre-signed and must not receive it)."""
    try:
        base = urlsplit(client.base_url)
        target = urlsplit(url)
        if (target.scheme, target.netloc) == (base.scheme, base.netloc):
            response = await client.get_raw(target.path, auth="graphql", api="files")
        else:
            async with httpx.AsyncClient(timeout=30) as http:
                response = await http.get(url)
                response.raise_for_status()
        return response.json()
    except Exception:  # an unreadable file is "no metadata", reported as such
        return None
