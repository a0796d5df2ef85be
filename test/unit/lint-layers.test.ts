// `npm run lint` (scripts/lint/run.mjs) holds the layers and the function-length limit: run on a
// small temporary tree of deliberately wrong files (outside the repository, with the repository's
// own rules), every named rule fires on its file and on nothing allowed; run on the real tree, it
// is clean. The temporary tree is removed after the tests; nothing is written under src/.

import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '../..');
const LINT = path.join(ROOT, 'scripts/lint/run.mjs');

/** Runs the lint in `cwd`; its output without colour. */
function lint(cwd: string): { status: number | null; out: string } {
  const run = spawnSync(process.execPath, [LINT], { cwd, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  return { status: run.status, out: `${run.stdout}${run.stderr}` };
}

/** A function of `code` code lines (its head and closing brace included), padded with blank and comment lines. */
function longFunction(name: string, code: number): string {
  const body = Array.from({ length: code - 4 }, (_, i) => `  total += ${i};\n\n  // a comment line does not count\n`);
  return `export function ${name}(): number {\n  let total = 0;\n${body.join('')}  return total;\n}\n`;
}

// Each file of the temporary tree; `breaks` names the rule it must break (none: it must pass).
const FILES: { file: string; text: string; breaks?: string }[] = [
  // Allowed: the same kinds of imports, the right way round.
  { file: 'src/extension/base/emitter.ts', text: 'export class Emitter {}\n' },
  { file: 'src/extension/lab/state.ts', text: "import { Emitter } from '../base/emitter';\nexport const state = new Emitter();\n" },
  { file: 'src/extension/panel/host.ts', text: "import * as vscode from 'vscode';\nimport { state } from '../lab/state';\nexport const host = [vscode, state];\n" },
  { file: 'src/extension/commands/start.ts', text: "import * as vscode from 'vscode';\nexport const start = vscode;\n" },
  { file: 'src/extension/commands/registry.ts', text: "import { start } from './start';\nexport const all = [start];\n" },
  { file: 'src/shared/protocol.ts', text: "import * as v from 'valibot';\nexport const schema = v.string();\n" },
  { file: 'src/shared/node/atomic.ts', text: "import * as fs from 'node:fs';\nexport const write = fs.writeFileSync;\n" },
  { file: 'src/trainer/rng.ts', text: "import * as tf from '@tensorflow/tfjs';\nimport { schema } from '../shared/protocol';\nexport const rng = [tf, schema];\n" },
  { file: 'webview/ok.ts', text: "import { schema } from '../src/shared/protocol';\nexport const ok = schema;\n" },
  { file: 'webview/fits.ts', text: longFunction('fits', 80) },
  // Wrong.
  { file: 'src/extension/runs/uses-vscode.ts', text: "import * as vscode from 'vscode';\nexport const x = vscode;\n", breaks: 'vscode-only-in-extension-api' },
  { file: 'src/extension/runs/uses-tfjs.ts', text: "import * as tf from '@tensorflow/tfjs';\nexport const x = tf;\n", breaks: 'tfjs-only-in-trainer' },
  { file: 'src/extension/base/uses-lab.ts', text: "import { state } from '../lab/state';\nexport const x = state;\n", breaks: 'extension-layer-base' },
  { file: 'src/extension/commands/stop.ts', text: "import { start } from './start';\nexport const stop = start;\n", breaks: 'command-not-command' },
  { file: 'src/extension/lab/uses-trainer.ts', text: "import { rng } from '../../trainer/rng';\nexport const x = rng;\n", breaks: 'extension-not-trainer' },
  { file: 'src/trainer/nn/uses-extension.ts', text: "import { Emitter } from '../../extension/base/emitter';\nexport const x = Emitter;\n", breaks: 'trainer-not-extension' },
  { file: 'src/trainer/backend/uses-train.ts', text: "import type { Loop } from '../train/loop';\nexport type X = Loop;\n", breaks: 'trainer-layer-backend' },
  { file: 'src/trainer/train/loop.ts', text: 'export interface Loop { step: number }\n' },
  { file: 'src/shared/uses-fs.ts', text: "import * as fs from 'node:fs';\nexport const x = fs;\n", breaks: 'shared-no-node-builtins' },
  { file: 'src/shared/uses-node.ts', text: "import { write } from './node/atomic';\nexport const x = write;\n", breaks: 'shared-not-shared-node' },
  { file: 'src/shared/uses-extension.ts', text: "import { Emitter } from '../extension/base/emitter';\nexport const x = Emitter;\n", breaks: 'shared-imports-only-shared' },
  { file: 'src/shared/cycle-a.ts', text: "import type { B } from './cycle-b';\nexport interface A { b?: B }\n", breaks: 'no-cycle' },
  // The other half of the cycle: dependency-cruiser reports a cycle once, from one of its files.
  { file: 'src/shared/cycle-b.ts', text: "import type { A } from './cycle-a';\nexport interface B { a?: A }\n", breaks: 'reported with cycle-a' },
  { file: 'src/trainer/uses-test.ts', text: "import { helper } from '../../test/helper';\nexport const x = helper;\n", breaks: 'src-not-test-or-bench' },
  { file: 'test/helper.ts', text: 'export const helper = 1;\n' },
  { file: 'webview/uses-fs.ts', text: "import * as fs from 'node:fs';\nexport const x = fs;\n", breaks: 'webview-no-node-builtins' },
  { file: 'webview/uses-shared-node.ts', text: "import { write } from '../src/shared/node/atomic';\nexport const x = write;\n", breaks: 'webview-imports-only-webview-and-shared' },
  { file: 'webview/uses-extension.ts', text: "import { state } from '../src/extension/lab/state';\nexport const x = state;\n", breaks: 'webview-imports-only-webview-and-shared' },
  { file: 'webview/too-long.ts', text: longFunction('tooLong', 81), breaks: 'max-lines-per-function' },
  // The temporary lists: a listed break passes; an entry that matches nothing fails.
  { file: 'src/extension/runs/known.ts', text: "import * as vscode from 'vscode';\nexport const x = vscode;\n" },
  { file: 'webview/allowed-long.ts', text: longFunction('allowedLong', 81) },
  { file: 'webview/no-longer-long.ts', text: longFunction('noLongerLong', 80), breaks: 'is on the allow-list' },
];

/** Known violations and long functions for the temporary tree (the repository's own lists name its files). */
const KNOWN = [
  { type: 'dependency', rule: { name: 'vscode-only-in-extension-api', severity: 'error' }, from: 'src/extension/runs/known.ts', to: 'vscode' },
  { type: 'dependency', rule: { name: 'no-cycle', severity: 'error' }, from: 'src/extension/runs/fixed.ts', to: 'src/extension/runs/known.ts' },
];
const ALLOW = { 'webview/allowed-long.ts': ['allowedLong'], 'webview/no-longer-long.ts': ['noLongerLong'] };

const tree = fs.mkdtempSync(path.join(os.tmpdir(), 'was-lint-'));
after(() => fs.rmSync(tree, { recursive: true, force: true }));

test('lint fails on each wrong import, on a long function and on a stale list entry, naming the rule, and passes what is allowed', () => {
  assert.ok(path.relative(ROOT, tree).startsWith('..'), `the temporary tree ${tree} must be outside the repository`);
  for (const { file, text } of FILES) {
    fs.mkdirSync(path.dirname(path.join(tree, file)), { recursive: true });
    fs.writeFileSync(path.join(tree, file), text);
  }
  // The repository's rules exactly, with the lists above instead of its own temporary ones.
  fs.writeFileSync(
    path.join(tree, '.dependency-cruiser.cjs'),
    `const config = require(${JSON.stringify(path.join(ROOT, '.dependency-cruiser.cjs'))});\n` +
      `module.exports = { ...config, options: { ...config.options, knownViolations: ${JSON.stringify(KNOWN)} } };\n`,
  );
  fs.writeFileSync(
    path.join(tree, 'eslint.config.mjs'),
    `import config from ${JSON.stringify(path.join(ROOT, 'eslint.config.mjs'))};\n` +
      'const RULE = "was/max-lines-per-function";\n' +
      'export default config.map((block) => block.rules?.[RULE] === undefined ? block :\n' +
      `  { ...block, rules: { ...block.rules, [RULE]: ["error", { ...block.rules[RULE][1], allow: ${JSON.stringify(ALLOW)} }] } });\n`,
  );

  const { status, out } = lint(tree);
  assert.equal(status, 1, out);
  const errorLines = out.split('\n').filter((line) => /^\s+error /.test(line));
  for (const { file, breaks } of FILES) {
    const mine = errorLines.filter((line) => line.includes(`: ${file} ->`) || line.includes(` ${file}:`));
    if (breaks === 'reported with cycle-a') continue;
    if (breaks === undefined) assert.deepEqual(mine, [], `${file} is allowed:\n${out}`);
    else assert.ok(mine.some((line) => line.includes(breaks)), `${file} breaks ${breaks}:\n${out}`);
  }
  assert.match(out, /webview\/too-long\.ts:1 Function 'tooLong' has too many lines \(81\)\. Maximum allowed is 80/);
  assert.match(out, /error no-cycle: src\/shared\/cycle-a\.ts -> src\/shared\/cycle-b\.ts -> src\/shared\/cycle-a\.ts/);
  assert.match(out, /why no-cycle: /, 'each broken rule says why it exists');
  assert.match(out, /error no-cycle: src\/extension\/runs\/fixed\.ts -> src\/extension\/runs\/known\.ts is on the known-violations list .* no longer happens/);
  assert.match(out, /\(1 known violations, temporarily allowed/);
  // One line per break (the cycle once), the stale known violation, and no more.
  assert.equal(errorLines.length, FILES.filter((f) => f.breaks).length - 1 + 1, out);
});

test('the real tree is clean', () => {
  const { status, out } = lint(ROOT);
  assert.equal(status, 0, out);
  assert.match(out, /lint: clean/);
});
