import { test } from 'node:test';
import assert from 'node:assert/strict';
import { peerTlsFailed } from './agent-backup-step.js';

test('a standby backup is asked again on the TLS failures a renewing primary causes, not on other refusals', () => {
  // As CI saw them: the primary's server still on the certificate without its new pod IP, and a session cut by its restart.
  assert.equal(peerTlsFailed("backup on sb-2 refused: pgbackrest --config=/run/pgbackrest-standby.conf failed (exit 56): WARN: unable to check pg1: [CryptoError] unable to find hostname '127.1.0.142' in certificate common name or subject alternative names | ERROR: [056]"), true);
  assert.equal(peerTlsFailed('backup on sb-2 refused: pgbackrest failed (exit 101): ERROR: [101]: TLS error [1:336151570] unexpected eof'), true);
  assert.equal(peerTlsFailed('backup on sb-2 refused: pgbackrest failed (exit 50): ERROR: [050]: unable to acquire lock'), false);
  assert.equal(peerTlsFailed('backup on sb-2 refused: pgbackrest failed (exit 82): ERROR: [082]: WAL segment was not archived before the 60000ms timeout'), false);
});
