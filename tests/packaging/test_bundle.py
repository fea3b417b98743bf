"""Checks on a built bundle (and .deb): what trimming left, and that nothing it needs is gone.

Skipped unless ``AMOCRM_WIZARD_BUNDLE`` names a bundle folder (``dist/amocrm-wizard`` or the
``opt/amocrm-wizard`` of an unpacked .deb); ``scripts/package_test.sh`` sets it, and
``AMOCRM_WIZARD_DEB`` for the package's size.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.packaging._load import ROOT, installer_module

BUNDLE = os.environ.get("AMOCRM_WIZARD_BUNDLE", "")
DEB = os.environ.get("AMOCRM_WIZARD_DEB", "")
MIB = 2**20
MAX_BUNDLE_MIB = 420
MAX_DEB_MIB = 135

pytestmark = pytest.mark.skipif(not BUNDLE, reason="set AMOCRM_WIZARD_BUNDLE to a built bundle")


@pytest.fixture(scope="module")
def bundle() -> Path:
    path = Path(BUNDLE)
    assert (path / "_internal").is_dir(), f"{path} is not a PyInstaller onedir bundle"
    return path


def files(bundle: Path) -> list[Path]:
    return [p for p in bundle.rglob("*") if p.is_file() or p.is_symlink()]


def size_mib(bundle: Path) -> float:
    return sum(p.lstat().st_size for p in bundle.rglob("*") if not p.is_dir()) / MIB


def test_size_target(bundle: Path) -> None:
    assert size_mib(bundle) <= MAX_BUNDLE_MIB


@pytest.mark.skipif(not DEB, reason="set AMOCRM_WIZARD_DEB to the built .deb")
def test_deb_size_target() -> None:
    assert Path(DEB).stat().st_size / MIB <= MAX_DEB_MIB


def test_webengine_is_complete(bundle: Path) -> None:
    names = {p.name for p in files(bundle)}
    for needed in (
        "QtWebEngineProcess",
        "qtwebengine_resources.pak",
        "icudtl.dat",
        "v8_context_snapshot.bin",
    ):
        assert needed in names or f"{needed}.exe" in names, needed


def test_trimmed(bundle: Path) -> None:
    everything = files(bundle)
    assert not [p for p in everything if "qml" in p.relative_to(bundle).parts]
    assert not [p for p in everything if p.name == "qtwebengine_devtools_resources.pak"]
    locales = {p.name for p in everything if p.parent.name == "qtwebengine_locales"}
    assert locales == {"en-US.pak", "ru.pak"}
    qt_catalogues = {
        p.name for p in everything if p.suffix == ".qm" and "PySide6" in p.relative_to(bundle).parts
    }
    assert qt_catalogues <= {"qtbase_ru.qm", "qtwebengine_ru.qm"}
    assert "qtbase_ru.qm" in qt_catalogues
    unused = (
        "Pdf",
        "Quick3D",
        "Multimedia",
        "Charts",
        "3DCore",
        "Location",
        "DataVisualization",
        "VirtualKeyboard",
    )
    for module in unused:
        assert not [
            p for p in everything if p.name.startswith((f"libQt6{module}.", f"Qt6{module}.", f"Qt{module}."))
        ]
    bindings = {p.name.split(".")[0] for p in (bundle / "_internal" / "PySide6").glob("Qt*.*")}
    assert bindings <= installer_module("trim").KEEP_PYSIDE_MODULES


def test_app_data(bundle: Path) -> None:
    internal = bundle / "_internal"
    assert (internal / "resources" / "icons" / "amocrm-wizard-256.png").is_file()
    assert list((internal / "wizard" / "locale").glob("*/LC_MESSAGES/amocrm_wizard.mo"))
    # build.spec bundles every committed Qt Linguist catalogue, as built (wizard/ui/texts.py loads them)
    for ts in (ROOT / "resources" / "translations").glob("*.ts"):
        bundled = internal / "resources" / "translations" / f"{ts.stem}.qm"
        assert bundled.read_bytes() == ts.with_suffix(".qm").read_bytes(), ts.name


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="ELF and ldd")
def test_every_required_library_resolves(bundle: Path) -> None:
    """ldd on every ELF file: nothing the app loads for sure is missing, and no system copy is bundled."""
    build = installer_module("build")
    scan = build.scan_libraries(bundle)
    assert scan.missing_required == {}
    bundled = {p.name for p in files(bundle)}
    for system in ("libX11.so.6", "libglib-2.0.so.0", "libnss3.so", "libstdc++.so.6", "libfontconfig.so.1"):
        assert system not in bundled, f"{system} is the system's; the .deb depends on it instead"
