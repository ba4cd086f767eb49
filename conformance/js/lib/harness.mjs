// Harness: spawns the emulator, builds independent SDK clients pinned to loopback, wraps SDK calls so that
// every returned body is validated against the REST contract (rest-contract.json), talks to the /emulator control API, and opens the
// event stream the way the SDK README does.
import { spawn } from 'node:child_process';
import { existsSync, unwatchFile } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import WebSocket from 'ws';
import { validate, operation, eventSchemas } from './schema.mjs';

const require = createRequire(import.meta.url);

/**
 * The SDK under test. CONFORMANCE_SDK unset or `official`: the official purecloud-guest-chat-client; otherwise a path
 * (relative to conformance/js) to a build of our package for node, e.g. ../../crates/js/pkg/node (scripts/build-js.sh).
 */
export const SDK = process.env.CONFORMANCE_SDK && process.env.CONFORMANCE_SDK !== 'official' ? process.env.CONFORMANCE_SDK : 'official';
export const platformClient = require(
  SDK === 'official' ? 'purecloud-guest-chat-client' : resolve(fileURLToPath(new URL('..', import.meta.url)), SDK),
);
/**
 * True when the SDK under test is our package (purecloud-guest-chat-client-rs). The few checks that measure a
 * documented defect of the official SDK, or a call our package refuses before sending, expect our behaviour then.
 */
export const OURS = SDK !== 'official';

/** For OURS: `promise` rejects before anything is sent, with a GuestChatError of this kind. */
export async function expectRefused(promise, kind, what = '') {
  const e = await Promise.resolve()
    .then(() => promise)
    .then(
      (v) => assert.fail(`${what} expected a local ${kind} refusal, got ${JSON.stringify(v)}`),
      (err) => err,
    );
  assert.ok(e instanceof Error, `${what} expected an Error, got ${JSON.stringify(e)}`);
  assert.equal(e.name, 'GuestChatError', `${what}: ${e.stack}`);
  assert.equal(e.kind, kind, `${what}: ${e.message}`);
  return e;
}

const here = dirname(fileURLToPath(import.meta.url));
export const DEFAULT_EMULATOR_BIN = resolve(here, '../../../target/debug/guest-chat-emulator');

export function emulatorBin() {
  return process.env.EMULATOR_BIN ? resolve(process.env.EMULATOR_BIN) : DEFAULT_EMULATOR_BIN;
}

export function missingEmulatorMessage(bin = emulatorBin()) {
  return (
    `guest-chat emulator binary not found at ${bin}. Build it first: ` +
    `(cd <repo root> && cargo build -p guest-chat-emulator), or set EMULATOR_BIN=/path/to/guest-chat-emulator.`
  );
}

