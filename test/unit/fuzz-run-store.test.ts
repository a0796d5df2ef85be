// Fuzzing the run store's readers of run folders (src/extension/runs/run-store.ts): the runs
// folder may hold anything (a copied, edited, half-written or hostile run), and readRun, listRuns
// and RunStore.list read config.json, summary.json, metrics.jsonl, dom/*.json and
// checkpoints/last.json into records without ever throwing: what cannot be read becomes a
// problem note, so one bad folder cannot empty the Runs tree. Seed and case counts:
// test/support/fuzz.ts.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import fc from 'fast-check';
import { DEFAULTS } from '../../src/shared/config';
import { RUN_STATUSES } from '../../src/shared/protocol';
import { RunStore, readRun, type RunRecord } from '../../src/extension/runs/run-store';
import { VALID_EVENTS, fuzzOptions, fuzzTempDir, jsonish, mutatedBytes, mutatedJsonText } from '../support/fuzz';

const runsDir = fuzzTempDir('run-store');

const CONFIG = { runId: 'r1', createdAt: '2026-12-06T07:00:00.000Z', seed: 3, config: DEFAULTS, backend: { name: 'wasm', reason: 'auto', skipped: [] }, versions: { tfjs: '4.22.0' } };
const SUMMARIES = VALID_EVENTS.filter((e) => (e as { type: string }).type === 'run-end');
const DOM_SEARCHES = VALID_EVENTS.filter((e) => (e as { type: string }).type === 'dom-search');
const METRICS = Buffer.from(VALID_EVENTS.map((e) => JSON.stringify(e)).join('\n') + '\n');

/** What one file of a run folder holds: nothing, the valid content, a damaged copy, random bytes, or a folder. */
function fileContent(valid: readonly unknown[]): fc.Arbitrary<Uint8Array | 'absent' | 'folder'> {
  return fc.oneof(
    { arbitrary: fc.constantFrom('absent' as const, 'folder' as const), weight: 1 },
    { arbitrary: fc.constantFrom(...valid).map((v) => Buffer.from(JSON.stringify(v))), weight: 1 },
    { arbitrary: mutatedJsonText(valid).map((text) => Buffer.from(text)), weight: 3 },
    { arbitrary: jsonish.map((v) => Buffer.from(JSON.stringify(v) ?? '')), weight: 1 },
    { arbitrary: fc.uint8Array({ maxLength: 40 }), weight: 1 },
  );
}

const metricsContent = fc.oneof(
  { arbitrary: fc.constantFrom('absent' as const, 'folder' as const), weight: 1 },
  { arbitrary: mutatedBytes([METRICS], METRICS.length), weight: 3 },
  {
    arbitrary: fc.array(fc.oneof(fc.constantFrom(...VALID_EVENTS).map((e) => JSON.stringify(e)), mutatedJsonText(VALID_EVENTS)), { maxLength: 6 }).map((lines) => Buffer.from(lines.join('\n'))),
    weight: 3,
  },
);

const folderArb = fc.record({
  config: fileContent([CONFIG, { ...CONFIG, config: { model: 7 } }, { createdAt: 12 }]),
  summary: fileContent(SUMMARIES),
  metrics: metricsContent,
  dom: fileContent(DOM_SEARCHES),
  pointer: fileContent([{ format: 'was-lab-checkpoint-pointer', version: 1, epoch: 2, dir: 'epoch-0002' }]),
  summaryOlder: fc.boolean(),
});

function write(file: string, content: Uint8Array | 'absent' | 'folder'): void {
  fs.rmSync(file, { recursive: true, force: true });
  if (content === 'absent') return;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (content === 'folder') fs.mkdirSync(file);
  else fs.writeFileSync(file, content);
}

function assertRecord(record: RunRecord): void {
  assert.ok(([...RUN_STATUSES, 'incomplete'] as string[]).includes(record.status), record.status);
  for (const key of ['model', 'dataset', 'transform', 'preset', 'reason'] as const) assert.ok(record[key] === null || typeof record[key] === 'string', key);
  assert.ok(record.epochs === null || Number.isFinite(record.epochs));
  assert.ok(Number.isInteger(record.epochsCompleted) && record.epochsCompleted >= 0);
  assert.ok(Number.isFinite(record.createdMs) && Number.isFinite(record.lastWriteMs), `${record.createdMs} ${record.lastWriteMs}`);
  assert.ok(record.problems.every((p) => typeof p === 'string' && p !== ''));
  assert.ok(record.domSearches.every((d) => d.type === 'dom-search'));
}

test('fuzz: readRun and RunStore.list read any run folder into a record, never throwing', () => {
  const dir = path.join(runsDir, 'run');
  const store = new RunStore();
  fc.assert(
    fc.property(folderArb, (folder) => {
      write(path.join(dir, 'config.json'), folder.config);
      write(path.join(dir, 'summary.json'), folder.summary);
      write(path.join(dir, 'metrics.jsonl'), folder.metrics);
      write(path.join(dir, 'dom', 'best-flops-0.7.json'), folder.dom);
      write(path.join(dir, 'checkpoints', 'last.json'), folder.pointer);
      // A summary older than metrics.jsonl is a resumed run's: the reader must then parse the events.
      if (folder.summaryOlder && folder.summary !== 'absent') fs.utimesSync(path.join(dir, 'summary.json'), 1000, 1000);
      const record = readRun(dir);
      if (record !== null) assertRecord(record);
      const listed = store.list(runsDir);
      assert.equal(listed.length, record === null ? 0 : 1);
      for (const r of listed) assertRecord(r);
    }),
    fuzzOptions(1500),
  );
});
