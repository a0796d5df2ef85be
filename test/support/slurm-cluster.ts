// The real Slurm cluster the Slurm tests submit to: the one scripts/slurm/up.sh started (its
// slurm.conf named by SLURM_CONF, else .slurm/slurm.conf in this repository). Where none answers
// the tests are skipped with how to start one; with WAS_LAB_REQUIRE_SLURM=1 (set by .ci/run)
// they fail instead, so CI never passes by skipping.

import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

export interface SlurmCluster {
  /** The environment the Slurm tools need: this process's with SLURM_CONF set. */
  env: NodeJS.ProcessEnv;
  conf: string;
}

const ROOT = path.resolve(__dirname, '../..');
const HOW = 'start one with `scripts/slurm/up.sh` (as root, or with sudo; see docs/slurm.md) and run the tests again';

/** The cluster, or why there is none. */
function probe(): SlurmCluster | string {
  const conf = process.env.SLURM_CONF ?? path.join(ROOT, '.slurm', 'slurm.conf');
  if (!fs.existsSync(conf)) {
    const where = process.env.SLURM_CONF === undefined ? `no SLURM_CONF and no ${path.relative(ROOT, conf)}` : `SLURM_CONF=${conf} is not a file`;
    return `no Slurm cluster is up (${where}): ${HOW}`;
  }
  const env = { ...process.env, SLURM_CONF: conf };
  const ping = spawnSync('scontrol', ['ping'], { env, encoding: 'utf8', timeout: 10_000 });
  if (ping.error) return `scontrol could not run (${ping.error.message}): install slurm-client and ${HOW}`;
  if (!/is UP/.test(ping.stdout)) return `the Slurm controller of ${conf} does not answer (${(ping.stdout + ping.stderr).trim().split('\n')[0]}): ${HOW}`;
  return { env, conf };
}

const found = probe();
const required = process.env.WAS_LAB_REQUIRE_SLURM === '1';

/**
 * For `test(name, { skip: slurmSkip }, ...)`: false when a cluster answers (or when one is
 * required, so that the test runs and fails on `slurmCluster()`), else the reason to skip.
 */
export const slurmSkip: string | false = typeof found === 'string' && !required ? found : false;

/** The cluster; throws where none answers (only reached when WAS_LAB_REQUIRE_SLURM=1). */
export function slurmCluster(): SlurmCluster {
  if (typeof found === 'string') throw new Error(`WAS_LAB_REQUIRE_SLURM=1 but ${found}`);
  return found;
}