// ---------------------------------------------------------------------------------------------------------
// Emulator processes: every spawned emulator is killed when the test process ends, whatever the outcome.
const live = new Set();
function killAll() {
  for (const p of live) {
    try {
      p.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  live.clear();
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'])
  process.on(sig, () => {
    killAll();
    process.exit(130);
  });

const LISTEN_RE = /^guest-chat emulator listening on (https?:\/\/127\.0\.0\.1:(\d+))$/;

/** Start an emulator on a free loopback port. Returns {base, port, wsBase, stop()}. */
export async function startEmulator(extraArgs = [], { timeoutMs = 15000 } = {}) {
  const bin = emulatorBin();
  if (!existsSync(bin)) throw new Error(missingEmulatorMessage(bin));
  const args = ['--host', '127.0.0.1', '--port', '0', ...extraArgs];
  const env = { ...process.env };
  for (const k of ['http_proxy', 'HTTP_PROXY', 'https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY']) delete env[k];
  const proc = spawn(bin, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
  live.add(proc);
  let stderr = '';
  proc.stderr.on('data', (d) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const stdoutLines = [];
  const rl = createInterface({ input: proc.stdout });
  const base = await new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`emulator (${bin} ${args.join(' ')}) did not print its listening line within ${timeoutMs} ms; stdout=${JSON.stringify(stdoutLines)} stderr=${stderr}`));
    }, timeoutMs);
    rl.on('line', (line) => {
      stdoutLines.push(line);
      const m = LISTEN_RE.exec(line.trim());
      if (m) {
        clearTimeout(timer);
        resolvePromise(m[1]);
      }
    });
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`emulator (${bin} ${args.join(' ')}) exited (code ${code}, signal ${signal}) before printing "guest-chat emulator listening on http://127.0.0.1:PORT"; stdout=${JSON.stringify(stdoutLines)} stderr=${stderr}`));
    });
    proc.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot start emulator ${bin}: ${e.message}`));
    });
  }).catch((e) => {
    proc.kill('SIGKILL');
    live.delete(proc);
    throw e;
  });
  const port = Number(new URL(base).port);
  return {
    base,
    port,
    args,
    proc,
    stderr: () => stderr,
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) {
        live.delete(proc);
        return;
      }
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      const t = setTimeout(() => proc.kill('SIGKILL'), 2000);
      await exited;
      clearTimeout(t);
      live.delete(proc);
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// SDK clients.

/**
 * An independent ApiClient + WebChatApi pinned to `base`.
 *  patched: apply the documented `defaultHeaders` getter workaround for the `Authorization: [REDACTED]` defect.
 *  extended: setReturnExtendedResponses (status/headers/body); the `call()` wrapper needs it.
 */
export function makeClient(base, { patched = true, extended = true } = {}) {
  assert.match(base, /^https?:\/\/127\.0\.0\.1:\d+$/, 'the suite only talks to loopback');
  if (OURS) {
    // Our package: setEnvironment takes the base URL; there is no config file, proxy or defaultHeaders defect.
    const client = new platformClient.ApiClient();
    client.setEnvironment(base);
    // The official SDK never retries: the suite checks each of the emulator's answers as it comes (429s included).
    client.setMaxRetries(0);
    client.setTimeout(10000);
    client.setReturnExtendedResponses(extended);
    const api = new platformClient.WebChatApi(client);
    return { client, api };
  }
  const ApiClient = Object.getPrototypeOf(platformClient.ApiClient).constructor;
  const client = new ApiClient();
  // Pin basePath against config (re)loads, which call setEnvironment() and would reset it to https://api.mypurecloud.com.
  const origSetEnv = client.config.setEnvironment.bind(client.config);
  client.config.setEnvironment = (e) => {
    origSetEnv(e);
    client.config.basePath = base;
  };
  client.config.basePath = base;
  // live_reload_config=false equivalent: stop watching the config file (and never reload it).
  client.config.live_reload_config = false;
  try {
    unwatchFile(client.config.configPath);
  } catch {
    /* ignore */
  }
  client.proxy = false; // never honour http_proxy: loopback only
  client.timeout = 10000;
  if (patched) Object.defineProperty(client, 'defaultHeaders', { get: () => ({}), set: () => {}, configurable: true });
  client.setReturnExtendedResponses(extended);
  const api = new platformClient.WebChatApi(client);
  return { client, api };
}

// 401 credentials.expired is listed only on some operations by the contract, but applies to every JWT call
// (docs/protocol.md section 4); accept it on all of them.
const CONTRACT_GAPS = { 401: ['credentials.expired'] };

function lowerHeaders(h) {
  const out = {};
  for (const [k, v] of Object.entries(h || {})) out[k.toLowerCase()] = v;
  return out;
}

/** Check a REST response {status, headers, body} of `operationId` against the contract; returns violations. */
export function contractViolations(operationId, res) {
  const { op } = operation(operationId);
  const v = [];
  const spec = op.responses[String(res.status)];
  if (!spec) {
    v.push(`HTTP ${res.status} is not a documented response of ${operationId}`);
    return v;
  }
  if (res.status === 204) {
    if (res.body !== '' && res.body !== undefined && res.body !== null) v.push(`204 with a body ${JSON.stringify(res.body)}`);
    return v;
  }
  if (!spec.model) return v;
  if (typeof res.body !== 'object' || res.body === null) {
    v.push(`HTTP ${res.status}: body is not JSON: ${JSON.stringify(res.body)}`);
    return v;
  }
  v.push(...validate(res.body, spec.model));
  if (res.status >= 400) {
    const b = res.body;
    const corr = res.headers['inin-correlation-id'];
    if (b.status !== res.status) v.push(`error body status ${b.status} != HTTP ${res.status}`);
    if (typeof b.code !== 'string') v.push('error body has no code');
    if (typeof b.message !== 'string') v.push('error body has no message');
    if (!Array.isArray(b.details)) v.push('error body has no details array');
    if (!Array.isArray(b.errors)) v.push('error body has no errors array');
    if (!corr) v.push('no ININ-Correlation-Id header on an error response');
    else if (b.contextId !== corr) v.push(`contextId ${b.contextId} != ININ-Correlation-Id ${corr}`);
    const codes = spec.errorCodes || [];
    if (codes.length && typeof b.code === 'string' && !codes.includes(b.code) && !(CONTRACT_GAPS[res.status] || []).includes(b.code))
      v.push(`code ${b.code} is not a documented ${res.status} code of ${operationId} (${codes.join(', ')})`);
  }
  return v;
}

/**
 * Call an SDK operation (client must be extended) and return {status, headers, body}; resolves for errors too.
 * Every body is validated against the REST contract and the test fails on any violation.
 */
export async function call(api, operationId, ...args) {
  let res;
  try {
    const r = await api[operationId](...args);
    res = { status: r.status, headers: lowerHeaders(r.headers), body: r.body };
  } catch (e) {
    if (e && typeof e === 'object' && typeof e.status === 'number' && 'body' in e) {
      res = { status: e.status, headers: lowerHeaders(e.headers), body: e.body };
    } else {
      throw new Error(`${operationId} failed without an HTTP response: ${e && e.stack ? e.stack : String(e)}`);
    }
  }
  const v = contractViolations(operationId, res);
  assert.deepEqual(v, [], `${operationId} -> HTTP ${res.status} violates the contract:\n  ${v.join('\n  ')}\nbody: ${JSON.stringify(res.body)}`);
  return res;
}

export function expectOk(res, status = 200, what = '') {
  assert.equal(res.status, status, `${what} expected HTTP ${status}, got ${res.status}: ${JSON.stringify(res.body)}`);
  return res.body;
}

export function expectError(res, status, code, what = '') {
  const codes = Array.isArray(code) ? code : [code];
  assert.equal(res.status, status, `${what} expected HTTP ${status} ${codes.join('|')}, got ${res.status}: ${JSON.stringify(res.body)}`);
  if (code) assert.ok(codes.includes(res.body.code), `${what} expected code ${codes.join('|')}, got ${res.body.code}: ${JSON.stringify(res.body)}`);
  assert.equal(res.body.contextId, res.headers['inin-correlation-id'], 'contextId must equal the ININ-Correlation-Id header');
  return res.body;
}

// ---------------------------------------------------------------------------------------------------------
// Conversations.

export const ORG_ID = '0f3e5d6c-8c47-4bb1-9f7a-2d6b3c6c1a01';
export const DEPLOYMENT_ID = '5a1b8f2e-3c4d-4e5f-8a9b-0c1d2e3f4a5b';

export function createBody(overrides = {}) {
  return {
    organizationId: ORG_ID,
    deploymentId: DEPLOYMENT_ID,
    routingTarget: { targetType: 'QUEUE', targetAddress: 'Chat Queue' },
    memberInfo: { displayName: 'JS Conformance Guest', customFields: { firstName: 'John', lastName: 'Doe' } },
    ...overrides,
  };
}

export function decodeJwtPayload(jwt) {
  const parts = jwt.split('.');
  assert.equal(parts.length, 3, `JWT must have 3 parts: ${jwt}`);
  return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
}

/**
 * Create a chat as a guest with its own SDK client; setJwt on it. Returns
 * {client, api, cid, memberId, jwt, uri, create}. With attach: also opens the stream and waits until the agent
 * is CONNECTED (own member CONNECTED + member-join).
 */
export async function newGuest(emu, { attach = false, body = createBody() } = {}) {
  const { client, api } = makeClient(emu.base);
  const res = await call(api, 'postWebchatGuestConversations', body);
  expectOk(res, 200, 'create conversation');
  const create = res.body;
  client.setJwt(create.jwt);
  const g = { client, api, cid: create.id, memberId: create.member.id, jwt: create.jwt, uri: create.eventStreamUri, create };
  if (attach) {
    g.stream = openStream(g.uri);
    await g.stream.opened;
    await g.stream.waitFor((f) => isMemberChange(f, g.memberId, 'CONNECTED'), { desc: 'own member-change CONNECTED' });
    const join = await g.stream.waitFor((f) => isMessage(f) && f.eventBody.bodyType === 'member-join' && f.eventBody.sender.id !== g.memberId, {
      desc: 'agent member-join',
    });
    g.agentId = join.eventBody.sender.id;
    await g.stream.waitFor((f) => isMemberChange(f, g.agentId, 'CONNECTED'), { desc: 'agent CONNECTED' });
  }
  return g;
}

// ---------------------------------------------------------------------------------------------------------
// Control API (/emulator/...).

export async function control(emu, method, path, body) {
  const r = await fetch(emu.base + path, {
    method,
    headers: body === undefined ? {} : { 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await r.text();
  let json;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = text;
  }
  return { status: r.status, headers: Object.fromEntries(r.headers), body: json };
}

export async function controlOk(emu, method, path, body, schemaName) {
  const r = await control(emu, method, path, body);
  assert.equal(r.status, 200, `control ${method} ${path} -> ${r.status} ${JSON.stringify(r.body)}`);
  if (schemaName) {
    const v = validate(r.body, schemaName);
    assert.deepEqual(v, [], `control ${method} ${path} body violates ${schemaName}:\n  ${v.join('\n  ')}`);
  }
  return r.body;
}

// ---------------------------------------------------------------------------------------------------------
// Event stream, opened exactly like the SDK README: new WebSocket(uri), JSON.parse each message, `if (message.metadata)`.

export const isMemberChange = (f, memberId, state) =>
  !!f.metadata && f.metadata.type === 'member-change' && f.eventBody?.member?.id === memberId && (state === undefined || f.eventBody.member.state === state);
export const isMessage = (f) => !!f.metadata && f.metadata.type === 'message';
export const isTyping = (f) => !!f.metadata && f.metadata.type === 'typing-indicator';
export const isHeartbeat = (f) => f.topicName === 'channel.metadata' && f.eventBody?.message === 'WebSocket Heartbeat';

export function openStream(uri) {
  const u = new URL(uri);
  assert.ok(['ws:', 'wss:'].includes(u.protocol), `eventStreamUri must be ws:// (wss:// with --tls) for the local emulator: ${uri}`);
  assert.equal(u.hostname, '127.0.0.1', `eventStreamUri must point at loopback: ${uri}`);
  const socket = new WebSocket(uri);
  const frames = [];
  const violations = [];
  const unknownTypes = [];
  const waiters = new Set();
  let closeInfo;
  let openResolve, openReject, closeResolve;
  const opened = new Promise((r, j) => {
    openResolve = r;
    openReject = j;
  });
  const closed = new Promise((r) => (closeResolve = r));
  opened.catch(() => {});

  socket.addEventListener('open', () => openResolve());
  socket.addEventListener('error', (e) => openReject(new Error(`WebSocket error on ${uri}: ${e.message}`)));
  socket.addEventListener('message', (event) => {
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      violations.push(`non-JSON frame: ${String(event.data).slice(0, 200)}`);
      return;
    }
    frames.push(message);
    if (message.metadata) {
      switch (message.metadata.type) {
        case 'message':
        case 'member-change':
        case 'typing-indicator': {
          checkEnvelope(message, violations);
          break;
        }
        default:
          unknownTypes.push(message.metadata.type);
      }
    }
    for (const w of [...waiters]) w.check(message);
  });
  socket.addEventListener('close', (event) => {
    closeInfo = { code: event.code, reason: event.reason };
    closeResolve(closeInfo);
    openReject(new Error(`WebSocket closed (${event.code} ${event.reason}) before opening`));
    for (const w of [...waiters]) w.closed(closeInfo);
  });

  /** Resolve with the first frame (at index >= from) matching pred; reject after timeout or on close. */
  function waitFor(pred, { timeout = 5000, desc = 'frame', from = 0 } = {}) {
    for (let i = from; i < frames.length; i++) if (pred(frames[i])) return Promise.resolve(frames[i]);
    if (closeInfo) return Promise.reject(new Error(`socket already closed (${closeInfo.code}) without ${desc}; frames: ${summary()}`));
    return new Promise((resolvePromise, reject) => {
      const w = {
        check(f) {
          if (pred(f)) {
            done();
            resolvePromise(f);
          }
        },
        closed(ci) {
          done();
          reject(new Error(`socket closed (${ci.code} ${ci.reason}) before ${desc}; frames: ${summary()}`));
        },
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out after ${timeout} ms waiting for ${desc}; frames so far: ${summary()}`));
      }, timeout);
      function done() {
        clearTimeout(timer);
        waiters.delete(w);
      }
      waiters.add(w);
    });
  }

  function summary() {
    return JSON.stringify(
      frames.map((f) =>
        f.metadata
          ? `${f.metadata.type}:${f.eventBody?.member ? f.eventBody.member.id + '=' + f.eventBody.member.state : (f.eventBody?.bodyType || '') + ' ' + (f.eventBody?.sender?.id || '') + ' ' + (f.eventBody?.body || '').slice(0, 40)}`
          : `${f.topicName}:${f.eventBody?.message}`,
      ),
    );
  }

  return {
    socket,
    frames,
    violations,
    unknownTypes,
    opened,
    closed,
    waitFor,
    summary,
    close() {
      if (socket.readyState === WebSocket.OPEN || socket.readyState === WebSocket.CONNECTING) socket.terminate();
    },
  };
}

function checkEnvelope(message, violations) {
  const type = message.metadata.type;
  const cid = message.eventBody?.conversation?.id;
  const topic = type === 'member-change' ? 'members' : 'messages';
  if (message.topicName !== `v2.conversations.chats.${cid}.${topic}`)
    violations.push(`${type}: topicName ${message.topicName} != v2.conversations.chats.${cid}.${topic}`);
  if (message.version !== '2') violations.push(`${type}: version ${JSON.stringify(message.version)} != "2"`);
  if (typeof message.metadata.CorrelationId !== 'string' || !message.metadata.CorrelationId)
    violations.push(`${type}: metadata.CorrelationId missing (${JSON.stringify(message.metadata)})`);
  for (const k of Object.keys(message)) if (!['topicName', 'version', 'eventBody', 'metadata'].includes(k)) violations.push(`${type}: unknown envelope key ${k}`);
  const v = validate(message.eventBody, eventSchemas[type]);
  for (const x of v) violations.push(`${type} eventBody ${x}`);
}
