// How a study should use this machine's cores: the same runs through the study's own local
// executor (real trainer processes, dist/trainer.js), once as P single-thread processes at a time
// and once as one P-thread process, P = the logical cores; runs per hour each way.
//
//   node scripts/build.mjs && node --import tsx bench/study-parallel.ts [--runs 4] [--train-limit 2000]
//
// Measured on 2 cores (AMD EPYC) shared with other work (load average about 10 during the runs,
// so absolute numbers are low and noisy; the ratio held in both rounds), lenet on MNIST, 2000
// training images, 1 epoch, 4 runs each way, two rounds:
//   2 processes x 1 thread:  26.8 s, 537 runs/hour  |  26.8 s, 538 runs/hour
//   1 process  x 2 threads:  38.1 s, 378 runs/hour  |  34.4 s, 418 runs/hour
//   processes / threads:     1.42x                  |  1.29x
// so 'auto' (study/local-executor.ts) runs one single-thread trainer per core.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { resolveConfig } from '../src/shared/config';
import { LocalExecutor, logicalCores } from '../src/trainer/study/local-executor';
import type { StudyJob } from '../src/trainer/study/executor';

const { values } = parseArgs({ options: { runs: { type: 'string', default: '4' }, 'train-limit': { type: 'string', default: '2000' } } });
const runs = Number(values.runs);
const trainLimit = Number(values['train-limit']);
const cores = logicalCores();

async function measure(label: string, processes: number, threads: number): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'was-study-parallel-'));
  try {
    const jobs: StudyJob[] = Array.from({ length: runs }, (_, i) => {
      const name = `r${i + 1}`;
      const config = resolveConfig([
        {
          patch: {
            model: 'lenet',
            data: { name: 'mnist', trainLimit, validationSize: 500, testLimit: 2000 },
            epochs: 1,
            seed: i + 1,
            backend: 'wasm',
            runsDir: dir,
            runName: name,
            checkpointMinutes: 0,
          },
          where: 'bench',
        },
      ]);
      const configFile = path.join(dir, `${name}.was.json`);
      fs.writeFileSync(configFile, JSON.stringify(config));
      return { name, runDir: path.join(dir, name), configFile, resume: false };
    });
    const failed: string[] = [];
    const start = performance.now();
    await new LocalExecutor({ processes, threads, why: 'bench' }).run(jobs, {
      onUpdate: (u) => void (u.state === 'failed' ? failed.push(`${u.name}: ${u.reason}`) : undefined),
    });
    const sec = (performance.now() - start) / 1000;
    if (failed.length > 0) throw new Error(`runs failed: ${failed.join('; ')}`);
    const perHour = (runs * 3600) / sec;
    console.log(`${label}: ${runs} runs in ${sec.toFixed(1)} s, ${Math.round(perHour)} runs/hour`);
    return perHour;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  console.log(`${cores} logical cores (${os.cpus()[0]?.model.trim()}); lenet on MNIST, ${trainLimit} training images, 1 epoch, wasm`);
  const many = await measure(`${cores} processes x 1 thread`, cores, 1);
  const one = await measure(`1 process  x ${cores} threads`, 1, cores);
  console.log(`parallel processes / one threaded process: ${(many / one).toFixed(2)}x runs per hour`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
