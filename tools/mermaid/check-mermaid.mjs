// Parse every ```mermaid block of the given Markdown files with mermaid's own parser.
//
// Usage: node tools/mermaid/check-mermaid.mjs [--json] FILE.md...
//
// mermaid.parse() needs a DOM (DOMPurify), not a browser: jsdom provides one, so this runs offline once
// `npm ci` has installed node_modules (nothing is fetched at run time). A block fails when mermaid cannot
// detect its diagram type or its parser rejects it, exactly as GitHub's renderer would.
//
// Prints "FILE:LINE: ok <diagram type>" or "FILE:LINE: error: <parser message>" per block (LINE is the
// line of the opening fence), or with --json one array of {file, line, ok, type, error}.
// Exit codes: 0 every block parses (a file without blocks is fine), 1 a block does not, 2 bad usage.

import { readFileSync } from "node:fs";
import { JSDOM } from "jsdom";

const FENCE = /^( {0,3})(`{3,}|~{3,})\s*mermaid\s*$/;

/** The mermaid blocks of one Markdown text: {line, text}, line = 1-based line of the opening fence. */
export function mermaidBlocks(markdown) {
  const lines = markdown.split(/\r?\n/);
  const blocks = [];
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]);
    if (!open) {
      // Skip over other fenced blocks, so a mermaid fence quoted inside one is not taken for a diagram.
      const other = /^ {0,3}(`{3,}|~{3,})/.exec(lines[i]);
      if (other) {
        const close = new RegExp(`^ {0,3}${other[1][0]}{${other[1].length},}\\s*$`);
        for (i++; i < lines.length && !close.test(lines[i]); i++);
      }
      continue;
    }
    const marker = open[2];
    const close = new RegExp(`^ {0,3}${marker[0]}{${marker.length},}\\s*$`);
    const body = [];
    let j = i + 1;
    for (; j < lines.length && !close.test(lines[j]); j++) body.push(lines[j]);
    if (j >= lines.length) {
      blocks.push({ line: i + 1, text: body.join("\n"), unclosed: true });
    } else {
      blocks.push({ line: i + 1, text: body.join("\n") + "\n", unclosed: false });
    }
    i = j;
  }
  return blocks;
}

async function loadMermaid() {
  const dom = new JSDOM("<!doctype html><html><body></body></html>", { pretendToBeVisual: true });
  globalThis.window = dom.window;
  globalThis.document = dom.window.document;
  const { default: mermaid } = await import("mermaid");
  // logLevel 5 = fatal only: parse errors come back as exceptions, not console noise.
  mermaid.initialize({ startOnLoad: false, logLevel: 5, securityLevel: "strict" });
  return mermaid;
}

function firstLines(message, count) {
  return String(message).split("\n").slice(0, count).join(" | ");
}

async function main(argv) {
  const json = argv.includes("--json");
  const files = argv.filter((a) => a !== "--json");
  if (files.length === 0 || files.some((f) => f.startsWith("-"))) {
    process.stderr.write("usage: node check-mermaid.mjs [--json] FILE.md...\n");
    return 2;
  }
  const mermaid = await loadMermaid();
  const results = [];
  for (const file of files) {
    let text;
    try {
      text = readFileSync(file, "utf8");
    } catch (err) {
      process.stderr.write(`${file}: cannot read: ${err.message}\n`);
      return 2;
    }
    for (const block of mermaidBlocks(text)) {
      if (block.unclosed) {
        results.push({ file, line: block.line, ok: false, type: null, error: "unclosed ```mermaid fence" });
        continue;
      }
      try {
        const parsed = await mermaid.parse(block.text);
        results.push({ file, line: block.line, ok: true, type: parsed.diagramType, error: null });
      } catch (err) {
        results.push({ file, line: block.line, ok: false, type: null, error: firstLines(err.message ?? err, 6) });
      }
    }
  }
  if (json) {
    process.stdout.write(JSON.stringify(results, null, 2) + "\n");
  } else {
    for (const r of results) {
      process.stdout.write(r.ok ? `${r.file}:${r.line}: ok ${r.type}\n` : `${r.file}:${r.line}: error: ${r.error}\n`);
    }
    const failed = results.filter((r) => !r.ok).length;
    process.stdout.write(`${results.length} mermaid block(s), ${failed} failed\n`);
  }
  return results.every((r) => r.ok) ? 0 : 1;
}

process.exitCode = await main(process.argv.slice(2));
