"""Turn the PyInstaller bundle in ``dist/`` into this platform's installer.

    python installer/build.py            # after: pyinstaller --noconfirm build.spec

- Linux: ``dist/amocrm-wizard_<version>_<arch>.deb`` (``dpkg-deb --root-owner-group``, xz):
  the bundle in ``/opt/amocrm-wizard``, ``/usr/bin/amocrm-wizard``, a ``.desktop`` launcher,
  hicolor icons, an AppArmor profile for Ubuntu 24.04's user-namespace restriction, and
  ``Depends:`` derived from the bundle itself (``ldd`` on every ELF file, ``dpkg -S`` on what
  it resolves outside the bundle).
- Windows: ``dist/amocrm-wizard-<version>-setup.exe`` from ``installer/windows.iss`` (Inno Setup's
  ``iscc`` on PATH or in its default folder).
- macOS: ``dist/amocrm-wizard-<version>.dmg`` from ``dist/amocrm-wizard.app`` with ``hdiutil``.

Only standard library; no network.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "installer"))

import filetype  # noqa: E402  (installer/filetype.py: the *.amocrm-setup registration)

NAME = "amocrm-wizard"
PREFIX = f"/opt/{NAME}"
ICONS = ROOT / "resources" / "icons"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
MAINTAINER = os.environ.get("DEB_MAINTAINER", "amocrm-wizard maintainers <maintainers@amocrm-wizard.invalid>")

# Libraries that only optional plugins need become Recommends, not Depends: without them Qt
# simply skips the plugin (the GTK theme, IBus, Wayland, NetworkManager, ...).
OPTIONAL_PLUGIN_DIRS = (
    "platformthemes",
    "platforminputcontexts",
    "wayland-shell-integration",
    "wayland-decoration-client",
    "wayland-graphics-integration-client",
    "networkinformation",
    "iconengines",
    "imageformats",
    "tls",
)
# Sonames an optional plugin may need that the build host need not have installed.
KNOWN_OPTIONAL = {
    "libgtk-3.so.0": "libgtk-3-0t64 | libgtk-3-0",
    "libgdk-3.so.0": "libgtk-3-0t64 | libgtk-3-0",
    "libwayland-cursor.so.0": "libwayland-cursor0",
    "libwayland-client.so.0": "libwayland-client0",
    "libwayland-egl.so.1": "libwayland-egl1",
}
# Not libraries, but what a desktop run wants: fonts for the web view, xdg-open for links.
RECOMMENDS_ALWAYS = ("fonts-dejavu-core | fonts-liberation2 | fonts-noto-core", "xdg-utils")
SUGGESTS = ("gnome-keyring | kwalletmanager",)  # a Secret Service for the saved client secret

DESKTOP_ENTRY = """\
[Desktop Entry]
Type=Application
Version=1.0
Name=amoCRM Wizard
Name[ru]=Мастер amoCRM
GenericName=amoCRM connection setup
GenericName[ru]=Подключение amoCRM
Comment=Connect an amoCRM or Kommo account to your backend
Comment[ru]=Подключить аккаунт amoCRM или Kommo к вашему бэкенду
Exec={name}
Icon={name}
Terminal=false
Categories=Office;
Keywords=amoCRM;Kommo;OAuth;CRM;token;
StartupNotify=true
StartupWMClass={name}
"""

# Ubuntu 23.10+ only lets profiles with the ``userns`` rule create unprivileged user
# namespaces, which Chromium's sandbox needs. The zygote that creates them is the
# QtWebEngineProcess helper, not the main binary, so it gets its own (equally unconfined)
# profile: exec from an unconfined-mode profile does not carry ``userns`` over.
# https://ubuntu.com/blog/ubuntu-23-10-restricted-unprivileged-user-namespaces
APPARMOR_PROFILE = """\
# AppArmor profiles for {name}: no confinement, only permission to create the user
# namespaces Chromium's sandbox (in QtWebEngine) uses. Installed by the {name} package.
abi <abi/4.0>,
include <tunables/global>

profile {name} {prefix}/{name} flags=(unconfined) {{
  userns,

  # Site-specific additions and overrides. See local/README for details.
  include if exists <local/{name}>
}}

