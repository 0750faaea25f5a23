// Copies the console test's screenshots (test-results/browser/console-*.png, written by
// `node --test tests/browser/console.test.mjs`) into docs/console/ at a size for reading on a page:
// the top of each view, scaled down. Chromium does the scaling (the browser the tests use), so no
// image tool is needed: each screenshot is shown in a page at the docs' width and photographed.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launchChromium } from '../tests/browser/chromium.mjs';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SRC = path.join(ROOT, 'test-results/browser');
const OUT = path.join(ROOT, 'docs/console');

// [name in docs, screenshot, width in docs, height kept from the top (in the docs' pixels)]
const SHOTS = [
  ['list', 'console-list', 960, 820],
  ['coupon', 'console-coupon', 960, 560],
  ['form', 'console-form', 960, 1100],
  ['versions', 'console-versions', 960, 560],
  ['codes', 'console-codes', 960, 1150],
  ['stats', 'console-stats', 960, 1100],
  ['list-390', 'console-list-390', 390, 1300],
  ['coupon-390', 'console-coupon-390', 390, 1250],
];

fs.mkdirSync(OUT, { recursive: true });
const browser = await launchChromium();
try {
  const page = await browser.newPage();
  for (const [name, shot, width, height] of SHOTS) {
    const file = path.join(SRC, `${shot}.png`);
    if (!fs.existsSync(file)) throw new Error(`no ${path.relative(ROOT, file)}: run the console test first`);
    const data = fs.readFileSync(file).toString('base64');
    await page.setViewportSize({ width, height });
    await page.setContent(`<style>html,body{margin:0}img{display:block;width:${width}px}</style><img src="data:image/png;base64,${data}">`);
    await page.locator('img').evaluate((img) => img.decode());
    const full = await page.locator('img').evaluate((img) => img.getBoundingClientRect().height);
    const out = path.join(OUT, `${name}.png`);
    await page.screenshot({ path: out, clip: { x: 0, y: 0, width, height: Math.min(height, Math.floor(full)) } });
    console.log(`${path.relative(ROOT, out)}: ${fs.statSync(out).size} bytes`);
  }
} finally {
  await browser.close();
}
