"""GPU facts as W&B exposes them, read through the real `wandb` SDK: `run.system_metrics`
(the latest `system.*` samples, one `system.gpu.<i>.*` group per GPU) and `run.metadata`
(`gpu_count` in wandb-metadata.json); runs logged with stats off have neither samples nor,
sometimes, GPU facts."""

from __future__ import annotations

import json
import re

import pytest

pytestmark = pytest.mark.sdk


def _path(db, row) -> str:
    names = db.one("SELECT p.name AS project, e.name AS team FROM projects p JOIN entities e "
                   "ON e.id = p.entity_id WHERE p.id = ?", (row["project_id"],))
    return f"{names['team']}/{names['project']}/{row['name']}"


def _gpu_indices(metrics: dict) -> set[str]:
    return {m.group(1) for k in metrics if (m := re.match(r"system\.gpu\.(\d+)\.", k))}


def test_system_metrics_and_metadata_show_the_gpus(sdk, sandbox_db) -> None:
    api = sdk("alice")
    rows = sandbox_db.query(
        "SELECT * FROM runs r WHERE NOT EXISTS (SELECT 1 FROM run_files f WHERE f.run_id = r.id)"
        " AND r.gpu_count IN (0, 1, 8) GROUP BY r.gpu_count ORDER BY r.gpu_count")
    assert [r["gpu_count"] for r in rows] == [0, 1, 8]
    for row in rows:
        run = api.run(_path(sandbox_db, row))
        metrics = run.system_metrics
        assert len(_gpu_indices(metrics)) == row["gpu_count"]
        assert "system.cpu" in metrics and "system.memory" in metrics
        if row["gpu_count"]:
            assert 0 <= metrics["system.gpu.0.gpu"] <= 100
        meta = run.metadata
        assert meta["gpu_count"] == row["gpu_count"]
        assert meta.get("gpu") == row["gpu_type"]


def test_runs_logged_with_stats_off(sdk, sandbox_db) -> None:
    api = sdk("alice")
    stored = sandbox_db.query("SELECT r.*, f.content FROM run_files f JOIN runs r "
                              "ON r.id = f.run_id ORDER BY r.id")
    with_gpus = next(r for r in stored if "gpu_count" in json.loads(r["content"]))
    without = next(r for r in stored if "gpu_count" not in json.loads(r["content"]))
    run = api.run(_path(sandbox_db, with_gpus))
    assert run.system_metrics == {}
    assert run.metadata["gpu_count"] == with_gpus["gpu_count"]
    run = api.run(_path(sandbox_db, without))
    assert run.system_metrics == {}
    assert "gpu_count" not in run.metadata and run.metadata["python"]
