"""The frozen app against a bare PySide6 + QtWebEngine bundle, and against running from source.

    python bench/bench_bundle.py [--runs 5] [--rebuild-bare | --reuse-bare] [--skip-start]

Needs the app built first (``scripts/package.sh``: ``dist/amocrm-wizard`` and, on Linux, the
``.deb``). The baseline is ``installer/bare_webengine.py`` (imports QtWebEngineWidgets, shows a
view) frozen with ``build.spec -- --bare``: the same PyInstaller options, no trimming. It is
built once into ``build/bench-bare/`` with its own ``.deb`` (same dpkg-deb xz settings), and
rebuilt only when the spec, the script, PySide6 or PyInstaller change.

1. Sizes: bundle on disk (apparent size of every file) and ``.deb``, ours / bare as ratios,
   broken down by what takes the space.
2. Start, frozen vs source (``.venv/bin/amocrm-wizard``), medians of interleaved fresh runs:
   - ``--version``: interpreter and CLI start, no Qt;
   - ``--self-test`` (offscreen): start → QtWebEngine up → consent page loaded → exit, the
     frozen equivalent of bench_gui's "consent page loaded" race (bench_gui's first-paint
     filter cannot be injected into a frozen binary);
   - ``--demo`` first window: start → the wizard's top-level window is mapped on an Xvfb
     display (polled with xwininfo), when Xvfb and xwininfo are installed.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAME = "amocrm-wizard"
BARE = "bare-webengine"
BARE_DIR = ROOT / "build" / "bench-bare"
MIB = 2**20
IS_LINUX = sys.platform.startswith("linux")


# --- building and measuring ------------------------------------------------------------------


def _venv_bin(name: str) -> Path:
    folder = Path(sys.executable).parent
    return folder / (name + (".exe" if sys.platform == "win32" else ""))


def _bare_stamp() -> str:
    import PyInstaller
    import PySide6

    digest = hashlib.sha256()
    for path in (ROOT / "build.spec", ROOT / "installer" / "bare_webengine.py"):
        digest.update(path.read_bytes())
    digest.update(f"{PySide6.__version__} {PyInstaller.__version__} {sys.version}".encode())
    return digest.hexdigest()


def build_bare(force: bool, reuse: bool) -> tuple[Path, Path | None]:
    """The bare bundle (and its .deb on Linux), from the cache when nothing changed."""
    bundle = BARE_DIR / "dist" / BARE
    deb = BARE_DIR / f"{BARE}.deb" if IS_LINUX else None
    stamp_file = BARE_DIR / "stamp"
    stamp = _bare_stamp()
    cached = stamp_file.exists() and (reuse or stamp_file.read_text() == stamp) and bundle.is_dir()
    if cached and (deb is None or deb.exists()) and not force:
        print(f"bare bundle: cached in {BARE_DIR.relative_to(ROOT)}/")
        return bundle, deb
    print("bare bundle: building (once; cached in build/bench-bare/) ...", flush=True)
    nice = ["nice", "-n", "10"] if shutil.which("nice") else []
    command = [
        *nice,
        sys.executable,
        "-m",
        "PyInstaller",
        "--noconfirm",
        "--log-level",
        "WARN",
        "--distpath",
        str(BARE_DIR / "dist"),
        "--workpath",
        str(BARE_DIR / "work"),
        str(ROOT / "build.spec"),
        "--",
        "--bare",
    ]
    subprocess.run(command, check=True, cwd=ROOT)
    if deb is not None:
        _bare_deb(bundle, deb, nice)
    stamp_file.write_text(stamp)
    return bundle, deb


def _bare_deb(bundle: Path, deb: Path, nice: list[str]) -> None:
    """The bare bundle packed like ours: /opt, dpkg-deb --root-owner-group, xz -9."""
    root = BARE_DIR / "deb-root"
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(bundle, root / "opt" / BARE, symlinks=True)
    (root / "DEBIAN").mkdir()
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True, check=True).stdout
    (root / "DEBIAN" / "control").write_text(
        f"Package: {BARE}\nVersion: 0\nArchitecture: {arch.strip()}\nMaintainer: bench <bench@invalid>\n"
        "Description: untrimmed PySide6 + QtWebEngine bundle (benchmark baseline)\n"
    )
    subprocess.run(
        [*nice, "dpkg-deb", "--root-owner-group", "-Zxz", "-z9", "--build", str(root), str(deb)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    shutil.rmtree(root)


CATEGORIES: tuple[tuple[str, Callable[[Path], bool]], ...] = (
    (
        "QtWebEngineCore library",
        lambda p: (
            p.name.startswith(("libQt6WebEngineCore.", "Qt6WebEngineCore."))
            or (p.name == "QtWebEngineCore" and ".framework" in str(p))
        ),
    ),
    ("ICU (Qt's libicu*)", lambda p: p.name.startswith(("libicu", "icu")) and p.name != "icudtl.dat"),
    ("other Qt libraries", lambda p: p.name.startswith(("libQt6", "Qt6")) or ".framework" in str(p)),
    ("QML", lambda p: "qml" in p.parts),
    ("WebEngine locales", lambda p: p.parent.name == "qtwebengine_locales"),
    ("Qt translations", lambda p: p.suffix == ".qm" and "PySide6" in p.parts),
    (
        "WebEngine resources",
        lambda p: p.suffix in (".pak", ".bin") or p.name in ("icudtl.dat", "QtWebEngineProcess"),
    ),
    ("Qt plugins", lambda p: "plugins" in p.parts and "PySide6" in p.parts),
    ("PySide6 bindings", lambda p: "PySide6" in p.parts or "shiboken6" in p.parts),
    (
        "system libraries bundled",
        lambda p: (
            len(p.parts) == 2
            and ".so" in p.name
            and not p.name.startswith("libpython")
            and ".cpython-" not in p.name
        ),
    ),
    ("Python, the app and its packages", lambda p: True),
)


def sizes(bundle: Path) -> tuple[int, dict[str, int]]:
    by_category = {name: 0 for name, _test in CATEGORIES}
    total = 0
    for path in bundle.rglob("*"):
        if path.is_dir() and not path.is_symlink():
            continue
        size = path.lstat().st_size
        total += size
        relative = path.relative_to(bundle)
        for name, test in CATEGORIES:
            if test(relative):
                by_category[name] += size
                break
    return total, by_category


def report_sizes(ours: Path, bare: Path, our_deb: Path | None, bare_deb: Path | None) -> None:
    our_total, our_parts = sizes(ours)
    bare_total, bare_parts = sizes(bare)
    print("\nBundle on disk (MiB)                      bare    ours   ours/bare")
    for name, _test in CATEGORIES:
        b, o = bare_parts[name] / MIB, our_parts[name] / MIB
        ratio = f"{o / b:8.2f}" if b else "       -"
        print(f"  {name:36s} {b:7.1f} {o:7.1f} {ratio}")
    print(
        f"  {'total':36s} {bare_total / MIB:7.1f} {our_total / MIB:7.1f} {our_total / bare_total:8.2f}"
        f"   (target <= 420 MiB)"
    )
    if our_deb and bare_deb and our_deb.exists() and bare_deb.exists():
        o, b = our_deb.stat().st_size / MIB, bare_deb.stat().st_size / MIB
        print(f"  {'.deb (xz -9)':36s} {b:7.1f} {o:7.1f} {o / b:8.2f}   (target <= 135 MiB)")


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("QT_QPA_PLATFORM", "offscreen")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        env.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
    env["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="amocrm-wizard-bench-")  # QSettings stay out of $HOME
    return env


def _run_to_exit(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {result.returncode}: {result.stderr[-500:]}")
    return elapsed


def _mapped_window(display: str) -> bool:
    tree = subprocess.run(
        ["xwininfo", "-display", display, "-root", "-tree"], capture_output=True, text=True, check=False
    ).stdout
    for line in tree.splitlines():
        if NAME in line.lower() or "amocrm" in line.lower():
            window = line.split()[0]
            info = subprocess.run(
                ["xwininfo", "-display", display, "-id", window], capture_output=True, text=True, check=False
            ).stdout
            if "IsViewable" in info and "Width: 1\n" not in info:
                return True
    return False


def _run_to_window(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while time.perf_counter() - started < 60:
            if _mapped_window(env["DISPLAY"]):
                return time.perf_counter() - started
            if process.poll() is not None:
                raise RuntimeError(
                    f"{' '.join(command)} exited {process.returncode} before its window showed"
                )
            time.sleep(0.005)
        raise RuntimeError(f"{' '.join(command)} showed no window within 60 s")
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def race(name: str, source: Callable[[], float], frozen: Callable[[], float], runs: int) -> None:
    source(), frozen()  # warm the page cache for both
    source_times, frozen_times = [], []
    for _ in range(runs):
        source_times.append(source())
        frozen_times.append(frozen())
    s, f = statistics.median(source_times), statistics.median(frozen_times)
    print(f"{name}")
    for label, median, times in (("source", s, source_times), ("frozen", f, frozen_times)):
        listed = ", ".join(f"{t * 1000:.0f}" for t in times)
        print(f"  {label:7s} median {median * 1000:7.0f} ms  (runs: {listed})")
    print(f"  frozen/source {f / s:.2f}x")


class Xvfb:
    def __init__(self) -> None:
        self.display = ""
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Xvfb:
        for number in range(90, 130):
            if not Path(f"/tmp/.X11-unix/X{number}").exists() and not Path(f"/tmp/.X{number}-lock").exists():
                break
        self.display = f":{number}"
        self.process = subprocess.Popen(
            ["Xvfb", self.display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(100):
            if Path(f"/tmp/.X11-unix/X{number}").exists():
                return self
            time.sleep(0.05)
        raise RuntimeError("Xvfb did not start")

    def __exit__(self, *exc: object) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)


def report_start(frozen: Path, runs: int) -> None:
    source = _venv_bin(NAME)
    if not source.exists():
        print(f"\n(no {source}: start times skipped)")
        return
    env = _env()
    print(f"\nStart, {runs} interleaved runs each, medians (QT_QPA_PLATFORM={env['QT_QPA_PLATFORM']})")
    race(
        "--version (no Qt)",
        lambda: _run_to_exit([str(source), "--version"], env),
        lambda: _run_to_exit([str(frozen), "--version"], env),
        runs,
    )
    race(
        "--self-test: start -> consent page loaded in QtWebEngine -> exit",
        lambda: _run_to_exit([str(source), "--self-test"], env),
        lambda: _run_to_exit([str(frozen), "--self-test"], env),
        runs,
    )
    if not (IS_LINUX and shutil.which("Xvfb") and shutil.which("xwininfo")):
        print("--demo first window: skipped (needs Xvfb and xwininfo)")
        return
    with Xvfb() as x:
        xenv = dict(env, DISPLAY=x.display, QT_QPA_PLATFORM="xcb")
        xenv.pop("WAYLAND_DISPLAY", None)
        race(
            f"--demo: start -> wizard window mapped (Xvfb {x.display}, xcb)",
            lambda: _run_to_window([str(source), "--demo"], xenv),
            lambda: _run_to_window([str(frozen), "--demo"], xenv),
            runs,
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--rebuild-bare", action="store_true", help="ignore the cached bare bundle")
    parser.add_argument(
        "--reuse-bare", action="store_true", help="use the cached bare bundle even if build.spec changed"
    )
    parser.add_argument("--skip-start", action="store_true", help="sizes only")
    args = parser.parse_args()

    ours = ROOT / "dist" / NAME
    frozen = ours / (NAME + (".exe" if sys.platform == "win32" else ""))
    if not frozen.exists():
        print(f"{frozen} is missing: run scripts/package.sh first.", file=sys.stderr)
        return 1
    debs = sorted((ROOT / "dist").glob(f"{NAME}_*.deb"), key=lambda p: p.stat().st_mtime)
    our_deb = debs[-1] if debs else None
    if IS_LINUX and our_deb is None:
        print("(no dist/*.deb: run scripts/package.sh for the .deb sizes)")
    bare, bare_deb = build_bare(args.rebuild_bare, args.reuse_bare)
    report_sizes(ours, bare, our_deb, bare_deb)
    if not args.skip_start:
        report_start(frozen, args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
