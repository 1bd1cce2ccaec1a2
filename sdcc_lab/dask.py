"""Dask on the session's allocation: ``sdcc_lab.dask.cluster()``.

In a notebook of a batch session::

    from sdcc_lab.dask import cluster
    from dask.distributed import Client

    c = cluster()             # SLURMCluster (HTCondorCluster in an HTCondor session)
    c.scale(2)                # two worker jobs
    client = Client(c)

The cluster is preconfigured from the session (:func:`sdcc_lab.session.resolve_session`,
the rule the server extension follows too, so the resources panel lists the
workers of the job this kernel sees) and the job's environment:

- account, partition (``queue``) and QOS of the session's own job;
- a walltime no longer than the session's remaining time (a requested
  ``walltime`` is capped to it, with a warning): workers never outlive the
  scheduler, which runs inside the session;
- ``python`` = the session's interpreter, so workers import what it imports;
- scheduler and workers on the interface of the address the node's name
  resolves to (``lo`` on a single-node test cluster), never 0.0.0.0, and
  dashboards on ``127.0.0.1`` with a free port (no fixed 8787);
- job logs in ``~/.sdcc-lab/logs/dask`` (created), never in the working folder;
- job names ``dask-USER-SESSIONJOB`` (:func:`sdcc_lab.session.worker_job_name`,
  re-exported here): the resources panel finds the session's workers by it;
- cores and memory of each worker job: those of the session's allocation;
- TLS between the client, the scheduler and the workers, with credentials made
  for this one cluster (:func:`create_credentials`): a private CA whose key is
  never written, and one certificate and key, as files of mode 600 in a
  folder of mode 700 under ``~/.sdcc-lab/dask/`` that the worker jobs read
  from the shared home (the job script names the paths, never the key).
  Every connection must present that certificate (``require_encryption``):
  a plain TCP client, or one with any other certificate, is refused. Closing
  the cluster removes the folder.

Before a Slurm cluster is returned, ``sbatch --test-only`` is run with the
same job arguments: a wrong account or partition fails at once, with Slurm's
message, instead of as workers that never arrive. (HTCondor has no equivalent
that can be run here; its configuration is built the same way but not
pre-checked.) A local session raises :class:`DaskSessionError`: use
``dask.distributed.LocalCluster`` there.

Keyword arguments override the defaults; each has one row in
:data:`SLURM_OPTIONS`/:data:`HTCONDOR_OPTIONS` (what it must be, and its
check); unknown or malformed ones are refused with a message. The job name is
fixed. Scheduler commands run through :mod:`sdcc_lab.scheduler.commands`;
:class:`DaskSessionError` is only what :func:`cluster` tells the user (a
refusal, with the scheduler's message). Nothing here imports dask until
:func:`cluster` runs.
"""

from __future__ import annotations

import math
import os
import re
import shlex
import shutil
import socket
import sys
import tempfile
import warnings
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from ipaddress import IPv4Address, IPv4Network
from pathlib import Path
from typing import Any

from .scheduler.commands import run_command_blocking
from .scheduler.errors import SchedulerError, SchedulerRefused
from .scheduler.slurm import SlurmParseError, parse_duration
from .session import (
    SECRET_ENV_NAMES,
    is_worker_job_name,
    resolve_session,
    worker_job_name,
)

__all__ = [
    "ClusterCredentials",
    "DaskSessionError",
    "SessionJob",
    "cluster",
    "cluster_kwargs",
    "create_credentials",
    "is_worker_job_name",
    "node_interface",
    "sbatch_test_only_argv",
    "session_job",
    "worker_job_name",
]

LOG_SUBDIR = Path(".sdcc-lab") / "logs" / "dask"
CREDENTIALS_SUBDIR = Path(".sdcc-lab") / "dask"
PROTOCOL = "tls://"
# Certificates outlive the session's end by this much (clock skew between nodes);
# a session whose end is unknown gets CREDENTIALS_DEFAULT_SECONDS.
CREDENTIALS_MARGIN_SECONDS = 3600
CREDENTIALS_DEFAULT_SECONDS = 7 * 86400
DASHBOARD = "127.0.0.1:0"
DEATH_TIMEOUT = 60  # seconds a worker waits for a vanished scheduler before it exits
HTCONDOR_DISK = "1GiB"

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]*$")
# Job options the session fixes; job_extra_directives must not set them again.
_FIXED_DIRECTIVES = {
    "-A": "account",
    "--account": "account",
    "-p": "queue",
    "--partition": "queue",
    "-q": "qos",
    "--qos": "qos",
    "-t": "walltime",
    "--time": "walltime",
    "-J": "the job name",
    "--job-name": "the job name",
    "-o": "log_directory",
    "--output": "log_directory",
    "-e": "log_directory",
    "--error": "log_directory",
}


