// docs/tutorial.md, followed literally: in a temporary directory, every ```sh block is run in order (in one
// shell's working directory: a `cd` carries over) and every block whose info string says `file=PATH` is written
// verbatim to PATH, from the project's directory (the one `ssot init DIR` made, as the tutorial says). Then two
// users in Chromium (Debian's, driven by playwright-core) sign up on the page the tutorial built: one adds a
// private note and a note it shares, and the other sees the shared one appear without a reload, never the
// private one, and sees it leave when it is unshared.
//
// What the test changes in the tutorial's text, and nothing else (`substitutions` below):
// - `ssot` at the start of a command is $SSOT_BIN (default ../../target/debug/ssot);
// - `npm install` gets `--no-audit --no-fund --prefer-offline`;
// - the ports 4000 (ssot) and 5173 (Vite) in `localhost:PORT` are free ports chosen here;
// - the two long-running commands, `ssot serve ...` and `npx vite`, are started in the background (ssot with
//   SSOT_LISTEN on its port, Vite with `--port PORT --strictPort`) and stopped at the end.
// CHROMIUM is the browser (default /usr/bin/chromium; without one the test says SKIPPED). Screenshots go to
// $E2E_SCREENSHOTS (default the temporary directory, kept with KEEP_TUTORIAL=1).
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TUTORIAL = path.join(ROOT, 'docs/tutorial.md');
const SSOT = path.resolve(process.env.SSOT_BIN ?? path.join(ROOT, 'target/debug/ssot'));
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const WAIT = { timeout: 15_000 };

const skip = !existsSync(CHROMIUM) && `SKIPPED: no Chromium at ${CHROMIUM} (apt-get install -y chromium, or set CHROMIUM)`;
if (skip) console.log(skip);

/** The fenced blocks of a Markdown text: `{ info, body, before }` (`before`: the text since the previous block). */
export function blocks(markdown) {
  const found = [];
  const fence = /^```([^\n]*)\n([\s\S]*?)^```[ \t]*$/gm;
  let last = 0;
  for (let m; (m = fence.exec(markdown)); ) {
    found.push({ info: m[1].trim(), body: m[2], before: markdown.slice(last, m.index) });
    last = fence.lastIndex;
  }
  return found;
}

/** `n` distinct free ports (held open together, so that they differ). */
async function freePorts(n) {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => resolve(server));
  })));
  const ports = servers.map((server) => server.address().port);
  await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  return ports;
}

const s = { children: [], logs: {} };

function substitutions(ports) {
  return {
    /** Applied to every block, commands and files alike. */
    text: (text) => text.replaceAll('localhost:4000', `localhost:${ports.api}`).replaceAll('localhost:5173', `localhost:${ports.web}`),
    /** Applied to each command line. */
    command: (line) => line.replace(/^ssot(?= )/, '"$SSOT_BIN"').replace(/^npm install$/, 'npm install --no-audit --no-fund --prefer-offline'),
    /** The long-running commands: how each is started in the background, and what it prints once it is ready. */
    background: [
      { match: /^ssot serve( |$)/, env: { SSOT_LISTEN: `127.0.0.1:${ports.api}` }, extra: '', ready: /listening on http/ },
      { match: /^npx vite$/, env: {}, extra: ` --port ${ports.web} --strictPort`, ready: /Local:/ },
    ],
  };
}

/** Starts a long-running command in the background (its own process group) and resolves once it says `ready`. */
function startBackground(name, command, cwd, env, ready) {
  const child = spawn('bash', ['-c', `exec ${command}`], {
    cwd,
    env: { ...process.env, SSOT_BIN: SSOT, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  s.children.push(child);
  s.logs[name] = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start in 60 s:\n${s.logs[name]}`)), 60_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}):\n${s.logs[name]}`));
    });
    const hear = (chunk) => {
      s.logs[name] += chunk;
      if (ready.test(s.logs[name].replace(/\x1b\[[0-9;]*m/g, ''))) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout.on('data', hear);
    child.stderr.on('data', hear);
  });
}

/** Runs one ```sh block in `cwd` and returns the directory it ends in. */
function runCommands(lines, cwd) {
  const script = `set -e\n${lines.join('\n')}\necho "__cwd__=$(pwd)"\n`;
  const started = Date.now();
  const run = spawnSync('bash', ['-c', script], {
    cwd,
    env: { ...process.env, SSOT_BIN: SSOT, NO_COLOR: '1' },
    encoding: 'utf8',
    timeout: 180_000,
  });
  const said = `${run.stdout}\n${run.stderr}`;
  assert.equal(run.status, 0, `the tutorial's commands failed (${run.status ?? run.signal}):\n${lines.join('\n')}\n${said}`);
  console.log(`ran (${((Date.now() - started) / 1000).toFixed(1)} s): ${lines.join(' && ')}`);
  return run.stdout.match(/__cwd__=(.*)\n?$/)[1];
}

