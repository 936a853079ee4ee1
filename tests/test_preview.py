"""generator/preview/ (bbws-gen preview) renders a template with its sample and screenshots it with headless Chromium.

The screenshot test needs Chromium (``apt-get install -y chromium``, or Chrome on PATH, or
$BBWS_CHROMIUM): without it it skips with the reason (needs_chromium; in CI BBWS_REQUIRE_TOOLS=1 makes that
a failure), and the HTML previews are still built and tested. The PNG is decoded with the standard
library only (zlib + PNG filters).
"""

from __future__ import annotations

import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
import yaml

from generator import preview
from generator.cli import run
from tests.conftest import DEFINITION, ROOT

pytestmark = pytest.mark.e2e

CATALOG = yaml.safe_load((DEFINITION / "templates" / "catalog.yaml").read_text(encoding="utf-8"))
FIRST = CATALOG["templates"][0]["key"]
SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHANNELS = {0: 1, 2: 3, 4: 2, 6: 4}  # colour type -> samples per pixel (8-bit, no palette)


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the unfiltered rows of an 8-bit greyscale/RGB(A) PNG; raises on anything broken."""
    assert data.startswith(SIGNATURE), "not a PNG"
    pos, idat, header = len(SIGNATURE), b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"bad CRC in chunk {kind!r}"
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
        pos += 12 + length
    assert header is not None, "no IHDR chunk"
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in CHANNELS and interlace == 0, f"unexpected PNG format {header}"
    bpp = CHANNELS[colour]
    stride = width * bpp
    raw = zlib.decompress(idat)
    assert len(raw) == height * (stride + 1), "pixel data has the wrong size"
    rows: list[bytes] = []
    previous = bytearray(stride)
    for y in range(height):
        kind, line = raw[y * (stride + 1)], bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)])
        if kind == 1:  # Sub
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:  # Up
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
        elif kind == 3:  # Average
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:  # Paeth
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = previous[i], previous[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        else:
            assert kind == 0, f"unknown filter {kind} in row {y}"
        rows.append(bytes(line))
        previous = line
    return width, height, rows


def colours(rows: list[bytes], bpp: int) -> set[bytes]:
    return {row[i : i + bpp] for row in rows for i in range(0, len(row), bpp)}


@pytest.mark.needs_chromium
def test_a_preview_is_rendered_and_screenshotted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["preview", "--output", str(tmp_path), "--only", FIRST, "--jobs", "1"])
    out = capsys.readouterr()
    assert code == 0, out.err
    page = (tmp_path / FIRST).read_text(encoding="utf-8")
    assert "{{" not in page and "}}" not in page, "the sample left placeholders unrendered"
    assert "<html" in page.lower()
    text = (tmp_path / FIRST.removesuffix(".html")).with_suffix(".txt").read_text(encoding="utf-8")
    assert text.strip() and "{{" not in text
    png = (tmp_path / FIRST.removesuffix(".html")).with_suffix(".png")
    width, height, rows = decode_png(png.read_bytes())
    assert (width, height) == preview.WINDOW
    bpp = len(rows[0]) // width
    assert len(colours(rows, bpp)) > 1, "the screenshot is blank (one colour)"
    index = (tmp_path / preview.INDEX).read_text(encoding="utf-8")
    assert FIRST in index and png.relative_to(tmp_path).as_posix() in index


def _mean_luminance(rows: list[bytes], bpp: int) -> float:
    # Rec. 601 luma of every pixel (RGB or RGBA rows), 0 (black) to 255 (white).
    total = count = 0
    for row in rows[::8]:
        for i in range(0, len(row) - bpp + 1, bpp * 8):
            r, g, b = row[i], row[i + 1], row[i + 2]
            total += 0.299 * r + 0.587 * g + 0.114 * b
            count += 1
    return total / count


@pytest.mark.needs_chromium
def test_light_dark_and_mobile_previews_side_by_side(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["preview", "--output", str(tmp_path), "--only", FIRST, "--jobs", "2"])
    assert code == 0, capsys.readouterr().err
    stem = FIRST.removesuffix(".html")
    decoded = {}
    for variant in preview.VARIANTS:
        png = tmp_path / (stem + variant.suffix)
        width, height, rows = decode_png(png.read_bytes())
        assert (width, height) == variant.window, variant.name
        decoded[variant.name] = (png.read_bytes(), _mean_luminance(rows, len(rows[0]) // width))
    # Dark mode darkens the page (mail apps' forced darkening); the phone width re-flows it.
    assert decoded["dark"][1] < decoded["light"][1] - 60, {k: v[1] for k, v in decoded.items()}
    assert decoded["mobile"][1] > decoded["dark"][1]
    index = (tmp_path / preview.INDEX).read_text(encoding="utf-8")
    for variant in preview.VARIANTS:
        assert f'src="{stem}{variant.suffix}"' in index
    # Deterministic: the same page gives the same pixels (one variant again: each shot costs a Chromium start).
    dark = preview.VARIANTS[1]
    again = tmp_path / "again.png"
    chromium = preview.find_chromium(None)
    assert chromium is not None
    assert preview.screenshot(chromium, tmp_path / FIRST, again, False, dark) is None
    assert again.read_bytes() == decoded["dark"][0]


def test_decode_png_refuses_a_damaged_file(tmp_path: Path) -> None:
    # A 2x1 RGB image (red, blue) written by hand, then one byte of its pixel data flipped.
    raw = zlib.compress(b"\x00\xff\x00\x00\x00\x00\xff")
    chunks = b""
    for kind, body in ((b"IHDR", struct.pack(">IIBBBBB", 2, 1, 8, 2, 0, 0, 0)), (b"IDAT", raw), (b"IEND", b"")):
        chunks += struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    good = SIGNATURE + chunks
    width, height, rows = decode_png(good)
    assert (width, height) == (2, 1) and colours(rows, 3) == {b"\xff\x00\x00", b"\x00\x00\xff"}
    broken = bytearray(good)
    broken[len(SIGNATURE) + 8 + 13 + 4 + 8 + 2] ^= 0xFF  # inside IDAT: the CRC no longer matches
    with pytest.raises(AssertionError, match="CRC"):
        decode_png(bytes(broken))


def test_unknown_template_key_is_bad_usage(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["preview", "--output", str(tmp_path), "--only", "receipts/nope.html", "--no-png"]) == 2
    assert "unknown template key" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # nothing written
    # `python -m generator.preview` (nox -s preview, the runbooks) is the same command, printed by the CLI.
    module = subprocess.run(
        [sys.executable, "-m", "generator.preview", "--output", str(tmp_path), "--only", "nope.html", "--no-png"],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert module.returncode == 2 and "error: unknown template key(s) nope.html" in module.stderr, module.stderr


def test_without_chromium_the_html_previews_are_built_and_pngs_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(preview, "find_chromium", lambda explicit: None)
    code = run(["preview", "--output", str(tmp_path), "--only", FIRST])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert "PNG screenshots skipped" in out.err
    assert "<html" in (tmp_path / FIRST).read_text(encoding="utf-8").lower()
    assert not list(tmp_path.rglob("*.png"))
    assert FIRST in (tmp_path / preview.INDEX).read_text(encoding="utf-8")
    assert run(["preview", "--output", str(tmp_path / "strict"), "--only", FIRST, "--require-png"]) == 2
