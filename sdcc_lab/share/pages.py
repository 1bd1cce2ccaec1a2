"""The share service's HTML pages. Every value from a user or a token is escaped here."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from html import escape
from typing import Any

from ..labels import labels, option_rows, scheduler_name
from ..names import visible_text
from .store import Access, ShareInfo

# The browser's system colours only (Canvas, CanvasText, LinkText…): the pages
# follow the user's light or dark preference and keep their contrast in both.
_STYLE = """
:root{color-scheme:light dark}
body{font-family:system-ui,sans-serif;max-width:46em;margin:3em auto;padding:0 1em;
background:Canvas;color:CanvasText}
h1{font-size:1.4em} table{border-collapse:collapse;margin:1em 0}
th,td{text-align:left;padding:.3em .8em;border-bottom:1px solid GrayText;vertical-align:top}
a{color:LinkText}
.button{display:inline-block;padding:.5em 1em;background:ButtonFace;color:ButtonText;
border:1px solid ButtonBorder;border-radius:3px;text-decoration:none;font-size:1em;cursor:pointer}
.problem{border-left:4px solid CanvasText;padding:.5em 1em;background:Mark;color:MarkText}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);
white-space:nowrap}
iframe.preview{width:100%;height:70vh;border:1px solid GrayText}
"""


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )


def problem_page(title: str, message: str, hub_home: str) -> str:
    return page(
        title,
        f"<p class='problem'>{escape(message)}</p>"
        f"<p><a href='{escape(hub_home, quote=True)}'>Back to the hub</a></p>",
    )


def environment_pairs(environment: dict[str, Any]) -> list[tuple[str, str]]:
    """``(label, value)`` rows of a link's environment, as text (the page's script shows them).

    The words are JupyterLab's (``sdcc_lab/labels.json``), so a link's page
    says a session the way the sender's "About this session" does.
    """
    words = labels()
    rows: list[tuple[str, str]] = []
    kernel = environment.get("kernelspec") or {}
    if isinstance(kernel, dict) and kernel:
        rows.append((words["kernel"], str(kernel.get("display_name") or kernel.get("name") or "")))
    kernels = environment.get("kernels")  # a folder share's notebooks' kernels
    for spec in kernels if isinstance(kernels, list) else []:
        if isinstance(spec, dict) and (spec.get("display_name") or spec.get("name")):
            rows.append((words["kernel"], str(spec.get("display_name") or spec.get("name"))))
    rows.append((words["where"], scheduler_name(environment.get("scheduler"))))
    options = environment.get("options") or {}
    if isinstance(options, dict):
        rows.extend(option_rows(options))
    return [(visible_text(k), visible_text(v)) for k, v in rows]


# The link page's script. It reads the token from the address's fragment (or,
# for links of old, the path), asks the service what the link is with a POST,
# and builds the page with text nodes only. Before the hub's login it keeps the
# token in this tab's sessionStorage (the login form would drop the fragment);
# on Continue it leaves it there for the recipient's JupyterLab too, in case a
# form on the way (the hub's spawn form) drops the fragment. Both entries are
# removed when read and ignored after an hour.
_OPEN_SCRIPT = r"""
(function () {
  'use strict';
  var root = document.getElementById('sdcc-open');
  var d = root.dataset;
  var LOGIN = 'sdcc-share:login', CONTINUE = 'sdcc-share:continue', MAX_AGE = 3600 * 1000;
  function el(tag, text, cls) {
    var e = document.createElement(tag);
    if (text !== undefined) { e.textContent = text; }
    if (cls) { e.className = cls; }
    return e;
  }
  function stash(key, token) {
    try {
      sessionStorage.setItem(key, JSON.stringify({ token: token, user: d.user, at: Date.now() }));
    } catch (e) { /* storage off: the fragment alone carries the token */ }
  }
  function take(key) {
    try {
      var v = JSON.parse(sessionStorage.getItem(key) || 'null');
      sessionStorage.removeItem(key);
      return v && Date.now() - v.at < MAX_AGE ? String(v.token) : '';
    } catch (e) { return ''; }
  }
  function fromAddress() {
    var hash = location.hash.replace(/^#/, '').replace(/^sdcc-share=/, '');
    if (hash) { return hash; }
    var m = /\/open\/([^\/]+)\/?$/.exec(location.pathname);
    return m ? decodeURIComponent(m[1]) : '';
  }
  function show(title, nodes) {
    document.title = title;
    document.querySelector('h1').textContent = title;
    root.textContent = '';
    nodes.forEach(function (n) { root.appendChild(n); });
  }
  function problem(title, message) {
    var back = el('a', 'Back to the hub');
    back.href = d.home;
    var p = el('p');
    p.appendChild(back);
    show(title, [el('p', message, 'problem'), p]);
  }
  function details(s) {
    var table = el('table');
    var folder = s.kind === 'folder';
    [['Shared by', s.owner], [folder ? 'Folder' : 'Notebook', s.name],
      ['Link valid until', s.expires]]
      .concat(s.environment)
      .forEach(function (r) {
        var tr = table.insertRow();
        tr.appendChild(el('th', r[0]));
        tr.insertCell().textContent = r[1];
      });
    // The site's interface (c.ShareService.continue_url, or the link's next): its name.
    var ui = s.interface || 'JupyterLab';
    var go = el('a', 'Continue to my ' + ui, 'button');
    go.href = s.continue_url;
    go.addEventListener('click', function () { stash(CONTINUE, token); });
    var p = el('p');
    p.appendChild(go);
    // The preview: rendered by the service, sanitised, in a frame where nothing runs.
    var frame = el('iframe', undefined, 'preview');
    frame.setAttribute('sandbox', '');
    frame.title = 'Preview of ' + s.name + ' (read-only)';
    frame.src = s.preview_url;
    var files = el('table', undefined, 'files');
    (s.files || []).forEach(function (f) {
      var tr = files.insertRow();
      tr.insertCell().textContent = f[0];
      tr.insertCell().textContent = f[1];
    });
    if (folder) {
      show('A folder was shared with you', [table,
        el('h2', 'Its files (' + (s.files || []).length + ')'), files, el('p',
        'Continue to your own ' + ui + ' (it is started if needed). It asks you before ' +
        'it imports a copy of the last saved version of each file into your home folder.'), p]);
      return;
    }
    show('A notebook was shared with you', [table, el('p',
      'Continue to your own ' + ui + ' (it is started if needed). It asks you before ' +
      'it imports a copy of the last saved version into your home folder.'), p,
      el('h2', 'Preview (read-only; nothing runs, nothing is started)'), frame]);
  }
  show('Opening a shared notebook\u2026', [el('p', 'Asking the share service\u2026')]);
  var inAddress = fromAddress();
  var token = inAddress || take(LOGIN);
  if (!token) {
    problem('This link cannot be opened', 'This address holds no share link. Open the ' +
      'whole link you were given (with the part after "#"), or paste it into JupyterLab: ' +
      'File → Import from a share link…');
    return;
  }
  if (d.login) {
    if (!inAddress) {
      problem('This link cannot be opened', 'Log in to the hub, then open the link again.');
      return;
    }
    stash(LOGIN, token);
    location.replace(d.login);
    return;
  }
  fetch(d.api, {
    method: 'POST',
    credentials: 'same-origin',
    headers: { 'Content-Type': 'application/json', 'X-XSRFToken': d.xsrf },
    body: JSON.stringify({ token: token, next: d.next })
  })
    .then(function (r) {
      return r.json().then(
        function (data) { return { ok: r.ok, data: data }; },
        function () { return { ok: false, data: { message: r.status + ' ' + r.statusText } }; });
    })
    .then(function (res) {
      if (res.ok) {
        details(res.data);
      } else {
        problem(res.data.title || 'This link cannot be opened', String(res.data.message));
      }
    })
    .catch(function (e) {
      problem('This link cannot be opened', 'The share service did not answer: ' + e);
    });
})();
"""


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


# Only the page's own script and style run; it talks to the service alone.
OPEN_PAGE_CSP = (
    f"default-src 'none'; script-src {_sha256(_OPEN_SCRIPT)}; style-src {_sha256(_STYLE)}; "
    "connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def open_page(
    api: str, xsrf: str, next_url: str, login_url: str | None, user: str, hub_home: str
) -> str:
    """The link page: static (no share data, never the token); its script fills it in."""

    def attr(value: str) -> str:
        return escape(value, quote=True)

    return page(
        "Opening a shared notebook…",
        f'<div id="sdcc-open" data-api="{attr(api)}" data-xsrf="{attr(xsrf)}" '
        f'data-next="{attr(next_url)}" data-login="{attr(login_url or "")}" '
        f'data-user="{attr(user)}" data-home="{attr(hub_home)}">'
        # Shown as long as no script runs (a <noscript> would not show where a
        # browser only blocks scripts); the script replaces it at once.
        "<p class='problem'>Opening a share link needs JavaScript: the link's key is "
        'the part of the address after "#", which your browser keeps to itself and never '
        "sends to a server. Turn JavaScript on for this site, or paste the whole link into "
        "JupyterLab (File → Import from a share link…).</p></div>"
        f"<script>{_OPEN_SCRIPT}</script>",
    )


def used_by(imports: list[Access], version: int) -> str:
    """Who imported a share, one line each: their last version (marked when older) and when."""
    last: dict[str, Access] = {}
    for a in imports:
        last[a.user] = a
    if not last:
        return "nobody yet"
    return "<br>".join(
        f"{escape(a.user)}: version {a.version}"
        + (" (older)" if a.version < version else "")
        + f", {escape(when(a.at))}"
        for a in last.values()
    )


def shares_page(
    shares: list[ShareInfo],
    xsrf: str,
    prefix: str,
    admin: bool,
    imports: dict[str, list[Access]] | None = None,
) -> str:
    if not shares:
        return page("Share links", "<p>No live share links.</p>")
    imports = imports or {}
    rows = []
    for s in shares:
        rows.append(
            "<tr>"
            + (f"<td>{escape(s.owner)}</td>" if admin else "")
            + f"<td>{escape(visible_text(s.path))}</td><td>{escape(when(s.expires))}</td><td>{s.opens}</td>"
            f"<td>version {s.version}</td><td>{used_by(imports.get(s.id, []), s.version)}</td>"
            f"<td><form method='post' action='{escape(prefix, quote=True)}shares/"
            f"{escape(s.id, quote=True)}/revoke'>"
            f"<input type='hidden' name='_xsrf' value='{escape(xsrf, quote=True)}'>"
            f"<input type='hidden' name='next' value='{escape(prefix, quote=True)}'>"
            "<button class='button' type='submit'>Revoke</button></form></td></tr>"
        )
    head = (
        ("<th>Owner</th>" if admin else "")
        + "<th>Notebook</th><th>Expires</th><th>Opens</th><th>Shared</th><th>Imported by</th>"
        + "<th><span class='visually-hidden'>Revoke</span></th>"
    )
    title = "All live share links" if admin else "My share links"
    return page(title, f"<table><tr>{head}</tr>{''.join(rows)}</table>")
