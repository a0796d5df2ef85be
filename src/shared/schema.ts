// The building blocks every contract is declared with (valibot), carrying the messages our
// parsers have always given ("expected a finite number, got "abc""), and the one function that
// runs a declaration over `unknown` input and reports the first problem as a ValidationError
// naming its path. valibot validates with plain functions (no eval, so it runs under the
// webview's strict CSP) and its modular API keeps the webview bundle small.

import * as v from 'valibot';
import { ValidationError, describe } from './validate';

export { v };

/** Runs `schema` over `value`; the first issue becomes a ValidationError at `root` + the issue's path. */
export function parseWith<S extends v.GenericSchema>(schema: S, value: unknown, root = ''): v.InferOutput<S> {
  const result = v.safeParse(schema, value, { abortEarly: true });
  if (result.success) return result.output;
  const issue = result.issues[0];
  throw new ValidationError(joinPath(root, issuePath(issue)), issue.message);
}

/** `a.b[2].c` from an issue's path (object keys joined by dots, array indices in brackets). */
export function issuePath(issue: v.BaseIssue<unknown>): string {
  let path = '';
  for (const item of issue.path ?? []) {
    if (item.type === 'array') path += `[${String(item.key)}]`;
    else path = joinPath(path, String(item.key));
  }
  return path;
}

export function joinPath(root: string, path: string): string {
  if (root === '') return path;
  if (path === '') return root;
  return path.startsWith('[') ? root + path : `${root}.${path}`;
}

/** A finite number, optionally an integer within limits. */
export function finiteNumber(limits: { min?: number; max?: number; integer?: boolean } = {}) {
  return v.pipe(
    v.unknown(),
    v.check((x) => typeof x === 'number' && Number.isFinite(x), (issue) => `expected a finite number, got ${describe(issue.input)}`),
    v.transform((x) => x as number),
    v.check((x) => !limits.integer || Number.isInteger(x), (issue) => `expected an integer, got ${String(issue.input)}`),
    v.check((x) => limits.min === undefined || x >= limits.min, (issue) => `must be at least ${limits.min}, got ${String(issue.input)}`),
    v.check((x) => limits.max === undefined || x <= limits.max, (issue) => `must be at most ${limits.max}, got ${String(issue.input)}`),
  );
}

export function text() {
  return v.string((issue) => `expected a string, got ${describe(issue.input)}`);
}

export function flag() {
  return v.boolean((issue) => `expected true or false, got ${describe(issue.input)}`);
}

export function oneOf<const T extends readonly [string, ...string[]]>(choices: T) {
  return v.picklist(choices, (issue) => `expected one of ${choices.join(', ')}; got ${describe(issue.input)}`);
}

export function listOf<S extends v.GenericSchema>(item: S) {
  return v.array(item, (issue) => `expected an array, got ${describe(issue.input)}`);
}

/**
 * finiteNumber's rules and messages built from valibot's own actions (number, finite, integer,
 * minValue, maxValue), so that @valibot/to-json-schema reads the type and limits from them.
 */
export function limitedNumber(limits: { min?: number; max?: number; integer?: boolean } = {}): v.GenericSchema<number> {
  const notFinite = (issue: v.BaseIssue<unknown>): string => `expected a finite number, got ${describe(issue.input)}`;
  let schema: v.GenericSchema<number> = v.pipe(v.number(notFinite), v.finite(notFinite));
  const { min, max, integer } = limits;
  if (integer) schema = v.pipe(schema, v.integer((issue) => `expected an integer, got ${String(issue.input)}`));
  if (min !== undefined) schema = v.pipe(schema, v.minValue(min, (issue) => `must be at least ${min}, got ${String(issue.input)}`));
  if (max !== undefined) schema = v.pipe(schema, v.maxValue(max, (issue) => `must be at most ${max}, got ${String(issue.input)}`));
  return schema;
}
