// Exact sums of the engine's money strings ("12.50") for counters and stats: BigInt in the finest
// scale seen, never floats. (Deciding amounts is the engine's job; this only adds them up.)

function parse(s) {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(s ?? '0');
  if (!m) throw new Error(`not a money string: ${s}`);
  const frac = m[3] ?? '';
  const v = BigInt(m[2] + frac);
  return { v: m[1] ? -v : v, scale: frac.length };
}

function format(v, scale) {
  const neg = v < 0n;
  let digits = (neg ? -v : v).toString().padStart(scale + 1, '0');
  if (scale > 0) digits = `${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
  return (neg ? '-' : '') + digits;
}

/** a + b (or a - b with sign -1), in the larger of the two scales. */
export function addMoney(a, b, sign = 1) {
  const x = parse(a);
  const y = parse(b);
  const scale = Math.max(x.scale, y.scale);
  const up = (p) => p.v * 10n ** BigInt(scale - p.scale);
  return format(up(x) + BigInt(sign) * up(y), scale);
}

export const sumMoney = (values) => values.reduce((acc, v) => addMoney(acc, v), '0');
