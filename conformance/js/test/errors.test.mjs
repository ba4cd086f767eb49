// Error behaviour through the official SDK: every rejection body is a contract ErrorBody whose contextId is the
// ININ-Correlation-Id header (checked by call()/expectError()).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startEmulator, makeClient, call, expectOk, expectError, newGuest, createBody, OURS, expectRefused } from '../lib/harness.mjs';

let emu;
let a; // attached guest A
let b; // attached guest B (another conversation)
let agentOfA;

before(async () => {
  emu = await startEmulator(['--agent', 'echo', '--agent-delay-ms', '10']);
  a = await newGuest(emu, { attach: true });
  b = await newGuest(emu, { attach: true });
  agentOfA = a.agentId;
});
after(async () => {
  a?.stream?.close();
  b?.stream?.close();
  await emu?.stop();
});

const MR = '00000000-0000-4000-8000-00000000beef';
/** Each of the 10 JWT-protected operations with valid-looking arguments for guest `x`. */
function jwtOps(x) {
  return [
    ['postWebchatGuestConversationMemberMessages', x.cid, x.memberId, { body: 'hi', bodyType: 'standard' }],
    ['postWebchatGuestConversationMemberTyping', x.cid, x.memberId],
    ['getWebchatGuestConversationMember', x.cid, x.memberId],
    ['getWebchatGuestConversationMembers', x.cid, {}],
    ['getWebchatGuestConversationMessage', x.cid, MR],
    ['getWebchatGuestConversationMessages', x.cid, {}],
    ['deleteWebchatGuestConversationMember', x.cid, x.memberId],
    ['getWebchatGuestConversationMediarequests', x.cid],
    ['getWebchatGuestConversationMediarequest', x.cid, MR],
    ['patchWebchatGuestConversationMediarequest', x.cid, MR, { types: ['COBROWSE'], state: 'ACCEPTED' }],
  ];
}

test('missing JWT: 401 authentication.required on all 10 JWT operations', async () => {
  const { api } = makeClient(emu.base); // no setJwt -> no Authorization header
  if (OURS) {
    // ours refuses a JWT operation without a JWT before sending (kind missingJwt)
    for (const [op, ...args] of jwtOps(a)) await expectRefused(api[op](...args), 'missingJwt', op);
    return;
  }
  for (const [op, ...args] of jwtOps(a)) expectError(await call(api, op, ...args), 401, 'authentication.required', op);
});

test('garbage JWT: 401 bad.credentials on all 10 JWT operations', async () => {
  const { client, api } = makeClient(emu.base);
  client.setJwt('garbage');
  for (const [op, ...args] of jwtOps(a)) expectError(await call(api, op, ...args), 401, 'bad.credentials', op);
});

test('JWT with a tampered signature / "[REDACTED]": 401 bad.credentials', async () => {
  const { client, api } = makeClient(emu.base);
  const [h, p, s] = a.jwt.split('.');
  const flipped = s.slice(0, 10) + (s[10] === 'A' ? 'B' : 'A') + s.slice(11);
  client.setJwt(`${h}.${p}.${flipped}`);
  expectError(await call(api, 'getWebchatGuestConversationMember', a.cid, a.memberId), 401, 'bad.credentials', 'tampered');
  client.setJwt('[REDACTED]');
  expectError(await call(api, 'getWebchatGuestConversationMember', a.cid, a.memberId), 401, 'bad.credentials', '[REDACTED]');
});

test('lower-case "bearer" scheme is accepted', async () => {
  // ours takes the bearer token of defaultHeaders' Authorization as the JWT (sent as "Bearer", masked like one)
  const { client, api } = makeClient(emu.base);
  Object.defineProperty(client, 'defaultHeaders', { get: () => ({ Authorization: `bearer ${a.jwt}` }), set: () => {}, configurable: true });
  expectOk(await call(api, 'getWebchatGuestConversationMember', a.cid, a.memberId));
});

test("another conversation's JWT: 403 not.authorized on all 10 JWT operations", async () => {
  const { client, api } = makeClient(emu.base);
  client.setJwt(b.jwt);
  for (const [op, ...args] of jwtOps(a)) expectError(await call(api, op, ...args), 403, 'not.authorized', op);
  // and A itself is unaffected
  expectOk(await call(a.api, 'getWebchatGuestConversationMember', a.cid, a.memberId));
});

