"""Settings and profiles: every source, their precedence, several profiles, and the errors a
user sees for a bad profile name, a broken config file or a bad URL."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from tests.conftest import key_of
from tests.core.conftest import Home
from wbadmin.core.session import Session
from wbadmin.core.settings import (
    AccessSettings,
    ConfigFileError,
    InvalidURLError,
    SettingsError,
    UISettings,
    UnknownProfileError,
    app_url_for,
    get_settings,
    load_settings,
    resolve_profile,
)

THREE_PROFILES = """
default_profile = "saas"

[profiles.saas]
base_url = "https://api.wandb.ai"
entity = "inference-systems"
org = "inference-systems"

[profiles.dedicated]
base_url = "https://acme.wandb.io/"
scim_prefix = "scim/v2"
entity = "acme-ml"
org = "acme"

[profiles.sandbox]
entity = "demo-team"
"""


def one_line(error: BaseException) -> str:
    message = str(error)
    assert "\n" not in message and "Traceback" not in message
    return message


# ---- defaults and each source ---------------------------------------------------------------

def test_defaults_with_nothing_configured(isolated_home: Home) -> None:
    profile = resolve_profile(None, {})
    assert profile.name == "default"
    assert profile.base_url == "https://api.wandb.ai"
    assert profile.app_url == "https://wandb.ai"
    assert profile.scim_url == "https://api.wandb.ai/scim"
    assert profile.graphql_url == "https://api.wandb.ai/graphql"
    assert profile.entity is None and profile.org is None
    assert profile.cache_path == isolated_home.cache / "wbadmin" / "default.sqlite3"
    assert profile.journal_path == isolated_home.data / "wbadmin" / "default-journal.sqlite3"
    assert profile.sources["base_url"] == "default"
    assert not profile.embedded


def test_wandb_sdk_settings_file_is_read(isolated_home: Home) -> None:
    # What `wandb login --host https://acme.wandb.io` leaves behind.
    path = isolated_home.write_wandb_settings(
        "[default]\nbase_url = https://acme.wandb.io\nentity = acme-ml\n")
    profile = resolve_profile(None, {})
    assert profile.base_url == "https://acme.wandb.io"
    assert profile.entity == "acme-ml"
    assert profile.app_url == "https://acme.wandb.io"  # Dedicated serves API and UI
    assert profile.sources["base_url"] == str(path)


def test_wandb_settings_without_default_section_is_ignored(isolated_home: Home) -> None:
    isolated_home.write_wandb_settings("[other]\nbase_url = https://acme.wandb.io\n")
    assert resolve_profile(None, {}).base_url == "https://api.wandb.ai"


def test_broken_wandb_settings_file_is_a_warning(isolated_home: Home,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    isolated_home.write_wandb_settings("this is not an ini file\n")
    with caplog.at_level(logging.WARNING):
        profile = resolve_profile(None, {})
    assert profile.base_url == "https://api.wandb.ai"
    assert "Ignoring W&B settings file" in caplog.text


def test_toml_profile_beats_wandb_settings(isolated_home: Home) -> None:
    isolated_home.write_wandb_settings("[default]\nbase_url = https://old.wandb.io\nentity = e0\n")
    isolated_home.write_config('[profiles.default]\nbase_url = "https://new.wandb.io"\n')
    profile = resolve_profile(None, {})
    assert profile.base_url == "https://new.wandb.io"
    assert profile.entity == "e0"  # not set in TOML: the weaker source still counts
    assert profile.sources["base_url"].endswith("config.toml [profiles.default]")


def test_env_beats_toml(isolated_home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    isolated_home.write_config('[profiles.default]\nbase_url = "https://new.wandb.io"\n'
                               'entity = "toml-entity"\norg = "toml-org"\n')
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:8765/")
    monkeypatch.setenv("WANDB_ENTITY", "env-entity")
    monkeypatch.setenv("WANDB_ORGANIZATION", "env-org")
    profile = resolve_profile(None, {})
    assert profile.base_url == "http://127.0.0.1:8765"
    assert profile.host == "127.0.0.1:8765"
    assert (profile.entity, profile.org) == ("env-entity", "env-org")
    assert profile.sources["entity"] == "WANDB_ENTITY"


def test_flags_beat_env(isolated_home: Home, monkeypatch: pytest.MonkeyPatch,
                        tmp_path: Path) -> None:
    monkeypatch.setenv("WANDB_BASE_URL", "https://env.wandb.io")
    monkeypatch.setenv("WANDB_ENTITY", "env-entity")
    profile = resolve_profile(None, {
        "base_url": "https://flag.wandb.io", "entity": "flag-entity", "org": None,
        "cache_path": str(tmp_path / "c.sqlite3"), "journal_path": None})
    assert profile.base_url == "https://flag.wandb.io"
    assert profile.entity == "flag-entity"
    assert profile.cache_path == tmp_path / "c.sqlite3"
    assert profile.sources["base_url"] == "--base-url"
    assert profile.sources["entity"] == "--entity"
    assert profile.journal_path.name == "default-journal.sqlite3"  # a None flag is "unset"


def test_precedence_order_layer_by_layer(isolated_home: Home,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove the strongest source one at a time; the next one shows through."""
    isolated_home.write_wandb_settings("[default]\nentity = from-wandb-settings\n")
    isolated_home.write_config('[profiles.default]\nentity = "from-toml"\n')
    monkeypatch.setenv("WANDB_ENTITY", "from-env")
    flags = {"entity": "from-flag"}
    assert resolve_profile(None, flags).entity == "from-flag"
    assert resolve_profile(None, {}).entity == "from-env"
    monkeypatch.delenv("WANDB_ENTITY")
    assert resolve_profile(None, {}).entity == "from-toml"
    isolated_home.write_config("")
    assert resolve_profile(None, {}).entity == "from-wandb-settings"
    (isolated_home.wandb_config / "settings").unlink()
    assert resolve_profile(None, {}).entity is None