class DaskSessionError(RuntimeError):
    """cluster() cannot give workers to this session; the message says why and what to do."""


# --------------------------------------------------------------------------- the session


@dataclass(frozen=True)
class SessionJob:
    """What cluster() needs to know about the session's own job."""

    scheduler: str
    user: str
    job_id: str | None
    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    cpus: int | None = None
    memory_bytes: int | None = None
    remaining_seconds: int | None = None
    problem: str | None = None


def session_job(environ: Mapping[str, str] | None = None, query: bool = True) -> SessionJob:
    """The session and what its job was granted: the environment, and (Slurm) one ``scontrol``.

    Which session this is comes from :func:`sdcc_lab.session.resolve_session`,
    the rule the server extension follows too (its workers endpoint and
    resources panel then show what this kernel submits). The job's own values
    (what the scheduler granted) come first; the identity's options fill gaps.
    The end time comes from the environment when Slurm sets it (23.02+), else
    from ``scontrol show job`` (the resources readers' query).
    """
    env = dict(os.environ if environ is None else environ)
    session = resolve_session(env)
    if not session.is_batch_job:
        return SessionJob(session.scheduler, session.user, session.job_id, problem=session.problem)
    problem = None
    if session.scheduler == "slurm":
        from .resources.slurm import SlurmQuery, slurm_from_env

        facts = slurm_from_env(env)
        if query:
            try:
                facts = facts.merged(SlurmQuery(str(session.job_id)).run())
            except SchedulerError as e:
                problem = f"cannot read the session's job: {e}"
    else:
        from .resources.htcondor import htcondor_from_env

        facts = htcondor_from_env(env)
    now = datetime.now(timezone.utc)
    remaining = int((facts.end - now).total_seconds()) if facts.end is not None else None

    def pick(value: str | None, key: str) -> str | None:
        fallback = session.options.get(key)
        return value or (str(fallback) if fallback not in (None, "") else None)

    return SessionJob(
        scheduler=session.scheduler,
        user=session.user,
        job_id=session.job_id,
        partition=pick(facts.partition, "partition"),
        account=pick(facts.account, "account"),
        qos=pick(facts.qos, "qos"),
        cpus=int(facts.cpus) if facts.cpus else None,
        memory_bytes=facts.memory_bytes,
        remaining_seconds=remaining,
        problem=problem,
    )


# --------------------------------------------------------------------------- the network


def _interfaces() -> dict[str, list[IPv4Network]]:
    import psutil

    out: dict[str, list[IPv4Network]] = {}
    for name, addrs in psutil.net_if_addrs().items():
        for a in addrs:
            if a.family == socket.AF_INET and a.address and a.address != "0.0.0.0":
                mask = a.netmask or "255.255.255.255"
                out.setdefault(name, []).append(IPv4Network(f"{a.address}/{mask}", strict=False))
                out[name].append(IPv4Network(f"{a.address}/32"))
    return out


def node_interface(
    hostname: str | None = None, interfaces: Mapping[str, Sequence[IPv4Network]] | None = None
) -> str:
    """The interface that carries the address this node's name resolves to.

    An interface holding that exact address wins; else one whose network
    contains it (Debian's ``127.0.1.1`` -> ``lo``). Raises DaskSessionError when
    the name does not resolve or no interface matches.
    """
    host = hostname or os.environ.get("SLURMD_NODENAME") or socket.gethostname()
    try:
        infos = socket.getaddrinfo(host, None, socket.AF_INET)
    except OSError as e:
        raise DaskSessionError(
            f"this node's name {host!r} does not resolve ({e}); pass interface='NAME'"
        ) from None
    addresses = [IPv4Address(str(info[4][0])) for info in infos]
    table = _interfaces() if interfaces is None else interfaces
    for exact in (True, False):
        for address in addresses:
            for name, networks in table.items():
                for net in networks:
                    if exact and net.prefixlen == 32 and address in net:
                        return name
                    if not exact and address in net:
                        return name
    shown = ", ".join(str(a) for a in addresses) or "nothing"
    raise DaskSessionError(
        f"no network interface carries {shown}, the address of {host!r}; pass interface='NAME'"
    )


