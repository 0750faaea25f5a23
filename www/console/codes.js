// A bulk coupon's unique codes: generate new ones (the Worker makes and stores them, at most 500 a
// call; this loops) and download them as CSV; upload a CSV of any size, in chunks of 500 rows (the
// Worker's limit per request) with a progress bar, listing every refused row with its line and why.
import * as api from './api.js';
import { count, csvRows, dateTime, download, h, isolate, put } from './format.js';

export const CHUNK = 500;
const HEADERS = ['code', 'codes', 'coupon_code'];

/**
 * The codes of a CSV text with their line numbers in the file (RFC 4180: quoted fields, CRLF or LF),
 * from the column named code / codes / coupon_code, else the first one; blank rows are skipped.
 */
export function codesOfCsv(text) {
  const rows = [];
  let row = [];
  let field = '';
  let quoted = false;
  let line = 1;
  let rowLine = 1;
  const end = () => {
    row.push(field);
    if (row.some((c) => c.trim() !== '')) rows.push({ line: rowLine, cells: row });
    row = [];
    field = '';
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else {
        if (c === '\n') line++;
        field += c;
      }
    } else if (c === '"') quoted = true;
    else if (c === ',') row.push(field), (field = '');
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      end();
      line++;
      rowLine = line;
    } else field += c;
  }
  if (field !== '' || row.length) end();
  if (!rows.length) return [];
  const header = rows[0].cells.map((c) => c.trim().toLowerCase());
  const col = header.findIndex((x) => HEADERS.includes(x));
  return (col >= 0 ? rows.slice(1) : rows).map((r) => ({ line: r.line, code: (r.cells[Math.max(col, 0)] ?? '').trim() }));
}

const chunkCsv = (rows) => csvRows([['code'], ...rows.map((r) => [r.code])]);

/**
 * Uploads `rows` ({ line, code }) in chunks. A chunk the Worker refuses (422 INVALID_CODES: it
 * stores nothing of it) is sent again without its refused rows, so one bad row never keeps the
 * good ones out. Returns { imported, refused: [{ line, code, message }] } with the file's lines.
 */
export async function uploadInChunks(couponId, rows, { pool = false, onProgress = () => {} } = {}) {
  let imported = 0;
  const refused = [];
  const batch = crypto.randomUUID();
  for (let start = 0; start < rows.length; start += CHUNK) {
    let chunk = rows.slice(start, start + CHUNK);
    for (let attempt = 0; chunk.length && attempt < 2; attempt++) {
      try {
        const res = await api.uploadCodes(couponId, chunkCsv(chunk), pool, batch);
        imported += res.imported;
        break;
      } catch (err) {
        if (err.code !== 'INVALID_CODES' || !Array.isArray(err.refused) || attempt) throw err;
        // Line n of the chunk's CSV is chunk[n - 2] (line 1 is the header).
        const bad = new Set();
        for (const r of err.refused) {
          const row = chunk[(r.line ?? 0) - 2];
          if (row) {
            bad.add(row);
            refused.push({ line: row.line, code: row.code, message: r.message });
          }
        }
        if (!bad.size) throw err;
        chunk = chunk.filter((r) => !bad.has(r));
      }
    }
    onProgress(Math.min(start + CHUNK, rows.length), rows.length);
  }
  refused.sort((a, b) => a.line - b.line);
  return { imported, refused };
}

/** Generates `total` codes, at most 500 a call; returns the CSV (one header) of all of them. */
export async function generateAll(couponId, total, onProgress = () => {}) {
  const codes = [];
  const batch = crypto.randomUUID();
  while (codes.length < total) {
    const n = Math.min(CHUNK, total - codes.length);
    const csv = await api.generateCodes(couponId, n, batch);
    codes.push(...codesOfCsv(csv).map((r) => r.code));
    onProgress(codes.length, total);
  }
  return csvRows([['code'], ...codes.map((c) => [c])]);
}

