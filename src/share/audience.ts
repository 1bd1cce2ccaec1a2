/**
 * The share dialogs' "Who may open it" field: anyone on the hub with the link,
 * or only the named hub users and hub groups (the share service checks each
 * name with the hub and refuses one it does not know, naming it).
 *
 * As the user types a name, the hub's users and groups that contain it are
 * offered below the field (`GET people?q=`, once typing pauses): a list the
 * keyboard drives (arrows, Enter, Escape) as well as the mouse. Picking one
 * completes the name being typed, the last of the comma-separated ones. In
 * *Users*, groups are offered too, marked as groups; picking one puts it in
 * *Groups*. A site that switched completion off answers 404: the field then
 * takes names typed in full and asks no more.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { APIError, requestAPI } from '../api';
import { IAudience } from '../inbox/types';

/** Names typed into a field: split at commas and white space, once each. */
export function parseNames(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter(name => name.length > 0))];
}

/** The audience the field's values say; null: anyone with the link. */
export function audienceOf(
  restricted: boolean,
  users: string,
  groups: string
): IAudience | null {
  if (!restricted) {
    return null;
  }
  return { users: parseNames(users), groups: parseNames(groups) };
}

/** What the link's result says about who may open it. */
export function audienceSummary(
  who: IAudience | null,
  trans: TranslationBundle
): string {
  return who
    ? trans.__(
        'Only for: %1. Anyone else who opens it is refused.',
        [...who.users, ...who.groups.map(g => trans.__('group %1', g))].join(
          ', '
        )
      )
    : trans.__('Anyone on the hub who has the link can open it.');
}

/** Hub names that contain what was typed (the server's `GET people`). */
export interface IPeople {
  users: string[];
  groups: string[];
}

export type PeopleLookup = (q: string) => Promise<IPeople>;

/** The longest `q` the service takes; a longer name is not looked up. */
export const MAX_QUERY = 64;
/** How long typing must pause before the hub is asked (ms). */
export const SUGGEST_DELAY = 250;

export function fetchPeople(q: string): Promise<IPeople> {
  return requestAPI<IPeople>(`people?q=${encodeURIComponent(q)}`);
}

/** The text before the name being typed (the last one), and that name. */
export function splitLast(text: string): { head: string; last: string } {
  const last = /[^\s,]*$/.exec(text)?.[0] ?? '';
  return { head: text.slice(0, text.length - last.length), last };
}

/** `text` with the name being typed replaced by `name`, ready for the next one. */
export function completeLast(text: string, name: string): string {
  return `${splitLast(text).head}${name}, `;
}

/** `text` with `name` added after its names (for a group picked in *Users*). */
export function appendName(text: string, name: string): string {
  const kept = text.replace(/[\s,]*$/, '');
  return `${kept ? kept + ', ' : ''}${name}, `;
}

const NONE: IPeople = { users: [], groups: [] };

/**
 * Asks `lookup` for the name being typed once typing has paused for `delay`
 * ms; only the answer to the latest text is passed on. After a 404 (the site
 * switched completion off) it never asks again.
 */
export class Suggester {
  private _timer: ReturnType<typeof setTimeout> | undefined;
  private _asked = 0;
  private _off = false;

  constructor(
    private readonly _lookup: PeopleLookup,
    private readonly _answer: (people: IPeople, q: string) => void,
    private readonly _delay = SUGGEST_DELAY
  ) {}

  /** Whether the site switched completion off. */
  get off(): boolean {
    return this._off;
  }

  /** The field now reads `text`. */
  typed(text: string): void {
    this.cancel();
    const q = splitLast(text).last;
    if (this._off || !q || q.length > MAX_QUERY) {
      this._answer(NONE, q);
      return;
    }
    this._timer = setTimeout(() => void this._ask(q), this._delay);
  }

  /** Forget what was typed: no answer comes for it. */
  cancel(): void {
    clearTimeout(this._timer);
    this._timer = undefined;
    this._asked++;
  }

  private async _ask(q: string): Promise<void> {
    const asked = ++this._asked;
    let people = NONE;
    try {
      people = await this._lookup(q);
    } catch (error) {
      if (error instanceof APIError && error.status === 404) {
        this._off = true;
      }
    }
    if (asked === this._asked) {
      this._answer(people, q);
    }
  }
}

interface IChoice {
  name: string;
  kind: 'user' | 'group';
}

export interface IAudienceField {
  node: HTMLElement;
  /** The audience, or null (anyone); a string says what is missing. */
  value(): IAudience | null | string;
}

let counter = 0;

