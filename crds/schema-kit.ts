// Small helpers over TypeBox so every CRD is written the same way: strict objects (unknown fields are refused
// locally and pruned/refused by the apiserver), CEL rules carried as schema options, Kubernetes quantities.
import { Type, type TSchema, type TProperties, type ObjectOptions, type SchemaOptions } from '@sinclair/typebox';

export interface CelRule {
  rule: string;
  message: string;
  /** CEL producing the message, so it can name the offending value (Kubernetes `messageExpression`). */
  messageExpression?: string;
  /** Dotted path, relative to the node, reported with the error (Kubernetes `fieldPath`). */
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
}

export const CEL = 'x-kubernetes-validations';
/** A human hint for pattern errors; local only, stripped from the generated CRD. */
export const HINT = 'x-pgop-hint';

export function Strict<T extends TProperties>(properties: T, options: ObjectOptions & { rules?: CelRule[] } = {}) {
  const { rules, ...rest } = options;
  return Type.Object(properties, { ...rest, additionalProperties: false, ...(rules ? { [CEL]: rules } : {}) });
}

export function StringMap(options: SchemaOptions & { rules?: CelRule[] } = {}) {
  const { rules, ...rest } = options;
  return Type.Record(Type.String(), Type.String({ maxLength: 4096 }), { ...rest, ...(rules ? { [CEL]: rules } : {}) });
}

/** A Kubernetes resource quantity such as 1Gi or 500M; the pattern is the apiserver's own. */
export const Quantity = (options: SchemaOptions = {}) =>
  Type.String({
    pattern: '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$',
    [HINT]: 'must be a Kubernetes quantity such as 1Gi, 500Mi or 10G',
    ...options,
  });

/** A Kubernetes object name (DNS-1123 label), as the objects it refers to are named. */
export const Name = (options: SchemaOptions = {}) =>
  Type.String({
    minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
    [HINT]: 'must be an object name: lower-case letters, digits and -, starting and ending with a letter or digit (e.g. s3-credentials)',
    ...options,
  });

/** Immutable once set: a transition rule, checked by the apiserver on update and by local admission. */
export const immutable = (what: string): CelRule => ({ rule: 'self == oldSelf', message: `${what} is immutable` });

/** Standard metav1.Condition shape. */
export const Condition = Type.Object({
  type: Type.String(),
  status: Type.Union([Type.Literal('True'), Type.Literal('False'), Type.Literal('Unknown')]),
  reason: Type.String(),
  message: Type.String(),
  lastTransitionTime: Type.String({ format: 'date-time' }),
  observedGeneration: Type.Optional(Type.Integer()),
});

export const Conditions = Type.Array(Condition, {
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
});

/** Opaque JSON kept verbatim (persisted machine snapshots). */
export const Opaque = (options: SchemaOptions = {}) =>
  Type.Unknown({ 'x-kubernetes-preserve-unknown-fields': true, ...options });

export type { TSchema };
