// The CPUs this process may use: os.availableParallelism() follows the affinity mask a scheduler sets
// (Slurm's cgroup cpuset, a container's --cpuset-cpus); SLURM_CPUS_PER_TASK caps it where a job got fewer.
import os from 'node:os';

export function availableCpus(env: NodeJS.ProcessEnv = process.env): number {
  const slurm = Number(env.SLURM_CPUS_PER_TASK);
  const n = os.availableParallelism();
  return Number.isInteger(slurm) && slurm > 0 ? Math.min(n, slurm) : n;
}

/** Default worker threads of a pool: one per CPU the job got, at most 16. */
export const defaultWorkers = (env: NodeJS.ProcessEnv = process.env): number => Math.min(16, availableCpus(env));
