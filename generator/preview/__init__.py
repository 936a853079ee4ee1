"""Previews of the email templates: each rendered with its sample context, as HTML and as a PNG.

Usage: ``bbws-gen preview [--definition DIR] [--output DIR] [--only KEY]... [--no-png] [--require-png]
[--chromium PATH] [--allow-network] [--jobs N]``, or ``python -m generator.preview`` with the same options
(``nox -s preview`` runs it); :func:`preview` is the library call, the CLI prints. For every template of the
definition's catalog it writes, under ``build/previews/`` by default (not committed):

- ``<key>``: the HTML rendered with ``<name>.sample.json`` by chevron, as a Lambda would render it;
- ``<name>.txt``: the plain-text alternative, rendered the same way;
- ``<name>.png``: a screenshot of the HTML by headless Chromium, 800 px wide (a mail client's width);
- ``<name>.dark.png``: the same in dark mode as mail apps darken a message: ``prefers-color-scheme: dark``
  (what the template's own dark styles react to) and Chromium's forced darkening (the inversion Gmail
  and Outlook apps apply to messages that do not opt out of it);
- ``<name>.mobile.png``: the same 375 px wide (a phone; the template's mobile media query applies);
- ``index.html``: every preview on one page, light, dark and mobile side by side, with the rendered
  subject, audience and version.

Chromium runs offline by default: every host name fails to resolve, so remote images (the logo) show
their alt text and a preview never waits on the network or differs with it; ``--allow-network`` loads
them. Chromium is found through ``--chromium``, ``$BBWS_CHROMIUM`` or PATH (chromium, chromium-browser,
google-chrome, google-chrome-stable).

Without Chromium the HTML and text previews are still written and the PNGs are skipped with a notice
(``--require-png`` makes that an error, for CI where Chromium is installed).

Exit codes: 0 done; 1 a screenshot failed; 2 invalid definition or bad usage (unknown ``--only`` key,
no Chromium with ``--require-png``).
"""

from __future__ import annotations

import html
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import chevron

from generator import api
from generator.errors import EXIT_INVALID, BbwsGenError
from generator.model import EmailTemplate

CHROMIUM_ENV = "BBWS_CHROMIUM"
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
WINDOW = (800, 1600)


@dataclass(frozen=True)
class Variant:
    """One screenshot per template: file suffix, window size and the Chromium switches that make it."""

    name: str
    suffix: str
    window: tuple[int, int]
    flags: tuple[str, ...] = ()


VARIANTS = (
    Variant("light", ".png", WINDOW),
    Variant("dark", ".dark.png", WINDOW, ("--force-dark-mode", "--blink-settings=forceDarkModeEnabled=true")),
    Variant("mobile", ".mobile.png", (375, 1600)),
)
SCREENSHOT_TIMEOUT = 120
INDEX = "index.html"


@dataclass(frozen=True)
class Preview:
    """The files written for one template, relative to the output folder."""

    template: EmailTemplate
    subject: str
    html: str
    text: str
    png: str | None
    # Screenshot file per variant name (light, dark, mobile); ``png`` is the light one.
    pngs: tuple[tuple[str, str], ...] = ()


def render(template: EmailTemplate) -> tuple[str, str, str]:
    """Subject, HTML and text of ``template`` rendered with its own sample context."""
    context: Any = json.loads(template.sample)
    return (
        chevron.render(template.subject, context),
        chevron.render(template.html, context),
        chevron.render(template.text, context),
    )


