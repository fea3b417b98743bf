"""What ``build.spec`` leaves out of the frozen bundle, as pure rules over destination paths.

PyInstaller's PySide6 hooks collect far more than the wizard uses: every QML plugin the
QtQuick library could load (QtWebEngineCore links Qt Quick), the translations of every Qt
module in every language, all WebEngine UI locales, the DevTools front end and platform
plugins for embedded displays. The rules below drop those entries from the Analysis TOC
lists (the documented way to post-process a spec's TOCs, see PyInstaller's "Using Spec
Files" manual), then ``prune_orphans`` removes Qt libraries that no kept binary links any
more. The Qt libraries that QtWebEngineCore itself links (Quick, QML, WebChannel,
Positioning, OpenGL, ...) are therefore kept however unused they look.

Each rule was checked by building the bundle and running ``--self-test``, ``connect`` and
``--demo`` from it (``scripts/package_test.sh``); ``tests/packaging`` checks that every ELF
file in the bundle still resolves all of its libraries.

Paths are TOC destination names (relative to the bundle's ``_internal`` folder), compared
with forward slashes so the same rules serve the Linux (``PySide6/Qt/...``), Windows
(``PySide6/...``) and macOS (``PySide6/Qt/lib/*.framework/...``) layouts.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath

# PySide6 Python modules the app imports, directly or through another binding's imports
# (QtWebEngineWidgets imports QtPrintSupport and QtWebChannel at load time). Every other
# PySide6.Qt* module goes into Analysis(excludes=...), which also stops its hook from
# collecting its plugins, QML files and translations.
KEEP_PYSIDE_MODULES = frozenset(
    {
        "QtCore",
        "QtGui",
        "QtWidgets",
        "QtNetwork",
        "QtPrintSupport",
        "QtWebChannel",
        "QtWebEngineCore",
        "QtWebEngineWidgets",
    }
)

# Qt's own translations: only what a Russian UI needs from Qt (standard buttons and dialogs
# from qtbase, the web view's context menu from qtwebengine). Our own catalogues live elsewhere.
KEEP_QT_TRANSLATIONS = frozenset({"qtbase_ru.qm", "qtwebengine_ru.qm"})

# Chromium's UI strings (error pages, context menus): English is the fallback it always needs.
KEEP_WEBENGINE_LOCALES = frozenset({"en-US.pak", "ru.pak"})

# Plugin folders and, within them, the plugins that stay (fnmatch on the file name without
# the lib prefix and the suffix). Folders not listed are dropped whole.
KEEP_PLUGINS: dict[str, tuple[str, ...]] = {
    # xcb and Wayland for desktops, offscreen/minimal for --self-test and CI, windows, cocoa.
    "platforms": ("qxcb", "qwayland*", "qoffscreen", "qminimal", "qwindows", "qcocoa"),
    "platformthemes": ("*",),  # GTK and portal dialogs on Linux
    # compose keys and IBus (typing into the fields); not the virtual keyboard, a QML plugin
    "platforminputcontexts": ("composeplatforminputcontextplugin", "ibusplatforminputcontextplugin"),
    "xcbglintegrations": ("*",),  # GL on X11: WebEngine's compositor
    "wayland-shell-integration": ("*",),
    "wayland-decoration-client": ("*",),
    "wayland-graphics-integration-client": ("*",),
    "iconengines": ("qsvgicon",),  # themed (SVG) icons of the desktop
    # SVG and ICO only: the app's icons are PNG (built into QtGui), themes may use SVG; web
    # content is decoded by Chromium itself. Not qpdf (it pulls QtPdf), jpeg, gif, tiff, webp, ...
    "imageformats": ("qsvg", "qico"),
    "tls": ("*",),
    "networkinformation": ("*",),
    "styles": ("*",),  # qmodernwindowsstyle on Windows
}

DEVTOOLS = "qtwebengine_devtools_resources.pak"

_PLUGIN_NAME = re.compile(r"^(?:lib)?(?P<name>[^.]+)")
_QT_LIBRARY = re.compile(r"^(?:lib)?Qt6(?P<name>[A-Za-z0-9]+)(?:\.so\.6|\.dll|)$")


def excluded_pyside_modules(available: Iterable[str]) -> list[str]:
    """``PySide6.QtX`` names for ``Analysis(excludes=...)``: every binding the app does not use."""
    return sorted(f"PySide6.{name}" for name in set(available) - KEEP_PYSIDE_MODULES)


def _in_pyside(parts: tuple[str, ...]) -> bool:
    return bool(parts) and parts[0] == "PySide6"


def drop_reason(dest: str) -> str | None:
    """Why the TOC entry with this destination is left out, or ``None`` to keep it."""
    path = PurePosixPath(dest.replace("\\", "/"))
    parts = path.parts
    if not _in_pyside(parts):
        return None
    name = path.name
    if "qml" in parts:
        return "QML plugins and imports (the app has no QML)"
    if name == DEVTOOLS:
        return "WebEngine DevTools front end"
    if path.parent.name == "qtwebengine_locales" and name not in KEEP_WEBENGINE_LOCALES:
        return "WebEngine UI locale other than en-US and ru"
    if "translations" in parts and name.endswith(".qm") and name not in KEEP_QT_TRANSLATIONS:
        return "Qt translation other than qtbase/qtwebengine ru"
    if "plugins" in parts:
        index = parts.index("plugins")
        if len(parts) > index + 2:
            kind = parts[index + 1]
            keep = KEEP_PLUGINS.get(kind)
            if keep is None:
                return f"Qt plugin type {kind!r} unused"
            match = _PLUGIN_NAME.match(name)
            base = match.group("name") if match else name
            if not any(fnmatch.fnmatchcase(base, pattern) for pattern in keep):
                return f"Qt {kind} plugin {base!r} unused"
    return None


def qt_library_name(dest: str) -> str | None:
    """``Quick`` for ``.../libQt6Quick.so.6``, ``Qt6Quick.dll`` or ``.../QtQuick.framework/...``."""
    path = PurePosixPath(dest.replace("\\", "/"))
    for part in path.parts:
        if part.startswith("Qt") and part.endswith(".framework"):
            return part[2 : -len(".framework")]
    match = _QT_LIBRARY.match(path.name)
    return match.group("name") if match else None


def prune_orphans(
    binaries: list[tuple[str, str, str]],
    datas: list[tuple[str, str, str]],
    imports_of: Callable[[str], Iterable[str]],
) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]], list[str]]:
    """Drop Qt libraries that no kept binary needs any more (transitively).

    ``imports_of(src)`` lists the library file names a binary links. Everything that is not a
    Qt library (extension modules, plugins, QtWebEngineProcess, Python itself) is a root; a Qt
    library stays when a root, or a kept Qt library, links it. On macOS a dropped framework's
    data files (its ``Resources``) go with it.
    """
    libraries: dict[str, list[tuple[str, str, str]]] = {}
    roots: list[tuple[str, str, str]] = []
    for entry in binaries:
        name = qt_library_name(entry[0])
        if name is None:
            roots.append(entry)
        else:
            libraries.setdefault(name, []).append(entry)

    def needed(entries: Iterable[tuple[str, str, str]]) -> set[str]:
        found: set[str] = set()
        for _dest, src, _kind in entries:
            for lib in imports_of(src):
                name = qt_library_name(lib)
                if name is not None:
                    found.add(name)
        return found

    kept: set[str] = set()
    frontier = needed(roots) & libraries.keys()
    while frontier:
        kept |= frontier
        frontier = (needed(e for n in frontier for e in libraries[n]) & libraries.keys()) - kept
    dropped = sorted(libraries.keys() - kept)
    out_binaries = [e for e in binaries if qt_library_name(e[0]) not in dropped]
    # datas hold the top-level SYMLINK entries to the libraries and, on macOS, the frameworks' Resources.
    out_datas = [e for e in datas if qt_library_name(e[0]) not in dropped]
    return out_binaries, out_datas, dropped


SYSTEM_LIBRARY_DIRS = ("/lib/", "/lib64/", "/usr/lib/", "/usr/lib64/")


def is_system_library(src: str, resolved: str) -> bool:
    """On Linux: a library of the OS (from a distribution package) rather than of the venv.

    PyInstaller bundles most of them (libX11, glib, NSS, fontconfig, libstdc++, ...). The
    ``.deb`` takes them from the system instead, through ``Depends:`` (``installer/build.py``
    derives the list with ``ldd`` and ``dpkg -S``): the build host's copies of glib or
    libstdc++ clash with the system's GTK, Mesa and NSS modules that get loaded next to them,
    and the pip-installed PySide6 runs with the system's copies anyway. Python's own library
    stays even when the interpreter came from the distribution: the target has no Python 3.11.
    """
    if PurePosixPath(resolved).name.startswith("libpython"):
        return False
    if any(folder in path for path in (src, resolved) for folder in ("/site-packages/", "/dist-packages/")):
        return False  # a wheel's own copy (PySide6's Qt and ICU, psycopg_binary.libs, ...)
    return resolved.startswith(SYSTEM_LIBRARY_DIRS) or src.startswith(SYSTEM_LIBRARY_DIRS)


def drop_dangling_symlinks(
    binaries: list[tuple[str, str, str]], datas: list[tuple[str, str, str]]
) -> list[tuple[str, str, str]]:
    """SYMLINK entries (in ``datas``) whose target was trimmed away."""
    present = {PurePosixPath(e[0].replace("\\", "/")) for e in binaries + datas}
    present |= {p for path in list(present) for p in path.parents}
    kept = []
    for entry in datas:
        if entry[2] == "SYMLINK":
            dest = PurePosixPath(entry[0].replace("\\", "/"))
            target = _normalise(dest.parent / entry[1].replace("\\", "/"))
            if target not in present:
                continue
        kept.append(entry)
    return kept


def _normalise(path: PurePosixPath) -> PurePosixPath:
    parts: list[str] = []
    for part in path.parts:
        if part == "..":
            if parts:
                parts.pop()
        elif part != ".":
            parts.append(part)
    return PurePosixPath(*parts)
