/**
 * Keyboard-only helpers for keyboard.spec.ts and keyboard.lab.spec.ts: what
 * has the focus, and moving it with Tab / Shift+Tab until an element is
 * reached. Nothing here clicks.
 */
import { expect, Page } from '@playwright/test';

/** A short description of the focused element: tag, id, name or text. */
export async function focused(page: Page): Promise<string> {
  return page.evaluate(() => {
    let el = document.activeElement as HTMLElement | null;
    while (el?.shadowRoot?.activeElement) {
      el = el.shadowRoot.activeElement as HTMLElement;
    }
    if (!el || el === document.body) {
      return 'body';
    }
    const name =
      el.getAttribute('aria-label') ?? (el.textContent ?? '').trim().slice(0, 60);
    return `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''} ${name}`.trim();
  });
}

/** Whether the focused element matches a CSS selector. */
export async function focusMatches(page: Page, selector: string): Promise<boolean> {
  return page.evaluate(s => !!document.activeElement?.matches(s), selector);
}

/**
 * Press `key` (Tab by default) until the focused element matches `selector`;
 * returns what had the focus on the way. Fails after `max` presses.
 */
export async function tabTo(
  page: Page,
  selector: string,
  options: { key?: string; max?: number } = {}
): Promise<string[]> {
  const key = options.key ?? 'Tab';
  const seen: string[] = [];
  for (let i = 0; i < (options.max ?? 40); i++) {
    if (await focusMatches(page, selector)) {
      return seen;
    }
    seen.push(await focused(page));
    await page.keyboard.press(key);
  }
  expect(await focusMatches(page, selector), `${key} never reached ${selector}; focus went: ${seen.join(' → ')}`).toBe(true);
  return seen;
}

/** Run a JupyterLab command by its label from the command palette. */
export async function palette(page: Page, label: string): Promise<void> {
  const input = page.locator('#command-palette input.lm-CommandPalette-input');
  // The shortcut toggles the palette: press again if it did not take the focus.
  await expect(async () => {
    await page.keyboard.press('Control+Shift+C');
    await expect(input).toBeFocused({ timeout: 1500 });
  }).toPass({ timeout: 15000 });
  await page.keyboard.type(label);
  const active = page.locator('.lm-CommandPalette-item.lm-mod-active');
  await expect(active).toContainText(label);
  await page.keyboard.press('Enter');
}
