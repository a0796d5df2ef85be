// What WAS: New Experiment File starts a file with, and the name it suggests. The file's `$schema`
// names the experiment schema by a URI of the extension's own (`was-lab:`), which the extension
// serves from dist/was-experiment.schema.json: the same schema jsonValidation gives every
// `*.was.json`, and no machine path or version in a file people commit. The trainer reads
// `$schema` as a note for editors, not an option (EXPERIMENT_KEYS in src/shared/config.ts).

export const EXPERIMENT_SUFFIX = '.was.json';
export const SCHEMA_SCHEME = 'was-lab';
export const SCHEMA_PATH = '/was-experiment.schema.json';
export const EXPERIMENT_SCHEMA_URI = `${SCHEMA_SCHEME}:${SCHEMA_PATH}`;

/**
 * A first experiment that trains in a few minutes on wasm (the run, then its baseline) and shows what WAS does: LeNet on the
 * bundled MNIST with shadow-weight shifts, the sound preset (held-out selection), a fixed seed so
 * a rerun repeats it, and the plain baseline beside it so the gain is measured, not guessed.
 */
export function newExperimentText(): string {
  const experiment = {
    $schema: EXPERIMENT_SCHEMA_URI,
    model: 'lenet',
    data: { name: 'mnist' },
    was: { transform: 'shift', translate: 0.3 },
    preset: 'sound',
    epochs: 3,
    seed: 1,
    baseline: true,
  };
  return `${JSON.stringify(experiment, null, 2)}\n`;
}

/** "experiment.was.json", or "experiment-2.was.json" and on when taken. */
export function suggestExperimentName(taken: (name: string) => boolean, stem = 'experiment'): string {
  for (let n = 1; ; n++) {
    const name = `${stem}${n === 1 ? '' : `-${n}`}${EXPERIMENT_SUFFIX}`;
    if (!taken(name)) return name;
  }
}

/** Why `name` cannot be the new file's name in its folder; null when it can. */
export function experimentNameProblem(name: string, taken: (name: string) => boolean): string | null {
  const trimmed = name.trim();
  if (!trimmed.endsWith(EXPERIMENT_SUFFIX) || trimmed.length === EXPERIMENT_SUFFIX.length) return `a name ending in ${EXPERIMENT_SUFFIX} (the schema and the Train lens follow that ending)`;
  if (/[\\/]/.test(trimmed)) return 'a file name, without a folder';
  if (/^\.|[<>:"|?*\u0000-\u001f]/.test(trimmed)) return 'a name without a leading dot or the characters < > : " | ? *';
  if (taken(trimmed)) return `${trimmed} exists: choose another name`;
  return null;
}
