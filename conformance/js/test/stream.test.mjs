// The event stream, opened with `ws` exactly like the SDK README (new WebSocket(uri), JSON.parse, `if (message.metadata)`).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startEmulator, makeClient, call, expectOk, expectError, createBody, control, controlOk, openStream,
  isMemberChange, isMessage, isTyping, isHeartbeat,
} from '../lib/harness.mjs';

let emu;
const streams = [];
before(async () => {
  emu = await startEmulator(['--agent', 'echo', '--agent-delay-ms', '10']);
});
after(async () => {
  for (const s of streams) s.close();
  await emu?.stop();
});

async function create(e = emu) {
  const { client, api } = makeClient(e.base);
  const c = expectOk(await call(api, 'postWebchatGuestConversations', createBody()));
  client.setJwt(c.jwt);
  return { api, cid: c.id, me: c.member.id, uri: c.eventStreamUri, jwt: c.jwt };
}
function open(uri) {
  const s = openStream(uri);
  streams.push(s);
  return s;
}
async function role(api, cid, id) {
  return expectOk(await call(api, 'getWebchatGuestConversationMember', cid, id)).role;
}

test('full chat flow: routing on attach, greeting, echo both ways, typing, duplicate member-change, agent end with close 1001', async () => {
  const { api, cid, me, uri } = await create();
  const s = open(uri);
  await s.opened;

  // --- routing: guest CONNECTED, ACD CONNECTED, agent ALERTING -> CONNECTED + member-join, ACD DISCONNECTED
  await s.waitFor((f) => isMemberChange(f, me, 'CONNECTED'), { desc: 'guest CONNECTED' });
  const firstMc = s.frames.find((f) => f.metadata?.type === 'member-change');
  assert.equal(firstMc.eventBody.member.id, me, 'the first member-change is the guest itself');
  const join = await s.waitFor((f) => isMessage(f) && f.eventBody.bodyType === 'member-join', { desc: 'member-join' });
  const agent = join.eventBody.sender.id;
  assert.notEqual(agent, me);
  assert.equal(await role(api, cid, agent), 'AGENT');
  const alerting = await s.waitFor((f) => isMemberChange(f, agent, 'ALERTING'), { desc: 'agent ALERTING' });
  const connected = await s.waitFor((f) => isMemberChange(f, agent, 'CONNECTED'), { desc: 'agent CONNECTED' });
  assert.ok(s.frames.indexOf(alerting) < s.frames.indexOf(connected), 'ALERTING before CONNECTED');
  const acdConnected = await s.waitFor(
    (f) => f.metadata?.type === 'member-change' && f.eventBody.member.state === 'CONNECTED' && ![me, agent].includes(f.eventBody.member.id),
    { desc: 'ACD member CONNECTED' },
  );
  const acd = acdConnected.eventBody.member.id;
  assert.equal(await role(api, cid, acd), 'ACD');
  const acdGone = await s.waitFor((f) => isMemberChange(f, acd, 'DISCONNECTED'), { desc: 'ACD DISCONNECTED' });
  assert.ok(s.frames.indexOf(acdConnected) < s.frames.indexOf(acdGone));
  assert.ok(s.frames.indexOf(acdConnected) < s.frames.indexOf(alerting), 'ACD joins before the agent is offered');

  // --- the echo agent greets
  const greeting = await s.waitFor((f) => isMessage(f) && f.eventBody.sender.id === agent && f.eventBody.bodyType === 'standard', {
    desc: 'agent greeting',
  });
  assert.ok(greeting.eventBody.body.length > 0);

  // --- guest message: echoed with the REST id, then agent typing, then "You said: ..."
  let mark = s.frames.length;
  const sent = expectOk(await call(api, 'postWebchatGuestConversationMemberMessages', cid, me, { body: 'Hello agent' }));
  const echo = await s.waitFor((f) => isMessage(f) && f.eventBody.id === sent.id, { from: mark, desc: 'echo of own message' });
  assert.equal(echo.eventBody.sender.id, me);
  assert.equal(echo.eventBody.body, 'Hello agent');
  assert.equal(echo.eventBody.bodyType, 'standard');
  assert.equal(echo.eventBody.conversation.id, cid);
  assert.equal(echo.eventBody.timestamp, sent.timestamp);
  const reply = await s.waitFor((f) => isMessage(f) && f.eventBody.sender.id === agent && f.eventBody.body === 'You said: Hello agent', {
    from: mark,
    desc: 'echo agent reply',
  });
  const agentTyping = await s.waitFor((f) => isTyping(f) && f.eventBody.sender.id === agent, { from: mark, desc: 'agent typing' });
  assert.ok(s.frames.indexOf(agentTyping) < s.frames.indexOf(reply), 'agent typing precedes its reply');
  // the reply is in history with the same id
  const hist = expectOk(await call(api, 'getWebchatGuestConversationMessages', cid)).entities;
  assert.ok(hist.some((m) => m.id === reply.eventBody.id && m.body === reply.eventBody.body), 'stream id = history id');

  // --- guest typing: echoed with the REST id
  mark = s.frames.length;
  const typing = expectOk(await call(api, 'postWebchatGuestConversationMemberTyping', cid, me));
  const typingEcho = await s.waitFor((f) => isTyping(f) && f.eventBody.id === typing.id, { from: mark, desc: 'own typing echo' });
  assert.equal(typingEcho.eventBody.sender.id, me);
  assert.equal(typingEcho.eventBody.conversation.id, cid);

  // --- agent message + typing via the control API
  mark = s.frames.length;
  const am = await controlOk(emu, 'POST', `/emulator/conversations/${cid}/agent/messages`, { body: 'Agent here', bodyType: 'notice' }, 'WebChatMessage');
  const amFrame = await s.waitFor((f) => isMessage(f) && f.eventBody.id === am.id, { from: mark, desc: 'agent control message' });
  assert.equal(amFrame.eventBody.body, 'Agent here');
  assert.equal(amFrame.eventBody.bodyType, 'notice');
  assert.equal(amFrame.eventBody.sender.id, agent);
  const at = await controlOk(emu, 'POST', `/emulator/conversations/${cid}/agent/typing`, undefined, 'WebChatTyping');
  await s.waitFor((f) => isTyping(f) && f.eventBody.id === at.id && f.eventBody.sender.id === agent, { from: mark, desc: 'agent control typing' });

  // --- duplicate member-change: same state, new correlation id
  mark = s.frames.length;
  await controlOk(emu, 'POST', `/emulator/conversations/${cid}/duplicate-member-change`, {});
  const dup = await s.waitFor((f) => isMemberChange(f, agent, 'CONNECTED'), { from: mark, desc: 'duplicate agent CONNECTED' });
  assert.notEqual(dup.metadata.CorrelationId, connected.metadata.CorrelationId);

  // --- correlation ids differ on every event
  const corr = s.frames.filter((f) => f.metadata).map((f) => f.metadata.CorrelationId);
  assert.equal(new Set(corr).size, corr.length, 'CorrelationId unique per event');

  // --- agent ends: agent DISCONNECTED, member-leave (agent), guest DISCONNECTED, close 1001
  mark = s.frames.length;
  await controlOk(emu, 'POST', `/emulator/conversations/${cid}/end`);
  const agentOff = await s.waitFor((f) => isMemberChange(f, agent, 'DISCONNECTED'), { from: mark, desc: 'agent DISCONNECTED' });
  const leave = await s.waitFor((f) => isMessage(f) && f.eventBody.bodyType === 'member-leave' && f.eventBody.sender.id === agent, {
    from: mark,
    desc: 'agent member-leave',
  });
  const meOff = await s.waitFor((f) => isMemberChange(f, me, 'DISCONNECTED'), { from: mark, desc: 'guest DISCONNECTED' });
  assert.ok(s.frames.indexOf(agentOff) < s.frames.indexOf(meOff), 'agent leaves before the guest is disconnected');
  assert.ok(leave);
  const closeInfo = await withTimeout(s.closed, 5000, 'server close after end');
  assert.equal(closeInfo.code, 1001);

  // --- after the end: writes rejected, reads work
  expectError(await call(api, 'postWebchatGuestConversationMemberMessages', cid, me, { body: 'anyone?' }), 400, ['chat.error.conversation.state', 'chat.error.member.state']);
  const meAfter = expectOk(await call(api, 'getWebchatGuestConversationMember', cid, me));
  assert.equal(meAfter.state, 'DISCONNECTED');

  assert.deepEqual(s.violations, [], 'envelope/eventBody violations');
  assert.deepEqual(s.unknownTypes, []);
});