# --------------------------------------------------------------------------- credentials


@dataclass(frozen=True)
class ClusterCredentials:
    """One cluster's TLS files: the CA certificate, and the certificate and key every
    part of the cluster (scheduler, workers, client) presents.

    The CA's key signed the certificate and was dropped: no further certificate
    of this CA can be made, so only holders of ``key_file`` get in.
    """

    folder: Path
    ca_file: Path
    cert_file: Path
    key_file: Path

    def security(self) -> Any:
        """The ``distributed.Security`` of every role, TLS required."""
        from distributed.security import Security

        ca, cert, key = str(self.ca_file), str(self.cert_file), str(self.key_file)
        return Security(  # type: ignore[no-untyped-call]  # distributed is not typed
            tls_ca_file=ca,
            tls_client_cert=cert,
            tls_client_key=key,
            tls_scheduler_cert=cert,
            tls_scheduler_key=key,
            tls_worker_cert=cert,
            tls_worker_key=key,
            require_encryption=True,
        )

    def remove(self) -> None:
        """Delete the folder and its files (nothing happens if it is gone)."""
        shutil.rmtree(self.folder, ignore_errors=True)


def credentials_directory(home: str | None = None) -> Path:
    """``~/.sdcc-lab/dask``, where each cluster's credentials get a folder."""
    return Path(home or os.path.expanduser("~")) / CREDENTIALS_SUBDIR


def _write_private(path: Path, data: bytes) -> None:
    # Created with mode 600 (O_EXCL: never an existing file or a planted link).
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def create_credentials(
    base: str | os.PathLike[str], label: str, valid_seconds: int
) -> ClusterCredentials:
    """A new CA, and one certificate and key it signed, in a new folder under ``base``.

    ``base`` is created (mode 700) if missing; the cluster's own folder is
    made by ``mkdtemp`` (mode 700, a random name starting with ``label``), its
    files with mode 600. The certificates are valid from 5 minutes ago (clock
    skew) for ``valid_seconds``. Needs the ``cryptography`` package (the
    ``dask`` extra).
    """
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    if valid_seconds <= 0:
        raise ValueError(f"valid_seconds must be positive, not {valid_seconds}")
    base_path = Path(base)
    base_path.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{label}-", dir=base_path))
    try:
        now = datetime.now(timezone.utc)
        start, end = now - timedelta(minutes=5), now + timedelta(seconds=valid_seconds)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"sdcc-lab dask CA {label}")])
        ca_cert = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, label)]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            # Each part of the cluster both listens and connects with it.
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        made = ClusterCredentials(
            folder, folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
        )
        pem = serialization.Encoding.PEM
        _write_private(made.ca_file, ca_cert.public_bytes(pem))
        _write_private(made.cert_file, cert.public_bytes(pem))
        _write_private(
            made.key_file,
            key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()),
        )
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return made


def credentials_lifetime(session: SessionJob) -> int:
    """Seconds the cluster's certificates are valid: the session's remaining time and a margin."""
    if session.remaining_seconds is None:
        return CREDENTIALS_DEFAULT_SECONDS
    return max(session.remaining_seconds, 0) + CREDENTIALS_MARGIN_SECONDS


# --------------------------------------------------------------------------- configuration


def _refuse(key: str, value: object, what: str) -> DaskSessionError:
    return DaskSessionError(f"{key}={value!r} is not valid: {what}")


# A check of one override: (key, value, what the value must be) -> None, or raises
# DaskSessionError saying what is wrong.
Check = Callable[[str, Any, str], None]


def _must(test: Callable[[Any], bool], refusal: str | None = None) -> Check:
    """The check that refuses a value failing ``test`` ("KEY=VALUE is not valid: ...")."""

    def check(key: str, value: Any, what: str) -> None:
        if not test(value):
            raise _refuse(key, value, refusal or what)

    return check


def _all(*checks: Check) -> Check:
    """The checks in order: a shape first, then what the value may not say."""

    def check(key: str, value: Any, what: str) -> None:
        for one in checks:
            one(key, value, what)

    return check


def _is_name(value: Any) -> bool:
    return isinstance(value, str) and bool(_NAME_RE.match(value))


