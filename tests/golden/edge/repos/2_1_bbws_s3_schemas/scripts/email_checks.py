"""What mail clients and readers need of a rendered email: client support, contrast, links, html-validate.

Shipped beside ``validate_templates.py`` (which imports it) into the generated S3 repo's ``scripts/``,
with ``email_client_support.json`` (caniemail.com's data, compiled by tools/email/update_caniemail.py).
Every check runs on a template rendered with its sample through ``render_with_lines``, which keeps a map
from each rendered line to the template line it came from, so findings name the file a person edits.

Checks here (Python, no node needed):

- **Client support** (caniemail): every CSS property, value, function, at-rule, pseudo-class and
  ``!important`` of inline styles and ``<style>``, and every HTML element and presentational attribute,
  is looked up in the support table. POLICY: an error when the newest test says *not supported* in a
  client of ``FAIL_CLIENTS`` (Gmail web and apps, Outlook for Windows, Outlook.com), unless the feature is
  in ``DEGRADES_GRACEFULLY`` (the email still reads right without it); a warning when it is unsupported
  in another major client (Apple Mail, Outlook for Mac/iOS/Android, Yahoo, Samsung Email); nothing for a
  feature listed in ``DEGRADES_GRACEFULLY`` with the reason it is accepted. Partial support ("a" with notes) is
  not reported: the notes are too varied to judge by rule. One finding per template and feature.
- **Safety**: CSS ``expression()``, plain-http ``url()``, event handler attributes, plain-http
  ``background=``/``srcset=`` and the like.
- **Readability**: text/background contrast of every visible text run at least WCAG AA 4.5:1, from the
  colours of the inline styles (and ``bgcolor``) of the element and its ancestors (links without a colour
  of their own are the clients' link blue; 4.5:1 applies to large text too, stricter than WCAG's 3:1);
  links whose text does not say where they go ("click here").

``html_validate`` runs the pinned npm tool (``tools/email``) over the rendered documents in one node
process and maps its messages back: parse errors, content models, duplicate ids, attribute values,
``alt`` on images, ``lang`` on ``<html>``, empty links, https-only links, forbidden elements.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import chevron
import tinycss2

SUPPORT_FILE = Path(__file__).resolve().with_name("email_client_support.json")
# Errors: a template must read right in these (Gmail and Outlook reach most of BBWS's customers).
FAIL_CLIENTS = ("gmail/desktop-webmail", "gmail/ios", "gmail/android", "outlook/windows", "outlook/outlook-com")
CLIENT_NAMES = {
    "gmail/desktop-webmail": "Gmail (web)",
    "gmail/ios": "Gmail (iOS)",
    "gmail/android": "Gmail (Android)",
    "outlook/windows": "Outlook for Windows",
    "outlook/outlook-com": "Outlook.com",
    "outlook/macos": "Outlook for Mac",
    "outlook/ios": "Outlook (iOS)",
    "outlook/android": "Outlook (Android)",
    "apple-mail/macos": "Apple Mail (macOS)",
    "apple-mail/ios": "Apple Mail (iOS)",
    "yahoo/desktop-webmail": "Yahoo Mail",
    "samsung-email/android": "Samsung Email",
}
# Unsupported somewhere, yet the email still reads right there: accepted, not reported (POLICY). Each entry
# says why; keep the list short, an entry hides that feature's findings in every template.
DEGRADES_GRACEFULLY = {
    "css-border-radius": "corners are square where it is not supported",
    "css-box-shadow": "no shadow where it is not supported",
    "css-max-height": "only hides the preheader, which shows as a short line at worst",
    "css-opacity": "only hides the preheader, which shows as a short line at worst",
    "css-overflow": "only hides the preheader, which shows as a short line at worst",
    "css-at-media": "desktop clients without media queries get the 600 px desktop layout",
    "css-outline": "only resets the outline of linked images",
    "css-white-space": "amounts may wrap between currency and number",
    "css-height": "images also carry a height= attribute",
    "html-body": "Outlook for Mac drops <body> attributes; the wrapper table carries the background",
}
CSS_FUNCTIONS = {
    "linear-gradient": "css-linear-gradient",
    "radial-gradient": "css-radial-gradient",
    "conic-gradient": "css-conic-gradient",
    "calc": "css-unit-calc",
    "var": "css-variables",
    "min": "css-function-min",
    "max": "css-function-max",
    "clamp": "css-function-clamp",
    "light-dark": "css-function-light-dark",
    "rgb": "css-rgb",
    "rgba": "css-rgba",
}
CSS_AT_RULES = {
    "media": "css-at-media",
    "import": "css-at-import",
    "font-face": "css-at-font-face",
    "keyframes": "css-at-keyframes",
    "supports": "css-at-supports",
}
# Properties caniemail files under a page of another name.
CSS_PROPERTY_ALIASES = {
    **{f"{side}": "css-left-right-top-bottom" for side in ("left", "right", "top", "bottom")},
    **{f"margin-{side}": "css-margin" for side in ("top", "right", "bottom", "left")},
    **{f"padding-{side}": "css-padding" for side in ("top", "right", "bottom", "left")},
    **{f"border-{part}": "css-border" for part in ("top", "right", "bottom", "left", "color", "style", "width")},
    **{
        f"border-{side}-{part}": "css-border"
        for side in ("top", "right", "bottom", "left")
        for part in ("color", "style", "width")
    },
    "font-family": "css-font",
    "font-style": "css-font",
    "font-variant": "css-font",
}
# Presentational attributes caniemail documents, by attribute name.
HTML_ATTRIBUTES = {
    "align": "html-align",
    "valign": "html-valign",
    "background": "html-background",
    "cellpadding": "html-cellpadding",
    "cellspacing": "html-cellspacing",
    "height": "html-height",
    "lang": "html-lang",
    "dir": "html-dir",
    "role": "html-role",
    "srcset": "html-srcset",
    "loading": "html-loading-attribute",
    "target": "html-target",
    "hidden": "html-hidden",
}
# Elements whose caniemail page is not html-<name>.
HTML_ELEMENT_ALIASES = {f"h{n}": "html-h1-h6" for n in range(1, 7)} | {
    "ul": "html-lists",
    "ol": "html-lists",
    "li": "html-lists",
    "s": "html-strike",
}
# Attributes whose value a mail client fetches; plain http is blocked or warned about. href and src are
# html-validate's (allowed-links); these are the ones it does not look at.
URL_ATTRIBUTES = frozenset({"background", "srcset", "poster", "action", "formaction", "cite", "longdesc", "data"})
GENERIC_LINK_TEXT = frozenset(
    {"click here", "here", "click", "read more", "more", "link", "this link", "learn more", "go", "this", "details"}
)
HIDDEN = re.compile(r"display\s*:\s*none|mso-hide\s*:\s*all|opacity\s*:\s*0(?:\.0+)?\s*(?:;|$)", re.IGNORECASE)
CONTRAST_AA = 4.5
LINK_BLUE = (0x00, 0x00, 0xEE)  # the HTML default link colour (Gmail's #1155cc is as dark)
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"})
NAMED_COLOURS = {
    "black": (0, 0, 0),
    "white": (255, 255, 255),
    "red": (255, 0, 0),
    "green": (0, 128, 0),
    "blue": (0, 0, 255),
    "yellow": (255, 255, 0),
    "gray": (128, 128, 128),
    "grey": (128, 128, 128),
    "silver": (192, 192, 192),
    "navy": (0, 0, 128),
    "orange": (255, 165, 0),
    "purple": (128, 0, 128),
    "maroon": (128, 0, 0),
    "teal": (0, 128, 128),
    "olive": (128, 128, 0),
    "lime": (0, 255, 0),
    "aqua": (0, 255, 255),
    "fuchsia": (255, 0, 255),
}
HEX = re.compile(r"^#([0-9a-f]{3}|[0-9a-f]{6})$", re.IGNORECASE)
TOOL_ENV = "BBWS_EMAIL_TOOL"
NODE_TIMEOUT = 120
RULE_HINTS = {
    "allowed-links": "links and images must be https:// (or mailto:/tel:) URLs: clients block plain http, and "
    "relative or javascript: URLs go nowhere in an email",
    "no-dup-id": "ids must be unique in the document: rename one",
    "wcag/h37": 'add alt text (alt="" for a purely decorative image) for screen readers and blocked images',
    "wcag/h30": "give the link text (or an image with alt text) that says where it goes",
    "element-required-attributes": "add the attribute",
    "close-order": "close elements in the order they were opened",
    "no-implicit-close": "close the element explicitly",
    "element-permitted-content": "move the element where the content model allows it",
    "deprecated": "remove it",
}

Rgb = tuple[int, int, int]


# ------------------------------------------------------------------------------------------ rendering


@dataclass(frozen=True)
class Rendered:
    """A template rendered with its sample; ``lines[i]`` is the template line of rendered line ``i + 1``."""

    text: str
    lines: tuple[int, ...]

    def source_line(self, rendered_line: int) -> int:
        """The template line a rendered (1-based) line came from."""
        if not self.lines:
            return 1
        return self.lines[min(max(rendered_line, 1), len(self.lines)) - 1]


MARK = re.compile("\x00(\\d+)\x00")


def render_with_lines(template: str, data: Any) -> Rendered:
    """Render ``template`` with ``data`` as chevron does, keeping the template line of every output line.

    Each template line gets a marker (NUL, number, NUL) that chevron copies like text: repeated sections
    repeat it, removed sections remove it, a value with newlines leaves lines without one (they belong to
    the line before). Markers make standalone section lines keep their whitespace; nothing else changes.
    """
    marked = "\n".join(f"\x00{i}\x00{line}" for i, line in enumerate(template.split("\n"), 1))
    output = str(chevron.render(marked, data, partials_path=None))
    texts: list[str] = []
    lines: list[int] = []
    current = 1
    for raw in output.split("\n"):
        found = MARK.search(raw)
        if found:
            current = int(found.group(1))
        texts.append(MARK.sub("", raw))
        lines.append(current)
    return Rendered("\n".join(texts), tuple(lines))


# ----------------------------------------------------------------------------------------- findings


@dataclass(frozen=True)
class Issue:
    """A finding on a rendered document: rendered line, severity ("error" or "warning"), message."""

    line: int
    severity: str
    message: str


# ------------------------------------------------------------------------------------------ contrast


def parse_colour(value: str) -> Rgb | None:
    """An opaque sRGB colour from #rgb, #rrggbb, rgb()/rgba() (alpha ignored) or a basic name; else None."""
    value = value.strip().lower()
    match = HEX.match(value)
    if match:
        digits = match.group(1)
        if len(digits) == 3:
            digits = "".join(c * 2 for c in digits)
        return (int(digits[0:2], 16), int(digits[2:4], 16), int(digits[4:6], 16))
    func = re.match(r"^rgba?\(\s*(\d{1,3})[\s,]+(\d{1,3})[\s,]+(\d{1,3})", value)
    if func:
        r, g, b = (min(int(x), 255) for x in func.groups())
        return (r, g, b)
    return NAMED_COLOURS.get(value)


