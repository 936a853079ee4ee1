"""Tests of generator/shipped/validate_templates.py: the 12 shipped templates and one broken fixture per rule.

Each rule test copies tests/fixtures/templates/minimal (which must validate clean, see the baseline test) to a
temporary folder, breaks exactly one thing and asserts the finding that rule produces: file, line, message.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import chevron
import pytest
import yaml

from generator.shipped import validate_templates as vt
from generator.shipped.validate_templates import Finding, main, validate

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "definition" / "templates"
CATALOG_SCHEMA_FILE = ROOT / "definition" / "schema" / "catalog.schema.json"
MINIMAL = ROOT / "tests" / "fixtures" / "templates" / "minimal"

# The 12 templates the customer asked for (DESIGN.md, "What the generated repos must hold").
EXPECTED_KEYS = [
    "receipts/receipt.html",
    "receipts/receipt_internal.html",
    "receipts/order.html",
    "receipts/order_internal.html",
    "notifications/order_confirmation_customer.html",
    "notifications/order_confirmation_internal.html",
    "notifications/payment_confirmation_customer.html",
    "notifications/payment_confirmation_internal.html",
    "notifications/site_creation_customer.html",
    "notifications/site_creation_internal.html",
    "invoices/invoice.html",
    "invoices/invoice_internal.html",
]

HTML = "templates/receipts/receipt.html"
TXT = "templates/receipts/receipt.txt"
CONTRACT = "templates/receipts/receipt.contract.json"
SAMPLE = "templates/receipts/receipt.sample.json"
CATALOG = "templates/catalog.yaml"


# ------------------------------------------------------------------------------------------------ helpers


@pytest.fixture
def tdir(tmp_path: Path) -> Path:
    """A writable copy of the minimal valid templates folder, named templates/ like in the generated repo."""
    target = tmp_path / "templates"
    shutil.copytree(MINIMAL, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    """Replace the first occurrence of ``old``; fail loudly when the fixture no longer contains it."""
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def line_of(path: Path, needle: str, occurrence: int = 1) -> int:
    """1-based line of the n-th line containing ``needle``."""
    hits = [i for i, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1) if needle in line]
    assert len(hits) >= occurrence, f"{needle!r} not in {path}"
    return hits[occurrence - 1]


def show(findings: Iterable[Finding]) -> str:
    return "\n".join(str(f) for f in findings) or "(no findings)"


def expect(findings: list[Finding], file: str, line: int, *fragments: str) -> Finding:
    """Assert one finding at file:line whose message contains every fragment; return it."""
    hits = [f for f in findings if f.file == file and f.line == line and all(x in f.message for x in fragments)]
    assert hits, f"no finding {file}:{line} with {fragments}; got:\n{show(findings)}"
    return hits[0]


def only(findings: list[Finding], *fragments: str) -> list[Finding]:
    return [f for f in findings if all(x in f.message for x in fragments)]


def render(key: str) -> tuple[str, str, dict[str, Any]]:
    base = TEMPLATES / key[: -len(".html")]
    sample = json.loads(Path(f"{base}.sample.json").read_text(encoding="utf-8"))
    html = chevron.render((TEMPLATES / key).read_text(encoding="utf-8"), sample)
    txt = chevron.render(Path(f"{base}.txt").read_text(encoding="utf-8"), sample)
    return html, txt, sample


# ------------------------------------------------------------------------------------- shipped templates


def test_catalog_lists_exactly_the_twelve_templates() -> None:
    catalog = yaml.safe_load((TEMPLATES / "catalog.yaml").read_text(encoding="utf-8"))
    keys = [entry["key"] for entry in catalog["templates"]]
    assert sorted(keys) == sorted(EXPECTED_KEYS)
    for entry in catalog["templates"]:
        assert entry["audience"] == ("internal" if entry["key"].endswith("_internal.html") else "customer")


def test_shipped_templates_validate_clean() -> None:
    assert validate(TEMPLATES) == [], show(validate(TEMPLATES))


def test_definition_catalog_schema_equals_the_embedded_one() -> None:
    on_disk = json.loads(CATALOG_SCHEMA_FILE.read_text(encoding="utf-8"))
    assert on_disk == vt.CATALOG_SCHEMA


@pytest.mark.parametrize("key", EXPECTED_KEYS)
def test_shipped_template_renders_with_its_sample(key: str) -> None:
    html, txt, sample = render(key)
    for text in (html, txt):
        assert "{{" not in text and "}}" not in text
    assert len(html.encode("utf-8")) < 100 * 1024
    # Rendering really substituted the data: every top-level string of the sample shows up (HTML-escaped).
    for name, value in sample.items():
        if isinstance(value, str):
            escaped = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            assert escaped in html, f"{name} not rendered into {key}"
            assert escaped in txt, f"{name} not rendered into the text of {key}"
    if key.endswith("_internal.html"):
        assert "unsubscribe" not in html.lower()
    else:
        assert sample["unsubscribeUrl"] in html
        assert "Big Beard Web Solutions, Cape Town" in html


def test_amounts_are_zar_and_discount_line_renders() -> None:
    html, txt, sample = render("receipts/receipt.html")
    assert f"R&nbsp;{sample['total']}" in html
    assert f"campaign {sample['discount']['campaignCode']}" in txt


# ---------------------------------------------------------------------------------------------- baseline


def test_minimal_fixture_is_clean(tdir: Path) -> None:
    assert validate(tdir) == []


def test_findings_are_sorted_and_named_relative_to_the_folder_parent(tdir: Path) -> None:
    edit(tdir / "receipts/receipt.html", "{{total}}", "{{orderTotal}}")
    edit(tdir / "notifications/ping_internal.html", "{{tenantId}} pinged", "{{tenant}} pinged")
    findings = validate(tdir)
    assert findings == sorted(findings)
    assert all(f.file.startswith("templates/") for f in findings), show(findings)


# ----------------------------------------------------------------------------------- rendered HTML, lines


def test_section_tags_between_table_rows_are_not_findings(tdir: Path) -> None:
    # The fixture has {{#items}} between <tr>s: the checks see the rendered HTML, not the Mustache.
    assert validate(tdir) == []


def test_rendered_findings_name_the_template_line_inside_a_repeated_section(tdir: Path) -> None:
    html = tdir / "receipts/receipt.html"
    edit(html, "<tr><td>{{name}}</td>", '<tr><td style="color:#ffffff;">{{name}}</td>')
    found = only(validate(tdir), "contrast")
    # Two sample items render the row twice; both map back to the one template line, reported once.
    assert [(f.file, f.line) for f in found] == [(HTML, line_of(html, "color:#ffffff"))], show(found)


# ---------------------------------------------------------------------------------------------- Mustache


def test_unclosed_section(tdir: Path) -> None:
    html = tdir / "receipts/receipt.html"
    edit(html, "    {{/discount}}\n", "")
    expect(validate(tdir), HTML, line_of(html, "{{#discount}}"), "{{#discount}} is never closed", "{{/discount}}")


def test_unclosed_tag(tdir: Path) -> None:
    html = tdir / "receipts/receipt.html"
    edit(html, "R {{total}}", "R {{total}")
    expect(validate(tdir), HTML, line_of(html, "{{total}<"), "unclosed Mustache tag '{{total}")


def test_mismatched_close(tdir: Path) -> None:
    html = tdir / "receipts/receipt.html"
    edit(html, "{{/items}}", "{{/item}}")
    expect(
        validate(tdir),
        HTML,
        line_of(html, "{{/item}}"),
        "{{/item}} closes {{#items}} opened at line",
        "{{/items}}",
    )


def test_close_without_open(tdir: Path) -> None:
    txt = tdir / "receipts/receipt.txt"
    edit(txt, "Total: R {{total}}", "Total: R {{total}}{{/total}}")
    expect(validate(tdir), TXT, line_of(txt, "{{/total}}"), "{{/total}} closes a section that was never opened")


def test_mustache_errors_in_text_alternative(tdir: Path) -> None:
    txt = tdir / "receipts/receipt.txt"
    edit(txt, "{{/items}}\n", "")
    expect(validate(tdir), TXT, line_of(txt, "{{#items}}"), "{{#items}} is never closed")


def test_mustache_errors_in_subject(tdir: Path) -> None:
    catalog = tdir / "catalog.yaml"
    edit(catalog, 'subject: "Receipt {{receiptNumber}}"', 'subject: "Receipt {{#receiptNumber}}"')
    expect(
        validate(tdir),
        CATALOG,
        line_of(catalog, "Receipt {{#receiptNumber}}"),
        "receipts/receipt.html: subject:",
        "never closed",
    )


def test_unescaped_partial_and_delimiter_tags(tdir: Path) -> None:
    html = tdir / "receipts/receipt.html"
    edit(html, "<td>{{name}}</td>", "<td>{{{name}}}</td>")
    edit(html, "<tr><td>Total</td>", "{{> footer}}<tr><td>Total</td>")
    findings = validate(tdir)
    expect(findings, HTML, line_of(html, "{{{name}}}"), "turns HTML escaping off", "use {{name}}")
    expect(findings, HTML, line_of(html, "{{> footer}}"), "partials are not uploaded")
    edit(html, "{{> footer}}", "{{=<% %>=}}")
    expect(validate(tdir), HTML, line_of(html, "{{=<% %>=}}"), "set-delimiter tag", "not supported")


def test_malformed_tag_names(tdir: Path) -> None:
    html = tdir / "receipts/receipt.html"
    edit(html, "<td>Total</td>", "<td>Total {{}} {{order total}}</td>")
    findings = validate(tdir)
    line = line_of(html, "{{order total}}")
    expect(findings, HTML, line, "malformed Mustache tag '{{}}'")
    expect(findings, HTML, line, "malformed Mustache tag '{{order total}}'", "names are letters, digits")


def test_chevron_cross_check_reports_its_line() -> None:
    # The scanner is stricter than chevron; this pins that chevron's own tokenizer errors are read right.
    assert vt.chevron_error("a\n{{#items}}x") == (
        2,
        'Mustache syntax error: Unexpected EOF the tag "items" was never closed was opened at line 2',
    )
    assert vt.chevron_error("{{#a}}{{/a}}") is None


# ------------------------------------------------------------------------------------ variable contracts


def test_placeholder_not_declared(tdir: Path) -> None:
    html = tdir / "receipts/receipt.html"
    edit(html, "R {{total}}", "R {{orderTotal}}")
    found = expect(validate(tdir), HTML, line_of(html, "{{orderTotal}}"), "placeholder {{orderTotal}}")
    assert found.message == (
        "placeholder {{orderTotal}} is not declared in receipt.contract.json; add it to properties or fix the name"
    )


def test_section_scopes_resolve_like_mustache(tdir: Path) -> None:
    html, txt = tdir / "receipts/receipt.html", tdir / "receipts/receipt.txt"
    # Outer names are visible inside a section: no finding.
    edit(html, "<td>{{name}}</td>", "<td>{{name}} for {{customerName}}</td>")
    edit(txt, "- {{name}}:", "- {{name}} for {{customerName}}:")
    assert validate(tdir) == [], show(validate(tdir))
    # An item's property is not visible outside its section.
    edit(html, "Hi {{customerName}}", "Hi {{name}}")
    expect(validate(tdir), HTML, line_of(html, "Hi {{name}}"), "placeholder {{name}} is not declared")


def test_dotted_name_into_an_object(tdir: Path) -> None:
    html = tdir / "receipts/receipt.html"
    edit(html, "<td>Total</td>", "<td>Total {{discount.campaignCode}} {{discount.code}}</td>")
    findings = validate(tdir)
    expect(findings, HTML, line_of(html, "{{discount.code}}"), "'discount' has no property 'code'")
    assert not only(findings, "discount.campaignCode", "not declared")


def test_required_variable_never_used(tdir: Path) -> None:
    edit(tdir / "receipts/receipt.html", "Hi {{customerName}}, ", "")
    edit(tdir / "receipts/receipt.txt", "Hi {{customerName}}, ", "")
    found = expect(
        validate(tdir),
        CONTRACT,
        line_of(tdir / "receipts/receipt.contract.json", '"customerName": {'),
        "customerName",
    )
    assert "required variable customerName is never used" in found.message
    assert "remove it from required" in found.message


def test_required_item_property_never_used(tdir: Path) -> None:
    edit(tdir / "receipts/receipt.html", "<td>R {{lineTotal}}</td>", "")
    edit(tdir / "receipts/receipt.txt", ": R {{lineTotal}}", "")
    expect(
        validate(tdir),
        CONTRACT,
        line_of(tdir / "receipts/receipt.contract.json", '"lineTotal": {'),
        "required variable items.lineTotal is never used",
    )


def test_html_and_text_use_different_variables(tdir: Path) -> None:
    html, txt = tdir / "receipts/receipt.html", tdir / "receipts/receipt.txt"
    edit(txt, "Total: R {{total}}\n", "")
    findings = validate(tdir)
    expect(findings, HTML, line_of(html, "R {{total}}"), "variable total is used here but not in receipt.txt")
    assert len(findings) == 1, show(findings)
    edit(html, "Discount {{campaignCode}}", "Discount")
    expect(
        validate(tdir),
        TXT,
        line_of(txt, "{{campaignCode}}"),
        "variable discount.campaignCode is used here but not in receipt.html",
    )


def test_contract_must_forbid_unknown_variables(tdir: Path) -> None:
    contract = tdir / "receipts/receipt.contract.json"
    edit(
        contract,
        '"additionalProperties": false,\n  "required"',
        '"additionalProperties": true,\n  "required"',
    )
    expect(
        validate(tdir),
        CONTRACT,
        line_of(contract, '"additionalProperties": true'),
        '"additionalProperties": false',
    )


def test_contract_not_json(tdir: Path) -> None:
    contract = tdir / "receipts/receipt.contract.json"
    edit(contract, '"type": "object",', '"type": "object"')
    expect(validate(tdir), CONTRACT, line_of(contract, '"additionalProperties": false,'), "not valid JSON")


def test_sample_does_not_match_contract(tdir: Path) -> None:
    sample = tdir / "receipts/receipt.sample.json"
    edit(sample, '"total": "1 844.10"', '"total": "1844.1"')
    found = expect(validate(tdir), SAMPLE, line_of(sample, '"total"'), "sample does not match receipt.contract.json")
    assert "at /total:" in found.message


def test_sample_with_undeclared_key(tdir: Path) -> None:
    sample = tdir / "receipts/receipt.sample.json"
    edit(sample, '"receiptNumber": "R-1",', '"receiptNumber": "R-1",\n  "receiptNo": "R-1",')
    expect(validate(tdir), SAMPLE, 1, "Additional properties are not allowed ('receiptNo'")


# ---------------------------------------------------------------------------------------------- rendering


def test_leftover_braces_after_rendering(tdir: Path) -> None:
    html = tdir / "receipts/receipt.html"
    edit(html, ".container { width: 100% !important; }", ".container { width: 100% !important; }}")
    expect(
        validate(tdir),
        HTML,
        line_of(html, "!important; }}"),
        "'}}' is left in the output",
        "receipt.sample.json",
    )


def test_leftover_braces_from_sample_data(tdir: Path) -> None:
    edit(tdir / "receipts/receipt.sample.json", '"customerName": "Thandi"', '"customerName": "{{name}}"')
    expect(validate(tdir), TXT, 1, "'{{' is left in the output", "keep braces out of sample values")


def test_rendered_size_over_gmail_limit(tdir: Path) -> None:
    edit(
        tdir / "receipts/receipt.sample.json",
        '"customerName": "Thandi"',
        '"customerName": "' + "x" * 103_000 + '"',
    )
    found = expect(validate(tdir), HTML, 1, "over the 102,400-byte limit")
    assert "Gmail clips" in found.message
    assert not only(validate(tdir), "byte limit", "receipt.txt")


# ------------------------------------------------------------------------------------------- HTML safety


def test_event_handlers(tdir: Path) -> None:
    html = tdir / "receipts/receipt.html"
    edit(html, '<body style="margin:0;">', '<body style="margin:0;" onload="track()">')
    expect(validate(tdir), HTML, line_of(html, "onload="), "event handler onload=")


def test_plain_http_resources(tdir: Path) -> None:
    html = tdir / "receipts/receipt.html"
    edit(
        html,
        '<body style="margin:0;">',
        "<body style=\"margin:0;background:url('http://cdn.example.co.za/bg.png');\">",
    )
    edit(
        html,
        "    @media",
        "    .hero { background-image: url(http://cdn.example.co.za/hero.png); }\n    @media",
    )
    edit(html, "<td>Total</td>", '<td background="http://cdn.example.co.za/cell.png">Total</td>')
    findings = validate(tdir)
    expect(
        findings,
        HTML,
        line_of(html, "bg.png"),
        "CSS loads http://cdn.example.co.za/bg.png",
    )
    expect(findings, HTML, line_of(html, "hero.png"), "CSS loads http://cdn.example.co.za/hero.png")
    expect(findings, HTML, line_of(html, "cell.png"), "background= of <td> uses plain http")


def test_charset(tdir: Path) -> None:
    html = tdir / "receipts/receipt.html"
    edit(html, '  <meta charset="utf-8">\n', "")
    expect(validate(tdir), HTML, 1, '<meta charset="utf-8">')


# ---------------------------------------------------------------------------------- customer obligations


def test_customer_template_needs_unsubscribe_link(tdir: Path) -> None:
    edit(tdir / "receipts/receipt.html", '<a href="{{unsubscribeUrl}}">Unsubscribe</a>', "{{unsubscribeUrl}}")
    found = expect(validate(tdir), HTML, 1, "customer template has no unsubscribe link")
    assert '<a href="{{unsubscribeUrl}}">Unsubscribe</a>' in found.message
    edit(tdir / "receipts/receipt.txt", "Unsubscribe: {{unsubscribeUrl}}", "")
    expect(validate(tdir), TXT, 1, "customer template has no unsubscribe link")


def test_customer_template_needs_company_address(tdir: Path) -> None:
    edit(tdir / "receipts/receipt.html", "1 Test Street, Cape Town, South Africa", "Cape Town")
    found = expect(validate(tdir), HTML, 1, "lacks the company address")
    assert "'1 Test Street, Cape Town, South Africa' (brand.address in catalog.yaml)" in found.message


def test_internal_template_needs_neither(tdir: Path) -> None:
    # ping_internal has no unsubscribe link and no address, and the baseline is clean.
    text = (tdir / "notifications/ping_internal.html").read_text(encoding="utf-8")
    assert "unsubscribe" not in text.lower() and "Test Street" not in text
    assert validate(tdir) == []


# --------------------------------------------------------------------------------------- catalog and files


def test_template_without_catalog_entry(tdir: Path) -> None:
    shutil.copy(tdir / "receipts/receipt.html", tdir / "receipts/refund.html")
    (tdir / "invoices").mkdir()
    (tdir / "invoices/old.txt").write_text("x", encoding="utf-8")
    findings = validate(tdir)
    expect(findings, "templates/receipts/refund.html", 1, "template has no entry in catalog.yaml")
    expect(findings, "templates/invoices/old.txt", 1, "plain-text alternative of invoices/old.html")


def test_catalog_entry_without_file(tdir: Path) -> None:
    (tdir / "notifications/ping_internal.html").unlink()
    expect(
        validate(tdir),
        CATALOG,
        line_of(tdir / "catalog.yaml", "key: notifications/ping_internal.html"),
        "has no file templates/notifications/ping_internal.html",
    )


def test_missing_siblings(tdir: Path) -> None:
    (tdir / "receipts/receipt.txt").unlink()
    (tdir / "receipts/receipt.sample.json").unlink()
    findings = validate(tdir)
    expect(findings, HTML, 1, "has no plain-text alternative receipt.txt")
    expect(findings, HTML, 1, "has no sample render context receipt.sample.json")


def test_key_folder_must_equal_category(tdir: Path) -> None:
    catalog = tdir / "catalog.yaml"
    edit(catalog, "category: receipts", "category: invoices")
    expect(
        validate(tdir),
        CATALOG,
        line_of(catalog, "category: invoices"),
        "category is invoices",
        "folder receipts/",
    )


def test_internal_suffix_iff_internal_audience(tdir: Path) -> None:
    catalog = tdir / "catalog.yaml"
    edit(catalog, "audience: customer", "audience: internal")
    expect(
        validate(tdir),
        CATALOG,
        line_of(catalog, "audience: internal"),
        "audience is internal but the name does not end in _internal.html",
    )
    edit(catalog, "audience: internal", "audience: customer")
    edit(catalog, "audience: internal", "audience: customer")
    expect(
        validate(tdir),
        CATALOG,
        line_of(catalog, "audience: customer", 2),
        "ends in _internal.html but audience is customer",
    )


def test_key_pattern(tdir: Path) -> None:
    catalog = tdir / "catalog.yaml"
    edit(catalog, "key: receipts/receipt.html", "key: receipts/Receipt.html")
    (tdir / "receipts/receipt.html").rename(tdir / "receipts/Receipt.html")
    found = expect(validate(tdir), CATALOG, line_of(catalog, "Receipt.html"), "/templates/0/key")
    assert "lowercase letters, digits and underscores" in found.message


def test_catalog_schema_rejects_unknown_keys_and_bad_values(tdir: Path) -> None:
    catalog = tdir / "catalog.yaml"
    edit(catalog, "    version: 1.0.0\n", "    version: v1\n    owner: me\n")
    findings = validate(tdir)
    expect(findings, CATALOG, line_of(catalog, "version: v1"), "/templates/0/version", "MAJOR.MINOR.PATCH")
    expect(findings, CATALOG, line_of(catalog, "key: receipts/receipt.html"), "'owner' was unexpected")


def test_duplicate_template_key(tdir: Path) -> None:
    catalog = tdir / "catalog.yaml"
    text = catalog.read_text(encoding="utf-8")
    first = text[text.index("  - key: receipts/receipt.html") : text.index("  - key: notifications")]
    catalog.write_text(text + first, encoding="utf-8")
    expect(
        validate(tdir),
        CATALOG,
        line_of(catalog, "key: receipts/receipt.html", 2),
        "duplicate catalog entry for receipts/receipt.html (first at line",
    )


def test_duplicate_yaml_key(tdir: Path) -> None:
    catalog = tdir / "catalog.yaml"
    edit(catalog, "    version: 1.0.0\n", "    version: 1.0.0\n    version: 1.0.1\n")
    expect(validate(tdir), CATALOG, line_of(catalog, "version: 1.0.1"), "duplicate key 'version'")


# ------------------------------------------------------------------------------------------------- CLI


def test_cli_clean_exits_0(tdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tdir), "--html-validate", "off"]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert "is valid" in err


def test_cli_findings_exit_1(tdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    html = tdir / "receipts/receipt.html"
    edit(html, "<body ", '<body onclick="x()" ')
    assert main([str(tdir), "--html-validate", "off"]) == 1
    out, err = capsys.readouterr()
    assert f"{HTML}:{line_of(html, '<body')}: event handler onclick=" in out.splitlines()[0]
    assert "1 problem(s) in 1 file(s)" in err


def test_cli_default_folder_is_templates(tdir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tdir.parent)
    assert main([]) == 0
    (tdir / "receipts/receipt.txt").unlink()
    assert main([]) == 1


@pytest.mark.parametrize("case", ["missing-dir", "missing-catalog", "bad-yaml", "bad-option"])
def test_cli_usage_errors_exit_2(tdir: Path, case: str, capsys: pytest.CaptureFixture[str]) -> None:
    argv = [str(tdir)]
    if case == "missing-dir":
        argv = [str(tdir / "nope")]
    elif case == "missing-catalog":
        (tdir / "catalog.yaml").unlink()
    elif case == "bad-yaml":
        (tdir / "catalog.yaml").write_text("templates: [\n", encoding="utf-8")
    else:
        argv = ["--no-such-option"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.strip(), "a usage error must say what is wrong"
    if case == "bad-yaml":
        assert "catalog.yaml:2: catalog.yaml is not valid YAML" in err


def test_a_long_catalog_checked_on_several_cores_finds_what_one_core_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Long catalogs are checked in worker processes; the findings must not depend on that."""
    target = tmp_path / "templates"
    shutil.copytree(TEMPLATES, target)
    edit(target / "receipts" / "order.html", "<body ", '<body onload="x()" ')  # an event handler
    edit(
        target / "invoices" / "invoice.txt",
        "{{",
        "{{#unclosed}}{{",
    )
    monkeypatch.setattr(vt, "_usable_cores", lambda: 2)
    monkeypatch.setattr(vt, "PARALLEL_FROM", 1)
    parallel = validate(target)
    monkeypatch.setattr(vt, "PARALLEL_FROM", 10**6)
    serial = validate(target)
    assert parallel == serial
    assert {f.file for f in serial} >= {"templates/receipts/order.html", "templates/invoices/invoice.txt"}, show(serial)