def _is_count(low: int) -> Callable[[Any], bool]:
    return lambda value: not isinstance(value, bool) and isinstance(value, int) and value >= low


def _is_size(value: Any) -> bool:
    from dask.utils import parse_bytes

    try:
        return not isinstance(value, bool) and parse_bytes(value) > 0
    except (ValueError, TypeError):
        return False


def _is_slurm_memory(value: Any) -> bool:
    return isinstance(value, str) and bool(re.match(r"^\d+[KMGT]?$", value))


def _is_duration(value: Any) -> bool:
    try:
        return isinstance(value, str) and bool(parse_duration(value))
    except SlurmParseError:
        return False


def _is_positive_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, (int, float)) and value > 0


def _is_executable(value: Any) -> bool:
    return isinstance(value, str) and os.path.isabs(value) and os.access(value, os.X_OK)


def _is_text(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def _is_string_list(value: Any) -> bool:
    return isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value)


def _is_string_dict(value: Any) -> bool:
    return isinstance(value, Mapping) and all(isinstance(k, str) for k in value)


# TLS is what keeps other users out of the session: no keyword turns it off.
_TLS_FIXED = "the session's cluster always uses TLS with its own credentials"


def _no_tls_options(key: str, value: Mapping[str, Any], what: str) -> None:
    for name in ("protocol", "security"):
        if name in value:
            raise DaskSessionError(f"{key} may not set {name!r}: {_TLS_FIXED}")


def _no_tls_flags(key: str, value: Sequence[str], what: str) -> None:
    for arg in value:
        flag = arg.split("=", 1)[0]
        if flag == "--protocol" or flag.startswith("--tls-"):
            raise DaskSessionError(f"{key} may not set {flag}: {_TLS_FIXED}")


def _no_fixed_directives(key: str, value: Sequence[str], what: str) -> None:
    for directive in value:
        words = directive.strip().split("=", 1)[0].split(None, 1)
        flag = words[0] if words else ""
        if flag in _FIXED_DIRECTIVES:
            raise DaskSessionError(
                f"{key} may not set {flag}: use {_FIXED_DIRECTIVES[flag]}= (the session fixes it)"
            )


def _known_interface(key: str, value: str, what: str) -> None:
    known = _interfaces()
    if value not in known:
        raise DaskSessionError(
            f"{key}={value!r}: this node has {', '.join(sorted(known)) or 'no IPv4 interface'}"
        )


@dataclass(frozen=True)
class Option:
    """An override cluster() accepts: what it must be (shown to the user), and its check."""

    what: str
    check: Check


# Overrides cluster() accepts, per scheduler: one row per key.
_COMMON_OPTIONS = {
    "cores": Option("a positive integer: threads of each worker job", _must(_is_count(1))),
    "memory": Option("a size such as '4GiB': memory of each worker job", _must(_is_size)),
    "processes": Option(
        "a positive integer: worker processes per job (at most cores)", _must(_is_count(1))
    ),
    "walltime": Option(
        "a Slurm duration such as '00:30:00' (capped to the session's remaining time)",
        _must(_is_duration),
    ),
    "interface": Option(
        "a network interface name of this node, e.g. 'ib0'", _all(_must(_is_text), _known_interface)
    ),
    "python": Option(
        "the absolute path of the workers' Python",
        _must(_is_executable, "the absolute path of an executable Python"),
    ),
    "death_timeout": Option(
        "seconds a worker waits for a lost scheduler", _must(_is_positive_number)
    ),
    "local_directory": Option("a folder for the workers' spill files", _must(_is_text)),
    "log_directory": Option("a folder for the job logs", _must(_is_text)),
    "job_script_prologue": Option(
        "a list of shell lines run before the worker", _must(_is_string_list)
    ),
    "worker_extra_args": Option(
        "a list of extra dask-worker arguments (not --protocol or --tls-*: the session fixes TLS)",
        _all(_must(_is_string_list), _no_tls_flags),
    ),
    "scheduler_options": Option(
        "a dict of extra dask Scheduler options (not protocol or security: the session fixes TLS)",
        _all(_must(_is_string_dict), _no_tls_options),
    ),
    "n_workers": Option(
        "a number of workers to start at once (after the check)", _must(_is_count(0))
    ),
}
SLURM_OPTIONS = {
    **_COMMON_OPTIONS,
    "account": Option("a Slurm account", _must(_is_name)),
    "queue": Option("a Slurm partition", _must(_is_name)),
    "qos": Option("a Slurm QOS", _must(_is_name)),
    "job_cpu": Option("CPUs each job asks for (default: cores)", _must(_is_count(1))),
    "job_mem": Option(
        "memory each job asks for, in Slurm's spelling (default: memory)",
        _must(_is_slurm_memory, "memory in Slurm's spelling, e.g. '4G'"),
    ),
    "job_extra_directives": Option(
        "a list of extra sbatch options, e.g. ['--gres=gpu:1']",
        _all(_must(_is_string_list), _no_fixed_directives),
    ),
}
HTCONDOR_OPTIONS = {
    **_COMMON_OPTIONS,
    "disk": Option("a size such as '1GiB': scratch disk of each worker job", _must(_is_size)),
    "job_extra_directives": Option("a dict of extra submit commands", _must(_is_string_dict)),
}


