import type { TSchema } from '@sinclair/typebox';

export const GROUP = 'postgres.keiailab.io';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

/** Everything needed to generate a CRD and to admit an object locally. */
export interface ResourceDefinition {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  scope: 'Namespaced' | 'Cluster';
  categories: string[];
  spec: TSchema;
  status: TSchema;
  /** CEL rules evaluated against the whole object, for rules that need metadata. */
  objectRules?: { rule: string; message: string; fieldPath?: string }[];
  printerColumns: PrinterColumn[];
  /**
   * Checks stricter than CEL can afford within the apiserver's cost budget (a real parser), run by local
   * admission after the CEL rules pass and again where the value is used. Each names its field.
   */
  localChecks?: (spec: unknown) => { field: string; message: string }[];
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
}

/** Set by the operator only (manifests may not carry it): who owns, and garbage-collects, an object. */
export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface Resource<Spec = unknown, Status = unknown> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec: Spec;
  status?: Status;
}

export const keyOf = (r: { kind: string; metadata: { namespace?: string; name: string } }) =>
  `${r.kind}/${r.metadata.namespace ?? ''}/${r.metadata.name}`;
