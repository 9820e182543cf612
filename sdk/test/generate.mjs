// Writes the generated client of the tests' schema into test/generated/ (ssot.ts, react.ts and the runtime
// they import), with the `ssot` of SSOT_BIN (default ../target/debug/ssot): the tests of the generated client
// run on what `ssot generate --target react` writes today.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const sdk = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const bin = process.env.SSOT_BIN ?? path.resolve(sdk, '../target/debug/ssot');
execFileSync(bin, ['generate', 'test/fixtures/app.prisma', '--out', 'test/generated', '--target', 'react'], {
  cwd: sdk,
  stdio: ['ignore', 'ignore', 'pipe'], // on failure, the error's message holds what it said
});
