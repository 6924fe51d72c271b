// What differs between two recorded requests, named field by field (a refused resume or merge says why).
import { isDeepStrictEqual } from 'node:util';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** The recorded fields that differ between two requests, as `key: old → new` (nested keys dotted). */
export function requestDifferences(was: Json, now: Json, prefix = ''): string[] {
  if (isDeepStrictEqual(was, now)) return [];
  const isObj = (v: Json): v is { [k: string]: Json } => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObj(was) && isObj(now)) {
    const keys = [...new Set([...Object.keys(was), ...Object.keys(now)])].sort();
    return keys.flatMap((k) => requestDifferences(was[k] ?? null, now[k] ?? null, prefix ? `${prefix}.${k}` : k));
  }
  const show = (v: Json) => {
    const s = JSON.stringify(v);
    return s.length > 40 ? `${s.slice(0, 37)}…` : s;
  };
  return [`${prefix || 'request'}: ${show(was)} → ${show(now)}`];
}
