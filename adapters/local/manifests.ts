// Reading manifests: YAML or JSON, several documents per file, every object admitted before anything is
// written, so one bad document means nothing is applied.
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import type { Resource } from '../../crds/definition.js';
import { AdmissionError } from '../../crds/admission.js';
import { admitManifest } from './admit-manifest.js';

export interface Manifest { file: string; index: number; raw: unknown; resource: Resource }

export class ManifestError extends Error {}

export function readManifests(files: string[]): Manifest[] {
  if (!files.length) throw new ManifestError('no manifest given; pass -f FILE (for example -f crds/samples/postgrescluster-ha.yaml)');
  const out: Manifest[] = [];
  const problems: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      problems.push(`${file}: ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory, not a manifest file' : (e as Error).message}`);
      continue;
    }
    const docs = parseAllDocuments(text);
    docs.forEach((doc, index) => {
      if (doc.errors.length) {
        problems.push(...doc.errors.map((err) => `${file}: YAML error at line ${err.linePos?.[0]?.line ?? '?'}: ${err.message.split('\n')[0]}`));
        return;
      }
      const raw: unknown = doc.toJS();
      if (raw === null || raw === undefined) return;
      try {
        out.push({ file, index, raw, resource: admitManifest(raw) });
      } catch (e) {
        if (e instanceof AdmissionError) problems.push(`${file}${docs.length > 1 ? ` (document ${index + 1})` : ''}: ${e.message}`);
        else throw e;
      }
    });
  }
  if (problems.length) throw new ManifestError(`${problems.join('\n')}\nnothing was applied`);
  if (!out.length) throw new ManifestError(`${files.join(', ')}: no objects found\nnothing was applied`);
  return out;
}
