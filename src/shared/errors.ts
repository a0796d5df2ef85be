// What a caught value says, as one line of text. `catch (error)` gives `unknown`: usually an
// Error, sometimes a plain { message } object (the tfjs wasm loader rejects with one) or a string.

/** The message of an Error or of a { message: string } object; any other value as String() writes it. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null && 'message' in error && typeof error.message === 'string') return error.message;
  return String(error);
}

/** For internal errors, where the place matters: an Error's stack (its message when it has none), else errorMessage. */
export function errorDetail(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : errorMessage(error);
}
