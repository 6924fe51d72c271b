// Which part of a split run this process is: the flag, or the array-job engine's own variable.
import { UserError } from './errors.js';

/** --shard-index from the flag, else from the array-job engine's variable (Kubernetes, Slurm, AWS Batch). */
const ARRAY_VARS = ['JOB_COMPLETION_INDEX', 'SLURM_ARRAY_TASK_ID', 'AWS_BATCH_JOB_ARRAY_INDEX'];

/** The array-job variable set in this environment (this process is one task of an array), if any. */
export function arrayTaskVariable(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return ARRAY_VARS.find((v) => env[v] !== undefined && env[v] !== '');
}

export function shardIndexFrom(flag: number | undefined, env: NodeJS.ProcessEnv = process.env): { index: number; from: string } | undefined {
  if (flag !== undefined) return { index: flag, from: '--shard-index' };
  for (const v of ARRAY_VARS) {
    const raw = env[v];
    if (raw !== undefined && raw !== '') {
      if (!/^\d+$/.test(raw)) throw new UserError(`${v}=${raw} is not a shard index (a non-negative integer)`);
      return { index: Number(raw), from: v };
    }
  }
  return undefined;
}
