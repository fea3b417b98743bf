"""installer/build.py without building anything: the .deb's layout, control fields and texts."""

from __future__ import annotations

import configparser
import os
import shutil
from pathlib import Path

import pytest

from tests.packaging._load import ROOT, installer_module

build = installer_module("build")

needs_dpkg = pytest.mark.skipif(shutil.which("dpkg") is None, reason="needs dpkg (Debian/Ubuntu)")


def fake_bundle(folder: Path) -> Path:
    bundle = folder / "amocrm-wizard"
    helper = bundle / "_internal" / "PySide6" / "Qt" / "libexec" / "QtWebEngineProcess"
    helper.parent.mkdir(parents=True)
    for path in (bundle / "amocrm-wizard", helper):
        path.write_bytes(b"\x7fELF fake")
        path.chmod(0o700)
    (bundle / "_internal" / "base_library.zip").write_bytes(b"zip")
    return bundle


@needs_dpkg
def test_stage_deb_lays_out_the_package(tmp_path: Path) -> None:
    root = tmp_path / "root"
    fields = {"Depends": "libc6 (>= 2.35), libnss3", "Recommends": "xdg-utils", "Suggests": ""}
    build.stage_deb(fake_bundle(tmp_path), root, "1.2.3", fields)

    link = root / "usr" / "bin" / "amocrm-wizard"
    assert link.is_symlink() and not os.path.isabs(os.readlink(link))
    assert link.resolve() == (root / "opt" / "amocrm-wizard" / "amocrm-wizard").resolve()
    for size in build.ICON_SIZES:
        assert (root / f"usr/share/icons/hicolor/{size}x{size}/apps/amocrm-wizard.png").is_file()
    assert (root / "usr/share/icons/hicolor/scalable/apps/amocrm-wizard.svg").is_file()
    assert (root / "usr/share/doc/amocrm-wizard/copyright").is_file()

    control = dict(
        line.split(": ", 1)
        for line in (root / "DEBIAN" / "control").read_text("utf-8").splitlines()
        if line and not line.startswith(" ")
    )
    assert control["Package"] == "amocrm-wizard"
    assert control["Version"] == "1.2.3"
    assert control["Depends"] == "libc6 (>= 2.35), libnss3"
    assert "Suggests" not in control  # empty fields are left out
    assert int(control["Installed-Size"]) > 0
    assert (root / "DEBIAN" / "conffiles").read_text() == "/etc/apparmor.d/amocrm-wizard\n"
    for script in ("postinst", "prerm"):
        assert (root / "DEBIAN" / script).stat().st_mode & 0o777 == 0o755
        assert (root / "DEBIAN" / script).read_text().startswith("#!/bin/sh\nset -e\n")
    # modes do not depend on the umask of the build
    assert (root / "opt/amocrm-wizard/amocrm-wizard").stat().st_mode & 0o777 == 0o755
    assert (root / "opt/amocrm-wizard/_internal/base_library.zip").stat().st_mode & 0o777 == 0o644

    profile = (root / "etc" / "apparmor.d" / "amocrm-wizard").read_text("utf-8")
    assert "abi <abi/4.0>," in profile and "include <tunables/global>" in profile
    assert "profile amocrm-wizard /opt/amocrm-wizard/amocrm-wizard flags=(unconfined) {" in profile
    assert (
        "profile amocrm-wizard-webengine /opt/amocrm-wizard/_internal/PySide6/Qt/libexec/QtWebEngineProcess"
        " flags=(unconfined) {" in profile
    )
    assert profile.count("userns,") == 2
    assert "include if exists <local/amocrm-wizard>" in profile


def test_desktop_entry() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read_string(build.DESKTOP_ENTRY.format(name="amocrm-wizard"))
    desktop = entry["Desktop Entry"]
    assert desktop["Type"] == "Application"
    assert desktop["Exec"] == "amocrm-wizard"
    assert desktop["Icon"] == "amocrm-wizard"
    assert desktop["Terminal"] == "false"
    assert desktop["Categories"].endswith(";")
    assert desktop["Name[ru]"]


