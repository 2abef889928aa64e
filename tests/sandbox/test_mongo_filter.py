"""The Mongo-style filter compiler, run against a small SQLite table of runs."""

from __future__ import annotations

import json
import sqlite3

import pytest

from wbadmin.sandbox.gql.mongo_filter import (
    Column,
    FilterError,
    compile_filter,
    compile_order,
    install_functions,
)

FIELDS = {
    "state": Column("r.state"),
    "display_name": Column("r.display_name"),
    "created_at": Column("r.created_at", "time"),
    "tags": Column("r.tags", "list"),
    "config": Column("r.config", "json", strip_value=True),
    "summary_metrics": Column("r.summary", "json"),
}

ROWS = [
    # id, state, display_name, created_at, tags, config, summary
    (1, "finished", "alpha-1", 1_700_000_000, ["lora", "bf16"], {"lr": 0.001, "bs": 16},
     {"loss": 0.5, "acc": 0.9}),
    (2, "failed", "beta-2", 1_700_100_000, [], {"lr": 0.01, "bs": 32, "opt": {"name": "adam"}},
     {"loss": "NaN"}),
    (3, "running", "Alpha-3", 1_700_200_000, ["lora"], {"lr": 0.0001, "bs": 16, "flag": True},
     {"loss": 1.5, "acc": None}),
    (4, "crashed", "gamma-4", 1_700_300_000, ["prod"], {"lr": 0.001}, {}),
]


@pytest.fixture
def conn():
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE runs (id INTEGER PRIMARY KEY, state TEXT, display_name TEXT,"
               " created_at INTEGER, tags TEXT, config TEXT, summary TEXT)")
    db.executemany("INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?)",
                   [(i, s, d, c, json.dumps(t), json.dumps(cf), json.dumps(sm))
                    for i, s, d, c, t, cf, sm in ROWS])
    install_functions(db)
    yield db
    db.close()


def ids(conn, filters) -> list[int]:
    where, params = compile_filter(filters, FIELDS)
    return [r[0] for r in conn.execute(
        f"SELECT r.id FROM runs r WHERE {where} ORDER BY r.id", params)]


@pytest.mark.parametrize(("filters", "expected"), [
    ({}, [1, 2, 3, 4]),
    (None, [1, 2, 3, 4]),
    ("", [1, 2, 3, 4]),
    ('{"state": "finished"}', [1]),  # a JSON string, as the SDK sends it
    ({"state": {"$eq": "failed"}}, [2]),
    ({"state": {"$ne": "failed"}}, [1, 3, 4]),
    ({"state": {"$in": ["failed", "crashed"]}}, [2, 4]),
    ({"state": {"$nin": ["failed", "crashed"]}}, [1, 3]),
    ({"$or": [{"state": "failed"}, {"config.bs": 16}]}, [1, 2, 3]),
    ({"$and": [{"config.bs": 16}, {"state": "running"}]}, [3]),
    ({"$nor": [{"state": "failed"}, {"state": "running"}]}, [1, 4]),
    ({"$or": []}, []),
    ({"config.lr": 0.001}, [1, 4]),
    ({"config.lr.value": 0.001}, [1, 4]),  # W&B's wrapped spelling
    ({"config.lr": {"$gt": 0.0005, "$lte": 0.01}}, [1, 2, 4]),
    ({"config.opt.name": "adam"}, [2]),
    ({"config.flag": True}, [3]),
    ({"config.bs": {"$exists": False}}, [4]),
    ({"config.opt": {"$exists": True}}, [2]),
    ({"summary_metrics.acc": {"$exists": True}}, [1, 3]),  # present even when null
    ({"summary_metrics.loss": {"$lt": 1}}, [1]),
    ({"summary_metrics.loss": {"$gt": 1}}, [3]),  # "NaN" (a string) never compares to numbers
    ({"summary_metrics.loss": {"$not": {"$gt": 1}}}, [1, 2, 4]),  # $not matches missing too
    ({"$not": {"state": "finished"}}, [2, 3, 4]),
    ({"display_name": {"$regex": "^alpha"}}, [1]),
    ({"display_name": {"$regex": "^alpha", "$options": "i"}}, [1, 3]),
    ({"display_name": {"$not": {"$regex": "^alpha"}}}, [2, 3, 4]),
    ({"tags": "lora"}, [1, 3]),
    ({"tags": {"$in": ["prod", "bf16"]}}, [1, 4]),
    ({"tags": {"$nin": ["lora"]}}, [2, 4]),
    ({"tags": {"$ne": "lora"}}, [2, 4]),
    ({"tags": {"$regex": "^pr"}}, [4]),
    ({"tags": []}, [2]),
    ({"created_at": {"$gte": "2023-11-15T22:13:20"}}, [2, 3, 4]),  # ISO, UTC
    ({"created_at": {"$lt": "2023-11-15T22:13:20Z"}}, [1]),
    ({"created_at": {"$lt": 1_700_200_000}}, [1, 2]),
])
def test_filters(conn, filters, expected):
    assert ids(conn, filters) == expected


@pytest.mark.parametrize("filters", [
    {"nope": 1},
    {"state": {"$bogus": 1}},
    {"$and": {"state": "x"}},
    {"state": {"$in": "finished"}},
    {"display_name": {"$regex": "("}},
    "not json",
    "[1, 2]",
    {"created_at": {"$gt": "yesterday"}},
])
def test_invalid_filters_raise(filters):
    with pytest.raises(FilterError, match="invalid filters"):
        compile_filter(filters, FIELDS)


def test_values_are_parameters_not_sql(conn):
    evil = "x' OR '1'='1"
    assert ids(conn, {"state": evil}) == []
    assert ids(conn, {"config.a\"b": 1}) == []


@pytest.mark.parametrize(("order", "expected"), [
    ("+created_at", [1, 2, 3, 4]),
    ("-created_at", [4, 3, 2, 1]),
    ("summary_metrics.acc", [1, 2, 3, 4]),  # missing and null last, ties by id
    ("-config.lr.value", [2, 4, 1, 3]),
    (None, [1, 2, 3, 4]),
])
def test_order(conn, order, expected):
    sql, params = compile_order(order, FIELDS, "+created_at", "r.id")
    got = [r[0] for r in conn.execute(f"SELECT r.id FROM runs r ORDER BY {sql}", params)]
    assert got == expected


def test_order_by_unknown_field_raises():
    with pytest.raises(FilterError):
        compile_order("-nope", FIELDS, "+created_at", "r.id")
