"""Typed settings read from a TOML file with :mod:`tomllib`.

Every key the tool understands is a field of one of the dataclasses below; an unknown key, a
value of the wrong type or a missing secret raises :class:`ConfigError` with one line that
names the key and the file. Development defaults apply only when ``env = "development"``.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from plugin.core.dev_defaults import (
    DEV_LRS_NAME,
    development_lrs_credentials,
    development_lrs_endpoint,
    development_sandbox_url,
    development_secret,
    development_tool_url,
)
from plugin.core.errors import ConfigError
from plugin.core.urls import ANYTHING, UrlRefused, parse_allow_entry

DEFAULT_CONFIG_PATH = Path("instance") / "config.toml"
MIN_SECRET_LENGTH = 32


@dataclass(frozen=True)
class DatabaseSettings:
    """Where the tool keeps its data."""

    url: str = ""
    echo: bool = False
    pool_size: int = 5


@dataclass(frozen=True)
class FrameworkSettings:
    """The competency framework and the IRIs its items get."""

    iri_base: str = "https://w3id.org/tw-civil-service-dc/"
    file: str = ""


@dataclass(frozen=True)
class I18nSettings:
    """Languages of the user interface."""

    default_locale: Literal["zh_TW", "en"] = "zh_TW"
    timezone: str = "Asia/Taipei"


@dataclass(frozen=True)
class LtiSettings:
    """How the tool meets LTI 1.3 platforms."""

    base_url: str = ""
    title: str = "數位職能學習工具 Digital Competency Tool"
    clock_leeway_seconds: int = 60
    platform_jwks_cache_seconds: int = 3600
    http_timeout_seconds: float = 10.0
    # How long a login may take: the login state row and its cookie both live this long.
    login_state_minutes: int = 10
    # Login states that may exist at once for one issuer / in all; past either, logins are
    # refused (429 / 503) until expired states are purged.
    max_login_states_per_issuer: int = 1000
    max_login_states: int = 10000
    launch_token_minutes: int = 120
    auto_activate_deployments: bool = False
    key_grace_days: int = 7
    designer_roles: tuple[str, ...] = ("Instructor", "ContentDeveloper", "TeachingAssistant")
    admin_roles: tuple[str, ...] = ("Administrator",)
    dynamic_registration_urls: tuple[str, ...] = ()
    grade_batch_size: int = 50
    grade_worker_interval_seconds: float = 5.0
    grade_retry_base_seconds: float = 30.0
    grade_retry_max_seconds: float = 3600.0
    nrps_max_pages: int = 20
    # Custom claim (LTI 1.3 core §5.4.1 custom) whose value links a person's identities on
    # several platforms into one learner, e.g. "employee_number"; "" = no linking.
    link_claim: str = ""
    # Custom parameter carrying the learner's grade (junior/intermediate/senior/supervisor or
    # 委任/薦任/簡任/主管); "" = grades come only from CSV or an administrator.
    grade_claim: str = "grade"


@dataclass(frozen=True)
class LrsTarget:
    """One learning record store the statements go to."""

    name: str = "default"
    endpoint: str = ""
    username: str = ""
    password: str = ""


@dataclass(frozen=True)
class XapiSettings:
    """Statements: where they go and how they are sent."""

    lrs: tuple[LrsTarget, ...] = ()
    batch_size: int = 50
    timeout_seconds: float = 10.0
    retry_base_seconds: float = 5.0
    retry_max_seconds: float = 900.0
    worker_interval_seconds: float = 2.0
    # Names and email stay in the tool unless an operator turns this on (docs/ARCHITECTURE.md §5).
    send_names: bool = False


@dataclass(frozen=True)
class RollupSettings:
    """How evidence rolls up into attainment (docs/ARCHITECTURE.md §6; plugin/rollup/engine.py)."""

    method: Literal[
        "highest", "latest", "average", "n_mastery", "weighted_average", "decaying_average"
    ] = "weighted_average"
    decay_weight: float = 0.65
    n_mastery: int = 3
    mastery_threshold: float = 0.6
    competency_rule: Literal["all", "points"] = "all"
    points_per_level: tuple[int, ...] = (1, 2, 3)
    points_needed: tuple[int, ...] = ()
    required_indicators: tuple[str, ...] = ()


@dataclass(frozen=True)
class SandboxSettings:
    """The development-only sandbox platform at /sandbox."""

    enabled: bool = False
    platform_url: str = ""
    # The package beside plugin/ that serves it; the tool finds it by this name only, so a
    # production install neither imports it nor needs its dependencies (docs/ARCHITECTURE.md).
    module: str = "sandbox"


@dataclass(frozen=True)
class RetentionSettings:
    """How long `flask --app plugin purge` keeps records (docs/ARCHITECTURE.md §10), in days."""

    login_state_days: int = 1
    launch_days: int = 180
    delivered_statement_days: int = 30
    audit_days: int = 1825


@dataclass(frozen=True)
class ContentSettings:
    """SCORM packages: where their files are kept and the bounds an upload must stay within."""

    # Empty: "content" under the instance folder. Hosts that share packages point at one volume.
    storage_dir: str = ""
    # A separate origin serving package files (the player uses it); empty: the tool's own.
    base_url: str = ""
    max_upload_bytes: int = 500 * 1024 * 1024
    max_entries: int = 10000
    max_total_bytes: int = 2 * 1024 * 1024 * 1024
    max_ratio: float = 100.0


@dataclass(frozen=True)
class LogSettings:
    """Logging."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"


