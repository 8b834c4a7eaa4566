// The folder-direction lint (scripts/lint/folder-direction.js, wired in eslint.config.js) refuses an import that
// would close a cycle between folders, and the tree as it stands passes it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import { ESLint } from 'eslint';
import { repoRoot } from '../helpers/cli.js';

const eslint = new ESLint({ cwd: repoRoot });
const RULE = 'layering/folder-direction';

async function problems(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(repoRoot, file) });
  return (result?.messages ?? []).filter((m) => m.ruleId === RULE).map((m) => m.message);
}

test('a planted cycle between folders fails the lint', async () => {
  // actors → adapters would close adapters → actors (adapters implement the runtime's ports).
  const [runtimeIntoAdapter] = await problems('actors/planted.ts', "import { retrying } from '../adapters/retry.js';\nexport const x = retrying;\n");
  assert.match(runtimeIntoAdapter ?? '', /actors\/ may not import adapters\//);
  // A top-level file of machines/ (like machines/catalog.ts) is covered as well as the nested ones.
  assert.match((await problems('machines/planted.ts', "export { startRuntime } from '../actors/runtime.js';\n"))[0] ?? '', /machines\/ may not import actors\//);
  assert.match((await problems('machines/cluster/planted.ts', "const m = await import('../../bin/kinds.js');\nexport default m;\n"))[0] ?? '', /machines\/ may not import bin\//);
  // adapters → bin and adapters → instance were the cycles of the first runtime.
  assert.equal((await problems('adapters/local/planted.ts', "export { startOperator } from '../../bin/operator.js';\n")).length, 1);
  assert.equal((await problems('adapters/planted.ts', "export { runAgent } from '../instance/agent.js';\n")).length, 1);
  assert.equal((await problems('router/planted.ts', "export { startRuntime } from '../actors/runtime.js';\n")).length, 1);
});

test('imports in the allowed direction pass', async () => {
  assert.deepEqual(await problems('bin/planted.ts', "export { startRuntime } from '../actors/runtime.js';\nexport { retrying } from '../adapters/retry.js';\n"), []);
  assert.deepEqual(await problems('adapters/planted.ts', "export type { ResourceStore } from '../actors/ports/resource-store.js';\n"), []);
  assert.deepEqual(await problems('machines/cluster/planted.ts', "export type { Resource } from '../../crds/definition.js';\n"), []);
});

test('the tree as it stands has no import against the folder direction', async () => {
  const results = await eslint.lintFiles(['actors', 'adapters', 'bin', 'crds', 'instance', 'machines', 'router'].map((d) => join(repoRoot, d)).filter((d) => existsSync(d)));
  const wrong = results.flatMap((r) => r.messages.filter((m) => m.ruleId === RULE).map((m) => `${r.filePath}:${m.line} ${m.message}`));
  assert.deepEqual(wrong, []);
});
