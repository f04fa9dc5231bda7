"""Locale choice: zh-TW by default, English second; an LTI launch's locale claim wins."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, g, request
from flask_babel import Babel, get_locale

from plugin import app_state

SUPPORTED_LOCALES = ("zh_TW", "en")
HTML_LANG = {"zh_TW": "zh-Hant-TW", "en": "en"}


def normalise_locale(value: str | None) -> str | None:
    """Map ``zh-TW``, ``zh_Hant_TW``, ``en-US`` and the like onto a supported locale."""
    if not value:
        return None
    tag = value.replace("_", "-").strip().lower()
    if tag.startswith("zh"):
        # Simplified-Chinese tags get the Traditional UI too: it is the only Chinese we have.
        return "zh_TW"
    if tag.split("-")[0] == "en":
        return "en"
    return None


def select_locale() -> str:
    """The locale for this request: ``?lang=``, then the launch's, then the default."""
    chosen = normalise_locale(request.args.get("lang")) or normalise_locale(g.get("launch_locale"))
    return chosen or app_state.settings().i18n.default_locale


def select_timezone() -> str:
    """The display time zone from settings."""
    return app_state.settings().i18n.timezone


def language_links() -> list[dict[str, str]]:
    """Links to this page in each language, keeping the other query arguments."""
    current = str(get_locale())
    links = []
    for locale, label in (("zh_TW", "中文"), ("en", "English")):
        args = {k: v for k, v in request.args.items() if k != "lang"}
        args["lang"] = locale
        links.append(
            {
                "locale": locale,
                "label": label,
                "href": f"{request.path}?{urlencode(args)}",
                "current": "true" if locale == current else "",
                "lang": HTML_LANG[locale],
            }
        )
    return links


def init_app(app: Flask) -> None:
    """Install Flask-Babel and the template helpers."""
    Babel(app, locale_selector=select_locale, timezone_selector=select_timezone)

    @app.context_processor
    def _i18n_context() -> dict[str, object]:
        locale = str(get_locale())
        return {
            "html_lang": HTML_LANG.get(locale, "zh-Hant-TW"),
            "locale": locale,
            "language_links": language_links,
            # After a label: the full-width colon in Chinese, a colon and a space in English.
            "colon": "：" if locale.startswith("zh") else ": ",
            "list_separator": "、" if locale.startswith("zh") else ", ",
        }

    app.jinja_env.filters["loc"] = localized
    app.jinja_env.globals["loc"] = localized


def localized(obj: object, prefix: str) -> str:
    """``obj.{prefix}_zh`` or ``obj.{prefix}_en`` for the current locale, falling back."""
    locale = str(get_locale())
    first, second = ("en", "zh") if locale == "en" else ("zh", "en")
    return getattr(obj, f"{prefix}_{first}", "") or getattr(obj, f"{prefix}_{second}", "")
