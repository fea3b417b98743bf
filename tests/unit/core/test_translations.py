"""The gettext catalogue is complete, well-formed and compiled: no message reaches a
Russian-speaking admin in English, and no translation can break a message.

Extraction runs in-process on the current sources with babel.cfg, so a new English
message fails here until it is translated (``scripts/i18n.sh``, then fill the .po in).
"""

from __future__ import annotations

import ast
import gettext
import re
import string
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir, extract_from_file
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from babel.util import pathmatch

from wizard.core import i18n, validate
from wizard.core.catalogue import TITLES, describe
from wizard.core.errors import ClientIdRejectedError
from wizard.core.i18n import DOMAIN, LOCALE_DIR, Text, _

ROOT = Path(__file__).resolve().parents[3]
BABEL_CFG = ROOT / "babel.cfg"
POT = LOCALE_DIR / f"{DOMAIN}.pot"
LANGUAGES = [language for language in i18n.LANGUAGES if language != "en"]
#: Folders whose text goes through Qt Linguist (ui) or is the sandbox's own, never gettext.
NOT_GETTEXT = ("wizard/ui/", "wizard/sandbox/")
CYRILLIC = re.compile("[а-яё]", re.IGNORECASE)
HOW_TO_FIX = "run scripts/i18n.sh, translate the new entries in the .po, then run it again"


@dataclass(frozen=True)
class Found:
    msgid: str
    where: str  # file:line, for the failure message


def po_path(language: str) -> Path:
    return LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def po(language: str) -> Catalog:
    with open(po_path(language), "rb") as handle:
        return read_po(handle, locale=language)


def entries(language: str) -> dict[str, str]:
    """msgid → msgstr of the live (not obsolete) entries, header left out."""
    return {str(m.id): str(m.string) for m in po(language) if m.id}


def mapping() -> list[tuple[str, str]]:
    with open(BABEL_CFG, encoding="utf-8") as handle:
        method_map, _options = parse_mapping_cfg(handle, str(BABEL_CFG))
    return list(method_map)


@cache
def modules_with_messages() -> tuple[str, ...]:
    """Qt-free modules that import ``_`` from wizard.core.i18n (paths relative to the repo)."""
    found = []
    for path in sorted((ROOT / "wizard").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(NOT_GETTEXT):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module == "wizard.core.i18n"
                and any(alias.name == "_" for alias in node.names)
            ):
                found.append(relative)
                break
    return tuple(found)


def covered_by_babel_cfg(relative: str) -> bool:
    return any(pathmatch(pattern, relative) for pattern, method in mapping() if method == "python")


@cache
def extracted() -> tuple[Found, ...]:
    """Every msgid in the current sources: what babel.cfg lists, plus any module it misses
    (that gap fails its own test below, but must not hide untranslated messages)."""
    keywords = {**DEFAULT_KEYWORDS, "_": None}
    found: list[Found] = []
    for filename, lineno, message, _comments, _context in extract_from_dir(
        ROOT, mapping(), keywords=keywords, directory_filter=lambda d: not Path(d).name.startswith((".", "_"))
    ):
        found.append(Found(_msgid(message), f"{filename}:{lineno}"))
    for relative in modules_with_messages():
        if not covered_by_babel_cfg(relative):
            for lineno, message, _comments, _context in extract_from_file(
                "python", ROOT / relative, keywords
            ):
                found.append(Found(_msgid(message), f"{relative}:{lineno}"))
    return tuple(found)


def _msgid(message: str | tuple[str, ...]) -> str:
    return message if isinstance(message, str) else message[0]


def fields(template: str) -> set[tuple[str, str, str]]:
    """The ``{name!conversion:spec}`` fields of a str.format template."""
    return {
        (name, conversion or "", spec or "")
        for _literal, name, spec, conversion in string.Formatter().parse(template)
        if name is not None
    }


def sample(spec: str) -> object:
    return 1.5 if spec and spec[-1] in "eEfFgGn%" else 7 if spec and spec[-1] in "dxXob" else "X"


# --- the sources ------------------------------------------------------------------------


def test_babel_cfg_covers_every_module_with_messages() -> None:
    missing = [m for m in modules_with_messages() if not covered_by_babel_cfg(m)]
    assert missing == [], f"add to babel.cfg: {' '.join(f'[python: {m}]' for m in missing)}"


def test_extraction_finds_the_messages() -> None:
    ids = {found.msgid for found in extracted()}
    assert len(ids) > 150
    assert "Could not connect to {host}." in ids  # core
    assert "Error: {title}." in ids  # cli.py
    assert "All keys are present." in ids  # commands.py


