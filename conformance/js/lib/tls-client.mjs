// Child process of test/tls.test.mjs: runs a chat through the official SDK over https and `ws` over wss against an
// emulator started with --tls. NODE_EXTRA_CA_CERTS (set by the parent to the emulator's certificate) is what makes
// node trust it: the SDK itself has no TLS option, exactly as for a real app behind a private CA.
// Prints one JSON line with what it saw; exits 1 on any failure.
import assert from 'node:assert/strict';
import { makeClient, call, expectOk, createBody, openStream, isMemberChange, isMessage } from './harness.mjs';

const base = process.env.EMU_BASE;
const report = {};
try {
  const { client, api } = makeClient(base);
  const created = expectOk(await call(api, 'postWebchatGuestConversations', createBody()));
  client.setJwt(created.jwt);
  report.eventStreamUri = created.eventStreamUri.replace(created.jwt, '<jwt>');
  const s = openStream(created.eventStreamUri);
  await s.waitFor((f) => isMemberChange(f, created.member.id, 'CONNECTED'), { desc: 'guest CONNECTED over wss' });
  const greeting = await s.waitFor((f) => isMessage(f) && f.eventBody.bodyType === 'standard', { desc: 'greeting' });
  report.greeting = greeting.eventBody.body;
  const sent = expectOk(
    await call(api, 'postWebchatGuestConversationMemberMessages', created.id, created.member.id, { body: 'over tls', bodyType: 'standard' }),
  );
  const reply = await s.waitFor((f) => isMessage(f) && f.eventBody.body === 'You said: over tls', { desc: 'echo reply over wss' });
  report.reply = reply.eventBody.body;
  const history = expectOk(await call(api, 'getWebchatGuestConversationMessages', created.id, { sortOrder: 'ascending' }));
  report.historyHasSent = history.entities.some((m) => m.id === sent.id);
  assert.deepEqual(s.violations, []);
  s.close();
  console.log(JSON.stringify({ ok: true, ...report }));
  process.exit(0);
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: String(e && e.stack ? e.stack : e), ...report }));
  process.exit(1);
}
