// The one event stream of a training run. The trainer writes these events to metrics.jsonl and,
// when forked, sends them to its parent over IPC; the extension and the webview read them back.
// Every reader parses `unknown` through parseTrainerEvent: nothing is trusted by shape alone.

import { errorMessage } from './errors';
import { DOM_SEARCH_ALGORITHMS, type BackendName, type DomSearchAlgorithm, type TrainConfig } from './config';
import {
  ValidationError,
  expectArray,
  expectBoolean,
  expectMetric,
  expectNumber,
  expectObject,
  expectOneOf,
  expectString,
  nullable,
  type JsonObject,
} from './validate';

export const PROTOCOL_VERSION = 1;

export type InferenceMode = 'aom' | 'dom';
export type RunStatus = 'completed' | 'stopped' | 'failed';
export type Phase = 'loading-data' | 'building-model' | 'training' | 'calibrating' | 'evaluating' | 'testing' | 'searching-dom';
const PHASES: readonly Phase[] = ['loading-data', 'building-model', 'training', 'calibrating', 'evaluating', 'testing', 'searching-dom'];
const STATUSES: readonly RunStatus[] = ['completed', 'stopped', 'failed'];
const CHOSEN_BACKENDS = ['tensorflow-gpu', 'tensorflow-cpu', 'wasm', 'cpu'] as const;

export interface BackendInfo {
  name: Exclude<BackendName, 'auto'>;
  /** Why this backend: requested by name, or what `auto` skipped and why. */
  reason: string;
  skipped: { name: string; reason: string }[];
}

export interface RunStartEvent {
  type: 'run-start';
  time: number;
  runId: string;
  runDir: string;
  config: TrainConfig;
  seed: number;
  backend: BackendInfo;
  versions: Record<string, string>;
  /** flops: multiply-adds per image of the AOM network (was/flops.ts says what is counted). */
  model: { name: string; parameters: number; shadowLayers: string[]; flops?: number };
  dataset: { name: string; source: string; train: number; validation: number; test: number; classes: number };
  stepsPerEpoch: number;
  epochs: number;
  /**
   * Only on the run-start of a resumed session (`was-train resume`): the checkpoint it continues
   * from (epochs completed, global step). Events of earlier sessions for later epochs, and their
   * run-end, are superseded: the resumed session redoes them (see currentHistory).
   */
  resumedFrom?: { epoch: number; step: number };
}

export interface PhaseEvent {
  type: 'phase';
  time: number;
  phase: Phase;
  epoch: number | null;
}

export interface StepEvent {
  type: 'step';
  time: number;
  epoch: number;
  /** Global step, 1-based. */
  step: number;
  stepInEpoch: number;
  stepsPerEpoch: number;
  /** Mean train loss and accuracy over the steps since the previous step event. */
  loss: number;
  accuracy: number;
  lr: number;
  samplesPerSec: number;
}

export interface EpochEvent {
  type: 'epoch';
  time: number;
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  /** Accuracy in each inference mode on the selection split ('validation' or, in the reference preset, 'test'). */
  aomAccuracy: number;
  domAccuracy: number;
  selectionSplit: 'validation' | 'test';
  lr: number;
  samplesPerSec: number;
  durationSec: number;
  alphas: Record<string, number>;
  /** This epoch is the best so far by AOM accuracy on the selection split. */
  best: boolean;
  numTensors: number;
}

export interface LogEvent {
  type: 'log';
  time: number;
  level: 'info' | 'warn' | 'error';
  message: string;
}

export interface RunEndEvent {
  type: 'run-end';
  time: number;
  status: RunStatus;
  /** Why the run failed or stopped; null when completed. */
  reason: string | null;
  epochsCompleted: number;
  bestEpoch: number | null;
  bestAomAccuracy: number | null;
  /** Test accuracy at the selected epoch, measured once at the end; null if none was measured. */
  test: { aom: number; dom: number; epoch: number } | null;
  durationSec: number;
  samplesPerSec: number;
  /** Only with --baseline: the plain model trained beside this run, and the WAS gain over it. */
  baseline?: BaselineComparison;
  /** FLOPs of AOM, and of the deterministic DOM when a FLOPs target was searched. */
  flops?: FlopsSummary;
}

