"""The ``sdcc-lab`` command."""

from __future__ import annotations

import argparse
import os
import sys

from . import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sdcc-lab", description="sdcc_lab, the software of an HPC site's Jupyter portal."
    )
    parser.add_argument("--version", action="version", version=f"sdcc_lab {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser(
        "demo",
        help="run a complete local portal (JupyterHub, proxy, JupyterLab servers)",
        description=(
            "Run a complete local portal: a JupyterHub with configurable-http-proxy "
            "and a JupyterLab with sdcc_lab for each demo user. The demo users log in with "
            "one demo password, printed at start-up. As root, each user's local session "
            "runs as their own Unix account."
        ),
    )
    demo.add_argument("--port", type=int, default=8000, help="port of the portal (default 8000)")
    demo.add_argument("--ip", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    demo.add_argument(
        "--users",
        default="alice,bob,carol",
        help="comma-separated demo users (default alice,bob,carol; alice and bob form the "
        "hub group physics)",
    )
    demo.add_argument(
        "--data-dir",
        default="./.sdcc-lab-demo",
        help="folder for all state: hub database, home folders (default ./.sdcc-lab-demo)",
    )
    demo.add_argument(
        "--insecure-allow-remote",
        action="store_true",
        help="allow a non-loopback --ip; the one demo password logs in as any demo user, "
        "so never on a shared network",
    )
    demo.add_argument(
        "--password",
        default="",
        help="the demo users' login password, at least 8 characters (default: "
        "$SDCC_LAB_DEMO_PASSWORD, else the one kept in DATA/hub/demo-password, else a new "
        "random one); other local users can see a command line, the variable they cannot",
    )
    demo.add_argument(
        "--create-users",
        action="store_true",
        help="as root: create the Unix account of a demo user who has none (useradd, locked "
        "password, home of mode 700); without it the demo refuses to start",
    )
    demo.add_argument(
        "--home-root",
        default="",
        help="folder with one folder per demo user, where their local sessions start and "
        "find their starter notebook (default: as root, each user's home; otherwise "
        "DATA/home); as root it must be writable by root only, each user's folder is "
        "theirs with mode 700",
    )
    demo.add_argument(
        "--local-only",
        action="store_true",
        help="offer local sessions only, even where a Slurm cluster answers",
    )
    demo.add_argument(
        "--job-env",
        default="/opt/sdcc-lab/jobenv",
        help="Python environment that Slurm jobs run the server from "
        "(default /opt/sdcc-lab/jobenv; scripts/slurm/jobenv.sh builds it)",
    )
    demo.add_argument(
        "--mfa",
        action="store_true",
        help="log in through the site's kind of front: Keycloak (password and one-time "
        "code) and Apache with mod_auth_openidc, on --port; prints each user's password "
        "and one-time-code secret with a QR code, and keeps them in "
        "DATA/mfa/credentials.json (mode 600). As root; scripts/setup.sh installs what it needs",
    )
    demo.add_argument(
        "--mfa-enrol",
        default="",
        metavar="USER,...",
        help="with --mfa: these users get no one-time-code secret; Keycloak shows them a QR "
        "code to enrol an authenticator app at their first login",
    )
    demo.add_argument(
        "--config",
        default="",
        help="a jupyterhub_config.py of your own, applied after the demo's settings",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "demo":
        from .demo import PASSWORD_ENV, DemoError, run_demo

        try:
            return run_demo(
                port=args.port,
                ip=args.ip,
                users=args.users,
                data_dir=args.data_dir,
                insecure_allow_remote=args.insecure_allow_remote,
                local_only=args.local_only,
                job_env=args.job_env,
                extra_config=args.config,
                password=args.password or os.environ.get(PASSWORD_ENV, ""),
                create_users=args.create_users,
                home_root=args.home_root,
                mfa=args.mfa,
                mfa_enrol=args.mfa_enrol,
            )
        except DemoError as e:
            print(f"sdcc-lab demo: {e}", file=sys.stderr)
            return 2
    return 2


if __name__ == "__main__":
    sys.exit(main())
