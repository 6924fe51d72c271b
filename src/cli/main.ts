#!/usr/bin/env node
// `snapmix`: one yargs entry, one file per command; commands parse and print, the work is in src/*.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { UserError } from '../util/errors.js';
import * as synth from './synth.js';
import * as train from './train.js';
import * as evalCmd from './eval.js';
import * as demo from './demo.js';
import * as cams from './cams.js';
import * as generate from './generate.js';
import * as inspect from './inspect.js';
import * as preview from './preview.js';
import * as verify from './verify.js';

function fail(err: unknown): never {
  // yargs reports config-file and parse problems as YError: user errors too.
  if (err instanceof UserError || (err instanceof Error && err.name === 'YError')) {
    console.error(`snapmix: error: ${err.message}`);
    process.exit(2);
  }
  console.error(err instanceof Error ? err.stack ?? err.message : String(err));
  process.exit(1);
}

async function main(): Promise<void> {
  await yargs(hideBin(process.argv))
    .scriptName('snapmix')
    .usage('$0 <command> [options]\n\nOffline SnapMix augmentation: teacher CAMs → semantically proportional labels → Arrow shards.')
    .command(synth)
    .command(train)
    .command(evalCmd)
    .command(cams)
    .command(generate)
    .command(inspect)
    .command(preview)
    .command(verify)
    .command(demo)
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
