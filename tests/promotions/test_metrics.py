"""Metric direction and regressions: lower-is-better by the last dotted name against the
policy's glob patterns, a worse change beyond the threshold is a regression, and a malformed
`[metrics]` section is one line naming the file, the line and the fix."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from wbadmin.core.promotions import PolicyError, load_policy
from wbadmin.core.promotions.metrics import MetricRules, verdict
from wbadmin.core.promotions.record import Ref
from wbadmin.core.promotions.views import metadata_diff
from wbadmin.core.promotions.wire import Version


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "promotions.toml"
    path.write_text(text)
    return path


def version(index: int, metadata: dict, summary: dict | None = None) -> Version:
    return Version(ref=Ref("acme", "model", "chatbot", f"v{index}"), entity="acme",
                   artifact_id=f"a{index}", index=index, aliases=[], tags=[],
                   metadata=metadata, run={"name": "r", "summary": summary or {}})


@pytest.mark.parametrize("key, direction", [
    ("run.loss", "lower"), ("run.val_loss", "lower"), ("eval.toxicity", "lower"),
    ("eval.latency_p95_ms", "lower"), ("metrics.error_rate", "lower"),
    ("eval.Perplexity", "lower"), ("serving.cost_per_1k", "lower"),
    ("metrics.accuracy", "higher"), ("metrics.f1", "higher"),
    # Only the last name counts: a loss-curve's accuracy is still higher-is-better.
    ("loss_curves.accuracy", "higher"),
])
def test_default_directions_go_by_the_last_dotted_name(key: str, direction: str) -> None:
    assert MetricRules().direction(key) == direction


def test_a_loss_that_went_up_is_worse_and_a_regression() -> None:
    up = MetricRules().compare("run.loss", 1.6925, 0.1245)
    assert up is not None and (up.direction, up.change, up.regression) == \
        ("lower", "worse", True)
    down = MetricRules().compare("run.loss", 0.1, 0.1245)
    assert down is not None and (down.change, down.regression) == ("better", False)
    toxic = MetricRules().compare("eval.toxicity", 0.02, 0.01)
    assert toxic is not None and toxic.change == "worse" and toxic.regression


def test_the_threshold_separates_worse_from_a_regression() -> None:
    rules = MetricRules()  # 5 %
    small = rules.compare("metrics.accuracy", 0.96, 1.0)   # -4 %
    large = rules.compare("metrics.accuracy", 0.90, 1.0)   # -10 %
    assert small is not None and small.change == "worse" and not small.regression
    assert large is not None and large.change == "worse" and large.regression
    assert math.isclose(large.relative or 0, -0.10)
    same = rules.compare("metrics.accuracy", 0.9, 0.9)
    assert same is not None and same.change == "same" and not same.regression
    from_zero = rules.compare("eval.toxicity", 0.001, 0)
    assert from_zero is not None and from_zero.regression and from_zero.relative is None


@pytest.mark.parametrize("candidate, current", [
    ("transformers", "onnx"), (True, False), (0.5, None), (None, 0.5), (math.nan, 0.5)])
def test_values_that_are_not_two_numbers_have_no_direction(candidate, current) -> None:
    assert MetricRules().compare("metrics.accuracy", candidate, current) is None


def test_patterns_and_threshold_come_from_the_policy_file(tmp_path: Path) -> None:
    policy = load_policy(write(tmp_path, """
[registries.model.production]

[metrics]
lower_is_better = ["*_ms", "WER"]
regression_percent = 50
"""))
    rules = policy.metrics
    assert rules.direction("eval.latency_p95_ms") == "lower"
    assert rules.direction("asr.wer") == "lower"
    assert rules.direction("run.loss") == "higher"  # the file's list replaces the defaults
    worse = rules.compare("eval.latency_p95_ms", 120, 100)  # +20 %: worse, under 50 %
    assert worse is not None and worse.change == "worse" and not worse.regression
    assert rules.compare("eval.latency_p95_ms", 200, 100).regression  # +100 %


def test_without_a_metrics_section_the_defaults_apply(tmp_path: Path) -> None:
    rules = load_policy(write(tmp_path, "[registries.model.production]\n")).metrics
    assert rules == MetricRules()
    assert rules.regression_percent == 5


def test_the_diff_rows_carry_direction_change_and_regression() -> None:
    holder = version(5, {"metrics": {"accuracy": 0.90}, "framework": "hf"}, {"loss": 0.1245})
    candidate = version(7, {"metrics": {"accuracy": 0.93}, "framework": "onnx"},
                        {"loss": 1.6925})
    rows = {r["key"]: r for r in metadata_diff(candidate, holder, MetricRules())}
    loss, accuracy, framework = rows["run.loss"], rows["metrics.accuracy"], rows["framework"]
    assert (loss["direction"], loss["change"], loss["regression"]) == ("lower", "worse", True)
    assert verdict(loss) == "REGRESSION +1259%"
    assert (accuracy["direction"], accuracy["change"]) == ("higher", "better")
    assert verdict(accuracy) == "better +3.3%"
    assert framework["direction"] is None and not framework["regression"]
    assert verdict(framework) == ""
    # No holder yet: nothing to be worse than.
    alone = metadata_diff(candidate, None, MetricRules())
    assert not any(r["regression"] for r in alone)


@pytest.mark.parametrize("text, line, reason", [
    ("[metrics]\nlower_is_better = '*loss*'\n", 2,
     "metrics.lower_is_better must be a list of glob patterns"),
    ("[metrics]\nlower_is_better = ['*loss*', 3]\n", 2,
     "metrics.lower_is_better must be a list of glob patterns"),
    ("[metrics]\n\nregression_percent = -1\n", 3,
     "metrics.regression_percent must be a number of percent >= 0"),
    ("[metrics]\nregression_percent = '5%'\n", 2,
     "metrics.regression_percent must be a number of percent >= 0"),
    ("[metrics]\nhigher_is_better = ['acc*']\n", 2, "unknown key 'higher_is_better' in"),
    ("metrics = 5\n", 1, "'metrics' must be a table"),
])
def test_a_malformed_metrics_section_is_one_line(tmp_path: Path, text: str, line: int,
                                                 reason: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    message = str(info.value)
    assert f"{path}, line {line}:" in message, message
    assert reason in message
    assert "\n" not in message