def find_chromium(explicit: str | None) -> str | None:
    """The Chromium (or Chrome) executable to use, or None."""
    for candidate in (explicit, os.environ.get(CHROMIUM_ENV)):
        if candidate:
            return shutil.which(candidate) or (candidate if Path(candidate).is_file() else None)
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def chromium_command(
    chromium: str,
    page: Path,
    png: Path,
    profile: Path,
    allow_network: bool,
    variant: Variant = VARIANTS[0],
) -> list[str]:
    """Headless Chromium taking one screenshot of a local file, with nothing else running."""
    command = [
        chromium,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        # Same pixels on every run and machine: no hinting differences, no animations mid-frame.
        "--font-render-hinting=none",
        f"--user-data-dir={profile}",
        f"--screenshot={png}",
        f"--window-size={variant.window[0]},{variant.window[1]}",
        *variant.flags,
    ]
    if not allow_network:
        command.append("--host-resolver-rules=MAP * ~NOTFOUND")
    return [*command, page.resolve().as_uri()]


def screenshot(chromium: str, page: Path, png: Path, allow_network: bool, variant: Variant = VARIANTS[0]) -> str | None:
    """Take the screenshot; None when it worked, else what went wrong."""
    png.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="bbws-preview-") as profile:
        try:
            result = subprocess.run(
                chromium_command(chromium, page, png, Path(profile), allow_network, variant),
                capture_output=True,
                text=True,
                timeout=SCREENSHOT_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired:
            return f"Chromium took longer than {SCREENSHOT_TIMEOUT} s"
    if result.returncode != 0 or not png.is_file() or png.stat().st_size == 0:
        tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        return f"Chromium exited {result.returncode} without a screenshot: {' | '.join(tail)}"
    return None


def write_previews(templates: Sequence[EmailTemplate], output: Path) -> list[Preview]:
    """The rendered HTML and text of every template, under ``output`` by S3 key."""
    previews = []
    for template in templates:
        subject, page, text = render(template)
        html_path, text_path = output / template.key, output / template.text_key
        html_path.parent.mkdir(parents=True, exist_ok=True)
        html_path.write_text(page, encoding="utf-8")
        text_path.write_text(text, encoding="utf-8")
        previews.append(Preview(template, subject, template.key, template.text_key, None))
    return previews


def write_index(previews: Sequence[Preview], output: Path) -> Path:
    """One page with every preview: rendered subject, audience, version, screenshot and links."""
    rows = []
    for p in previews:
        t = p.template
        shots = dict(p.pngs) or ({"light": p.png} if p.png else {})
        pictures = "".join(
            f'<figure><a href="{html.escape(shots[v.name])}"><img src="{html.escape(shots[v.name])}" '
            f'width="{v.window[0] // 2}" alt="{html.escape(v.name)} preview of {html.escape(t.key)}"></a>'
            f"<figcaption>{html.escape(v.name)} ({v.window[0]} px)</figcaption></figure>"
            for v in VARIANTS
            if v.name in shots
        )
        picture = f'<div class="shots">{pictures}</div>' if pictures else "<p>(no screenshot)</p>"
        rows.append(
            "<section>\n"
            f"<h2><code>{html.escape(t.key)}</code></h2>\n"
            f"<p><strong>{html.escape(p.subject)}</strong></p>\n"
            f"<p>{html.escape(t.audience)} &middot; version {html.escape(t.version)} &middot; "
            f'<a href="{html.escape(p.html)}">HTML</a> &middot; <a href="{html.escape(p.text)}">plain text</a></p>\n'
            f"<p>{html.escape(t.description)}</p>\n"
            f"{picture}\n"
            "</section>"
        )
    page = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        "<title>BBWS email template previews</title>\n"
        "<style>body{font-family:sans-serif;margin:2em;max-width:80em}section{border-top:1px solid #ccc;"
        "padding:1em 0}img{border:1px solid #ddd}.shots{display:flex;gap:1em;align-items:flex-start}"
        "figure{margin:0}figcaption{font-size:.85em;color:#444}</style>\n</head>\n<body>\n"
        f"<h1>BBWS email template previews ({len(previews)})</h1>\n"
        "<p>Each template rendered with its <code>.sample.json</code> context, as the sending Lambda would.</p>\n"
        + "\n".join(rows)
        + "\n</body>\n</html>\n"
    )
    index = output / INDEX
    index.write_text(page, encoding="utf-8")
    return index


