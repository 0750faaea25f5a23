// Display helpers. Money stays a decimal string end to end: Intl.NumberFormat formats a string
// operand exactly (ECMA-402 NumberFormat v3), so no amount ever becomes a float, even for display.

const formatters = new Map();
export function money(amount, currency, locale) {
  const key = `${locale}|${currency}`;
  if (!formatters.has(key)) formatters.set(key, new Intl.NumberFormat(locale, { style: 'currency', currency }));
  return formatters.get(key).format(amount);
}

/** A discount shown as a negative amount; "0.00" shows as nothing off. */
export const isZero = (amount) => /^0+(\.0+)?$/.test(amount);

export function dateTime(iso, locale) {
  return new Intl.DateTimeFormat(locale, { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(iso));
}

/** document.createElement with attributes and children; text is always set as text, never parsed as HTML. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}
