"""The trimming rules of build.spec (installer/trim.py), on the three platforms' bundle layouts."""

from __future__ import annotations

import pytest

from tests.packaging._load import installer_module

trim = installer_module("trim")


@pytest.mark.parametrize(
    "dest",
    [
        "PySide6/Qt/lib/libQt6WebEngineCore.so.6",
        "PySide6/Qt/libexec/QtWebEngineProcess",
        "PySide6/Qt/resources/qtwebengine_resources.pak",
        "PySide6/Qt/resources/icudtl.dat",
        "PySide6/Qt/resources/v8_context_snapshot.bin",
        "PySide6/Qt/translations/qtwebengine_locales/en-US.pak",
        "PySide6/Qt/translations/qtwebengine_locales/ru.pak",
        "PySide6/Qt/translations/qtbase_ru.qm",
        "PySide6/Qt/translations/qtwebengine_ru.qm",
        "PySide6/Qt/plugins/platforms/libqxcb.so",
        "PySide6/Qt/plugins/platforms/libqwayland.so",
        "PySide6/Qt/plugins/platforms/libqoffscreen.so",
        "PySide6/Qt/plugins/platforminputcontexts/libcomposeplatforminputcontextplugin.so",
        "PySide6/Qt/plugins/imageformats/libqsvg.so",
        "PySide6/Qt/plugins/xcbglintegrations/libqxcb-glx-integration.so",
        "PySide6/Qt/plugins/tls/libqopensslbackend.so",
        # Windows
        "PySide6\\plugins\\platforms\\qwindows.dll",
        "PySide6\\plugins\\styles\\qmodernwindowsstyle.dll",
        "PySide6\\translations\\qtwebengine_locales\\ru.pak",
        "PySide6\\QtWebEngineProcess.exe",
        # macOS
        "PySide6/Qt/plugins/platforms/libqcocoa.dylib",
        "PySide6/Qt/lib/QtWebEngineCore.framework/Resources/qtwebengine_locales/en-US.pak",
        # the app's own files are never touched
        "resources/translations/amocrm_wizard_ru.qm",
        "wizard/locale/ru/LC_MESSAGES/amocrm_wizard.mo",
        "qml/whatever.qml",
    ],
)
def test_kept(dest: str) -> None:
    assert trim.drop_reason(dest) is None


@pytest.mark.parametrize(
    "dest",
    [
        "PySide6/Qt/qml/QtQuick/Controls/libqtquickcontrols2plugin.so",
        "PySide6\\qml\\QtWebEngine\\qmldir",
        "PySide6/Qt/resources/qtwebengine_devtools_resources.pak",
        "PySide6/Qt/lib/QtWebEngineCore.framework/Resources/qtwebengine_devtools_resources.pak",
        "PySide6/Qt/translations/qtwebengine_locales/de.pak",
        "PySide6/Qt/lib/QtWebEngineCore.framework/Resources/qtwebengine_locales/fr.pak",
        "PySide6/Qt/translations/qtbase_de.qm",
        "PySide6/Qt/translations/qt_ru.qm",
        "PySide6/Qt/translations/qtdeclarative_ru.qm",
        "PySide6\\translations\\qtbase_uk.qm",
        "PySide6/Qt/plugins/platforms/libqeglfs.so",
        "PySide6/Qt/plugins/platforms/libqvnc.so",
        "PySide6/Qt/plugins/egldeviceintegrations/libqeglfs-kms-integration.so",
        "PySide6/Qt/plugins/printsupport/libcupsprintersupport.so",
        "PySide6/Qt/plugins/imageformats/libqpdf.so",
        "PySide6/Qt/plugins/imageformats/libqtiff.so",
        "PySide6/Qt/plugins/platforminputcontexts/libqtvirtualkeyboardplugin.so",
        "PySide6/Qt/plugins/generic/libqevdevtouchplugin.so",
        "PySide6\\plugins\\platforms\\qdirect2d.dll",
    ],
)
def test_dropped(dest: str) -> None:
    assert trim.drop_reason(dest)


def test_excluded_bindings_keep_what_the_web_view_needs() -> None:
    available = {
        "QtCore",
        "QtGui",
        "QtWidgets",
        "QtNetwork",
        "QtPrintSupport",
        "QtWebChannel",
        "QtWebEngineCore",
        "QtWebEngineWidgets",
        "QtQuick",
        "QtQml",
        "Qt3DCore",
        "QtMultimedia",
    }
    assert trim.excluded_pyside_modules(available) == [
        "PySide6.Qt3DCore",
        "PySide6.QtMultimedia",
        "PySide6.QtQml",
        "PySide6.QtQuick",
    ]


@pytest.mark.parametrize(
    ("dest", "name"),
    [
        ("PySide6/Qt/lib/libQt6Quick.so.6", "Quick"),
        ("libQt6Pdf.so.6", "Pdf"),
        ("PySide6\\Qt6WebEngineCore.dll", "WebEngineCore"),
        ("PySide6/Qt/lib/QtGui.framework/Versions/A/QtGui", "Gui"),
        ("PySide6/Qt/lib/QtGui.framework/Resources/Info.plist", "Gui"),
        ("@rpath/QtCore.framework/Versions/A/QtCore", "Core"),
        ("PySide6/QtCore.abi3.so", None),
        ("PySide6/QtCore.pyd", None),
        ("PySide6/Qt/plugins/platforms/libqxcb.so", None),
        ("PySide6/Qt/lib/libicudata.so.73", None),
    ],
)
def test_qt_library_name(dest: str, name: str | None) -> None:
    assert trim.qt_library_name(dest) == name


