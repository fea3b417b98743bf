"""The *.amocrm-setup registration each installer carries (installer/filetype.py), checked in
the generated files: the Windows and macOS installers cannot be built here, and the .deb's is
also tested by installing it (scripts/package_test.sh)."""

from __future__ import annotations

import configparser
import fnmatch
import plistlib
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.packaging._load import ROOT, installer_module
from tests.packaging.test_installer import fake_bundle
from wizard import setupfile
from wizard.cli import _setup_file_as_option

filetype = installer_module("filetype")
build = installer_module("build")
MIME_NS = "{http://www.freedesktop.org/standards/shared-mime-info}"


def test_the_names_are_the_wizards() -> None:
    assert (filetype.SUFFIX, filetype.MIME_TYPE) == (setupfile.SUFFIX, setupfile.MIME_TYPE)


def test_the_shared_mime_info_package() -> None:
    root = ET.fromstring(filetype.MIME_PACKAGE)
    mime_type = root.find(f"{MIME_NS}mime-type")
    assert mime_type is not None and mime_type.get("type") == "application/x-amocrm-setup"
    globs = [g.get("pattern") for g in mime_type.findall(f"{MIME_NS}glob")]
    assert globs == ["*.amocrm-setup"] and fnmatch.fnmatch("backend.amocrm-setup", globs[0])
    assert mime_type.find(f"{MIME_NS}comment") is not None


def test_the_hidden_desktop_entry_runs_setup_with_the_file() -> None:
    entry = configparser.ConfigParser(interpolation=None)
    entry.optionxform = str  # type: ignore[assignment,method-assign]
    entry.read_string(filetype.SETUP_DESKTOP_ENTRY)
    desktop = entry["Desktop Entry"]
    assert desktop["Exec"] == "amocrm-wizard --setup %f"
    assert desktop["MimeType"] == "application/x-amocrm-setup;"
    assert desktop["NoDisplay"] == "true" and desktop["Type"] == "Application"
    assert "%" not in build.DESKTOP_ENTRY  # the menu's launcher stays file-less


@pytest.mark.skipif(shutil.which("dpkg") is None, reason="needs dpkg (Debian/Ubuntu)")
def test_the_deb_carries_both(tmp_path: Path) -> None:
    root = tmp_path / "root"
    build.stage_deb(fake_bundle(tmp_path), root, "1.2.3", {"Depends": "libc6"})
    assert (root / "usr/share/mime/packages/amocrm-wizard.xml").read_text("utf-8") == filetype.MIME_PACKAGE
    desktop = root / "usr/share/applications/amocrm-wizard-setup.desktop"
    assert desktop.read_text("utf-8") == filetype.SETUP_DESKTOP_ENTRY
    assert desktop.stat().st_mode & 0o777 == 0o644
    if shutil.which("desktop-file-validate"):
        import subprocess

        subprocess.run(["desktop-file-validate", str(desktop)], check=True)


def test_the_inno_setup_script_registers_the_type_per_user() -> None:
    script = (ROOT / "installer" / "windows.iss").read_text("utf-8")
    assert "ChangesAssociations=yes" in script
    section = script.split("[Registry]", 1)[1].split("\n[", 1)[0]
    keys = re.findall(
        r'^Root: HKA; Subkey: "([^"]+)"; ValueType: string; ValueName: "([^"]*)"; ValueData: "(.*?)"(?:;|$)',
        section,
        re.M,
    )
    values = {(key, name): data for key, name, data in keys}
    assert values[(r"Software\Classes\.amocrm-setup", "")] == "AmocrmWizard.Setup"
    assert values[(r"Software\Classes\.amocrm-setup", "Content Type")] == "application/x-amocrm-setup"
    # Inno Setup doubles quotes inside a quoted value: the command is "<exe>" --setup "%1".
    assert values[(r"Software\Classes\AmocrmWizard.Setup\shell\open\command", "")] == (
        '""{app}\\{#AppExe}"" --setup ""%1""'
    )
    assert "uninsdeletekey" in section


def test_the_macos_info_plist_declares_and_claims_the_type() -> None:
    info = plistlib.loads(plistlib.dumps(filetype.mac_info_plist()))  # a valid property list
    declared = info["UTExportedTypeDeclarations"][0]
    assert declared["UTTypeTagSpecification"]["public.filename-extension"] == ["amocrm-setup"]
    assert declared["UTTypeTagSpecification"]["public.mime-type"] == ["application/x-amocrm-setup"]
    claimed = info["CFBundleDocumentTypes"][0]
    assert claimed["LSItemContentTypes"] == [declared["UTTypeIdentifier"]]
    assert claimed["LSHandlerRank"] == "Owner"
    spec = (ROOT / "build.spec").read_text("utf-8")
    assert "**filetype.mac_info_plist()" in spec and "argv_emulation=IS_MAC" in spec


def test_a_lone_setup_file_on_the_command_line_means_setup() -> None:
    assert _setup_file_as_option(["/Users/a/backend.amocrm-setup"]) == [
        "--setup",
        "/Users/a/backend.amocrm-setup",
    ]
    assert _setup_file_as_option(["connect"]) == ["connect"]
    assert _setup_file_as_option(["--env", "x.amocrm-setup"]) == ["--env", "x.amocrm-setup"]
