// A run's folder name, which is also its id everywhere (the Runs tree, the panel, the CLI): given
// by the user (--run-name, config runName), or <yyyymmdd-hhmmss>-<model>-<dataset> in UTC, with
// -2, -3, ... added when that name is taken. The trainer creates the folder; the extension names
// a queued run before its trainer starts, so both must make the same names.

const RUN_NAME = /^[\w.-]+$/;

/** Why `name` cannot be a run folder name, or null when it can: one path segment of letters, digits, '.', '_' and '-'. */
export function runNameProblem(name: string): string | null {
  return RUN_NAME.test(name) && name !== '.' && name !== '..' ? null : `run name "${name}" may only hold letters, digits, '.', '_' and '-'`;
}

/** <yyyymmdd-hhmmss>-<model>-<dataset>, the time in UTC to the second. */
export function defaultRunName(model: string, dataset: string, now: Date): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${model}-${dataset}`;
}

/**
 * The first of `base`, `base-2`, `base-3`, ... that is not `taken`. `taken` may also claim the
 * name (create its folder and answer false), so that two writers cannot both get it.
 */
export function firstFreeRunName(base: string, taken: (name: string) => boolean): string {
  for (let i = 1; ; i++) {
    const name = i === 1 ? base : `${base}-${i}`;
    if (!taken(name)) return name;
  }
}

/**
 * What the trainer puts in a run folder, and nothing else: the files of output/run-folder.ts,
 * run.lock (one writer per run), checkpoints/ (train/checkpoint.ts), dom/ (saved DOM searches),
 * exports/ (`was-train export`'s default) and baseline/ (a run of its own, with --baseline). A
 * folder holding anything more is not (only) a WAS run: the extension does not delete it.
 */
export const RUN_FOLDER_FILES = ['config.json', 'metrics.jsonl', 'log.txt', 'summary.json', 'run.lock'] as const;
export const RUN_FOLDER_FOLDERS = ['checkpoints', 'dom', 'exports', 'baseline'] as const;

/** Whether `name` is one of a run folder's own entries (a file's stray `<name>.<pid>.tmp` of an atomic write too), and which kind. */
export function runFolderEntryKind(name: string): 'file' | 'folder' | null {
  const file = name.replace(/\.\d+\.tmp$/, '');
  if ((RUN_FOLDER_FILES as readonly string[]).includes(file)) return 'file';
  if ((RUN_FOLDER_FOLDERS as readonly string[]).includes(name)) return 'folder';
  return null;
}