def test_prune_orphans_follows_links_from_the_roots() -> None:
    links = {
        "/src/QtWebEngineWidgets.abi3.so": ["libQt6WebEngineWidgets.so.6", "libQt6Core.so.6"],
        "/src/libQt6WebEngineWidgets.so.6": ["libQt6Quick.so.6", "libQt6Core.so.6"],
        "/src/libQt6Quick.so.6": ["libQt6Qml.so.6"],
        "/src/libQt6Qml.so.6": ["libQt6Core.so.6"],
        "/src/libQt6Core.so.6": ["libc.so.6"],
        "/src/libQt6Pdf.so.6": ["libQt6Core.so.6"],  # only the dropped qpdf plugin linked it
    }
    binaries = [
        (f"PySide6/Qt/lib/{src.rsplit('/', 1)[1]}", src, "BINARY") for src in links if "abi3" not in src
    ]
    binaries.append(("PySide6/QtWebEngineWidgets.abi3.so", "/src/QtWebEngineWidgets.abi3.so", "EXTENSION"))
    datas = [
        ("libQt6Pdf.so.6", "PySide6/Qt/lib/libQt6Pdf.so.6", "SYMLINK"),
        ("libQt6Core.so.6", "PySide6/Qt/lib/libQt6Core.so.6", "SYMLINK"),
        ("PySide6/Qt/translations/qtbase_ru.qm", "/src/qtbase_ru.qm", "DATA"),
    ]
    kept_binaries, kept_datas, dropped = trim.prune_orphans(binaries, datas, lambda src: links[src])
    assert dropped == ["Pdf"]
    assert {e[0].rsplit("/", 1)[-1] for e in kept_binaries} == {
        "libQt6WebEngineWidgets.so.6",
        "libQt6Quick.so.6",
        "libQt6Qml.so.6",
        "libQt6Core.so.6",
        "QtWebEngineWidgets.abi3.so",
    }
    assert [e[0] for e in kept_datas] == ["libQt6Core.so.6", "PySide6/Qt/translations/qtbase_ru.qm"]


@pytest.mark.parametrize(
    ("src", "system"),
    [
        ("/usr/lib/x86_64-linux-gnu/libX11.so.6", True),
        ("/lib/x86_64-linux-gnu/libglib-2.0.so.0", True),
        ("/usr/lib/x86_64-linux-gnu/libpython3.11.so.1.0", False),
        ("/work/.venv/lib/python3.11/site-packages/PySide6/Qt/lib/libicudata.so.73", False),
        ("/usr/lib/python3/dist-packages/PySide6/Qt/lib/libQt6Core.so.6", False),
        ("/root/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0", False),
        ("/opt/hostedtoolcache/Python/3.11.9/x64/lib/libpython3.11.so.1.0", False),
    ],
)
def test_system_libraries(src: str, system: bool) -> None:
    assert trim.is_system_library(src, src) is system


def test_dangling_symlinks_go() -> None:
    binaries = [("PySide6/Qt/lib/libQt6Core.so.6", "/src/libQt6Core.so.6", "BINARY")]
    datas = [
        ("libQt6Core.so.6", "PySide6/Qt/lib/libQt6Core.so.6", "SYMLINK"),
        ("libX11.so.6", "PySide6/Qt/lib/../../../libX11-real.so.6", "SYMLINK"),
        ("PySide6/Qt/lib/QtCore.framework/Versions/Current", "A", "SYMLINK"),
        ("PySide6/Qt/lib/QtCore.framework/Versions/A/QtCore", "/src/QtCore", "DATA"),
    ]
    kept = trim.drop_dangling_symlinks(binaries, datas)
    assert [e[0] for e in kept] == [
        "libQt6Core.so.6",
        "PySide6/Qt/lib/QtCore.framework/Versions/Current",
        "PySide6/Qt/lib/QtCore.framework/Versions/A/QtCore",
    ]


def test_the_lazy_pyside6_runtime_hook_replaces_the_builtin_one() -> None:
    """installer/hooks/rthooks.dat must name PySide6, or PyInstaller's hook imports QtCore on every start."""
    import ast

    from tests.packaging._load import INSTALLER, ROOT

    table = ast.literal_eval((INSTALLER / "hooks" / "rthooks.dat").read_text("utf-8"))
    assert table == {"PySide6": ["pyi_rth_pyside6_lazy.py"]}
    hook = (INSTALLER / "hooks" / "rthooks" / "pyi_rth_pyside6_lazy.py").read_text("utf-8")
    assert "import PySide6" not in hook and "QtCore\n" not in hook
    assert 'ROOT / "installer" / "hooks"' in (ROOT / "build.spec").read_text("utf-8")
