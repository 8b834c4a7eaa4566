// Which image a PostgresCluster runs (ADR 0026): spec.imageName, or the entry for its major in the ImageCatalog /
// ClusterImageCatalog it names. Read from the store each time, so an edited catalog is seen by every cluster using it.
import type { PostgresClusterSpec } from '../../crds/postgrescluster.js';
import type { ImageCatalog } from '../../crds/imagecatalog.js';
import type { ResourceReader } from '../../actors/ports/resource-store.js';

export interface ImageChoice {
  /** null: no image named; the platform runs its default for the cluster's major. */
  image: string | null;
  /** Where it came from, for status and logs. */
  source: string;
}

/** A catalog or entry that is not there: the cluster keeps what it runs and says why. */
export class ImageNotFound extends Error {}

export async function resolveClusterImage(spec: PostgresClusterSpec, namespace: string, store: ResourceReader): Promise<ImageChoice> {
  const ref = spec.imageCatalogRef;
  if (ref) {
    const major = spec.postgresVersion;
    if (major === undefined) throw new ImageNotFound(`imageCatalogRef ${ref.kind}/${ref.name} needs spec.postgresVersion to pick an entry`);
    const catalogs = (await store.list(ref.kind)) as ImageCatalog[];
    const catalog = catalogs.find((c) => c.metadata.name === ref.name && (ref.kind === 'ClusterImageCatalog' || (c.metadata.namespace ?? 'default') === namespace));
    if (!catalog) throw new ImageNotFound(`${ref.kind} ${ref.name} not found${ref.kind === 'ImageCatalog' ? ` in namespace ${namespace}` : ''}`);
    // Checked again where used: the catalog may come from an older admission.
    const entries = Array.isArray(catalog.spec?.images) ? catalog.spec.images : [];
    const entry = entries.find((e) => e.major === major);
    if (!entry || typeof entry.image !== 'string' || !entry.image) throw new ImageNotFound(`${ref.kind} ${ref.name} has no image for PostgreSQL ${major}`);
    return { image: entry.image, source: `${ref.kind}/${ref.name} major ${major}` };
  }
  if (spec.imageName) return { image: spec.imageName, source: 'spec.imageName' };
  return { image: null, source: `installed PostgreSQL ${spec.postgresVersion ?? '(newest)'}` };
}