/** One transformed layer of a deterministic DOM. */
export interface DomLayerChoice {
  layer: string;
  /** The fixed shift; (0, 0) is the identity (the layer keeps its whole kernel). */
  dy: number;
  dx: number;
  /** Kernel taps the layer applies, e.g. [2, 3] for a 3x3 kernel shifted by one row. */
  kernel: [number, number];
  /** Multiply-adds per image of this layer in AOM and in this DOM. */
  flops: { aom: number; dom: number };
}

/**
 * The deterministic DOM for a FLOPs target: one fixed shift per transformed layer, searched on the
 * selection split (or by `was-train dom` on a checkpoint). FLOPs are multiply-adds per image.
 */
export interface DomSearchEvent {
  type: 'dom-search';
  time: number;
  /** Which weights: the run's selected epoch ('best') or its last checkpoint. */
  checkpoint: 'best' | 'last';
  epoch: number;
  /** At most this fraction of the AOM FLOPs. */
  flopsTarget: number;
  algorithm: DomSearchAlgorithm;
  split: 'validation' | 'test';
  /** budget: floor(flopsTarget * aom); minimum: every transformed layer at its smallest shift. */
  flops: { aom: number; dom: number; budget: number; minimum: number };
  /** On `split`, BatchNorm recalibrated for each mode; stochasticDom: the reference's random DOM. */
  accuracy: { aom: number; dom: number; stochasticDom: number | null };
  /** On the test set, once, for the chosen DOM; null when not measured. */
  test: { aom: number; dom: number } | null;
  layers: DomLayerChoice[];
  /** Search cost: evaluations (each a BatchNorm recalibration and a pass over `split`) and time. */
  evaluations: number;
  durationSec: number;
}

export interface FlopsSummary {
  /** Multiply-adds per image of the AOM network. */
  aom: number;
  /** The deterministic DOM chosen for a FLOPs target; null when none was searched. */
  dom: { target: number; flops: number; accuracy: number; test: number | null; layers: DomLayerChoice[] } | null;
}

export interface BaselineComparison {
  /** The baseline's run folder (its own config.json, metrics.jsonl, summary.json). */
  runDir: string;
  status: RunStatus;
  /** The plain model's test accuracy at its own selected epoch; null if none was measured. */
  test: { accuracy: number; epoch: number } | null;
  /** WAS test accuracy minus the baseline's, in percentage points; null without both numbers. */
  gain: { aom: number; dom: number } | null;
}

/**
 * With --baseline, the plain run trains after the WAS run, and each of its events reaches the
 * parent's stream (metrics.jsonl, IPC, terminal) inside this envelope, so that a UI can plot the
 * baseline beside AOM and DOM. The inner events are a whole run's stream (run-start .. run-end,
 * never another envelope); the WAS run's own run-end, with `baseline` filled in, comes after them.
 */
export interface BaselineEvent {
  type: 'baseline';
  time: number;
  event: TrainerEvent;
}

export type TrainerEvent = RunStartEvent | PhaseEvent | StepEvent | EpochEvent | LogEvent | RunEndEvent | BaselineEvent | DomSearchEvent;

/** Messages a parent sends to a forked trainer. */
export type TrainerCommand = { type: 'stop' };

/** JSON has no NaN or Infinity: encode them so a diverged loss survives the trip. */
export function encodeEvent(event: TrainerEvent): string {
  return JSON.stringify(event, (_key, value: unknown) =>
    typeof value === 'number' && !Number.isFinite(value) ? (Number.isNaN(value) ? null : String(value)) : value,
  );
}

export function parseTrainerCommand(value: unknown): TrainerCommand {
  const o = expectObject(value, 'command');
  const type = expectOneOf(o.type, 'command.type', ['stop'] as const);
  return { type };
}

