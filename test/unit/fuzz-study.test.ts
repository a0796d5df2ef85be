// Fuzzing what the study parts read from outside: the study page's messages to the host (the page
// is untrusted), the host's messages to the page, and study.json as the study store reads it from
// disk (a damaged, truncated or hand-edited file). Random values and valid ones with fields changed
// give a value or a ValidationError, never another exception; the store lists a damaged file with
// its problem and never throws. Seed and case counts: test/support/fuzz.ts.

import { test } from 'node:test';
import * as fs from 'node:fs';
import * as path from 'node:path';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { listStudies } from '../../src/extension/runs/study-store';
import { parseStudyResults } from '../../src/shared/study';
import { STUDY_PANEL_PROTOCOL_VERSION, parseStudyHostMessage, parseStudyPageMessage } from '../../src/shared/study-panel-protocol';
import { ValidationError } from '../../src/shared/validate';
import { anyValue, fuzzOptions, fuzzTempDir, mutated, mutatedJsonText, parsesOrRejects } from '../support/fuzz';
import { studyJson } from '../support/study-fixture';

const RESULTS = studyJson({ cells: [{ settings: { model: 'lenet' }, gain: 0.4, plain: 0.95 }, { settings: { model: 'small-cnn' }, gain: 0.1, plain: 0.94 }], seeds: [1, 2, 3], done: 2 });
const PAGE_MESSAGES: readonly unknown[] = [
  { type: 'ready', protocolVersion: STUDY_PANEL_PROTOCOL_VERSION },
  { type: 'open-run', run: 'c1-lenet-s1' },
  { type: 'log', level: 'error', message: 'dropped a malformed host message' },
];
const HOST_MESSAGES: readonly unknown[] = [
  { type: 'study', protocolVersion: STUDY_PANEL_PROTOCOL_VERSION, name: 'grid', results: RESULTS, problem: null, live: true },
  { type: 'study', protocolVersion: STUDY_PANEL_PROTOCOL_VERSION, name: 'grid', results: null, problem: 'no study.json yet', live: false },
];

test('fuzz: the valid study messages and study.json parse', () => {
  for (const message of PAGE_MESSAGES) parseStudyPageMessage(message);
  for (const message of HOST_MESSAGES) parseStudyHostMessage(message);
  parseStudyResults(RESULTS);
});

test('fuzz: parseStudyPageMessage and parseStudyHostMessage on random and changed messages', () => {
  fc.assert(fc.property(anyValue, (value) => void parsesOrRejects(() => parseStudyPageMessage(value), ValidationError)), fuzzOptions(2000));
  fc.assert(fc.property(mutated(PAGE_MESSAGES), (value) => void parsesOrRejects(() => parseStudyPageMessage(value), ValidationError)), fuzzOptions(2000));
  fc.assert(fc.property(mutated(HOST_MESSAGES), (value) => void parsesOrRejects(() => parseStudyHostMessage(value), ValidationError)), fuzzOptions(1000));
});

test('fuzz: parseStudyResults on study.json with fields changed, dropped or added', () => {
  fc.assert(fc.property(mutated([RESULTS]), (value) => void parsesOrRejects(() => parseStudyResults(value), ValidationError)), fuzzOptions(1000));
});

test('fuzz: the study store lists a damaged study.json with its problem, never throwing', () => {
  const dir = fuzzTempDir('study-store');
  fs.mkdirSync(path.join(dir, 'grid'), { recursive: true });
  fc.assert(
    fc.property(mutatedJsonText([RESULTS]), (text) => {
      fs.writeFileSync(path.join(dir, 'grid', 'study.json'), text);
      const [entry] = listStudies(dir);
      assert.equal(entry.name, 'grid');
      assert.ok((entry.results === null) !== (entry.problem === null), 'results or a problem, not both');
    }),
    fuzzOptions(300),
  );
});
