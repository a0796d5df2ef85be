// `was-train study <file.study.json>`: a grid of settings times seeds, each WAS run paired with
// its plain baseline, run as parallel trainer processes on this machine (study/runner.ts) or as a
// Slurm job array (study/slurm-executor.ts, `--executor slurm` or the file's executor), and
// resumed by the same command. Local: Ctrl-C or SIGTERM stops every run at its next step (each
// checkpoints there and resumes from it); a second one interrupts them. Slurm: Ctrl-C stops
// following the array, whose jobs go on (`was-train study cancel` cancels them; study-cluster.ts).
// `--dry-run` lists the runs and estimates their time without starting the study.

import * as path from 'node:path';
import { duration } from '../../shared/format';
import { errorMessage } from '../../shared/errors';
import { EXIT } from '../../shared/exit-codes';
import { parseTrainerCommand } from '../../shared/protocol';
import { EXECUTOR_KINDS, STUDIES_DIR, STUDY_REPORT_FILE, STUDY_RESULTS_FILE, defaultExecutor, type LocalExecutorConfig, type StudyExecutorConfig } from '../../shared/study';
import type { OutputStyle } from '../args';
import { UsageError, argTokens, flagValue } from '../command-line';
import { estimateStudy } from '../study/dry-run';
import { chooseParallelism, LocalExecutor, logicalCores, type Parallelism } from '../study/local-executor';
import { planStudy, readStudyFile, StudyFileError, type StudyPlan } from '../study/plan';
import { problemLines, stateCounts, studyTable } from '../study/report';
import { StudyResultsError } from '../study/results';
import { runStudy, StudyRefusedError, StudyStop, type StudyEvent } from '../study/runner';
import type { StudyExecutor } from '../study/executor';
import { BatchOptionError } from '../study/slurm/batch-script';
import { SlurmClient, SlurmError } from '../study/slurm/client';
import { ManifestError } from '../study/slurm/manifest';
import { DEFAULT_POLL_MS, SlurmExecutor } from '../study/slurm-executor';
import { choice, processIo, type CommandIo } from './flags';

const HELP = [
  'Usage: was-train study <file.study.json> [--dry-run] [--force] [--studies-dir <dir>] [--executor local|slurm] [--processes N] [--threads N] [--json | --plain]',
  '       was-train study status <study folder> [--json]       (a study on Slurm: each run\'s state, exit code, epochs)',
  '       was-train study cancel <study folder> [--run <name>] (scancel the study\'s array, or one run)',
  '',
  'Runs a study: every cell of the file\'s grid once per seed, each WAS run paired with its plain',
  `baseline, as parallel trainer processes, into <studies-dir>/<name>/ (default ${STUDIES_DIR}): study.json`,
  '(every run and the statistics), study.md (the report), configs/ and runs/. Run it again to resume:',
  'completed runs are kept, interrupted ones resumed from their checkpoints. A study file changed since',
  'the study started is refused unless --force.',
  '  --dry-run         list the runs and estimate the study\'s time from a short measurement',
  "  --executor KIND   local (trainer processes here) or slurm (one job array; the file's executor options if it names slurm)",
  '                    on Slurm, Ctrl-C stops following: the jobs go on; `was-train study cancel` cancels them',
  "  --processes N     trainer processes at once (default: the study file's executor, else one per core)",
  '  --threads N       wasm threads per process (default: the cores shared among the processes)',
  '  --json            one JSON line per study event on stdout',
  `Exit status: ${EXIT.ok} completed or stopped; ${EXIT.failed} a run failed or the study cannot go on; ${EXIT.usage} bad usage or study file.`,
].join('\n');

interface StudyArgs {
  file: string;
  dryRun: boolean;
  force: boolean;
  studiesDir: string;
  processes?: number;
  threads?: number;
  executor?: StudyExecutorConfig['kind'];
  output: OutputStyle;
}

function count(flag: string, raw: string, max: number): number {
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`--${flag} must be an integer from 1 to ${max}, got "${raw}"`);
  return n;
}