def test_empty_env_var_counts_as_unset(isolated_home: Home,
                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_BASE_URL", "")
    assert resolve_profile(None, {}).base_url == "https://api.wandb.ai"


# ---- several profiles -----------------------------------------------------------------------

def test_several_profiles_and_default_profile(isolated_home: Home) -> None:
    isolated_home.write_config(THREE_PROFILES)
    saas = resolve_profile(None, {})  # default_profile = "saas"
    assert (saas.name, saas.base_url, saas.app_url) == (
        "saas", "https://api.wandb.ai", "https://wandb.ai")
    assert saas.entity == "inference-systems"

    dedicated = resolve_profile("dedicated", {})
    assert dedicated.base_url == "https://acme.wandb.io"
    assert dedicated.app_url == "https://acme.wandb.io"
    assert dedicated.scim_url == "https://acme.wandb.io/scim/v2"
    assert (dedicated.entity, dedicated.org) == ("acme-ml", "acme")

    # Each profile has its own cache and journal.
    assert saas.cache_path != dedicated.cache_path
    assert dedicated.cache_path == isolated_home.cache / "wbadmin" / "dedicated.sqlite3"
    assert dedicated.journal_path == isolated_home.data / "wbadmin" / "dedicated-journal.sqlite3"
    assert get_settings().profile_names() == ["dedicated", "default", "saas", "sandbox"]


def test_unknown_profile_is_a_clear_error(isolated_home: Home) -> None:
    isolated_home.write_config(THREE_PROFILES)
    with pytest.raises(UnknownProfileError) as caught:
        resolve_profile("staging", {})
    message = one_line(caught.value)
    assert "'staging'" in message
    assert "dedicated, default, saas, sandbox" in message
    assert "[profiles.staging]" in message and str(isolated_home.config_file) in message


def test_unknown_profile_without_any_config(isolated_home: Home) -> None:
    with pytest.raises(UnknownProfileError, match="known profiles: default, sandbox"):
        resolve_profile("saas", {})


def test_profile_name_must_be_file_name_safe(isolated_home: Home) -> None:
    with pytest.raises(SettingsError, match="Invalid profile name"):
        resolve_profile("../etc", {})


def test_default_profile_must_exist(isolated_home: Home) -> None:
    isolated_home.write_config('default_profile = "nope"\n')
    with pytest.raises(ConfigFileError) as caught:
        get_settings()
    assert "line 1" in one_line(caught.value) and "'nope'" in str(caught.value)


def test_relative_paths_are_relative_to_the_config_file(isolated_home: Home) -> None:
    path = isolated_home.write_config(
        '[profiles.p]\ncache_path = "caches/p.db"\njournal_path = "~/j.db"\n')
    profile = resolve_profile("p", {})
    assert profile.cache_path == path.parent / "caches" / "p.db"
    assert profile.journal_path == isolated_home.home / "j.db"


# ---- the sandbox profile --------------------------------------------------------------------

def test_sandbox_profile_is_embedded_and_ignores_the_wandb_login(
        isolated_home: Home, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_BASE_URL", "https://acme.wandb.io")
    monkeypatch.setenv("WANDB_ENTITY", "acme-ml")
    isolated_home.write_wandb_settings("[default]\nbase_url = https://acme.wandb.io\n")
    profile = resolve_profile("sandbox", {})
    assert profile.embedded and profile.base_url is None and profile.app_url is None
    assert profile.entity is None
    assert profile.cache_path.name == "sandbox.sqlite3"
    started = profile.with_base_url("http://127.0.0.1:41234/")
    assert started.base_url == "http://127.0.0.1:41234"
    assert started.host == "127.0.0.1:41234" and not started.embedded
    assert started.app_url == "http://127.0.0.1:41234"


def test_sandbox_profile_from_toml_and_flags(isolated_home: Home) -> None:
    isolated_home.write_config(THREE_PROFILES)
    profile = resolve_profile("sandbox", {})
    assert profile.embedded and profile.entity == "demo-team"
    served = resolve_profile("sandbox", {"base_url": "http://127.0.0.1:8765"})
    assert served.base_url == "http://127.0.0.1:8765" and not served.embedded


# ---- URLs -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("base", "app"), [
    ("https://api.wandb.ai", "https://wandb.ai"),
    ("https://acme.wandb.io", "https://acme.wandb.io"),
    ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
    ("https://wandb.example.com:8443/wb", "https://wandb.example.com:8443/wb"),
])
def test_app_url_is_derived_from_the_base_url(base: str, app: str) -> None:
    assert app_url_for(base) == app


