// `npm run lint`: the import rules (.dependency-cruiser.cjs, checked by dependency-cruiser) and
// the function-length limit (eslint.config.mjs, checked by ESLint) on src/ and webview/ of the
// current folder (test/unit/lint-layers.test.ts runs it on a temporary tree). Exit status 1 when
// a rule is broken, with one line per break and, once per rule, why the rule exists.
//
// dependency-cruiser 18's command line refuses Node 20 (its engines say ^22), which CI runs; its
// API works on 20, so it is called here. One process also loads TypeScript once for both tools.

import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { cruise } from 'dependency-cruiser';
import { ESLint } from 'eslint';

const ROOT = process.cwd();
const TARGETS = ['src', 'webview'].filter((dir) => fs.existsSync(path.join(ROOT, dir)));
const useColor = process.stdout.isTTY && !process.env.NO_COLOR;
const red = (text) => (useColor ? `\x1b[31m${text}\x1b[0m` : text);
const dim = (text) => (useColor ? `\x1b[2m${text}\x1b[0m` : text);

/** The same test dependency-cruiser uses for its own known-violations file. */
function sameViolation(known, found) {
  if (known.rule.name !== found.rule.name) return false;
  if (known.cycle && found.cycle) {
    const names = new Set(found.cycle.map((step) => step.name));
    return known.cycle.length === found.cycle.length && known.cycle.every((step) => names.has(step.name));
  }
  return known.from === found.from && known.to === found.to;
}

function describe(violation) {
  if (violation.cycle) return `${violation.from} -> ${violation.cycle.map((step) => step.name).join(' -> ')}`;
  return `${violation.from} -> ${violation.to}`;
}

/** dependency-cruiser with the repository's rules; returns the number of errors. */
async function checkImports() {
  const config = createRequire(path.join(ROOT, 'package.json'))(path.join(ROOT, '.dependency-cruiser.cjs'));
  const { options: { knownViolations = [], ...options } = {}, ...ruleSet } = config;
  const started = performance.now();
  const result = await cruise(TARGETS, { ...options, ruleSet, validate: true }, {}, {});
  const { summary } = result.output;
  const comments = new Map(ruleSet.forbidden.map((rule) => [rule.name, rule.comment]));
  const found = summary.violations.filter((v) => v.rule.severity === 'error');
  const isKnown = (v) => knownViolations.some((known) => sameViolation(known, v));
  const fresh = found.filter((v) => !isKnown(v));
  const stale = knownViolations.filter((known) => !found.some((v) => sameViolation(known, v)));
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`imports: ${result.output.modules.filter((m) => /^(src|webview)\//.test(m.source)).length} files, ${summary.totalDependenciesCruised} imports, ${ruleSet.forbidden.length} rules (dependency-cruiser, ${seconds} s)`);
  for (const v of fresh) console.log(`  ${red('error')} ${v.rule.name}: ${describe(v)}`);
  for (const known of stale) {
    console.log(`  ${red('error')} ${known.rule.name}: ${describe(known)} is on the known-violations list (.dependency-cruiser.cjs) but no longer happens: delete the entry`);
  }
  for (const name of new Set(fresh.map((v) => v.rule.name))) console.log(dim(`  why ${name}: ${comments.get(name)}`));
  const known = found.length - fresh.length;
  if (known > 0) console.log(dim(`  (${known} known violations, temporarily allowed in .dependency-cruiser.cjs)`));
  return fresh.length + stale.length;
}

/** ESLint with eslint.config.mjs; returns the number of errors. */
async function checkFunctions() {
  const started = performance.now();
  // The cache (by file content and config) makes a second run on an unchanged tree near-instant.
  const eslint = new ESLint({ cwd: ROOT, errorOnUnmatchedPattern: false, cache: true, cacheLocation: path.join(ROOT, '.eslintcache'), cacheStrategy: 'content' });
  const results = await eslint.lintFiles(TARGETS);
  const seconds = ((performance.now() - started) / 1000).toFixed(1);
  console.log(`functions: ${results.length} files (ESLint, ${seconds} s)`);
  let errors = 0;
  for (const file of results) {
    for (const message of file.messages) {
      const where = `${path.relative(ROOT, file.filePath).split(path.sep).join('/')}:${message.line}`;
      console.log(`  ${message.severity === 2 ? red('error') : 'warning'} ${where} ${message.message} ${dim(`(${message.ruleId ?? 'parse'})`)}`);
      if (message.severity === 2) errors++;
    }
  }
  return errors;
}

const started = performance.now();
const errors = (await checkImports()) + (await checkFunctions());
const seconds = ((performance.now() - started) / 1000).toFixed(1);
if (errors > 0) {
  console.log(red(`lint: ${errors} error${errors === 1 ? '' : 's'} (${seconds} s)`));
  process.exitCode = 1;
} else {
  console.log(`lint: clean (${seconds} s)`);
}
