// The console's CSV export (www/console/format.js): what a spreadsheet would run is written as text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { csvField, csvRows } from '../../www/console/format.js';

test('a field a spreadsheet would run as a formula gets a leading apostrophe; numbers stay numbers', () => {
  assert.equal(csvField('=HYPERLINK("http://evil.example/","x")'), `"'=HYPERLINK(""http://evil.example/"",""x"")"`);
  for (const v of ['+cmd', '@SUM(A1)', '\tx', '\rx', '-x']) assert.equal(csvField(v)[0] === '"' ? csvField(v)[1] : csvField(v)[0], "'", JSON.stringify(v));
  for (const v of ['-5.00', '+3', '12', 'plain']) assert.equal(csvField(v), v);
  assert.equal(csvField(7), '7');
  assert.equal(csvRows([['id', 'name'], ['c1', '=1+1']]), "id,name\r\nc1,'=1+1\r\n");
});
