"""Messages in the admin's language: English in the code, Russian from a gettext catalogue.

``_("Could not connect to {host}.", host=h)`` returns a ``Text``: a ``str`` holding the
English sentence (so logs, tests and ``str()`` keep working) that also remembers its
template, so it can be rendered again in another language when the wizard's language
switch is flipped after the error was raised. The catalogue is
``wizard/locale/<lang>/LC_MESSAGES/amocrm_wizard.po``, compiled to ``.mo`` with Babel
(``pybabel compile``) and read with the standard library's gettext: one source of truth per
message for the CLI, the core's errors and the GUI's error display.
"""

from __future__ import annotations

import gettext
import locale
import os
from functools import cache
from pathlib import Path
from typing import Any, TextIO

DOMAIN = "amocrm_wizard"
LOCALE_DIR = Path(__file__).resolve().parent.parent / "locale"
LANGUAGES = ("en", "ru")
LANGUAGE_ENV = "AMOCRM_WIZARD_LANG"

_language: str | None = None  # None: follow the system until somebody chooses


class Text(str):
    """An English message that can be rendered in another language later."""

    template: str
    params: dict[str, Any]

    def __new__(cls, template: str, **params: Any) -> Text:
        self = super().__new__(cls, template.format(**params) if params else template)
        self.template = template
        self.params = params
        return self

    def render(self, language: str | None = None) -> str:
        translated = translations(language or current_language()).gettext(self.template)
        params = {k: (v.render(language) if isinstance(v, Text) else v) for k, v in self.params.items()}
        try:
            return translated.format(**params) if params else translated
        except (KeyError, IndexError, ValueError):  # a broken translation must not hide the error
            return str(self)


def _(template: str, **params: Any) -> Text:
    return Text(template, **params)


def render(text: str, language: str | None = None) -> str:
    """Any message in the given (or current) language; plain strings pass through."""
    return text.render(language) if isinstance(text, Text) else text


def say(text: str = "", file: TextIO | None = None, **kwargs: Any) -> None:
    """``print`` in the admin's language (messages are ``Text``; other strings pass through)."""
    print(render(text), file=file, **kwargs)


@cache
def translations(language: str) -> gettext.NullTranslations:
    if language == "en":
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, localedir=LOCALE_DIR, languages=[language], fallback=True)


def system_language() -> str:
    """``ru`` when the environment or the OS locale says Russian, else ``en``."""
    forced = os.environ.get(LANGUAGE_ENV, "").lower()
    if forced in LANGUAGES:
        return forced
    for variable in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
        value = os.environ.get(variable, "")
        if value:
            return "ru" if value.lower().startswith("ru") else "en"
    try:
        code = locale.getlocale()[0] or ""
    except ValueError:
        code = ""
    return "ru" if code.lower().startswith("ru") else "en"


def current_language() -> str:
    global _language
    if _language is None:
        _language = system_language()
    return _language


def set_language(language: str) -> None:
    """Switch the language for the whole program (the GUI's switch, the CLI's environment)."""
    global _language
    if language not in LANGUAGES:
        raise ValueError(f"unsupported language {language!r}")
    _language = language