test('reconnecting to an ended conversation is closed with 1001', async () => {
  const { cid, me, uri } = await create();
  const s = open(uri);
  await s.waitFor((f) => isMemberChange(f, me, 'CONNECTED'), { desc: 'guest CONNECTED' });
  await controlOk(emu, 'GET', `/emulator/conversations/${cid}/wait?state=connected&timeoutMs=5000`);
  await controlOk(emu, 'POST', `/emulator/conversations/${cid}/end`);
  assert.equal((await withTimeout(s.closed, 5000, 'close after end')).code, 1001);
  const s2 = open(uri);
  const ci = await withTimeout(s2.closed, 5000, 'close of a socket to an ended conversation');
  assert.equal(ci.code, 1001);
});

test('ping -> pong frame', async () => {
  const { me, uri } = await create();
  const s = open(uri);
  await s.opened;
  await s.waitFor((f) => isMemberChange(f, me, 'CONNECTED'), { desc: 'guest CONNECTED' });
  s.socket.send(JSON.stringify({ message: 'ping' }));
  const pong = await s.waitFor((f) => f.topicName === 'channel.metadata' && f.eventBody?.message === 'pong', { desc: 'pong' });
  assert.deepEqual(pong, { topicName: 'channel.metadata', eventBody: { message: 'pong' } });
});

