"""Languages: Vietnamese by default, English as the second language, chosen per session.

Source strings are Vietnamese (`_("Đăng nhập")`); `translations/en/LC_MESSAGES/messages.po`
holds the English. `make translations` extracts, updates and compiles the catalogue; the
compiled `.mo` is kept beside the `.po` so an installed package works without a build step."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, session
from flask_babel import Babel, get_locale

TRANSLATIONS_DIR = Path(__file__).resolve().parents[1] / "translations"
DEFAULT_LANGUAGE = "vi"
# Language code -> its name, written in that language (shown on the switch).
LANGUAGES = {"vi": "Tiếng Việt", "en": "English"}
SESSION_LANGUAGE_KEY = "lang"


def selected_language() -> str:
    lang = session.get(SESSION_LANGUAGE_KEY)
    return lang if isinstance(lang, str) and lang in LANGUAGES else DEFAULT_LANGUAGE


def current_language() -> str:
    locale = get_locale()
    return locale.language if locale is not None else DEFAULT_LANGUAGE


def default_config() -> dict[str, Any]:
    return {
        "BABEL_DEFAULT_LOCALE": DEFAULT_LANGUAGE,
        "BABEL_DEFAULT_TIMEZONE": "Asia/Ho_Chi_Minh",
        "BABEL_TRANSLATION_DIRECTORIES": str(TRANSLATIONS_DIR),
    }


def init_i18n(app: Flask) -> None:
    Babel(app, locale_selector=selected_language)

    @app.context_processor
    def _languages() -> dict[str, object]:
        return {"languages": LANGUAGES, "current_language": current_language}