profile {name}-webengine {prefix}/{helper} flags=(unconfined) {{
  userns,

  include if exists <local/{name}-webengine>
}}
"""

POSTINST = """\
#!/bin/sh
set -e
# Load the AppArmor profile now (the service loads it on later boots).
if [ "$1" = configure ] && [ -x /usr/sbin/apparmor_parser ] && [ -d /sys/kernel/security/apparmor ]; then
    apparmor_parser -r -T -W /etc/apparmor.d/{name} || true
fi
exit 0
"""

PRERM = """\
#!/bin/sh
set -e
if [ "$1" = remove ] && [ -x /usr/sbin/apparmor_parser ] && [ -d /sys/kernel/security/apparmor ]; then
    apparmor_parser -R /etc/apparmor.d/{name} >/dev/null 2>&1 || true
fi
exit 0
"""


def version() -> str:
    text = (ROOT / "wizard" / "__init__.py").read_text("utf-8")
    match = re.search(r'__version__ = "([^"]+)"', text)
    if not match:
        raise SystemExit("wizard/__init__.py has no __version__")
    return match.group(1)


def run(command: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    print("+ " + " ".join(command), flush=True)
    return subprocess.run(command, check=True, text=True, **kwargs)  # type: ignore[call-overload,no-any-return]


# --- Linux: the .deb ---------------------------------------------------------------------


def is_elf(path: Path) -> bool:
    try:
        with path.open("rb") as handle:
            return handle.read(4) == b"\x7fELF"
    except OSError:
        return False


def elf_files(bundle: Path) -> list[Path]:
    return sorted(p for p in bundle.rglob("*") if p.is_file() and not p.is_symlink() and is_elf(p))


@dataclass
class LibraryScan:
    """Which libraries outside the bundle its ELF files link, split by who needs them."""

    required: dict[str, set[str]] = field(default_factory=dict)  # resolved system path -> needers
    optional: dict[str, set[str]] = field(default_factory=dict)
    missing_required: dict[str, set[str]] = field(default_factory=dict)  # soname -> needers
    missing_optional: dict[str, set[str]] = field(default_factory=dict)
    glibc: tuple[int, ...] = (0,)


_LDD_LINE = re.compile(r"^\s*(\S+)\s*=>\s*(not found|\S+)")
_GLIBC = re.compile(r"GLIBC_(\d+(?:\.\d+)+)")
_NEEDED = re.compile(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]")


def _is_optional_plugin(relative: Path) -> bool:
    parts = relative.parts
    for i in range(len(parts) - 2):
        if parts[i] == "plugins":
            kind, name = parts[i + 1], parts[-1]
            return kind in OPTIONAL_PLUGIN_DIRS or (kind == "platforms" and "wayland" in name)
    return False


def _is_root(relative: Path) -> bool:
    """What the app loads for sure: executables, Python and its extension modules, core plugins."""
    name = relative.name
    if "plugins" in relative.parts:
        return not _is_optional_plugin(relative)
    if ".so" not in name:
        return True  # amocrm-wizard, QtWebEngineProcess
    return name.startswith("libpython") or ".cpython-" in name or ".abi3.so" in name


def _ldd(path: Path, env: dict[str, str]) -> dict[str, str]:
    result = subprocess.run(["ldd", str(path)], capture_output=True, text=True, env=env, check=False)
    found = {}
    for line in result.stdout.splitlines():
        match = _LDD_LINE.match(line)
        if match:
            soname, target = match.groups()
            found[soname] = target if target == "not found" else os.path.realpath(target)
    return found


def _readelf(path: Path) -> tuple[list[str], tuple[int, ...]]:
    """The sonames ``path`` links directly (DT_NEEDED), and the newest GLIBC_ version it uses."""
    command = ["readelf", "--dynamic", "--version-info", "--wide", str(path)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    glibc = max((tuple(int(n) for n in v.split(".")) for v in _GLIBC.findall(result.stdout)), default=(0,))
    return _NEEDED.findall(result.stdout), glibc


def scan_libraries(bundle: Path) -> LibraryScan:
    """``ldd`` every ELF file of the bundle, the bundle's own folders first on the search path.

    ``ldd`` lists the whole closure, so whatever a root (see ``_is_root``) reaches is required;
    libraries that only optional plugins reach (Wayland, the GTK theme, ...) are optional.
    Dependencies are named for the libraries a bundle file links directly, like
    dpkg-shlibdeps does: what those pull in is their packages' business.
    """
    scan = LibraryScan()
    files = elf_files(bundle)
    lib_dirs = sorted({str(p.parent) for p in files if ".so" in p.name})
    env = dict(os.environ, LD_LIBRARY_PATH=os.pathsep.join(lib_dirs))
    bundle_real = str(bundle.resolve()) + os.sep
    links = {path: _ldd(path, env) for path in files}
    required_files = {path for path in files if _is_root(path.relative_to(bundle))}
    reached = {Path(t) for path in required_files for t in links[path].values() if t.startswith(bundle_real)}
    required_files |= {path for path in files if Path(os.path.realpath(path)) in reached}
    for path in files:
        who = str(path.relative_to(bundle))
        required = path in required_files
        needed, glibc = _readelf(path)
        if required:
            scan.glibc = max(scan.glibc, glibc)
        for soname in needed:
            if soname.startswith("ld-linux"):
                continue  # the dynamic loader: libc6, which the C library itself brings in
            target = links[path].get(soname, "not found")
            if target == "not found":
                book = scan.missing_required if required else scan.missing_optional
                book.setdefault(soname, set()).add(who)
            elif not target.startswith(bundle_real):
                book = scan.required if required else scan.optional
                book.setdefault(target, set()).add(who)
    for path in list(scan.optional):  # a library both kinds need is required
        if path in scan.required:
            scan.required[path] |= scan.optional.pop(path)
    for soname in list(scan.missing_optional):
        if soname in scan.missing_required:
            scan.missing_required[soname] |= scan.missing_optional.pop(soname)
    return scan


def _path_variants(path: str) -> list[str]:
    """dpkg knows a file by the path its package shipped it at; merged /usr makes two names for it."""
    variants = [path]
    for a, b in (("/usr/lib/", "/lib/"), ("/lib/", "/usr/lib/")):
        if path.startswith(a):
            variants.append(b + path[len(a) :])
    return variants


def owning_packages(paths: Iterable[str]) -> tuple[dict[str, str], list[str]]:
    """``{path: package}`` via ``dpkg -S``, and the paths no package owns."""
    owners: dict[str, str] = {}
    unowned: list[str] = []
    for path in sorted(set(paths)):
        for candidate in _path_variants(path):
            result = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True, check=False)
            lines = [line for line in result.stdout.splitlines() if not line.startswith("diversion")]
            if result.returncode == 0 and lines:
                package = lines[0].split(":", 1)[0].split(",")[0].strip()
                owners[path] = package
                break
        else:
            unowned.append(path)
    return owners, unowned


def _alternatives(package: str) -> str:
    """Ubuntu 24.04's 64-bit-time renames (libasound2t64, ...) with the old name as the alternative."""
    if package.endswith("t64"):
        return f"{package} | {package[: -len('t64')]}"
    return package


