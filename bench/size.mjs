// Sizes of the package: .wasm raw / gzip -9 / brotli (quality 11), the JS glue likewise, and a
// per-crate and per-function breakdown from twiggy over an unstripped build of the same code
// (scripts/bench.sh writes target/bench/twiggy-top.json). Writes target/bench/size.json.
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';
import { OUT_DIR, PKG_DIR, writeResult } from './lib.mjs';

const LIMIT = 262144; // gzip -9 bytes: the gate in scripts/build-pkg.sh
function sizes(file) {
  const bytes = fs.readFileSync(file);
  return {
    file: `pkg/${path.basename(file)}`,
    raw: bytes.length,
    gzip: zlib.gzipSync(bytes, { level: 9 }).length,
    brotli: zlib.brotliCompressSync(bytes, {
      params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11, [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length },
    }).length,
  };
}

const files = ['edge_coupons_bg.wasm', 'edge_coupons.js', 'edge_coupons.d.ts'].map((f) => sizes(path.join(PKG_DIR, f)));

/** The crate an item's (demangled) name belongs to, or a kind for what is not a function. */
function owner(name) {
  if (name.includes('externref shim')) return 'wasm-bindgen export shims (evaluate, load, ... inlined into them)';
  if (name.startsWith('data segment')) return 'data segments (constants, strings)';
  if (name.startsWith('custom section') || name.includes('subsection')) return null; // names, not shipped
  if (/^(table|elem|type|global|memory|export|import|code section|wasm magic)/i.test(name) || name.startsWith('"')) return 'wasm structure (types, tables, exports, imports)';
  const m = /^<?(?:&(?:mut )?)?([A-Za-z_][A-Za-z0-9_]*)::/.exec(name);
  if (m) return m[1];
  if (name.startsWith('__wbg') || name.startsWith('__wbindgen') || name.startsWith('__externref')) return 'wasm_bindgen';
  return 'other (unnamed or compiler builtins)';
}

const twiggyFile = path.join(OUT_DIR, 'twiggy-top.json');
let crates = null;
let functions = null;
let namedTotal = null;
if (fs.existsSync(twiggyFile)) {
  const items = JSON.parse(fs.readFileSync(twiggyFile, 'utf8'));
  const byCrate = new Map();
  namedTotal = 0;
  for (const it of items) {
    const o = owner(it.name);
    if (!o) continue;
    namedTotal += it.shallow_size;
    byCrate.set(o, (byCrate.get(o) ?? 0) + it.shallow_size);
  }
  crates = [...byCrate].map(([crate, bytes]) => ({ crate, bytes })).sort((a, b) => b.bytes - a.bytes);
  functions = items.filter((it) => owner(it.name)).slice(0, 25).map((it) => ({ name: it.name.replace(/::h[0-9a-f]{16}$/, ''), bytes: it.shallow_size }));
}

const result = { limit: LIMIT, files, namedTotal, crates, functions };
for (const f of files) console.log(`${f.file}: ${f.raw} raw, ${f.gzip} gzip, ${f.brotli} brotli`);
if (crates) for (const c of crates.slice(0, 12)) console.log(`  ${String(c.bytes).padStart(7)}  ${c.crate}`);
console.log(`results: ${writeResult('size', result)}`);