test('member-scoped writes for another member (the agent): 403 not.authorized', async () => {
  expectError(await call(a.api, 'postWebchatGuestConversationMemberMessages', a.cid, agentOfA, { body: 'as agent' }), 403, 'not.authorized', 'message');
  expectError(await call(a.api, 'postWebchatGuestConversationMemberTyping', a.cid, agentOfA), 403, 'not.authorized', 'typing');
  expectError(await call(a.api, 'deleteWebchatGuestConversationMember', a.cid, agentOfA), 403, 'not.authorized', 'delete');
  // reading another member is allowed
  expectOk(await call(a.api, 'getWebchatGuestConversationMember', a.cid, agentOfA));
});

test('unknown conversation: 404 not.found (or 403 not.authorized, as the JWT names another conversation)', async () => {
  const res = await call(a.api, 'getWebchatGuestConversationMembers', '11111111-2222-4333-8444-555555555555', {});
  if (res.status === 404) expectError(res, 404, 'not.found');
  else expectError(res, 403, 'not.authorized');
});

test('unknown member / message / media request: 404 chat.error.not.found', async () => {
  expectError(await call(a.api, 'getWebchatGuestConversationMember', a.cid, 'no-such-member'), 404, 'chat.error.not.found', 'member');
  expectError(await call(a.api, 'getWebchatGuestConversationMessage', a.cid, 'no-such-message'), 404, 'chat.error.not.found', 'message');
  expectError(await call(a.api, 'getWebchatGuestConversationMediarequest', a.cid, 'no-such-request'), 404, 'chat.error.not.found', 'media request');
  expectError(
    await call(a.api, 'patchWebchatGuestConversationMediarequest', a.cid, 'no-such-request', { types: ['COBROWSE'], state: 'DECLINED' }),
    404,
    'chat.error.not.found',
    'patch media request',
  );
});

test('ids needing percent-encoding (as the SDK encodes them) reach the handler: 404 chat.error.not.found ErrorBody', async () => {
  for (const id of ['a/b c', "it's", 'x?y#z&w=v+u%t', 'ü€😀', '..']) {
    if (OURS && id === '..') {
      // ours refuses an id that would change the path
      await expectRefused(a.api.getWebchatGuestConversationMember(a.cid, id), 'invalidArgument', 'member id ..');
      continue;
    }
    expectError(await call(a.api, 'getWebchatGuestConversationMember', a.cid, id), 404, 'chat.error.not.found', `member id ${JSON.stringify(id)}`);
  }
});

test('create validation: missing displayName / routingTarget / organizationId / deploymentId -> 400', async () => {
  const { api } = makeClient(emu.base);
  const noName = createBody();
  delete noName.memberInfo.displayName;
  expectError(await call(api, 'postWebchatGuestConversations', noName), 400, 'chat.error.notnull.createconversationrequest.memberinfo.displayname');
  const noTarget = createBody();
  delete noTarget.routingTarget;
  expectError(await call(api, 'postWebchatGuestConversations', noTarget), 400, 'chat.error.notnull.createconversationrequest.routingtarget');
  const noMember = createBody();
  delete noMember.memberInfo;
  expectError(await call(api, 'postWebchatGuestConversations', noMember), 400, null, 'no memberInfo');
  const noOrg = createBody();
  delete noOrg.organizationId;
  expectError(await call(api, 'postWebchatGuestConversations', noOrg), 400, null, 'no organizationId');
  const noDep = createBody();
  delete noDep.deploymentId;
  expectError(await call(api, 'postWebchatGuestConversations', noDep), 400, null, 'no deploymentId');
  const badType = createBody({ routingTarget: { targetType: 'SKILL', targetAddress: 'Chat Queue' } });
  expectError(await call(api, 'postWebchatGuestConversations', badType), 400, null, 'targetType SKILL');
});

test('message body: 4000 characters accepted, 4001 -> 400 constraint.validation, missing body -> 400', async () => {
  expectOk(await call(a.api, 'postWebchatGuestConversationMemberMessages', a.cid, a.memberId, { body: 'x'.repeat(4000) }));
  if (OURS) {
    // ours refuses a message the service would refuse, before sending
    await expectRefused(a.api.postWebchatGuestConversationMemberMessages(a.cid, a.memberId, { body: 'x'.repeat(4001) }), 'invalidArgument', '4001');
    await expectRefused(a.api.postWebchatGuestConversationMemberMessages(a.cid, a.memberId, { bodyType: 'standard' }), 'invalidArgument', 'no body');
    return;
  }
  expectError(await call(a.api, 'postWebchatGuestConversationMemberMessages', a.cid, a.memberId, { body: 'x'.repeat(4001) }), 400, 'constraint.validation');
  expectError(await call(a.api, 'postWebchatGuestConversationMemberMessages', a.cid, a.memberId, { bodyType: 'standard' }), 400, null, 'no body');
});

