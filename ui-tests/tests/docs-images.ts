/**
 * Screenshots for the documentation: when SDCC_DOCS_IMAGES names a folder
 * (scripts/docs_images.sh sets it to docs/images/), chosen specs save the
 * pages the README and the admin guide show there. Otherwise nothing is saved.
 */
import { Locator, Page } from '@playwright/test';
import * as path from 'path';

const FOLDER = process.env.SDCC_DOCS_IMAGES ?? '';

/** Save `docs/images/<name>.png` (of `target`, the viewport, or the whole page) when asked to. */
export async function docsImage(
  page: Page,
  name: string,
  target?: Locator | { fullPage: boolean }
): Promise<void> {
  if (!FOLDER) {
    return;
  }
  const file = path.join(FOLDER, `${name}.png`);
  // No blinking caret or running animation in the documentation's images.
  const options = { path: file, animations: 'disabled' as const, caret: 'hide' as const };
  if (target && 'screenshot' in target) {
    await target.screenshot(options);
  } else {
    await page.screenshot({ ...options, fullPage: target?.fullPage ?? false });
  }
}
