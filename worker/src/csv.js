// RFC 4180 CSV (quoted fields with "" and line breaks inside, CRLF or LF), for bulk code uploads.
import { ApiError } from './http.js';

export function parseCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let opened = 1; // where the open quoted field started
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else { if (c === '\n') line++; field += c; }
    } else if (c === '"') {
      if (field !== '') throw new ApiError(400, 'INVALID_CSV', `line ${line}: a quote inside an unquoted field`, { line });
      quoted = true;
      opened = line;
    } else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field); rows.push({ line, cells: row }); row = []; field = ''; line++;
    } else field += c;
  }
  if (quoted) throw new ApiError(400, 'INVALID_CSV', `line ${opened}: a quoted field is left open`, { line: opened });
  if (field !== '' || row.length) { row.push(field); rows.push({ line, cells: row }); }
  return rows.filter((r) => r.cells.some((c) => c.trim() !== ''));
}

const HEADERS = ['code', 'codes', 'coupon_code'];

/** The code column: a header cell named code / codes / coupon_code, else the first column. */
export function codesFromCsv(text) {
  const rows = parseCsv(text);
  if (!rows.length) return [];
  const header = rows[0].cells.map((c) => c.trim().toLowerCase());
  const col = header.findIndex((h) => HEADERS.includes(h));
  const data = col >= 0 ? rows.slice(1) : rows;
  return data.map((r) => ({ line: r.line, code: (r.cells[Math.max(col, 0)] ?? '').trim() }));
}
