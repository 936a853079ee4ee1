// Decides whether GitHub would run a job, for each case on stdin, with GitHub's expression library.
//
// stdin: a JSON array of cases {"if": <the job's `if:` text or null>, "contexts": {"needs": ..., "inputs":
// ...}, "status": {"success": bool, "failure": bool, "cancelled": bool}}; stdout: a JSON array of booleans.
//
// The job status functions are GitHub's rules, which the library leaves to its host: an `if:` without
// success(), failure(), cancelled() or always() is evaluated as `success() && (<if>)`, and an absent
// `if:` as `success()` (docs.github.com/actions/reference/workflows-and-actions/expressions#status-check-functions).
// The caller says what success() and failure() are for the job's needs.
import { Evaluator, Lexer, Parser, data } from "@actions/expressions";

const STATUS = ["success", "failure", "cancelled", "always"];

function decide(testCase) {
  let text = (testCase.if ?? "").trim();
  if (text.startsWith("${{") && text.endsWith("}}")) text = text.slice(3, -2).trim();
  if (text === "") text = "success()";
  const lexed = new Lexer(text).lex();
  if (!STATUS.some((name) => lexed.tokens.some((t) => t.lexeme === name))) text = `success() && (${text})`;
  const names = Object.keys(testCase.contexts);
  const functions = STATUS.map((name) => ({ name, minArgs: 0, maxArgs: 0 }));
  // GitHub runs the job when the value is truthy; `&& true || false` makes that a boolean to read.
  const expr = new Parser(new Lexer(`(${text}) && true || false`).lex().tokens, names, functions).parse();
  const status = { ...testCase.status, always: true };
  const calls = new Map(
    STATUS.map((name) => [name, { name, minArgs: 0, maxArgs: 0, call: () => new data.BooleanData(status[name]) }]),
  );
  const contexts = JSON.parse(JSON.stringify(testCase.contexts), data.reviver);
  return new Evaluator(expr, contexts, calls).evaluate().coerceString() === "true";
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
process.stdout.write(JSON.stringify(JSON.parse(Buffer.concat(chunks).toString("utf8")).map(decide)) + "\n");
