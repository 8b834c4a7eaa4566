import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { renderCrds, renderValuesSchema, repoRoot } from './generate.js';
import { Value } from '@sinclair/typebox/value';
import { ChartValues } from './chart-values.js';

test('chart/crds matches crds/*.ts (run `npm run generate` after changing a schema)', () => {
  const dir = join(repoRoot(), 'chart', 'crds');
  const files = renderCrds();
  assert.deepEqual(readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort(), [...files.keys()].sort());
  for (const [name, text] of files) assert.equal(readFileSync(join(dir, name), 'utf8'), text, `${name} is stale`);
});

test('generated schemas are structural: no additionalProperties:false, no patternProperties, no local hints', () => {
  for (const text of renderCrds().values()) {
    assert.doesNotMatch(text, /additionalProperties: false|patternProperties|x-pgop-|\$id/);
    const crd = parse(text) as { spec: { versions: { schema: { openAPIV3Schema: { properties: Record<string, unknown> } }; subresources: unknown }[] } };
    const v = crd.spec.versions[0];
    assert.ok(v?.subresources, 'status subresource');
    assert.ok(v?.schema.openAPIV3Schema.properties.spec);
  }
});

test('the PostgresCluster CRD carries printer columns, short name, defaults and CEL rules', () => {
  const text = renderCrds().get('postgres.keiailab.io_postgresclusters.yaml') ?? '';
  const crd = parse(text) as { spec: { names: { shortNames: string[] }; versions: { additionalPrinterColumns: { name: string }[] }[] } };
  assert.deepEqual(crd.spec.names.shortNames, ['pgc']);
  assert.deepEqual(crd.spec.versions[0]?.additionalPrinterColumns.map((c) => c.name), ['Instances', 'Ready', 'Phase', 'Primary', 'Shards', 'Age']);
  assert.match(text, /x-kubernetes-validations/);
  assert.match(text, /enum:\n\s+- any\n\s+- first/);
  assert.match(text, /default: required/);
});

test('chart/values.schema.json is generated and chart/values.yaml satisfies it', () => {
  assert.equal(readFileSync(join(repoRoot(), 'chart', 'values.schema.json'), 'utf8'), renderValuesSchema());
  const values = parse(readFileSync(join(repoRoot(), 'chart', 'values.yaml'), 'utf8')) as unknown;
  assert.deepEqual([...Value.Errors(ChartValues, values)].map((e) => `${e.path}: ${e.message}`), []);
  assert.ok(!Value.Check(ChartValues, { ...(values as object), replicas: 0 }));
});
