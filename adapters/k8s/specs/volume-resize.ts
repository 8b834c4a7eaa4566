// Pure decisions for growing a cluster's volumes: which PVCs to patch, and what status says about it.
import { compareQuantities } from '../../../crds/quantity.js';

export interface ObservedVolume {
  name: string;
  /** spec.resources.requests.storage */
  requested: string;
  /** status.capacity.storage, when bound */
  capacity?: string;
  bound: boolean;
  /** Conditions such as FileSystemResizePending / Resizing. */
  resizeConditions: string[];
}

export interface StorageStatus {
  size: string;
  volumes: number;
  resized: number;
  message?: string;
}

export interface ResizeCondition { type: 'StorageResize'; status: 'True' | 'False'; reason: string; message: string }

export interface ResizeDecision {
  /** PVC names whose request must be raised to `size`. */
  patch: string[];
  status: StorageStatus;
  condition: ResizeCondition;
}

/**
 * `expandable` is the StorageClass's allowVolumeExpansion (null: no class named and no default class).
 * A volume counts as resized once its capacity reaches the size; an unbound claim only needs its request raised.
 */
export function decideResize(size: string, volumes: ObservedVolume[], expandable: boolean | null, className: string | null): ResizeDecision {
  const short = volumes.filter((v) => compareQuantities(v.requested, size) < 0);
  const done = volumes.filter((v) => compareQuantities(v.requested, size) >= 0 && (!v.bound || (v.capacity !== undefined && compareQuantities(v.capacity, size) >= 0)));
  const status: StorageStatus = { size, volumes: volumes.length, resized: done.length };
  if (short.length && !expandable) {
    const why = className === null ? 'no StorageClass is named and none is the default' : `StorageClass ${className} does not allow volume expansion (allowVolumeExpansion)`;
    const message = `${short.length} volume(s) below ${size}: ${why}; grow them by hand or move to an expandable class`;
    return { patch: [], status: { ...status, message }, condition: { type: 'StorageResize', status: 'False', reason: 'ExpansionNotSupported', message } };
  }
  if (short.length || done.length < volumes.length) {
    const pending = volumes.filter((v) => v.resizeConditions.includes('FileSystemResizePending')).length;
    const message = `${done.length} of ${volumes.length} volume(s) at ${size}${pending ? `; ${pending} waiting for the file system to grow (pod restart on some drivers)` : ''}`;
    return { patch: short.map((v) => v.name), status: { ...status, message }, condition: { type: 'StorageResize', status: 'False', reason: 'Resizing', message } };
  }
  return { patch: [], status, condition: { type: 'StorageResize', status: 'True', reason: 'Resized', message: `every volume is ${size} or larger` } };
}
