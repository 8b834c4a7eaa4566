// Reading manifests: YAML or JSON, several documents per file, every object admitted before anything is
// written, so one bad document means nothing is applied. Input is bounded before it is parsed (size, document
// count, YAML aliases), and a cluster whose socket path would not fit is refused here rather than at startup.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Resource } from '../../crds/definition.js';
import { AdmissionError } from '../../crds/admission.js';
import { admitManifest } from './admit-manifest.js';
import { keyOfResource, type ResourceKey } from '../../actors/ports/resource-store.js';
import type { StateDir } from './state-dir.js';
import { localPlatformProblems } from './platform-limits.js';

export interface Manifest { file: string; index: number; raw: unknown; resource: Resource }

export class ManifestError extends Error {}

/** The apiserver's default request body limit is 3 MiB; half of it is plenty for manifests of these kinds. */
export const MAX_MANIFEST_BYTES = 1.5 * 1024 * 1024;
export const MAX_DOCUMENTS = 100;
/** Aliases expanded per document; a few anchors are normal, thousands are an expansion ("billion laughs") attack. */
export const MAX_ALIASES = 100;
/** sun_path holds 108 bytes including the terminating NUL; PostgreSQL refuses longer socket paths at startup. */
export const SOCKET_PATH_MAX = 107;
/** Instance names are `<cluster>-<serial>`; serials only grow, so room is kept for four digits (and a 5-digit port). */
const WORST_SERIAL = '9999';
const WORST_SOCKET = '.s.PGSQL.65535';

const where = (file: string, index: number, count: number) => `${file}${count > 1 ? ` (document ${index + 1})` : ''}`;

export function readManifests(files: string[], state?: StateDir): Manifest[] {
  if (!files.length) throw new ManifestError('no manifest given; pass -f FILE (for example -f crds/samples/postgrescluster-ha.yaml)');
  const out: Manifest[] = [];
  const problems: string[] = [];
  let documents = 0;
  for (const file of files) {
    let text: string;
    try {
      if (statSync(file).size > MAX_MANIFEST_BYTES) {
        problems.push(`${file}: is larger than 1.5 MiB (${statSync(file).size} bytes); split it into several files`);
        continue;
      }
      text = readFileSync(file, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      problems.push(`${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not a manifest file' : (e as Error).message}`);
      continue;
    }
    const docs = parseAllDocuments(text);
    const list = Array.isArray(docs) ? docs : [];
    documents += list.length;
    if (documents > MAX_DOCUMENTS) {
      problems.push(`${file}: ${documents} documents; at most ${MAX_DOCUMENTS} per apply, split the input`);
      break;
    }
    list.forEach((doc, index) => {
      if (doc.errors.length) {
        problems.push(...doc.errors.map((err) => `${file}: YAML error at line ${err.linePos?.[0]?.line ?? '?'}: ${err.message.split('\n')[0]}`));
        return;
      }
      let raw: unknown;
      try {
        raw = doc.toJS({ maxAliasCount: MAX_ALIASES });
      } catch (e) {
        if (!(e instanceof ReferenceError)) throw e;
        problems.push(`${where(file, index, list.length)}: too many YAML aliases (more than ${MAX_ALIASES} would expand); write the values out`);
        return;
      }
      if (raw === null || raw === undefined) return;
      try {
        const resource = admitManifest(raw);
        const socket = state ? socketProblem(state, resource) : null;
        if (socket) throw new AdmissionError(`${resource.kind} "${resource.metadata.name}"`, [{ field: 'metadata.name', message: socket }]);
        const limits = localPlatformProblems(resource);
        if (limits.length) problems.push(...limits.map((m) => `${where(file, index, list.length)}: ${m}`));
        else out.push({ file, index, raw, resource });
      } catch (e) {
        if (e instanceof AdmissionError) problems.push(`${where(file, index, list.length)}: ${e.message}`);
        else throw e;
      }
    });
  }
  if (problems.length) throw new ManifestError(`${problems.join('\n')}\nnothing was applied`);
  if (!out.length) throw new ManifestError(`${files.join(', ')}: no objects found\nnothing was applied`);
  return out;
}

/**
 * The longest socket path an instance of this cluster can get: its run directory lives under the state dir
 * (instances/<ns>/<instance>/postgres/run) or under the platform's data root (<root>/<ns>/<instance>/run), see
 * LocalPods.homeFor and buildInstanceSpec.
 */
function socketProblem(state: StateDir, r: Resource): string | null {
  if (r.kind !== 'PostgresCluster') return null;
  const ns = r.metadata.namespace ?? 'default';
  const instance = `${r.metadata.name}-${WORST_SERIAL}`;
  const dataRoot = state.readPlatform()?.dataRoot ?? state.externalDataRoot();
  const longest = Math.max(
    Buffer.byteLength(join(state.instanceDir(ns, instance), 'postgres', 'run', WORST_SOCKET)),
    Buffer.byteLength(join(dataRoot, ns, instance, 'run', WORST_SOCKET)),
  );
  if (longest <= SOCKET_PATH_MAX) return null;
  const room = r.metadata.name.length - (longest - SOCKET_PATH_MAX);
  return `is too long for this state directory: an instance's Unix socket path would be ${longest} bytes (${state.root}/…/${instance}/…/${WORST_SOCKET}), and the limit is ${SOCKET_PATH_MAX}; `
    + (room > 0 ? `use a name of at most ${room} characters or a shorter --state-dir` : 'use a shorter --state-dir');
}

/**
 * Transition rules and deletions need the stored objects: every document is checked against the store before
 * the first write, so a multi-document apply is all-or-nothing (short of a concurrent writer in between).
 */
export async function admitAgainstStore(manifests: Manifest[], store: { get(key: ResourceKey): Promise<Resource | undefined> }): Promise<void> {
  const problems: string[] = [];
  for (const m of manifests) {
    const key = keyOfResource(m.resource);
    const old = await store.get(key);
    const at = where(m.file, m.index, manifests.filter((x) => x.file === m.file).length);
    if (old?.metadata.deletionTimestamp) {
      problems.push(`${at}: ${key.kind} ${key.namespace}/${key.name} is being deleted; wait for it to go away before applying it again`);
      continue;
    }
    try {
      admitManifest(m.raw, old);
    } catch (e) {
      if (e instanceof AdmissionError) problems.push(`${at}: ${e.message}`);
      else throw e;
    }
  }
  if (problems.length) throw new ManifestError(`${problems.join('\n')}\nnothing was applied`);
}
