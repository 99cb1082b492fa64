// postinstall step of tests/allma-reference (run by `npm ci --prefix tests/allma-reference`).
//
// Fetches the tarball of @allma/core-cdk (pinned version) with `npm pack`, checks it against the
// pinned sha512 integrity, and unpacks it into node_modules/.allma-core-cdk/. We do not list
// @allma/core-cdk as a normal dependency because that would install aws-cdk-lib, langchain,
// plotly, ... (hundreds of MB) of which the admin Lambda handlers use nothing; the handlers'
// real imports are pinned in package.json instead.
//
// Any failure exits non-zero, so `npm ci` fails loudly; server.mjs refuses to start without the
// unpacked package.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import zlib from 'node:zlib';

export const CORE_CDK_SPEC = '@allma/core-cdk@1.5.4';
export const CORE_CDK_INTEGRITY =
  'sha512-/ny0dfJuVPfOizDIu0LT5tsLuREChwmlNyRVRMH4MTJK61a9plLwddlJqxnkJSjQrsz8tHtzP9rfugc8yl9QPg==';

const here = path.dirname(fileURLToPath(import.meta.url));
export const CORE_CDK_DIR = path.join(here, 'node_modules', '.allma-core-cdk');
const MARKER = path.join(CORE_CDK_DIR, '.integrity');

function fail(msg) {
  console.error(`[allma-reference] ERROR: ${msg}`);
  process.exit(1);
}

function runNpm(args, cwd) {
  // Inside an npm lifecycle script npm_execpath points at npm's CLI; use it with this node.
  const npmCli = process.env.npm_execpath;
  if (npmCli && /\.(c?js|mjs)$/.test(npmCli)) {
    return execFileSync(process.execPath, [npmCli, ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  }
  return execFileSync(process.platform === 'win32' ? 'npm.cmd' : 'npm', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
}

/** Minimal ustar/pax reader: returns [{name, type, data}] */
function readTar(buf) {
  const entries = [];
  let off = 0;
  let paxPath = null;
  const str = (b, s, l) => {
    const sub = b.subarray(s, s + l);
    const z = sub.indexOf(0);
    return sub.subarray(0, z === -1 ? sub.length : z).toString('utf8');
  };
  while (off + 512 <= buf.length) {
    const h = buf.subarray(off, off + 512);
    if (h.every((b) => b === 0)) break;
    let name = str(h, 0, 100);
    const size = parseInt(str(h, 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(h[156] || 48);
    if (str(h, 257, 6).startsWith('ustar')) {
      const prefix = str(h, 345, 155);
      if (prefix) name = `${prefix}/${name}`;
    }
    const data = buf.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'x') {
      const m = /(?:^|\n)\d+ path=([^\n]*)\n/.exec(data.toString('utf8'));
      if (m) paxPath = m[1];
      continue;
    }
    if (type === 'g') continue;
    if (paxPath) { name = paxPath; paxPath = null; }
    entries.push({ name, type, data });
  }
  return entries;
}

function main() {
  if (fs.existsSync(MARKER) && fs.readFileSync(MARKER, 'utf8').trim() === CORE_CDK_INTEGRITY) {
    console.error(`[allma-reference] ${CORE_CDK_SPEC} already unpacked in ${CORE_CDK_DIR}`);
    return;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'allma-core-cdk-'));
  try {
    let out;
    try {
      out = runNpm(['pack', CORE_CDK_SPEC, '--json', '--pack-destination', tmp], tmp);
    } catch (e) {
      fail(`\`npm pack ${CORE_CDK_SPEC}\` failed: ${e.message}`);
    }
    let filename;
    try {
      filename = JSON.parse(out)[0].filename;
    } catch {
      filename = fs.readdirSync(tmp).find((f) => f.endsWith('.tgz'));
    }
    const tgzPath = path.join(tmp, path.basename(filename || ''));
    if (!filename || !fs.existsSync(tgzPath)) fail(`npm pack produced no tarball (output: ${out})`);
    const tgz = fs.readFileSync(tgzPath);
    const integrity = `sha512-${createHash('sha512').update(tgz).digest('base64')}`;
    if (integrity !== CORE_CDK_INTEGRITY) {
      fail(`integrity mismatch for ${CORE_CDK_SPEC}: expected ${CORE_CDK_INTEGRITY}, got ${integrity}`);
    }
    const entries = readTar(zlib.gunzipSync(tgz));
    fs.rmSync(CORE_CDK_DIR, { recursive: true, force: true });
    let count = 0;
    for (const e of entries) {
      if (e.type !== '0' && e.type !== '\0' && e.type !== '5') continue;
      const rel = e.name.replace(/^package\//, '');
      const dest = path.resolve(CORE_CDK_DIR, rel);
      if (!dest.startsWith(CORE_CDK_DIR + path.sep)) fail(`refusing tar entry outside target: ${e.name}`);
      if (e.type === '5') { fs.mkdirSync(dest, { recursive: true }); continue; }
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.writeFileSync(dest, e.data);
      count++;
    }
    const pkg = JSON.parse(fs.readFileSync(path.join(CORE_CDK_DIR, 'package.json'), 'utf8'));
    if (`${pkg.name}@${pkg.version}` !== CORE_CDK_SPEC) fail(`unexpected package in tarball: ${pkg.name}@${pkg.version}`);
    if (!fs.existsSync(path.join(CORE_CDK_DIR, 'dist-logic', 'allma-admin', 'flow-management.js'))) {
      fail('tarball has no dist-logic/allma-admin/flow-management.js');
    }
    fs.writeFileSync(MARKER, CORE_CDK_INTEGRITY + '\n');
    console.error(`[allma-reference] unpacked ${count} files of ${CORE_CDK_SPEC} (${integrity.slice(0, 20)}...) into ${CORE_CDK_DIR}`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main();
}
