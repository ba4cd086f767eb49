// All 11 WebChatApi operations through the official SDK, happy paths, with results asserted on.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import {
  startEmulator, makeClient, call, expectOk, expectError, newGuest, createBody, decodeJwtPayload,
  control, controlOk, isMessage, isMemberChange, isTyping, ORG_ID, DEPLOYMENT_ID,
} from '../lib/harness.mjs';

let emu;
let g; // an attached, agent-connected guest shared by the read tests
const sent = {};

before(async () => {
  emu = await startEmulator(['--agent', 'echo', '--agent-delay-ms', '10']);
});
after(async () => {
  g?.stream?.close();
  await emu?.stop();
});

test('postWebchatGuestConversations: 200 {id, jwt, eventStreamUri, member.id}; JWT claims; ws URI on the same port', async () => {
  const { api } = makeClient(emu.base);
  const res = await call(api, 'postWebchatGuestConversations', createBody());
  const b = expectOk(res);
  for (const k of ['id', 'jwt', 'eventStreamUri']) assert.equal(typeof b[k], 'string', `${k} missing`);
  assert.equal(typeof b.member?.id, 'string', 'member.id missing');
  assert.ok(res.headers['inin-correlation-id'], 'ININ-Correlation-Id header on a success response');
  assert.equal(b.eventStreamUri, `ws://127.0.0.1:${emu.port}/chat/jwt/${b.jwt}`);
  const claims = decodeJwtPayload(b.jwt);
  assert.equal(claims.data?.conv, b.id, 'data.conv = conversation id');
  assert.equal(claims.data?.sub, b.member.id, 'data.sub = guest member id');
  assert.equal(claims.data?.did, DEPLOYMENT_ID, 'data.did = deployment id');
  assert.equal(claims.org, ORG_ID, 'org = organization id');
  assert.equal(claims.iss, 'urn:purecloud:webchat');
  assert.ok(claims.exp > claims.iat, 'exp > iat');
  const hdr = JSON.parse(Buffer.from(b.jwt.split('.')[0], 'base64url').toString());
  assert.equal(hdr.alg, 'RS256');
});

test('create accepts lower-case targetType "queue" and unknown extra fields (README profileImageUrl)', async () => {
  const { api } = makeClient(emu.base);
  const body = createBody({ routingTarget: { targetType: 'queue', targetAddress: 'Chat Queue' } });
  body.memberInfo.profileImageUrl = 'http://yoursite.com/path/to/guest/image.png';
  expectOk(await call(api, 'postWebchatGuestConversations', body));
});

test('attach the event stream, then the chat becomes connected (control wait)', async () => {
  g = await newGuest(emu, { attach: true });
  const st = await controlOk(emu, 'GET', `/emulator/conversations/${g.cid}/wait?state=connected&timeoutMs=5000`);
  assert.equal(st.state, 'connected');
  assert.equal(st.agentId, g.agentId);
});

test('postWebchatGuestConversationMemberMessages: 200 WebChatMessage, bodyType defaults to standard', async () => {
  assert.ok(g, 'needs the attached guest');
  const res = await call(g.api, 'postWebchatGuestConversationMemberMessages', g.cid, g.memberId, { body: 'hello from the JS SDK' });
  const m = expectOk(res);
  assert.equal(typeof m.id, 'string');
  assert.equal(m.body, 'hello from the JS SDK');
  assert.equal(m.bodyType, 'standard');
  assert.equal(m.sender?.id, g.memberId);
  assert.equal(m.conversation?.id, g.cid);
  assert.ok(!Number.isNaN(Date.parse(m.timestamp)));
  sent.first = m;
  const res2 = await call(g.api, 'postWebchatGuestConversationMemberMessages', g.cid, g.memberId, { body: 'a notice', bodyType: 'notice' });
  assert.equal(expectOk(res2).bodyType, 'notice');
  sent.notice = res2.body;
  // wait for the echo agent's reply (to the standard message) so the history below is settled
  await g.stream.waitFor((f) => isMessage(f) && f.eventBody.sender.id === g.agentId && f.eventBody.body === 'You said: hello from the JS SDK', {
    desc: 'agent reply',
  });
  await g.stream.waitFor((f) => isMessage(f) && f.eventBody.id === sent.notice.id, { desc: 'echo of the notice' });
});

