// Terminal output: a live progress bar with ETA on a TTY, plain lines otherwise, or raw JSON events.

import { encodeEvent, type TrainerEvent } from '../../shared/protocol';
import type { OutputStyle } from '../args';
import { duration, percent } from '../../shared/format';
import { NO_PROGRESS, advanceProgress, etaSeconds, progressOf } from '../../shared/progress';
import { formatEvent } from './format';

export function terminalSink(style: OutputStyle, stream: NodeJS.WriteStream): (event: TrainerEvent) => void {
  if (style === 'json') return (event) => stream.write(encodeEvent(event) + '\n');
  if (style === 'plain' || !stream.isTTY) {
    return (event) => {
      const line = formatEvent(event);
      if (line !== null) stream.write(line + '\n');
    };
  }
  return progressBar(stream);
}

function progressBar(stream: NodeJS.WriteStream): (event: TrainerEvent) => void {
  let progress = NO_PROGRESS;
  let barShown = false;
  const println = (line: string): void => {
    if (barShown) stream.write('\r\x1b[2K');
    barShown = false;
    stream.write(line + '\n');
  };
  return (event) => {
    progress = advanceProgress(progress, event);
    switch (event.type) {
      case 'run-start':
        println(formatEvent(event)!);
        return;
      case 'step': {
        const where = progressOf(progress, true);
        if (!where) return;
        const eta = etaSeconds(where, progress.session, event.time);
        const width = 24;
        const filled = Math.round(width * (event.stepInEpoch / event.stepsPerEpoch));
        const bar = '#'.repeat(filled) + '.'.repeat(width - filled);
        const line =
          `epoch ${event.epoch}/${where.epochs} [${bar}] ${event.stepInEpoch}/${event.stepsPerEpoch} ` +
          `loss ${event.loss.toFixed(4)} acc ${percent(event.accuracy)} ${Math.round(event.samplesPerSec)}/s ETA ${duration(eta)}`;
        stream.write('\r\x1b[2K' + line.slice(0, (stream.columns ?? 120) - 1));
        barShown = true;
        return;
      }
      case 'phase':
        if (event.phase === 'evaluating' || event.phase === 'testing') {
          stream.write('\r\x1b[2K' + (event.phase === 'testing' ? 'testing the selected epoch...' : `epoch ${event.epoch}: evaluating AOM and DOM...`));
          barShown = true;
        }
        return;
      default: {
        const line = formatEvent(event);
        if (line !== null) println(line);
      }
    }
  };
}
