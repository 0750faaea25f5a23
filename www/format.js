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

/**
 * Text someone else wrote (a coupon's name, a product's, a fee's), set apart where it is quoted in
 * a sentence when it holds a bidi control: an override left open (U+202E in a name) reverses the
 * rest of the sentence around it. FSI ... PDI isolate it (UAX #9), and the PDI closes whatever it
 * left open. Other text, and what is not a string, is returned as it is.
 */
export const isolate = (text) => (typeof text === 'string' && BIDI_CONTROL.test(text) ? `\u2068${text}\u2069` : text);
const BIDI_CONTROL = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

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