def _check_overrides(overrides: Mapping[str, Any], options: Mapping[str, Option]) -> None:
    """Raise DaskSessionError for the first override ``options`` does not accept."""
    if "job_name" in overrides or "name" in overrides:
        raise DaskSessionError(
            "the job name is fixed (dask-USER-SESSIONJOB): the resources panel finds the "
            "session's workers by it"
        )
    unknown = sorted(set(overrides) - set(options))
    if unknown:
        listing = "\n".join(f"  {k}: {o.what}" for k, o in sorted(options.items()))
        raise DaskSessionError(
            f"unknown option{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; "
            f"cluster() accepts:\n{listing}"
        )
    for key, value in overrides.items():
        options[key].check(key, value, options[key].what)


def capped_walltime(session: SessionJob, requested: str | None) -> str | None:
    """The workers' walltime: the request, never past the session's end (whole minutes).

    Slurm counts limits in minutes, rounding up, so the session's remaining
    time is rounded down. None when neither the session's end nor a request is
    known (the ``jobqueue`` configuration's default then applies).
    """
    wanted = parse_duration(requested) if requested else None
    remaining = session.remaining_seconds
    if remaining is None:
        minutes = math.ceil(wanted / 60) if wanted else None
    else:
        left = remaining // 60
        if left < 1:
            raise DaskSessionError(
                f"the session ends in {max(remaining, 0)} s: no time is left for workers"
            )
        minutes = left
        if wanted is not None:
            if math.ceil(wanted / 60) > left:
                warnings.warn(
                    f"walltime {requested} is longer than the session's remaining time; "
                    f"workers get {left} min",
                    stacklevel=3,
                )
            minutes = min(math.ceil(wanted / 60), left)
    if minutes is None:
        return None
    return f"{minutes // 60:02d}:{minutes % 60:02d}:00"


def log_directory(home: str | None = None) -> Path:
    """``~/.sdcc-lab/logs/dask`` (not created here)."""
    return Path(home or os.path.expanduser("~")) / LOG_SUBDIR


def _check_session_and_overrides(session: SessionJob, overrides: Mapping[str, Any]) -> None:
    """Raise DaskSessionError unless this session can have a cluster with these overrides."""
    # The session's problem (a malformed identity, a job it ignores) says why, where there is one.
    why = f" ({session.problem})" if session.problem else ""
    if session.scheduler == "local":
        raise DaskSessionError(
            "this session runs locally, not as a batch job: there is no allocation to add "
            f"workers to. Use dask.distributed.LocalCluster() instead.{why}"
        )
    if session.scheduler not in ("slurm", "htcondor"):
        raise DaskSessionError(f"no Dask cluster for a {session.scheduler!r} session")
    if not session.job_id:
        raise DaskSessionError(
            f"the session says {session.scheduler} but this process runs outside a batch job "
            f"(no job id in its environment){why}"
        )
    _check_overrides(overrides, SLURM_OPTIONS if session.scheduler == "slurm" else HTCONDOR_OPTIONS)


