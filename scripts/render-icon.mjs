// Renders the marketplace icon media/was-lab.png (128x128; vsce refuses SVG icons) from the
// activity-bar icon media/was-lab.svg, drawn light on a dark tile. Run once after changing the SVG:
//   node scripts/render-icon.mjs      (needs Debian's chromium and playwright-core)
import * as fs from 'node:fs';
import { chromium } from 'playwright-core';

const svg = fs.readFileSync(new URL('../media/was-lab.svg', import.meta.url), 'utf8');
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
try {
  const page = await browser.newPage({ viewport: { width: 128, height: 128 } });
  await page.setContent(`<!DOCTYPE html><html><body style="margin:0;background:transparent">
    <div style="width:128px;height:128px;border-radius:24px;background:#1f3a5f;color:#e8f1ff;display:flex;align-items:center;justify-content:center">
      <div style="width:100px;height:100px">${svg.replace('width="24" height="24"', 'width="100" height="100"')}</div>
    </div></body></html>`);
  await page.screenshot({ path: new URL('../media/was-lab.png', import.meta.url).pathname, omitBackground: true, clip: { x: 0, y: 0, width: 128, height: 128 } });
} finally {
  await browser.close();
}
