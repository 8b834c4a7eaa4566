// Local admission: what the apiserver does for a CRD (schema check, defaults, CEL rules, transition rules),
// done before anything is written to the local store, so the local platform refuses the same objects with the
// same messages as a real cluster.
import { Value } from '@sinclair/typebox/value';
import { ValueErrorType, type ValueError } from '@sinclair/typebox/errors';
import { type TSchema, FormatRegistry } from '@sinclair/typebox';
import { parse as celParse, Environment } from '@marcbachmann/cel-js';
import { parseQuantity } from './quantity.js';
import { API_VERSION, type Resource, type ResourceDefinition } from './definition.js';
import { CEL, HINT, type CelRule } from './schema-kit.js';
import { definitions, definitionFor } from './registry.js';

// The formats the schemas use, checked the way the apiserver checks them.
if (!FormatRegistry.Has('date-time')) {
  FormatRegistry.Set('date-time', (v) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(v) && !Number.isNaN(Date.parse(v)));
}

export interface FieldError { field: string; message: string }

export class AdmissionError extends Error {
  constructor(readonly object: string, readonly causes: FieldError[]) {
    super(`${object} is invalid:\n${causes.map((c) => `  - ${c.field}: ${c.message}`).join('\n')}`);
    this.name = 'AdmissionError';
  }
}

const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validate and default one object; throws AdmissionError naming every bad field. */
export function admit(input: unknown, old?: Resource): Resource {
  if (!isObject(input)) throw new AdmissionError('object', [{ field: '(root)', message: 'must be a mapping with apiVersion, kind, metadata and spec' }]);
  const kind = typeof input.kind === 'string' ? input.kind : '';
  const def = definitionFor(kind);
  const label = `${kind || 'object'} "${isObject(input.metadata) ? String(input.metadata.name ?? '') : ''}"`;
  const head: FieldError[] = [];
  if (!def) head.push({ field: 'kind', message: `unknown kind "${kind}"; expected one of: ${definitions.map((d) => d.kind).join(', ')}` });
  if (input.apiVersion !== API_VERSION) head.push({ field: 'apiVersion', message: `must be "${API_VERSION}" (got ${JSON.stringify(input.apiVersion)})` });
  const meta = isObject(input.metadata) ? input.metadata : undefined;
  if (!meta) head.push({ field: 'metadata', message: 'is required (at least metadata.name)' });
  else head.push(...metadataErrors(meta));
  for (const k of Object.keys(input)) {
    if (!['apiVersion', 'kind', 'metadata', 'spec', 'status'].includes(k)) head.push({ field: k, message: `unknown field "${k}"; did you mean to put it under spec?` });
  }
  if (!def || head.length) throw new AdmissionError(label, head);

  const spec = input.spec === undefined ? {} : input.spec;
  const defaulted = Value.Default(def.spec, structuredClone(spec)) as unknown;
  const errors = schemaErrors(def.spec, defaulted, 'spec');
  const resource: Resource = {
    apiVersion: API_VERSION,
    kind: def.kind,
    metadata: keptMetadata(meta as Json, def.scope),
    spec: defaulted,
  };
  if (!errors.length) errors.push(...celErrors(def, resource, old), ...(def.localChecks?.(resource.spec) ?? []));
  if (errors.length) throw new AdmissionError(label, errors.filter((e, i) => errors.findIndex((o) => o.field === e.field && o.message === e.message) === i));
  return resource;
}

// --- metadata ----------------------------------------------------------------------------------------------------
// A manifest may set name, namespace, labels and annotations. Fields the server sets (uid, resourceVersion...)
// are dropped, as the apiserver ignores them on create; fields that would change how an object is deleted or
// who owns it are refused, because the local store would otherwise take them as written.

const KEPT_METADATA = ['name', 'namespace', 'labels', 'annotations'];
const DROPPED_METADATA = ['uid', 'resourceVersion', 'generation', 'creationTimestamp', 'managedFields', 'selfLink'];
const REFUSED_METADATA: Record<string, string> = {
  finalizers: 'is set by the operator, not by a manifest; remove it (a copy of `get -o yaml` output must drop it)',
  deletionTimestamp: 'is set by the server when an object is deleted; remove it and use `pgop local delete`',
  deletionGracePeriodSeconds: 'is set by the server when an object is deleted; remove it',
  ownerReferences: 'is set by the operator, not by a manifest; remove it',
  generateName: 'is not supported; set metadata.name',
};
const LABEL_KEY_RE = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE_RE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
/** The apiserver's limit on the total size of annotations. */
const ANNOTATIONS_MAX_BYTES = 256 * 1024;

