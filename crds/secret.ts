// Local admission for core v1 Secrets, so `pgop local apply` takes the same Secret manifests as kubectl: type,
// data (base64) and stringData (merged into data, then dropped), with the apiserver's own checks for keys, sizes
// and the kubernetes.io/basic-auth shape. Values never appear in an error message.
import { AdmissionError, type FieldError } from './admission.js';
import type { ObjectMeta } from './definition.js';

export const BASIC_AUTH = 'kubernetes.io/basic-auth';

export interface SecretObject {
  apiVersion: 'v1';
  kind: 'Secret';
  metadata: ObjectMeta;
  type: string;
  /** base64 values, as Kubernetes stores them. */
  data: Record<string, string>;
  immutable?: boolean;
}

const NAME_RE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const KEY_RE = /^[-._a-zA-Z0-9]+$/;
const BASE64_RE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const MAX_BYTES = 1024 * 1024;
const TYPE_RE = /^[A-Za-z0-9][-A-Za-z0-9_./]*$/;

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

export const isSecretManifest = (v: unknown): boolean => isObject(v) && v.kind === 'Secret' && v.apiVersion === 'v1';

export function admitSecret(input: unknown, old?: SecretObject): SecretObject {
  const obj = isObject(input) ? input : {};
  const meta = isObject(obj.metadata) ? obj.metadata : undefined;
  const label = `Secret "${meta && typeof meta.name === 'string' ? meta.name : ''}"`;
  const errors: FieldError[] = [];
  if (!meta) errors.push({ field: 'metadata', message: 'is required (at least metadata.name)' });
  else {
    if (typeof meta.name !== 'string' || !NAME_RE.test(meta.name) || meta.name.length > 253) {
      errors.push({ field: 'metadata.name', message: `must be a DNS subdomain: lower-case letters, digits, '-' and '.' (got ${JSON.stringify(meta.name)})` });
    }
    if (meta.namespace !== undefined && (typeof meta.namespace !== 'string' || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(meta.namespace))) {
      errors.push({ field: 'metadata.namespace', message: `must be a DNS label (got ${JSON.stringify(meta.namespace)})` });
    }
  }
  for (const k of Object.keys(obj)) {
    if (!['apiVersion', 'kind', 'metadata', 'type', 'data', 'stringData', 'immutable'].includes(k)) errors.push({ field: k, message: `unknown field "${k}"; a Secret has type, data, stringData and immutable` });
  }
  const type = obj.type === undefined ? 'Opaque' : obj.type;
  if (typeof type !== 'string' || !TYPE_RE.test(type) || type.length > 253) errors.push({ field: 'type', message: 'must be a Secret type such as Opaque or kubernetes.io/basic-auth' });
  const data: Record<string, string> = {};
  const readMap = (field: 'data' | 'stringData') => {
    const m = obj[field];
    if (m === undefined || m === null) return;
    if (!isObject(m)) { errors.push({ field, message: 'must be a mapping of key to value' }); return; }
    for (const [k, v] of Object.entries(m)) {
      if (!KEY_RE.test(k) || k.length > 253) { errors.push({ field: `${field}.${k}`, message: "keys may only hold letters, digits, '-', '_' and '.'" }); continue; }
      if (typeof v !== 'string') { errors.push({ field: `${field}.${k}`, message: 'must be a string' }); continue; }
      if (field === 'data') {
        if (!BASE64_RE.test(v)) { errors.push({ field: `data.${k}`, message: 'must be base64 (use stringData for plain text)' }); continue; }
        data[k] = v;
      } else {
        data[k] = Buffer.from(v, 'utf8').toString('base64');
      }
    }
  };
  readMap('data');
  readMap('stringData');
  const size = Object.entries(data).reduce((n, [k, v]) => n + k.length + Buffer.from(v, 'base64').length, 0);
  if (size > MAX_BYTES) errors.push({ field: 'data', message: 'must not exceed 1 MiB in total' });
  if (type === BASIC_AUTH && data.username === undefined && data.password === undefined) {
    errors.push({ field: 'data', message: `a ${BASIC_AUTH} Secret needs a "username" or "password" key (usually both)` });
  }
  if (obj.immutable !== undefined && typeof obj.immutable !== 'boolean') errors.push({ field: 'immutable', message: 'must be true or false' });
  if (old) {
    if (old.type !== type) errors.push({ field: 'type', message: `is immutable (was ${old.type}); delete the Secret and create it again` });
    if (old.immutable && JSON.stringify(old.data) !== JSON.stringify(data)) errors.push({ field: 'data', message: 'field is immutable when `immutable` is set' });
  }
  if (errors.length) throw new AdmissionError(label, errors);
  const m = meta as Json;
  return {
    apiVersion: 'v1', kind: 'Secret',
    metadata: {
      name: m.name as string, namespace: (m.namespace as string | undefined) ?? 'default',
      ...(isObject(m.labels) ? { labels: m.labels as Record<string, string> } : {}),
      ...(isObject(m.annotations) ? { annotations: m.annotations as Record<string, string> } : {}),
    },
    type: type as string, data,
    ...(obj.immutable !== undefined ? { immutable: obj.immutable as boolean } : {}),
  };
}

/** A decoded value, or undefined. */
export const secretValue = (s: Pick<SecretObject, 'data'>, key: string): string | undefined =>
  s.data[key] === undefined ? undefined : Buffer.from(s.data[key], 'base64').toString('utf8');
