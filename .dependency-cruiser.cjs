// The import rules of WAS Lab (docs/architecture.md draws the picture). `npm run lint` checks
// them with dependency-cruiser (scripts/lint/run.mjs) on src/ and webview/, type-only imports
// included: `import type` still ties one file to another, so it obeys the same layers.
//
// Four worlds, each a different runtime:
//   src/trainer    Node + TensorFlow.js, the headless trainer; never `vscode`.
//   src/extension  the VS Code extension host: a `vscode` layer over plain-Node parts.
//   webview/       browser code in the panel's webview: no Node, no `vscode`.
//   src/shared     what crosses a boundary (messages, config): plain TypeScript + valibot.
//
// Inside src/extension and src/trainer, folders are layers: a folder imports only itself and
// the layers below it, so each can be read (and tested) without the ones above.

/** Folders (and files) of src/extension, lowest first; one layer each. */
const EXTENSION_LAYERS = [
  ['base/'], // lifecycle (disposables), emitter: no `vscode`, no project imports
  ['runs/'], // plain Node: trainer processes, supervisor, run store, trainer arguments, settings
  ['lab/'], // plain Node: the state the views show (runs, mode, progress, the page's messages)
  ['panel/'], // `vscode`: the metrics panel and view hosts
  ['workbench/'], // `vscode`: tree, status bar, code lens, notifications, run picker, launching
  ['commands/'], // `vscode`: one file per command, registry.ts registers them all
  ['extension\\.ts'], // activate(): wires everything up
];

// ---- EDIT ME: src/trainer's layers, read off today's imports (issue 10 is still reshaping
// the trainer; change this list as its folders settle). Lowest first; folders on one line are
// independent of each other (neither imports the other).
const TRAINER_LAYERS = [
  ['rng\\.ts', 'version\\.ts', 'command-line\\.ts'], // seeded streams, tool versions, parseArgs helpers
  ['args\\.ts'], // train and resume flags -> TrainConfig
  ['backend/'], // TensorFlow.js backends and our wasm kernels
  ['was/'], // WAS transforms as pure functions
  ['data/'], // datasets, batching, augmentation
  ['output/'], // run folder, terminal output, summary and DOM report tables
  ['nn/'], // params, conv with shadow weights, BatchNorm, dense, graph ops, FLOPs counting
  ['models/'], // the model zoo
  ['eval/'], // evaluation of a mode on a split
  ['dom/'], // the deterministic DOM and its search
  ['train/'], // the run: set up or restore, epochs, finish; step, sampler, optimizer, checkpoints
  ['export/'], // LayersModel export
  ['study/'], // a study: plan, executors (local trainer processes), results and report
  ['commands/'], // train, resume, dom, export, study: one file per command
  ['cli\\.ts'], // the entry point
];

/** Regex of a package: resolved into node_modules (through a symlink or not), or unresolved. */
const pkg = (name) => `(^|/)node_modules/${name}/|^${name}(/|$)`;
/** `vscode` resolves to @types/vscode (or to nothing where that is absent). */
const VSCODE = `${pkg('@types/vscode')}|${pkg('vscode')}`;
const TFJS = pkg('@tensorflow');

/** A layer entry as a path regex: a folder (`nn/`) or a whole file (`cli\\.ts`). */
const anchored = (entry) => (entry.endsWith('/') ? entry : `${entry}$`);

