"""The committed icons: every size the installers use, and well-formed ICO/ICNS containers."""

from __future__ import annotations

import struct
import xml.etree.ElementTree as ET

import pytest

from tests.packaging._load import ROOT, installer_module

icons = installer_module("render_icons")
FOLDER = ROOT / "resources" / "icons"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(data: bytes) -> tuple[int, int]:
    assert data.startswith(PNG_SIGNATURE)
    width, height = struct.unpack(">II", data[16:24])  # IHDR comes first
    return width, height


def test_svg_source_is_square() -> None:
    svg = ET.parse(FOLDER / "amocrm-wizard.svg").getroot()
    assert svg.get("viewBox") == "0 0 512 512"


@pytest.mark.parametrize("size", icons.PNG_SIZES)
def test_png(size: int) -> None:
    assert png_size((FOLDER / f"amocrm-wizard-{size}.png").read_bytes()) == (size, size)


def test_ico() -> None:
    data = (FOLDER / "amocrm-wizard.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", data[:6])
    assert (reserved, kind, count) == (0, 1, len(icons.ICO_SIZES))
    seen = []
    for i in range(count):
        width, height, _colors, _res, planes, bpp, size, offset = struct.unpack(
            "<BBBBHHII", data[6 + 16 * i : 22 + 16 * i]
        )
        side = width or 256
        assert (width, planes, bpp) == (height, 1, 32)
        assert png_size(data[offset : offset + size]) == (side, side)
        seen.append(side)
    assert seen == sorted(icons.ICO_SIZES)


def test_icns() -> None:
    data = (FOLDER / "amocrm-wizard.icns").read_bytes()
    assert data[:4] == b"icns"
    assert struct.unpack(">I", data[4:8])[0] == len(data)
    found = {}
    offset = 8
    while offset < len(data):
        kind = data[offset : offset + 4]
        length = struct.unpack(">I", data[offset + 4 : offset + 8])[0]
        found[kind] = png_size(data[offset + 8 : offset + length])[0]
        offset += length
    assert offset == len(data)
    assert found == {kind: size for kind, size in icons.ICNS_TYPES}


def test_render_draws_the_requested_size(qapp: object) -> None:
    assert png_size(icons.render(FOLDER / "amocrm-wizard.svg", 40)) == (40, 40)
