// The experiment-file schema (scripts/experiment-schema.ts, written to dist/ by npm run build and
// given to VS Code by contributes.jsonValidation): one property per option in FIELDS, with that
// option's rule and DEFAULTS value, unknown keys refused, and the built file up to date.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { experimentSchema } from '../../scripts/experiment-schema';
import { DEFAULTS, FIELDS } from '../../src/shared/config';
import { isObject } from '../../src/shared/validate';

type Node = Record<string, unknown>;
const schema = experimentSchema();

function nodeAt(optionPath: string): Node {
  let node: Node = schema;
  for (const key of optionPath.split('.')) node = (node.properties as Record<string, Node>)[key];
  return node;
}

test('one schema property per option, with its rule and default', () => {
  for (const [optionPath, spec] of Object.entries(FIELDS)) {
    const node = nodeAt(optionPath);
    assert.ok(node, optionPath);
    let value: unknown = DEFAULTS;
    for (const key of optionPath.split('.')) value = isObject(value) ? value[key] : undefined;
    assert.deepEqual(node.default, value, `${optionPath} default`);
    assert.equal(typeof node.description, 'string');
    if (spec.kind === 'choice') assert.deepEqual(node.enum, spec.values, optionPath);
    if (spec.kind === 'number') {
      assert.equal(node.minimum, spec.min, `${optionPath} minimum`);
      assert.equal(node.exclusiveMinimum, spec.above, `${optionPath} exclusive minimum`);
      assert.equal(node.maximum, spec.max, `${optionPath} maximum`);
      const type = spec.integer ? 'integer' : 'number';
      assert.deepEqual(node.type, spec.nullable ? [type, 'null'] : type, optionPath);
    }
  }
  assert.match(nodeAt('model').description as string, /\(--model\)$/, 'flag help as the description');
});

test('unknown keys are refused at every level ("$schema" itself is allowed)', () => {
  const walk = (node: Node, where: string): void => {
    if (node.type !== 'object') return;
    assert.equal(node.additionalProperties, false, where);
    for (const [key, child] of Object.entries(node.properties as Record<string, Node>)) walk(child, `${where}.${key}`);
  };
  walk(schema, '(root)');
  assert.ok((schema.properties as Node).$schema);
});

test('dist/was-experiment.schema.json is this schema (npm run build)', () => {
  const built = JSON.parse(fs.readFileSync(path.resolve(__dirname, '../../dist/was-experiment.schema.json'), 'utf8'));
  assert.deepEqual(built, JSON.parse(JSON.stringify(schema)));
});