function metadataErrors(meta: Json): FieldError[] {
  const out: FieldError[] = [];
  if (typeof meta.name !== 'string' || !NAME_RE.test(meta.name) || meta.name.length > 63) {
    out.push({ field: 'metadata.name', message: `must be a DNS label: lower-case letters, digits and '-', starting and ending alphanumeric (got ${JSON.stringify(meta.name)})` });
  }
  if (meta.namespace !== undefined && (typeof meta.namespace !== 'string' || !NAME_RE.test(meta.namespace) || meta.namespace.length > 63)) {
    out.push({ field: 'metadata.namespace', message: `must be a DNS label (got ${JSON.stringify(meta.namespace)})` });
  }
  for (const [k, v] of Object.entries(meta)) {
    const empty = v === undefined || v === null || (Array.isArray(v) && v.length === 0);
    if (REFUSED_METADATA[k] && !empty) out.push({ field: `metadata.${k}`, message: REFUSED_METADATA[k] });
    else if (!KEPT_METADATA.includes(k) && !DROPPED_METADATA.includes(k) && !REFUSED_METADATA[k]) out.push({ field: `metadata.${k}`, message: `unknown field "${k}"; allowed here: ${KEPT_METADATA.join(', ')}` });
  }
  for (const which of ['labels', 'annotations'] as const) {
    const m = meta[which];
    if (m === undefined || m === null) continue;
    if (!isObject(m) || Object.values(m).some((v) => typeof v !== 'string')) {
      out.push({ field: `metadata.${which}`, message: 'must be a mapping of string keys to string values (quote numbers and booleans)' });
      continue;
    }
    for (const [k, v] of Object.entries(m as Record<string, string>)) {
      if (!LABEL_KEY_RE.test(k) || k.length > 317) out.push({ field: `metadata.${which}`, message: `key ${JSON.stringify(k)} is not a valid key: [prefix/]name, name up to 63 characters of letters, digits, -, _ and .` });
      else if (which === 'labels' && !LABEL_VALUE_RE.test(v)) out.push({ field: `metadata.labels.${k}`, message: `must be at most 63 characters of letters, digits, -, _ and ., starting and ending alphanumeric (got ${JSON.stringify(v)})` });
    }
    if (which === 'annotations' && Buffer.byteLength(JSON.stringify(m)) > ANNOTATIONS_MAX_BYTES) {
      out.push({ field: 'metadata.annotations', message: `must total at most ${ANNOTATIONS_MAX_BYTES} bytes` });
    }
  }
  return out;
}

function keptMetadata(meta: Json, scope: ResourceDefinition['scope']): Resource['metadata'] {
  const out: Resource['metadata'] = { name: meta.name as string };
  if (scope === 'Namespaced') out.namespace = (meta.namespace as string | undefined) ?? 'default';
  if (isObject(meta.labels)) out.labels = { ...(meta.labels as Record<string, string>) };
  if (isObject(meta.annotations)) out.annotations = { ...(meta.annotations as Record<string, string>) };
  return out;
}

function schemaErrors(schema: TSchema, value: unknown, root: string): FieldError[] {
  const out: FieldError[] = [];
  const seen = new Set<string>();
  for (const e of Value.Errors(schema, value)) {
    const err = describe(e, root);
    const key = `${err.field}`;
    if (seen.has(key)) continue; // a union failing reports every branch; the first message is enough
    seen.add(key);
    out.push(err);
  }
  return out;
}

