/**
 * The share dialogs' "Who may open it" field: anyone on the hub with the link,
 * or only the named hub users and hub groups (the share service checks each
 * name with the hub and refuses one it does not know, naming it).
 */
import { TranslationBundle } from '@jupyterlab/translation';

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

export interface IAudienceField {
  node: HTMLElement;
  /** The audience, or null (anyone); a string says what is missing. */
  value(): IAudience | null | string;
}

let counter = 0;

export function audienceField(trans: TranslationBundle): IAudienceField {
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
  const text = (words: string, placeholder: string) => {
    const label = document.createElement('label');
    label.textContent = words + ' ';
    const input = document.createElement('input');
    input.className = 'jp-mod-styled';
    input.placeholder = placeholder;
    input.setAttribute('aria-label', words);
    label.appendChild(input);
    fieldset.appendChild(label);
    fieldset.appendChild(document.createElement('br'));
    // Typing a name chooses "only these".
    input.oninput = () => {
      if (input.value.trim()) {
        named.checked = true;
      }
    };
    return input;
  };
  const users = text(trans.__('Users'), trans.__('e.g. bob, carol'));
  const groups = text(trans.__('Groups'), trans.__('e.g. physics'));
  return {
    node: fieldset,
    value: () => {
      const audience = audienceOf(named.checked, users.value, groups.value);
      if (audience && audience.users.length + audience.groups.length === 0) {
        return trans.__('Name at least one user or group, or choose anyone.');
      }
      return audience;
    }
  };
}
