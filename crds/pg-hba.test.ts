import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHbaLine, hbaProblems, ipFamily } from './pg-hba.js';

test('well-formed rules parse into rule objects', () => {
  assert.deepEqual(parseHbaLine('host app app 10.0.0.0/8 scram-sha-256'), { ok: true, rule: { type: 'host', database: 'app', user: 'app', address: '10.0.0.0/8', method: 'scram-sha-256' } });
  assert.deepEqual(parseHbaLine(' hostssl\tall  +readers fd00::/8 cert clientcert=verify-full '),
    { ok: true, rule: { type: 'hostssl', database: 'all', user: '+readers', address: 'fd00::/8', method: 'cert', options: ['clientcert=verify-full'] } });
  assert.deepEqual(parseHbaLine('host a,b u1,u2 192.168.0.0 255.255.0.0 reject'),
    { ok: true, rule: { type: 'host', database: 'a,b', user: 'u1,u2', address: '192.168.0.0', mask: '255.255.0.0', method: 'reject' } });
  assert.ok(parseHbaLine('hostnossl all all ::/0 reject').ok);
});

test('everything outside the grammar is refused with the reason', () => {
  const cases: [string, RegExp][] = [
    ['host all all 0.0.0.0/0 trust', /method "trust" is refused/],
    ['host all all 0.0.0.0/0 password', /method "password"/],
    ['host all all 0.0.0.0/0 md5', /method "md5"/],
    ['host all all 0.0.0.0/0 ident', /method "ident"/],
    ['host all all 0.0.0.0/0 peer', /method "peer"/],
    ['local all all scram-sha-256', /type "local" is refused/],
    ['hostgssenc all all 0.0.0.0/0 scram-sha-256', /type "hostgssenc"/],
    ['include /etc/passwd', /include/],
    ['include_if_exists x', /include/],
    ['host "all" all 0.0.0.0/0 scram-sha-256', /quotes/],
    ["host all 'x' 0.0.0.0/0 scram-sha-256", /quotes/],
    ['host all all 0.0.0.0/0 scram-sha-256 # comment', /comments/],
    ['host @dbfile all 0.0.0.0/0 scram-sha-256', /@file/],
    ['host all @users 0.0.0.0/0 scram-sha-256', /@file/],
    ['host all /^adm 0.0.0.0/0 scram-sha-256', /regular expressions/],
    ['host all all 0.0.0.0/0 scram-sha-256\nhost all all 0.0.0.0/0 trust', /control character/],
    ['host all all 0.0.0.0/0 scram-sha-256\r', /control character/],
    ['host all all 0.0.0.0/0 scram-sha-256\u0000', /control character/],
    ['hostnossl all all 0.0.0.0/0 scram-sha-256', /hostnossl is only allowed with reject/],
    ['host all all 0.0.0.0/0 cert', /cert needs hostssl/],
    ['host all all 0.0.0.0/0 scram-sha-256 clientcert=verify-full', /needs hostssl/],
    ['hostssl all all 0.0.0.0/0 cert clientcert=verify-ca', /drop the clientcert option/],
    ['host all all 0.0.0.0/0 scram-sha-256 map=x', /option "map=x"/],
    ['host replication all 0.0.0.0/0 scram-sha-256', /replication connections/],
    ['host app,replication all 0.0.0.0/0 scram-sha-256', /replication connections/],
    ['host all all 300.0.0.0/8 scram-sha-256', /address "300\.0\.0\.0\/8"/],
    ['host all all 10.0.0.0/33 scram-sha-256', /address/],
    ['host all all example.com scram-sha-256', /address "example.com"/],
    ['host all all 10.0.0.0/8', /no authentication method/],
    ['host all all', /incomplete/],
    ['', /include directives are refused|write one rule/],
  ];
  for (const [line, reason] of cases) {
    const r = parseHbaLine(line);
    assert.ok(!r.ok, JSON.stringify(line));
    assert.match(r.problem, reason, JSON.stringify(line));
  }
  assert.deepEqual(hbaProblems(['host a a 10.0.0.0/8 reject', 'host a a 10.0.0.0/8 trust']).map((p) => p.index), [1]);
});

test('addresses are real IPv4 or IPv6 literals', () => {
  for (const [s, f] of [['10.0.0.1', 4], ['::1', 6], ['::', 6], ['fd00::', 6], ['2001:db8::1:2', 6], ['::ffff:10.0.0.1', 6], ['1:2:3:4:5:6:7:8', 6]] as const) assert.equal(ipFamily(s), f, s);
  for (const s of ['10.0.0', '01.0.0.1', '256.1.1.1', ':::', '1::2::3', '1:2:3:4:5:6:7:8:9', 'g::1', 'host']) assert.equal(ipFamily(s), 0, s);
});
