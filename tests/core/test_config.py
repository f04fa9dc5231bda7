"""Settings: every key typed, unknown keys and missing secrets stop start-up by name."""

from __future__ import annotations

import dataclasses
import os
import re
import stat
import subprocess
import sys
import tomllib
import typing
from pathlib import Path

import pytest

from plugin.core.config import Settings, load_settings, settings_from_mapping
from plugin.core.errors import ConfigError

PROJECT_DIR = Path(__file__).resolve().parents[2]
SECRET = "s" * 40


def write_config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_unknown_top_level_key_is_refused_naming_key_and_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, 'env = "development"\ncolour = "blue"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path)
    assert str(path) in caught.value.message
    assert "unknown key 'colour'" in caught.value.message


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            'env = "development"\n[database]\nurll = "x"\n',
            r"unknown key 'database\.urll'",
            id="unknown-nested-key-named-with-its-table",
        ),
        pytest.param(
            'env = "development"\n[database]\npool_size = "five"\n',
            r"'database\.pool_size' must be an integer, got a string",
            id="wrong-type-named-with-key-and-expected-type",
        ),
        pytest.param(
            'env = "development"\n[database]\npool_size = true\n',
            "must be an integer, got a boolean",
            id="boolean-not-taken-for-an-integer",
        ),
        pytest.param(
            'env = "development"\ndatabase = "sqlite://"\n',
            "'database' must be a table",
            id="table-given-as-scalar",
        ),
        pytest.param(
            'env = "staging"\n',
            "'env' must be one of 'development', 'production'",
            id="value-outside-choices-lists-the-choices",
        ),
        pytest.param(
            f'env = "production"\nsecret_key = "{SECRET}"\n',
            r"'database\.url' is required",
            id="production-without-database-url",
        ),
        pytest.param(
            'env = "development"\nsecret_key = "short"\n',
            "at least 32 characters",
            id="short-secret-key",
        ),
        # A file without env is production, which needs a secret key.
        pytest.param("", "secret_key", id="missing-env-means-production"),
        pytest.param(
            f'env = "production"\nsecret_key = "{SECRET}"\n[database]\nurl = "sqlite://"\n',
            r"'lti\.base_url' is required",
            id="production-without-base-url",
        ),
        pytest.param(
            f'env = "development"\nsecret_key = "{SECRET}"\n'
            '[sandbox]\nenabled = true\nmodule = "../evil; rm"\n',
            r"'sandbox\.module' must be a Python module name",
            id="sandbox-module-that-is-no-module-name",
        ),
        pytest.param(
            f'env = "production"\nsecret_key = "{SECRET}"\n[database]\nurl = "sqlite://"\n'
            '[lti]\nbase_url = "https://tool.example"\n[sandbox]\nenabled = true\n'
            '[[xapi.lrs]]\nname = "lrs"\nendpoint = "https://lrs.example/xAPI/"\n',
            r"'sandbox\.enabled' must be false",
            id="sandbox-in-production",
        ),
        pytest.param(
            'env = "development"\n[lti]\ndesigner_roles = ["Instructor", 3]\n',
            r"'lti\.designer_roles\[1\]' must be a string",
            id="list-setting-checks-each-item",
        ),
    ],
)
def test_a_bad_setting_refuses_to_start_saying_what_is_wrong(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(ConfigError, match=message):
        load_settings(write_config(tmp_path, text))


def test_production_without_secret_key_refuses_to_start(tmp_path: Path) -> None:
    path = write_config(tmp_path, 'env = "production"\n[database]\nurl = "sqlite://"\n')
    with pytest.raises(ConfigError, match="'secret_key' is required when env = \"production\""):
        load_settings(path)
    assert not (tmp_path / "secret_key").exists()


def test_development_generates_a_private_secret_once_and_reuses_it(tmp_path: Path) -> None:
    path = write_config(tmp_path, 'env = "development"\n')
    first = load_settings(path)
    second = load_settings(path)
    secret_file = tmp_path / "secret_key"
    assert first.secret_key == second.secret_key == secret_file.read_text().strip()
    assert len(first.secret_key) >= 32
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600


def test_development_defaults_to_sqlite_in_the_instance_folder(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, 'env = "development"\n'))
    assert settings.database.url == f"sqlite:///{tmp_path / 'plugin.sqlite3'}"
    assert settings.instance_dir == str(tmp_path)


