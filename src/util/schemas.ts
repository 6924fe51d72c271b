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
const cache = new Map<string, ValidateFunction>();

export type SchemaName = 'config' | 'manifest' | 'shard' | 'teacher' | 'options';
const NAMES: SchemaName[] = ['config', 'manifest', 'shard', 'teacher', 'options'];
const ids = new Map<SchemaName, string>();

/** One ajv holding every schema, so they can $ref each other (config's shared option ranges live in options). */
function ajv(): AjvType {
  if (ajvInstance) return ajvInstance;
  const a = new (createRequire(import.meta.url)('ajv') as { Ajv: typeof AjvType }).Ajv({ allErrors: true, strict: false, verbose: true });
  for (const name of NAMES) {
    const schema = JSON.parse(readFileSync(schemaPath(name), 'utf8')) as { $id: string };
    a.addSchema(schema);
    ids.set(name, schema.$id);
  }
  return (ajvInstance = a);
}

function schemaPath(name: SchemaName): string {
  return path.join(schemaDir, `${name}.schema.json`);
}

function validator(name: SchemaName): ValidateFunction {
  let v = cache.get(name);
  if (!v) {
    const a = ajv();
    v = a.getSchema(ids.get(name)!)!;
    cache.set(name, v);
  }
  return v;
}

/**
 * A command's number options against its entry in schemas/options.schema.json (the one place their ranges
 * are written); keys are the long flag names. A command without an entry has no number options.
 */
export function checkOptions(command: string, values: Record<string, unknown>): string[] {
  const key = `options:${command}`;
  let v = cache.get(key);
  if (!v) {
    const a = ajv();
    const props = (a.getSchema(ids.get('options')!)!.schema as { properties: Record<string, unknown> }).properties;
    if (!props[command]) return [];
    v = a.compile({ $ref: `${ids.get('options')}#/properties/${command}` });
    cache.set(key, v);
  }
  if (v(values)) return [];
  return (v.errors ?? []).map((e) => describe(e, '--'));
}

function describe(e: ErrorObject, prefix: string): string {
  const key = e.instancePath.replace(/^\//, '').replace(/\//g, '.');
  const p = e.params as Record<string, unknown>;
  const where = key ? `${prefix}${key}` : 'the document';
  switch (e.keyword) {
    case 'additionalProperties': return `unknown key '${p.additionalProperty}'`;
    case 'type': return `${where} must be ${p.type === 'integer' ? 'an integer' : `a ${String(p.type)}`}, got ${JSON.stringify(e.data)}`;
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
