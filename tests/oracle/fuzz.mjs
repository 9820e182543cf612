#!/usr/bin/env node
// Differential fuzzer: `ssot check` against Prisma's own validator.
//
// Usage:
//   node tests/oracle/fuzz.mjs --ssot PATH_TO_SSOT --seeds DIR_OR_FILE... \
//        [--iterations N] [--time SECONDS] [--out DIR] [--seed S] [--jobs J]
//        [--max-mutations K] [--minimize] [--quiet]
//
// It mutates the seed schemas (line, block and token mutations drawn from the
// seeds and from a Prisma vocabulary; deterministic for a given --seed), runs
// both Prisma versions in-process on each mutant (prisma.mjs, as
// validate.mjs does) and `SSOT check MUTANT` in a child process (exit 0 =
// valid, 1 = invalid), and saves every disagreement to --out as
// `NNN-prisma-valid.prisma` (Prisma accepts, ssot rejects) or
// `NNN-prisma-invalid.prisma` (Prisma rejects, ssot accepts), with one
// summary line on stdout each. `--out/summary.jsonl` gets one JSON object per
// disagreement (file, cause key, Prisma's and ssot's first message lines).
//
// Mutants are skipped (not counted as tried) when they are duplicates, when
// their datasource provider is sqlserver, mongodb or cockroachdb, when the
// two Prisma versions disagree with each other, or when a validator crashes.
//
// Options:
//   --iterations N    mutants to generate (default 2000)
//   --time SECONDS    stop generating after this long (whichever comes first)
//   --out DIR         where disagreements go (default ./fuzz-out)
//   --seed S          PRNG seed (default 1)
//   --jobs J          concurrent ssot processes (default: number of CPUs)
//   --max-mutations K stack 1..K mutations per mutant (default 3)
//   --minimize        after fuzzing, delta-debug one disagreement per cause
//                     (remove lines while the same disagreement persists) and
//                     write it as min-NNN-prisma-{valid|invalid}.prisma
//   --quiet           no per-disagreement lines, only the final summary
//   --check           exit 1 when there is any disagreement (for tests and CI)
//
// The final summary gives mutants tried, disagreements and a breakdown by
// cause: for `prisma-invalid` the first line of Prisma's message, for
// `prisma-valid` ssot's first error line, with names and numbers blurred.
// Dependency-free: Node 20 built-ins plus the oracle's packages.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
  appendFileSync,
} from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

import { ensureOracleInstalled, prismaAccepts } from './prisma.mjs';

ensureOracleInstalled('fuzz.mjs');

// ---------------------------------------------------------------- arguments

function usage(msg) {
  if (msg) process.stderr.write(`fuzz.mjs: ${msg}\n`);
  process.stderr.write(
    'usage: node tests/oracle/fuzz.mjs --ssot PATH --seeds DIR_OR_FILE... ' +
      '[--iterations N] [--time SECONDS] [--out DIR] [--seed S] [--jobs J] ' +
      '[--max-mutations K] [--minimize] [--quiet] [--check]\n',
  );
  process.exit(2);
}

const opts = {
  ssot: null,
  seeds: [],
  iterations: 2000,
  time: Infinity,
  out: 'fuzz-out',
  seed: 1,
  jobs: Math.max(1, availableParallelism()),
  maxMutations: 3,
  minimize: false,
  quiet: false,
  check: false,
};
{
  const a = process.argv.slice(2);
  const num = (i, name) => {
    const v = Number(a[i]);
    if (a[i] === undefined || !Number.isFinite(v)) usage(`${name} needs a number`);
    return v;
  };
  for (let i = 0; i < a.length; i++) {
    switch (a[i]) {
      case '--ssot':
        opts.ssot = a[++i];
        break;
      case '--seeds':
        while (i + 1 < a.length && !a[i + 1].startsWith('--')) opts.seeds.push(a[++i]);
        break;
      case '--iterations':
        opts.iterations = num(++i, '--iterations');
        break;
      case '--time':
        opts.time = num(++i, '--time');
        break;
      case '--out':
        opts.out = a[++i];
        break;
      case '--check':
        opts.check = true;
        break;
      case '--seed':
        opts.seed = num(++i, '--seed');
        break;
      case '--jobs':
        opts.jobs = Math.max(1, num(++i, '--jobs'));
        break;
      case '--max-mutations':
        opts.maxMutations = Math.max(1, num(++i, '--max-mutations'));
        break;
      case '--minimize':
        opts.minimize = true;
        break;
      case '--quiet':
        opts.quiet = true;
        break;
      default:
        usage(`unknown argument: ${a[i]}`);
    }
  }
  if (!opts.ssot) usage('--ssot is required');
  if (!existsSync(opts.ssot)) usage(`no such ssot binary: ${opts.ssot}`);
  if (opts.seeds.length === 0) usage('--seeds needs at least one file or directory');
  opts.ssot = resolve(opts.ssot);
}