test('agent transfer: agent DISCONNECTED + member-leave, new agent ALERTING -> CONNECTED + member-join; guest stays', async () => {
  const { api, cid, me, uri } = await create();
  const s = open(uri);
  const join = await s.waitFor((f) => isMessage(f) && f.eventBody.bodyType === 'member-join', { desc: 'member-join' });
  const a1 = join.eventBody.sender.id;
  await s.waitFor((f) => isMemberChange(f, a1, 'CONNECTED'), { desc: 'agent 1 CONNECTED' });
  const mark = s.frames.length;
  const r = await controlOk(emu, 'POST', `/emulator/conversations/${cid}/agent/transfer`, { name: 'Agent Two' });
  const a2 = r.agentId;
  assert.ok(a2 && a2 !== a1);
  await s.waitFor((f) => isMemberChange(f, a1, 'DISCONNECTED'), { from: mark, desc: 'agent 1 DISCONNECTED' });
  await s.waitFor((f) => isMessage(f) && f.eventBody.bodyType === 'member-leave' && f.eventBody.sender.id === a1, { from: mark, desc: 'agent 1 leave' });
  const al = await s.waitFor((f) => isMemberChange(f, a2, 'ALERTING'), { from: mark, desc: 'agent 2 ALERTING' });
  const co = await s.waitFor((f) => isMemberChange(f, a2, 'CONNECTED'), { from: mark, desc: 'agent 2 CONNECTED' });
  assert.ok(s.frames.indexOf(al) < s.frames.indexOf(co));
  await s.waitFor((f) => isMessage(f) && f.eventBody.bodyType === 'member-join' && f.eventBody.sender.id === a2, { from: mark, desc: 'agent 2 join' });
  assert.ok(!s.frames.slice(mark).some((f) => isMemberChange(f, me, 'DISCONNECTED')), 'guest stays connected');
  const agent2 = expectOk(await call(api, 'getWebchatGuestConversationMember', cid, a2));
  assert.equal(agent2.role, 'AGENT');
  assert.equal(agent2.displayName, 'Agent Two');
  assert.deepEqual(s.violations, []);
});