before(async () => {
  if (skip) return;
  s.dir = mkdtempSync(path.join(tmpdir(), 'ssot-tutorial-e2e-'));
  s.shots = process.env.E2E_SCREENSHOTS ? path.resolve(process.env.E2E_SCREENSHOTS) : s.dir;
  mkdirSync(s.shots, { recursive: true });
  const [api, web] = await freePorts(2);
  s.ports = { api, web };
  const sub = substitutions(s.ports);

  const found = blocks(readFileSync(TUTORIAL, 'utf8'));
  let cwd = s.dir;
  let ran = 0;
  let written = 0;
  let project; // file paths are relative to it
  for (const block of found) {
    const body = sub.text(block.body);
    const file = block.info.match(/(?:^|\s)file=(\S+)/)?.[1];
    if (file) {
      // The reader sees the path in the sentence before the block, not in the info string.
      assert.ok(block.before.includes(`\`${file}\``), `the text before the block for ${file} does not name it as \`${file}\``);
      assert.ok(project, `${file} comes before \`ssot init\``);
      const target = path.join(s.dir, project, file);
      mkdirSync(path.dirname(target), { recursive: true });
      writeFileSync(target, body);
      written++;
      continue;
    }
    if (block.info !== 'sh') continue;
    const lines = body.split('\n').filter((line) => line.trim() !== '');
    project ??= lines.map((line) => line.match(/^ssot init (\S+)$/)?.[1]).find(Boolean);
    const long = lines.length === 1 && sub.background.find((b) => b.match.test(lines[0]));
    if (long) {
      const command = sub.command(lines[0]) + long.extra;
      await startBackground(lines[0].split(' ').slice(0, 2).join(' '), command, cwd, long.env, long.ready);
      console.log(`started: ${command}`);
    } else {
      for (const line of lines) assert.ok(!sub.background.some((b) => b.match.test(line)), `a long-running command shares a block: ${line}`);
      cwd = runCommands(lines.map(sub.command), cwd);
    }
    ran++;
  }
  assert.ok(ran >= 5 && written >= 5, `the tutorial has ${ran} command blocks and ${written} files: did its conventions change?`);
  assert.equal(s.children.length, 2, 'the tutorial starts `ssot serve` and `npx vite`');
  s.webUrl = `http://localhost:${s.ports.web}`;

  const { chromium } = await import('playwright-core');
  s.browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-dev-shm-usage'] });
  s.errors = [];
  s.pages = {};
  for (const who of ['ann', 'bob']) {
    const page = await (await s.browser.newContext({ viewport: { width: 400, height: 300 } })).newPage();
    page.on('pageerror', (error) => s.errors.push(`${who}: ${error}`));
    s.pages[who] = page;
  }
});

after(async () => {
  await s.browser?.close();
  for (const child of s.children) {
    try {
      process.kill(-child.pid, 'SIGTERM');
    } catch {}
  }
  if (s.dir && !process.env.KEEP_TUTORIAL) rmSync(s.dir, { recursive: true, force: true, maxRetries: 3 });
  else if (s.dir) console.log(`kept ${s.dir}`);
});

async function signUp(page, email) {
  await page.goto(s.webUrl);
  await page.getByPlaceholder('Email').fill(email);
  await page.getByPlaceholder('Password').fill('correct horse battery');
  await page.getByRole('button', { name: 'Sign up' }).click();
  await page.getByText(`Signed in as ${email}`).waitFor(WAIT);
}

async function addNote(page, title) {
  await page.getByPlaceholder('New note').fill(title);
  await page.getByRole('button', { name: 'Add' }).click();
  await page.locator('li', { hasText: title }).waitFor(WAIT);
}

/** Waits until `check()` is true. */
async function until(what, check, timeoutMs = WAIT.timeout) {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    assert.ok(Date.now() < end, `timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Clicks a note's "shared" checkbox and waits until it shows `shared` (a controlled checkbox: it shows the row). */
async function share(page, title, shared) {
  const box = page.locator('li', { hasText: title }).getByRole('checkbox');
  await box.click();
  await until(`the checkbox of ${title} shows shared: ${shared}`, async () => (await box.isChecked()) === shared);
}

test('the tutorial: a shared note appears live in the other user\'s list, a private one never', { skip }, async () => {
  const { ann, bob } = s.pages;
  await signUp(ann, 'ann@example.com');
  await signUp(bob, 'bob@example.com');
  await bob.evaluate(() => { window.__noReload = true; });
  await bob.getByRole('list').waitFor({ state: 'attached', ...WAIT });

  await addNote(ann, 'Groceries');
  await addNote(ann, 'Party on Friday');
  assert.equal(await ann.locator('li').count(), 2);
  assert.equal(await ann.getByRole('checkbox').count(), 2, 'Ann may share each of her notes');
  await ann.screenshot({ path: path.join(s.shots, 'tutorial-ann-two-notes.png') });

  // Both private: Bob's list stays empty.
  await bob.waitForTimeout(500);
  assert.equal(await bob.locator('li').count(), 0, 'Bob sees none of Ann\'s private notes');

  // Shared: it appears in Bob's list at once, marked as someone else's; the private one does not.
  await share(ann, 'Party on Friday', true);
  const party = bob.locator('li', { hasText: 'Party on Friday' });
  await party.waitFor(WAIT);
  assert.match(await party.innerText(), /\(shared with you\)/);
  assert.equal(await party.getByRole('checkbox').count(), 0, 'Bob may not share Ann\'s note');
  // The two windows as docs/tutorial.md shows them (docs/images/tutorial-ann.png, tutorial-bob.png).
  await ann.locator('main').screenshot({ path: path.join(s.shots, 'tutorial-ann.png') });
  await bob.locator('main').screenshot({ path: path.join(s.shots, 'tutorial-bob.png') });
  assert.equal(await bob.locator('li', { hasText: 'Groceries' }).count(), 0, 'the private note never reaches Bob');
  assert.equal(await bob.locator('li').count(), 1);

  // Unshared: it leaves Bob's list.
  await share(ann, 'Party on Friday', false);
  await party.waitFor({ state: 'detached', ...WAIT });
  assert.equal(await bob.locator('li').count(), 0);
  await bob.screenshot({ path: path.join(s.shots, 'tutorial-bob-unshared.png') });

  assert.equal(await bob.evaluate(() => window.__noReload), true, 'Bob\'s page was never reloaded');
  assert.deepEqual(s.errors, []);
  assert.equal(await ann.getByRole('alert').count(), 0);
  assert.equal(await bob.getByRole('alert').count(), 0);
});
