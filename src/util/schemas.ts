// JSON Schemas in schemas/ (the contracts), compiled once with ajv. Messages name the key and the
// allowed values so a bad flag or config entry tells the user what to write instead.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type { Ajv as AjvType, ErrorObject, ValidateFunction } from 'ajv';

const schemaDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'schemas');
// Loaded on the first check, not at import: `snapmix --help` imports this file through the CLI.
let ajvInstance: AjvType | undefined;
const ajv = () => (ajvInstance ??= new (createRequire(import.meta.url)('ajv') as { Ajv: typeof AjvType }).Ajv({ allErrors: true, strict: false, verbose: true }));
const cache = new Map<string, ValidateFunction>();

export type SchemaName = 'config' | 'manifest' | 'shard' | 'teacher';

export function schemaPath(name: SchemaName): string {
  return path.join(schemaDir, `${name}.schema.json`);
}

export function validator(name: SchemaName): ValidateFunction {
  let v = cache.get(name);
  if (!v) {
    v = ajv().compile(JSON.parse(readFileSync(schemaPath(name), 'utf8')));
    cache.set(name, v);
  }
  return v;
}

function describe(e: ErrorObject, prefix: string): string {
  const key = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const p = e.params as Record<string, unknown>;
  const where = key ? `${prefix}${key}` : 'the document';
  switch (e.keyword) {
    case 'additionalProperties': return `unknown key '${p.additionalProperty}'`;
    case 'enum': return `${where} must be one of ${(p.allowedValues as unknown[]).join(', ')}`;
    case 'minimum': case 'maximum': case 'exclusiveMinimum': case 'exclusiveMaximum': {
      const s = (e.parentSchema ?? {}) as { minimum?: number; exclusiveMinimum?: number; maximum?: number };
      const lo = s.minimum !== undefined ? `[${s.minimum}` : s.exclusiveMinimum !== undefined ? `(${s.exclusiveMinimum}` : '(-inf';
      const hi = s.maximum !== undefined ? `${s.maximum}]` : 'inf)';
      return `${where} must be in ${lo}, ${hi}, got ${JSON.stringify(e.data)}`;
    }
    default: return `${where} ${e.message}, got ${JSON.stringify(e.data)}`;
  }
}

/** Validate, throwing a message per problem; `prefix` is '--' for flags, '' for files. */
export function check(name: SchemaName, value: unknown, prefix = '', where = ''): string[] {
  const v = validator(name);
  if (v(value)) return [];
  return (v.errors ?? []).map((e) => `${where}${describe(e, prefix)}`);
}
