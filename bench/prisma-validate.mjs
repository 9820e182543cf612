#!/usr/bin/env node
// Times Prisma's own validator (@prisma/prisma-schema-wasm, both versions the oracle
// installs) on one schema file, the peer of `cargo bench -p ssot-schema`.
// Usage: node bench/prisma-validate.mjs FILE [ITERATIONS]
import { createRequire } from 'node:module';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);
const [file, iterationsArg] = process.argv.slice(2);
if (!file) {
  console.error('usage: node bench/prisma-validate.mjs FILE [ITERATIONS]');
  process.exit(2);
}
const iterations = Number(iterationsArg ?? 200);
const source = readFileSync(file, 'utf8');
// Prisma 6 needs a datasource `url`, Prisma 7+ refuses one: give each version the form it takes.
const withoutUrls = source.replace(/^\s*(url|directUrl|shadowDatabaseUrl)\s*=.*$/gm, '');
const withUrl = /^\s*url\s*=/m.test(source)
  ? source
  : source.replace(/(datasource\s+\w+\s*\{)/, '$1\n  url = env("DATABASE_URL")');

for (const [label, pkg, text] of [
  ['prisma 6.19', 'prisma-schema-wasm-6', withUrl],

  ['prisma latest', 'prisma-schema-wasm-latest', withoutUrls],
]) {
  const wasm = require(join(here, '../tests/oracle/node_modules', pkg));
  const params = JSON.stringify({ prismaSchema: [[file, text]], noColor: true });
  let accepted = true;
  try {
    wasm.validate(params);
  } catch {
    accepted = false;
  }
  for (let i = 0; i < 20; i++) {
    try { wasm.validate(params); } catch { /* timed below */ }
  }
  const times = [];
  // CPU time of the whole process (its collector's threads too), which on a shared host
  // does not count the time others hold the cores, as the wall time does.
  const cpuStart = process.cpuUsage();
  for (let i = 0; i < iterations; i++) {
    const start = process.hrtime.bigint();
    try { wasm.validate(params); } catch { /* same work either way */ }
    times.push(Number(process.hrtime.bigint() - start) / 1e6);
  }
  const cpu = process.cpuUsage(cpuStart);
  const cpuMs = (cpu.user + cpu.system) / 1000 / iterations;
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)];
  const p10 = times[Math.floor(times.length * 0.1)];
  const p90 = times[Math.floor(times.length * 0.9)];
  console.log(`${label}: validate ${file} (${accepted ? 'valid' : 'INVALID'}): median ${median.toFixed(3)} ms, p10 ${p10.toFixed(3)} ms, p90 ${p90.toFixed(3)} ms over ${iterations} runs, cpu ${cpuMs.toFixed(3)} ms each`);
}
