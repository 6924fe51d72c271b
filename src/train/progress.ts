// Progress for long loops: a cli-progress bar on a TTY, plain periodic log lines otherwise (CI, files).
import { createRequire } from 'node:module';
import type * as CliProgress from 'cli-progress';

export interface Progress {
  update(done: number, fields?: Record<string, string>): void;
  stop(): void;
}

export function createProgress(label: string, total: number, opts: { quiet?: boolean; stream?: NodeJS.WriteStream } = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  if (opts.quiet) return { update() {}, stop() {} };
  if (stream.isTTY) {
    const cliProgress = createRequire(import.meta.url)('cli-progress') as typeof CliProgress; // only where a bar is drawn
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {value}/{total} {info} eta {eta_formatted}`, stream, hideCursor: true, etaBuffer: 50 },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { info: '' });
    return {
      update: (done, fields) => bar.update(done, { info: fields ? Object.entries(fields).map(([k, v]) => `${k} ${v}`).join(' ') : '' }),
      stop: () => bar.stop(),
    };
  }
  const start = Date.now();
  let last = 0;
  return {
    update(done, fields) {
      const now = Date.now();
      if (done < total && now - last < 10000) return;
      last = now;
      const el = (now - start) / 1000;
      const eta = done > 0 ? (el * (total - done)) / done : 0;
      const info = fields ? ' ' + Object.entries(fields).map(([k, v]) => `${k} ${v}`).join(' ') : '';
      stream.write(`${label} ${done}/${total}${info} elapsed ${el.toFixed(0)}s eta ${eta.toFixed(0)}s\n`);
    },
    stop() {},
  };
}

/** An accuracy (a fraction) as printed everywhere: percent with two decimals. JSON files keep fractions. */
export const pct = (x: number): string => `${(100 * x).toFixed(2)}%`;
