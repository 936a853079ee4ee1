"""A corpus of seeded email defects: each is caught, with its message, at the template file and line.

Every case copies the minimal fixture's receipt to a template of its own (``receipts/defect_<id>.html``
with its text, contract and sample, and a catalog entry), seeds one defect and names the line and the
message it must produce. All cases are validated in one run, so html-validate (node) starts once.

html-validate needs node and ``npm ci --prefix tools/email`` (nox -s tests runs it): without them these
tests skip and say why, except in CI (``CI`` set), where a missing tool is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from generator.shipped import email_checks
from generator.shipped.validate_templates import Report, run_checks
from tests.unit.test_validate_templates import MINIMAL, ROOT, TEMPLATES, show


@dataclass(frozen=True)
class Case:
    """One seeded defect: replace ``old`` by ``new`` in the HTML; expect ``fragment`` on the line with ``needle``."""

    id: str
    old: str
    new: str
    needle: str
    fragment: str


BODY = '<body style="margin:0;">'
TOTAL = "<tr><td>Total</td><td>R {{total}}</td></tr>"
HI = "<tr><td>Hi {{customerName}}, this is receipt {{receiptNumber}}.</td></tr>"
CASES = [
    # The five the hand-written rules missed (issue 15).
    Case(
        "dup_id",
        TOTAL,
        '<tr><td id="total">Total</td><td id="total">R {{total}}</td></tr>',
        'id="total"',
        'Duplicate ID "total" [html-validate no-dup-id]',
    ),
    Case(
        "link_stylesheet",
        "</head>",
        '<link rel="stylesheet" href="https://cdn.example.co.za/mail.css">\n</head>',
        "mail.css",
        "<link> is not allowed in email: mail clients (Gmail among them) drop <link>",
    ),
    Case(
        "css_expression",
        BODY,
        '<body style="margin:0;width:expression(document.body.clientWidth);">',
        "expression(",
        "CSS expression() runs script",
    ),
    Case(
        "unclosed_tr",
        TOTAL,
        "<tr><td>Total</td><td>R {{total}}</td>",
        "<tr><td>Total</td>",
        "Element <tr> is implicitly closed by sibling [html-validate no-implicit-close]",
    ),
    Case(
        "white_on_white",
        HI,
        HI.replace("<td>", '<td style="color:#ffffff;background-color:#ffffff;">'),
        "color:#ffffff",
        "#ffffff on #ffffff: contrast 1.00:1, below WCAG AA 4.5:1",
    ),
    # Readability.
    Case(
        "low_contrast_inherited",
        HI,
        HI.replace("<tr>", '<tr style="color:#aaaaaa;">'),
        "Hi {{customerName}}",
        "#aaaaaa on #ffffff: contrast 2.32:1",
    ),
    Case(
        "img_no_alt",
        ' alt="Test Company"',
        "",
        "<img",
        '<img> is missing required "alt" attribute [html-validate wcag/h37]',
    ),
    Case(
        "html_no_lang",
        '<html lang="en-ZA">',
        "<html>",
        "<html>",
        '<html> is missing required "lang" attribute [html-validate element-required-attributes]',
    ),
    Case(
        "empty_link",
        TOTAL,
        TOTAL.replace("Total</td>", 'Total <a href="https://www.example.co.za/"></a></td>'),
        '<a href="https://www.example.co.za/"></a>',
        "Anchor link must have a text describing its purpose",
    ),
    Case(
        "click_here",
        TOTAL,
        TOTAL.replace("Total</td>", 'Total <a href="https://www.example.co.za/r">click here</a></td>'),
        "click here",
        "link text 'click here' does not say where the link goes",
    ),
    # Links and resources.
    Case(
        "javascript_url",
        TOTAL,
        TOTAL.replace("Total</td>", '<a href="javascript:alert(1)">Total</a></td>'),
        "javascript:",
        "[html-validate allowed-links]",
    ),
    Case(
        "http_image",
        "https://www.example.co.za/logo.png",
        "http://www.example.co.za/logo.png",
        "<img",
        "External link to this destination is not allowed by current configuration [html-validate allowed-links]",
    ),
    Case(
        "http_css_url",
        BODY,
        "<body style=\"margin:0;background:url('http://cdn.example.co.za/bg.png');\">",
        "bg.png",
        "CSS loads http://cdn.example.co.za/bg.png over plain http",
    ),
    Case(
        "http_background_attribute",
        "<td>Total</td>",
        '<td background="http://cdn.example.co.za/cell.png">Total</td>',
        "cell.png",
        "background= of <td> uses plain http",
    ),
    # Script.
    Case(
        "script",
        "</head>",
        "<script>track()</script>\n</head>",
        "<script>",
        "<script> is not allowed in email: mail clients strip",
    ),
    Case(
        "event_handler", BODY, '<body style="margin:0;" onload="track()">', "onload", "event handler onload= on <body>"
    ),
    # Markup.
    Case(
        "stray_end_tag",
        "</table>\n</body>",
        "</table>\n</div>\n</body>",
        "</div>",
        "Stray end tag '</div>' [html-validate close-order]",
    ),
    Case(
        "font_element", "<td>Total</td>", '<td><font color="#111111">Total</font></td>', "<font", "<font> is deprecated"
    ),
    Case(
        "bad_attribute_value",
        "<td>Total</td>",
        '<td colspan="two">Total</td>',
        'colspan="two"',
        "[html-validate attribute-allowed-values]",
    ),
    Case(
        "form",
        "<td>Total</td>",
        '<td><form action="https://www.example.co.za/f">Total</form></td>',
        "<form",
        "<form> is not allowed in email: most mail clients disable forms",
    ),
    # Client support (caniemail data and the policy).
    Case(
        "position_absolute",
        "<td>Total</td>",
        '<td style="position:absolute;">Total</td>',
        "position:absolute",
        "[caniemail css-position] is not supported in Gmail (web)",
    ),
    Case(
        "display_flex",
        "<td>Total</td>",
        '<td style="display:flex;">Total</td>',
        "display:flex",
        "[caniemail css-display-flex] is not supported in Outlook for Windows",
    ),
    Case(
        "at_import",
        "    @media",
        "    @import url(https://fonts.example.co.za/brand.css);\n    @media",
        "@import",
        "[caniemail css-at-import] is not supported in Gmail (web)",
    ),
    Case(
        "css_variables",
        "<td>Total</td>",
        '<td style="color:var(--brand);">Total</td>',
        "var(--brand)",
        "[caniemail css-variables] is not supported in Gmail (web)",
    ),
    Case(
        "svg",
        "<td>Total</td>",
        '<td><svg width="10" height="10" role="img"><title>dot</title></svg>Total</td>',
        "<svg",
        "[caniemail html-svg] is not supported in Gmail (web)",
    ),
]


def _html_validate_ready() -> None:
    try:
        email_checks.find_tool(ROOT / "generator" / "shipped")
    except email_checks.ToolUnavailable as exc:
        if os.environ.get("CI") or os.environ.get("BBWS_REQUIRE_TOOLS"):
            pytest.fail(f"html-validate must run in CI: {exc}")
        pytest.skip(f"html-validate cannot run here ({exc}); CI runs these tests")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Report]:
    """The minimal fixture plus one template per case, validated once with html-validate required."""
    _html_validate_ready()
    target = tmp_path_factory.mktemp("corpus") / "templates"
    shutil.copytree(MINIMAL, target)
    catalog_path = target / "catalog.yaml"
    catalog = yaml.safe_load(catalog_path.read_text(encoding="utf-8"))
    source = next(t for t in catalog["templates"] if t["key"] == "receipts/receipt.html")
    for case in CASES:
        stem = f"receipts/defect_{case.id}"
        for suffix in (".txt", ".contract.json", ".sample.json"):
            shutil.copy(target / f"receipts/receipt{suffix}", target / f"{stem}{suffix}")
        html = (target / "receipts/receipt.html").read_text(encoding="utf-8")
        assert case.old in html, f"{case.id}: {case.old!r} is not in the fixture"
        (target / f"{stem}.html").write_text(html.replace(case.old, case.new, 1), encoding="utf-8")
        catalog["templates"].append({**source, "key": f"{stem}.html"})
    catalog_path.write_text(yaml.safe_dump(catalog, sort_keys=False, width=200), encoding="utf-8")
    return target, run_checks(target, html_validator="require")


def _line(path: Path, needle: str) -> int:
    lines = path.read_text(encoding="utf-8").split("\n")
    hits = [i for i, line in enumerate(lines, 1) if needle in line]
    assert hits, f"{needle!r} not in {path}"
    return hits[0]


def test_the_corpus_has_at_least_twenty_distinct_defects() -> None:
    assert len(CASES) >= 20
    assert len({c.id for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_each_seeded_defect_is_caught_at_its_file_and_line(corpus: tuple[Path, Report], case: Case) -> None:
    target, report = corpus
    file = f"templates/receipts/defect_{case.id}.html"
    line = _line(target / f"receipts/defect_{case.id}.html", case.needle)
    hits = [f for f in report.errors if f.file == file and f.line == line and case.fragment in f.message]
    mine = [f for f in report.errors + report.warnings if f.file == file]
    assert hits, f"no error {file}:{line} with {case.fragment!r}; that file got:\n{show(mine)}"


def test_the_untouched_fixture_in_the_corpus_stays_clean(corpus: tuple[Path, Report]) -> None:
    _, report = corpus
    clean = [f for f in report.errors if "defect_" not in f.file]
    assert clean == [], show(clean)


def test_shipped_templates_pass_with_html_validate() -> None:
    _html_validate_ready()
    report = run_checks(TEMPLATES, html_validator="require")
    assert report.skipped is None
    assert report.errors == [], show(report.errors)


S3_REPO = ROOT / "repos" / "2_1_bbws_s3_schemas"


def test_the_generated_repo_runs_the_check_standalone(tmp_path: Path) -> None:
    """scripts/validate_templates.py imports email_checks from beside it, with no bbws-gen installed."""
    repo = tmp_path / "repo"
    shutil.copytree(S3_REPO / "scripts", repo / "scripts")
    shutil.copytree(S3_REPO / "templates", repo / "templates")
    html = repo / "templates" / "receipts" / "receipt.html"
    html.write_text(html.read_text(encoding="utf-8").replace("<body ", '<body onload="x()" ', 1), encoding="utf-8")
    # Run as a script its relative import fails, so email_checks comes from scripts/ (the first sys.path entry).
    command = [sys.executable, "scripts/validate_templates.py", "templates"]
    off = subprocess.run([*command, "--html-validate", "off"], cwd=repo, capture_output=True, text=True, check=False)
    assert off.returncode == 1, off.stderr
    assert f"templates/receipts/receipt.html:{_line(html, '<body ')}: event handler onload=" in off.stdout
    auto = subprocess.run(command, cwd=repo, capture_output=True, text=True, check=False)
    # Without tools/email in this copy, html-validate is skipped, and the run says so.
    assert "html-validate skipped" in auto.stderr and auto.returncode == 1
    required = subprocess.run(
        [*command, "--html-validate", "require"], cwd=repo, capture_output=True, text=True, check=False
    )
    assert required.returncode == 2 and "html-validate cannot run" in required.stderr
