"""The wizard in the admin's language: Qt Linguist catalogues, the live switch, and texts
that re-render themselves when the language changes.

Our own strings go through ``tr()`` and ``resources/translations/amocrm_wizard_<lang>.qm``
(compiled from the ``.ts`` by ``pyside6-lrelease`` and committed, as the ``.mo`` is; compiled
here on the fly only if it is missing). Qt's own strings (QWizard's Back/Next/Cancel, the file
dialog) come from qtbase's catalogue. The core's messages are gettext ``Text`` values
rendered at display time by :func:`wizard.core.i18n.render`; :func:`switch_language` moves
both worlds at once.

After changing a UI string:

    .venv/bin/pyside6-lupdate wizard/ui/*.py wizard/app.py \
        -ts resources/translations/amocrm_wizard_ru.ts -no-obsolete

then translate the new entries (Qt Linguist, or by hand) so that none is left unfinished,
and compile it (``scripts/setup.sh`` does, or ``pyside6-lrelease <ts> -qm <qm>``) and commit the
``.qm``. ``tests/end2end/test_gui_structure.py`` checks that the catalogue matches the sources,
``tests/packaging/test_qt_catalogue.py`` that the ``.qm`` matches the catalogue.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from PySide6.QtCore import QCoreApplication, QEvent, QTranslator

from wizard.core import i18n
from wizard.core.i18n import Text

log = logging.getLogger("amocrm_wizard")

CATALOGUE = "amocrm_wizard"
#: How each language names itself on the switch (never translated).
LANGUAGE_NAMES = {"en": "English", "ru": "Русский"}

_translators: dict[str, list[QTranslator]] = {}
_installed: list[QTranslator] = []


# --- where the catalogues are -------------------------------------------------------------


def resource_dirs() -> list[Path]:
    """``resources/`` of the frozen build (``sys._MEIPASS``), of an installed wheel, of the repo.

    A wheel carries the repo's top-level ``resources/`` as ``wizard/resources`` (mapped by
    ``package-dir`` in pyproject.toml); a checkout, or an editable install of one, has it
    beside the package.
    """
    dirs = []
    frozen = getattr(sys, "_MEIPASS", None)
    if frozen:
        dirs.append(Path(frozen) / "resources")
    package = Path(__file__).resolve().parent.parent
    dirs += [package / "resources", package.parent / "resources"]
    return dirs


def find_resource(*parts: str) -> Path | None:
    for folder in resource_dirs():
        path = folder.joinpath(*parts)
        if path.exists():
            return path
    return None


def set_app_icon() -> None:
    """The app icon at every rendered size, unless the program has one (the wizard embedded).

    Called once the first window is painted and QtWebEngine has done its first load: QIcon's
    first use costs about 10 ms (its enums are built then) that neither the first window
    nor Chromium, which needs the main thread while it loads, should wait for; the window
    manager takes the icon when it comes. QIcon reads each file only when that size is drawn.
    """
    from PySide6.QtGui import QGuiApplication, QIcon

    app = QCoreApplication.instance()
    if not isinstance(app, QGuiApplication) or not app.windowIcon().isNull():
        return
    icon = QIcon()
    for size in (16, 24, 32, 48, 64, 128, 256):
        path = find_resource("icons", f"amocrm-wizard-{size}.png")
        if path is not None:
            icon.addFile(str(path))
    QGuiApplication.setWindowIcon(icon)


def catalogue_path(language: str) -> Path | None:
    """Our compiled catalogue for ``language``; compiled from the .ts here if it is missing."""
    name = f"{CATALOGUE}_{language}"
    found = find_resource("translations", name + ".qm")
    if found is not None:
        return found
    source = find_resource("translations", name + ".ts")
    if source is None:
        log.warning("No translation for %s (%s.qm not found); the wizard speaks English", language, name)
        return None
    return _compile(source)


def _lrelease() -> str | None:
    import shutil

    beside = Path(sys.executable).with_name("pyside6-lrelease")
    if beside.exists():
        return str(beside)
    return shutil.which("pyside6-lrelease") or shutil.which("lrelease")


def _compile(source: Path) -> Path | None:
    import subprocess
    import tempfile

    tool = _lrelease()
    if tool is None:
        log.warning("%s is not compiled and pyside6-lrelease is missing; the wizard speaks English", source)
        return None
    for folder in (source.parent, Path(tempfile.gettempdir()) / "amocrm-wizard-translations"):
        target = folder / (source.stem + ".qm")
        try:
            folder.mkdir(parents=True, exist_ok=True)
            done = subprocess.run(
                [tool, "-silent", str(source), "-qm", str(target)],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            log.warning("Could not compile %s: %s", source, exc)
            continue
        if done.returncode == 0 and target.exists():
            log.info("Compiled %s to %s", source.name, target)
            return target
        log.warning("Could not compile %s into %s: %s", source, folder, done.stderr.strip())
    return None


def _load(language: str) -> list[QTranslator]:
    if language in _translators:
        return _translators[language]
    loaded: list[QTranslator] = []
    if language != "en":
        ours = catalogue_path(language)
        if ours is not None:
            translator = QTranslator()
            if translator.load(str(ours)):
                loaded.append(translator)
            else:
                log.warning("Could not load %s; the wizard speaks English", ours)
        from PySide6.QtCore import QLibraryInfo

        qt_dir = QLibraryInfo.path(QLibraryInfo.LibraryPath.TranslationsPath)
        for name in ("qtbase", "qtwebengine"):
            translator = QTranslator()
            if translator.load(f"{name}_{language}", qt_dir):
                loaded.append(translator)
            elif name == "qtbase":
                log.warning("Qt's own %s catalogue is missing from %s", language, qt_dir)
    _translators[language] = loaded
    return loaded


# --- switching ----------------------------------------------------------------------------


def switch_language(language: str) -> None:
    """Speak ``language`` everywhere now: Qt's strings, ours, and the core's messages.

    Every widget gets a ``LanguageChange`` event before this returns, so pages have
    re-rendered their texts by then.
    """
    if language not in i18n.LANGUAGES:
        raise ValueError(f"unsupported language {language!r}")
    app = QCoreApplication.instance()
    i18n.set_language(language)
    if app is None:
        return
    wanted = _load(language)
    for translator in _installed:
        QCoreApplication.removeTranslator(translator)
    _installed.clear()
    for translator in wanted:
        QCoreApplication.installTranslator(translator)
        _installed.append(translator)
    if not wanted:
        # Nothing installed: Qt sends no LanguageChange of its own, so send one.
        QCoreApplication.sendEvent(app, QEvent(QEvent.Type.LanguageChange))
    QCoreApplication.sendPostedEvents(None, QEvent.Type.LanguageChange)


def current_language() -> str:
    return i18n.current_language()


#: Where the admin's own choice of language is kept for the next start (QSettings key).
SETTINGS_LANGUAGE = "ui/language"


def remember_language(language: str) -> None:
    """Keep the language the admin chose on the switch, for the next start."""
    from PySide6.QtCore import QSettings

    QSettings("amocrm-wizard", "amocrm-wizard").setValue(SETTINGS_LANGUAGE, language)


def startup_language() -> str:
    """The language to start in: AMOCRM_WIZARD_LANG if set, else the admin's last choice on
    the switch, else the system's."""
    import os

    from PySide6.QtCore import QSettings

    if os.environ.get(i18n.LANGUAGE_ENV, "").lower() in i18n.LANGUAGES:
        return i18n.current_language()
    remembered = str(QSettings("amocrm-wizard", "amocrm-wizard").value(SETTINGS_LANGUAGE, "") or "")
    return remembered if remembered in i18n.LANGUAGES else i18n.current_language()


