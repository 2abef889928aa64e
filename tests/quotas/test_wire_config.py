"""A run's config keys as the quota reader takes them from W&B's config text."""

from __future__ import annotations

from wbadmin.core.quotas.wire import config_keys


def test_config_keys_are_the_top_level_keys_sorted_without_wandbs_own() -> None:
    text = '{"lr": {"value": 0.1}, "_wandb": {"value": {}}, "prompt_template_version": 3}'
    assert config_keys(text) == ("lr", "prompt_template_version")
    assert config_keys({"b": 1, "a": 2}) == ("a", "b")
    assert config_keys("") == () and config_keys("  ") == ()


def test_a_config_with_nan_is_read_as_python_writes_it() -> None:
    # orjson refuses NaN and Infinity; Python's json (and so a script's config) writes them.
    assert config_keys('{"loss": {"value": NaN}, "eps": {"value": -Infinity}}') == \
        ("eps", "loss")


def test_a_config_that_is_not_an_object_has_no_keys_known() -> None:
    assert config_keys("[1, 2]") is None
    assert config_keys("{not json") is None
    assert config_keys(None) is None and config_keys(7) is None