def test_every_message_is_called_with_a_literal_and_its_own_placeholders() -> None:
    """``_(variable)`` cannot be extracted, and a keyword missing from the call leaves a raw
    ``{name}`` on screen; both are mistakes in the English code, reported with file:line."""
    problems = []
    for relative in modules_with_messages():
        tree = ast.parse((ROOT / relative).read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_"):
                continue
            where = f"{relative}:{node.lineno}"
            first = node.args[0] if node.args else None
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                problems.append(f"{where}: the message is not a string literal")
                continue
            names = {name for name, _conv, _spec in fields(first.value)}
            given = {k.arg for k in node.keywords}
            if None not in given and names != given:  # **kwargs cannot be checked
                problems.append(f"{where}: placeholders {sorted(names)} but keywords {sorted(given)}")
    assert problems == []


# --- the catalogue ----------------------------------------------------------------------


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_extracted_message_is_in_the_catalogue(language: str) -> None:
    known = entries(language)
    missing = sorted({f"{f.where}: {f.msgid!r}" for f in extracted() if f.msgid not in known})
    assert missing == [], f"{len(missing)} message(s) not in {po_path(language).name}: {HOW_TO_FIX}"


def test_the_template_is_up_to_date() -> None:
    with open(POT, "rb") as handle:
        template = {str(m.id) for m in read_po(handle) if m.id}
    assert template == {f.msgid for f in extracted()}, HOW_TO_FIX


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_entry_is_empty_fuzzy_or_left_in_english(language: str) -> None:
    catalog = po(language)
    assert not catalog.fuzzy, "the header is marked fuzzy"
    bad = [
        str(m.id)
        for m in catalog
        if m.id and (not m.string or m.fuzzy or m.string == m.id or not CYRILLIC.search(str(m.string)))
    ]
    assert bad == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_are_exactly_those_of_the_english(language: str) -> None:
    wrong = {
        msgid: sorted(fields(msgstr) ^ fields(msgid))
        for msgid, msgstr in entries(language).items()
        if fields(msgstr) != fields(msgid)
    }
    assert wrong == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_translation_formats(language: str) -> None:
    """Text.render falls back to English on a broken translation; none may be broken."""
    for msgid, msgstr in entries(language).items():
        params = {name: sample(spec) for name, _conv, spec in fields(msgid)}
        msgstr.format(**params)


def test_russian_uses_russian_quotes() -> None:
    wrong = [msgid for msgid, msgstr in entries("ru").items() if re.search("[“”„]", msgstr)]
    assert wrong == []
    quoted = [msgid for msgid in entries("ru") if "“" in msgid]
    assert quoted and all("«" in entries("ru")[msgid] for msgid in quoted)


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_committed_mo_matches_the_po(language: str) -> None:
    mo = po_path(language).with_suffix(".mo")
    with open(mo, "rb") as handle:
        compiled = gettext.GNUTranslations(handle)
    catalog = {k: v for k, v in compiled._catalog.items() if k}  # type: ignore[attr-defined]
    assert catalog == entries(language), f"{mo.name} is stale: run scripts/i18n.sh"
    assert compiled.info()["content-type"] == "text/plain; charset=utf-8"


# --- rendering --------------------------------------------------------------------------


def test_the_program_reads_the_compiled_catalogue() -> None:
    assert isinstance(i18n.translations("ru"), gettext.GNUTranslations)
    assert _("Try again.").render("ru") == entries("ru")["Try again."]
    assert _("Try again.").render("en") == "Try again."


@pytest.mark.parametrize("code", sorted(TITLES))
def test_every_title_is_translated(code: str) -> None:
    title = TITLES[code]
    assert title.render("ru") != title.render("en") == str(title)
    assert title.render("ru") == entries("ru")[title.template]


def test_describe_renders_title_explanation_and_fix_in_russian() -> None:
    error = ClientIdRejectedError(
        _("amoCRM does not know this Client ID (integration ID)."),
        _("Copy the integration ID from {where}.", where=validate._WHERE),
    )
    ru, en = describe(error, "ru"), describe(error, "en")
    where = entries("ru")["Settings → Integrations → your integration → Keys and scopes"]
    assert ru.title == entries("ru")["amoCRM does not know this Client ID"]
    assert ru.explanation == entries("ru")["amoCRM does not know this Client ID (integration ID)."]
    assert ru.fix == entries("ru")["Copy the integration ID from {where}."].format(where=where)
    assert "Ключи и доступы" in ru.fix and en.fix == str(error.hint)


def test_nested_text_params_render_in_the_same_language() -> None:
    inner = _("Could not connect to {host}.", host="mycompany.amocrm.ru")
    outer = _("Error: {title}.", title=inner)
    assert str(outer) == "Error: Could not connect to mycompany.amocrm.ru.."
    assert outer.render("en") == str(outer)
    ru = entries("ru")
    expected = ru["Error: {title}."].format(
        title=ru["Could not connect to {host}."].format(host="mycompany.amocrm.ru")
    )
    assert outer.render("ru") == expected
    # Two levels down, and a plain string parameter beside a Text one.
    deep = _("What to do: {hint}", hint=_("Copy the secret key from {where}.", where=validate._WHERE))
    assert "Настройки → Интеграции" in deep.render("ru") and deep.render("ru").startswith(
        ru["What to do: {hint}"].split("{")[0]
    )
    assert isinstance(outer, Text) and isinstance(outer, str)