/** The coupon's newest uploads and generations, as a table (or a line saying there are none). */
function historyTable(uploads) {
  if (!uploads.length) return h('p', { class: 'muted small', id: 'uploads-none' }, 'No codes were uploaded or generated here yet.');
  return h(
    'div',
    { class: 'scroll' },
    h(
      'table',
      { class: 'uploads', id: 'uploads' },
      h('caption', {}, 'Uploads and generations, newest first'),
      h('thead', {}, h('tr', {}, ['When', 'What', 'Codes added', 'Rows refused', 'Added to the pool'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, uploads.map((u) => h(
        'tr',
        { 'data-kind': u.kind },
        h('td', {}, dateTime(u.at)),
        h('td', {}, u.kind === 'generated' ? 'Generated here' : `Uploaded file${u.requests > 1 ? ` (${count(u.requests)} parts)` : ''}`),
        h('td', { class: 'num' }, count(u.imported)),
        h('td', { class: 'num' }, count(u.refused)),
        h('td', { class: 'num' }, count(u.pooled)),
      ))),
    ),
  );
}

export function renderCodes(root, { coupon, pool, uploads = [], notify, showProblem }) {
  const id = coupon.id;
  const history = h('div', {}, historyTable(uploads));
  const refreshHistory = async () => {
    try {
      history.replaceChildren(historyTable((await api.getUploads(id)).uploads));
    } catch {
      // the list stays as it was; the upload itself already said how it went
    }
  };
  const progress = (label) => {
    const bar = h('progress', { max: 100, value: 0, 'aria-label': label });
    const text = h('span', { class: 'small muted' });
    return { el: h('div', { class: 'progress', hidden: true }, bar, text), set: (done, total) => ((bar.max = total), (bar.value = done), (text.textContent = `${count(done)} of ${count(total)}`)) };
  };

  // Generate.
  const countInput = h('input', { id: 'gen-count', type: 'number', min: 1, max: 10000, value: 100, inputmode: 'numeric', required: true, 'aria-describedby': 'gen-hint gen-error' });
  const genError = h('p', { id: 'gen-error', class: 'error small', 'aria-live': 'assertive' });
  const genProgress = progress('Generating codes');
  const genForm = h(
    'form',
    { class: 'inline-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'gen-count' }, 'How many codes'), countInput),
    h('button', { type: 'submit' }, 'Generate and download'),
  );
  genForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const n = Number(countInput.value);
    genError.textContent = '';
    if (!Number.isInteger(n) || n < 1 || n > 10000) {
      genError.textContent = 'Enter a whole number from 1 to 10,000.';
      countInput.setAttribute('aria-invalid', 'true');
      countInput.focus();
      return;
    }
    countInput.removeAttribute('aria-invalid');
    const button = genForm.querySelector('button');
    button.disabled = true;
    genProgress.el.hidden = false;
    genProgress.set(0, n);
    try {
      const csv = await generateAll(id, n, genProgress.set);
      download(`${id}-codes-${new Date().toISOString().slice(0, 10)}.csv`, csv);
      notify(`${count(n)} new codes for ${isolate(coupon.name)} are stored and downloaded.`);
      root.dataset.generated = String(n);
      await refreshHistory();
    } catch (err) {
      genError.textContent = err.code === 'CODE_MAC_KEY_MISSING' || err.status === 503 ? `Codes cannot be generated here: ${err.message}` : err.message;
    } finally {
      button.disabled = false;
    }
  });

  // Upload.
  const file = h('input', { id: 'upload-file', type: 'file', accept: '.csv,text/csv', 'aria-describedby': 'upload-hint upload-error' });
  const poolBox = h('input', { id: 'upload-pool', type: 'checkbox' });
  const upError = h('p', { id: 'upload-error', class: 'error small', 'aria-live': 'assertive' });
  const upProgress = progress('Uploading codes');
  const upResult = h('div', { id: 'upload-result', role: 'status', 'aria-live': 'polite' });
  const upForm = h(
    'form',
    { class: 'upload-form', novalidate: true },
    h('div', { class: 'field' }, h('label', { for: 'upload-file' }, 'CSV file of codes'), file),
    h('p', { id: 'upload-hint', class: 'muted small' }, `One code per row, in a column named "code" or the first column. Any size: it is sent ${CHUNK} rows at a time.`),
    coupon.audience?.type === 'assigned'
      ? h('div', { class: 'check' }, poolBox, h('label', { for: 'upload-pool' }, 'Also add them to the pool that events hand codes out from'))
      : null,
    h('button', { type: 'submit' }, 'Upload codes'),
  );
  upForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    upError.textContent = '';
    upResult.replaceChildren();
    const f = file.files?.[0];
    if (!f) {
      upError.textContent = 'Choose a CSV file first.';
      file.focus();
      return;
    }
    let rows;
    try {
      rows = codesOfCsv(await f.text());
    } catch (err) {
      upError.textContent = `The file could not be read: ${err.message}`;
      return;
    }
    if (!rows.length) {
      upError.textContent = 'The file has no codes.';
      return;
    }
    const button = upForm.querySelector('button');
    button.disabled = true;
    upProgress.el.hidden = false;
    upProgress.set(0, rows.length);
    try {
      const { imported, refused } = await uploadInChunks(id, rows, { pool: poolBox.checked, onProgress: upProgress.set });
      root.dataset.imported = String(imported);
      root.dataset.refused = String(refused.length);
      upResult.append(h('p', { class: refused.length ? '' : 'ok' }, `${count(imported)} codes uploaded from ${count(rows.length)} rows${refused.length ? `; ${count(refused.length)} rows refused:` : '.'}`));
      if (refused.length) {
        upResult.append(
          h(
            'div',
            { class: 'scroll' },
            h(
              'table',
              { class: 'refused' },
              h('caption', {}, 'Rows refused'),
              h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Line'), h('th', { scope: 'col' }, 'Code'), h('th', { scope: 'col' }, 'Why'))),
              h('tbody', {}, refused.slice(0, 1000).map((r) => h('tr', { 'data-line': r.line }, h('td', {}, count(r.line)), h('td', { class: 'code' }, r.code), h('td', {}, r.message)))),
            ),
          ),
        );
      }
      notify(`${count(imported)} codes uploaded to ${isolate(coupon.name)}.`);
      file.value = '';
      await refreshHistory();
    } catch (err) {
      upError.textContent = err.message;
      showProblem(null);
    } finally {
      button.disabled = false;
    }
  });

  put(root, 
    h('h2', { id: 'codes-title' }, 'Unique codes'),
    h('p', { class: 'muted small' }, `Codes start with ${coupon.codes.prefix} and have ${coupon.codes.length} characters.${pool ? ` ${count(pool.available)} wait in the pool for events; ${count(pool.given)} were given out.` : ''}`),
    h('h3', {}, 'Generate codes'),
    h('p', { id: 'gen-hint', class: 'muted small' }, 'New codes are made and stored by the shop (random characters, a MAC and a check character, as couponctl makes them), then downloaded as a CSV file to send out.'),
    genForm,
    genProgress.el,
    genError,
    h('h3', {}, 'Upload codes'),
    upForm,
    upProgress.el,
    upError,
    upResult,
    h('h3', {}, 'History'),
    history,
  );
}