@pytest.mark.parametrize(
    ("package", "expected"),
    [
        ("libasound2t64", "libasound2t64 | libasound2"),
        ("libnss3", "libnss3"),
        ("libglib2.0-0t64", "libglib2.0-0t64 | libglib2.0-0"),
    ],
)
def test_time64_renames_get_the_old_name_as_alternative(package: str, expected: str) -> None:
    assert build._alternatives(package) == expected


def test_dependency_fields(monkeypatch: pytest.MonkeyPatch) -> None:
    owners = {
        "/usr/lib/x86_64-linux-gnu/libc.so.6": "libc6",
        "/usr/lib/x86_64-linux-gnu/libnss3.so": "libnss3",
        "/usr/lib/x86_64-linux-gnu/libasound.so.2.0.0": "libasound2t64",
        "/usr/lib/x86_64-linux-gnu/libwayland-client.so.0.22.0": "libwayland-client0",
    }
    monkeypatch.setattr(build, "owning_packages", lambda paths: ({p: owners[p] for p in paths}, []))
    scan = build.LibraryScan(
        required={p: {"x"} for p in list(owners)[:3]},
        optional={"/usr/lib/x86_64-linux-gnu/libwayland-client.so.0.22.0": {"wayland"}},
        missing_optional={"libgtk-3.so.0": {"platformthemes/libqgtk3.so"}},
        glibc=(2, 35),
    )
    fields = build.dependency_fields(scan)
    assert fields["Depends"] == "libasound2t64 | libasound2, libc6 (>= 2.35), libnss3"
    recommends = fields["Recommends"].split(", ")
    assert "libwayland-client0" in recommends
    assert "libgtk-3-0t64 | libgtk-3-0" in recommends
    assert "xdg-utils" in recommends


def test_a_missing_required_library_stops_the_build() -> None:
    scan = build.LibraryScan(
        missing_required={"libnss3.so": {"_internal/PySide6/Qt/lib/libQt6WebEngineCore.so.6"}}
    )
    with pytest.raises(SystemExit, match=r"libnss3\.so"):
        build.dependency_fields(scan)


@pytest.mark.parametrize(
    ("relative", "root", "optional"),
    [
        ("amocrm-wizard", True, False),
        ("_internal/PySide6/Qt/libexec/QtWebEngineProcess", True, False),
        ("_internal/libpython3.11.so.1.0", True, False),
        ("_internal/PySide6/QtCore.abi3.so", True, False),
        ("_internal/python3.11/lib-dynload/_ssl.cpython-311-x86_64-linux-gnu.so", True, False),
        ("_internal/PySide6/Qt/plugins/platforms/libqxcb.so", True, False),
        ("_internal/PySide6/Qt/plugins/platforms/libqwayland.so", False, True),
        ("_internal/PySide6/Qt/plugins/platformthemes/libqgtk3.so", False, True),
        (
            "_internal/PySide6/Qt/lib/libQt6WaylandClient.so.6",
            False,
            False,
        ),  # required only if a root links it
    ],
)
def test_roots_and_optional_plugins(relative: str, root: bool, optional: bool) -> None:
    assert build._is_root(Path(relative)) is root
    assert build._is_optional_plugin(Path(relative)) is optional


def test_inno_setup_script_installs_per_user() -> None:
    script = (ROOT / "installer" / "windows.iss").read_text("utf-8")
    assert "PrivilegesRequired=lowest" in script
    assert r"DefaultDirName={localappdata}\Programs\amocrm-wizard" in script
    assert "[Icons]" in script and "{userprograms}" in script
    assert "OutputBaseFilename=amocrm-wizard-{#AppVersion}-setup" in script
    for define in ("AppVersion", "SourceDir", "OutputDir", "IconFile"):
        assert f"#ifndef {define}" in script  # build.py passes each with /D
    assert "amocrm-wizard.exe" in script
