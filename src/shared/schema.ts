// The building blocks every contract is declared with (valibot), carrying the messages our
// parsers have always given ("expected a finite number, got "abc""), and the functions that run
// a declaration over `unknown` input and report the first problem as a ValidationError naming its
// path (parseTagged here; config.ts reads the whole config its own way). valibot validates with plain functions (no eval, so it runs under the
// webview's strict CSP) and its modular API keeps the webview bundle small: code that declares
// with valibot imports it itself (`import * as v from 'valibot'`), which esbuild tree-shakes.

import * as v from 'valibot';
import { ValidationError, describe, isObject } from './validate';

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

/**
 * A finite number, optionally an integer within limits. Built from valibot's own number, integer
 * and bounds so that a JSON schema says them (type, minimum, maximum); the messages are ours.
 */
export function finiteNumber(limits: { min?: number; max?: number; integer?: boolean } = {}) {
  const notFinite = (issue: v.BaseIssue<unknown>) => `expected a finite number, got ${describe(issue.input)}`;
  const { min, max } = limits;
  const rules: v.PipeItem<number, number, v.BaseIssue<unknown>>[] = [v.finite(notFinite)];
  if (limits.integer) rules.push(v.integer((issue) => `expected an integer, got ${issue.input}`));
  if (min !== undefined) rules.push(v.minValue(min, (issue) => `must be at least ${min}, got ${issue.input}`));
  if (max !== undefined) rules.push(v.maxValue(max, (issue) => `must be at most ${max}, got ${issue.input}`));
  return v.pipe(v.number(notFinite), ...rules);
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

// ---------------------------------------------------------------------------------------------
// Objects, tagged unions and metrics: the blocks the event stream and the webview messages are
// declared with (protocol.ts, panel-protocol.ts).

/**
 * Anything but an object (null, an array, a string...) is refused with our message; valibot's
 * object schemas would take an array. `T` is what the schema after this guard in a pipe reads,
 * or what an object checked elsewhere is (a run's config, checked when it was resolved).
 */
export function plainObject<T = Record<string, unknown>>() {
  return v.custom<T>(isObject, (issue) => `expected an object, got ${describe(issue.input)}`);
}

/**
 * valibot reports a missing key as the object's own issue; ours names the field's rule instead
 * ("expected a finite number, got undefined"), as if the key were there holding undefined.
 */
function missingField(entries: v.ObjectEntries) {
  return (issue: v.ObjectIssue): string => {
    const key = issue.path?.[0]?.key;
    const entry = typeof key === 'string' && Object.hasOwn(entries, key) ? entries[key] : undefined;
    const missing = entry === undefined ? undefined : v.safeParse(entry, undefined, { abortEarly: true });
    return missing?.success === false ? missing.issues[0].message : `expected an object, got ${describe(issue.input)}`;
  };
}

/** An object with these fields, in this order (the first bad one is reported); unknown keys are dropped. */
export function objectOf<const E extends v.ObjectEntries>(entries: E) {
  return v.pipe(plainObject(), v.object(entries, missingField(entries)));
}

/** A string-keyed map (`{ conv2: 0.4 }`) of values that `value` checks. */
export function recordOf<S extends v.GenericSchema<unknown, unknown>>(value: S) {
  return v.pipe(plainObject(), v.record(v.string(), value));
}

/** One member of a tagged union: `type` is `tag`, then its fields. */
export function tagged<const T extends string, const E extends v.ObjectEntries>(tag: T, entries: E) {
  const all = { type: v.literal(tag), ...entries };
  return v.object(all, missingField(all));
}

/** A field that may be null or left out (read as null). */
export function orNull<S extends v.GenericSchema>(schema: S) {
  return v.nullish(schema, null);
}

/**
 * A metric: any number, NaN and +-Infinity included (a diverged loss). JSON has neither, so
 * encodeEvent writes NaN as null and the infinities as "Infinity" / "-Infinity"; they come back here.
 */
export function metric() {
  return v.pipe(
    v.union([v.number(), v.null(), v.literal('Infinity'), v.literal('-Infinity')], (issue) => `expected a number, got ${describe(issue.input)}`),
    v.transform((x): number => (typeof x === 'number' ? x : x === null ? Number.NaN : x === 'Infinity' ? Infinity : -Infinity)),
  );
}

/** A string of at most `max` characters (what an untrusted sender may make us hold). */
export function boundedText(max: number) {
  return v.pipe(text(), v.check((s) => s.length <= max, (issue) => `longer than ${max} characters (${issue.input.length})`));
}

/**
 * A union discriminated by `type` (members made with `tagged`, or a v.variant on a second key).
 * An unknown type is reported with the types that exist, and the nearest one when it is close:
 * `unknown event type "stpe"; expected one of run-start, phase, step, ... (did you mean "step"?)`
 * with `noun` "event type", else `expected one of ...; got "stpe" (did you mean "step"?)`.
 */
export function taggedUnion<const O extends v.VariantOptions<'type'>>(options: O, noun?: string) {
  const message = (issue: v.VariantIssue): string => {
    const key = String(issue.path?.[0]?.key ?? 'type');
    const choices = discriminators(options, key);
    const known = `expected one of ${choices.join(', ')}`;
    const input = issue.input;
    const hint = typeof input === 'string' ? didYouMean(input, choices) : '';
    return noun !== undefined && key === 'type' && typeof input === 'string'
      ? `unknown ${noun} "${input}"; ${known}${hint}`
      : `${known}; got ${describe(input)}${hint}`;
  };
  const union = v.variant('type', options, message);
  return v.pipe(plainObject<v.InferInput<typeof union>>(), union);
}

/** The literal values `key` takes across a variant's members (nested variants included). */
function discriminators(options: v.VariantOptions<string>, key: string): string[] {
  const out: string[] = [];
  for (const option of options) {
    if (option.type === 'variant') out.push(...discriminators(option.options, key));
    else {
      const entry = option.entries[key];
      if (entry !== undefined && entry.type === 'literal' && 'literal' in entry && typeof entry.literal === 'string') out.push(entry.literal);
    }
  }
  return [...new Set(out)];
}

/** ` (did you mean "step"?)` when one choice is within two edits of `input` (or differs in case only). */
export function didYouMean(input: string, choices: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = 3;
  for (const choice of choices) {
    // Two edits change the length by at most two: a longer input (a hostile 50 MB "type") is
    // no candidate, and editDistance, quadratic, never sees it.
    if (Math.abs(choice.length - input.length) >= bestDistance) continue;
    const d = choice.toLowerCase() === input.toLowerCase() ? 0 : editDistance(choice, input);
    if (d < bestDistance) [best, bestDistance] = [choice, d];
  }
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}

/** Levenshtein distance (inputs here are short type names). */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row.push(Math.min(previous[j] + 1, row[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1)));
    previous = row;
  }
  return previous[b.length];
}

