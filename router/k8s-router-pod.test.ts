import { test } from 'node:test';
import assert from 'node:assert/strict';
import { replicaTarget } from './k8s-router-pod.js';

test('a read-only router pod takes only IP addresses and TCP ports as replica targets from its ConfigMap', () => {
  assert.deepEqual(replicaTarget({ host: '10.1.2.3', port: 5432 }, 0), { host: '10.1.2.3', port: 5432 });
  assert.deepEqual(replicaTarget({ host: 'fd00::7', port: 5432 }, 0), { host: 'fd00::7', port: 5432 });
  assert.throws(() => replicaTarget({ host: 'evil.example.com', port: 5432 }, 1), /replicas\.targets\[1\]\.host must be an IP address/);
  assert.throws(() => replicaTarget({ host: '10.1.2.3; rm -rf /', port: 5432 }, 0), /must be an IP address/);
  assert.throws(() => replicaTarget({ host: '10.1.2.3', port: 70000 }, 2), /replicas\.targets\[2\]\.port must be a TCP port/);
  assert.throws(() => replicaTarget({ host: '10.1.2.3', port: '5432' }, 0), /must be a TCP port/);
});
