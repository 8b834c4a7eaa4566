// ImageCatalog and ClusterImageCatalog ⇄ imageCatalog machine (one machine, two kinds: same spec, different scope).
// Pure: the machine has no effects, so the implementations are empty. Clusters using a catalog read it from the
// store themselves and roll on an edit (ADR 0026); this controller only reports whether the entries are usable.
import { imageCatalogMachine, type ImageCatalogMachine } from '../../machines/imagecatalog/imagecatalog.machine.js';
import type { ImageCatalogEvent, ImageCatalogSpec } from '../../machines/imagecatalog/imagecatalog.types.js';
import { selectImageCatalogStatus, selectImageCatalogPhase } from '../../machines/imagecatalog/imagecatalog.selectors.js';
import { mergeConditions, type Condition } from '../status/conditions.js';
import type { KindBinding } from '../binding.js';

function catalogBinding(kind: 'ImageCatalog' | 'ClusterImageCatalog'): KindBinding<ImageCatalogMachine> {
  return {
    kind,
    machineId: 'imageCatalog',
    machine: imageCatalogMachine,
    input: (r) => ({ kind, namespace: r.metadata.namespace ?? '', name: r.metadata.name, spec: r.spec as ImageCatalogSpec, generation: r.metadata.generation ?? 1 }),
    eventsFor(r, snapshot) {
      const events: ImageCatalogEvent[] = [];
      if (snapshot.status !== 'active') return events;
      if (r.metadata.deletionTimestamp) return [{ type: 'catalog.deleted' }];
      const generation = r.metadata.generation ?? 1;
      if (generation !== snapshot.context.generation) events.push({ type: 'spec.changed', spec: r.spec as ImageCatalogSpec, generation });
      return events;
    },
    status(snapshot, previous, now) {
      const s = selectImageCatalogStatus(snapshot);
      // The whole status is replaced, so `images` goes when the catalog turns Invalid: no refused entries advertised.
      return { ...s, conditions: mergeConditions(previous.conditions as Condition[] | undefined, s.conditions, now, s.observedGeneration) };
    },
    generationOf: (snapshot) => snapshot.context.generation,
    notices(before, after) {
      const [from, to] = [before ? selectImageCatalogPhase(before) : undefined, selectImageCatalogPhase(after)];
      if (from === to || to === 'Checking' || to === 'Deleting') return [];
      return [{ type: to === 'Ready' ? 'Normal' as const : 'Warning' as const, reason: to === 'Ready' ? 'ImagesValid' : 'InvalidImages', message: selectImageCatalogStatus(after).message }];
    },
  };
}

export const imageCatalogBinding = catalogBinding('ImageCatalog');
export const clusterImageCatalogBinding = catalogBinding('ClusterImageCatalog');