test('postWebchatGuestConversationMemberTyping: 200 WebChatTyping (no request body)', async () => {
  assert.ok(g);
  const t = expectOk(await call(g.api, 'postWebchatGuestConversationMemberTyping', g.cid, g.memberId));
  assert.equal(typeof t.id, 'string');
  assert.equal(t.sender?.id, g.memberId);
  assert.equal(t.conversation?.id, g.cid);
  assert.ok(!Number.isNaN(Date.parse(t.timestamp)));
});

test('getWebchatGuestConversationMember: own member CUSTOMER/CONNECTED, agent AGENT/CONNECTED', async () => {
  assert.ok(g);
  const me = expectOk(await call(g.api, 'getWebchatGuestConversationMember', g.cid, g.memberId));
  assert.equal(me.id, g.memberId);
  assert.equal(me.role, 'CUSTOMER');
  assert.equal(me.state, 'CONNECTED');
  assert.equal(me.displayName, 'JS Conformance Guest');
  assert.ok(me.joinDate, 'joinDate');
  const agent = expectOk(await call(g.api, 'getWebchatGuestConversationMember', g.cid, g.agentId));
  assert.equal(agent.role, 'AGENT');
  assert.equal(agent.state, 'CONNECTED');
});

test('getWebchatGuestConversationMembers: SDK-style empty query values work; paging; excludeDisconnectedMembers', async () => {
  assert.ok(g);
  // no options -> ?pageSize=&pageNumber=&excludeDisconnectedMembers=
  const all = expectOk(await call(g.api, 'getWebchatGuestConversationMembers', g.cid));
  const roles = all.entities.map((m) => m.role).sort();
  assert.deepEqual(roles, ['ACD', 'AGENT', 'CUSTOMER'], `members: ${JSON.stringify(all.entities)}`);
  assert.equal(all.entities.find((m) => m.role === 'ACD').state, 'DISCONNECTED');
  assert.equal(all.pageSize, 25, 'default pageSize 25');
  assert.equal(all.pageNumber, 1, 'default pageNumber 1');
  assert.equal(all.total, 3);
  // excludeDisconnectedMembers:false is sent as an empty value: same as none
  const same = expectOk(await call(g.api, 'getWebchatGuestConversationMembers', g.cid, { excludeDisconnectedMembers: false }));
  assert.deepEqual(same.entities.map((m) => m.id).sort(), all.entities.map((m) => m.id).sort());
  const active = expectOk(await call(g.api, 'getWebchatGuestConversationMembers', g.cid, { excludeDisconnectedMembers: true }));
  assert.deepEqual(active.entities.map((m) => m.role).sort(), ['AGENT', 'CUSTOMER']);
  assert.ok(active.entities.every((m) => m.state !== 'DISCONNECTED'));
  const p1 = expectOk(await call(g.api, 'getWebchatGuestConversationMembers', g.cid, { pageSize: 1, pageNumber: 1 }));
  const p2 = expectOk(await call(g.api, 'getWebchatGuestConversationMembers', g.cid, { pageSize: 1, pageNumber: 2 }));
  assert.equal(p1.entities.length, 1);
  assert.equal(p2.entities.length, 1);
  assert.notEqual(p1.entities[0].id, p2.entities[0].id);
  assert.equal(p1.pageSize, 1);
  assert.equal(p2.pageNumber, 2);
  assert.equal(p1.total, 3);
  assert.equal(p1.pageCount, 3);
});

