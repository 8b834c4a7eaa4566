// Which PostgreSQL server binaries this machine has (Debian layout: /usr/lib/postgresql/<major>/bin).
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = process.env.PGOP_PG_ROOT ?? '/usr/lib/postgresql';

export function installedMajors(): number[] {
  if (!existsSync(ROOT)) return [];
  return readdirSync(ROOT).map(Number).filter((v) => Number.isInteger(v) && existsSync(join(ROOT, String(v), 'bin', 'postgres'))).sort((a, b) => a - b);
}

/** The bin directory for the wanted major version, or an error that says what to install. */
export function pgBinDir(wanted: number | undefined): string {
  const found = installedMajors();
  const pick = wanted ?? found[found.length - 1];
  if (pick === undefined) throw new Error('no PostgreSQL server is installed locally; run `npm run setup` (installs postgresql)');
  if (!found.includes(pick)) {
    throw new Error(`PostgreSQL ${pick} is not installed locally (found: ${found.join(', ') || 'none'}); install postgresql-${pick} or set spec.postgresVersion to ${found.join(' or ')}`);
  }
  return join(ROOT, String(pick), 'bin');
}