@dataclass(frozen=True)
class Settings:
    """All settings of one running tool."""

    env: Literal["development", "production"] = "production"
    secret_key: str = ""
    instance_dir: str = ""
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    framework: FrameworkSettings = field(default_factory=FrameworkSettings)
    i18n: I18nSettings = field(default_factory=I18nSettings)
    lti: LtiSettings = field(default_factory=LtiSettings)
    xapi: XapiSettings = field(default_factory=XapiSettings)
    rollup: RollupSettings = field(default_factory=RollupSettings)
    sandbox: SandboxSettings = field(default_factory=SandboxSettings)
    retention: RetentionSettings = field(default_factory=RetentionSettings)
    content: ContentSettings = field(default_factory=ContentSettings)
    log: LogSettings = field(default_factory=LogSettings)
    source: str = field(default="<defaults>", metadata={"internal": True})

    @property
    def is_development(self) -> bool:
        """True when development defaults may apply."""
        return self.env == "development"


def config_path_from_env() -> Path:
    """The config file named by ``PLUGIN_CONFIG``, else ``instance/config.toml``."""
    return Path(os.environ.get("PLUGIN_CONFIG") or DEFAULT_CONFIG_PATH)


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """Read, check and complete the settings from a TOML file."""
    config_path = Path(path) if path is not None else config_path_from_env()
    where = str(config_path)
    try:
        raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(
            f"{where}: config file not found (copy config.example.toml there)"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: not valid TOML: {exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{where}: not UTF-8 text") from None
    base_dir = config_path.resolve().parent
    return settings_from_mapping(raw, source=where, base_dir=base_dir)


def settings_from_mapping(
    raw: dict[str, Any], source: str = "<mapping>", base_dir: Path | None = None
) -> Settings:
    """Build settings from a parsed TOML mapping; ``source`` names it in errors."""
    settings = _build(Settings, raw, prefix="", source=source)
    settings = dataclasses.replace(settings, source=source)
    return _complete(settings, base_dir or Path.cwd())


def _complete(settings: Settings, base_dir: Path) -> Settings:
    """Fill development defaults, or refuse to run production without secrets."""
    instance_dir = Path(settings.instance_dir) if settings.instance_dir else base_dir
    if not instance_dir.is_absolute():
        instance_dir = (base_dir / instance_dir).resolve()
    changes: dict[str, Any] = {"instance_dir": str(instance_dir)}
    storage_dir = Path(settings.content.storage_dir or "content")
    if not storage_dir.is_absolute():
        storage_dir = (instance_dir if not settings.content.storage_dir else base_dir) / storage_dir
    changes["content"] = dataclasses.replace(settings.content, storage_dir=str(storage_dir))
    if settings.is_development:
        changes.update(_development_defaults(settings, instance_dir))
    else:
        _check_production(settings)
    _check_names_and_urls(settings)
    _check_lrs_targets(settings)
    _check_dynamic_registration_urls(settings)
    _check_rollup(settings)
    _check_retention(settings)
    _check_lti(settings)
    _check_content(settings)
    secret = changes.get("secret_key", settings.secret_key)
    if len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(
            f"{settings.source}: key 'secret_key' must be at least {MIN_SECRET_LENGTH} characters"
        )
    return dataclasses.replace(settings, **changes)


def _development_defaults(settings: Settings, instance_dir: Path) -> dict[str, Any]:
    """What development fills in that the file leaves out: secret, database, URLs, LRS."""
    changes: dict[str, Any] = {}
    if not settings.secret_key:
        changes["secret_key"] = development_secret(instance_dir)
    if not settings.database.url:
        db_file = instance_dir / "plugin.sqlite3"
        changes["database"] = dataclasses.replace(settings.database, url=f"sqlite:///{db_file}")
    lti_changes: dict[str, Any] = {}
    if not settings.lti.base_url:
        lti_changes["base_url"] = development_tool_url()
    if not settings.lti.dynamic_registration_urls:
        lti_changes["dynamic_registration_urls"] = ("*",)
    if lti_changes:
        changes["lti"] = dataclasses.replace(settings.lti, **lti_changes)
    if settings.sandbox.enabled and not settings.sandbox.platform_url:
        changes["sandbox"] = dataclasses.replace(
            settings.sandbox, platform_url=development_sandbox_url()
        )
    if not settings.xapi.lrs:
        changes["xapi"] = dataclasses.replace(
            settings.xapi, lrs=(development_lrs_target(instance_dir),)
        )
    return changes


def _check_production(settings: Settings) -> None:
    """Production names its secret, database, address and LRS, and runs no sandbox."""
    required = (
        ("secret_key", settings.secret_key),
        ("database.url", settings.database.url),
        ("lti.base_url", settings.lti.base_url),
        # Statements are the tool's reason to exist; without an LRS they would only pile up.
        ("xapi.lrs", settings.xapi.lrs),
    )
    for key, value in required:
        if not value:
            raise ConfigError(
                f"{settings.source}: key '{key}' is required when env = \"production\""
            )
    if settings.sandbox.enabled:
        raise ConfigError(
            f"{settings.source}: key 'sandbox.enabled' must be false when env = \"production\""
        )


def _check_names_and_urls(settings: Settings) -> None:
    """The sandbox's module is a module name; the tool's, the sandbox's and the content
    origin's URLs are http(s)."""
    if not all(part.isidentifier() for part in settings.sandbox.module.split(".")):
        raise ConfigError(
            f"{settings.source}: key 'sandbox.module' must be a Python module name, "
            f"got {settings.sandbox.module!r}"
        )
    for key, url in (
        ("lti.base_url", settings.lti.base_url),
        ("sandbox.platform_url", settings.sandbox.platform_url),
        ("content.base_url", settings.content.base_url),
    ):
        if url and not url.startswith(("https://", "http://")):
            raise ConfigError(f"{settings.source}: key '{key}' must be an http(s) URL, got {url!r}")


def _check_lrs_targets(settings: Settings) -> None:
    """Every [[xapi.lrs]] needs a unique name and an http(s) endpoint."""
    seen: set[str] = set()
    for index, target in enumerate(settings.xapi.lrs):
        key = f"xapi.lrs[{index}]"
        if not target.name or len(target.name) > 100:
            raise ConfigError(f"{settings.source}: key '{key}.name' must be 1 to 100 characters")
        if target.name in seen:
            raise ConfigError(
                f"{settings.source}: key '{key}.name' repeats the LRS name {target.name!r}"
            )
        seen.add(target.name)
        if _carries_credentials(target.endpoint):
            # It would be printed by `xapi status`, /xapi/status and every delivery log line,
            # and echoed here: the credentials belong in the keys that are never shown.
            raise ConfigError(
                f"{settings.source}: key '{key}.endpoint' must not carry credentials; "
                f"set '{key}.username' and '{key}.password' instead"
            )
        if not target.endpoint.startswith(("https://", "http://")):
            raise ConfigError(
                f"{settings.source}: key '{key}.endpoint' must be an http(s) URL, "
                f"got {target.endpoint!r}"
            )


def _check_dynamic_registration_urls(settings: Settings) -> None:
    """Each entry is "*" (development only) or an http(s) URL prefix (plugin/core/urls.py)."""
    for index, entry in enumerate(settings.lti.dynamic_registration_urls):
        key = f"lti.dynamic_registration_urls[{index}]"
        if entry == ANYTHING and not settings.is_development:
            # "*" would let anyone register a platform and make the tool fetch their URLs.
            raise ConfigError(
                f'{settings.source}: key \'{key}\' is "*", which only env = "development" '
                'accepts; list the platforms\' URLs, e.g. "https://moodle.agency.gov.tw/"'
            )
        try:
            parse_allow_entry(entry)
        except UrlRefused as exc:
            raise ConfigError(
                f"{settings.source}: key '{key}' must be \"*\" or an http(s) URL prefix such as "
                f'"https://moodle.agency.gov.tw/", got {entry!r}: {exc}'
            ) from None


def _carries_credentials(url: str) -> bool:
    """True when ``url`` has a ``user:password@`` part, with or without a scheme."""
    rest = url.split("://", 1)[1] if "://" in url else url
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    return "@" in authority


def _check_at_least_one(settings: Settings, section: str, keys: tuple[str, ...]) -> None:
    """Each of ``keys`` in the ``[section]`` table must be at least 1."""
    table = getattr(settings, section)
    for key in keys:
        if getattr(table, key) < 1:
            raise ConfigError(f"{settings.source}: key '{section}.{key}' must be at least 1")


def _check_lti(settings: Settings) -> None:
    """The [lti] login numbers must be positive."""
    logins = ("login_state_minutes", "max_login_states_per_issuer", "max_login_states")
    _check_at_least_one(settings, "lti", logins)


def _check_rollup(settings: Settings) -> None:
    """The [rollup] numbers must be in the ranges the formula is defined for."""
    rollup = settings.rollup
    problems = (
        ("decay_weight", not 0 < rollup.decay_weight <= 1, "must be in (0, 1]"),
        ("n_mastery", rollup.n_mastery < 1, "must be at least 1"),
        ("mastery_threshold", not 0 <= rollup.mastery_threshold <= 1, "must be in [0, 1]"),
        ("points_per_level", not rollup.points_per_level, "must list at least one number"),
    )
    for key, bad, rule in problems:
        if bad:
            raise ConfigError(f"{settings.source}: key 'rollup.{key}' {rule}")


def _check_content(settings: Settings) -> None:
    """The [content] bounds must be positive (a ratio of at least 1)."""
    bounds = ("max_upload_bytes", "max_entries", "max_total_bytes", "max_ratio")
    _check_at_least_one(settings, "content", bounds)


# Over a century is surely a typo; a day is the least that leaves an OIDC login time to finish.
MAX_RETENTION_DAYS = 36500


def _check_retention(settings: Settings) -> None:
    """Every [retention] age is a whole number of days from 1 to MAX_RETENTION_DAYS."""
    for item in dataclasses.fields(RetentionSettings):
        days = getattr(settings.retention, item.name)
        if not 1 <= days <= MAX_RETENTION_DAYS:
            raise ConfigError(
                f"{settings.source}: key 'retention.{item.name}' must be a number of days "
                f"from 1 to {MAX_RETENTION_DAYS}, got {days}"
            )


def development_lrs_target(instance_dir: Path) -> LrsTarget:
    """The local Ralph of `make run`, its credentials in the instance folder."""
    username, password = development_lrs_credentials(instance_dir)
    return LrsTarget(DEV_LRS_NAME, development_lrs_endpoint(), username, password)


def _build(cls: type, raw: Any, prefix: str, source: str) -> Any:
    """Turn one TOML table into the dataclass ``cls``, checking keys and types."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: key '{prefix.rstrip('.')}' must be a table")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if not f.metadata.get("internal")}
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = f"{prefix}{key}"
        if key not in fields:
            raise ConfigError(f"{source}: unknown key '{name}'")
        values[key] = _coerce(hints[key], value, name, source)
    return cls(**values)


def _coerce(hint: Any, value: Any, name: str, source: str) -> Any:
    """Check ``value`` against the type ``hint``; nested dataclasses recurse."""
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return _build(hint, value, prefix=f"{name}.", source=source)
    origin = typing.get_origin(hint)
    if origin is Literal:
        allowed = typing.get_args(hint)
        if value not in allowed:
            choices = ", ".join(repr(a) for a in allowed)
            raise ConfigError(f"{source}: key '{name}' must be one of {choices}, got {value!r}")
        return value
    if origin in (list, tuple):
        (item_type,) = typing.get_args(hint)[:1]
        if not isinstance(value, list):
            raise ConfigError(f"{source}: key '{name}' must be a list, got {_kind(value)}")
        return tuple(_coerce(item_type, v, f"{name}[{i}]", source) for i, v in enumerate(value))
    if origin in (types.UnionType, typing.Union):
        raise TypeError(f"unsupported union type for {name}")  # settings never use unions
    return _scalar(hint, value, name, source)


def _scalar(hint: Any, value: Any, name: str, source: str) -> Any:
    """Check a string, number or boolean ``value`` against ``hint``."""
    # bool is a subclass of int in Python; TOML keeps them apart, so must we.
    if hint is int and (isinstance(value, bool) or not isinstance(value, int)):
        raise ConfigError(f"{source}: key '{name}' must be an integer, got {_kind(value)}")
    if hint is float and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise ConfigError(f"{source}: key '{name}' must be a number, got {_kind(value)}")
    if hint is bool and not isinstance(value, bool):
        raise ConfigError(f"{source}: key '{name}' must be true or false, got {_kind(value)}")
    if hint is str and not isinstance(value, str):
        raise ConfigError(f"{source}: key '{name}' must be a string, got {_kind(value)}")
    return float(value) if hint is float else value


def _kind(value: Any) -> str:
    """A TOML-flavoured name for the type of ``value``."""
    kinds = {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "a list",
        dict: "a table",
    }
    return kinds.get(type(value), type(value).__name__)
