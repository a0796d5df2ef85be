// The one event stream of a training run. The trainer writes these events to metrics.jsonl and,
// when forked, sends them to its parent over IPC; the extension and the webview read them back.
// Every reader parses `unknown` through parseTrainerEvent: nothing is trusted by shape alone.

import * as v from 'valibot';
import { DOM_SEARCH_ALGORITHMS, recordedConfig, type BackendName, type TrainConfig } from './config';
import { errorMessage } from './errors';
import { embedded, finiteNumber, flag, listOf, metric, objectOf, oneOf, orNull, parseTagged, plainObject, recordOf, tagged, taggedUnion, text } from './schema';
import { ValidationError, isObject } from './validate';

export const PROTOCOL_VERSION = 1;

export const INFERENCE_MODES = ['aom', 'dom'] as const;
export type InferenceMode = (typeof INFERENCE_MODES)[number];
export const RUN_STATUSES = ['completed', 'stopped', 'failed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
const PHASES = ['loading-data', 'building-model', 'training', 'calibrating', 'evaluating', 'testing', 'searching-dom'] as const;
export type Phase = (typeof PHASES)[number];
export const LOG_LEVELS = ['info', 'warn', 'error'] as const;
const CHOSEN_BACKENDS = ['tensorflow-gpu', 'webgpu', 'tensorflow-cpu', 'wasm', 'cpu'] as const satisfies readonly Exclude<BackendName, 'auto'>[];

// The declarations: each event is one valibot schema, its type is inferred from it, and
// parseTrainerEvent runs the union of them. Problems are named `<type>.<field>` ("step.loss").

const time = finiteNumber();
/** A count, an epoch or a step: an integer >= 0. */
const count = finiteNumber({ integer: true, min: 0 });
/** A fraction of the AOM FLOPs. */
const fraction = finiteNumber({ min: 0, max: 1 });
const split = oneOf(['validation', 'test']);

/** The GPU a webgpu run trains on, as its WebGPU adapter describes itself. */
const GpuAdapterSchema = objectOf({
  vendor: text(),
  architecture: text(),
  description: text(),
  /** A software adapter (Mesa's lavapipe, SwiftShader): WebGPU on the CPU. */
  software: flag(),
});
export type GpuAdapterInfo = v.InferOutput<typeof GpuAdapterSchema>;

const BackendInfoSchema = objectOf({
  name: oneOf(CHOSEN_BACKENDS),
  /** Why this backend: requested by name, or what `auto` skipped and why. */
  reason: text(),
  skipped: listOf(objectOf({ name: text(), reason: text() })),
  /** webgpu only. */
  adapter: v.optional(GpuAdapterSchema),
});
export type BackendInfo = v.InferOutput<typeof BackendInfoSchema>;

const RunStartEventSchema = tagged('run-start', {
  time,
  runId: text(),
  runDir: text(),
  /**
   * The config was checked field by field when it was resolved (config.ts); here it is read
   * leniently (recordedConfig: an option missing or damaged reads as its default), so a run folder
   * written by an older version still reads and a damaged one cannot break what shows it.
   */
  config: v.pipe(plainObject(), v.transform((config): TrainConfig => recordedConfig(config))),
  seed: count,
  backend: BackendInfoSchema,
  versions: recordOf(text()),
  /** flops: multiply-adds per image of the AOM network (src/trainer/nn/flops.ts says what is counted). */
  model: objectOf({ name: text(), parameters: count, shadowLayers: listOf(text()), flops: v.optional(count) }),
  dataset: objectOf({ name: text(), source: text(), train: count, validation: count, test: count, classes: count }),
  stepsPerEpoch: count,
  epochs: count,
  /**
   * Only on the run-start of a resumed session (`was-train resume`): the checkpoint it continues
   * from (epochs completed, global step; a checkpoint inside epoch + 1 has a step past that
   * epoch's end). Events of earlier sessions after it, and their run-end, are superseded: the
   * resumed session redoes them (see currentHistory).
   */
  resumedFrom: v.optional(objectOf({ epoch: count, step: count })),
});
export type RunStartEvent = v.InferOutput<typeof RunStartEventSchema>;

const PhaseEventSchema = tagged('phase', { time, phase: oneOf(PHASES), epoch: orNull(count) });
export type PhaseEvent = v.InferOutput<typeof PhaseEventSchema>;

const StepEventSchema = tagged('step', {
  time,
  epoch: count,
  /** Global step, 1-based. */
  step: count,
  stepInEpoch: count,
  stepsPerEpoch: count,
  /** Mean train loss and accuracy over the steps since the previous step event. */
  loss: metric(),
  accuracy: metric(),
  lr: metric(),
  samplesPerSec: metric(),
});
export type StepEvent = v.InferOutput<typeof StepEventSchema>;

const EpochEventSchema = tagged('epoch', {
  time,
  epoch: count,
  trainLoss: metric(),
  trainAccuracy: metric(),
  /** Accuracy in each inference mode on the selection split ('validation' or, in the reference preset, 'test'). */
  aomAccuracy: metric(),
  domAccuracy: metric(),
  /** Mean cross-entropy in each mode on the selection split; absent in runs written before it was measured. */
  aomLoss: v.optional(metric()),
  domLoss: v.optional(metric()),
  selectionSplit: split,
  lr: metric(),
  samplesPerSec: metric(),
  durationSec: metric(),
  alphas: recordOf(metric()),
  /** This epoch is the best so far by AOM accuracy on the selection split. */
  best: flag(),
  numTensors: count,
});
export type EpochEvent = v.InferOutput<typeof EpochEventSchema>;

/** One k x k kernel plane, row-major (k*k numbers). */
const KernelPlaneSchema = listOf(finiteNumber());

/** How one shadow sample was drawn: the shift in taps, or the crop window resized back to k x k. */
const KernelTransformSchema = v.variant(
  'kind',
  [
    v.object({ kind: v.literal('shift'), dy: finiteNumber({ integer: true }), dx: finiteNumber({ integer: true }) }),
    v.object({ kind: v.literal('crop'), top: count, left: count, height: count, width: count }),
  ],
  (issue) => `expected kind shift or crop, got ${JSON.stringify(issue.input)}`,
);
export type KernelTransformDetail = v.InferOutput<typeof KernelTransformSchema>;

/** One (input, output) channel of a transformed layer: the AOM kernel and shadow kernels beside it. */
const KernelChannelSchema = objectOf({
  in: count,
  out: count,
  /** alpha * W on this plane: the kernel AOM applies. */
  plain: KernelPlaneSchema,
  /** alpha * T(W) for transforms T drawn from the layer's own distribution (training's family and parameters). */
  shadows: listOf(objectOf({ transform: KernelTransformSchema, kernel: KernelPlaneSchema })),
});

const KernelLayerSchema = v.pipe(
  objectOf({ layer: text(), k: finiteNumber({ integer: true, min: 2 }), alpha: metric(), channels: listOf(KernelChannelSchema) }),
  v.check(
    (l) => l.channels.every((c) => c.plain.length === l.k * l.k && c.shadows.every((s) => s.kernel.length === l.k * l.k)),
    (issue) => `a kernel plane of layer ${issue.input.layer} does not hold k*k = ${issue.input.k * issue.input.k} numbers`,
  ),
);
export type KernelLayer = v.InferOutput<typeof KernelLayerSchema>;

/**
 * After an epoch's evaluation (every epoch of a short run, about 20 spread over a long one): per
 * transformed layer, a few k x k planes of its current kernel and shadow kernels drawn from its
 * transform distribution (a separate seeded stream: training's draws are untouched). Small by
 * design: at most 3 channels per layer and 24 planes per event, 4 samples each, never whole tensors.
 */
const WasKernelsEventSchema = tagged('was-kernels', {
  time,
  epoch: count,
  family: oneOf(['shift', 'crop', 'mixed']),
  layers: listOf(KernelLayerSchema),
});
export type WasKernelsEvent = v.InferOutput<typeof WasKernelsEventSchema>;

/** classes x classes counts: row = true class, column = predicted class. */
const ConfusionMatrixSchema = listOf(listOf(count));

/**
 * At the test phase, with the selected epoch's weights: the confusion matrix of each mode on the
 * test split (the same pass that measures run-end's test accuracy). dom is null for a plain model.
 */
const TestConfusionEventSchema = v.pipe(
  tagged('test-confusion', { time, epoch: count, classes: finiteNumber({ integer: true, min: 1 }), aom: ConfusionMatrixSchema, dom: orNull(ConfusionMatrixSchema) }),
  v.check(
    (e) => badConfusion(e) === null,
    (issue) => `test-confusion.${badConfusion(issue.input)} is not ${issue.input.classes} x ${issue.input.classes} (classes)`,
  ),
);
export type TestConfusionEvent = v.InferOutput<typeof TestConfusionEventSchema>;

function badConfusion(e: { classes: number; aom: number[][]; dom: number[][] | null }): 'aom' | 'dom' | null {
  const square = (m: number[][]) => m.length === e.classes && m.every((row) => row.length === e.classes);
  return !square(e.aom) ? 'aom' : e.dom !== null && !square(e.dom) ? 'dom' : null;
}

const LogEventSchema = tagged('log', { time, level: oneOf(LOG_LEVELS), message: text() });
export type LogEvent = v.InferOutput<typeof LogEventSchema>;

/** One transformed layer of a deterministic DOM. */
const DomLayerChoiceSchema = objectOf({
  layer: text(),
  /** The fixed shift; (0, 0) is the identity (the layer keeps its whole kernel). */
  dy: finiteNumber({ integer: true }),
  dx: finiteNumber({ integer: true }),
  /** Kernel taps the layer applies, e.g. [2, 3] for a 3x3 kernel shifted by one row. */
  kernel: v.pipe(
    listOf(finiteNumber({ integer: true, min: 1 })),
    v.check((k) => k.length === 2, (issue) => `expected [height, width], got ${issue.input.length} numbers`),
    v.transform((k): [number, number] => [k[0], k[1]]),
  ),
  /** Multiply-adds per image of this layer in AOM and in this DOM. */
  flops: objectOf({ aom: count, dom: count }),
});
export type DomLayerChoice = v.InferOutput<typeof DomLayerChoiceSchema>;

/**
 * The deterministic DOM for a FLOPs target: one fixed shift per transformed layer, searched on the
 * selection split (or by `was-train dom` on a checkpoint). FLOPs are multiply-adds per image.
 */
const DomSearchEventSchema = tagged('dom-search', {
  time,
  /** Which weights: the run's selected epoch ('best') or its last checkpoint. */
  checkpoint: oneOf(['best', 'last']),
  epoch: count,
  /** At most this fraction of the AOM FLOPs. */
  flopsTarget: fraction,
  algorithm: oneOf(DOM_SEARCH_ALGORITHMS),
  split,
  /** budget: floor(flopsTarget * aom); minimum: every transformed layer at its smallest shift. */
  flops: objectOf({ aom: count, dom: count, budget: count, minimum: count }),
  /** On `split`, BatchNorm recalibrated for each mode; stochasticDom: the reference's random DOM. */
  accuracy: objectOf({ aom: metric(), dom: metric(), stochasticDom: orNull(metric()) }),
  /** On the test set, once, for the chosen DOM; null when not measured. */
  test: orNull(objectOf({ aom: metric(), dom: metric() })),
  layers: listOf(DomLayerChoiceSchema),
  /**
   * The search's path from AOM (flops.aom, accuracy.aom): each step taken, the layer it shrank,
   * and the FLOPs and accuracy on `split` after it; the last step is the chosen DOM. Absent in
   * searches saved before it was recorded.
   */
  path: v.optional(listOf(objectOf({ layer: text(), dy: finiteNumber({ integer: true }), dx: finiteNumber({ integer: true }), flops: count, accuracy: metric() }))),
  /** Search cost: evaluations (each a BatchNorm recalibration and a pass over `split`) and time. */
  evaluations: count,
  durationSec: metric(),
});
export type DomSearchEvent = v.InferOutput<typeof DomSearchEventSchema>;

const FlopsSummarySchema = objectOf({
  /** Multiply-adds per image of the AOM network. */
  aom: count,
  /** The deterministic DOM chosen for a FLOPs target; null when none was searched. */
  dom: orNull(objectOf({ target: fraction, flops: count, accuracy: metric(), test: orNull(metric()), layers: listOf(DomLayerChoiceSchema) })),
});
export type FlopsSummary = v.InferOutput<typeof FlopsSummarySchema>;

const BaselineComparisonSchema = objectOf({
  /** The baseline's run folder (its own config.json, metrics.jsonl, summary.json). */
  runDir: text(),
  status: oneOf(RUN_STATUSES),
  /** The plain model's test accuracy at its own selected epoch; null if none was measured. */
  test: orNull(objectOf({ accuracy: metric(), epoch: count })),
  /** WAS test accuracy minus the baseline's, in percentage points; null without both numbers. */
  gain: orNull(objectOf({ aom: metric(), dom: metric() })),
});
export type BaselineComparison = v.InferOutput<typeof BaselineComparisonSchema>;

const RunEndEventSchema = tagged('run-end', {
  time,
  status: oneOf(RUN_STATUSES),
  /** Why the run failed or stopped; null when completed. */
  reason: orNull(text()),
  epochsCompleted: count,
  bestEpoch: orNull(count),
  bestAomAccuracy: orNull(metric()),
  /**
   * Test accuracy at the selected epoch, measured once at the end; null if none was measured. The
   * stochastic DOM's is the mean of domDraws: dom.testDraws evaluations, each with its own draws
   * (a run without shadow weights: [aom]; runs from before the draws were counted lack it).
   */
  test: orNull(objectOf({ aom: metric(), dom: metric(), domDraws: v.optional(listOf(metric())), epoch: count })),
  durationSec: metric(),
  samplesPerSec: metric(),
  /** Only with --baseline: the plain model trained beside this run, and the WAS gain over it. */
  baseline: v.optional(BaselineComparisonSchema),
  /** FLOPs of AOM, and of the deterministic DOM when a FLOPs target was searched. */
  flops: v.optional(FlopsSummarySchema),
  /** The backend this session trained on (a resumed run may have changed it; runs before 0.2 lack it). */
  backend: v.optional(BackendInfoSchema),
});
export type RunEndEvent = v.InferOutput<typeof RunEndEventSchema>;

/** Every event but the baseline envelope: what a run's own stream holds. */
const PLAIN_EVENTS = [
  RunStartEventSchema,
  PhaseEventSchema,
  StepEventSchema,
  EpochEventSchema,
  LogEventSchema,
  RunEndEventSchema,
  DomSearchEventSchema,
  WasKernelsEventSchema,
  TestConfusionEventSchema,
] as const;
const EVENT_TYPE = 'event type';

/**
 * With --baseline, the plain run trains after the WAS run, and each of its events reaches the
 * parent's stream (metrics.jsonl, IPC, terminal) inside this envelope, so that a UI can plot the
 * baseline beside AOM and DOM. The inner events are a whole run's stream (run-start .. run-end,
 * never another envelope); the WAS run's own run-end, with `baseline` filled in, comes after them.
 */
const BaselineEventSchema = tagged('baseline', {
  time,
  event: v.pipe(
    v.unknown(),
    v.check((e) => !(isObject(e) && e.type === 'baseline'), 'a baseline envelope inside another'),
    embedded(taggedUnion(PLAIN_EVENTS, EVENT_TYPE), 'event'),
  ),
});
/** The envelope's type names the whole union, as the trainer wraps any event it is handed. */
export type BaselineEvent = Omit<v.InferOutput<typeof BaselineEventSchema>, 'event'> & { event: TrainerEvent };

const EventUnion = taggedUnion([...PLAIN_EVENTS, BaselineEventSchema], EVENT_TYPE);
export type TrainerEvent = Exclude<v.InferOutput<typeof EventUnion>, { type: 'baseline' }> | BaselineEvent;
/** Every event of the stream, one declaration: the type, parseTrainerEvent and a JSON schema come from it. */
export const TrainerEventSchema: v.GenericSchema<unknown, TrainerEvent> = EventUnion;

/** Messages a parent sends to a forked trainer. */
const TrainerCommandSchema = taggedUnion([tagged('stop', {})]);
export type TrainerCommand = v.InferOutput<typeof TrainerCommandSchema>;

/**
 * The largest event a reader takes, in characters of its JSON text (for the ASCII JSON the trainer
 * writes, bytes): a metrics.jsonl line, an IPC message, a line of trainer output. A real event is
 * under 10 KB (a DOM search with its per-layer table), or a few tens of KB (was-kernels of a deep
 * network, the test confusion matrices of CIFAR-100's 100 classes); anything bigger is damage or a hostile
 * file, dropped and logged with its size, so no reader holds an unbounded line.
 */
export const MAX_EVENT_SIZE = 1024 * 1024;

/** JSON has no NaN or Infinity: encode them so a diverged loss survives the trip. */
export function encodeEvent(event: TrainerEvent): string {
  return JSON.stringify(event, (_key, value: unknown) =>
    typeof value === 'number' && !Number.isFinite(value) ? (Number.isNaN(value) ? null : String(value)) : value,
  );
}

export function parseTrainerCommand(value: unknown): TrainerCommand {
  return parseTagged(TrainerCommandSchema, value, 'command');
}

export function parseTrainerEvent(value: unknown): TrainerEvent {
  return parseTagged(TrainerEventSchema, value, 'event');
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

/**
 * The run's history as its latest session sees it. A resumed session (run-start with
 * resumedFrom) redoes everything after its checkpoint, so the earlier sessions' steps after its
 * step, epoch and phase events for later epochs, and their run-end are dropped (a checkpoint
 * inside an epoch keeps that epoch's steps before it); a fresh run-start drops all before it. Baseline envelopes are resolved the same way among themselves. Logs are kept.
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
          : out.filter(({ event: o }) => o.type !== 'run-end' && o.type !== 'test-confusion' && !(o.type === 'step' ? o.step > from.step : (o.type === 'epoch' || o.type === 'phase' || o.type === 'was-kernels') && o.epoch !== null && o.epoch > from.epoch));
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
