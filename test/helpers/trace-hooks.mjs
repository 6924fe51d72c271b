// Module resolve hook for trace-imports.mjs (runs on the loader thread).
import { appendFileSync } from 'node:fs';

export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (process.env.TRACE_IMPORTS) appendFileSync(process.env.TRACE_IMPORTS, `${r.url}\n`);
  return r;
}
