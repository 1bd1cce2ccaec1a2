#!/usr/bin/env python3
"""Which hub serves a user: Apache's ``RewriteMap … prg:`` program.

Apache starts it once and writes one user name per line; it answers one line,
``PROXY HUB``: the ``host:port`` of that user's hub's configurable-http-proxy
and of the hub itself (Apache sends ``/hub/`` straight to the hub, everything
else to its proxy). The choice depends on the name only (a hash), so every
browser and every request of a user reach the same hub, and one user never
gets servers (or batch jobs) on two hubs. An empty name (a request before
login) gets the first hub.

    hub_for_user.py PROXY_HOST:PORT=HUB_HOST:PORT [...]
"""

from __future__ import annotations

import hashlib
import sys


def hub_for(user: str, hubs: list[str]) -> str:
    """The entry of ``hubs`` that serves ``user``."""
    if not user or user == "NULL":
        return hubs[0]
    digest = hashlib.sha256(user.encode()).digest()
    return hubs[int.from_bytes(digest[:4], "big") % len(hubs)]


def main() -> None:
    hubs = sys.argv[1:]
    if not hubs or not all(h.count("=") == 1 and "" not in h.split("=") for h in hubs):
        sys.exit("usage: hub_for_user.py PROXY_HOST:PORT=HUB_HOST:PORT [...]")
    for line in sys.stdin:
        sys.stdout.write(hub_for(line.strip(), hubs).replace("=", " ") + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
