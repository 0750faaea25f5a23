// Adds an instruction counter to a .wasm: a mutable i64 global exported as `__icount`, raised at
// the start of every straight-line run of code by the number of instructions in that run. A run
// ends at every instruction after which control may go elsewhere or arrive from elsewhere (block
// and loop entries, if / else, end, br, br_if, br_table, return, unreachable), so each run executes
// whole or not at all and the count is exact and deterministic. Like wasmtime's fuel, `nop`,
// `drop`, `block`, `loop`, `else` and `end` count 0 and every other instruction 1. Calls return to
// the next instruction and need no split. No dependency: a small reader of the binary format
// (MVP + sign-ext, bulk memory, non-trapping float-to-int, reference types, multi-value).
const FREE = new Set([0x01, 0x1a, 0x02, 0x03, 0x05, 0x0b]); // nop, drop, block, loop, else, end
const SPLIT_AFTER = new Set([0x00, 0x02, 0x03, 0x04, 0x05, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f]);

class Reader {
  constructor(bytes, pos = 0) { this.b = bytes; this.p = pos; }
  byte() { return this.b[this.p++]; }
  u32() { let r = 0; let s = 0; let x; do { x = this.b[this.p++]; r += (x & 0x7f) * 2 ** s; s += 7; } while (x & 0x80); return r; }
  skipLeb() { while (this.b[this.p++] & 0x80); }
  name() { const n = this.u32(); const s = Buffer.from(this.b.subarray(this.p, this.p + n)).toString('utf8'); this.p += n; return s; }
}
const leb = (n) => { const out = []; do { let x = n & 0x7f; n = Math.floor(n / 128); if (n) x |= 0x80; out.push(x); } while (n); return out; };
const sleb64 = (v) => { // signed LEB128 of a non-negative safe integer (i64.const)
  let n = BigInt(v); const out = [];
  for (;;) { const x = Number(n & 0x7fn); n >>= 7n; if ((n === 0n && !(x & 0x40)) || (n === -1n && x & 0x40)) { out.push(x); return out; } out.push(x | 0x80); }
};

/** Skips one instruction's immediates; `op` already read. */
function skipImmediates(r, op) {
  if (op === 0x02 || op === 0x03 || op === 0x04) { const t = r.b[r.p]; if (t === 0x40 || (t >= 0x6f && t <= 0x7f)) r.p++; else r.skipLeb(); return; }
  if (op === 0x0c || op === 0x0d || op === 0x10 || op === 0xd2 || (op >= 0x20 && op <= 0x26)) { r.skipLeb(); return; }
  if (op === 0x0e) { const n = r.u32(); for (let i = 0; i <= n; i++) r.skipLeb(); return; }
  if (op === 0x11) { r.skipLeb(); r.skipLeb(); return; }
  if (op === 0x1c) { const n = r.u32(); r.p += n; return; }
  if (op >= 0x28 && op <= 0x3e) { const align = r.u32(); if (align & 0x40) r.skipLeb(); r.skipLeb(); return; }
  if (op === 0x3f || op === 0x40) { r.skipLeb(); return; }
  if (op === 0x41 || op === 0x42) { r.skipLeb(); return; }
  if (op === 0x43) { r.p += 4; return; }
  if (op === 0x44) { r.p += 8; return; }
  if (op === 0xd0) { r.p += 1; return; }
  if (op === 0xfc) {
    const sub = r.u32();
    if (sub <= 7) return;
    if (sub === 8 || sub === 12 || sub === 14 || sub === 10) { r.skipLeb(); r.skipLeb(); return; }
    if (sub === 9 || sub === 11 || sub === 13 || (sub >= 15 && sub <= 17)) { r.skipLeb(); return; }
    throw new Error(`instrument: unknown 0xFC ${sub}`);
  }
  if (op === 0x00 || op === 0x01 || op === 0x05 || op === 0x0b || op === 0x0f || op === 0x1a || op === 0x1b || op === 0xd1 || (op >= 0x45 && op <= 0xc4)) return;
  throw new Error(`instrument: unsupported opcode 0x${op.toString(16)} at ${r.p - 1}`);
}

function instrumentBody(body, globals) {
  const r = new Reader(body);
  const nLocals = r.u32();
  for (let i = 0; i < nLocals; i++) { r.skipLeb(); r.p++; }
  const out = [body.subarray(0, r.p)];
  const bump = (n) => Uint8Array.from(globals.flatMap((g) => [0x23, ...leb(g), 0x42, ...sleb64(n), 0x7c, 0x24, ...leb(g)]));
  let runStart = r.p; let count = 0;
  const flush = (end) => { if (count) out.push(bump(count)); out.push(body.subarray(runStart, end)); runStart = end; count = 0; };
  while (r.p < body.length) {
    const op = r.byte();
    skipImmediates(r, op);
    if (!FREE.has(op)) count++;
    if (SPLIT_AFTER.has(op)) flush(r.p);
  }
  if (runStart < body.length) flush(body.length);
  return Buffer.concat(out);
}

