// ImageCatalog / ClusterImageCatalog: checks the entries (pure) and publishes major → image in status. Clusters
// read the catalog from the store themselves (adapters/images/resolve-image.ts); this machine has no effects. An
// invalid spec keeps the last valid images in context, but status says Invalid with the field and the fix until a
// new spec is valid.
import { setup, assign } from 'xstate';
import type { ImageCatalogContext, ImageCatalogEvent, ImageCatalogInput } from './imagecatalog.types.js';
import { catalogProblems, imagesByMajor } from './imagecatalog.logic.js';

export const imageCatalogMachine = setup({
  types: { context: {} as ImageCatalogContext, events: {} as ImageCatalogEvent, input: {} as ImageCatalogInput },
  actions: {
    storeSpec: assign(({ event }) => (event.type === 'spec.changed' ? { spec: event.spec, generation: event.generation } : {})),
    storeProblems: assign(({ context }) => ({ problems: catalogProblems(context.spec) })),
    accept: assign(({ context }) => ({ problems: [], images: imagesByMajor(context.spec) })),
  },
  guards: {
    entriesValid: ({ context }) => catalogProblems(context.spec).length === 0,
  },
}).createMachine({
  id: 'imageCatalog',
  context: ({ input }) => ({ ...input, problems: [], images: {} }),
  initial: 'validating',
  on: {
    'spec.changed': { target: '.validating', actions: 'storeSpec' },
    'catalog.deleted': { target: '.deleted' },
  },
  states: {
    validating: {
      always: [{ guard: 'entriesValid', target: 'ready', actions: 'accept' }, { target: 'invalid', actions: 'storeProblems' }],
    },
    ready: {},
    invalid: {
      description: 'An entry names an unsupported major, a major twice, or a malformed image: only a new spec helps.',
    },
    deleted: { type: 'final' },
  },
});

export type ImageCatalogMachine = typeof imageCatalogMachine;