export function parseStudyArgs(argv: readonly string[]): StudyArgs | 'help' {
  const out: Partial<StudyArgs> & { studiesDir: string; output: OutputStyle; dryRun: boolean; force: boolean } = { studiesDir: STUDIES_DIR, output: 'auto', dryRun: false, force: false };
  for (const token of argTokens(argv, ['studies-dir', 'processes', 'threads', 'executor'])) {
    if (token.kind === 'positional') {
      if (out.file !== undefined) throw new UsageError(`study: one study file, got "${out.file}" and "${token.value}"`);
      out.file = token.value;
    } else if (token.name === 'help') return 'help';
    else if (token.name === 'json' || token.name === 'plain') out.output = token.name;
    else if (token.name === 'dry-run') out.dryRun = true;
    else if (token.name === 'force') out.force = true;
    else if (token.name === 'studies-dir') out.studiesDir = flagValue(token);
    else if (token.name === 'processes') out.processes = count('processes', flagValue(token), 256);
    else if (token.name === 'threads') out.threads = count('threads', flagValue(token), 64);
    else if (token.name === 'executor') out.executor = choice('executor', flagValue(token), EXECUTOR_KINDS, 'local');
    else throw new UsageError(`study: unknown flag ${token.raw} (known: --dry-run, --force, --studies-dir, --executor, --processes, --threads, --json, --plain)`);
  }
  if (out.file === undefined) throw new UsageError('study: which study? usage: was-train study <file.study.json> [--dry-run] [--force]');
  return { ...out, file: out.file };
}