def dependency_fields(scan: LibraryScan) -> dict[str, str]:
    if scan.missing_required:
        listed = "\n".join(
            f"  {so}: needed by {', '.join(sorted(who))}" for so, who in sorted(scan.missing_required.items())
        )
        raise SystemExit(f"These libraries are not installed here, so the .deb cannot name them:\n{listed}")
    required, unowned = owning_packages(scan.required)
    if unowned:
        raise SystemExit(f"No Debian package owns {', '.join(unowned)}: cannot express it as a dependency.")
    optional, _unowned_optional = owning_packages(scan.optional)
    depends = {_alternatives(p) for p in required.values()}
    libc = next((d for d in depends if d == "libc6"), None)
    if libc and scan.glibc > (0,):
        depends.discard(libc)
        depends.add(f"libc6 (>= {'.'.join(map(str, scan.glibc))})")
    recommends = {_alternatives(p) for p in optional.values()} - depends
    for soname in scan.missing_optional:
        if soname in KNOWN_OPTIONAL:
            recommends.add(KNOWN_OPTIONAL[soname])
        else:
            print(f"warning: {soname} (optional) is not installed here; not in Recommends", file=sys.stderr)
    recommends |= set(RECOMMENDS_ALWAYS)
    return {
        "Depends": ", ".join(sorted(depends)),
        "Recommends": ", ".join(sorted(recommends)),
        "Suggests": ", ".join(SUGGESTS),
    }


