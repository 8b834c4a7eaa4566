import type { Static } from '@sinclair/typebox';
import type { ImageCatalogSpec as ImageCatalogSpecSchema } from '../../crds/imagecatalog.js';

export type ImageCatalogSpec = Static<typeof ImageCatalogSpecSchema>;

/** ImageCatalog (namespace set) or ClusterImageCatalog (namespace ''). */
export interface ImageCatalogInput { kind: 'ImageCatalog' | 'ClusterImageCatalog'; namespace: string; name: string; spec: ImageCatalogSpec; generation: number }

/** The first thing wrong with the entries: which field, what is wrong and how to fix it. */
export interface CatalogProblem { field: string; message: string }

export interface ImageCatalogContext extends ImageCatalogInput {
  /** Problems of the current spec (empty when valid). */
  problems: CatalogProblem[];
  /** major → image of the last valid spec (what clusters resolve); empty before the first valid one. */
  images: Record<string, string>;
}

export type ImageCatalogEvent =
  | { type: 'spec.changed'; spec: ImageCatalogSpec; generation: number }
  | { type: 'catalog.deleted' };