export function parseTrainerEvent(value: unknown): TrainerEvent {
  const o = expectObject(value, 'event');
  const type = expectString(o.type, 'event.type');
  const time = expectNumber(o.time, `${type}.time`);
  const p = (key: string) => `${type}.${key}`;
  switch (type) {
    case 'run-start': {
      const backend = expectObject(o.backend, p('backend'));
      const model = expectObject(o.model, p('model'));
      const dataset = expectObject(o.dataset, p('dataset'));
      return {
        type,
        time,
        runId: expectString(o.runId, p('runId')),
        runDir: expectString(o.runDir, p('runDir')),
        // The config was checked field by field when it was resolved; here its shape is enough.
        config: expectObject(o.config, p('config')) as unknown as TrainConfig,
        seed: expectNumber(o.seed, p('seed'), { integer: true, min: 0 }),
        backend: {
          name: expectOneOf(backend.name, p('backend.name'), CHOSEN_BACKENDS),
          reason: expectString(backend.reason, p('backend.reason')),
          skipped: expectArray(backend.skipped, p('backend.skipped')).map((s, i) => {
            const so = expectObject(s, p(`backend.skipped[${i}]`));
            return { name: expectString(so.name, p('backend.skipped.name')), reason: expectString(so.reason, p('backend.skipped.reason')) };
          }),
        },
        versions: stringRecord(o.versions, p('versions')),
        model: {
          name: expectString(model.name, p('model.name')),
          parameters: expectNumber(model.parameters, p('model.parameters'), { integer: true, min: 0 }),
          shadowLayers: expectArray(model.shadowLayers, p('model.shadowLayers')).map((s, i) => expectString(s, p(`model.shadowLayers[${i}]`))),
          ...(model.flops === undefined ? {} : { flops: count(model.flops, p('model.flops')) }),
        },
        dataset: {
          name: expectString(dataset.name, p('dataset.name')),
          source: expectString(dataset.source, p('dataset.source')),
          train: count(dataset.train, p('dataset.train')),
          validation: count(dataset.validation, p('dataset.validation')),
          test: count(dataset.test, p('dataset.test')),
          classes: count(dataset.classes, p('dataset.classes')),
        },
        stepsPerEpoch: count(o.stepsPerEpoch, p('stepsPerEpoch')),
        epochs: count(o.epochs, p('epochs')),
        ...(o.resumedFrom === undefined
          ? {}
          : {
              resumedFrom: (() => {
                const r = expectObject(o.resumedFrom, p('resumedFrom'));
                return { epoch: count(r.epoch, p('resumedFrom.epoch')), step: count(r.step, p('resumedFrom.step')) };
              })(),
            }),
      };
    }
    case 'phase':
      return {
        type,
        time,
        phase: expectOneOf(o.phase, p('phase'), PHASES),
        epoch: nullable(o.epoch ?? null, (v) => count(v, p('epoch'))),
      };
    case 'step':
      return {
        type,
        time,
        epoch: count(o.epoch, p('epoch')),
        step: count(o.step, p('step')),
        stepInEpoch: count(o.stepInEpoch, p('stepInEpoch')),
        stepsPerEpoch: count(o.stepsPerEpoch, p('stepsPerEpoch')),
        loss: expectMetric(o.loss, p('loss')),
        accuracy: expectMetric(o.accuracy, p('accuracy')),
        lr: expectMetric(o.lr, p('lr')),
        samplesPerSec: expectMetric(o.samplesPerSec, p('samplesPerSec')),
      };
    case 'epoch': {
      const alphas: Record<string, number> = {};
      for (const [k, v] of Object.entries(expectObject(o.alphas, p('alphas')))) alphas[k] = expectMetric(v, p(`alphas.${k}`));
      return {
        type,
        time,
        epoch: count(o.epoch, p('epoch')),
        trainLoss: expectMetric(o.trainLoss, p('trainLoss')),
        trainAccuracy: expectMetric(o.trainAccuracy, p('trainAccuracy')),
        aomAccuracy: expectMetric(o.aomAccuracy, p('aomAccuracy')),
        domAccuracy: expectMetric(o.domAccuracy, p('domAccuracy')),
        selectionSplit: expectOneOf(o.selectionSplit, p('selectionSplit'), ['validation', 'test'] as const),
        lr: expectMetric(o.lr, p('lr')),
        samplesPerSec: expectMetric(o.samplesPerSec, p('samplesPerSec')),
        durationSec: expectMetric(o.durationSec, p('durationSec')),
        alphas,
        best: expectBoolean(o.best, p('best')),
        numTensors: count(o.numTensors, p('numTensors')),
      };
    }
    case 'log':
      return {
        type,
        time,
        level: expectOneOf(o.level, p('level'), ['info', 'warn', 'error'] as const),
        message: expectString(o.message, p('message')),
      };
    case 'run-end': {
      const test = nullable(o.test ?? null, (v) => {
        const t = expectObject(v, p('test'));
        return { aom: expectMetric(t.aom, p('test.aom')), dom: expectMetric(t.dom, p('test.dom')), epoch: count(t.epoch, p('test.epoch')) };
      });
      return {
        type,
        time,
        status: expectOneOf(o.status, p('status'), STATUSES),
        reason: nullable(o.reason ?? null, (v) => expectString(v, p('reason'))),
        epochsCompleted: count(o.epochsCompleted, p('epochsCompleted')),
        bestEpoch: nullable(o.bestEpoch ?? null, (v) => count(v, p('bestEpoch'))),
        bestAomAccuracy: nullable(o.bestAomAccuracy ?? null, (v) => expectMetric(v, p('bestAomAccuracy'))),
        test,
        durationSec: expectMetric(o.durationSec, p('durationSec')),
        samplesPerSec: expectMetric(o.samplesPerSec, p('samplesPerSec')),
        ...(o.baseline === undefined ? {} : { baseline: parseBaselineComparison(o.baseline, p('baseline')) }),
        ...(o.flops === undefined ? {} : { flops: parseFlopsSummary(o.flops, p('flops')) }),
      };
    }
    case 'dom-search':
      return parseDomSearch(o, time);
    case 'baseline': {
      const inner = parseTrainerEvent(o.event);
      if (inner.type === 'baseline') throw new ValidationError(p('event'), 'a baseline envelope inside another');
      return { type, time, event: inner };
    }
    default:
      throw new ValidationError('event.type', `unknown event type "${type}"`);
  }
}

