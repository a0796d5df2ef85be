// Small checks for data that crosses a boundary (config files, IPC, webview messages):
// everything arrives as `unknown` and leaves typed, or fails naming the offending path.

export class ValidationError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(path ? `${path}: ${message}` : message);
    this.name = 'ValidationError';
  }
}

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `"${value.length > 40 ? value.slice(0, 40) + '...' : value}"`;
  if (typeof value === 'object') return 'an object';
  return String(value);
}

export function expectObject(value: unknown, path: string): JsonObject {
  if (!isObject(value)) throw new ValidationError(path, `expected an object, got ${describe(value)}`);
  return value;
}

export function expectNumber(
  value: unknown,
  path: string,
  limits: { min?: number; max?: number; integer?: boolean } = {},
): number {
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw new ValidationError(path, `expected a finite number, got ${describe(value)}`);
  if (limits.integer && !Number.isInteger(value)) throw new ValidationError(path, `expected an integer, got ${value}`);
  if (limits.min !== undefined && value < limits.min) throw new ValidationError(path, `must be at least ${limits.min}, got ${value}`);
  if (limits.max !== undefined && value > limits.max) throw new ValidationError(path, `must be at most ${limits.max}, got ${value}`);
  return value;
}

export function expectString(value: unknown, path: string): string {
  if (typeof value !== 'string') throw new ValidationError(path, `expected a string, got ${describe(value)}`);
  return value;
}

export function expectBoolean(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') throw new ValidationError(path, `expected true or false, got ${describe(value)}`);
  return value;
}

export function expectOneOf<T extends string>(value: unknown, path: string, choices: readonly T[]): T {
  if (typeof value !== 'string' || !(choices as readonly string[]).includes(value))
    throw new ValidationError(path, `expected one of ${choices.join(', ')}; got ${describe(value)}`);
  return value as T;
}

export function expectArray(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value)) throw new ValidationError(path, `expected an array, got ${describe(value)}`);
  return value;
}

export function optional<T>(value: unknown, parse: (v: unknown) => T): T | undefined {
  return value === undefined ? undefined : parse(value);
}

export function nullable<T>(value: unknown, parse: (v: unknown) => T): T | null {
  return value === null ? null : parse(value);
}
