// `node --import ./test/helpers/trace-imports.mjs …`: append every module URL the program resolves to
// the file named by $TRACE_IMPORTS (what a command loads, e.g. that --help loads no tfjs).
import { register } from 'node:module';
register('./trace-hooks.mjs', import.meta.url);
