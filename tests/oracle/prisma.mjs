// Shared part of the oracle: loads Prisma's own schema validator (the
// @prisma/prisma-schema-wasm package, two versions side by side) and runs it
// on schema text. Used by validate.mjs (the CLI oracle) and fuzz.mjs (the
// differential fuzzer).
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

import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

export const VERSIONS = {
  v6: 'prisma-schema-wasm-6',
  latest: 'prisma-schema-wasm-latest',
};

// Exit with status 2 and an install hint when the oracle's packages are
// missing. `prog` names the calling script in the message.
export function ensureOracleInstalled(prog) {
  for (const pkg of Object.values(VERSIONS)) {
    if (!existsSync(join(here, 'node_modules', pkg, 'package.json'))) {
      process.stderr.write(
        `${prog}: ${join(here, 'node_modules', pkg)} is missing.\n` +
          `Install the oracle first:  (cd ${relative(process.cwd(), here) || '.'} && npm ci)\n`,
      );
      process.exit(2);
    }
  }
}

let wasm = null;
function loadWasm() {
  if (wasm) return wasm;
  ensureOracleInstalled('prisma.mjs');
  wasm = {};
  for (const [key, pkg] of Object.entries(VERSIONS)) {
    wasm[key] = require(join(here, 'node_modules', pkg));
  }
  return wasm;
}

// Remove `url`, `directUrl` and `shadowDatabaseUrl` properties from
// datasource blocks (Prisma 7+ no longer accepts them in the schema).
export function stripDatasourceUrls(src) {
  const lines = src.split('\n');
  let inDatasource = false;
  const out = [];
  for (const line of lines) {
    if (!inDatasource) {
      if (/^\s*datasource\s+\w+\s*\{/.test(line)) {
        // A one-line block is left alone.
        inDatasource = !/\}/.test(line);
      }
      out.push(line);
      continue;
    }
    if (/^\s*\}/.test(line)) {
      inDatasource = false;
      out.push(line);
      continue;
    }
    if (/^\s*(url|directUrl|shadowDatabaseUrl)\s*=/.test(line)) {
      out.push(''); // blanked, so that line numbers in messages stay the same
      continue;
    }
    out.push(line);
  }
  return out.join('\n');
}

// Run one version (`v6` or `latest`) on `content` as it is (no stripping).
// Returns {valid, error: whole trimmed message | null, oracleFailure?: true}.
export function runVersion(key, fileName, content) {
  const w = loadWasm();
  const params = JSON.stringify({ prismaSchema: [[fileName, content]], noColor: true });
  try {
    w[key].validate(params);
    return { valid: true, error: null };
  } catch (e) {
    const raw = e && e.message !== undefined ? e.message : String(e);
    let parsed = null;
    try {
      parsed = JSON.parse(raw);
    } catch {
      /* not JSON: not a validation error */
    }
    if (parsed && typeof parsed.message === 'string') {
      return { valid: false, error: parsed.message.trim() };
    }
    // A panic or bad input: not a verdict on the schema.
    return { valid: false, error: `ORACLE-FAILURE: ${raw}`, oracleFailure: true };
  }
}

// Both versions on one schema text: Prisma 6.19 on the text as it is, the
// latest with the datasource URLs blanked. `valid` is true when EITHER
// version accepts it; `agree` tells whether both versions give the same
// verdict; `oracleFailure` whether a validator crashed (no verdict; the
// version's own object then carries `oracleFailure: true` too).
export function prismaAccepts(text, fileName = 'schema.prisma') {
  const v6 = runVersion('v6', fileName, text);
  const latest = runVersion('latest', fileName, stripDatasourceUrls(text));
  const oracleFailure = Boolean(v6.oracleFailure || latest.oracleFailure);
  return { valid: v6.valid || latest.valid, agree: v6.valid === latest.valid, oracleFailure, v6, latest };
}