/** One rule per layer: `<world>-layer-<folder>` forbids importing anything above it. */
function layerRules(world, layers) {
  const rules = [];
  layers.forEach((level, index) => {
    const above = layers.slice(index + 1).flat();
    for (const folder of level) {
      const siblings = level.filter((other) => other !== folder);
      const forbidden = [...siblings, ...above];
      if (forbidden.length === 0) continue;
      const name = folder.replace(/\\\.ts$/, '.ts').replace(/\/$/, '');
      rules.push({
        name: `${world}-layer-${name}`,
        comment:
          `src/${world}/${name} imports only itself and the layers below it` +
          (siblings.length > 0 ? `, not its siblings ${siblings.map((s) => s.replace(/\\/g, '')).join(' ')}` : '') +
          ` (the layer list is in .dependency-cruiser.cjs).`,
        severity: 'error',
        from: { path: `^src/${world}/${anchored(folder)}` },
        to: { path: `^src/${world}/(${forbidden.map(anchored).join('|')})` },
      });
    }
  });
  return rules;
}

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-cycle',
      comment:
        'No import cycles, type-only imports included: a cycle means neither file can be read, ' +
        'tested or moved without the other, and a layer order cannot hold.',
      severity: 'error',
      from: { path: '^(src|webview)/' },
      to: { circular: true },
    },
    {
      name: 'vscode-only-in-extension-api',
      comment:
        '`vscode` exists only inside the extension host: only src/extension/{commands,panel,workbench}/ ' +
        'and extension.ts import it, so base/, runs/, lab/ (and the trainer, shared and webview) run ' +
        'and are tested in plain Node or a browser.',
      severity: 'error',
      from: { path: '^(src|webview)/', pathNot: '^src/extension/(commands|panel|workbench)/|^src/extension/extension\\.ts$' },
      to: { path: VSCODE },
    },
    {
      name: 'tfjs-only-in-trainer',
      comment:
        'TensorFlow.js is the trainer\'s alone (a forked process): the extension must activate in ' +
        'milliseconds without it, and the webview never trains.',
      severity: 'error',
      from: { path: '^(src|webview)/', pathNot: '^src/trainer/' },
      to: { path: TFJS },
    },
    {
      name: 'extension-not-trainer',
      comment: 'The extension talks to the trainer through a process and src/shared/protocol.ts, never by importing it.',
      severity: 'error',
      from: { path: '^src/extension/' },
      to: { path: '^src/trainer/' },
    },
    {
      name: 'trainer-not-extension',
      comment: 'The trainer runs headless (terminal, CI, GPU server): it knows nothing of the extension.',
      severity: 'error',
      from: { path: '^src/trainer/' },
      to: { path: '^src/extension/' },
    },
    {
      name: 'shared-imports-only-shared',
      comment:
        'src/shared is what crosses a boundary, so every world can import it: it imports only ' +
        'src/shared and valibot (src/shared/node/ also node: builtins).',
      severity: 'error',
      from: { path: '^src/shared/' },
      to: { pathNot: `^src/shared/|${pkg('valibot')}`, dependencyTypesNot: ['core'] },
    },
    {
      name: 'shared-no-node-builtins',
      comment: 'src/shared runs in the webview too: Node-only helpers (atomic writes...) live in src/shared/node/.',
      severity: 'error',
      from: { path: '^src/shared/', pathNot: '^src/shared/node/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'shared-not-shared-node',
      comment: 'The rest of src/shared is imported by the webview, so it must not pull in the Node-only src/shared/node/.',
      severity: 'error',
      from: { path: '^src/shared/', pathNot: '^src/shared/node/' },
      to: { path: '^src/shared/node/' },
    },
    {
      name: 'webview-imports-only-webview-and-shared',
      comment:
        'The webview is a browser page: it imports webview/, src/shared/ (not src/shared/node/) and ' +
        'browser packages (chart.js, vscode-elements), nothing of the extension or the trainer.',
      severity: 'error',
      from: { path: '^webview/' },
      to: { path: '^(src|test|bench)/', pathNot: '^src/shared/(?!node/)' },
    },
    {
      name: 'webview-no-node-builtins',
      comment: 'The webview runs in a browser: Node builtins do not exist there.',
      severity: 'error',
      from: { path: '^webview/' },
      to: { dependencyTypes: ['core'] },
    },
    {
      name: 'src-not-test-or-bench',
      comment: 'Shipped code never imports tests or benchmarks (they are not bundled, and depend on it, not it on them).',
      severity: 'error',
      from: { path: '^(src|webview)/' },
      to: { path: '^(test|bench)/' },
    },
    {
      name: 'command-not-command',
      comment:
        'Each command is one file that imports no other command (what two commands share lives in ' +
        'workbench/); only commands/registry.ts imports them all.',
      severity: 'error',
      from: { path: '^src/extension/commands/', pathNot: '^src/extension/commands/registry\\.ts$' },
      to: { path: '^src/extension/commands/' },
    },
    ...layerRules('extension', EXTENSION_LAYERS),
    ...layerRules('trainer', TRAINER_LAYERS),
  ],
  options: {
    // Type-only imports count (cycles and layers alike).
    tsPreCompilationDeps: true,
    doNotFollow: { path: 'node_modules' },
  },
};
