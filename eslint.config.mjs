// ESLint checks one thing here: functions stay short enough to read (`npm run lint`; the import
// rules are dependency-cruiser's, in .dependency-cruiser.cjs). No type information is needed, so
// typescript-eslint's parser runs without a project: fast.
//
// The limit: 80 lines of code per function, counted as a reader reads them: blank lines and
// comment-only lines do not count (a comment that explains why should never push a function
// over), everything else does, from the line of its head to the line of its closing brace.
// A nested function counts in its parent too.

import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import tseslint from 'typescript-eslint';
import { functionLength } from './scripts/lint/function-length.mjs';

const MAX_LINES = 80;

// Kernels that must stay whole: one hot loop whose parts would only be read together, where a
// split costs speed or clarity. Say why on each entry. Keys are paths from the repository root.
const KERNELS = {};

/** Both lists as one: { absolute file: [names] }, so ESLint may run from any folder. */
function allowList(...lists) {
  const root = path.dirname(fileURLToPath(import.meta.url));
  const merged = {};
  for (const list of lists) for (const [file, names] of Object.entries(list)) (merged[path.join(root, file)] ??= []).push(...names);
  return merged;
}

export default [
  { ignores: ['dist/**', 'node_modules/**', 'test-artifacts/**'] },
  {
    files: ['src/**/*.ts', 'webview/**/*.ts'],
    languageOptions: { parser: tseslint.parser, sourceType: 'module' },
    linterOptions: { reportUnusedDisableDirectives: 'error' },
    plugins: { was: { rules: { 'max-lines-per-function': functionLength } } },
    rules: {
      'was/max-lines-per-function': [
        'error',
        { max: MAX_LINES, skipBlankLines: true, skipComments: true, IIFEs: false, allow: allowList(KERNELS) },
      ],
    },
  },
];