def cluster_kwargs(
    session: SessionJob,
    overrides: Mapping[str, Any] | None = None,
    interface: str | None = None,
    home: str | None = None,
    *,
    credentials: ClusterCredentials,
) -> dict[str, Any]:
    """The keyword arguments of SLURMCluster/HTCondorCluster for this session (pure).

    ``overrides`` are checked first (unknown keys refused). ``n_workers`` is
    left out: :func:`cluster` scales only after the pre-check. ``credentials``
    (required: there is no plain-TCP cluster) give the TLS ``security``; the
    worker jobs get their files' paths on their command line.
    """
    over = dict(overrides or {})
    _check_session_and_overrides(session, over)
    over.pop("n_workers", None)

    cores = over.pop("cores", session.cpus)
    if cores is None:
        raise DaskSessionError("the session's CPU count is unknown: pass cores=N")
    memory = over.pop("memory", None)
    if memory is None:
        if session.memory_bytes is None:
            raise DaskSessionError("the session's memory is unknown: pass memory='4GiB'")
        memory = f"{session.memory_bytes >> 20}MiB"
    if "walltime" not in over and session.remaining_seconds is None and session.problem:
        raise DaskSessionError(f"{session.problem}; pass walltime='HH:MM:SS'")
    walltime = capped_walltime(session, over.pop("walltime", None))
    name = worker_job_name(session.user, str(session.job_id))  # checked above: set
    iface = over.pop("interface", None) or interface or node_interface()
    scheduler_options = {"dashboard_address": DASHBOARD, **over.pop("scheduler_options", {})}
    kwargs: dict[str, Any] = {
        "cores": cores,
        "memory": memory,
        "python": over.pop("python", sys.executable),
        "interface": iface,
        "scheduler_options": scheduler_options,
        "worker_extra_args": ["--dashboard-address", DASHBOARD, *over.pop("worker_extra_args", [])],
        "log_directory": over.pop("log_directory", None) or str(log_directory(home)),
        "death_timeout": over.pop("death_timeout", DEATH_TIMEOUT),
        "job_name": name,
        "protocol": PROTOCOL,
        "security": credentials.security(),
    }
    if session.scheduler == "slurm":
        account = over.pop("account", session.account)
        queue = over.pop("queue", session.partition)
        qos = over.pop("qos", session.qos)
        extra = [f"--qos={qos}"] if qos else []
        kwargs.update(account=account, queue=queue, walltime=walltime)
        kwargs["job_extra_directives"] = [*extra, *over.pop("job_extra_directives", [])]
    else:
        directives: dict[str, Any] = {"batch_name": name}
        if walltime:
            directives["allowed_job_duration"] = str(parse_duration(walltime))
        directives.update(over.pop("job_extra_directives", {}))
        kwargs["job_extra_directives"] = directives
        kwargs["disk"] = over.pop("disk", HTCONDOR_DISK)
    kwargs.update(over)  # the rest: processes, job_cpu, job_mem, local_directory, prologue
    return kwargs


# --------------------------------------------------------------------------- the pre-check


def sbatch_directives(job_header: str) -> list[str]:
    """The sbatch arguments in a job script's ``#SBATCH`` lines, in order."""
    args: list[str] = []
    for line in job_header.splitlines():
        line = line.strip()
        if line.startswith("#SBATCH"):
            args.extend(shlex.split(line[len("#SBATCH") :]))
    return args


def sbatch_test_only_argv(job_header: str, script: str, sbatch: str = "sbatch") -> list[str]:
    """``sbatch --test-only`` with the worker jobs' own arguments, then their script."""
    return [sbatch, "--test-only", *sbatch_directives(job_header), script]


def check_with_sbatch(job_header: str, job_script: str, describe: str, timeout: float = 30) -> str:
    """Ask Slurm whether it would take the worker job; raise DaskSessionError if not.

    Runs ``sbatch --test-only`` (nothing is submitted) through the scheduler
    layer, from an argument list, without the server's secrets in its
    environment. Returns Slurm's answer (``Job N to start at ...``).
    """
    env = {k: v for k, v in os.environ.items() if k not in SECRET_ENV_NAMES}
    with tempfile.TemporaryDirectory(prefix="sdcc-dask-") as folder:
        path = Path(folder) / "worker-job.sh"
        path.write_text(job_script)
        argv = sbatch_test_only_argv(job_header, str(path))
        try:
            result = run_command_blocking(argv, timeout=timeout, env=env)
        except SchedulerRefused as e:
            message = " ".join(e.output.split()).replace("sbatch: error: ", "")
            raise DaskSessionError(
                f"Slurm refuses the worker jobs ({describe}): "
                f"{message or f'sbatch exited with {e.returncode}'}. No job was submitted."
            ) from None
        except SchedulerError as e:  # sbatch cannot be run, timed out, or no controller
            raise DaskSessionError(
                f"Slurm did not check the worker jobs: {e}. No job was submitted."
            ) from None
    return " ".join((result.stderr + result.stdout).split())