test('guest may not send system bodyTypes (member-join): 400 invalid.value', async () => {
  if (OURS) {
    // the same with a body: ours refuses an empty body before sending
    await expectRefused(a.api.postWebchatGuestConversationMemberMessages(a.cid, a.memberId, { body: '', bodyType: 'member-join' }), 'invalidArgument');
    expectError(await call(a.api, 'postWebchatGuestConversationMemberMessages', a.cid, a.memberId, { body: 'x', bodyType: 'member-join' }), 400, 'invalid.value');
    return;
  }
  expectError(await call(a.api, 'postWebchatGuestConversationMemberMessages', a.cid, a.memberId, { body: '', bodyType: 'member-join' }), 400, 'invalid.value');
});

test('oversize request body (> 65536 bytes): 413 request.entity.too.large', async () => {
  if (OURS) {
    // ours refuses a message over 4000 characters before sending: the 413 cannot be reached through it
    await expectRefused(a.api.postWebchatGuestConversationMemberMessages(a.cid, a.memberId, { body: 'y'.repeat(70000) }), 'invalidArgument');
    return;
  }
  const res = await call(a.api, 'postWebchatGuestConversationMemberMessages', a.cid, a.memberId, { body: 'y'.repeat(70000) });
  expectError(res, 413, 'request.entity.too.large');
  assert.match(res.body.message, /65536/, `message should state the limit: ${res.body.message}`);
});

test('after a 413 the next SDK call (keep-alive socket reuse) still gets an HTTP answer', async () => {
  // node's global agent keeps connections alive; if the server drops the connection after an unread oversize body
  // without "Connection: close", the next request written to that socket fails with EPIPE/ECONNRESET.
  const transport = async (what, fn) => {
    try {
      return await fn();
    } catch (e) {
      return assert.fail(
        `${what} failed at transport level, i.e. the server closed a keep-alive connection after a 413 ` +
          `without sending "Connection: close": ${e.message.split('\n')[0]}`,
      );
    }
  };
  // Ours refuses a message over 4000 characters before sending; its oversize body is a create request whose
  // custom fields (which no SDK limits) exceed the emulator's 65536 bytes.
  const big = await transport(OURS ? 'an oversize create request' : 'an oversize POST right after another 413', () =>
    OURS
      ? call(a.api, 'postWebchatGuestConversations', createBody({ memberInfo: { displayName: 'Big', customFields: { notes: 'y'.repeat(70000) } } }))
      : call(a.api, 'postWebchatGuestConversationMemberMessages', a.cid, a.memberId, { body: 'y'.repeat(70000) }));
  expectError(big, 413, 'request.entity.too.large');
  const follow = await transport('the GET right after a 413', () => call(a.api, 'getWebchatGuestConversationMember', a.cid, a.memberId));
  expectOk(follow);
});

test('history query validation: maxResults 101 / -1 -> 400 constraint.validation; unknown after -> 400 invalid.query.param.value', async () => {
  expectError(await call(a.api, 'getWebchatGuestConversationMessages', a.cid, { maxResults: 101 }), 400, 'constraint.validation', 'maxResults=101');
  expectError(await call(a.api, 'getWebchatGuestConversationMessages', a.cid, { maxResults: -1 }), 400, 'constraint.validation', 'maxResults=-1');
  expectError(await call(a.api, 'getWebchatGuestConversationMessages', a.cid, { after: 'no-such-message-id' }), 400, 'invalid.query.param.value', 'after');
  expectError(await call(a.api, 'getWebchatGuestConversationMessages', a.cid, { sortOrder: 'sideways' }), 400, null, 'sortOrder=sideways');
});

test('sending before the event stream is attached: 400 chat.error.conversation.state', async () => {
  const c = await newGuest(emu); // not attached
  const res = await call(c.api, 'postWebchatGuestConversationMemberMessages', c.cid, c.memberId, { body: 'too early' });
  expectError(res, 400, 'chat.error.conversation.state');
  expectError(await call(c.api, 'postWebchatGuestConversationMemberTyping', c.cid, c.memberId), 400, 'chat.error.conversation.state', 'typing');
});

