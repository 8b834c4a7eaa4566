// PostgreSQL identifiers as users write them. The operator quotes every one (escapeIdentifier), so any text
// works except what PostgreSQL itself cannot store: NUL, and more than 63 bytes (NAMEDATALEN - 1), which
// PostgreSQL would silently truncate into a different name.
import { Type } from '@sinclair/typebox';
import type { CelRule } from './schema-kit.js';

export const SqlName = (description: string) => Type.String({
  minLength: 1, maxLength: 63, pattern: '^[^\\x00]+$', description,
  'x-pgop-hint': 'must not contain a NUL character',
});

/** CEL: the field fits PostgreSQL's 63-byte limit (multi-byte characters count as several). */
export const fitsNameData = (field: string): CelRule => ({
  rule: `size(bytes(self.${field})) <= 63`,
  message: 'is longer than PostgreSQL\'s 63-byte limit for names (multi-byte characters count as several bytes)',
  fieldPath: `.${field}`,
});

/** The same checks where the name is used, before any SQL runs. */
export function checkSqlName(what: string, name: string): void {
  if (!name) throw new Error(`${what} is empty`);
  if (name.includes('\u0000')) throw new Error(`${what} contains a NUL character`);
  if (Buffer.byteLength(name, 'utf8') > 63) throw new Error(`${what} is longer than 63 bytes`);
}
