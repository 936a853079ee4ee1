"""Tests of generator/shipped/email_checks.py (pure Python: contrast, line map, client-support policy, CSS)
and of tools/email/update_caniemail.py, which compiles the vendored caniemail data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from generator.shipped import email_checks as ec

ROOT = Path(__file__).resolve().parents[2]
UPDATE_SCRIPT = ROOT / "tools" / "email" / "update_caniemail.py"


def issues(html: str) -> list[ec.Issue]:
    return ec.check_document(ec.Rendered(html, tuple(range(1, html.count("\n") + 2))))


def page(body: str) -> str:
    head = '<head><meta charset="utf-8"><title>t</title></head>'
    return f'<!DOCTYPE html>\n<html lang="en">\n{head}\n<body>\n{body}\n</body>\n</html>\n'


# ------------------------------------------------------------------------------------------- contrast


@pytest.mark.parametrize(
    ("a", "b", "ratio"),
    [
        ((0, 0, 0), (255, 255, 255), 21.0),
        ((255, 255, 255), (255, 255, 255), 1.0),
        ((0x77, 0x77, 0x77), (255, 255, 255), 4.48),  # the classic just-fails grey
        ((0x76, 0x76, 0x76), (255, 255, 255), 4.54),  # and the first that passes
        ((0x6B, 0x72, 0x80), (0xF9, 0xFA, 0xFB), 4.63),  # the footer grey of the shipped templates
    ],
)
def test_contrast_ratio_matches_wcag(a: ec.Rgb, b: ec.Rgb, ratio: float) -> None:
    assert ec.contrast_ratio(a, b) == pytest.approx(ratio, abs=0.01)
    assert ec.contrast_ratio(b, a) == pytest.approx(ratio, abs=0.01)


@pytest.mark.parametrize(
    ("text", "rgb"),
    [
        ("#fff", (255, 255, 255)),
        ("#1B2A41", (0x1B, 0x2A, 0x41)),
        ("rgb(10, 20, 30)", (10, 20, 30)),
        ("rgba(10,20,30,0.5)", (10, 20, 30)),
        ("White", (255, 255, 255)),
        ("transparent", None),
        ("#12345", None),
        ("inherit", None),
    ],
)
def test_parse_colour(text: str, rgb: ec.Rgb | None) -> None:
    assert ec.parse_colour(text) == rgb


def test_contrast_uses_inherited_colours_and_bgcolor() -> None:
    html = page('<table bgcolor="#1b2a41"><tr><td style="color:#2a3a55">dark on dark</td></tr></table>')
    found = [i for i in issues(html) if "contrast" in i.message]
    assert len(found) == 1
    assert "#2a3a55 on #1b2a41" in found[0].message and found[0].line == 5


def test_contrast_passes_for_readable_text_and_ignores_hidden_preheaders() -> None:
    html = page(
        '<div style="display:none;color:#ffffff;">preheader</div>\n'
        '<p style="color:#1f2937;background-color:#ffffff;">readable</p>\n'
        '<span style="opacity:0;color:#fefefe;">hidden</span>'
    )
    assert not [i for i in issues(html) if "contrast" in i.message]


def test_a_link_without_its_own_colour_is_link_blue_not_the_inherited_colour() -> None:
    dark_footer = (
        '<td style="background-color:#1b2a41;color:#ffffff;">Questions? <a href="https://x.example/">Help</a></td>'
    )
    found = [i for i in issues(page(dark_footer)) if "contrast" in i.message]
    assert len(found) == 1 and "text of <a> is #0000ee on #1b2a41" in found[0].message
    coloured = dark_footer.replace("<a href", '<a style="color:#ffffff;" href')
    assert not [i for i in issues(page(coloured)) if "contrast" in i.message]


def test_contrast_is_reported_once_per_element() -> None:
    html = page('<p style="color:#cccccc;">one<br>two<br>three</p>')
    assert len([i for i in issues(html) if "contrast" in i.message]) == 1


# -------------------------------------------------------------------------------------- links, safety


@pytest.mark.parametrize("text", ["Click here", "here", "Read more.", "  more "])
def test_generic_link_text(text: str) -> None:
    found = [i for i in issues(page(f'<p><a href="https://x.example/">{text}</a></p>')) if "link text" in i.message]
    assert found and found[0].line == 5


def test_descriptive_link_text_passes() -> None:
    assert not [i for i in issues(page('<a href="https://x.example/">View your invoice</a>')) if "link" in i.message]


def test_css_safety_in_style_blocks_reports_the_line() -> None:
    html = page("<style>\n.a { color: red; }\n.b { background: url(http://cdn.example/x.png); }\n</style>")
    found = [i for i in issues(html) if "plain http" in i.message]
    assert [(i.line, i.severity) for i in found] == [(7, "error")]


# ------------------------------------------------------------------------------------------- line map


def test_render_with_lines_maps_repeated_sections_and_multiline_values() -> None:
    template = (
        "<ul>\n{{#items}}\n<li>{{name}}</li>\n{{/items}}\n{{^items}}\n<li>none</li>\n{{/items}}\n<p>{{note}}</p>\n</ul>"
    )
    rendered = ec.render_with_lines(template, {"items": [{"name": "a"}, {"name": "b"}], "note": "x\ny"})
    lines = rendered.text.split("\n")
    assert "\x00" not in rendered.text
    assert [rendered.source_line(i) for i, text in enumerate(lines, 1) if "<li>" in text] == [3, 3]
    assert "none" not in rendered.text
    # The value's second line belongs to the template line that holds the placeholder.
    assert rendered.source_line(next(i for i, t in enumerate(lines, 1) if t.startswith("y"))) == 8


def test_render_with_lines_renders_what_chevron_renders_apart_from_standalone_whitespace() -> None:
    import chevron

    template = "<p>{{a}}</p>\n{{#b}}\n<i>{{c}}</i>\n{{/b}}\n"
    data = {"a": "<&>", "b": True, "c": "x"}
    plain = chevron.render(template, data)
    mapped = ec.render_with_lines(template, data).text
    assert [line.strip() for line in mapped.split("\n") if line.strip()] == [
        line.strip() for line in plain.split("\n") if line.strip()
    ]


# ------------------------------------------------------------------------------------- client support


def fake_table(monkeypatch: pytest.MonkeyPatch, features: dict[str, Any]) -> None:
    monkeypatch.setattr(ec, "support_table", lambda: {"features": features})


def feature(**support: str) -> dict[str, Any]:
    return {
        "title": "thing",
        "url": "https://www.caniemail.com/features/x/",
        "support": {
            client.replace("__", "/").replace("_", "-"): [letter, "2024"] for client, letter in support.items()
        },
        "notes": {},
    }


def test_policy_fails_on_gmail_or_outlook_windows_and_warns_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_table(
        monkeypatch,
        {
            "css-a": feature(gmail__desktop_webmail="n"),
            "css-b": feature(outlook__windows="n"),
            "css-c": feature(apple_mail__ios="n"),
            "css-d": feature(gmail__desktop_webmail="a"),
            "css-border-radius": feature(outlook__windows="n"),
        },
    )
    uses = {slug: ec.FeatureUse(3, 2) for slug in ("css-a", "css-b", "css-c", "css-d", "css-border-radius", "css-zzz")}
    found = {i.message.split(" [caniemail ")[1].split("]")[0]: i for i in ec.support_issues(uses)}
    assert found["css-a"].severity == "error" and "Gmail (web) 2024" in found["css-a"].message
    assert found["css-b"].severity == "error" and "Outlook for Windows" in found["css-b"].message
    assert found["css-c"].severity == "warning" and "Apple Mail (iOS)" in found["css-c"].message
    # Partial support, graceful degradation and features caniemail does not know are not reported.
    assert set(found) == {"css-a", "css-b", "css-c"}
    assert "(2 uses)" in found["css-a"].message and found["css-a"].line == 3


def test_features_are_read_from_inline_styles_style_blocks_and_markup() -> None:
    scan = ec.DocumentScan()
    scan.feed(
        page(
            "<style>\n@media (prefers-color-scheme: dark) { a:hover { color: #fff !important; } }\n</style>\n"
            '<div style="display:flex;background-image:linear-gradient(#fff,#000);margin-top:1px" role="note">'
            "<video></video></div>"
        )
    )
    used = set(scan.features)
    assert {
        "css-at-media",
        "css-at-media-prefers-color-scheme",
        "css-pseudo-class-hover",
        "css-important",
        "css-display-flex",
        "css-linear-gradient",
        "css-margin",
        "html-role",
        "html-video",
    } <= used
    assert scan.features["css-pseudo-class-hover"].line == 6


def test_the_vendored_data_records_source_commit_and_licence() -> None:
    data = ec.support_table()
    assert data["source"] == "https://github.com/hteumeuleu/caniemail"
    assert len(data["commit"]) == 40 and data["licence"].startswith("MIT License")
    assert set(ec.FAIL_CLIENTS) <= set(data["clients"])
    assert data["features"]["css-position"]["support"]["gmail/desktop-webmail"][0] == "n"


# ----------------------------------------------------------------------------------------- the tool


def test_find_tool_says_how_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tool = tmp_path / "tools" / "email"
    tool.mkdir(parents=True)
    monkeypatch.setenv(ec.TOOL_ENV, str(tool))
    with pytest.raises(ec.ToolUnavailable, match=r"no check-html\.mjs"):
        ec.find_tool(tmp_path / "scripts")
    (tool / "check-html.mjs").write_text("", encoding="utf-8")
    with pytest.raises(ec.ToolUnavailable, match=r"npm ci --prefix"):
        ec.find_tool(tmp_path / "scripts")


# --------------------------------------------------------------------------------- update_caniemail


def test_update_caniemail_compiles_a_checkout(tmp_path: Path) -> None:
    checkout = tmp_path / "caniemail"
    (checkout / "_features").mkdir(parents=True)
    (checkout / "LICENSE").write_text("MIT License\n\nCopyright (c) test\n", encoding="utf-8")
    (checkout / "_features" / "css-thing.md").write_text(
        '---\ntitle: "thing"\ncategory: css\nstats: {\n\tgmail: {\n\t\tdesktop-webmail: {\n'
        '\t\t\t"2019-01": "y",\n\t\t\t"2024-01": "a #1",\n\t\t},\n\t},\n}\n'
        'notes_by_num: {\n\t"1": "Only on Tuesdays."\n}\n---\nBody\n',
        encoding="utf-8",
    )
    (checkout / "_features" / "amp.md").write_text("---\ntitle: AMP\nstats: {}\n---\n", encoding="utf-8")
    for args in (["init", "-q"], ["add", "."], ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "x"]):
        subprocess.run(["git", "-C", str(checkout), *args], check=True)
    out = tmp_path / "support.json"
    result = subprocess.run(
        [sys.executable, str(UPDATE_SCRIPT), str(checkout), "--output", str(out)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    assert list(data["features"]) == ["css-thing"]
    assert data["features"]["css-thing"]["support"] == {"gmail/desktop-webmail": ["a", "2024-01", "1"]}
    assert data["features"]["css-thing"]["notes"] == {"1": "Only on Tuesdays."}
    assert data["licence"].startswith("MIT License") and len(data["commit"]) == 40
    bad = subprocess.run([sys.executable, str(UPDATE_SCRIPT), str(tmp_path)], capture_output=True, text=True)
    assert bad.returncode == 2 and "no _features/" in bad.stderr
