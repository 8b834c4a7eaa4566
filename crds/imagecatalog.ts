// ImageCatalog (namespaced) and ClusterImageCatalog (cluster-wide): which image serves each PostgreSQL major;
// changing an entry rolls the clusters using it (replicas first, the primary last through a switchover).
import { Type, type Static } from '@sinclair/typebox';
import { Strict } from './schema-kit.js';
import { CommonStatus } from './common.js';
import type { ResourceDefinition, Resource } from './definition.js';

export const ImageCatalogSpec = Strict({
  images: Type.Array(Strict({
    major: Type.Integer({ minimum: 15, maximum: 18 }),
    image: Type.String({ minLength: 1, maxLength: 512, description: 'Container image with PostgreSQL, pgBackRest and pgop; pin a digest for reproducible rollouts' }),
  }), { minItems: 1, maxItems: 8, 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['major'] }),
}, {
  rules: [{ rule: 'self.images.all(a, self.images.exists_one(b, b.major == a.major))', message: 'lists a PostgreSQL major twice; keep one image per major', fieldPath: '.images' }],
});

export const ImageCatalogStatus = Type.Object({ ...CommonStatus });
export type ImageCatalog = Resource<Static<typeof ImageCatalogSpec>, Static<typeof ImageCatalogStatus>>;

const columns = [
  { name: 'Majors', type: 'string' as const, jsonPath: '.spec.images[*].major' },
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
