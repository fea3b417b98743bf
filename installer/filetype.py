"""The ``*.amocrm-setup`` file type, registered by every installer to run
``amocrm-wizard --setup FILE`` (contract: setup files).

- Linux (.deb): a shared-mime-info package file and a second, hidden desktop entry whose
  ``Exec`` takes the file. A hidden entry of its own because ``%f`` in the main launcher would
  leave a bare ``--setup`` when the wizard is started from the menu. dpkg's triggers of
  shared-mime-info and desktop-file-utils update their caches, so no maintainer script is needed.
- Windows: the [Registry] section of ``installer/windows.iss`` (per user, HKCU\\Software\\Classes).
- macOS: ``CFBundleDocumentTypes`` and ``UTExportedTypeDeclarations`` for build.spec's
  Info.plist; Finder hands the file over as an open-document event, which PyInstaller's argv
  emulation turns into the path on the command line, read as ``--setup`` by ``wizard.cli``.

Only standard library: build.spec and installer/build.py import it.
"""

from __future__ import annotations

from pathlib import Path

NAME = "amocrm-wizard"
SUFFIX = ".amocrm-setup"  # wizard.setupfile.SUFFIX
MIME_TYPE = "application/x-amocrm-setup"  # wizard.setupfile.MIME_TYPE
UTI = "io.github.amocrm-wizard.setup"
DESCRIPTION = "amoCRM Wizard setup"
DESCRIPTION_RU = "Настройка мастера amoCRM"

MIME_PACKAGE = f"""\
<?xml version="1.0" encoding="UTF-8"?>
<mime-info xmlns="http://www.freedesktop.org/standards/shared-mime-info">
  <mime-type type="{MIME_TYPE}">
    <comment>{DESCRIPTION}</comment>
    <comment xml:lang="ru">{DESCRIPTION_RU}</comment>
    <sub-class-of type="text/plain"/>
    <generic-icon name="{NAME}"/>
    <glob pattern="*{SUFFIX}"/>
  </mime-type>
</mime-info>
"""

SETUP_DESKTOP_ENTRY = f"""\
[Desktop Entry]
Type=Application
Version=1.0
Name=amoCRM Wizard (setup file)
Name[ru]=Мастер amoCRM (файл настройки)
Comment=Open an amoCRM Wizard setup prepared by the backend's developer
Comment[ru]=Открыть настройку мастера amoCRM, подготовленную разработчиком бэкенда
Exec={NAME} --setup %f
Icon={NAME}
Terminal=false
NoDisplay=true
MimeType={MIME_TYPE};
StartupWMClass={NAME}
"""


def stage_deb(root: Path) -> None:
    """Put the MIME package and the hidden desktop entry into a .deb's staging root."""
    mime = root / "usr" / "share" / "mime" / "packages"
    mime.mkdir(parents=True, exist_ok=True)
    (mime / f"{NAME}.xml").write_text(MIME_PACKAGE, "utf-8")
    applications = root / "usr" / "share" / "applications"
    applications.mkdir(parents=True, exist_ok=True)
    (applications / f"{NAME}-setup.desktop").write_text(SETUP_DESKTOP_ENTRY, "utf-8")


def mac_info_plist() -> dict[str, object]:
    """The keys build.spec adds to the .app's Info.plist."""
    return {
        "CFBundleDocumentTypes": [
            {
                "CFBundleTypeName": DESCRIPTION,
                "CFBundleTypeRole": "Viewer",
                "LSHandlerRank": "Owner",
                "LSItemContentTypes": [UTI],
            }
        ],
        "UTExportedTypeDeclarations": [
            {
                "UTTypeIdentifier": UTI,
                "UTTypeDescription": DESCRIPTION,
                "UTTypeConformsTo": ["public.plain-text", "public.data"],
                "UTTypeTagSpecification": {
                    "public.filename-extension": [SUFFIX.lstrip(".")],
                    "public.mime-type": [MIME_TYPE],
                },
            }
        ],
    }