/** Parse metrics.jsonl text. A torn last line (a killed writer) is skipped and reported, not fatal. */
export function parseEventLines(text: string): { events: TrainerEvent[]; tornLastLine: boolean } {
  const lines = text.split('\n');
  const events: TrainerEvent[] = [];
  let tornLastLine = false;
  lines.forEach((line, i) => {
    if (line.trim() === '') return;
    const last = i === lines.length - 1;
    let json: unknown;
    try {
      json = JSON.parse(line);
    } catch (error) {
      if (last) {
        tornLastLine = true;
        return;
      }
      throw new ValidationError(`line ${i + 1}`, `not JSON: ${errorMessage(error)}`);
    }
    try {
      events.push(parseTrainerEvent(json));
    } catch (error) {
      throw new ValidationError(`line ${i + 1}`, errorMessage(error));
    }
  });
  return { events, tornLastLine };
}

function parseBaselineComparison(value: unknown, path: string): BaselineComparison {
  const b = expectObject(value, path);
  return {
    runDir: expectString(b.runDir, `${path}.runDir`),
    status: expectOneOf(b.status, `${path}.status`, STATUSES),
    test: nullable(b.test ?? null, (v) => {
      const t = expectObject(v, `${path}.test`);
      return { accuracy: expectMetric(t.accuracy, `${path}.test.accuracy`), epoch: count(t.epoch, `${path}.test.epoch`) };
    }),
    gain: nullable(b.gain ?? null, (v) => {
      const g = expectObject(v, `${path}.gain`);
      return { aom: expectMetric(g.aom, `${path}.gain.aom`), dom: expectMetric(g.dom, `${path}.gain.dom`) };
    }),
  };
}

/**
 * The run's history as its latest session sees it. A resumed session (run-start with
 * resumedFrom) redoes everything after its checkpoint, so the earlier sessions' step, epoch and
 * phase events for later epochs and their run-end are dropped; a fresh run-start drops all
 * before it. Baseline envelopes are resolved the same way among themselves. Logs are kept.
 */
export function currentHistory(events: readonly TrainerEvent[]): TrainerEvent[] {
  const resolve = (stream: readonly { event: TrainerEvent; keep: TrainerEvent }[]): { event: TrainerEvent; keep: TrainerEvent }[] => {
    let out: { event: TrainerEvent; keep: TrainerEvent }[] = [];
    for (const item of stream) {
      const e = item.event;
      if (e.type === 'run-start') {
        const from = e.resumedFrom;
        out = from === undefined
          ? []
          : out.filter(({ event: o }) => o.type !== 'run-end' && !((o.type === 'step' || o.type === 'epoch' || o.type === 'phase') && o.epoch !== null && o.epoch > from.epoch));
      }
      out.push(item);
    }
    return out;
  };
  const main = resolve(events.filter((e) => e.type !== 'baseline').map((e) => ({ event: e, keep: e })));
  const baseline = resolve(events.filter((e): e is BaselineEvent => e.type === 'baseline').map((e) => ({ event: e.event, keep: e })));
  const kept = new Set<TrainerEvent>([...main, ...baseline].map((x) => x.keep));
  return events.filter((e) => kept.has(e));
}

