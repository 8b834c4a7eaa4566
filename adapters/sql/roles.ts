// Roles and databases every cluster needs. Idempotent; run by the primary's agent on every start, which also
// re-applies the passwords from the secrets (rotation = change the secret).
import type pg from 'pg';
import { ident, literal } from './connect.js';
import { scramVerifier } from './scram.js';

export async function ensureRole(c: pg.Client, name: string, password: string, attrs: string[]): Promise<void> {
  const exists = await c.query('SELECT 1 FROM pg_roles WHERE rolname = $1', [name]);
  const verb = exists.rowCount ? 'ALTER' : 'CREATE';
  await c.query(`${verb} ROLE ${ident(name)} WITH ${attrs.join(' ')} PASSWORD ${literal(scramVerifier(password))}`);
}

export async function ensureDatabase(c: pg.Client, name: string, owner: string): Promise<void> {
  const exists = await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
  if (!exists.rowCount) await c.query(`CREATE DATABASE ${ident(name)} OWNER ${ident(owner)}`);
}

export async function setPassword(c: pg.Client, name: string, password: string): Promise<void> {
  await c.query(`ALTER ROLE ${ident(name)} WITH PASSWORD ${literal(scramVerifier(password))}`);
}