// ---------------------------------------------------------------- seeds

function collect(p, out) {
  let st;
  try {
    st = statSync(p);
  } catch {
    usage(`no such file or directory: ${p}`);
  }
  if (st.isDirectory()) {
    for (const e of readdirSync(p).sort()) {
      const child = join(p, e);
      if (statSync(child).isDirectory()) {
        if (e !== 'node_modules') collect(child, out);
      } else if (e.endsWith('.prisma')) {
        out.push(child);
      }
    }
  } else {
    out.push(p);
  }
}

const seedFiles = [];
for (const s of opts.seeds) collect(s, seedFiles);
const seeds = seedFiles.map((f) => readFileSync(f, 'utf8'));
if (seeds.length === 0) usage('no *.prisma seeds found');

// ---------------------------------------------------------------- PRNG

function mulberry32(a) {
  return function () {
    a |= 0;
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(opts.seed >>> 0 || 1);
const randInt = (n) => Math.floor(rand() * n);
const pick = (arr) => arr[randInt(arr.length)];

// ---------------------------------------------------------------- vocabulary

const TOKEN_RE =
  /\/\/[^\n]*|\/\*[\s\S]*?\*\/|"(?:[^"\\\n]|\\.)*"?|@@?[A-Za-z_][\w]*(?:\.[A-Za-z_]\w*)?|[A-Za-z_]\w*|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?|\s+|[\s\S]/g;

function tokenize(text) {
  return text.match(TOKEN_RE) || [];
}
const isSpace = (t) => /^\s+$/.test(t);

const VOCAB = [
  // keywords
  'model', 'enum', 'view', 'type', 'generator', 'datasource',
  // attributes
  '@id', '@unique', '@default', '@relation', '@map', '@updatedAt', '@ignore', '@db',
  '@@id', '@@unique', '@@index', '@@map', '@@ignore', '@@schema', '@@fulltext',
  '@db.VarChar(191)', '@db.VarChar(255)', '@db.Text', '@db.Uuid', '@db.Char(36)', '@db.Decimal(10, 2)',
  '@db.Timestamp(6)', '@db.Timestamptz(3)', '@db.Date', '@db.TinyInt', '@db.SmallInt', '@db.Int',
  '@db.BigInt', '@db.Double', '@db.Real', '@db.Money', '@db.Inet', '@db.JsonB', '@db.Json', '@db.Bit(1)',
  '@db.LongText', '@db.MediumText', '@db.DateTime(3)', '@db.Xml', '@db.Citext', '@db.ObjectId',
  '@default(autoincrement())', '@default(now())', '@default(uuid())', '@default(cuid())',
  '@default(dbgenerated("gen_random_uuid()"))', '@default(0)', '@default("")', '@default(false)',
  '@default([])', '@default(auto())', '@default(nanoid())', '@default(uuid(7))', '@default(cuid(2))',
  '@relation(fields: [userId], references: [id])', '@relation("R")', '@relation(onDelete: Cascade)',
  '@@index([id])', '@@unique([id])', '@@id([id])', '@@map("t")', '@map("c")', '@unique(map: "u")',
  '@id(map: "pk")', '@@index([id], type: Hash)', '@@index([id(sort: Desc)])', '@@schema("public")',
  // types
  'String', 'Int', 'BigInt', 'Float', 'Decimal', 'Boolean', 'DateTime', 'Json', 'Bytes',
  'Unsupported("point")', 'String?', 'Int?', 'String[]', 'Int[]', 'Json?', 'DateTime?',
  // punctuation
  '{', '}', '(', ')', '[', ']', '=', ',', ':', '?', '.', '@', '@@', '"', '//', '///', '[]',
  // function calls
  'autoincrement()', 'now()', 'uuid()', 'cuid()', 'auto()', 'nanoid()', 'sequence()',
  'dbgenerated()', 'dbgenerated("x")', 'env("DATABASE_URL")', 'env("X")',
  // arguments and values
  'fields:', 'references:', 'onDelete:', 'onUpdate:', 'name:', 'map:', 'sort:', 'length:', 'type:',
  'ops:', 'clustered:', 'fields', 'references', 'Cascade', 'SetNull', 'Restrict', 'NoAction',
  'SetDefault', 'Desc', 'Asc', 'Hash', 'BTree', 'Gin', 'Gist', 'Brin', 'SpGist', 'true', 'false',
  '0', '1', '-1', '2', '255', '1.5', '""', '"x"', '"a b"', '"1"', '[]', 'id', 'userId', 'User', 'Post',
  // datasource / generator properties and providers
  'provider', 'url', 'directUrl', 'shadowDatabaseUrl', 'relationMode', 'extensions', 'schemas',
  'previewFeatures', 'output', 'binaryTargets', 'engineType', '"prisma"', '"foreignKeys"',
  '"sqlite"', '"postgresql"', '"postgres"', '"mysql"', '"sqlserver"', '"prisma-client-js"',
  '["multiSchema"]', '["fullTextSearch"]', '["views"]', '["postgresqlExtensions"]',
];