def test_development_urls_follow_the_ports_make_run_serves_on(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_config(tmp_path, 'env = "development"\n[sandbox]\nenabled = true\n')
    defaults = load_settings(config)
    assert defaults.lti.base_url == "http://127.0.0.1:5000"
    assert defaults.sandbox.platform_url == "http://localhost:5000"
    assert [t.endpoint for t in defaults.xapi.lrs] == ["http://127.0.0.1:8100/xAPI/"]
    monkeypatch.setenv("PLUGIN_DEV_PORT", "5077")
    monkeypatch.setenv("PLUGIN_DEV_LRS_PORT", "8177")
    moved = load_settings(config)
    assert moved.lti.base_url == "http://127.0.0.1:5077"
    assert moved.sandbox.platform_url == "http://localhost:5077"
    assert [t.endpoint for t in moved.xapi.lrs] == ["http://127.0.0.1:8177/xAPI/"]


@pytest.mark.parametrize("value", ["０", "70000", "abc", "-1"])
def test_a_development_port_that_is_not_a_port_is_refused_naming_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv("PLUGIN_DEV_PORT", value)
    with pytest.raises(ConfigError, match="PLUGIN_DEV_PORT must be a port"):
        load_settings(write_config(tmp_path, 'env = "development"\n'))


def test_relative_instance_dir_is_resolved_against_the_config_file(tmp_path: Path) -> None:
    settings = load_settings(write_config(tmp_path, 'env = "development"\ninstance_dir = "var"\n'))
    assert settings.instance_dir == str(tmp_path / "var")
    assert (tmp_path / "var" / "secret_key").exists()


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nowhere\.toml: config file not found"):
        load_settings(tmp_path / "nowhere.toml")


def test_invalid_toml_is_reported_with_the_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, "env = \n")
    with pytest.raises(ConfigError, match=f"{re.escape(str(path))}: not valid TOML"):
        load_settings(path)


def test_explicit_values_are_kept(tmp_path: Path) -> None:
    settings = settings_from_mapping(
        {
            "env": "production",
            "secret_key": SECRET,
            "database": {"url": "postgresql://db/x", "pool_size": 9},
            "i18n": {"default_locale": "en"},
            "lti": {"base_url": "https://tool.example.gov.tw", "designer_roles": ["Mentor"]},
            "xapi": {"lrs": [{"name": "lrs", "endpoint": "https://lrs.example.gov.tw/xAPI/"}]},
        },
        base_dir=tmp_path,
    )
    assert settings.database.pool_size == 9
    assert settings.i18n.default_locale == "en"
    assert settings.secret_key == SECRET
    assert settings.lti.designer_roles == ("Mentor",)


@pytest.mark.parametrize(
    "key", ["login_state_minutes", "max_login_states_per_issuer", "max_login_states"]
)
def test_login_bounds_below_one_are_refused_naming_the_key(tmp_path: Path, key: str) -> None:
    text = f'env = "development"\n[lti]\n{key} = 0\n'
    with pytest.raises(ConfigError, match=rf"'lti\.{key}' must be at least 1"):
        load_settings(write_config(tmp_path, text))


def _example_keys(text: str) -> set[str]:
    """Keys of config.example.toml, the commented-out ones included."""
    uncommented = re.sub(r"(?m)^# ?([a-z_]+ = |\[\[[a-z_.]+\]\])", r"\1", text)
    data = tomllib.loads(uncommented)
    keys: set[str] = set()
    for key, value in data.items():
        if not isinstance(value, dict):
            keys.add(key)
            continue
        for sub, inner in value.items():
            if isinstance(inner, list) and inner and isinstance(inner[0], dict):
                keys.update(f"{key}.{sub}[].{name}" for entry in inner for name in entry)
            else:
                keys.add(f"{key}.{sub}")
    return keys


