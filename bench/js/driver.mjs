// Send-message calls through the official JS SDK (purecloud-guest-chat-client, the version
// pinned by conformance/js, installed there with `npm ci`), on node's single thread.
// Same flags and JSON report line as the Rust drivers; see bench/run.sh.
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unwatchFile } from 'node:fs';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(resolve(here, '../../conformance/js/package.json'));
const platformClient = require('purecloud-guest-chat-client');

const args = { url: '', conv: 'c1', member: 'm1', jwt: 'abc.def.ghi', inFlight: 1, secs: 4, warmup: 0.5 };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) {
  const key = argv[i].replace(/^--/, '').replace(/-(.)/g, (_, c) => c.toUpperCase());
  if (!(key in args)) throw new Error(`unknown flag ${argv[i]}`);
  args[key] = typeof args[key] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
}
if (!args.url) throw new Error('--url is required');

// An independent ApiClient pinned to the URL, as conformance/js/lib/harness.mjs makes it.
const ApiClient = Object.getPrototypeOf(platformClient.ApiClient).constructor;
const client = new ApiClient();
const setEnv = client.config.setEnvironment.bind(client.config);
client.config.setEnvironment = (e) => {
  setEnv(e);
  client.config.basePath = args.url;
};
client.config.basePath = args.url;
client.config.live_reload_config = false;
try {
  unwatchFile(client.config.configPath);
} catch {
  /* not watched */
}
client.proxy = false;
// The documented workaround for the SDK sending `Authorization: [REDACTED]` (js-sdk defect).
Object.defineProperty(client, 'defaultHeaders', { get: () => ({}), set: () => {}, configurable: true });
client.setJwt(args.jwt);
const api = new platformClient.WebChatApi(client);
const body = { body: 'hello' };

const lat = [];
let calls = 0;
let errors = 0;
let firstError = null;
const start = process.hrtime.bigint();
const measureFrom = start + BigInt(Math.round(args.warmup * 1e9));
const end = measureFrom + BigInt(Math.round(args.secs * 1e9));

async function loop() {
  for (;;) {
    const t0 = process.hrtime.bigint();
    if (t0 >= end) return;
    let ok = true;
    try {
      await api.postWebchatGuestConversationMemberMessages(args.conv, args.member, body);
    } catch (e) {
      ok = false;
      errors += 1;
      firstError ??= String(e?.message ?? e);
    }
    const t1 = process.hrtime.bigint();
    if (ok && t0 >= measureFrom && t1 <= end) {
      calls += 1;
      lat.push(Number(t1 - t0) / 1000);
    }
  }
}

await Promise.all(Array.from({ length: args.inFlight }, loop));
lat.sort((a, b) => a - b);
const q = (p) => (lat.length ? Math.round(lat[Math.min(lat.length - 1, Math.floor(p * lat.length))]) : 0);
console.log(
  JSON.stringify({
    client: 'js',
    inFlight: args.inFlight,
    calls,
    errors,
    firstError,
    callsPerSec: calls / args.secs,
    p50Us: q(0.5),
    p99Us: q(0.99),
    peakRssKiB: process.resourceUsage().maxRSS,
  }),
);
process.exit(0);