def _normalise_modes(root: Path) -> None:
    """0755 folders and executables, 0644 everything else, whatever the umask of the build was."""
    for path in [root, *root.rglob("*")]:
        if path.is_symlink():
            continue
        if path.is_dir():
            path.chmod(0o755)
        else:
            executable = path.stat().st_mode & stat.S_IXUSR
            path.chmod(0o755 if executable else 0o644)


def _installed_size_kib(root: Path) -> int:
    total = 0
    for path in root.rglob("*"):
        if "DEBIAN" in path.relative_to(root).parts[:1]:
            continue
        total += path.lstat().st_size if not path.is_dir() else 4096
    return (total + 1023) // 1024


def deb_architecture() -> str:
    result = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True)
    return result.stdout.strip()


def webengine_helper(bundle: Path) -> Path:
    found = sorted(bundle.rglob("QtWebEngineProcess"))
    if not found:
        raise SystemExit(f"{bundle} has no QtWebEngineProcess: was it built with build.spec?")
    return found[0].relative_to(bundle)


def stage_deb(bundle: Path, root: Path, version_text: str, fields: dict[str, str]) -> None:
    if root.exists():
        shutil.rmtree(root)
    opt = root / PREFIX.lstrip("/")
    shutil.copytree(bundle, opt, symlinks=True)
    (root / "usr" / "bin").mkdir(parents=True)
    # Relative, so that the link also works in a `dpkg -x` root (the package test runs it there).
    os.symlink(os.path.relpath(opt / NAME, root / "usr" / "bin"), root / "usr" / "bin" / NAME)

    applications = root / "usr" / "share" / "applications"
    applications.mkdir(parents=True)
    (applications / f"{NAME}.desktop").write_text(DESKTOP_ENTRY.format(name=NAME), "utf-8")
    filetype.stage_deb(root)
    hicolor = root / "usr" / "share" / "icons" / "hicolor"
    for size in ICON_SIZES:
        target = hicolor / f"{size}x{size}" / "apps"
        target.mkdir(parents=True)
        shutil.copyfile(ICONS / f"{NAME}-{size}.png", target / f"{NAME}.png")
    (hicolor / "scalable" / "apps").mkdir(parents=True)
    shutil.copyfile(ICONS / f"{NAME}.svg", hicolor / "scalable" / "apps" / f"{NAME}.svg")

    apparmor = root / "etc" / "apparmor.d"
    apparmor.mkdir(parents=True)
    helper = webengine_helper(bundle).as_posix()
    (apparmor / NAME).write_text(APPARMOR_PROFILE.format(name=NAME, prefix=PREFIX, helper=helper), "utf-8")

    doc = root / "usr" / "share" / "doc" / NAME
    doc.mkdir(parents=True)
    license_file = ROOT / "LICENSE"
    copyright_text = license_file.read_text("utf-8") if license_file.exists() else "MIT License.\n"
    (doc / "copyright").write_text(f"amocrm-wizard {version_text}\n\n{copyright_text}", "utf-8")

    control_dir = root / "DEBIAN"
    control_dir.mkdir()
    _normalise_modes(root)
    control = {
        "Package": NAME,
        "Version": version_text,
        "Architecture": deb_architecture(),
        "Maintainer": MAINTAINER,
        "Installed-Size": str(_installed_size_kib(root)),
        **{k: v for k, v in fields.items() if v},
        "Section": "utils",
        "Priority": "optional",
        "Description": "set-up wizard that connects amoCRM or Kommo to a backend\n"
        " amocrm-wizard walks an admin through connecting an amoCRM or Kommo account to a\n"
        " backend over OAuth 2.0 and stores the tokens in a .env file or a database. It\n"
        " also has a headless command line for scripts (connect, check, test, refresh,\n"
        " status) and a built-in sandbox for trying it out.",
    }
    (control_dir / "control").write_text("".join(f"{k}: {v}\n" for k, v in control.items()), "utf-8")
    (control_dir / "conffiles").write_text(f"/etc/apparmor.d/{NAME}\n", "utf-8")
    for script, text in (("postinst", POSTINST), ("prerm", PRERM)):
        (control_dir / script).write_text(text.format(name=NAME), "utf-8")
        (control_dir / script).chmod(0o755)
    for name in ("control", "conffiles"):
        (control_dir / name).chmod(0o644)
    control_dir.chmod(0o755)