def _settings_keys() -> set[str]:
    keys: set[str] = set()
    for field in dataclasses.fields(Settings):
        if field.metadata.get("internal"):
            continue
        default = Settings().__getattribute__(field.name)
        if not dataclasses.is_dataclass(default):
            keys.add(field.name)
            continue
        hints = typing.get_type_hints(type(default))
        for sub in dataclasses.fields(default):
            (item,) = typing.get_args(hints[sub.name])[:1] or (None,)
            if dataclasses.is_dataclass(item):
                keys.update(f"{field.name}.{sub.name}[].{f.name}" for f in dataclasses.fields(item))
            else:
                keys.add(f"{field.name}.{sub.name}")
    return keys


def test_example_config_lists_every_key_and_only_known_keys() -> None:
    example = (PROJECT_DIR / "config.example.toml").read_text(encoding="utf-8")
    assert _example_keys(example) == _settings_keys()


def test_example_config_loads_as_is(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text((PROJECT_DIR / "config.example.toml").read_text(encoding="utf-8"))
    settings = load_settings(path)
    assert settings.env == "development"


def test_start_up_with_a_bad_config_prints_one_line_naming_key_and_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, 'env = "development"\n[database]\necho = "yes"\n')
    env = {**os.environ, "PLUGIN_CONFIG": str(path)}
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "plugin", "db", "current"],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert str(path) in lines[0]
    assert "'database.echo' must be true or false" in lines[0]


def test_dynamic_registration_is_open_in_development_and_closed_in_production(
    tmp_path: Path,
) -> None:
    development = load_settings(write_config(tmp_path, 'env = "development"\n'))
    production = settings_from_mapping(
        {
            "env": "production",
            "secret_key": SECRET,
            "database": {"url": "sqlite://"},
            "lti": {"base_url": "https://tool.example"},
            "xapi": {"lrs": [{"name": "lrs", "endpoint": "https://lrs.example.gov.tw/xAPI/"}]},
        },
        base_dir=tmp_path,
    )
    assert development.lti.dynamic_registration_urls == ("*",)
    assert production.lti.dynamic_registration_urls == ()


def test_production_without_an_lrs_refuses_to_start(tmp_path: Path) -> None:
    text = (
        f'env = "production"\nsecret_key = "{SECRET}"\n[database]\nurl = "sqlite://"\n'
        '[lti]\nbase_url = "https://tool.example"\n'
    )
    with pytest.raises(ConfigError, match=r"'xapi\.lrs' is required"):
        load_settings(write_config(tmp_path, text))


def _production(lti: dict[str, object], tmp_path: Path) -> Settings:
    return settings_from_mapping(
        {
            "env": "production",
            "secret_key": SECRET,
            "database": {"url": "sqlite://"},
            "lti": {"base_url": "https://tool.example", **lti},
            "xapi": {"lrs": [{"name": "lrs", "endpoint": "https://lrs.example.gov.tw/xAPI/"}]},
        },
        base_dir=tmp_path,
    )


def test_production_refuses_dynamic_registration_from_anywhere(tmp_path: Path) -> None:
    # "*" would let anyone register a platform and make the tool request their URLs.
    with pytest.raises(ConfigError, match=r"dynamic_registration_urls\[1\]' is \"\*\", which only"):
        _production({"dynamic_registration_urls": ["https://lms.gov.tw/", "*"]}, tmp_path)
    listed = _production({"dynamic_registration_urls": ["https://lms.gov.tw/moodle"]}, tmp_path)
    assert listed.lti.dynamic_registration_urls == ("https://lms.gov.tw/moodle",)


@pytest.mark.parametrize(
    "entry", ["lms.gov.tw", "https://user@lms.gov.tw/", "https://lms.gov.tw/?x=1", "ftp://lms/"]
)
def test_a_dynamic_registration_entry_that_is_not_a_url_prefix_stops_start_up(
    entry: str, tmp_path: Path
) -> None:
    with pytest.raises(ConfigError, match=r"dynamic_registration_urls\[0\]' must be \"\*\" or"):
        _production({"dynamic_registration_urls": [entry]}, tmp_path)
