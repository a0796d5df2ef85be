// ESLint's own `max-lines-per-function`, with an allow-list of named functions per file.
// ESLint can only turn a rule off for a whole file (or with a comment in the source); this wraps
// the core rule so eslint.config.mjs can name the few functions allowed to be longer, and reports
// an entry that no longer names a long function, so the list stays exact and only shrinks.

import * as path from 'node:path';
import { builtinRules } from 'eslint/use-at-your-own-risk';

const core = builtinRules.get('max-lines-per-function');

/** @type {import('eslint').Rule.RuleModule} */
export const functionLength = {
  meta: {
    type: 'suggestion',
    docs: { description: 'max-lines-per-function, with a per-file allow-list of function names' },
    schema: [
      {
        type: 'object',
        properties: {
          max: { type: 'integer', minimum: 1 },
          skipBlankLines: { type: 'boolean' },
          skipComments: { type: 'boolean' },
          IIFEs: { type: 'boolean' },
          // { 'path/to/file.ts': ['functionName', ...] }: absolute, or relative to ESLint's cwd.
          allow: { type: 'object', additionalProperties: { type: 'array', items: { type: 'string' } } },
        },
        additionalProperties: false,
      },
    ],
    messages: {
      ...core.meta.messages,
      stale:
        "'{{name}}' is on the allow-list of long functions for this file (eslint.config.mjs) but is no longer " +
        'over the limit, or no longer here: delete the entry.',
    },
  },
  create(context) {
    const { allow = {}, ...options } = context.options[0] ?? {};
    const listed = Object.entries(allow).find(([file]) => path.resolve(context.cwd, file) === context.filename);
    const allowed = new Set(listed?.[1] ?? []);
    const seen = new Set();
    // The core rule sees our options minus `allow`, and a report() that drops allowed functions.
    const inner = Object.create(context, {
      options: { value: [options] },
      report: {
        value(descriptor) {
          const name = /'(.+)'/.exec(String(descriptor.data?.name ?? ''))?.[1];
          if (name !== undefined && allowed.has(name)) seen.add(name);
          else context.report(descriptor);
        },
      },
    });
    const listeners = core.create(inner);
    const programExit = listeners['Program:exit'];
    return {
      ...listeners,
      'Program:exit'(node) {
        programExit?.(node);
        for (const name of allowed) {
          if (!seen.has(name)) context.report({ node, loc: { line: 1, column: 0 }, messageId: 'stale', data: { name } });
        }
      },
    };
  },
};
