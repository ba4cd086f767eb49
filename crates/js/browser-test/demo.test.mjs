// The demo page in a real browser: `guest-chat emulator --web-demo` serves /demo, which loads the JavaScript
// package's web build; headless Chromium (Debian's, driven by playwright-core) starts a chat, sees the agent and
// its typing indicator, sends a message, sees the agent's reply in the DOM, leaves, and saves a screenshot.
//
// Needs: scripts/build-js.sh (crates/js/pkg/web), `cargo build -p guest-chat-cli`, chromium.
// Environment: GUEST_CHAT_BIN (default target/debug/guest-chat), CHROMIUM (default /usr/bin/chromium),
// SCREENSHOT (default target/browser/demo.png).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const bin = resolve(process.env.GUEST_CHAT_BIN || join(root, 'target/debug/guest-chat'));
const browserPath = process.env.CHROMIUM || '/usr/bin/chromium';
const screenshot = resolve(process.env.SCREENSHOT || join(root, 'target/browser/demo.png'));

let emulator;
let base;
let browser;

before(async () => {
  assert.ok(existsSync(bin), `${bin} is missing: cargo build -p guest-chat-cli (or set GUEST_CHAT_BIN)`);
  assert.ok(existsSync(join(root, 'crates/js/pkg/web/guest_chat_js.js')), 'crates/js/pkg/web is missing: run scripts/build-js.sh');
  emulator = spawn(bin, ['emulator', '--host', '127.0.0.1', '--port', '0', '--web-demo', '--exit-on-stdin-close'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  base = await new Promise((ok, fail) => {
    const rl = createInterface({ input: emulator.stdout });
    rl.on('line', (line) => {
      const m = /^guest-chat emulator listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line.trim());
      if (m) ok(m[1]);
    });
    emulator.on('exit', (code) => fail(new Error(`the emulator exited (${code}) before listening`)));
  });
  // Headless on a closed network: no sandbox (root), no GPU, no background traffic to the internet. Playwright
  // gives the browser a fresh profile in a temporary directory and removes it on close.
  browser = await chromium.launch({
    executablePath: browserPath,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
    ],
  });
});

after(async () => {
  await browser?.close();
  if (emulator && emulator.exitCode === null) {
    const exited = new Promise((r) => emulator.once('exit', r));
    emulator.kill('SIGTERM');
    await exited;
  }
});

test('the /demo page chats with the agent: connected, members, typing, message and reply, leave; screenshot', async () => {
  const page = await browser.newPage({ viewport: { width: 900, height: 640 } });
  const pageErrors = [];
  page.on('pageerror', (e) => pageErrors.push(e.message));
  page.on('console', (m) => m.type() === 'error' && pageErrors.push(m.text()));

  await page.goto(`${base}/demo`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 20000 }); // the wasm is compiled and initialised
  await page.fill('#name', 'Browser Guest');
  await page.click('#start');
  await page.waitForSelector('#state[data-state="connected"]', { timeout: 20000 });
  await page.waitForSelector('#members li[data-role="agent"]');
  const members = await page.locator('#members li').allTextContents();
  assert.ok(members.some((m) => m.startsWith('Browser Guest')), `the guest is listed: ${JSON.stringify(members)}`);

  // The echo agent shows its typing indicator, then answers "You said: <text>".
  const typingShown = page.waitForSelector('#typing:not([hidden])', { timeout: 20000 });
  await page.fill('#text', 'hello from Chromium');
  await page.click('#send');
  await typingShown;
  const reply = page.locator('#messages li.agent', { hasText: 'You said: hello from Chromium' });
  await reply.waitFor({ timeout: 20000 });
  const own = page.locator('#messages li.customer', { hasText: 'hello from Chromium' });
  assert.equal(await own.count(), 1, 'the guest message is shown once');

  mkdirSync(dirname(screenshot), { recursive: true });
  await page.screenshot({ path: screenshot, fullPage: true });
  assert.ok(statSync(screenshot).size > 5000, `screenshot written: ${screenshot}`);

  await page.click('#leave');
  await page.waitForSelector('#state[data-state="ended"]', { timeout: 20000 });
  assert.deepEqual(pageErrors, [], 'no error in the page');
  const session = await page.evaluate(() => document.body.dataset.session);
  console.log(`session: ${session}; screenshot: ${screenshot}`);
});

test('GuestChat.events() is an async iterator: for await sees the agent reply, then leave ends it', async () => {
  const page = await browser.newPage();
  await page.goto(`${base}/demo`);
  await page.waitForSelector('body[data-ready="true"]', { timeout: 20000 });
  const seen = await page.evaluate(async () => {
    const { ApiClient, GuestChat } = await import('/demo/pkg/guest_chat_js.js'); // initialised by the page
    const client = new ApiClient();
    client.setEnvironment(location.origin);
    const chat = await GuestChat.start(client, {
      organizationId: '0f3e5d6c-8c47-4bb1-9f7a-2d6b3c6c1a01',
      deploymentId: '5a1b8f2e-3c4d-4e5f-8a9b-0c1d2e3f4a5b',
      routingTarget: { targetType: 'QUEUE', targetAddress: 'Chat Queue' },
      memberInfo: { displayName: 'Iterator Guest' },
    });
    const types = [];
    let sent = false;
    for await (const e of chat.events()) {
      types.push(e.type === 'message' ? `message:${e.message.body}` : e.type);
      if (!sent && e.type === 'message' && e.sender.role === 'AGENT') {
        sent = true;
        await chat.send('via the iterator');
      }
      if (e.type === 'message' && e.message.body === 'You said: via the iterator') await chat.leave();
      if (e.type === 'ended') break;
    }
    return { types, state: chat.state, endedBy: chat.endedBy };
  });
  assert.ok(seen.types.includes('message:You said: via the iterator'), JSON.stringify(seen));
  assert.equal(seen.types.at(-1), 'ended', JSON.stringify(seen));
  assert.equal(seen.state, 'ended');
  assert.equal(seen.endedBy, 'guest');
});