@pytest.mark.parametrize(("url", "reason"), [
    ("api.wandb.ai", "must start with https://"),
    ("ftp://acme.wandb.io", "must start with https://"),
    ("https://", "names no host"),
    ("https://wandb.ai", "did you mean https://api.wandb.ai"),
    ("http://api.wandb.ai", "requires https"),
    ("https://acme.wandb.io:99999", "Port"),
    ("https://acme.wandb.io/?x=1", "query"),
])
def test_bad_url_from_env_is_a_clear_error(isolated_home: Home, monkeypatch: pytest.MonkeyPatch,
                                           url: str, reason: str) -> None:
    monkeypatch.setenv("WANDB_BASE_URL", url)
    with pytest.raises(InvalidURLError) as caught:
        resolve_profile(None, {})
    message = one_line(caught.value)
    assert "(from WANDB_BASE_URL)" in message and reason in message


def test_bad_url_in_toml_names_file_and_line(isolated_home: Home) -> None:
    path = isolated_home.write_config('[profiles.x]\nentity = "e"\nbase_url = "acme.wandb.io"\n')
    with pytest.raises(InvalidURLError) as caught:
        get_settings()
    assert f"{path}, line 3 [profiles.x]" in one_line(caught.value)


def test_bad_url_flag(isolated_home: Home) -> None:
    with pytest.raises(InvalidURLError, match=r"from --base-url"):
        resolve_profile(None, {"base_url": "not a url"})


# ---- the TOML file --------------------------------------------------------------------------

def test_malformed_toml_reports_file_and_line(isolated_home: Home) -> None:
    path = isolated_home.write_config('[ui]\ntheme = "nord"\nread_only = \n')
    with pytest.raises(ConfigFileError) as caught:
        resolve_profile(None, {})
    message = one_line(caught.value)
    assert f"{path}, line 3" in message
    assert "invalid TOML: Invalid value" in message
    assert caught.value.line == 3 and caught.value.path == path


def test_unterminated_toml_reports_a_line(isolated_home: Home) -> None:
    isolated_home.write_config('[profiles.a]\nbase_url = "https://a.wandb.io\n')
    with pytest.raises(ConfigFileError, match=r"line 2"):
        get_settings()


def test_unreadable_config_file(isolated_home: Home) -> None:
    isolated_home.config_file.mkdir(parents=True)  # a directory where the file should be
    with pytest.raises(ConfigFileError) as caught:
        resolve_profile(None, {})
    assert str(isolated_home.config_file) in one_line(caught.value)


def test_config_file_that_is_not_utf8(isolated_home: Home) -> None:
    isolated_home.config_file.parent.mkdir(parents=True)
    isolated_home.config_file.write_bytes(b"theme = \"\xff\"\n")
    with pytest.raises(ConfigFileError, match="not UTF-8"):
        get_settings()


def test_typed_sections_defaults_and_values(isolated_home: Home) -> None:
    assert get_settings().ui == UISettings()
    assert get_settings().access == AccessSettings()
    assert get_settings().keys == {}
    isolated_home.write_config("""
[ui]
theme = "nord"
refresh_interval_s = 30
read_only = true

[keys]
"explorer.refresh" = "ctrl+r"

[access]
max_org_admins = 3
invite_max_age_days = 14
""")
    settings = get_settings()
    assert settings.ui == UISettings(theme="nord", refresh_interval_s=30.0, read_only=True)
    assert isinstance(settings.ui.refresh_interval_s, float)
    assert settings.keys == {"explorer.refresh": "ctrl+r"}
    assert settings.access.max_org_admins == 3
    assert settings.access.invite_max_age_days == 14
    assert settings.access.inactive_admin_days == AccessSettings().inactive_admin_days