function parseDomSearch(o: JsonObject, time: number): DomSearchEvent {
  const p = (key: string) => `dom-search.${key}`;
  const flops = expectObject(o.flops, p('flops'));
  const accuracy = expectObject(o.accuracy, p('accuracy'));
  return {
    type: 'dom-search',
    time,
    checkpoint: expectOneOf(o.checkpoint, p('checkpoint'), ['best', 'last'] as const),
    epoch: count(o.epoch, p('epoch')),
    flopsTarget: expectNumber(o.flopsTarget, p('flopsTarget'), { min: 0, max: 1 }),
    algorithm: expectOneOf(o.algorithm, p('algorithm'), DOM_SEARCH_ALGORITHMS),
    split: expectOneOf(o.split, p('split'), ['validation', 'test'] as const),
    flops: {
      aom: count(flops.aom, p('flops.aom')),
      dom: count(flops.dom, p('flops.dom')),
      budget: count(flops.budget, p('flops.budget')),
      minimum: count(flops.minimum, p('flops.minimum')),
    },
    accuracy: {
      aom: expectMetric(accuracy.aom, p('accuracy.aom')),
      dom: expectMetric(accuracy.dom, p('accuracy.dom')),
      stochasticDom: nullable(accuracy.stochasticDom ?? null, (v) => expectMetric(v, p('accuracy.stochasticDom'))),
    },
    test: nullable(o.test ?? null, (v) => {
      const t = expectObject(v, p('test'));
      return { aom: expectMetric(t.aom, p('test.aom')), dom: expectMetric(t.dom, p('test.dom')) };
    }),
    layers: parseLayerChoices(o.layers, p('layers')),
    evaluations: count(o.evaluations, p('evaluations')),
    durationSec: expectMetric(o.durationSec, p('durationSec')),
  };
}

function parseLayerChoices(value: unknown, path: string): DomLayerChoice[] {
  return expectArray(value, path).map((v, i) => {
    const at = `${path}[${i}]`;
    const l = expectObject(v, at);
    const kernel = expectArray(l.kernel, `${at}.kernel`).map((k, j) => expectNumber(k, `${at}.kernel[${j}]`, { integer: true, min: 1 }));
    if (kernel.length !== 2) throw new ValidationError(`${at}.kernel`, `expected [height, width], got ${kernel.length} numbers`);
    const flops = expectObject(l.flops, `${at}.flops`);
    return {
      layer: expectString(l.layer, `${at}.layer`),
      dy: expectNumber(l.dy, `${at}.dy`, { integer: true }),
      dx: expectNumber(l.dx, `${at}.dx`, { integer: true }),
      kernel: [kernel[0], kernel[1]],
      flops: { aom: count(flops.aom, `${at}.flops.aom`), dom: count(flops.dom, `${at}.flops.dom`) },
    };
  });
}

function parseFlopsSummary(value: unknown, path: string): FlopsSummary {
  const f = expectObject(value, path);
  return {
    aom: count(f.aom, `${path}.aom`),
    dom: nullable(f.dom ?? null, (v) => {
      const d = expectObject(v, `${path}.dom`);
      return {
        target: expectNumber(d.target, `${path}.dom.target`, { min: 0, max: 1 }),
        flops: count(d.flops, `${path}.dom.flops`),
        accuracy: expectMetric(d.accuracy, `${path}.dom.accuracy`),
        test: nullable(d.test ?? null, (t) => expectMetric(t, `${path}.dom.test`)),
        layers: parseLayerChoices(d.layers, `${path}.dom.layers`),
      };
    }),
  };
}

function count(value: unknown, path: string): number {
  return expectNumber(value, path, { integer: true, min: 0 });
}

function stringRecord(value: unknown, path: string): Record<string, string> {
  const out: Record<string, string> = {};
  const o: JsonObject = expectObject(value, path);
  for (const [k, v] of Object.entries(o)) out[k] = expectString(v, `${path}.${k}`);
  return out;
}