test('[REDACTED] defect: the unpatched SDK (create, setJwt, call) sends "Authorization: [REDACTED]" and gets 401 bad.credentials', async () => {
  const { client, api } = makeClient(emu.base, { patched: false });
  const created = expectOk(await call(api, 'postWebchatGuestConversations', createBody()));
  client.setJwt(created.jwt);
  if (OURS) {
    // fixed in ours: the create call leaves nothing behind, the JWT works at once
    assert.deepEqual({ ...client.defaultHeaders }, {});
    expectOk(await call(api, 'getWebchatGuestConversationMember', created.id, created.member.id));
    return;
  }
  // the SDK polluted its own defaultHeaders during the unauthenticated create call
  assert.equal(client.defaultHeaders.Authorization, '[REDACTED]', 'SDK 13.2.0 defect reproduced');
  expectError(await call(api, 'getWebchatGuestConversationMember', created.id, created.member.id), 401, 'bad.credentials');
  // the per-call reset workaround makes the same JWT work
  client.defaultHeaders = {};
  expectOk(await call(api, 'getWebchatGuestConversationMember', created.id, created.member.id));
});

// ----- emulators with special flags --------------------------------------------------------------------

test('rate limit (--rate-limit 5/60, per JWT): 6th call 429 too.many.requests.retry.after with Retry-After; other JWTs unaffected', async () => {
  const rl = await startEmulator(['--agent', 'echo', '--rate-limit', '5/60']);
  try {
    const x = await newGuest(rl);
    const y = await newGuest(rl);
    for (let i = 1; i <= 5; i++) expectOk(await call(x.api, 'getWebchatGuestConversationMember', x.cid, x.memberId), 200, `call ${i}`);
    const res = await call(x.api, 'getWebchatGuestConversationMember', x.cid, x.memberId);
    expectError(res, 429, 'too.many.requests.retry.after', 'call 6');
    const ra = res.headers['retry-after'];
    assert.match(String(ra), /^\d+$/, `Retry-After must be integer seconds, got ${ra}`);
    assert.ok(Number(ra) >= 1 && Number(ra) <= 60, `Retry-After ${ra} within the 60 s window`);
    expectOk(await call(y.api, 'getWebchatGuestConversationMember', y.cid, y.memberId), 200, 'other JWT');
  } finally {
    await rl.stop();
  }
});

test('rate-limit headers inin-ratelimit-allowed/count/reset on normal responses', async () => {
  const rl = await startEmulator(['--agent', 'echo', '--rate-limit', '5/60']);
  try {
    const x = await newGuest(rl);
    const r1 = await call(x.api, 'getWebchatGuestConversationMember', x.cid, x.memberId);
    const r2 = await call(x.api, 'getWebchatGuestConversationMember', x.cid, x.memberId);
    for (const h of ['inin-ratelimit-allowed', 'inin-ratelimit-count', 'inin-ratelimit-reset'])
      assert.match(String(r2.headers[h]), /^\d+$/, `${h} header: ${JSON.stringify(r2.headers)}`);
    assert.equal(r2.headers['inin-ratelimit-allowed'], '5');
    assert.equal(Number(r2.headers['inin-ratelimit-count']), Number(r1.headers['inin-ratelimit-count']) + 1);
  } finally {
    await rl.stop();
  }
});

test('expired JWT (--jwt-lifetime-secs 1): 401 credentials.expired', async () => {
  const ex = await startEmulator(['--agent', 'echo', '--jwt-lifetime-secs', '1']);
  try {
    const x = await newGuest(ex);
    const claims = JSON.parse(Buffer.from(x.jwt.split('.')[1], 'base64url').toString());
    assert.ok(claims.exp - claims.iat <= 1, `exp - iat = ${claims.exp - claims.iat}, expected 1`);
    // poll until the token has expired (condition wait with a deadline, not a fixed sleep)
    const deadline = Date.now() + 6000;
    let res;
    for (;;) {
      res = await call(x.api, 'getWebchatGuestConversationMember', x.cid, x.memberId);
      if (res.status !== 200 || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 150));
    }
    expectError(res, 401, 'credentials.expired');
    expectError(await call(x.api, 'getWebchatGuestConversationMessages', x.cid), 401, 'credentials.expired', 'messages');
  } finally {
    await ex.stop();
  }
});

test('--max-request-bytes 1024: a 2 KB message is 413 request.entity.too.large with the limit in the message', async () => {
  const mx = await startEmulator(['--agent', 'echo', '--max-request-bytes', '1024']);
  try {
    const { api } = makeClient(mx.base);
    const big = createBody();
    big.memberInfo.customFields.blob = 'z'.repeat(2048);
    const res = await call(api, 'postWebchatGuestConversations', big);
    const body = expectError(res, 413, 'request.entity.too.large');
    assert.match(body.message, /1024/, `message should state the limit: ${body.message}`);
  } finally {
    await mx.stop();
  }
});