/**
 * Runs a tagged union over `value`. Problems are named from the message's own type
 * (`step.loss: expected a number`), or from `root` when it is no object or has an unknown type
 * (`event: expected an object`, `event.type: unknown event type "x"; ...`).
 */
export function parseTagged<S extends v.GenericSchema>(schema: S, value: unknown, root: string): v.InferOutput<S> {
  const result = v.safeParse(schema, value, { abortEarly: true });
  if (result.success) return result.output;
  throw taggedError(result.issues[0], value, root);
}

/**
 * A tagged union inside another contract (trainer events inside a host message): it is checked as
 * parseTagged checks it, and its problem becomes one issue at its place
 * (`events.events[0]: step.epoch: expected a finite number, got undefined`).
 */
export function embedded<S extends v.GenericSchema>(schema: S, root: string) {
  return v.pipe(
    v.unknown(),
    v.rawTransform<unknown, v.InferOutput<S>>(({ dataset, addIssue, NEVER }) => {
      const result = v.safeParse(schema, dataset.value, { abortEarly: true });
      if (result.success) return result.output;
      addIssue({ message: taggedError(result.issues[0], dataset.value, root).message });
      return NEVER;
    }),
  );
}

function taggedError(issue: v.BaseIssue<unknown>, value: unknown, root: string): ValidationError {
  const path = issuePath(issue);
  const type = isObject(value) ? value.type : undefined;
  const ownName = path !== '' && path !== 'type' && typeof type === 'string';
  return new ValidationError(joinPath(ownName ? type : root, path), issue.message);
}
