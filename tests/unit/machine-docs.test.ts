import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { machineDocs } from '../../bin/commands/machines.js';
import { machineCatalog } from '../../machines/catalog.js';
import { mermaid, studioSource } from '../../adapters/diagrams/machine-export.js';
import { repoRoot } from '../helpers/cli.js';

test('docs/machines matches the machines in code (run `pgop machines export --format docs`)', () => {
  const dir = join(repoRoot, 'docs', 'machines');
  const docs = machineDocs();
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.md')).sort(), [...docs.keys()].sort());
  for (const [name, text] of docs) assert.equal(readFileSync(join(dir, name), 'utf8'), text, `docs/machines/${name} is stale`);
});

test('every state of every machine appears in its diagram, and every transition target exists', () => {
  for (const { id, machine } of machineCatalog) {
    const diagram = mermaid(machine);
    const states = [...diagram.matchAll(/state "([^"]+)" as (\S+)/g)].map((m) => m[2]);
    for (const m of diagram.matchAll(/^\s+(\S+) --> (\S+) :/gm)) {
      assert.ok(states.includes(m[1]), `${id}: unknown source ${m[1]}`);
      assert.ok(states.includes(m[2]), `${id}: unknown target ${m[2]}`);
    }
    // The smallest machine (imageCatalog: validating, ready, invalid, deleted) has four; fewer means a broken export.
    assert.ok(states.length >= 4, `${id} has only ${states.length} states`);
  }
});

test('the Studio source is a createMachine call with named implementations', () => {
  const src = studioSource(machineCatalog.find((e) => e.id === 'failover')?.machine as never);
  assert.match(src, /^import \{ createMachine \} from 'xstate';/);
  assert.match(src, /"src": "promoteCandidate"/);
  assert.match(src, /"description": "Re-check with fresh eyes/);
});
