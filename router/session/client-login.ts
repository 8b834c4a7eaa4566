// Everything before the first query: SSLRequest (TLS when configured), CancelRequest, the startup packet and
// SCRAM-SHA-256 against the role's verifier. Ends with the client logged in and a pool to take backends from.
import { TLSSocket } from 'node:tls';
import type { Socket } from 'node:net';
import { LoginReader } from './login-reader.js';
import type { RouterContext } from './router-context.js';
import { ScramServer, ScramError, mockVerifier } from '../auth/scram.js';
import * as msg from '../protocol/backend-messages.js';
import { ProtocolViolation } from '../protocol/frame-buffer.js';
import type { ShardPools } from '../pool/shard-pools.js';

export interface LoggedIn {
  socket: Socket;
  role: string;
  database: string;
  /** Settings the client asked for in its startup packet (application_name, client_encoding, DateStyle...). */
  wanted: Map<string, string>;
  pools: ShardPools;
  /** Bytes the client sent after its last login message (pipelined first query). */
  rest: Buffer;
}

/** A refusal with the SQLSTATE PostgreSQL would use; sent to the client as FATAL. */
export class LoginRefused extends Error {
  constructor(readonly sqlstate: string, message: string) { super(message); this.name = 'LoginRefused'; }
}

const SETTING_NAME = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;
const NOT_SETTINGS = new Set(['user', 'database', 'options', 'replication']);

/**
 * `current.socket` follows the switch to TLS, so that the caller writes a refusal on the socket the client now
 * speaks TLS on (an ErrorResponse on the raw socket reaches a TLS client as "wrong version number").
 */
export async function login(raw: Socket, ctx: RouterContext, current: { socket: Socket } = { socket: raw }): Promise<LoggedIn | null> {
  let socket: Socket = raw;
  const reader = new LoginReader(raw);
  let packet = await reader.startup();
  let encrypted = false;
  while (packet.kind === 'ssl' || packet.kind === 'gssenc') {
    if (packet.kind === 'ssl' && ctx.tls && !encrypted) {
      if (reader.buffered) throw new ProtocolViolation('received unencrypted data after SSL request');
      reader.detach();
      raw.write('S');
      socket = new TLSSocket(raw, { isServer: true, secureContext: ctx.tls });
      current.socket = socket;
      reader.switchTo(socket);
      encrypted = true;
    } else {
      socket.write('N');
    }
    packet = await reader.startup();
  }
  if (packet.kind === 'cancel') {
    ctx.cancel(packet.processId, packet.secretKey);
    socket.destroy();
    return null;
  }
  if (packet.kind !== 'startup') throw new ProtocolViolation('expected a startup packet');
  const role = packet.params.get('user') ?? '';
  const database = packet.params.get('database') || role;
  if (!role) throw new LoginRefused('28000', 'no PostgreSQL user name specified in startup packet');
  if (ctx.requireTls && !encrypted) throw new LoginRefused('28000', `connection for user "${role}" must use TLS (sslmode=require or stronger)`);
  if (packet.params.has('replication')) throw new LoginRefused('0A000', 'replication connections are not supported by the router; connect to the instance directly');
  if (packet.params.get('options')?.trim()) throw new LoginRefused('0A000', 'startup "options" are not supported by the router; use SET after connecting (or per-role settings)');
  const wanted = new Map<string, string>();
  for (const [k, v] of packet.params) {
    if (NOT_SETTINGS.has(k)) continue;
    if (!SETTING_NAME.test(k)) throw new LoginRefused('42704', `unrecognized configuration parameter "${k}"`);
    wanted.set(k, v);
  }

  const verifier = await ctx.lookupVerifier(role);
  const scram = new ScramServer(verifier ?? mockVerifier(role, ctx.mockSecret));
  socket.write(msg.authenticationSasl(['SCRAM-SHA-256']));
  const authFailed = new LoginRefused('28P01', `password authentication failed for user "${role}"`);
  const first = await reader.message();
  if (first.type !== 0x70) throw new ProtocolViolation('expected SASLInitialResponse');
  const mechEnd = first.body.indexOf(0);
  if (mechEnd < 0 || first.body.toString('utf8', 0, mechEnd) !== 'SCRAM-SHA-256') throw new LoginRefused('28000', 'client selected an invalid SASL authentication mechanism');
  const initialLen = first.body.readInt32BE(mechEnd + 1);
  const clientFirst = first.body.toString('utf8', mechEnd + 5, initialLen < 0 ? mechEnd + 5 : mechEnd + 5 + initialLen);
  let clientKey: Buffer;
  let serverFinal: string;
  try {
    socket.write(msg.authenticationSaslContinue(scram.first(clientFirst)));
    const fin = await reader.message();
    if (fin.type !== 0x70) throw new ProtocolViolation('expected SASLResponse');
    ({ clientKey, serverFinal } = scram.final(fin.body.toString('utf8')));
  } catch (e) {
    if (e instanceof ScramError) { ctx.metrics.logins.inc({ result: 'failed' }); throw /password/.test(e.message) ? authFailed : new LoginRefused('08P01', e.message); }
    throw e;
  }
  if (!verifier) { ctx.metrics.logins.inc({ result: 'failed' }); throw authFailed; }
  socket.write(msg.authenticationSaslFinal(serverFinal));

  const pools = ctx.poolFor(role, database, { clientKey, serverKey: verifier.serverKey });
  const pool = pools.default;
  if (!pool.serverParams) {
    // The first login to a pool opens a backend: it proves the database exists and the recovered key works, and
    // yields the server parameters every client is told about.
    try { pool.release(await pool.acquire()); } catch (e) {
      const sqlstate = (e as { sqlstate?: string }).sqlstate ?? '08006';
      throw new LoginRefused(sqlstate, (e as Error).message);
    }
  }
  ctx.metrics.logins.inc({ result: 'ok' });
  return { socket, role, database, wanted, pools, rest: reader.detach() };
}
