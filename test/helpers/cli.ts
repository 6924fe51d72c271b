// Run the real CLI (TypeScript source through tsx) as a user would.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/**
 * The CLI as built by `npm test` (its tsc step writes dist/ first: SNAPMIX_CLI=dist), else the TypeScript
 * source through tsx, so a single test file run by hand never uses a stale build. dist starts ~2× faster.
 */
export const entry = () => (process.env.SNAPMIX_CLI === 'dist' ? [path.join(root, 'dist', 'cli', 'main.js')] : ['--import', 'tsx', path.join(root, 'src', 'cli', 'main.ts')]);

export function cli(args: string[], opts: { timeoutMs?: number; env?: Record<string, string>; nodeArgs?: string[] } = {}): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [...(opts.nodeArgs ?? []), ...entry(), ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? 300_000,
    env: { ...process.env, FORCE_COLOR: '0', ...opts.env },
  });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}
