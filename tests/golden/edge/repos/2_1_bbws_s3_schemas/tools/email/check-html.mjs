// Validate rendered email HTML with html-validate, configured for email by htmlvalidate.json beside this file.
//
// Usage: node tools/email/check-html.mjs < documents.json
//
// stdin: [{"name": "receipts/receipt.html", "html": "<!DOCTYPE html>..."}, ...]
// stdout: [{"name": ..., "messages": [{"line", "column", "ruleId", "severity", "message", "selector"}]}, ...]
// One process validates every document: starting node and loading html-validate is most of the cost.
// Exit codes: 0 the results were written (with or without messages), 2 bad input or configuration.

import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { HtmlValidate, StaticConfigLoader } from "html-validate";

const here = dirname(fileURLToPath(import.meta.url));

function loadConfig() {
  const config = JSON.parse(readFileSync(join(here, "htmlvalidate.json"), "utf8"));
  // Element metadata files are read here, relative to this folder, whatever the caller's cwd.
  config.elements = config.elements.map((e) =>
    e.startsWith("./") ? JSON.parse(readFileSync(join(here, e), "utf8")) : e,
  );
  return config;
}

async function main() {
  // Configure (and warm up) before reading stdin: the caller starts this process early and writes the
  // documents when it has rendered them, so loading overlaps with its own checks.
  const validator = new HtmlValidate(new StaticConfigLoader(loadConfig()));
  await validator.validateString("<!DOCTYPE html><html lang=\"en\"><head><title>x</title></head></html>", "warmup.html");
  let documents;
  try {
    documents = JSON.parse(readFileSync(0, "utf8"));
  } catch (err) {
    process.stderr.write(`check-html: stdin is not JSON: ${err.message}\n`);
    return 2;
  }
  const results = [];
  for (const doc of documents) {
    const report = await validator.validateString(doc.html, doc.name);
    const messages = report.results.flatMap((r) =>
      r.messages.map((m) => ({
        line: m.line,
        column: m.column,
        ruleId: m.ruleId,
        severity: m.severity === 2 ? "error" : "warning",
        message: m.message,
        selector: m.selector ?? null,
      })),
    );
    results.push({ name: doc.name, messages });
  }
  process.stdout.write(JSON.stringify(results) + "\n");
  return 0;
}

process.exitCode = await main();