def _describe(kwargs: Mapping[str, Any]) -> str:
    qos = next(
        (
            d.split("=", 1)[1]
            for d in kwargs.get("job_extra_directives", [])
            if d.startswith("--qos=")
        ),
        None,
    )
    parts = [
        f"account {kwargs.get('account')}",
        f"partition {kwargs.get('queue')}",
        f"QOS {qos}",
        f"walltime {kwargs.get('walltime')}",
        f"{kwargs.get('job_cpu') or kwargs.get('cores')} CPUs",
        f"memory {kwargs.get('job_mem') or kwargs.get('memory')}",
    ]
    return ", ".join(parts)


# --------------------------------------------------------------------------- cluster()

_CLOSING_CLASSES: dict[type, type] = {}


def _closing_class(base: type) -> type:
    """``base`` (a dask-jobqueue cluster class) whose close also removes its credentials."""
    if base not in _CLOSING_CLASSES:

        class SessionCluster(base):  # type: ignore[misc]
            sdcc_credentials: ClusterCredentials | None = None

            async def _close(self) -> None:
                try:
                    await super()._close()
                finally:
                    # After the worker jobs are cancelled: they read the files at start only.
                    if self.sdcc_credentials is not None:
                        self.sdcc_credentials.remove()

        SessionCluster.__name__ = SessionCluster.__qualname__ = base.__name__
        _CLOSING_CLASSES[base] = SessionCluster
    return _CLOSING_CLASSES[base]


def _secret_free_slurm_job() -> type:
    """dask-jobqueue's Slurm job, submitted without the server's secrets in sbatch's environment.

    Worker jobs keep the kernel's environment (modules, paths) as Slurm's default
    ``--export=ALL`` does, but slurmctld records a job's environment: the API
    token must not be in it.
    """
    global _SECRET_FREE_SLURM_JOB
    if _SECRET_FREE_SLURM_JOB is None:
        from dask_jobqueue.slurm import SLURMJob

        unset = " ".join(f"-u {name}" for name in sorted(SECRET_ENV_NAMES))

        class SecretFreeSLURMJob(SLURMJob):
            submit_command = f"/usr/bin/env {unset} sbatch"

        _SECRET_FREE_SLURM_JOB = SecretFreeSLURMJob
    return _SECRET_FREE_SLURM_JOB


_SECRET_FREE_SLURM_JOB: type | None = None


def cluster(**overrides: Any) -> Any:
    """A dask-jobqueue cluster whose worker jobs run on the session's allocation.

    See the module's docstring for what is preconfigured. Every keyword is
    checked (``cluster(foo=1)`` raises and lists the accepted ones). Raises
    :class:`DaskSessionError` for a local session, a session whose values
    cannot be read, or worker jobs Slurm would refuse (with Slurm's message).

    The cluster's TLS credentials are made here, in
    ``~/.sdcc-lab/dask/SESSIONJOB-*/``; ``close()`` (also at the kernel's
    normal exit) removes them. A killed kernel leaves them behind, readable by
    the user only and useless once the scheduler is gone.
    """
    session = session_job()
    n_workers = overrides.get("n_workers", 0)
    _check_session_and_overrides(session, overrides)  # before any file is written
    credentials = create_credentials(
        credentials_directory(),
        str(session.job_id).replace("/", "_"),
        credentials_lifetime(session),
    )
    made: Any = None
    try:
        kwargs = cluster_kwargs(session, overrides, credentials=credentials)
        Path(kwargs["log_directory"]).mkdir(mode=0o700, parents=True, exist_ok=True)
        if session.scheduler == "htcondor":
            from dask_jobqueue.htcondor import HTCondorCluster

            made = _closing_class(HTCondorCluster)(**kwargs)
        else:
            from dask_jobqueue.slurm import SLURMCluster

            made = _closing_class(SLURMCluster)(job_cls=_secret_free_slurm_job(), **kwargs)
        made.sdcc_credentials = credentials
        # A cluster dropped without close() (or still open at exit) leaves no files.
        weakref.finalize(made, credentials.remove)
        if session.scheduler == "slurm":
            check_with_sbatch(made.job_header, made.job_script(), _describe(kwargs))
    except BaseException:
        if made is not None:
            made.close()
        credentials.remove()
        raise
    if n_workers:
        made.scale(n_workers)
    return made
