// A submission's manifest, <study>/slurm/manifest-<n>.json: which run each task of the n-th job
// array is (its index in $SLURM_ARRAY_TASK_ID), written before sbatch is called and given the
// array's job id once sbatch answers. The follower, `was-train study status` and `study cancel`
// read it; a run that several submissions hold belongs to the latest one. Beside it the batch
// script (array-<n>.sh) and each task's output (array-<n>-task-<index>.out).

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as v from 'valibot';
import { errorMessage } from '../../../shared/errors';
import { writeFileAtomic } from '../../../shared/node/atomic-file';
import { finiteNumber, flag, issuePath, listOf, objectOf, orNull, text } from '../../../shared/schema';

export const SLURM_DIR = 'slurm';
export const MANIFEST_FORMAT = 'was-study-slurm/1';

const TASK = objectOf({
  /** $SLURM_ARRAY_TASK_ID. */
  taskId: finiteNumber({ integer: true, min: 0 }),
  /** The run's name, its folder, its config, and whether the task resumes it. */
  name: text(),
  runDir: text(),
  configFile: text(),
  resume: flag(),
});

const MANIFEST = objectOf({
  format: v.literal(MANIFEST_FORMAT, `expected format "${MANIFEST_FORMAT}"`),
  submission: finiteNumber({ integer: true, min: 1 }),
  /** null between writing the manifest and sbatch's answer. */
  jobId: orNull(text()),
  submittedAt: orNull(text()),
  /** The batch script, beside the manifest. */
  script: text(),
  tasks: listOf(TASK),
});
export type SlurmManifest = v.InferOutput<typeof MANIFEST>;
export type ManifestTask = SlurmManifest['tasks'][number];

export function slurmDir(studyDir: string): string {
  return path.join(studyDir, SLURM_DIR);
}

export function manifestFile(studyDir: string, submission: number): string {
  return path.join(slurmDir(studyDir), `manifest-${submission}.json`);
}

/** Each task's output file, as sbatch's --output pattern (relative to the study folder) and as the file of one task. */
export function taskOutputPattern(submission: number): string {
  return `${SLURM_DIR}/array-${submission}-task-%a.out`;
}
export function taskOutputFile(studyDir: string, submission: number, taskId: number): string {
  return path.join(slurmDir(studyDir), `array-${submission}-task-${taskId}.out`);
}

export function writeManifest(studyDir: string, manifest: SlurmManifest): void {
  fs.mkdirSync(slurmDir(studyDir), { recursive: true });
  writeFileAtomic(manifestFile(studyDir, manifest.submission), JSON.stringify(manifest, null, 2) + '\n');
}

/** A manifest that cannot be read: the message names the file and the field. */
export class ManifestError extends Error {
  override readonly name = 'ManifestError';
}

function readManifest(file: string): SlurmManifest {
  try {
    const result = v.safeParse(MANIFEST, JSON.parse(fs.readFileSync(file, 'utf8')), { abortEarly: true });
    if (result.success) return result.output;
    throw new Error(`${issuePath(result.issues[0]) || '(top)'}: ${result.issues[0].message}`);
  } catch (error) {
    throw new ManifestError(`${file} cannot be read (${errorMessage(error)}); move it aside if its array has ended`);
  }
}

/** The study's manifests, oldest first ([] for a study never submitted to Slurm). */
export function readManifests(studyDir: string): SlurmManifest[] {
  let names: string[];
  try {
    names = fs.readdirSync(slurmDir(studyDir));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const numbered = names.map((name) => /^manifest-(\d+)\.json$/.exec(name)).filter((m) => m !== null);
  return numbered.sort((a, b) => Number(a[1]) - Number(b[1])).map((m) => readManifest(path.join(slurmDir(studyDir), m[0])));
}

/** The next submission's number. */
export function nextSubmission(manifests: readonly SlurmManifest[]): number {
  return manifests.reduce((n, m) => Math.max(n, m.submission), 0) + 1;
}

/** Each run's latest task: its manifest (with a job id) and its task. */
export function latestTasks(manifests: readonly SlurmManifest[]): Map<string, { manifest: SlurmManifest; task: ManifestTask }> {
  const latest = new Map<string, { manifest: SlurmManifest; task: ManifestTask }>();
  for (const manifest of manifests) if (manifest.jobId !== null) for (const task of manifest.tasks) latest.set(task.name, { manifest, task });
  return latest;
}