def build_deb(bundle: Path, out_dir: Path, version_text: str, work: Path, level: int) -> Path:
    print(f"Scanning {bundle} for the system libraries it links ...", flush=True)
    fields = dependency_fields(scan_libraries(bundle))
    for key, value in fields.items():
        print(f"  {key}: {value}")
    root = work / "root"
    stage_deb(bundle, root, version_text, fields)
    out_dir.mkdir(parents=True, exist_ok=True)
    deb = out_dir / f"{NAME}_{version_text}_{deb_architecture()}.deb"
    run(["dpkg-deb", "--root-owner-group", "-Zxz", f"-z{level}", "--build", str(root), str(deb)])
    return deb


# --- Windows: Inno Setup ---------------------------------------------------------------


def find_iscc() -> str:
    found = shutil.which("iscc") or shutil.which("ISCC")
    if found:
        return found
    for base in (os.environ.get("PROGRAMFILES(X86)"), os.environ.get("PROGRAMFILES")):
        if base and (Path(base) / "Inno Setup 6" / "ISCC.exe").exists():
            return str(Path(base) / "Inno Setup 6" / "ISCC.exe")
    raise SystemExit("Inno Setup's iscc was not found: install Inno Setup 6 (`choco install innosetup`).")


def build_windows(bundle: Path, out_dir: Path, version_text: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    run(
        [
            find_iscc(),
            f"/DAppVersion={version_text}",
            f"/DSourceDir={bundle}",
            f"/DOutputDir={out_dir}",
            f"/DIconFile={ICONS / (NAME + '.ico')}",
            str(ROOT / "installer" / "windows.iss"),
        ]
    )
    return out_dir / f"{NAME}-{version_text}-setup.exe"


# --- macOS: the .dmg -----------------------------------------------------------------


def build_dmg(app: Path, out_dir: Path, version_text: str) -> Path:
    if not app.is_dir():
        raise SystemExit(f"{app} is missing: build.spec makes it on macOS.")
    out_dir.mkdir(parents=True, exist_ok=True)
    dmg = out_dir / f"{NAME}-{version_text}.dmg"
    with tempfile.TemporaryDirectory() as folder:
        staging = Path(folder) / "amoCRM Wizard"
        staging.mkdir()
        run(["ditto", str(app), str(staging / app.name)])  # ditto keeps the bundle's symlinks and signatures
        os.symlink("/Applications", staging / "Applications")
        if dmg.exists():
            dmg.unlink()
        run(
            [
                "hdiutil",
                "create",
                "-volname",
                "amoCRM Wizard",
                "-srcfolder",
                str(staging),
                "-fs",
                "HFS+",
                "-format",
                "UDZO",
                "-imagekey",
                "zlib-level=9",
                "-ov",
                str(dmg),
            ]
        )
    return dmg


# --- command line ----------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist", help="PyInstaller's dist folder")
    parser.add_argument("--out", type=Path, default=None, help="where the installer goes (default: --dist)")
    parser.add_argument("--work", type=Path, default=ROOT / "build" / "installer", help="staging folder")
    parser.add_argument("--xz-level", type=int, default=9, choices=range(10), help=".deb xz level")
    options = parser.parse_args(argv)
    dist = options.dist.resolve()
    out = (options.out or dist).resolve()
    version_text = version()
    bundle = dist / NAME
    if sys.platform.startswith("linux"):
        if not (bundle / NAME).is_file():
            raise SystemExit(f"{bundle / NAME} is missing: run `pyinstaller --noconfirm build.spec` first.")
        result = build_deb(bundle, out, version_text, options.work.resolve(), options.xz_level)
    elif sys.platform == "win32":
        if not (bundle / f"{NAME}.exe").is_file():
            raise SystemExit(f"{bundle}\\{NAME}.exe is missing: run `pyinstaller build.spec` first.")
        result = build_windows(bundle, out, version_text)
    elif sys.platform == "darwin":
        result = build_dmg(dist / f"{NAME}.app", out, version_text)
    else:
        raise SystemExit(f"No installer format for {sys.platform}.")
    size = result.stat().st_size / 2**20
    print(f"Built {result} ({size:.1f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
