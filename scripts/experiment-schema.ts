// The JSON schema for experiment files (`*.was.json`), generated from the options' own rules
// (FIELDS), defaults (DEFAULTS) and flag help (the CLI), so it cannot drift from what the trainer
// accepts. `npm run build` writes it to dist/was-experiment.schema.json; package.json's
// contributes.jsonValidation gives it to VS Code (completion and checks while typing).
//   node --import tsx scripts/experiment-schema.ts <out.json>

import * as fs from 'node:fs';
import { DEFAULTS, FIELDS, type FieldSpec } from '../src/shared/config';
import { CONFIG_FLAGS } from '../src/trainer/args';
import { isObject } from '../src/shared/validate';

type Schema = Record<string, unknown>;

export function experimentSchema(): Schema {
  const root: Schema = {
    $schema: 'http://json-schema.org/draft-07/schema#',
    title: 'WAS Lab experiment',
    description: 'Training options for was-train --config and the WAS Lab extension; every key is optional (defaults, then the preset, then this file).',
    type: 'object',
    properties: { $schema: { type: 'string', description: 'The schema this file follows (for editors); not an option.' } },
    additionalProperties: false,
  };
  for (const [path, spec] of Object.entries(FIELDS)) {
    const keys = path.split('.');
    let node = root;
    for (const key of keys.slice(0, -1)) {
      const properties = node.properties as Record<string, Schema>;
      node = properties[key] ??= { type: 'object', properties: {}, additionalProperties: false };
    }
    (node.properties as Record<string, Schema>)[keys[keys.length - 1]] = {
      ...fieldSchema(spec),
      description: describe(path),
      default: defaultAt(path),
    };
  }
  return root;
}

function fieldSchema(spec: FieldSpec): Schema {
  const orNull = (type: string): string | string[] => ('nullable' in spec && spec.nullable ? [type, 'null'] : type);
  switch (spec.kind) {
    case 'number':
      return { type: orNull(spec.integer ? 'integer' : 'number'), ...(spec.min !== undefined && { minimum: spec.min }), ...(spec.max !== undefined && { maximum: spec.max }) };
    case 'string':
      return { type: orNull('string') };
    case 'choice':
      return { enum: [...spec.values] };
    case 'boolean':
      return { type: 'boolean' };
    case 'range':
      return {
        type: orNull('array'),
        items: { type: 'number', exclusiveMinimum: 0, ...(spec.max !== undefined && { maximum: spec.max }) },
        minItems: 2,
        maxItems: 2,
      };
    case 'strings':
      return { type: 'array', items: { type: 'string' } };
    case 'layers':
      return { anyOf: [{ enum: ['preset', 'all'] }, { type: 'array', items: { type: 'string' }, minItems: 1 }] };
  }
}

function describe(path: string): string {
  const flag = CONFIG_FLAGS.find((f) => f.path === path);
  const pair = FIELDS[path].kind === 'range' ? ' [low, high]' : '';
  return flag ? `${flag.help}${pair} (--${flag.flag})` : `${path}${pair}`;
}

function defaultAt(path: string): unknown {
  let node: unknown = DEFAULTS;
  for (const key of path.split('.')) node = isObject(node) ? node[key] : undefined;
  return node;
}

if (require.main === module) {
  const out = process.argv[2];
  if (!out) throw new Error('usage: experiment-schema.ts <out.json>');
  fs.writeFileSync(out, JSON.stringify(experimentSchema(), null, 2) + '\n');
}
