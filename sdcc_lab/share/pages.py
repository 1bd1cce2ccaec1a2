"""The share service's HTML pages. Every value from a user or a token is escaped here."""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

from .store import ShareInfo

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:46em;margin:3em auto;padding:0 1em;color:#222}
h1{font-size:1.4em} table{border-collapse:collapse;margin:1em 0}
th,td{text-align:left;padding:.3em .8em;border-bottom:1px solid #ddd;vertical-align:top}
.button{display:inline-block;padding:.5em 1em;background:#1976d2;color:#fff;border:0;
border-radius:3px;text-decoration:none;font-size:1em;cursor:pointer}
.problem{border-left:4px solid #d32f2f;padding:.5em 1em;background:#fff3f3}
"""


def when(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def page(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )


def problem_page(title: str, message: str, hub_home: str) -> str:
    return page(
        title,
        f"<p class='problem'>{escape(message)}</p>"
        f"<p><a href='{escape(hub_home, quote=True)}'>Back to the hub</a></p>",
    )


def environment_rows(environment: dict[str, Any]) -> str:
    rows: list[tuple[str, str]] = []
    kernel = environment.get("kernelspec") or {}
    if isinstance(kernel, dict) and kernel:
        rows.append(("Kernel", str(kernel.get("display_name") or kernel.get("name") or "")))
    scheduler = environment.get("scheduler")
    rows.append(("Where", {"local": "Local session", "slurm": "Slurm batch job",
                           "htcondor": "HTCondor batch job"}.get(str(scheduler), str(scheduler))))
    options = environment.get("options") or {}
    if isinstance(options, dict):
        for key in sorted(options):
            if options[key] not in (None, ""):
                rows.append((str(key), str(options[key])))
    return "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in rows)


def link_page(share: ShareInfo, continue_url: str) -> str:
    return page(
        "A notebook was shared with you",
        "<table>"
        f"<tr><th>Shared by</th><td>{escape(share.owner)}</td></tr>"
        f"<tr><th>Notebook</th><td>{escape(share.name)}</td></tr>"
        f"<tr><th>Link valid until</th><td>{escape(when(share.expires))}</td></tr>"
        f"{environment_rows(share.environment)}</table>"
        "<p>Continue to your own JupyterLab (it is started if needed). It asks you before "
        "it imports a copy of the last saved version into your home folder.</p>"
        f"<p><a class='button' href='{escape(continue_url, quote=True)}'>"
        "Continue to my JupyterLab</a></p>",
    )


def shares_page(shares: list[ShareInfo], xsrf: str, prefix: str, admin: bool) -> str:
    if not shares:
        return page("Share links", "<p>No live share links.</p>")
    rows = []
    for s in shares:
        rows.append(
            "<tr>"
            + (f"<td>{escape(s.owner)}</td>" if admin else "")
            + f"<td>{escape(s.path)}</td><td>{escape(when(s.expires))}</td><td>{s.opens}</td>"
            f"<td><form method='post' action='{escape(prefix, quote=True)}shares/"
            f"{escape(s.id, quote=True)}/revoke'>"
            f"<input type='hidden' name='_xsrf' value='{escape(xsrf, quote=True)}'>"
            f"<input type='hidden' name='next' value='{escape(prefix, quote=True)}'>"
            "<button class='button' type='submit'>Revoke</button></form></td></tr>"
        )
    head = ("<th>Owner</th>" if admin else "") + "<th>Notebook</th><th>Expires</th><th>Opens</th><th></th>"
    title = "All live share links" if admin else "My share links"
    return page(title, f"<table><tr>{head}</tr>{''.join(rows)}</table>")
