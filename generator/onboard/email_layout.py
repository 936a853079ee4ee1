"""The HTML body and text alternative of a new email template, from the Jinja layouts in ``layouts/``.

The layouts write Mustache (``{{customerName}}``) for the sending Lambda, so Jinja here uses other
delimiters: ``${value}`` for values, ``<% statement %>`` and ``<%# comment #%>``. Values reach the HTML
escaped: by default every ``${...}`` is escaped for an attribute (quotes included); the ``text`` filter
escapes for element content (quotes left as typed). The text alternative is not escaped. What the layouts
show is computed here (heading, copyright line, wordmark); the layouts only lay it out.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

import jinja2
from markupsafe import Markup

from generator.onboard.template_rules import Variable

LAYOUTS = "layouts"


def _attribute(value: Any) -> Any:
    """Every value of an HTML layout, unless already markup: escaped for an attribute value."""
    return value if isinstance(value, Markup) else Markup(html.escape(str(value)))


def _text(value: Any) -> Markup:
    """The ``text`` filter: escaped for element content, where quotes need no escaping."""
    return value if isinstance(value, Markup) else Markup(html.escape(str(value), quote=False))


@cache
def environment(suffix: str) -> jinja2.Environment:
    """The Jinja environment of the ``.html`` or ``.txt`` layouts (escaping only for HTML)."""
    escape = suffix == ".html"
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("generator.onboard", LAYOUTS),
        autoescape=escape,
        finalize=_attribute if escape else None,
        undefined=jinja2.StrictUndefined,
        variable_start_string="${",
        variable_end_string="}",
        block_start_string="<%",
        block_end_string="%>",
        comment_start_string="<%#",
        comment_end_string="#%>",
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["text"] = _text
    return env


def layout_values(subject: str, brand: Mapping[str, str]) -> dict[str, str]:
    """What the layouts show besides the variables: the subject, its heading and the brand's lines."""
    company, address = brand["company"], brand["address"]
    words = company.split()
    return {
        "subject": subject,
        # "[BBWS {{environment}}] Order ..." -> "Order ...": the banner already shows the tag (as the shipped ones do)
        "heading": re.sub(r"^\[[^\]]*\]\s*", "", subject) or subject,
        "company": company,
        "copyright": address if address.startswith(company) else f"{company}, {address}",
        "support_email": brand["support_email"],
        "website": brand["website"],
        "website_label": brand["website"].removeprefix("https://").rstrip("/"),
        "logo_url": brand["logo_url"],
        "wordmark_top": " ".join(words[:2]).upper(),
        "wordmark_rest": " ".join(words[2:]).upper(),
    }


def _render(suffix: str, audience: str, subject: str, variables: Sequence[Variable], brand: Mapping[str, str]) -> str:
    template = environment(suffix).get_template(f"{audience}{suffix}")
    return template.render(layout_values(subject, brand), variables=list(variables))


def render_html(audience: str, subject: str, variables: Sequence[Variable], brand: Mapping[str, str]) -> str:
    """The HTML body: the audience's layout, with a details table and a table per line-item variable."""
    return _render(".html", audience, subject, variables, brand)


def render_text(audience: str, subject: str, variables: Sequence[Variable], brand: Mapping[str, str]) -> str:
    """The plain-text alternative: the same variables, in the same order, as the HTML."""
    return _render(".txt", audience, subject, variables, brand)