def relative_luminance(rgb: Rgb) -> float:
    """WCAG 2.x relative luminance of an sRGB colour."""

    def channel(c: int) -> float:
        s = c / 255
        return s / 12.92 if s <= 0.04045 else ((s + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast_ratio(a: Rgb, b: Rgb) -> float:
    """WCAG contrast ratio of two colours, 1.0 to 21.0."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def hex_of(rgb: Rgb) -> str:
    """#rrggbb for messages."""
    return "#{:02x}{:02x}{:02x}".format(*rgb)


# ------------------------------------------------------------------------------------------------ CSS


def declarations(style: str) -> list[tuple[str, str, bool]]:
    """(property, value text, important) of an inline style attribute, comments and errors skipped."""
    return list(_declarations(style))


@functools.lru_cache(maxsize=4096)
def _declarations(style: str) -> tuple[tuple[str, str, bool], ...]:
    result = []
    for item in tinycss2.parse_blocks_contents(style, skip_comments=True, skip_whitespace=True):
        if item.type == "declaration":
            result.append((item.lower_name, tinycss2.serialize(item.value).strip(), bool(item.important)))
    return tuple(result)


@functools.lru_cache(maxsize=4096)
def _css_uses(css: str, inline: bool) -> tuple[tuple[tuple[str, int], ...], tuple[tuple[int, str], ...]]:
    # Email repeats the same inline style on many elements, and templates built on one layout share its
    # <style> block: parse each distinct one once.
    parse = tinycss2.parse_blocks_contents if inline else tinycss2.parse_stylesheet
    nodes = parse(css, skip_comments=True, skip_whitespace=True)
    return tuple(css_features(nodes)), tuple(css_safety(nodes))


def colours_of(style: str, bgcolor: str) -> tuple[Rgb | None, Rgb | None]:
    """(text colour, background colour) an element sets itself; None where it sets none (or one we can't read)."""
    colour = background = None
    if bgcolor:
        background = parse_colour(bgcolor)
    for name, value, _ in _declarations(style):
        if name == "color":
            colour = parse_colour(value) or colour
        elif name == "background-color":
            background = parse_colour(value) or background
        elif name == "background":
            for token in value.split():
                if parse_colour(token):
                    background = parse_colour(token)
    return colour, background


@dataclass
class FeatureUse:
    """Where a template uses one caniemail feature: first rendered line and how often."""

    line: int
    count: int = 1


def css_features(nodes: Iterable[Any]) -> Iterator[tuple[str, int]]:
    """(caniemail slug, line offset within the text) of every feature used in parsed CSS ``nodes``."""
    for node in nodes:
        line = getattr(node, "source_line", 1) - 1
        if node.type == "declaration":
            yield from _declaration_features(node.lower_name, node.value, bool(node.important), line)
        elif node.type == "at-rule":
            slug = CSS_AT_RULES.get(node.lower_at_keyword)
            if slug:
                yield slug, line
            prelude = tinycss2.serialize(node.prelude).lower()
            if node.lower_at_keyword == "media":
                for feature in ("prefers-color-scheme", "prefers-reduced-motion", "orientation", "hover"):
                    if feature in prelude:
                        yield f"css-at-media-{feature}", line
            if node.content is not None:
                inner: Sequence[Any] = tinycss2.parse_blocks_contents(
                    node.content, skip_comments=True, skip_whitespace=True
                )
                if node.lower_at_keyword in ("media", "supports"):
                    inner = tinycss2.parse_rule_list(node.content, skip_comments=True, skip_whitespace=True)
                # Nested tokens keep the line numbers of the whole text they were parsed from.
                yield from css_features(inner)
        elif node.type == "qualified-rule":
            selector = tinycss2.serialize(node.prelude)
            for pseudo in re.findall(r"::?([a-z-]+)", selector.lower()):
                kind = "element" if f"::{pseudo}" in selector.lower() or pseudo in ("before", "after") else "class"
                yield f"css-pseudo-{kind}-{pseudo}", line
            body = tinycss2.parse_blocks_contents(node.content, skip_comments=True, skip_whitespace=True)
            yield from css_features(body)


def _declaration_features(name: str, value: list[Any], important: bool, line: int) -> Iterator[tuple[str, int]]:
    yield CSS_PROPERTY_ALIASES.get(name, f"css-{name}"), line
    if important:
        yield "css-important", line
    text = tinycss2.serialize(value).strip().lower()
    if name == "display" and text.split()[:1] in (["flex"], ["grid"], ["none"], ["inline-flex"]):
        yield "css-display-" + text.split()[0].removeprefix("inline-"), line
    for token in _walk(value):
        if token.type == "function" and token.lower_name in CSS_FUNCTIONS:
            yield CSS_FUNCTIONS[token.lower_name], line


def _walk(tokens: Iterable[Any]) -> Iterator[Any]:
    for token in tokens:
        yield token
        if token.type == "function":
            yield from _walk(token.arguments)


def css_safety(nodes: Iterable[Any]) -> Iterator[tuple[int, str]]:
    """(line offset, message) for CSS that runs script or loads over plain http."""
    for token in _walk_all(nodes):
        line = getattr(token, "source_line", 1) - 1
        if token.type == "function" and token.lower_name == "expression":
            yield (
                line,
                (
                    "CSS expression() runs script in old Internet Explorer and Outlook; mail clients drop the whole "
                    "style for it: remove it"
                ),
            )
        url = None
        if token.type == "url":
            url = token.value
        elif token.type == "function" and token.lower_name == "url":
            url = next((a.value for a in token.arguments if a.type == "string"), None)
        elif token.type == "at-rule" and token.lower_at_keyword == "import":
            url = next((a.value for a in token.prelude if a.type in ("string", "url")), None)
        if url is not None and url.strip().lower().startswith("http://"):
            yield line, f"CSS loads {url.strip()} over plain http; use https so clients do not block it"


def _walk_all(nodes: Iterable[Any]) -> Iterator[Any]:
    for node in nodes:
        yield node
        for attr in ("value", "prelude", "arguments"):
            child = getattr(node, attr, None)
            if isinstance(child, list):
                yield from _walk_all(child)
        content = getattr(node, "content", None)
        if isinstance(content, list):
            yield from _walk_all(content)


# ------------------------------------------------------------------------------------ document walker


@dataclass
class _Element:
    tag: str
    line: int
    colour: Rgb
    background: Rgb
    hidden: bool
    link_text: list[str] | None = None
    contrast_done: bool = False


class DocumentScan(HTMLParser):
    """One pass over a rendered document: features used, safety problems, contrast, link text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.issues: list[Issue] = []
        self.features: dict[str, FeatureUse] = {}
        self.stack: list[_Element] = [_Element("#root", 1, (0, 0, 0), (255, 255, 255), False)]
        self.in_style = False

    # -- features and safety

    def _use(self, slug: str, line: int) -> None:
        if slug in self.features:
            self.features[slug].count += 1
        else:
            self.features[slug] = FeatureUse(line)

    def _style(self, css: str, line: int, inline: bool) -> None:
        features, safety = _css_uses(css, inline)
        for slug, offset in features:
            self._use(slug, line + offset)
        for offset, message in safety:
            self.issues.append(Issue(line + offset, "error", message))

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """Look up the element and its attributes; push its colours for the contrast check."""
        line = self.getpos()[0]
        values = {name: value or "" for name, value in attrs}
        self._use(HTML_ELEMENT_ALIASES.get(tag, f"html-{tag}"), line)
        for name, value in values.items():
            if name in HTML_ATTRIBUTES:
                self._use(HTML_ATTRIBUTES[name], line)
            elif name.startswith("aria-"):
                self._use(f"html-{name}", line)
            if name.startswith("on"):
                self.issues.append(
                    Issue(
                        line,
                        "error",
                        f"event handler {name}= on <{tag}> would run script, which email must not; remove it",
                    )
                )
            if name in URL_ATTRIBUTES and "http://" in value.lower():
                self.issues.append(
                    Issue(
                        line,
                        "error",
                        f"{name}= of <{tag}> uses plain http ({value.strip()[:60]}); use https so clients do not "
                        "block or warn about it",
                    )
                )
        style = values.get("style", "")
        if style:
            self._style(style, line, inline=True)
        if tag == "style":
            self.in_style = True
        if tag in VOID:
            return
        parent = self.stack[-1]
        colour, background = colours_of(style, values.get("bgcolor", ""))
        if tag == "a" and colour is None and "href" in values:
            # A link does not inherit the text colour: clients draw it in their link blue.
            colour = LINK_BLUE
        self.stack.append(
            _Element(
                tag,
                line,
                colour or parent.colour,
                background or parent.background,
                parent.hidden or bool(HIDDEN.search(style)) or "hidden" in values,
                link_text=[] if tag == "a" else (parent.link_text if parent.link_text is not None else None),
            )
        )

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        """<x/> is a start tag that closes at once."""
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        """Pop to the matching element (html-validate reports misnesting; this only needs to recover)."""
        if tag == "style":
            self.in_style = False
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                for element in self.stack[i:][::-1]:
                    self._closed(element)
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        """CSS of <style>; contrast and link text of visible text."""
        line = self.getpos()[0]
        current = self.stack[-1]
        if self.in_style:
            self._style(data, line, inline=False)
            return
        if current.link_text is not None:
            current.link_text.append(data)
        text = " ".join(data.split())
        if not text or current.hidden or current.tag in ("title", "head", "script", "#root", "html"):
            return
        if current.contrast_done:
            return
        ratio = contrast_ratio(current.colour, current.background)
        if ratio < CONTRAST_AA:
            current.contrast_done = True
            self.issues.append(
                Issue(
                    line + data[: len(data) - len(data.lstrip())].count("\n"),
                    "error",
                    f"text of <{current.tag}> is {hex_of(current.colour)} on {hex_of(current.background)}: contrast "
                    f"{ratio:.2f}:1, below WCAG AA {CONTRAST_AA}:1; darken the text or change the background",
                )
            )

    def _closed(self, element: _Element) -> None:
        if element.tag != "a" or element.link_text is None or element.hidden:
            return
        text = " ".join("".join(element.link_text).split()).lower().strip(".!:")
        if text in GENERIC_LINK_TEXT:
            self.issues.append(
                Issue(
                    element.line,
                    "error",
                    f"link text {text!r} does not say where the link goes (screen readers list links by their "
                    "text); name the destination, e.g. 'View your invoice'",
                )
            )


# --------------------------------------------------------------------------------------- client support


@functools.lru_cache(maxsize=1)
def support_table() -> Mapping[str, Any]:
    """The vendored caniemail data (see tools/email/update_caniemail.py for its source and licence)."""
    data: Mapping[str, Any] = json.loads(SUPPORT_FILE.read_text(encoding="utf-8"))
    return data


def _clients(entries: Mapping[str, list[str]], wanted: Iterable[str], letter: str) -> list[str]:
    return [CLIENT_NAMES.get(c, c) + f" {entries[c][1]}" for c in wanted if c in entries and entries[c][0] == letter]


def support_issues(features: Mapping[str, FeatureUse]) -> list[Issue]:
    """Apply the POLICY (module docstring) to the features a document uses."""
    table = support_table()["features"]
    issues: list[Issue] = []
    for slug, use in sorted(features.items()):
        feature = table.get(slug)
        if feature is None:
            continue
        entries: Mapping[str, list[str]] = feature["support"]
        others = [c for c in CLIENT_NAMES if c not in FAIL_CLIENTS]
        failing = _clients(entries, FAIL_CLIENTS, "n")
        warned = _clients(entries, others, "n")
        if slug in DEGRADES_GRACEFULLY or not (failing or warned):
            continue
        where = f" ({use.count} uses)" if use.count > 1 else ""
        name = f"{feature['title']!s} [caniemail {slug}]{where}"
        if failing:
            issues.append(
                Issue(
                    use.line,
                    "error",
                    f"{name} is not supported in {', '.join(failing + warned)}; use a widely supported "
                    f"alternative (see {feature['url']})",
                )
            )
        else:
            issues.append(
                Issue(use.line, "warning", f"{name} is not supported in {', '.join(warned)}; see {feature['url']}")
            )
    return issues


def check_document(rendered: Rendered) -> list[Issue]:
    """Every Python check of one rendered document; lines are rendered lines (map with ``source_line``)."""
    scan = DocumentScan()
    scan.feed(rendered.text)
    scan.close()
    return [*scan.issues, *support_issues(scan.features)]


# ------------------------------------------------------------------------------------------ html-validate


class ToolUnavailable(Exception):
    """html-validate cannot run here: no node, or tools/email has not been installed (npm ci)."""


def find_tool(script_dir: Path) -> Path:
    """The installed tools/email folder: $BBWS_EMAIL_TOOL, or tools/email of the repo holding the script."""
    explicit = os.environ.get(TOOL_ENV)
    candidates = (
        [Path(explicit)]
        if explicit
        else [script_dir.parent / "tools" / "email", script_dir.parents[1] / "tools" / "email"]
    )
    present = [folder for folder in candidates if (folder / "check-html.mjs").is_file()]
    if not present:
        raise ToolUnavailable(f"no check-html.mjs in {' or '.join(map(str, candidates))}")
    installed = [folder for folder in present if (folder / "node_modules" / "html-validate").is_dir()]
    if not installed:
        raise ToolUnavailable(f"html-validate is not installed: run `npm ci --prefix {present[0]}`")
    if shutil.which("node") is None:
        raise ToolUnavailable("node is not on PATH: install Node.js 20 or later")
    return installed[0]


class HtmlValidateRun:
    """html-validate in one node process, started early so that loading it overlaps the Python checks."""

    def __init__(self, tool: Path) -> None:
        node = shutil.which("node")
        if node is None:
            raise ToolUnavailable("node is not on PATH: install Node.js 20 or later")
        # Elements email-elements.json forbids through html-validate's "deprecated" metadata (source "email").
        elements = json.loads((tool / "email-elements.json").read_text(encoding="utf-8"))
        self._forbidden = {
            name
            for name, meta in elements.items()
            if isinstance(meta.get("deprecated"), dict) and meta["deprecated"].get("source") == "email"
        }
        self._process = subprocess.Popen(
            [node, str(tool / "check-html.mjs")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def cancel(self) -> None:
        """Stop the process when its results are no longer wanted."""
        if self._process.poll() is None:
            self._process.kill()
        self._process.communicate()

    def results(self, documents: Mapping[str, str]) -> dict[str, list[Issue]]:
        """html-validate's messages for each named document."""
        payload = json.dumps([{"name": name, "html": text} for name, text in documents.items()])
        try:
            stdout, stderr = self._process.communicate(payload, timeout=NODE_TIMEOUT)
        except subprocess.TimeoutExpired as exc:
            self.cancel()
            raise ToolUnavailable(f"html-validate took longer than {NODE_TIMEOUT} s") from exc
        if self._process.returncode != 0:
            tail = " | ".join(stderr.strip().splitlines()[-3:])
            raise ToolUnavailable(f"html-validate failed to run (exit {self._process.returncode}): {tail}")
        issues: dict[str, list[Issue]] = {}
        for doc in json.loads(stdout):
            found = issues.setdefault(doc["name"], [])
            for m in doc["messages"]:
                rule, message = m["ruleId"], m["message"]
                hint = RULE_HINTS.get(rule, f"see https://html-validate.org/rules/{rule}.html")
                forbidden = re.match(r"<([a-z0-9-]+)> is deprecated: ", message)
                if rule == "deprecated" and forbidden and forbidden.group(1) in self._forbidden:
                    # Not deprecated HTML: an element email forbids; say so, the reason follows.
                    message = message.replace(" is deprecated: ", " is not allowed in email: ", 1)
                    hint = "remove it"
                found.append(Issue(int(m["line"]), m["severity"], f"{message} [html-validate {rule}]; {hint}"))
        return issues


def html_validate(tool: Path, documents: Mapping[str, str]) -> dict[str, list[Issue]]:
    """html-validate's messages for each named document, in one node process."""
    return HtmlValidateRun(tool).results(documents)


def issues_by_line(issues: Sequence[Issue], rendered: Rendered) -> list[tuple[int, str, str]]:
    """(template line, severity, message) of a document's issues, one per template line and message."""
    seen: dict[tuple[int, str], str] = {}
    for issue in issues:
        key = (rendered.source_line(issue.line), issue.message)
        if key not in seen or issue.severity == "error":
            seen[key] = issue.severity
    return [(line, severity, message) for (line, message), severity in sorted(seen.items())]
