// Custom node:test reporter: emits one JSON line per finished test (suites excluded), for run.mjs to count.
export default async function* countReporter(source) {
  for await (const event of source) {
    if (event.type !== 'test:pass' && event.type !== 'test:fail') continue;
    if (event.data.details?.type === 'suite') continue;
    yield JSON.stringify({ ok: event.type === 'test:pass', skip: !!event.data.skip, name: event.data.name, file: event.data.file }) + '\n';
  }
}