test('drop-socket: mode close with code 4000 closes the stream with 4000; abrupt gives 1006', async () => {
  const { cid, me, uri } = await create();
  const s = open(uri);
  await s.waitFor((f) => isMemberChange(f, me, 'CONNECTED'), { desc: 'guest CONNECTED' });
  await controlOk(emu, 'POST', `/emulator/conversations/${cid}/drop-socket`, { mode: 'close', code: 4000 });
  assert.equal((await withTimeout(s.closed, 5000, 'close 4000')).code, 4000);
  const s2 = open(uri);
  await s2.opened;
  await controlOk(emu, 'GET', `/emulator/conversations/${cid}/wait?sockets=1&timeoutMs=5000`);
  await controlOk(emu, 'POST', `/emulator/conversations/${cid}/drop-socket`, { mode: 'abrupt' });
  assert.equal((await withTimeout(s2.closed, 5000, 'abrupt drop')).code, 1006);
});

test('heartbeat frame every --heartbeat-secs (1 s), without metadata', async () => {
  const hb = await startEmulator(['--agent', 'echo', '--heartbeat-secs', '1']);
  try {
    const { uri } = await create(hb);
    const s = open(uri);
    await s.opened;
    const t0 = Date.now();
    const h1 = await s.waitFor(isHeartbeat, { timeout: 3500, desc: 'first heartbeat' });
    assert.deepEqual(h1, { topicName: 'channel.metadata', eventBody: { message: 'WebSocket Heartbeat' } });
    assert.equal(h1.metadata, undefined, 'heartbeats carry no metadata (README guard)');
    const i1 = s.frames.indexOf(h1);
    await s.waitFor(isHeartbeat, { timeout: 3500, from: i1 + 1, desc: 'second heartbeat' });
    assert.ok(Date.now() - t0 < 5000);
    s.close();
  } finally {
    await hb.stop();
  }
});

test('unknown JWT in the stream URI is refused (no upgrade, or closed with 4100)', async () => {
  const s = open(`ws://127.0.0.1:${emu.port}/chat/jwt/not-a-jwt`);
  const ci = await withTimeout(s.closed, 5000, 'refusal');
  assert.ok([1006, 4100, 1008].includes(ci.code), `close code ${ci.code}`);
  assert.equal(s.frames.filter((f) => f.metadata).length, 0);
});

test('a forgotten conversation: its socket and a new one are closed with 4100 "Error connecting to conversation (id)"; REST 404', async () => {
  const { api, cid, me, uri } = await create();
  const s = open(uri);
  await s.waitFor((f) => isMemberChange(f, me, 'CONNECTED'), { desc: 'guest CONNECTED' });
  await controlOk(emu, 'DELETE', `/emulator/conversations/${cid}`);
  const reason = `Error connecting to conversation (${cid})`;
  const ci = await withTimeout(s.closed, 5000, 'close 4100');
  assert.deepEqual([ci.code, ci.reason], [4100, reason]);
  const s2 = open(uri);
  const ci2 = await withTimeout(s2.closed, 5000, 'close 4100 of a new socket');
  assert.deepEqual([ci2.code, ci2.reason], [4100, reason]);
  const r = await call(api, 'getWebchatGuestConversationMember', cid, me);
  expectError(r, 404, 'not.found');
});

test('v2.system.socket_closing: warning frame, events still flow, then close 1001 after the grace', async () => {
  const { cid, me, uri } = await create();
  const s = open(uri);
  await s.waitFor((f) => isMemberChange(f, me, 'CONNECTED'), { desc: 'guest CONNECTED' });
  await controlOk(emu, 'GET', `/emulator/conversations/${cid}/wait?state=connected&timeoutMs=5000`);
  await controlOk(emu, 'POST', `/emulator/conversations/${cid}/socket-closing`, { graceMs: 300 });
  const w = await s.waitFor((f) => f.topicName === 'v2.system.socket_closing', { desc: 'socket_closing' });
  assert.equal(typeof w.eventBody.message, 'string');
  await controlOk(emu, 'POST', `/emulator/conversations/${cid}/agent/messages`, { body: 'during grace' });
  await s.waitFor((f) => isMessage(f) && f.eventBody.body === 'during grace', { desc: 'message during the grace' });
  const ci = await withTimeout(s.closed, 5000, 'close after the grace');
  assert.equal(ci.code, 1001);
});

function withTimeout(p, ms, desc) {
  let t;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise((_, reject) => {
      t = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${desc}`)), ms);
    }),
  ]);
}

void control;