const PROVIDERS = ['sqlite', 'postgresql', 'mysql', 'postgres'];
const SKIP_PROVIDER_RE = /provider\s*=\s*"(sqlserver|mongodb|cockroachdb)"/;

// Tokens and lines drawn from the seeds.
const seedTokens = [];
const seedLines = [];
{
  const tokSet = new Set();
  const lineSet = new Set();
  for (const s of seeds) {
    for (const t of tokenize(s)) if (!isSpace(t) && t.length < 120) tokSet.add(t);
    for (const l of s.split('\n')) if (l.trim() && l.length < 200) lineSet.add(l.replace(/\r$/, ''));
  }
  seedTokens.push(...[...tokSet].sort());
  seedLines.push(...[...lineSet].sort());
}
const anyToken = () => (rand() < 0.5 ? pick(VOCAB) : pick(seedTokens));

// ---------------------------------------------------------------- schema structure

// Blocks: [{kind, name, start, end}] with line indexes (end = closing brace line).
function blocks(lines) {
  const out = [];
  for (let i = 0; i < lines.length; i++) {
    const m = /^\s*(model|enum|view|type|generator|datasource)\s+(\w+)\s*\{/.exec(lines[i]);
    if (!m) continue;
    let j = i;
    if (!/\}/.test(lines[i].slice(lines[i].indexOf('{')))) {
      j = i + 1;
      while (j < lines.length && !/^\s*\}/.test(lines[j])) j++;
    }
    out.push({ kind: m[1], name: m[2], start: i, end: Math.min(j, lines.length - 1) });
    i = j;
  }
  return out;
}

