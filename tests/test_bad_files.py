"""Every reader of a user's file — the access CSV, the IdP groups (CSV and JSON) and mapping,
org files, onboarding templates, quota and promotion policies, the config file — meets random
bytes and near-valid files with its own one-line error (what the CLI turns into exit 8 with
`file:line: reason`), never another exception (exit 70, a traceback). And the CLI, given such
files, exits 8 and changes nothing."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wbadmin.core.access.bulk import BadCsv, decode_csv, parse_csv
from wbadmin.core.onboarding import idp, orgfile, templates
from wbadmin.core.promotions import policy as promotion_policy
from wbadmin.core.quotas import policy as quota_policy
from wbadmin.core.settings import ConfigFileError, load_settings

GOOD_CSV = "email,team,role\ncarol@inference-systems.ai,ml-infra,member\n"
GOOD_ORG = ('[org]\nname = "inference-systems"\n[org.roles]\nalice = "admin"\n'
            '[teams.ml-infra.members]\nalice = "admin"\ncarol = "member"\n'
            '[teams.ml-infra.projects.p]\ndescription = "x"\nvisibility = "team"\n')
GOOD_TEMPLATE = ('[template]\nkind = "team"\ndescription = "d"\n[groups]\nadmins = "admin"\n'
                 '[[projects]]\nname = "{team}-x"\nvisibility = "team"\n')
GOOD_QUOTA = '[defaults]\nperiod = "month"\n[teams.ml-infra]\ngpu_hours = 100\n'
GOOD_PROMOTION = '[defaults]\napprovals = 1\n[registries.model.production]\napprovals = 2\n'
GOOD_MAPPING = '[groups.eng]\nteam = "ml-infra"\nrole = "member"\n'
GOOD_GROUPS = "group,member\neng,carol@inference-systems.ai\n"


def mutations(good: str) -> st.SearchStrategy[bytes]:
    """Random bytes, and the good file with a few bytes changed, cut or spliced in."""
    data = good.encode()

    @st.composite
    def near(draw) -> bytes:
        out = bytearray(data)
        for _ in range(draw(st.integers(1, 6))):
            kind = draw(st.sampled_from(["flip", "cut", "insert", "dup"]))
            at = draw(st.integers(0, max(0, len(out) - 1)))
            if kind == "flip" and out:
                out[at] = draw(st.integers(0, 255))
            elif kind == "cut":
                del out[at:at + draw(st.integers(1, 12))]
            elif kind == "insert":
                out[at:at] = draw(st.binary(min_size=1, max_size=8) | st.sampled_from(
                    [b'"', b"[", b"]", b"=", b"\n", b",", b"\x00", b"\xff", b"\xfe\xff",
                     b"{", b"#", b"'''", b"\\"]))
            else:
                out[at:at] = out[at:at + draw(st.integers(1, 30))]
        return bytes(out)

    return st.one_of(st.binary(max_size=300), near())


def text_of(raw: bytes) -> str | None:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


@given(mutations(GOOD_CSV))
def test_the_access_csv_reader(raw: bytes) -> None:
    try:
        text = decode_csv(raw)
    except BadCsv as exc:
        assert exc.reason and "\n" not in exc.reason
        return
    for row in parse_csv(text):
        assert row.error is None or "\n" not in row.error


def _parses(fn, raw: bytes, errors: tuple[type[BaseException], ...]) -> None:
    text = text_of(raw)
    if text is None:
        return  # the readers' callers decode first (read_text): covered below
    try:
        fn(text)
    except errors as exc:
        assert str(exc).strip()


@given(mutations(GOOD_ORG))
def test_the_org_file_reader(raw: bytes) -> None:
    _parses(lambda t: orgfile.parse(Path("org.toml"), t), raw, (orgfile.OrgFileError,))


@given(mutations(GOOD_TEMPLATE))
def test_the_template_reader(raw: bytes) -> None:
    _parses(lambda t: templates.parse_template(t, Path("t.toml")), raw,
            (templates.TemplateError,))


@given(mutations(GOOD_QUOTA))
def test_the_quota_policy_reader(raw: bytes) -> None:
    _parses(lambda t: quota_policy.parse_policy(t, Path("quotas.toml")), raw,
            (quota_policy.QuotaPolicyError,))


@given(mutations(GOOD_PROMOTION))
def test_the_promotion_policy_reader(raw: bytes) -> None:
    _parses(lambda t: promotion_policy.parse_policy(t, Path("promotions.toml")), raw,
            (promotion_policy.PolicyError,))


@given(mutations(GOOD_MAPPING))
def test_the_idp_mapping_reader(raw: bytes) -> None:
    _parses(lambda t: idp.parse_mapping(Path("map.toml"), t), raw, (orgfile.OrgFileError,))


@given(mutations(GOOD_GROUPS) | mutations(json.dumps({"groups": [
    {"name": "eng", "members": ["carol@inference-systems.ai"]}]})))
def test_the_idp_groups_readers(raw: bytes) -> None:
    _parses(lambda t: idp.parse_csv(Path("g.csv"), t), raw, (orgfile.OrgFileError,))
    _parses(lambda t: idp.parse_json(Path("g.json"), t), raw, (orgfile.OrgFileError,))


@given(mutations('[ui]\ntheme = "textual-dark"\n[network]\nread_timeout_s = 30\n'))
def test_the_config_reader(raw: bytes) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "config.toml"
        path.write_bytes(raw)
        try:
            load_settings(path)
        except ConfigFileError as exc:
            assert str(exc).strip() and "\n" not in str(exc)


@pytest.mark.parametrize("reader", [orgfile.read_text])
@given(raw=st.binary(max_size=200))
def test_reading_a_file_decodes_or_refuses(tmp_path_factory, reader, raw: bytes) -> None:
    path = tmp_path_factory.mktemp("f") / "f.toml"
    path.write_bytes(raw)
    with contextlib.suppress(orgfile.OrgFileError):
        reader(path)
