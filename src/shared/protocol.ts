// The one event stream of a training run. The trainer writes these events to metrics.jsonl and,
// when forked, sends them to its parent over IPC; the extension and the webview read them back.
// Every reader parses `unknown` through parseTrainerEvent: nothing is trusted by shape alone.

import type { BackendName, TrainConfig } from './config';
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
export type Phase = 'loading-data' | 'building-model' | 'training' | 'calibrating' | 'evaluating' | 'testing';
const PHASES: readonly Phase[] = ['loading-data', 'building-model', 'training', 'calibrating', 'evaluating', 'testing'];
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
  model: { name: string; parameters: number; shadowLayers: string[] };
  dataset: { name: string; source: string; train: number; validation: number; test: number; classes: number };
  stepsPerEpoch: number;
  epochs: number;
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
}

export type TrainerEvent = RunStartEvent | PhaseEvent | StepEvent | EpochEvent | LogEvent | RunEndEvent;

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
      };
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
      throw new ValidationError(`line ${i + 1}`, `not JSON: ${(error as Error).message}`);
    }
    try {
      events.push(parseTrainerEvent(json));
    } catch (error) {
      throw new ValidationError(`line ${i + 1}`, (error as Error).message);
    }
  });
  return { events, tornLastLine };
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

