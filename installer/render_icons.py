"""Render ``resources/icons/amocrm-wizard.svg`` into the PNG, ICO and ICNS files the builds use.

    .venv/bin/python installer/render_icons.py     # rewrites resources/icons/*.png, .ico, .icns

The SVG is drawn with PySide6's QtSvg (``QSvgRenderer`` into a ``QImage``), so no other
image library is needed. The two icon containers are written here by hand rather than with
Pillow because both are a short header plus PNG images stored as they are:

- ICO (Windows): ``ICONDIR`` (reserved 0, type 1, count) and one 16-byte ``ICONDIRENTRY`` per
  image (width/height with 0 meaning 256, planes 1, 32 bits per pixel, byte size, offset),
  then the PNG streams; Windows Vista and later read PNG-compressed entries at every size.
- ICNS (macOS): the magic ``icns`` and the total length, then per image a four-character type
  (``icp4`` 16 px, ``ic11`` 16@2x, ``icp5`` 32, ``ic12`` 32@2x, ``ic07`` 128, ``ic13`` 128@2x,
  ``ic08`` 256, ``ic14`` 256@2x, ``ic09`` 512, ``ic10`` 512@2x), its length including the
  8-byte header, and the PNG stream. All integers big-endian.

The outputs are committed; rerun this after editing the SVG. Rendering is deterministic for a
given Qt version.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ICONS = ROOT / "resources" / "icons"
SOURCE = ICONS / "amocrm-wizard.svg"
NAME = "amocrm-wizard"

PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)  # also the hicolor sizes the .deb installs
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
ICNS_TYPES = (
    (b"icp4", 16),
    (b"ic11", 32),
    (b"icp5", 32),
    (b"ic12", 64),
    (b"ic07", 128),
    (b"ic13", 256),
    (b"ic08", 256),
    (b"ic14", 512),
    (b"ic09", 512),
    (b"ic10", 1024),
)


def render(svg: Path, size: int) -> bytes:
    """The SVG drawn at ``size`` x ``size`` pixels, as PNG bytes."""
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, Qt
    from PySide6.QtGui import QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    renderer = QSvgRenderer(str(svg))
    if not renderer.isValid():
        raise SystemExit(f"{svg}: not a valid SVG")
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
    renderer.render(painter)
    painter.end()
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    image.convertToFormat(QImage.Format.Format_ARGB32).save(buffer, "PNG")
    buffer.close()
    return bytes(data.data())


def ico(images: dict[int, bytes]) -> bytes:
    sizes = sorted(images)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries, blobs = b"", b""
    for size in sizes:
        blob = images[size]
        side = 0 if size >= 256 else size
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(blob), offset + len(blobs))
        blobs += blob
    return header + entries + blobs


def icns(images: dict[int, bytes]) -> bytes:
    body = b""
    for kind, size in ICNS_TYPES:
        blob = images[size]
        body += kind + struct.pack(">I", len(blob) + 8) + blob
    return b"icns" + struct.pack(">I", len(body) + 8) + body


def main() -> int:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtGui import QGuiApplication

    _app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    sizes = sorted({*PNG_SIZES, *ICO_SIZES, *(size for _kind, size in ICNS_TYPES)})
    images = {size: render(SOURCE, size) for size in sizes}
    for size in PNG_SIZES:
        (ICONS / f"{NAME}-{size}.png").write_bytes(images[size])
    (ICONS / f"{NAME}.ico").write_bytes(ico({size: images[size] for size in ICO_SIZES}))
    (ICONS / f"{NAME}.icns").write_bytes(icns(images))
    written = [f"{NAME}-{size}.png" for size in PNG_SIZES] + [f"{NAME}.ico", f"{NAME}.icns"]
    print(f"Rendered {SOURCE.name} into {', '.join(written)} in {ICONS.relative_to(ROOT)}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
