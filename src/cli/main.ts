#!/usr/bin/env node
// `snapmix`: one yargs entry, one file per command; commands parse and print, the work is in src/*.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import type { Argv, CommandModule } from 'yargs';
import { UserError, envError } from '../util/errors.js';
import { checkOptions } from '../util/schemas.js';
import * as synth from './synth.js';
import * as train from './train.js';
import * as evalCmd from './eval.js';
import * as demo from './demo.js';
import * as cams from './cams.js';
import * as generate from './generate.js';
import * as inspect from './inspect.js';
import * as preview from './preview.js';
import * as verify from './verify.js';
import * as mergeCmd from './merge.js';
import * as reproduceCmd from './reproduce.js';
import * as exportCmd from './export.js';
import * as summarizeCmd from './summarize.js';

function fail(e: unknown): never {
  const err = envError(e); // disk full, read-only, permissions …: a named path and a remedy, not a stack
  // yargs reports config-file and parse problems as YError: user errors too.
  if (err instanceof UserError || (err instanceof Error && err.name === 'YError')) {
    console.error(`snapmix: error: ${err.message}`);
    process.exit(2);
  }
  console.error(err instanceof Error ? err.stack ?? err.message : String(err));
  process.exit(1);
}

/**
 * Every string or number option must be followed by a value (`--seed --out X` is an error, not the
 * default seed), and a number option must parse as a finite number (`--seed abc` is an error, not NaN).
 */
function strictValues<T>(y: Argv<T>, command: string): Argv<T> {
  const o = (y as unknown as { getOptions(): { number: string[]; string: string[]; array: string[] } }).getOptions();
  const arrays = new Set(o.array);
  y.requiresArg([...o.number, ...o.string].filter((k) => !arrays.has(k)));
  return y.check((argv) => {
    // An empty value (`--out ""`, `--init ""`, `--manifest-sha256 ""`) would read as "not given" or as the
    // current directory: a check turned into a no-op. Refuse it, for options and positionals alike.
    for (const [k, v] of Object.entries(argv)) {
      if (k === '_' || k === '$0' || k.includes('-')) continue;
      for (const x of Array.isArray(v) ? v : [v]) {
        if (typeof x === 'string' && x.trim() === '') throw new UserError(`--${k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is empty; give it a value or leave it out`);
      }
    }
    for (const k of o.number) {
      const v = argv[k];
      for (const x of Array.isArray(v) ? v : v === undefined ? [] : [v]) {
        if (typeof x !== 'number' || !Number.isFinite(x)) throw new UserError(`--${k} must be a number, got ${String(x)}`);
      }
    }
    // Ranges come from one place, schemas/options.schema.json (generate's: its config schema).
    const numbers = Object.fromEntries(o.number.filter((k) => !/[A-Z]/.test(k) && argv[k] !== undefined).map((k) => [k, argv[k]]));
    const problems = checkOptions(command, numbers);
    if (problems.length) throw new UserError(problems.join('; '));
    return true;
  });
}

type Mod = { command: string; describe: string; builder: (y: Argv) => Argv<any>; handler: (a: any) => Promise<void> };
const cmd = (m: Mod): CommandModule => ({ ...m, builder: (y: Argv) => strictValues(m.builder(y), m.command.split(' ')[0]) });

async function main(): Promise<void> {
  await yargs(hideBin(process.argv))
    .scriptName('snapmix')
    .usage('$0 <command> [options]\n\nOffline SnapMix augmentation: teacher CAMs → semantically proportional labels → Arrow shards.')
    .command(cmd(synth))
    .command(cmd(train))
    .command(cmd(evalCmd))
    .command(cmd(cams))
    .command(cmd(generate))
    .command(cmd(inspect))
    .command(cmd(preview))
    .command(cmd(verify))
    .command(cmd(mergeCmd))
    .command(cmd(reproduceCmd))
    .command(cmd(exportCmd))
    .command(cmd(summarizeCmd))
    .command(cmd(demo))
    .demandCommand(1, 'name a command; see --help')
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .fail((msg, err) => {
      if (err) fail(err);
      console.error(`snapmix: error: ${msg}\nRun with --help for usage.`);
      process.exit(2);
    })
    .parseAsync();
}

main().catch(fail);