class PreviewError(BbwsGenError):
    """The previews cannot be made as asked (an unknown ``--only`` key, no Chromium with ``--require-png``);
    nothing was written (exit code 2)."""

    exit_code = EXIT_INVALID


@dataclass(frozen=True)
class Previews:
    """What :func:`preview` made: the previews, the index page, each screenshot that failed (exit code 1),
    and why PNGs were skipped (None when Chromium ran or none were asked for)."""

    previews: tuple[Preview, ...]
    index: Path
    failures: tuple[str, ...]
    png_skipped: str | None = None

    @property
    def screenshots(self) -> int:
        """How many screenshots were written."""
        return sum(len(p.pngs) for p in self.previews)


def _no_chromium(require: bool) -> str:
    tried = f"no Chromium found (tried --chromium, ${CHROMIUM_ENV}, {', '.join(CHROMIUM_NAMES)}): "
    if require:
        return tried + "install it (Debian/Ubuntu: apt-get install -y chromium) or drop --require-png."
    return (
        tried + "PNG screenshots skipped, HTML and text previews still written. Install it for PNGs "
        "(Debian/Ubuntu: apt-get install -y chromium)."
    )


def _select(templates: Sequence[EmailTemplate], only: Sequence[str] | None) -> list[EmailTemplate]:
    if not only:
        return list(templates)
    unknown = sorted(set(only) - {t.key for t in templates})
    if unknown:
        known = ", ".join(t.key for t in templates)
        raise PreviewError(f"unknown template key(s) {', '.join(unknown)}; the catalog has: {known}")
    return [t for t in templates if t.key in only]


def preview(
    definition: Path,
    output: Path,
    *,
    only: Sequence[str] | None = None,
    png: bool = True,
    require_png: bool = False,
    chromium: str | None = None,
    allow_network: bool = False,
    jobs: int = 1,
) -> Previews:
    """Render the templates of ``definition`` (or those keyed in ``only``) into ``output``: HTML, text and,
    with ``png`` and a Chromium (``chromium``, else found), a screenshot per variant, plus the index page.

    Raises :class:`~generator.errors.DefinitionError` for an invalid definition and :class:`PreviewError`
    for bad usage, both before anything is written.
    """
    templates = _select(api.validate(definition).model.templates, only)
    executable = find_chromium(chromium) if png else None
    skipped = _no_chromium(require_png) if png and executable is None else None
    if skipped and require_png:
        raise PreviewError(skipped)
    output.mkdir(parents=True, exist_ok=True)
    previews = write_previews(templates, output)
    failures: list[str] = []
    if executable is not None:
        failures = _screenshots(executable, previews, output, allow_network, jobs)
    return Previews(tuple(previews), write_index(previews, output), tuple(failures), skipped)


def _screenshots(chromium: str, previews: list[Preview], output: Path, allow_network: bool, jobs: int) -> list[str]:
    """Take every variant's screenshot of every preview (recorded in ``previews``); return the failures."""
    work = [(i, v) for i in range(len(previews)) for v in VARIANTS]

    def target(i: int, variant: Variant) -> str:
        return previews[i].template.key.removesuffix(".html") + variant.suffix

    def shoot(job: tuple[int, Variant]) -> str | None:
        i, variant = job
        return screenshot(chromium, output / previews[i].html, output / target(i, variant), allow_network, variant)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        errors = list(pool.map(shoot, work))
    failures: list[str] = []
    done: dict[int, list[tuple[str, str]]] = {}
    for (i, variant), problem in zip(work, errors, strict=True):
        if problem is None:
            done.setdefault(i, []).append((variant.name, target(i, variant)))
        else:
            failures.append(f"{previews[i].template.key} ({variant.name}): {problem}")
    for i, made in done.items():
        previews[i] = replace(previews[i], png=dict(made).get("light"), pngs=tuple(made))
    return failures