export function audienceField(
  trans: TranslationBundle,
  lookup: PeopleLookup = fetchPeople,
  delay = SUGGEST_DELAY
): IAudienceField {
  const id = `jp-sdcc-Audience-${++counter}`;
  const fieldset = document.createElement('fieldset');
  fieldset.className = 'jp-sdcc-Audience';
  const legend = document.createElement('legend');
  legend.textContent = trans.__('Who may open it');
  fieldset.appendChild(legend);
  const radio = (value: string, words: string, checked: boolean) => {
    const label = document.createElement('label');
    const input = document.createElement('input');
    input.type = 'radio';
    input.name = id;
    input.value = value;
    input.checked = checked;
    label.append(input, ' ', words);
    fieldset.appendChild(label);
    fieldset.appendChild(document.createElement('br'));
    return input;
  };
  radio('anyone', trans.__('Anyone on the hub with the link'), true);
  const named = radio(
    'named',
    trans.__('Only these people and groups:'),
    false
  );
  const text = (words: string, placeholder: string, kind: string) => {
    const label = document.createElement('label');
    label.textContent = words + ' ';
    const input = document.createElement('input');
    input.className = 'jp-mod-styled';
    input.placeholder = placeholder;
    input.autocomplete = 'off';
    input.setAttribute('aria-label', words);
    label.appendChild(input);
    fieldset.appendChild(label);
    const list = document.createElement('ul');
    list.id = `${id}-${kind}`;
    list.className = 'jp-sdcc-AudienceSuggestions';
    list.setAttribute('role', 'listbox');
    list.setAttribute('aria-label', trans.__('%1 on the hub', words));
    list.hidden = true;
    fieldset.appendChild(list);
    fieldset.appendChild(document.createElement('br'));
    input.setAttribute('role', 'combobox');
    input.setAttribute('aria-autocomplete', 'list');
    input.setAttribute('aria-controls', list.id);
    input.setAttribute('aria-expanded', 'false');
    return { input, list };
  };
  const users = text(trans.__('Users'), trans.__('e.g. bob, carol'), 'users');
  const groups = text(trans.__('Groups'), trans.__('e.g. physics'), 'groups');

  const suggest = (
    field: { input: HTMLInputElement; list: HTMLUListElement },
    kinds: 'users' | 'groups'
  ) => {
    const { input, list } = field;
    let choices: IChoice[] = [];
    let active = -1;
    const show = (index: number) => {
      active = index;
      list.querySelectorAll('[role="option"]').forEach((option, i) => {
        option.setAttribute('aria-selected', String(i === index));
        option.classList.toggle('jp-mod-active', i === index);
      });
      if (index >= 0) {
        input.setAttribute('aria-activedescendant', `${list.id}-${index}`);
        list.children[index]?.scrollIntoView?.({ block: 'nearest' });
      } else {
        input.removeAttribute('aria-activedescendant');
      }
    };
    const close = () => {
      choices = [];
      list.hidden = true;
      list.replaceChildren();
      input.setAttribute('aria-expanded', 'false');
      show(-1);
    };
    const pick = (choice: IChoice) => {
      if (kinds === 'users' && choice.kind === 'group') {
        input.value = splitLast(input.value).head;
        groups.input.value = appendName(groups.input.value, choice.name);
      } else {
        input.value = completeLast(input.value, choice.name);
      }
      named.checked = true;
      suggester.cancel();
      close();
      input.focus();
    };
    const answered = (people: IPeople) => {
      const taken = new Set([
        ...parseNames(splitLast(users.input.value).head),
        ...parseNames(splitLast(groups.input.value).head)
      ]);
      const offered: IChoice[] = [
        ...(kinds === 'users' ? people.users : []).map(
          name => ({ name, kind: 'user' }) as IChoice
        ),
        ...people.groups.map(name => ({ name, kind: 'group' }) as IChoice)
      ].filter(choice => !taken.has(choice.name));
      if (!offered.length || document.activeElement !== input) {
        close();
        return;
      }
      choices = offered;
      list.replaceChildren(
        ...offered.map((choice, i) => {
          const option = document.createElement('li');
          option.id = `${list.id}-${i}`;
          option.setAttribute('role', 'option');
          option.setAttribute('aria-selected', 'false');
          option.textContent = choice.name;
          if (choice.kind === 'group') {
            const mark = document.createElement('span');
            mark.className = 'jp-sdcc-AudienceKind';
            mark.textContent = ' ' + trans.__('group');
            option.appendChild(mark);
          }
          // Keep the focus in the field: the click picks, the field stays active.
          option.onmousedown = event => event.preventDefault();
          option.onclick = () => pick(choice);
          return option;
        })
      );
      list.hidden = false;
      input.setAttribute('aria-expanded', 'true');
      show(-1);
    };
    const suggester = new Suggester(lookup, answered, delay);
    // The dialog handles Enter and Escape in its capture phase (accept, close):
    // while the list is open, the field's keys are taken before it sees them.
    const onKey = (event: KeyboardEvent) => {
      if (event.target !== input || list.hidden || !choices.length) {
        return;
      }
      let handled = true;
      if (event.key === 'ArrowDown') {
        show((active + 1) % choices.length);
      } else if (event.key === 'ArrowUp') {
        show(active <= 0 ? choices.length - 1 : active - 1);
      } else if (event.key === 'Enter' && active >= 0) {
        pick(choices[active]);
      } else if (event.key === 'Escape') {
        suggester.cancel();
        close();
      } else {
        handled = false;
      }
      if (handled) {
        event.preventDefault();
        event.stopPropagation();
      }
    };
    input.addEventListener('focus', () =>
      window.addEventListener('keydown', onKey, true)
    );
    input.addEventListener('blur', () => {
      window.removeEventListener('keydown', onKey, true);
      suggester.cancel();
      close();
    });
    input.addEventListener('input', () => {
      // Typing a name chooses "only these".
      if (input.value.trim()) {
        named.checked = true;
      }
      suggester.typed(input.value);
    });
  };
  suggest(users, 'users');
  suggest(groups, 'groups');

  return {
    node: fieldset,
    value: () => {
      const audience = audienceOf(
        named.checked,
        users.input.value,
        groups.input.value
      );
      if (audience && audience.users.length + audience.groups.length === 0) {
        return trans.__('Name at least one user or group, or choose anyone.');
      }
      return audience;
    }
  };
}