function readSections(bytes) {
  const r = new Reader(bytes, 8);
  const sections = [];
  while (r.p < bytes.length) {
    const id = r.byte(); const size = r.u32(); const start = r.p;
    sections.push({ id, start, end: start + size });
    r.p = start + size;
  }
  return sections;
}

/**
 * The module's function names (its `name` section), by function index (imports first); empty when
 * the module has none (a stripped build).
 */
export function functionNames(bytes) {
  const names = new Map();
  for (const s of readSections(bytes)) {
    if (s.id !== 0) continue;
    const r = new Reader(bytes, s.start);
    if (r.name() !== 'name') continue;
    while (r.p < s.end) {
      const sub = r.byte(); const end = r.u32() + r.p;
      if (sub === 1) { const n = r.u32(); for (let i = 0; i < n; i++) { const index = r.u32(); names.set(index, r.name()); } }
      r.p = end;
    }
  }
  return names;
}

/**
 * Returns the instrumented module's bytes. With `perFunction`, each function defined in the module
 * also gets its own counter of the instructions it executes itself, exported as `__icount_f<index>`
 * (its function index, as in the name section: bench/profile.mjs).
 */
export function instrumentWasm(bytes, { perFunction = false } = {}) {
  const sections = readSections(bytes);
  let importedGlobals = 0;
  let importedFunctions = 0;
  const imp = sections.find((s) => s.id === 2);
  if (imp) {
    const ir = new Reader(bytes, imp.start);
    const n = ir.u32();
    for (let i = 0; i < n; i++) {
      ir.name(); ir.name();
      const kind = ir.byte();
      if (kind === 0) { ir.skipLeb(); importedFunctions++; } else if (kind === 1) { ir.p++; const f = ir.byte(); ir.skipLeb(); if (f & 1) ir.skipLeb(); } else if (kind === 2) { const f = ir.byte(); ir.skipLeb(); if (f & 1) ir.skipLeb(); } else if (kind === 3) { ir.p += 2; importedGlobals++; } else throw new Error(`instrument: import kind ${kind}`);
    }
  }
  const glob = sections.find((s) => s.id === 6);
  if (!glob) throw new Error('instrument: no global section');
  const gr = new Reader(bytes, glob.start);
  const nGlobals = gr.u32();
  const g = importedGlobals + nGlobals; // __icount; per function, g + 1 + i
  const funcs = sections.find((s) => s.id === 3);
  const nFunctions = perFunction && funcs ? new Reader(bytes, funcs.start).u32() : 0;
  const added = 1 + nFunctions;
  const exported = [['__icount', g]];
  for (let i = 0; i < nFunctions; i++) exported.push([`__icount_f${importedFunctions + i}`, g + 1 + i]);
  const parts = [bytes.subarray(0, 8)];
  const section = (id, payload) => { parts.push(Uint8Array.from([id, ...leb(payload.length)])); parts.push(payload); };
  for (const s of sections) {
    const payload = bytes.subarray(s.start, s.end);
    if (s.id === 6) {
      const zero = Buffer.from(Array(added).fill([0x7e, 0x01, 0x42, 0x00, 0x0b]).flat());
      section(6, Buffer.concat([Uint8Array.from(leb(nGlobals + added)), payload.subarray(gr.p - s.start), zero]));
    } else if (s.id === 7) {
      const er = new Reader(bytes, s.start); const n = er.u32();
      const entries = exported.map(([name, index]) => { const b = Buffer.from(name); return Uint8Array.from([...leb(b.length), ...b, 0x03, ...leb(index)]); });
      section(7, Buffer.concat([Uint8Array.from(leb(n + exported.length)), bytes.subarray(er.p, s.end), ...entries]));
    } else if (s.id === 10) {
      const cr = new Reader(bytes, s.start); const n = cr.u32();
      const bodies = [Uint8Array.from(leb(n))];
      for (let i = 0; i < n; i++) {
        const size = cr.u32();
        const body = instrumentBody(bytes.subarray(cr.p, cr.p + size), nFunctions ? [g, g + 1 + i] : [g]);
        cr.p += size;
        bodies.push(Uint8Array.from(leb(body.length)), body);
      }
      section(10, Buffer.concat(bodies));
    } else section(s.id, payload);
  }
  return Buffer.concat(parts);
}