// Field lines inside models/views/types: [{line, m}] (m: indent, name, gap, type, modifier).
const FIELD_RE = /^(\s+)([A-Za-z_]\w*)(\s+)([A-Za-z_][\w.]*(?:\("[^"]*"\))?)(\[\]|\?)?(?=\s|$)/;
function fieldLines(lines) {
  const out = [];
  for (const b of blocks(lines)) {
    if (!['model', 'view', 'type'].includes(b.kind)) continue;
    for (let i = b.start + 1; i < b.end; i++) {
      const m = FIELD_RE.exec(lines[i]);
      if (m) out.push({ line: i, m, block: b });
    }
  }
  return out;
}

// ---------------------------------------------------------------- mutations

// Each mutation takes the text and returns new text (or null when it does not apply).
const MUTATIONS = {
  deleteLine(text) {
    const lines = text.split('\n');
    if (lines.length < 2) return null;
    lines.splice(randInt(lines.length), 1);
    return lines.join('\n');
  },
  duplicateLine(text) {
    const lines = text.split('\n');
    const i = randInt(lines.length);
    lines.splice(i, 0, lines[i]);
    return lines.join('\n');
  },
  swapLines(text) {
    const lines = text.split('\n');
    if (lines.length < 2) return null;
    const i = randInt(lines.length);
    // mostly neighbours, sometimes anywhere
    const j = rand() < 0.6 ? Math.min(lines.length - 1, i + 1) : randInt(lines.length);
    [lines[i], lines[j]] = [lines[j], lines[i]];
    return lines.join('\n');
  },
  moveLine(text) {
    const lines = text.split('\n');
    if (lines.length < 2) return null;
    const [l] = lines.splice(randInt(lines.length), 1);
    lines.splice(randInt(lines.length + 1), 0, l);
    return lines.join('\n');
  },
  insertSeedLine(text) {
    const lines = text.split('\n');
    lines.splice(randInt(lines.length + 1), 0, pick(seedLines));
    return lines.join('\n');
  },
  deleteBlock(text) {
    const lines = text.split('\n');
    const bs = blocks(lines).filter((b) => b.kind !== 'datasource');
    if (!bs.length) return null;
    const b = pick(bs);
    lines.splice(b.start, b.end - b.start + 1);
    return lines.join('\n');
  },
  duplicateBlock(text) {
    const lines = text.split('\n');
    const bs = blocks(lines);
    if (!bs.length) return null;
    const b = pick(bs);
    const copy = lines.slice(b.start, b.end + 1);
    if (rand() < 0.5) copy[0] = copy[0].replace(b.name, b.name + 'Copy');
    lines.splice(b.end + 1, 0, '', ...copy);
    return lines.join('\n');
  },
  deleteToken(text) {
    const toks = tokenize(text);
    const idx = toks.map((t, i) => (isSpace(t) ? -1 : i)).filter((i) => i >= 0);
    if (!idx.length) return null;
    toks.splice(pick(idx), 1);
    return toks.join('');
  },
  insertToken(text) {
    const toks = tokenize(text);
    const i = randInt(toks.length + 1);
    const t = anyToken();
    const sp = rand() < 0.7;
    toks.splice(i, 0, sp ? ` ${t} ` : t);
    return toks.join('');
  },
  replaceToken(text) {
    const toks = tokenize(text);
    const idx = toks.map((t, i) => (isSpace(t) ? -1 : i)).filter((i) => i >= 0);
    if (!idx.length) return null;
    toks[pick(idx)] = anyToken();
    return toks.join('');
  },
  duplicateToken(text) {
    const toks = tokenize(text);
    const idx = toks.map((t, i) => (isSpace(t) ? -1 : i)).filter((i) => i >= 0);
    if (!idx.length) return null;
    const i = pick(idx);
    toks.splice(i, 0, toks[i] + (rand() < 0.5 ? ' ' : ''));
    return toks.join('');
  },
  swapTokens(text) {
    const toks = tokenize(text);
    const idx = toks.map((t, i) => (isSpace(t) ? -1 : i)).filter((i) => i >= 0);
    if (idx.length < 2) return null;
    const k = randInt(idx.length - 1);
    const i = idx[k];
    const j = rand() < 0.6 ? idx[k + 1] : pick(idx);
    [toks[i], toks[j]] = [toks[j], toks[i]];
    return toks.join('');
  },
  changeProvider(text) {
    const re = /(datasource\s+\w+\s*\{[\s\S]*?provider\s*=\s*)"[^"]*"/;
    if (!re.test(text)) return null;
    return text.replace(re, `$1"${pick(PROVIDERS)}"`);
  },
  toggleModifier(text) {
    const lines = text.split('\n');
    const fs = fieldLines(lines);
    if (!fs.length) return null;
    const { line, m } = pick(fs);
    const mods = ['', '?', '[]'].filter((x) => x !== (m[5] || ''));
    const mod = pick(mods);
    lines[line] = m[1] + m[2] + m[3] + m[4] + mod + lines[line].slice(m[0].length);
    return lines.join('\n');
  },
  changeFieldType(text) {
    const lines = text.split('\n');
    const fs = fieldLines(lines);
    if (!fs.length) return null;
    const { line, m } = pick(fs);
    const names = blocks(lines)
      .filter((b) => ['model', 'enum', 'type', 'view'].includes(b.kind))
      .map((b) => b.name);
    const types = ['String', 'Int', 'BigInt', 'Float', 'Decimal', 'Boolean', 'DateTime', 'Json', 'Bytes', ...names];
    lines[line] = m[1] + m[2] + m[3] + pick(types) + (m[5] || '') + lines[line].slice(m[0].length);
    return lines.join('\n');
  },
  addFieldAttribute(text) {
    const lines = text.split('\n');
    const fs = fieldLines(lines);
    if (!fs.length) return null;
    const { line } = pick(fs);
    const attrs = VOCAB.filter((t) => /^@[^@]/.test(t));
    const l = lines[line];
    const c = l.indexOf('//');
    const at = ' ' + pick(attrs);
    lines[line] = c >= 0 ? l.slice(0, c).trimEnd() + at + ' ' + l.slice(c) : l + at;
    return lines.join('\n');
  },
  addBlockAttribute(text) {
    const lines = text.split('\n');
    const bs = blocks(lines).filter((b) => b.kind === 'model' || b.kind === 'view');
    if (!bs.length) return null;
    const b = pick(bs);
    const fields = [];
    for (let i = b.start + 1; i < b.end; i++) {
      const m = FIELD_RE.exec(lines[i]);
      if (m) fields.push(m[2]);
    }
    if (!fields.length) return null;
    const f1 = pick(fields);
    const f2 = pick(fields);
    const list = f1 === f2 ? `[${f1}]` : `[${f1}, ${f2}]`;
    const attr = pick([
      `@@id(${list})`,
      `@@unique(${list})`,
      `@@index(${list})`,
      `@@unique(${list}, map: "${f1}_key")`,
      `@@index(${list}, name: "idx")`,
      `@@map("${b.name.toLowerCase()}")`,
      `@@fulltext(${list})`,
      '@@ignore',
    ]);
    lines.splice(b.end, 0, `  ${attr}`);
    return lines.join('\n');
  },
  renameToClash(text) {
    // Rename one declaration (block name, field name or enum value) to a name
    // that already exists nearby.
    const lines = text.split('\n');
    const bs = blocks(lines).filter((b) => b.kind !== 'datasource' && b.kind !== 'generator');
    if (!bs.length) return null;
    if (rand() < 0.4 && bs.length >= 2) {
      const a = pick(bs);
      const b = pick(bs.filter((x) => x !== a));
      lines[a.start] = lines[a.start].replace(new RegExp(`\\b${a.name}\\b`), b.name);
      return lines.join('\n');
    }
    const b = pick(bs);
    const members = [];
    for (let i = b.start + 1; i < b.end; i++) {
      const m = /^(\s+)([A-Za-z_]\w*)/.exec(lines[i]);
      if (m) members.push({ i, name: m[2], indent: m[1] });
    }
    if (members.length < 2) return null;
    const x = pick(members);
    const y = pick(members.filter((z) => z !== x));
    lines[x.i] = lines[x.i].replace(new RegExp(`^(\\s+)${x.name}\\b`), `$1${y.name}`);
    return lines.join('\n');
  },
  renameEverywhere(text) {
    // Rename an identifier everywhere to another identifier of the schema
    // (e.g. a model to an enum's name, a field to a relation field's name).
    const ids = [...new Set(text.match(/\b[A-Za-z_]\w*\b/g) || [])].filter(
      (w) => !/^(model|enum|view|type|datasource|generator|provider|url|env|String|Int|Boolean)$/.test(w),
    );
    if (ids.length < 2) return null;
    const a = pick(ids);
    const b = rand() < 0.5 ? pick(ids) : pick(seedTokens.filter((t) => /^[A-Za-z_]\w*$/.test(t)));
    if (a === b) return null;
    return text.replace(new RegExp(`\\b${a}\\b`, 'g'), b);
  },
  crossOverBlock(text) {
    // Insert a whole block from another seed.
    const other = pick(seeds).split('\n');
    const bs = blocks(other).filter((b) => b.kind !== 'datasource');
    if (!bs.length) return null;
    const b = pick(bs);
    return text + '\n\n' + other.slice(b.start, b.end + 1).join('\n') + '\n';
  },
};
const MUTATION_NAMES = Object.keys(MUTATIONS);

function mutate(seedText) {
  let text = seedText;
  const applied = [];
  const n = 1 + randInt(opts.maxMutations);
  for (let k = 0; k < n; k++) {
    for (let tries = 0; tries < 5; tries++) {
      const name = pick(MUTATION_NAMES);
      const r = MUTATIONS[name](text);
      if (r !== null && r !== text) {
        text = r;
        applied.push(name);
        break;
      }
    }
  }
  return { text, applied };
}

// ---------------------------------------------------------------- ssot

function runSsot(file) {
  return new Promise((res) => {
    const child = spawn(opts.ssot, ['check', file], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20000);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      res({ code: code === null ? `signal ${signal}` : code, output: out });
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      res({ code: `spawn error ${e.code}`, output: String(e) });
    });
  });
}

