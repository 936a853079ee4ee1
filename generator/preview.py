"""Previews of the email templates: each rendered with its sample context, as HTML and as a PNG.

Usage: ``python -m generator.preview [--definition DIR] [--output DIR] [--only KEY]... [--no-png]
[--chromium PATH] [--allow-network] [--jobs N]`` (``nox -s preview`` runs it). For every template of the
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

import argparse
import html
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import chevron

from generator.definition import load_definition
from generator.errors import DefinitionError, UsageError
from generator.model import EmailTemplate, build_model

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
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


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m generator.preview",
        description="Render the email templates with their samples, to HTML and PNG.",
    )
    parser.add_argument("--definition", type=Path, help="definition folder (default: <project>/definition)")
    parser.add_argument("--output", type=Path, help="where the previews go (default: <project>/build/previews)")
    parser.add_argument("--only", action="append", metavar="KEY", help="only this template key (repeatable)")
    parser.add_argument("--no-png", action="store_true", help="HTML and text only, no Chromium")
    parser.add_argument("--require-png", action="store_true", help="fail (exit 2) when no Chromium is found")
    parser.add_argument("--chromium", help=f"Chromium executable (default: ${CHROMIUM_ENV}, then PATH)")
    parser.add_argument("--allow-network", action="store_true", help="let Chromium load remote images")
    parser.add_argument("--jobs", type=int, default=min(4, os.cpu_count() or 1), help="screenshots in parallel")
    return parser.parse_args(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.definition is None or args.output is None:
        from generator.project import find_project  # the project this runs in, not where the package lives

        try:
            root = find_project()
        except UsageError as error:
            print(f"preview: {error}; or pass --definition and --output", file=sys.stderr)
            return EXIT_USAGE
        args.definition = args.definition or root / "definition"
        args.output = args.output or root / "build" / "previews"
    try:
        model = build_model(load_definition(args.definition))
    except DefinitionError as error:
        for finding in error.problems:
            print(finding, file=sys.stderr)
        return EXIT_USAGE
    templates = list(model.templates)
    if args.only:
        unknown = sorted(set(args.only) - {t.key for t in templates})
        if unknown:
            known = ", ".join(t.key for t in templates)
            print(f"preview: unknown template key(s) {', '.join(unknown)}; the catalog has: {known}", file=sys.stderr)
            return EXIT_USAGE
        templates = [t for t in templates if t.key in args.only]
    chromium = None if args.no_png else find_chromium(args.chromium)
    if not args.no_png and chromium is None:
        print(
            "preview: no Chromium found (tried --chromium, $BBWS_CHROMIUM, "
            f"{', '.join(CHROMIUM_NAMES)}): "
            + (
                "install it (Debian/Ubuntu: apt-get install -y chromium) or drop --require-png."
                if args.require_png
                else "PNG screenshots skipped, HTML and text previews still written. Install it for PNGs "
                "(Debian/Ubuntu: apt-get install -y chromium)."
            ),
            file=sys.stderr,
        )
        if args.require_png:
            return EXIT_USAGE
    args.output.mkdir(parents=True, exist_ok=True)
    previews = write_previews(templates, args.output)
    failures: list[str] = []
    if chromium is not None:
        jobs = [(i, v) for i in range(len(previews)) for v in VARIANTS]

        def target(i: int, variant: Variant) -> str:
            return previews[i].template.key.removesuffix(".html") + variant.suffix

        def shoot(job: tuple[int, Variant]) -> str | None:
            i, variant = job
            page, png = args.output / previews[i].html, args.output / target(i, variant)
            return screenshot(chromium, page, png, args.allow_network, variant)

        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            errors = list(pool.map(shoot, jobs))
        done: dict[int, list[tuple[str, str]]] = {}
        for (i, variant), problem in zip(jobs, errors, strict=True):
            if problem is None:
                done.setdefault(i, []).append((variant.name, target(i, variant)))
            else:
                failures.append(f"{previews[i].template.key} ({variant.name}): {problem}")
        for i, made in done.items():
            previews[i] = replace(previews[i], png=dict(made).get("light"), pngs=tuple(made))
    index = write_index(previews, args.output)
    for failure in failures:
        print(f"preview: {failure}", file=sys.stderr)
    shots = sum(len(p.pngs) for p in previews)
    print(f"preview: {len(previews)} template(s), {shots} screenshot(s); open {index}")
    return EXIT_FAILED if failures else EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main())
