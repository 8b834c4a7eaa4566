// ImageCatalog (namespaced) and ClusterImageCatalog (cluster-wide): which image serves each PostgreSQL major;
// changing an entry rolls the clusters using it (replicas first, the primary last through a switchover).
import { Type, type Static } from '@sinclair/typebox';
import { Strict, HINT } from './schema-kit.js';
import { CommonStatus } from './common.js';
import type { ResourceDefinition, Resource } from './definition.js';

// The same syntax the controller checks again (machines/imagecatalog/imagecatalog.logic.ts IMAGE_REFERENCE): an
// OCI reference registry/repository[:tag][@sha256:digest], or on the local platform an absolute bin directory path.
export const IMAGE_REFERENCE_PATTERN = '^(/[^\\x00-\\x1f\\x7f]*|[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+(([._]|__|-+)[a-z0-9]+)*)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[a-f0-9]{64})?)$';

export const ImageCatalogSpec = Strict({
  images: Type.Array(Strict({
    major: Type.Integer({ minimum: 15, maximum: 18 }),
    image: Type.String({
      minLength: 1, maxLength: 512, pattern: IMAGE_REFERENCE_PATTERN,
      [HINT]: 'must be an image reference registry/repository[:tag][@sha256:digest] (e.g. ghcr.io/keiailab/pgop-postgres:17), or on the local platform an absolute path to a PostgreSQL bin directory',
      description: 'Container image with PostgreSQL, pgBackRest and pgop; pin a digest for reproducible rollouts. On the local platform an absolute path names a PostgreSQL bin directory',
    }),
  }), { minItems: 1, maxItems: 8, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['major'] }),
}, {
  rules: [{ rule: 'self.images.all(a, self.images.exists_one(b, b.major == a.major))', message: 'lists a PostgreSQL major twice; keep one image per major', fieldPath: '.images' }],
});

export const ImageCatalogStatus = Type.Object({
  ...CommonStatus,
  images: Type.Optional(Type.Record(Type.String(), Type.String(), { description: 'PostgreSQL major → image, as the controller accepted them (present while Ready)' })),
});
export type ImageCatalog = Resource<Static<typeof ImageCatalogSpec>, Static<typeof ImageCatalogStatus>>;

const columns = [
  { name: 'Majors', type: 'string' as const, jsonPath: '.spec.images[*].major' },
  { name: 'Phase', type: 'string' as const, jsonPath: '.status.phase' },
  { name: 'Age', type: 'date' as const, jsonPath: '.metadata.creationTimestamp' },
];

export const imageCatalogDefinition: ResourceDefinition = {
  kind: 'ImageCatalog', plural: 'imagecatalogs', singular: 'imagecatalog', shortNames: ['pgic'], scope: 'Namespaced', categories: ['pgop'],
  spec: ImageCatalogSpec, status: ImageCatalogStatus, printerColumns: columns,
};

export const clusterImageCatalogDefinition: ResourceDefinition = {
  kind: 'ClusterImageCatalog', plural: 'clusterimagecatalogs', singular: 'clusterimagecatalog', shortNames: ['pgcic'], scope: 'Cluster', categories: ['pgop'],
  spec: ImageCatalogSpec, status: ImageCatalogStatus, printerColumns: columns,
};
