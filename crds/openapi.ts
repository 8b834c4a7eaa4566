// TypeBox emits JSON Schema; the apiserver wants a structural OpenAPI v3 schema. The differences are small and
// mechanical: no additionalProperties:false, maps as additionalProperties, no $id/patternProperties, optional
// enums written as enum instead of anyOf-of-consts.
import type { TSchema } from '@sinclair/typebox';

type Json = Record<string, unknown>;

export function toStructural(schema: TSchema | Json): Json {
  const s = schema as Json;
  const out: Json = {};

  if (Array.isArray(s.anyOf) && s.anyOf.every((v) => typeof v === 'object' && v !== null && 'const' in v)) {
    const values = (s.anyOf as Json[]).map((v) => v.const);
    out.type = typeof values[0] === 'number' ? 'integer' : typeof values[0];
    out.enum = values;
  }
  for (const [k, v] of Object.entries(s)) {
    if (k === 'anyOf' && out.enum) continue;
    if (k === '$id' || k.startsWith('x-pgop-') || k === 'additionalProperties' && v === false) continue;
    if (k === 'properties') {
      out.properties = Object.fromEntries(Object.entries(v as Json).map(([p, ps]) => [p, toStructural(ps as Json)]));
    } else if (k === 'patternProperties') {
      const [valueSchema] = Object.values(v as Json);
      out.additionalProperties = toStructural(valueSchema as Json);
    } else if (k === 'items') {
      out.items = toStructural(v as Json);
    } else if (k === 'additionalProperties' && typeof v === 'object') {
      out.additionalProperties = toStructural(v as Json);
    } else if (k === 'format' && v === 'date-time') {
      out.format = v;
    } else {
      out[k] = v;
    }
  }
  if (out['x-kubernetes-preserve-unknown-fields'] === true && !out.type) out.type = 'object';
  // A field with a default is filled in by the apiserver before validation, so it is not required of users
  // (and the apiserver refuses an object default that lacks "required" fields).
  if (Array.isArray(out.required) && out.properties) {
    const props = out.properties as Record<string, Json>;
    const required = (out.required as string[]).filter((k) => props[k]?.default === undefined);
    if (required.length) out.required = required; else delete out.required;
  }
  return out;
}