@pytest.mark.parametrize(("body", "line", "reason"), [
    ('[ui]\nread_only = "yes"\n', 2, "[ui] read_only must be true or false"),
    ("[ui]\ntheme = 'x'\nrefresh_interval_s = 0\n", 3, "must be greater than 0"),
    ("[access]\nmax_org_admins = true\n", 2, "must be an integer, not bool True"),
    ("[access]\n\ninactive_admin_days = -1\n", 3, "must be 0 or more"),
    ('[keys]\n"app.quit" = 3\n', 2, "[keys] app.quit must be a key name"),
    ('ui = "dark"\n', 1, "'ui' must be a table"),
    ('[profiles.p]\nentity = ""\n', 2, "[profiles.p] entity must be a non-empty string"),
])
def test_wrong_types_name_file_line_and_key(isolated_home: Home, body: str, line: int,
                                            reason: str) -> None:
    path = isolated_home.write_config(body)
    with pytest.raises(ConfigFileError) as caught:
        get_settings()
    message = one_line(caught.value)
    assert f"{path}, line {line}" in message
    assert reason in message


def test_unknown_keys_warn_but_load(isolated_home: Home,
                                    caplog: pytest.LogCaptureFixture) -> None:
    path = isolated_home.write_config(
        '[ui]\ntheme = "nord"\nthem = "typo"\n\n[profiles.p]\nbase_ur = "x"\n\n[quotass]\n')
    with caplog.at_level(logging.WARNING, logger="wbadmin.core.settings"):
        settings = get_settings()
    assert settings.ui.theme == "nord"
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 3 == len(settings.warnings)
    assert f"{path}, line 3: unknown setting [ui] 'them' ignored" in caplog.text
    assert "[profiles.p] 'base_ur'" in caplog.text
    assert "unknown setting 'quotass'" in caplog.text
    assert resolve_profile("p", {}, settings=settings).base_url == "https://api.wandb.ai"


def test_settings_are_loaded_once(isolated_home: Home) -> None:
    isolated_home.write_config('[ui]\ntheme = "nord"\n')
    assert get_settings().ui.theme == "nord"
    isolated_home.config_file.write_text('[ui]\ntheme = "gruvbox"\n')
    assert get_settings() is get_settings()
    assert get_settings().ui.theme == "nord"  # cached
    assert load_settings().ui.theme == "gruvbox"  # an explicit reload sees the edit


def test_explicit_config_path(isolated_home: Home, tmp_path: Path) -> None:
    other = tmp_path / "team-policy.toml"
    other.write_text('[profiles.ci]\nbase_url = "https://ci.wandb.io"\n')
    settings = load_settings(other)
    assert settings.exists and settings.path == other
    assert resolve_profile("ci", {}, settings=settings).base_url == "https://ci.wandb.io"
    assert not get_settings().exists


def test_errors_share_the_client_error_base(isolated_home: Home) -> None:
    from wbadmin.core.errors import WbError

    with pytest.raises(WbError):
        resolve_profile("nope", {})


def test_settings_and_credentials_import_no_ui_and_no_sdk() -> None:
    """The data layer never imports textual or the TUI; keyring and wandb stay lazy."""
    import subprocess
    import sys

    code = ("import sys, wbadmin.core.settings, wbadmin.core.credentials, wbadmin.core.redact\n"
            "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'wandb', 'keyring')"
            " or m.startswith(('wbadmin.tui', 'wbadmin.sandbox'))]\n"
            "print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def test_links_go_to_the_web_app_and_never_to_the_sandbox(isolated_home: Home,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_API_KEY", key_of("alice"))
    saas = Session.resolve(flags={"base_url": "https://api.wandb.ai"})
    assert saas.web_app_url == "https://wandb.ai"
    self_hosted = Session.resolve(flags={"base_url": "https://wandb.acme.internal"})
    assert self_hosted.web_app_url == "https://wandb.acme.internal"
    # the sandbox profile pointed at `wbadmin sandbox serve`: W&B's API, but no web UI
    served = Session.resolve("sandbox", flags={"base_url": "http://127.0.0.1:8080"})
    assert served.profile.app_url == "http://127.0.0.1:8080" and served.web_app_url is None