export async function studyCommand(argv: string[], io: CommandIo = processIo): Promise<number> {
  let args: StudyArgs | 'help';
  try {
    args = parseStudyArgs(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.err(`was-train: ${error.message}\n`);
    return EXIT.usage;
  }
  if (args === 'help') {
    io.out(HELP + '\n');
    return EXIT.ok;
  }
  try {
    return args.dryRun ? await dryRun(args, io) : await runWithSignals(args, io);
  } catch (error) {
    if (error instanceof StudyFileError) {
      io.err(`was-train: ${error.message}\n`);
      return EXIT.usage;
    }
    if (error instanceof StudyRefusedError || error instanceof StudyResultsError || error instanceof SlurmError || error instanceof ManifestError) {
      io.err(`was-train: ${error.message}\n`);
      return EXIT.failed;
    }
    if (error instanceof BatchOptionError) {
      io.err(`was-train: the study file's Slurm executor: ${error.message}\n`);
      return EXIT.usage;
    }
    throw error;
  }
}

/** The study file's executor, or the kind --executor names (with that kind's defaults where the file names the other). */
function executorConfig(plan: StudyPlan, args: StudyArgs): StudyExecutorConfig {
  const file = plan.source.study.executor;
  return args.executor === undefined || args.executor === file.kind ? file : defaultExecutor(args.executor);
}

function parallelismFor(plan: StudyPlan, args: StudyArgs): Parallelism {
  const config = executorConfig(plan, args);
  const local: LocalExecutorConfig = config.kind === 'local' ? config : { kind: 'local', processes: 'auto', threads: 'auto' };
  return chooseParallelism(logicalCores(), local, { processes: args.processes, threads: args.threads }, plan.runs.length);
}

/** How often the Slurm follower asks scontrol: WAS_LAB_SLURM_POLL_MS (ms, at least 100), else every 3 s. */
function slurmPollMs(): number {
  const raw = Number(process.env.WAS_LAB_SLURM_POLL_MS);
  return Number.isFinite(raw) && raw >= 100 ? raw : DEFAULT_POLL_MS;
}

function chooseExecutor(plan: StudyPlan, args: StudyArgs, log: (line: string) => void): StudyExecutor {
  const config = executorConfig(plan, args);
  log(`study ${plan.source.name}: ${plan.runs.length} runs (${plan.cells.length} cells x ${plan.runs.length / plan.cells.length} seeds${plan.source.study.baseline ? ', each with its baseline' : ''}) in ${plan.dir}`);
  if (config.kind === 'slurm') {
    const options = [config.partition && `partition ${config.partition}`, config.time && `time ${config.time}`, config.cpusPerTask && `${config.cpusPerTask} CPUs per run`, config.gres && `gres ${config.gres}`].filter(Boolean);
    log(`executor: slurm, one job array${options.length > 0 ? ` (${options.join(', ')})` : ''}`);
    return new SlurmExecutor({ config, studyDir: plan.dir, studyName: plan.source.name, runs: plan.runs.length, client: new SlurmClient(), pollMs: slurmPollMs(), log });
  }
  const p = parallelismFor(plan, args);
  log(`executor: local, ${p.processes} trainer processes x ${p.threads} wasm threads (${p.why})`);
  return new LocalExecutor(p);
}

async function runWithSignals(args: StudyArgs, io: CommandIo): Promise<number> {
  const stop = new StudyStop();
  let signals = 0;
  let kind: StudyExecutorConfig['kind'] = 'local';
  const onSignal = (signal: NodeJS.Signals): void => {
    signals++;
    if (kind === 'slurm') io.err(`\nwas-train: ${signal}: no longer following the Slurm array; its jobs go on (was-train study cancel <study folder> cancels them)\n`);
    else io.err(signals === 1 ? `\nwas-train: ${signal}: stopping every run at its next step (again to interrupt them)\n` : `\nwas-train: ${signal} again: interrupting the runs\n`);
    stop.request(`${signal} received`);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const parent = listenToParent(stop, io);
  const json = args.output === 'json';
  const log = (line: string): void => (json ? io.err(`was-train: ${line}\n`) : io.out(`${line}\n`));
  const onEvent = (event: StudyEvent): void => {
    if (json) io.out(JSON.stringify(event) + '\n');
    else if (event.type === 'study-run') io.out(`${event.name}: ${event.state}${event.reason ? ` (${event.reason})` : ''}\n`);
  };
  try {
    const executor = (plan: StudyPlan): StudyExecutor => {
      const chosen = chooseExecutor(plan, args, log);
      kind = chosen.info.kind === 'slurm' ? 'slurm' : 'local';
      return chosen;
    };
    const results = await runStudy({ file: args.file, studiesDir: args.studiesDir, force: args.force, executor, onEvent, log }, stop);
    const dir = path.resolve(args.studiesDir, results.name);
    if (!json) {
      io.out(`\nstudy ${results.name}: ${results.state} (${stateCounts(results)}), wall time ${duration(results.wallSec)}\n\n${studyTable(results)}\n\n`);
      for (const line of problemLines(results)) io.out(`  ${line}\n`);
      io.out(`results: ${path.join(dir, STUDY_RESULTS_FILE)}, report: ${path.join(dir, STUDY_REPORT_FILE)}\n`);
    }
    return results.state === 'failed' ? EXIT.failed : EXIT.ok;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    parent.close();
  }
}

/**
 * Forked with an IPC channel (the extension): the parent's stop message stops the study, and so
 * does the channel closing (its window went away); the channel is let go at the end, or this
 * process would never exit.
 */
function listenToParent(stop: StudyStop, io: CommandIo): { close(): void } {
  if (!process.send) return { close: () => undefined };
  const onMessage = (message: unknown): void => {
    try {
      // Asking again is not a second Ctrl-C: only signals interrupt the runs.
      if (parseTrainerCommand(message).type === 'stop' && stop.reason === null) stop.request('stop requested by the parent process');
    } catch (error) {
      io.err(`was-train: ignored a malformed message from the parent: ${errorMessage(error)}\n`);
    }
  };
  const onDisconnect = (): void => void (stop.reason === null ? stop.request('the process that started the study went away') : undefined);
  process.on('message', onMessage);
  process.on('disconnect', onDisconnect);
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => undefined);
  return {
    close: () => {
      process.off('message', onMessage);
      process.off('disconnect', onDisconnect);
      if (process.connected) process.disconnect();
    },
  };
}

async function dryRun(args: StudyArgs, io: CommandIo): Promise<number> {
  const source = readStudyFile(args.file);
  const plan = planStudy(source, path.resolve(args.studiesDir, source.name));
  const p = parallelismFor(plan, args);
  const settings = new Map(plan.cells.map((c) => [c.id, Object.entries(c.settings).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`).join(' ') || '(base)']));
  const json = args.output === 'json';
  if (!json) {
    io.out(`study ${source.name}: ${plan.runs.length} runs into ${plan.dir}${source.study.baseline ? ', each with its baseline' : ''}\n`);
    for (const run of plan.runs) io.out(`  ${run.name}  ${settings.get(run.cell)}  seed ${run.seed}  ${run.config.epochs} epochs\n`);
    io.out(`measuring ${p.threads}-thread throughput on a few steps...\n`);
  }
  let estimate;
  try {
    estimate = await estimateStudy(plan, new LocalExecutor({ processes: 1, threads: p.threads, why: 'measurement' }), p.processes);
  } catch (error) {
    io.err(`was-train: the estimate failed: ${errorMessage(error)}\n`);
    return EXIT.failed;
  }
  if (json) {
    const runs = plan.runs.map((r) => ({ name: r.name, cell: r.cell, settings: plan.cells.find((c) => c.id === r.cell)!.settings, seed: r.seed, estimateSec: estimate.perRun.get(r.name) ?? null }));
    io.out(JSON.stringify({ type: 'study-dry-run', dir: plan.dir, runs, processes: p.processes, threads: p.threads, measurements: estimate.measurements, totalSec: estimate.totalSec }) + '\n');
    return EXIT.ok;
  }
  for (const m of estimate.measurements)
    io.out(m.samplesPerSec === null ? `  ${m.label}: not measured (${m.reason})\n` : `  ${m.label}: ${Math.round(m.samplesPerSec)} samples/s, ${m.evalSecPerEpoch.toFixed(1)} s evaluation per epoch\n`);
  const total = estimate.totalSec === null ? 'unknown (a measurement failed)' : duration(estimate.totalSec);
  io.out(`estimate: ${total} with ${p.processes} processes x ${p.threads} threads (assuming the processes do not slow each other down)\n`);
  return EXIT.ok;
}
