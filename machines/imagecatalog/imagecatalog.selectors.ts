// Snapshot → ImageCatalog / ClusterImageCatalog status. Pure.
import type { SnapshotFrom } from 'xstate';
import type { ImageCatalogMachine } from './imagecatalog.machine.js';
import { condition, type ConditionIntent } from '../shared/conditions.js';

export type ImageCatalogSnapshot = SnapshotFrom<ImageCatalogMachine>;

export interface ImageCatalogStatusIntent {
  phase: 'Ready' | 'Invalid' | 'Deleting' | 'Checking';
  message: string;
  /** major → image, present while Ready. */
  images?: Record<string, string>;
  conditions: ConditionIntent[];
  observedGeneration: number;
}

export function selectImageCatalogPhase(s: ImageCatalogSnapshot): ImageCatalogStatusIntent['phase'] {
  if (s.matches('ready')) return 'Ready';
  if (s.matches('invalid')) return 'Invalid';
  if (s.matches('deleted')) return 'Deleting';
  return 'Checking';
}

export function selectImageCatalogStatus(s: ImageCatalogSnapshot): ImageCatalogStatusIntent {
  const ctx = s.context;
  const phase = selectImageCatalogPhase(s);
  if (phase === 'Ready') {
    const majors = Object.keys(ctx.images);
    const message = `images for PostgreSQL ${majors.join(', ')}`;
    return { phase, message, images: ctx.images, observedGeneration: ctx.generation, conditions: [condition('Ready', true, 'ImagesValid', message)] };
  }
  const message = phase === 'Invalid'
    ? ctx.problems.map((p) => `${p.field}: ${p.message}`).join('; ')
    : phase === 'Deleting' ? 'being deleted' : 'checking the entries';
  return { phase, message, observedGeneration: ctx.generation, conditions: [condition('Ready', false, phase === 'Invalid' ? 'InvalidImages' : phase, message)] };
}