test('getWebchatGuestConversationMessages: no options returns the history (ascending); sortOrder, maxResults, after, before', async () => {
  assert.ok(g && sent.first && sent.notice);
  // no options -> ?after=&before=&sortOrder=&maxResults=
  const asc = expectOk(await call(g.api, 'getWebchatGuestConversationMessages', g.cid)).entities;
  const ids = asc.map((m) => m.id);
  assert.ok(ids.includes(sent.first.id), `history must contain the sent message ${sent.first.id}: ${JSON.stringify(asc)}`);
  assert.ok(ids.includes(sent.notice.id));
  const fromHistory = asc.find((m) => m.id === sent.first.id);
  assert.equal(fromHistory.body, sent.first.body);
  assert.equal(fromHistory.sender.id, g.memberId);
  assert.ok(asc.some((m) => m.bodyType === 'member-join' && m.sender.id === g.agentId), 'history contains the agent member-join');
  assert.ok(asc.some((m) => m.sender.id === g.agentId && m.body === 'You said: hello from the JS SDK'), 'history contains the echo reply');
  for (let i = 1; i < asc.length; i++) assert.ok(Date.parse(asc[i - 1].timestamp) <= Date.parse(asc[i].timestamp), 'ascending by timestamp');
  assert.ok(ids.indexOf(sent.first.id) < ids.indexOf(sent.notice.id));

  const desc = expectOk(await call(g.api, 'getWebchatGuestConversationMessages', g.cid, { sortOrder: 'descending' })).entities;
  assert.deepEqual(desc.map((m) => m.id), [...ids].reverse());

  const explicitAsc = expectOk(await call(g.api, 'getWebchatGuestConversationMessages', g.cid, { sortOrder: 'ascending', maxResults: 100 })).entities;
  assert.deepEqual(explicitAsc.map((m) => m.id), ids);

  const two = expectOk(await call(g.api, 'getWebchatGuestConversationMessages', g.cid, { maxResults: 2 }));
  assert.equal(two.entities.length, 2);
  assert.deepEqual(two.entities.map((m) => m.id), ids.slice(0, 2));

  // maxResults: 0 is sent by the SDK as an empty value -> the default (100), not a validation error
  const zero = expectOk(await call(g.api, 'getWebchatGuestConversationMessages', g.cid, { maxResults: 0 })).entities;
  assert.equal(zero.length, ids.length);

  const idx = ids.indexOf(sent.first.id);
  const after = expectOk(await call(g.api, 'getWebchatGuestConversationMessages', g.cid, { after: sent.first.id })).entities;
  assert.deepEqual(after.map((m) => m.id), ids.slice(idx + 1), 'after is exclusive');
  const beforeL = expectOk(await call(g.api, 'getWebchatGuestConversationMessages', g.cid, { before: sent.first.id })).entities;
  assert.deepEqual(beforeL.map((m) => m.id).sort(), ids.slice(0, idx).sort(), 'before is exclusive');
});

test('getWebchatGuestConversationMessage: same message as the send response', async () => {
  assert.ok(g && sent.first);
  const m = expectOk(await call(g.api, 'getWebchatGuestConversationMessage', g.cid, sent.first.id));
  assert.equal(m.id, sent.first.id);
  assert.equal(m.body, sent.first.body);
  assert.equal(m.bodyType, 'standard');
  assert.equal(m.sender.id, g.memberId);
  assert.equal(m.timestamp, sent.first.timestamp);
});

test('media requests: get list, get one, patch to ACCEPTED (request created by the agent via control API)', async () => {
  assert.ok(g);
  const mark = g.stream.frames.length;
  const mr = await controlOk(emu, 'POST', `/emulator/conversations/${g.cid}/mediarequests`, { types: ['COBROWSE'] }, 'WebChatGuestMediaRequest');
  assert.equal(mr.state, 'PENDING');
  assert.deepEqual(mr.types, ['COBROWSE']);
  await g.stream.waitFor((f) => isMessage(f) && f.eventBody.bodyType === 'media-request', { from: mark, desc: 'media-request message' });

  const list = expectOk(await call(g.api, 'getWebchatGuestConversationMediarequests', g.cid));
  assert.ok(list.entities.some((e) => e.id === mr.id), `list contains ${mr.id}: ${JSON.stringify(list)}`);
  const one = expectOk(await call(g.api, 'getWebchatGuestConversationMediarequest', g.cid, mr.id));
  assert.equal(one.id, mr.id);
  assert.equal(one.state, 'PENDING');
  assert.deepEqual(one.types, ['COBROWSE']);
  const patched = expectOk(await call(g.api, 'patchWebchatGuestConversationMediarequest', g.cid, mr.id, { types: ['COBROWSE'], state: 'ACCEPTED' }));
  assert.equal(patched.id, mr.id);
  assert.equal(patched.state, 'ACCEPTED');
  const again = expectOk(await call(g.api, 'getWebchatGuestConversationMediarequest', g.cid, mr.id));
  assert.equal(again.state, 'ACCEPTED');
});

