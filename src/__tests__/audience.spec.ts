/**
 * @jest-environment jsdom
 */
/**
 * The audience field's name completion: the hub is asked once typing pauses,
 * for the last of the comma-separated names; the keyboard picks; a group is
 * marked and goes to Groups; a site that switched completion off (404) is
 * asked no more.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { APIError } from '../api';
import {
  appendName,
  audienceField,
  completeLast,
  IPeople,
  splitLast,
  Suggester
} from '../share/audience';
import { trans } from './trans';

const bundle = trans as unknown as TranslationBundle;
const HUB: IPeople = { users: ['bob', 'barbara'], groups: ['biology'] };

function type(input: HTMLInputElement, text: string): void {
  input.focus();
  input.value = text;
  input.dispatchEvent(new Event('input', { bubbles: true }));
}

function key(input: HTMLInputElement, name: string): KeyboardEvent {
  const event = new KeyboardEvent('keydown', {
    key: name,
    bubbles: true,
    cancelable: true
  });
  input.dispatchEvent(event);
  return event;
}

function field(lookup: (q: string) => Promise<IPeople>) {
  // Inside a node that, like JupyterLab's dialog, takes Enter and Escape in
  // its capture phase: the field must get them first while its list is open.
  const dialog = document.createElement('div');
  const seen: string[] = [];
  dialog.addEventListener('keydown', e => seen.push(e.key), true);
  document.body.replaceChildren(dialog);
  const made = audienceField(bundle, lookup, 250);
  dialog.appendChild(made.node);
  const [users, groups] = [
    ...made.node.querySelectorAll<HTMLInputElement>('input[role="combobox"]')
  ];
  const list = (input: HTMLInputElement) =>
    document.getElementById(input.getAttribute('aria-controls')!)!;
  const options = (input: HTMLInputElement) =>
    [...list(input).querySelectorAll('[role="option"]')].map(
      o => o.textContent
    );
  return { made, users, groups, list, options, seen };
}

async function settle(ms = 250): Promise<void> {
  jest.advanceTimersByTime(ms);
  for (let i = 0; i < 5; i++) {
    await Promise.resolve();
  }
}

describe('the last name typed', () => {
  it('is what follows the last comma or space', () => {
    expect(splitLast('alice, bo')).toEqual({ head: 'alice, ', last: 'bo' });
    expect(splitLast('alice bo')).toEqual({ head: 'alice ', last: 'bo' });
    expect(splitLast('alice, ')).toEqual({ head: 'alice, ', last: '' });
    expect(splitLast('')).toEqual({ head: '', last: '' });
  });

  it('is replaced by the picked name, the others kept', () => {
    expect(completeLast('alice, bo', 'bob')).toBe('alice, bob, ');
    expect(completeLast('b', 'bob')).toBe('bob, ');
    expect(appendName('', 'physics')).toBe('physics, ');
    expect(appendName('chem, ', 'physics')).toBe('chem, physics, ');
  });
});

describe('Suggester', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('asks once typing pauses, for the last name only', async () => {
    const lookup = jest.fn(async () => HUB);
    const answers: string[] = [];
    const s = new Suggester(lookup, (_, q) => answers.push(q), 250);
    s.typed('alice, b');
    jest.advanceTimersByTime(100);
    s.typed('alice, bo');
    jest.advanceTimersByTime(249);
    expect(lookup).not.toHaveBeenCalled();
    await settle(1);
    expect(lookup.mock.calls).toEqual([['bo']]);
    expect(answers).toEqual(['bo']);
  });

  it('drops an answer to text the field no longer holds', async () => {
    let release: (p: IPeople) => void = () => undefined;
    const lookup = jest
      .fn()
      .mockImplementationOnce(() => new Promise(r => (release = r)))
      .mockResolvedValue(HUB);
    const answers: string[] = [];
    const s = new Suggester(lookup, (_, q) => answers.push(q), 250);
    s.typed('b');
    await settle();
    s.typed('ba');
    release(HUB); // the answer for "b" arrives after "ba" was typed
    await settle();
    expect(answers).toEqual(['ba']);
  });

  it('asks nothing for an empty or over-long name', async () => {
    const lookup = jest.fn(async () => HUB);
    const s = new Suggester(lookup, () => undefined, 250);
    s.typed('alice, ');
    s.typed('x'.repeat(65));
    await settle();
    expect(lookup).not.toHaveBeenCalled();
  });

  it('asks no more once the site answered 404', async () => {
    const lookup = jest.fn(async () => {
      throw new APIError(404, 'this site does not complete names');
    });
    const s = new Suggester(lookup, () => undefined, 250);
    s.typed('b');
    await settle();
    expect(s.off).toBe(true);
    s.typed('bo');
    await settle();
    expect(lookup).toHaveBeenCalledTimes(1);
  });
});

describe('audienceField with suggestions', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('offers users, then groups marked as groups, and the keyboard picks', async () => {
    const lookup = jest.fn(async () => HUB);
    const { made, users, groups, list, options, seen } = field(lookup);
    type(users, 'alice, b');
    await settle();
    expect(lookup.mock.calls).toEqual([['b']]);
    expect(options(users)).toEqual(['bob', 'barbara', 'biology group']);
    expect(users.getAttribute('aria-expanded')).toBe('true');
    key(users, 'ArrowDown');
    expect(users.getAttribute('aria-activedescendant')).toBe(
      list(users).children[0].id
    );
    const enter = key(users, 'Enter');
    expect(enter.defaultPrevented).toBe(true);
    expect(seen).not.toContain('Enter'); // the dialog did not take it
    expect(users.value).toBe('alice, bob, ');
    expect(list(users).hidden).toBe(true);
    expect(users.getAttribute('aria-expanded')).toBe('false');
    expect(made.value()).toEqual({ users: ['alice', 'bob'], groups: [] });
    expect(groups.value).toBe('');
  });

  it('puts a group picked in Users into Groups', async () => {
    const { made, users, groups, options } = field(async () => HUB);
    type(users, 'carol b');
    await settle();
    key(users, 'ArrowUp'); // from none, up is the last: the group
    key(users, 'Enter');
    expect(users.value).toBe('carol ');
    expect(groups.value).toBe('biology, ');
    expect(options(users)).toEqual([]);
    expect(made.value()).toEqual({ users: ['carol'], groups: ['biology'] });
  });

  it('offers only groups in Groups, and not the names already there', async () => {
    const { groups, options } = field(async () => ({
      users: ['bob'],
      groups: ['biology', 'bioinformatics']
    }));
    type(groups, 'biology, bi');
    await settle();
    expect(options(groups)).toEqual(['bioinformatics group']);
  });

  it('a click picks; Escape closes the list, not the dialog', async () => {
    const { users, list, options, seen } = field(async () => HUB);
    type(users, 'b');
    await settle();
    (list(users).children[1] as HTMLElement).click();
    expect(users.value).toBe('barbara, ');
    type(users, 'barbara, b');
    await settle();
    expect(options(users)).toEqual(['bob', 'biology group']);
    const escape = key(users, 'Escape');
    expect(escape.defaultPrevented).toBe(true);
    expect(seen).not.toContain('Escape');
    expect(list(users).hidden).toBe(true);
    // With the list closed, Escape and Enter are the dialog's again.
    key(users, 'Escape');
    expect(seen).toContain('Escape');
  });

  it('falls back to free text when the site switched completion off', async () => {
    const lookup = jest.fn(async () => {
      throw new APIError(404, 'this site does not complete names');
    });
    const { made, users, list } = field(lookup);
    type(users, 'bob, car');
    await settle();
    type(users, 'bob, carol');
    await settle();
    expect(lookup).toHaveBeenCalledTimes(1);
    expect(list(users).hidden).toBe(true);
    expect(made.value()).toEqual({ users: ['bob', 'carol'], groups: [] });
  });
});