const fieldOf = (root: string, path: string) =>
  [root, ...path.split('/').filter(Boolean).map((p) => (/^\d+$/.test(p) ? `[${p}]` : p))].join('.').replace(/\.\[/g, '[');

function describe(e: ValueError, root: string): FieldError {
  const field = fieldOf(root, e.path);
  const got = e.value === undefined ? '' : ` (got ${JSON.stringify(e.value)})`;
  const s = e.schema as Json;
  switch (e.type) {
    case ValueErrorType.ObjectAdditionalProperties: {
      const allowed = Object.keys((e.schema as Json).properties as Json ?? {}).join(', ');
      const name = field.split('.').pop();
      return { field, message: `unknown field "${name}"; allowed here: ${allowed}` };
    }
    case ValueErrorType.ObjectRequiredProperty: return { field, message: 'is required' };
    case ValueErrorType.Integer: return { field, message: `must be an integer${got}` };
    case ValueErrorType.Number: return { field, message: `must be a number${got}` };
    case ValueErrorType.String: return { field, message: `must be a string${got}` };
    case ValueErrorType.Boolean: return { field, message: `must be true or false${got}` };
    case ValueErrorType.Object: return { field, message: `must be a mapping${got}` };
    case ValueErrorType.Array: return { field, message: `must be a list${got}` };
    case ValueErrorType.NumberMinimum:
    case ValueErrorType.IntegerMinimum: return { field, message: `must be at least ${s.minimum}${got}` };
    case ValueErrorType.NumberMaximum:
    case ValueErrorType.IntegerMaximum: return { field, message: `must be at most ${s.maximum}${got}` };
    case ValueErrorType.StringMinLength: return { field, message: `must not be shorter than ${s.minLength} characters${got}` };
    case ValueErrorType.StringMaxLength: return { field, message: `must not be longer than ${s.maxLength} characters${got}` };
    case ValueErrorType.StringPattern: return { field, message: `${typeof s[HINT] === 'string' ? s[HINT] : `must match ${s.pattern}`}${got}` };
    case ValueErrorType.Union: {
      const options = ((s.anyOf as Json[] | undefined) ?? []).map((o) => o.const).filter((c) => c !== undefined);
      return { field, message: options.length ? `must be one of: ${options.join(', ')}${got}` : `${e.message}${got}` };
    }
    case ValueErrorType.StringFormat: return { field, message: `must be a ${s.format === 'date-time' ? 'timestamp in RFC 3339 form, e.g. 2026-11-21T08:00:00Z' : String(s.format)}${got}` };
    case ValueErrorType.ObjectMaxProperties: return { field, message: `must have at most ${s.maxProperties} entries` };
    case ValueErrorType.ArrayMaxItems: return { field, message: `must have at most ${s.maxItems} items` };
    default: return { field, message: `${e.message}${got}` };
  }
}

// --- CEL -------------------------------------------------------------------------------------------------------

/** The apiserver's CEL quantity library (k8s ≥ 1.29), as far as the CRDs use it: `quantity(s).compareTo(q)`. */
class CelQuantity { constructor(readonly value: number) {} }
const quantityEnv = new Environment({ unlistedVariablesAreDyn: true })
  .registerType('Quantity', CelQuantity)
  .registerFunction('quantity(string): Quantity', (s: string) => new CelQuantity(parseQuantity(s)))
  .registerFunction('Quantity.compareTo(Quantity): int', (a: CelQuantity, b: CelQuantity) => BigInt(Math.sign(a.value - b.value)));

const compiled = new Map<string, ReturnType<typeof celParse>>();
function evaluate(rule: string, vars: Json): unknown {
  if (rule.includes('quantity(')) return quantityEnv.evaluate(rule, vars);
  let fn = compiled.get(rule);
  if (!fn) { fn = celParse(rule); compiled.set(rule, fn); }
  return fn(vars);
}

/** CEL has distinct int and double types; the apiserver hands schema integers to CEL as int. */
function toCel(value: unknown, schema: Json | undefined): unknown {
  if (value === null || value === undefined) return value;
  if (schema?.type === 'integer' && typeof value === 'number') return BigInt(value);
  if (Array.isArray(value)) return value.map((v) => toCel(v, schema?.items as Json | undefined));
  if (isObject(value)) {
    const props = (schema?.properties ?? {}) as Json;
    const pattern = schema?.patternProperties ? Object.values(schema.patternProperties as Json)[0] as Json : undefined;
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toCel(v, (props[k] as Json | undefined) ?? pattern)]));
  }
  return value;
}

function messageOf(r: CelRule, value: unknown, schema: Json): string {
  if (!r.messageExpression) return r.message;
  try {
    const m = evaluate(r.messageExpression, { self: toCel(value, schema) });
    return typeof m === 'string' ? m : r.message;
  } catch {
    return r.message;
  }
}

function celErrors(def: ResourceDefinition, obj: Resource, old?: Resource): FieldError[] {
  const out: FieldError[] = [];
  const walk = (schema: Json, value: unknown, oldValue: unknown, path: string) => {
    if (value === undefined) return;
    for (const r of (schema[CEL] as CelRule[] | undefined) ?? []) {
      const transition = /\boldSelf\b/.test(r.rule);
      if (transition && oldValue === undefined) continue;
      let ok: unknown;
      try {
        ok = evaluate(r.rule, { self: toCel(value, schema), ...(transition ? { oldSelf: toCel(oldValue, schema) } : {}) });
      } catch (e) {
        ok = false;
        out.push({ field: path, message: `${r.message} (rule failed to evaluate: ${(e as Error).message})` });
        continue;
      }
      if (ok !== true) out.push({ field: r.fieldPath ? `${path}${r.fieldPath}` : path, message: messageOf(r, value, schema) });
    }
    if (isObject(value) && schema.properties) {
      for (const [k, ps] of Object.entries(schema.properties as Json)) {
        walk(ps as Json, value[k], isObject(oldValue) ? oldValue[k] : undefined, `${path}.${k}`);
      }
    }
    if (Array.isArray(value) && schema.items) value.forEach((v, i) => walk(schema.items as Json, v, undefined, `${path}[${i}]`));
  };
  walk(def.spec as unknown as Json, obj.spec, old?.spec, 'spec');
  for (const r of def.objectRules ?? []) {
    if (evaluate(r.rule, { self: obj }) !== true) out.push({ field: r.fieldPath ? r.fieldPath.slice(1) : r.message.startsWith('metadata.') ? 'metadata.name' : '(object)', message: r.message });
  }
  return out;
}
