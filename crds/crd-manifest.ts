import { Type } from '@sinclair/typebox';
import { GROUP, VERSION, type ResourceDefinition } from './definition.js';
import { toStructural } from './openapi.js';

/** The CustomResourceDefinition object for one kind. */
export function crdManifest(def: ResourceDefinition): Record<string, unknown> {
  const root = toStructural(Type.Object({
    apiVersion: Type.Optional(Type.String()),
    kind: Type.Optional(Type.String()),
    metadata: Type.Optional(Type.Object({})),
    spec: def.spec,
    status: Type.Optional(def.status),
  }, def.objectRules?.length ? { 'x-kubernetes-validations': def.objectRules } : {}));
  root.required = ['spec'];
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${def.plural}.${GROUP}`, labels: { 'app.kubernetes.io/part-of': 'pgop' } },
    spec: {
      group: GROUP,
      scope: def.scope,
      names: {
        kind: def.kind,
        listKind: `${def.kind}List`,
        plural: def.plural,
        singular: def.singular,
        shortNames: def.shortNames,
        categories: def.categories,
      },
      versions: [{
        name: VERSION,
        served: true,
        storage: true,
        subresources: { status: {} },
        additionalPrinterColumns: def.printerColumns,
        schema: { openAPIV3Schema: root },
      }],
    },
  };
}
