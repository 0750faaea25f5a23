// The browser for every browser test: Debian's chromium (scripts/ensure-tools.sh installs it), never
// a downloaded one. CHROMIUM_PATH points at another build.
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** Headless Chromium; close it in `after`. */
export const launchChromium = () => chromium.launch({ executablePath: CHROMIUM });