function ssotFirstError(output) {
  const lines = output.split('\n');
  const l = lines.find((x) => /^(error|thread '.*' panicked)/.test(x));
  return (l || lines.find((x) => x.trim()) || '').trim();
}

function prismaFirstLine(r) {
  const msg = r.v6.error || r.latest.error || '';
  return msg.split('\n')[0].replace(/^error: /, '').trim();
}

// Blur names and numbers so that one root cause gives one key.
function blur(s) {
  return s
    .replace(/"[^"]*"/g, '"…"')
    .replace(/`[^`]*`/g, '`…`')
    .replace(/'[^']*'/g, "'…'")
    .replace(/\d+/g, 'N')
    .slice(0, 160);
}

// ---------------------------------------------------------------- judging

const SKIP = { duplicate: 0, provider: 0, versionsDisagree: 0, oracleFailure: 0 };

// Returns null when the mutant is skipped, else {prisma: verdict, r}.
function oracle(text) {
  const m = /datasource\s+\w+\s*\{[\s\S]*?\}/.exec(text);
  if (SKIP_PROVIDER_RE.test(m ? m[0] : text)) return { skip: 'provider' };
  const r = prismaAccepts(text, 'schema.prisma');
  if (r.oracleFailure) return { skip: 'oracleFailure' };
  if (!r.agree) return { skip: 'versionsDisagree' };
  return { valid: r.valid, r };
}

function classify(text, o, s) {
  const ssotValid = s.code === 0 ? true : s.code === 1 ? false : null;
  if (ssotValid === o.valid) return null;
  const p = prismaFirstLine(o.r);
  const e = ssotFirstError(s.output);
  let key;
  if (ssotValid === null) key = `ssot exit ${s.code}: ${blur(e)}`;
  else if (o.valid) key = `prisma-valid | ssot: ${blur(e)}`;
  else key = `prisma-invalid | prisma: ${blur(p)}`;
  return { kind: o.valid ? 'prisma-valid' : 'prisma-invalid', key, prisma: p, ssot: e, code: s.code };
}

// ---------------------------------------------------------------- main loop

const work = mkdtempSync(join(tmpdir(), 'ssot-fuzz-'));
mkdirSync(opts.out, { recursive: true });
const summaryPath = join(opts.out, 'summary.jsonl');
let saved = 0;
while (existsSync(join(opts.out, `${String(saved + 1).padStart(3, '0')}-prisma-valid.prisma`)) ||
       existsSync(join(opts.out, `${String(saved + 1).padStart(3, '0')}-prisma-invalid.prisma`))) saved++;

const seen = new Set();
const byKey = new Map(); // key -> {count, first: {file, text, kind, prisma, ssot}}
let tried = 0;
let disagreements = 0;
let ssotValidCount = 0;
let prismaValidCount = 0;

// Results are recorded in mutant order, so output numbering is deterministic.
const pending = new Map();
let nextToRecord = 0;
let nextIndex = 0;

function record(idx, res) {
  pending.set(idx, res);
  while (pending.has(nextToRecord)) {
    const r = pending.get(nextToRecord);
    pending.delete(nextToRecord);
    nextToRecord++;
    if (!r) continue;
    tried++;
    if (r.o.valid) prismaValidCount++;
    if (r.s.code === 0) ssotValidCount++;
    const d = classify(r.text, r.o, r.s);
    if (!d) continue;
    disagreements++;
    saved++;
    const name = `${String(saved).padStart(3, '0')}-${d.kind}.prisma`;
    writeFileSync(join(opts.out, name), r.text);
    const entry = { file: name, kind: d.kind, key: d.key, prisma: d.prisma, ssot: d.ssot, ssotExit: d.code, seed: r.seed, mutations: r.applied };
    appendFileSync(summaryPath, JSON.stringify(entry) + '\n');
    const k = byKey.get(d.key);
    if (k) k.count++;
    else byKey.set(d.key, { count: 1, first: { ...entry, text: r.text } });
    if (!opts.quiet) {
      process.stdout.write(
        `DISAGREE ${name}: ${d.kind}; prisma: ${d.prisma || '(valid)'} | ssot: ${d.code === 0 ? '(valid)' : d.ssot}\n`,
      );
    }
  }
}

const running = new Set();
async function launch(idx, text, o, seed, applied) {
  const file = join(work, `m${idx}.prisma`);
  writeFileSync(file, text);
  const s = await runSsot(file);
  rmSync(file, { force: true });
  record(idx, { text, o, s, seed, applied });
}

const start = Date.now();
const yieldLoop = () => new Promise((r) => setImmediate(r));

for (let it = 0; it < opts.iterations; it++) {
  if ((Date.now() - start) / 1000 > opts.time) break;
  const si = randInt(seeds.length);
  const { text, applied } = mutate(seeds[si]);
  const idx = nextIndex++;
  const h = createHash('sha1').update(text).digest('hex');
  if (seen.has(h)) {
    SKIP.duplicate++;
    record(idx, null);
    continue;
  }
  seen.add(h);
  const o = oracle(text);
  if (o.skip) {
    SKIP[o.skip]++;
    record(idx, null);
    continue;
  }
  const p = launch(idx, text, o, seedFiles[si], applied).finally(() => running.delete(p));
  running.add(p);
  while (running.size >= opts.jobs) await Promise.race(running);
  if (it % 16 === 0) await yieldLoop();
  if (it > 0 && it % 1000 === 0) {
    process.stderr.write(
      `fuzz.mjs: ${it} generated, ${tried} tried, ${disagreements} disagreements, ${Math.round((Date.now() - start) / 1000)}s\n`,
    );
  }
}
await Promise.all(running);

// ---------------------------------------------------------------- minimization

async function sameDisagreement(text, key) {
  const o = oracle(text);
  if (o.skip) return false;
  const file = join(work, 'min.prisma');
  writeFileSync(file, text);
  const s = await runSsot(file);
  const d = classify(text, o, s);
  return d !== null && d.key === key;
}

// Line-based ddmin; `url =` lines are kept so that the result stays a
// fixture in the usual style.
async function minimize(text, key) {
  let lines = text.split('\n');
  let chunk = Math.max(1, Math.floor(lines.length / 2));
  while (chunk >= 1) {
    let changed = false;
    for (let i = 0; i < lines.length; ) {
      const cut = lines.slice(i, i + chunk);
      if (cut.some((l) => /^\s*url\s*=/.test(l))) {
        i += chunk;
        continue;
      }
      const cand = [...lines.slice(0, i), ...lines.slice(i + chunk)];
      if (await sameDisagreement(cand.join('\n'), key)) {
        lines = cand;
        changed = true;
      } else {
        i += chunk;
      }
    }
    if (!changed) chunk = Math.floor(chunk / 2);
  }
  return lines.join('\n').replace(/\n{3,}/g, '\n\n');
}

if (opts.minimize) {
  let n = 0;
  for (const [key, { first }] of [...byKey.entries()].sort((a, b) => b[1].count - a[1].count)) {
    const min = await minimize(first.text, key);
    n++;
    const name = `min-${String(n).padStart(3, '0')}-${first.kind}.prisma`;
    writeFileSync(join(opts.out, name), min.endsWith('\n') ? min : min + '\n');
    process.stdout.write(`MINIMIZED ${name} (from ${first.file}): ${key}\n`);
  }
}

rmSync(work, { recursive: true, force: true });

// ---------------------------------------------------------------- summary

const secs = ((Date.now() - start) / 1000).toFixed(1);
process.stdout.write(
  `\nSUMMARY: ${nextIndex} generated, ${tried} mutants tried (Prisma accepts ${prismaValidCount}, ssot accepts ${ssotValidCount}), ` +
    `${disagreements} disagreements, ${byKey.size} distinct causes, ${secs}s\n` +
    `skipped: ${SKIP.duplicate} duplicates, ${SKIP.provider} sqlserver/mongodb/cockroachdb, ` +
    `${SKIP.versionsDisagree} where Prisma 6.19 and the latest disagree, ${SKIP.oracleFailure} validator crashes\n`,
);
if (byKey.size) {
  process.stdout.write('breakdown (count, cause, first example):\n');
  for (const [key, { count, first }] of [...byKey.entries()].sort((a, b) => b[1].count - a[1].count)) {
    process.stdout.write(`  ${String(count).padStart(5)}  ${key}  [${first.file}]\n`);
  }
}
process.exit(opts.check && disagreements > 0 ? 1 : 0);
