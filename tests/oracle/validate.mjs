#!/usr/bin/env node
// Oracle for `ssot check`: runs Prisma's own schema validator (the
// @prisma/prisma-schema-wasm package, two versions side by side) on
// Prisma schema files and prints one JSON object per line per file:
//
//   {"path": "...", "valid": bool,
//    "v6":     {"valid": bool, "error": "first lines of message" | null},
//    "latest": {"valid": bool, "error": ... }}
//
// `valid` is true when EITHER version accepts the schema.
//
// Usage: node tests/oracle/validate.mjs FILE_OR_DIR...
//   A directory is searched recursively for *.prisma files.
//   --full   print the whole error message instead of its first lines
//
// The validators are loaded and called by prisma.mjs (shared with the
// differential fuzzer fuzz.mjs).
//
// How `validate` is called (read from the packages' .d.ts and the
// serde struct names in the wasm; the same in 6.19 and 8.1):
//   validate(JSON.stringify({ prismaSchema: [[fileName, content]], noColor: true }))
// `prismaSchema` is an untagged enum: a plain string or a list of
// [fileName, content] pairs; we use the list form so that messages name the
// file. It returns nothing when the schema is valid and throws otherwise;
// the thrown error's message is JSON: {"error_code":"P1012","message":"..."}.
// Note: the key is `noColor`; unknown keys such as `noColorErrors` are
// silently ignored (you then get ANSI colours in messages).
//
// Prisma 7+ rejects `url`, `directUrl` and `shadowDatabaseUrl` in a
// datasource (they moved to prisma.config.ts) while Prisma 6 requires `url`,
// so for the latest version those lines are removed from datasource blocks
// before validating.

import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

import { ensureOracleInstalled, prismaAccepts } from './prisma.mjs';

ensureOracleInstalled('validate.mjs');

const args = process.argv.slice(2);
const full = args.includes('--full');
const inputs = args.filter((a) => a !== '--full');
if (inputs.length === 0) {
  process.stderr.write('usage: node tests/oracle/validate.mjs [--full] FILE_OR_DIR...\n');
  process.exit(2);
}

function collect(p, out) {
  let st;
  try {
    st = statSync(p);
  } catch {
    process.stderr.write(`validate.mjs: no such file or directory: ${p}\n`);
    process.exit(2);
  }
  if (st.isDirectory()) {
    const entries = readdirSync(p).sort();
    for (const e of entries) {
      const child = join(p, e);
      const cst = statSync(child);
      if (cst.isDirectory()) {
        if (e !== 'node_modules') collect(child, out);
      } else if (e.endsWith('.prisma')) {
        out.push(child);
      }
    }
  } else {
    out.push(p);
  }
}

function firstLines(msg, n = 6) {
  if (full) return msg;
  const lines = msg.split('\n');
  return lines.slice(0, n).join('\n');
}

const files = [];
for (const i of inputs) collect(i, files);

let failures = 0;
for (const f of files) {
  const content = readFileSync(f, 'utf8');
  const name = f.split('/').pop();
  const r = prismaAccepts(content, name);
  if (r.oracleFailure) failures++;
  const shown = (v) => ({
    valid: v.valid,
    error: v.error === null || v.oracleFailure ? v.error : firstLines(v.error),
  });
  const v6 = shown(r.v6);
  const latest = shown(r.latest);
  process.stdout.write(
    JSON.stringify({ path: f, valid: v6.valid || latest.valid, v6, latest }) + '\n',
  );
}
if (failures) {
  process.stderr.write(`validate.mjs: the validator itself failed on ${failures} file(s)\n`);
  process.exit(3);
}
