// Copies the browser builds of the pages' npm dependencies into www/vendor/ (git-ignored), so the
// console is served whole by the Worker's assets with no network at run time, like www/pkg/.
// Run by scripts/dev.sh and by the browser tests' setup (tests/browser/server.mjs). A file already
// up to date is left alone: every write under www/ makes a running `wrangler dev` reload.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

// [from (under node_modules), to (under www/vendor)]
export const VENDORED = [
  ['chart.js/dist/chart.umd.min.js', 'chart.umd.min.js'], // Chart.js 4 (MIT), UMD: window.Chart
  ['chart.js/LICENSE.md', 'chart.js.LICENSE.md'],
];

export function copyVendor(root = ROOT) {
  const dir = path.join(root, 'www/vendor');
  fs.mkdirSync(dir, { recursive: true });
  for (const [from, to] of VENDORED) {
    const src = path.join(root, 'node_modules', from);
    if (!fs.existsSync(src)) throw new Error(`${from} is missing: run npm ci`);
    const bytes = fs.readFileSync(src);
    const dest = path.join(dir, to);
    if (fs.existsSync(dest) && bytes.equals(fs.readFileSync(dest))) continue;
    const part = `${dest}.${process.pid}.part`; // written aside and renamed: never half a file served
    fs.writeFileSync(part, bytes);
    fs.renameSync(part, dest);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) copyVendor();
