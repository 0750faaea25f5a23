// The console's CSV export (www/console/format.js): what a spreadsheet would run is written as text;
// a name holding a bidi control is isolated where it is quoted.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { csvField, csvRows, isolate } from '../../www/console/format.js';

test('a field a spreadsheet would run as a formula gets a leading apostrophe; numbers stay numbers', () => {
  assert.equal(csvField('=HYPERLINK("http://evil.example/","x")'), `"'=HYPERLINK(""http://evil.example/"",""x"")"`);
  for (const v of ['+cmd', '@SUM(A1)', '\tx', '\rx', '-x']) assert.equal(csvField(v)[0] === '"' ? csvField(v)[1] : csvField(v)[0], "'", JSON.stringify(v));
  for (const v of ['-5.00', '+3', '12', 'plain']) assert.equal(csvField(v), v);
  assert.equal(csvField(7), '7');
  assert.equal(csvRows([['id', 'name'], ['c1', '=1+1']]), "id,name\r\nc1,'=1+1\r\n");
});

test('a name holding a bidi control is isolated (FSI ... PDI); other text and non-strings pass as they are', () => {
  // An override left open (U+202E) would reverse the rest of "SALE is paused." around it.
  assert.equal(isolate('SALE\u202e01'), '\u2068SALE\u202e01\u2069');
  for (const c of ['\u061c', '\u200e', '\u200f', '\u202a', '\u202d', '\u2066', '\u2069']) assert.equal(isolate(`a${c}`), `\u2068a${c}\u2069`, escape(c));
  for (const v of ['Summer sale', 'تخفيض الصيف', 'מבצע', '', null, undefined, 5]) assert.equal(isolate(v), v);
});
