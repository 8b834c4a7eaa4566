// The table `get` prints for any kind, from the CRD's printer columns (the same columns kubectl shows).
import type { Resource, ResourceDefinition } from '../../crds/definition.js';
import { table, age } from './format.js';

/** The JSONPath subset printer columns use: .a.b, .a[*].b */
export function jsonPath(obj: unknown, path: string): unknown[] {
  let cur: unknown[] = [obj];
  for (const part of path.replace(/^\./, '').split('.')) {
    const m = /^([^[]+)(\[\*\])?$/.exec(part);
    if (!m) return [];
    const next: unknown[] = [];
    for (const c of cur) {
      const v = c && typeof c === 'object' ? (c as Record<string, unknown>)[m[1] ?? ''] : undefined;
      if (v === undefined) continue;
      if (m[2] && Array.isArray(v)) next.push(...v); else next.push(v);
    }
    cur = next;
  }
  return cur;
}

export function genericTable(def: ResourceDefinition, items: Resource[], now = new Date()): string {
  const cols = def.printerColumns;
  const rows = items.map((r) => [r.metadata.name, ...cols.map((c) => {
    const values = jsonPath(r, c.jsonPath);
    if (c.type === 'date') return values.length ? age(String(values[0]), now) : '';
    return values.map((v) => String(v)).join(',');
  })]);
  return table(['NAME', ...cols.map((c) => c.name.toUpperCase())], rows);
}
