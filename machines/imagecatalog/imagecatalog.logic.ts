// Pure checks of an ImageCatalog's entries. The CRD schema and CEL refuse most of this at the door; the controller
// checks again because a catalog may have been stored by an older CRD or written past admission (the local store).
import type { CatalogProblem, ImageCatalogSpec } from './imagecatalog.types.js';
import { IMAGE_REFERENCE_PATTERN } from '../../crds/imagecatalog.js';

export const SUPPORTED_MAJORS = [15, 16, 17, 18] as const;

/** The CRD's own pattern (one source): an OCI reference or, for the local platform, an absolute bin directory. */
export const IMAGE_REFERENCE = new RegExp(IMAGE_REFERENCE_PATTERN);

const IMAGE_FIX = 'use registry/repository[:tag][@sha256:digest] (e.g. ghcr.io/keiailab/pgop-postgres:17) or, on the local platform, an absolute path to a PostgreSQL bin directory';

/** Every problem of the entries, each naming its field (spec.images[i].major / .image) and the fix. */
export function catalogProblems(spec: ImageCatalogSpec | undefined): CatalogProblem[] {
  const entries: unknown = spec?.images;
  if (!Array.isArray(entries) || entries.length === 0) {
    return [{ field: 'spec.images', message: 'lists no image; add one entry per PostgreSQL major, e.g. { major: 17, image: ghcr.io/keiailab/pgop-postgres:17 }' }];
  }
  const problems: CatalogProblem[] = [];
  const seen = new Map<number, number>();
  entries.forEach((raw: unknown, i) => {
    const e = (raw ?? {}) as { major?: unknown; image?: unknown };
    const at = `spec.images[${i}]`;
    if (typeof e.major !== 'number' || !Number.isInteger(e.major) || !(SUPPORTED_MAJORS as readonly number[]).includes(e.major)) {
      problems.push({ field: `${at}.major`, message: `is ${JSON.stringify(e.major ?? null)}; pgop supports PostgreSQL majors ${SUPPORTED_MAJORS.join(', ')}: use one of them or remove the entry` });
    } else if (seen.has(e.major)) {
      problems.push({ field: `${at}.major`, message: `lists PostgreSQL ${e.major} again (first at spec.images[${seen.get(e.major)}]); keep one image per major` });
    } else {
      seen.set(e.major, i);
    }
    if (typeof e.image !== 'string' || e.image.length === 0 || e.image.length > 512 || !IMAGE_REFERENCE.test(e.image)) {
      const shown = typeof e.image === 'string' ? JSON.stringify(e.image.slice(0, 80)) : 'missing';
      problems.push({ field: `${at}.image`, message: `${shown} is not an image reference; ${IMAGE_FIX}` });
    }
  });
  return problems;
}

/** major → image of a valid spec, majors in ascending order. */
export function imagesByMajor(spec: ImageCatalogSpec): Record<string, string> {
  return Object.fromEntries([...spec.images].sort((a, b) => a.major - b.major).map((e) => [String(e.major), e.image]));
}
