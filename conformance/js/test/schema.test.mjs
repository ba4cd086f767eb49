// Self-test of the contract validator on real captured payloads (docs/protocol.md) and on known-bad ones,
// so a failure elsewhere can be trusted to be the emulator's and not the validator's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { validate, loadContract } from '../lib/schema.mjs';
import { contractViolations } from '../lib/harness.mjs';

test('the REST contract loads and has the 11 guest operations and 21 models', () => {
  const contract = loadContract();
  assert.equal(new Set(contract.operations.map((o) => o.operationId)).size, 11);
  assert.equal(Object.keys(contract.models).length, 21);
});

test('validator accepts real captured responses (omitted "required" fields, relative selfUris)', () => {
  const create = {
    id: '0e4a4c93-dd6f-4440-929a-3f22fb1c7d3f',
    jwt: 'eyJhbGciOiJSUzI1NiIs.x.y',
    eventStreamUri: 'wss://carrier-pigeon.mypurecloud.com/v1/token/eyJ',
    member: { id: '2f999537-c4ad-475d-bd95-3d38a814cd46' },
  };
  assert.deepEqual(validate(create, 'CreateWebChatConversationResponse'), []);
  const msg = {
    id: 'd184e1de-b9c8-4dd3-b970-a2a5adbaac3a',
    conversation: { id: '0e4a4c93', selfUri: '/api/v2/conversations/0e4a4c93' },
    sender: { id: '2f999537' },
    body: 'Teste chat',
    bodyType: 'standard',
    timestamp: '2020-08-05T13:09:49.546Z',
    selfUri: '/api/v2/webchat/guest/conversations/0e4a4c93/messages/d184e1de',
  };
  assert.deepEqual(validate(msg, 'WebChatMessage'), []);
  const err = {
    message: 'Conversation State', code: 'chat.error.conversation.state', status: 400, messageWithParams: 'Conversation State',
    messageParams: { message: 'The conversation is not active' }, contextId: '9cfabc07', details: [], errors: [],
  };
  assert.deepEqual(validate(err, 'ErrorBody'), []);
});

test('validator rejects wrong types, enum case, bad date-time, unknown properties, nulls', () => {
  const bad = { id: 1, role: 'agent', joinDate: 'yesterday', state: 'CONNECTED', extra: true, leaveDate: null };
  const v = validate(bad, 'WebChatMemberInfo');
  assert.equal(v.length, 5, v.join('\n'));
  assert.ok(v.some((x) => x.includes('$.id: expected string')));
  assert.ok(v.some((x) => x.includes('"agent" not in enum')));
  assert.ok(v.some((x) => x.includes('date-time')));
  assert.ok(v.some((x) => x.includes('unknown property "extra"')));
  assert.ok(v.some((x) => x.includes('$.leaveDate: null')));
  assert.equal(validate({ entities: [{ types: ['cobrowse'], state: 'PENDING' }] }, 'WebChatGuestMediaRequestEntityList').length, 1);
  assert.equal(validate({ pageSize: 1.5 }, 'WebChatMessageEntityList').length, 1);
  assert.equal(validate({ customFields: { a: 1 } }, 'GuestMemberInfo').length, 1);
  assert.equal(validate({ body: 'x' }, 'CreateWebChatMessageRequest', { enforceRequired: true }).length, 0);
  assert.equal(validate({}, 'CreateWebChatMessageRequest', { enforceRequired: true }).length, 1);
});

test('contract check: error bodies need contextId = ININ-Correlation-Id and a documented code', () => {
  const body = { message: 'm', code: 'not.authorized', status: 403, contextId: 'c1', details: [], errors: [] };
  assert.deepEqual(contractViolations('getWebchatGuestConversationMember', { status: 403, headers: { 'inin-correlation-id': 'c1' }, body }), []);
  assert.equal(contractViolations('getWebchatGuestConversationMember', { status: 403, headers: { 'inin-correlation-id': 'c2' }, body }).length, 1);
  assert.equal(
    contractViolations('getWebchatGuestConversationMember', { status: 403, headers: { 'inin-correlation-id': 'c1' }, body: { ...body, code: 'nope' } }).length,
    1,
  );
  assert.equal(contractViolations('getWebchatGuestConversationMember', { status: 418, headers: {}, body }).length, 1);
  assert.deepEqual(contractViolations('deleteWebchatGuestConversationMember', { status: 204, headers: {}, body: '' }), []);
});