def translate(language: str, context: str, source: str) -> str:
    """``source`` in ``language`` from our catalogue, whatever language is installed now."""
    if language == "en":
        return source
    for translator in _load(language):
        found = translator.translate(context, source)
        if found:
            return found
    return source


class UiText(Text):
    """A message the UI makes (a job's error, a note) that renders in any language later.

    Mark the source with ``QT_TRANSLATE_NOOP("Messages", ...)`` so lupdate finds it.
    """

    context = "Messages"

    def render(self, language: str | None = None) -> str:
        lang = language or i18n.current_language()
        template = translate(lang, self.context, self.template)
        params = {k: (v.render(lang) if isinstance(v, Text) else v) for k, v in self.params.items()}
        try:
            return template.format(**params) if params else template
        except (KeyError, IndexError, ValueError):
            return str(self)


def ui_text(source: object, **params: Any) -> UiText:
    # PySide's stubs type QT_TRANSLATE_NOOP as returning object; it returns its source text.
    assert isinstance(source, str)
    return UiText(source, **params)


# --- texts that follow the language --------------------------------------------------------

Maker = Callable[[], str]


class Texts:
    """Text setters bound to the functions that make their text in the current language.

    ``bind(label.setText, lambda: self.tr("…"))`` sets the text now and again on every
    language change (:meth:`refresh`). Binding the same setter again replaces the
    earlier function, so dynamic texts (a status that changes) follow the language too.
    """

    def __init__(self) -> None:
        self._bound: dict[tuple[int, str, tuple[Any, ...]], tuple[Callable[[str], Any], Maker]] = {}

    def bind(self, setter: Callable[..., Any], make: Maker, *args: Any) -> None:
        """``setter(*args, make())`` now and on every language change."""
        owner = getattr(setter, "__self__", None)
        key = (id(owner), getattr(setter, "__name__", repr(setter)), args)
        call = partial(setter, *args) if args else setter
        self._bound[key] = (call, make)
        call(make())

    def refresh(self) -> None:
        for call, make in list(self._bound.values()):
            call(make())


def text_of(value: str | Maker) -> str:
    return value() if callable(value) else value
