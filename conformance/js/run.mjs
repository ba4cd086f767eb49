#!/usr/bin/env node
// Runs the conformance suite with node's built-in test runner (spec reporter on stdout) and ends with the one
// summary line `N passed, N failed`. Exits non-zero on any failure.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { emulatorBin, missingEmulatorMessage } from './lib/harness.mjs';
import { contractPath } from './lib/schema.mjs';

const here = dirname(fileURLToPath(import.meta.url));

function finish(passed, failed, code) {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(code);
}

// Preconditions, with clear messages.
const problems = [];
if (!existsSync(contractPath()))
  problems.push(`the REST contract is not at ${contractPath()}; it is committed as crates/client/tests/data/rest-contract.json (CONTRACT_PATH points elsewhere).`);
if (!existsSync(emulatorBin())) problems.push(missingEmulatorMessage());
if (problems.length) {
  for (const p of problems) console.log(`conformance/js: ${p}`);
  finish(0, 1, 1);
}

const testDir = join(here, 'test');
const files = readdirSync(testDir).filter((f) => f.endsWith('.test.mjs')).sort().map((f) => join('test', f));
const only = process.argv.slice(2);
const selected = only.length ? only : files;

const tmp = mkdtempSync(join(tmpdir(), 'gc-conformance-'));
const countFile = join(tmp, 'counts.jsonl');
const args = [
  '--test',
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  `--test-reporter=${join(here, 'lib', 'count-reporter.mjs')}`, `--test-reporter-destination=${countFile}`,
  '--test-timeout=45000',
  ...selected,
];
const child = spawn(process.execPath, args, { cwd: here, stdio: ['ignore', 'inherit', 'inherit'] });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => {
  let passed = 0;
  let failed = 0;
  try {
    for (const line of readFileSync(countFile, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const r = JSON.parse(line);
      if (r.skip) continue;
      if (r.ok) passed++;
      else failed++;
    }
  } catch (e) {
    console.error(`conformance/js: could not read test results: ${e.message}`);
  }
  rmSync(tmp, { recursive: true, force: true });
  if ((code !== 0 || signal) && failed === 0) failed = 1; // the runner itself failed
  finish(passed, failed, failed > 0 || code !== 0 ? 1 : 0);
});
