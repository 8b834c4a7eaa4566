// A real S3 server for tests: versitygw (built by tests/s3/build-versitygw.sh into ~/.cache/pgop) over a POSIX
// directory, TLS with a self-signed certificate for DNS:localhost (pgBackRest 2.45 verifies names, not IPs), and
// CreateBucket through the S3 API itself (signed with AWS Signature V4), so buckets carry the gateway's metadata.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { mkdirSync, openSync, closeSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { request } from 'node:https';
import { join } from 'node:path';
import { repoRoot } from '../helpers/cli.js';

export interface S3Server { port: number; endpoint: string; accessKeyId: string; secretAccessKey: string; caFile: string; stop(): void; createBucket(name: string): Promise<void> }

const freePort = () => new Promise<number>((resolve, reject) => {
  const s = createServer();
  s.listen(0, '127.0.0.1', () => { const p = (s.address() as { port: number }).port; s.close(() => resolve(p)); });
  s.on('error', reject);
});

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');
const hmac = (k: Buffer | string, s: string) => createHmac('sha256', k).update(s).digest();

/** One path-style S3 request with an empty body, signed with SigV4 (enough for CreateBucket). */
function signedPut(s: { port: number; accessKeyId: string; secretAccessKey: string; caFile: string }, path: string): Promise<number> {
  const now = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d{3}/, '');
  const date = now.slice(0, 8);
  const host = `localhost:${s.port}`;
  const payload = sha256('');
  const headers = `host:${host}\nx-amz-content-sha256:${payload}\nx-amz-date:${now}\n`;
  const signed = 'host;x-amz-content-sha256;x-amz-date';
  const canonical = ['PUT', path, '', headers, signed, payload].join('\n');
  const scope = `${date}/us-east-1/s3/aws4_request`;
  const toSign = ['AWS4-HMAC-SHA256', now, scope, sha256(canonical)].join('\n');
  const key = hmac(hmac(hmac(hmac(`AWS4${s.secretAccessKey}`, date), 'us-east-1'), 's3'), 'aws4_request');
  const signature = createHmac('sha256', key).update(toSign).digest('hex');
  return new Promise((resolve, reject) => {
    const req = request({
      host: 'localhost', port: s.port, method: 'PUT', path, ca: readFileSync(s.caFile),
      headers: { 'x-amz-date': now, 'x-amz-content-sha256': payload, authorization: `AWS4-HMAC-SHA256 Credential=${s.accessKeyId}/${scope}, SignedHeaders=${signed}, Signature=${signature}` },
    }, (res) => { res.resume(); res.on('end', () => resolve(res.statusCode ?? 0)); });
    req.on('error', reject);
    req.end();
  });
}

export async function startVersitygw(dir: string): Promise<S3Server> {
  const bin = execFileSync('bash', [join(repoRoot, 'tests', 's3', 'build-versitygw.sh')], { encoding: 'utf8' }).trim();
  mkdirSync(join(dir, 'root'), { recursive: true });
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  const port = await freePort();
  const accessKeyId = `pgop${randomBytes(6).toString('hex')}`;
  const secretAccessKey = randomBytes(24).toString('hex');
  const log = openSync(join(dir, 'versitygw.log'), 'a');
  const child: ChildProcess = spawn(bin, ['--port', `127.0.0.1:${port}`, '--access', accessKeyId, '--secret', secretAccessKey, '--cert', cert, '--key', key, 'posix', join(dir, 'root')],
    { stdio: ['ignore', log, log] });
  closeSync(log);
  const s = { port, accessKeyId, secretAccessKey, caFile: cert };
  for (let i = 0; ; i++) {
    try { await signedPut(s, '/pgop-probe'); break; } catch (e) {
      if (i > 100 || child.exitCode !== null) throw new Error(`versitygw did not start: ${(e as Error).message}\n${readFileSync(join(dir, 'versitygw.log'), 'utf8')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return {
    ...s, endpoint: `localhost:${port}`,
    stop: () => { if (child.exitCode === null) child.kill('SIGTERM'); },
    async createBucket(name) {
      const code = await signedPut(s, `/${name}`);
      if (code !== 200) throw new Error(`CreateBucket ${name} answered HTTP ${code}`);
    },
  };
}