test('deleteWebchatGuestConversationMember: 204 empty; member DISCONNECTED; later writes rejected', async () => {
  const h = await newGuest(emu, { attach: true });
  try {
    const mark = h.stream.frames.length;
    const res = await call(h.api, 'deleteWebchatGuestConversationMember', h.cid, h.memberId);
    expectOk(res, 204);
    assert.ok(res.body === '' || res.body === undefined, `204 body must be empty: ${JSON.stringify(res.body)}`);
    await h.stream.waitFor((f) => isMemberChange(f, h.memberId, 'DISCONNECTED'), { from: mark, desc: 'own DISCONNECTED' });
    const me = expectOk(await call(h.api, 'getWebchatGuestConversationMember', h.cid, h.memberId));
    assert.equal(me.state, 'DISCONNECTED');
    assert.ok(me.leaveDate, 'leaveDate set once left');
    const w = await call(h.api, 'postWebchatGuestConversationMemberMessages', h.cid, h.memberId, { body: 'too late' });
    expectError(w, 400, ['chat.error.conversation.state', 'chat.error.member.state']);
  } finally {
    h.stream.close();
  }
});

test('non-extended mode (SDK default): resolves with the body, 204 resolves undefined, errors reject with the plain ErrorBody', async () => {
  const h = await newGuest(emu);
  const { client, api } = makeClient(emu.base, { extended: false });
  client.setJwt(h.jwt);
  const me = await api.getWebchatGuestConversationMember(h.cid, h.memberId);
  assert.equal(me.id, h.memberId);
  assert.equal(me.role, 'CUSTOMER');
  const err = await api.getWebchatGuestConversationMember(h.cid, 'no-such-member').then(
    (v) => assert.fail(`expected a rejection, got ${JSON.stringify(v)}`),
    (e) => e,
  );
  assert.ok(!(err instanceof Error), `rejection must be the plain body, got ${err && err.stack}`);
  assert.equal(err.status, 404);
  assert.equal(err.code, 'chat.error.not.found');
  assert.equal(typeof err.contextId, 'string');
  const del = await api.deleteWebchatGuestConversationMember(h.cid, h.memberId).catch((e) => ({ rejected: e }));
  // before the stream is attached the guest may still leave; if the emulator refuses, it must be a documented 400
  if (del && del.rejected) assert.equal(del.rejected.status, 400, JSON.stringify(del.rejected));
  else assert.equal(del, undefined);
});

test('ININ-Correlation-Id is present and unique on success responses', async () => {
  assert.ok(g);
  const a = await call(g.api, 'getWebchatGuestConversationMember', g.cid, g.memberId);
  const b = await call(g.api, 'getWebchatGuestConversationMember', g.cid, g.memberId);
  assert.ok(a.headers['inin-correlation-id'] && b.headers['inin-correlation-id']);
  assert.notEqual(a.headers['inin-correlation-id'], b.headers['inin-correlation-id']);
  assert.match(a.headers['content-type'] || '', /^application\/json/);
});

test('no event-stream envelope or eventBody violations on the shared stream', () => {
  assert.ok(g);
  assert.deepEqual(g.stream.violations, []);
  assert.deepEqual(g.stream.unknownTypes, []);
  assert.ok(g.stream.frames.some(isTyping), 'typing frames were seen');
});

// silence unused-import lint in some editors
void control;
