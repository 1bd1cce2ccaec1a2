"""``sdcc-lab-singleuser`` takes the server's token from the user's token file only when
that file is safe: the user's own, a regular file, readable by nobody else."""

from __future__ import annotations

import os
import pwd
import re
import subprocess
import sys
from pathlib import Path

import pytest

from sdcc_lab.hub.singleuser import TokenFileError, read_token_file


def token_file(folder: Path, text: str = "the-token\n", mode: int = 0o600) -> Path:
    path = folder / "jupyter-1.token"
    path.write_text(text)
    path.chmod(mode)
    return path


def test_a_safe_token_file_gives_the_token(tmp_path: Path) -> None:
    assert read_token_file(str(token_file(tmp_path))) == "the-token"


@pytest.mark.parametrize(
    ("mode", "text", "message"),
    [
        (0o644, "the-token\n", "is readable by others (mode 644, must be 600)"),
        (0o640, "the-token\n", "is readable by others (mode 640, must be 600)"),
        (0o600, "\n", "is empty"),
    ],
)
def test_an_unsafe_or_empty_token_file_is_refused(
    tmp_path: Path, mode: int, text: str, message: str
) -> None:
    path = token_file(tmp_path, text, mode)
    with pytest.raises(TokenFileError, match=re.escape(message)):
        read_token_file(str(path))


def test_a_link_or_a_missing_file_is_refused(tmp_path: Path) -> None:
    link = tmp_path / "link.token"
    link.symlink_to(token_file(tmp_path))
    with pytest.raises(TokenFileError, match="cannot open the token file"):
        read_token_file(str(link))
    with pytest.raises(TokenFileError, match="cannot open the token file"):
        read_token_file(str(tmp_path / "missing.token"))
    with pytest.raises(TokenFileError, match="is not a regular file"):
        read_token_file(str(tmp_path))


@pytest.mark.skipif(os.getuid() != 0, reason="needs root to give the file to another user")
def test_a_file_of_another_user_is_refused(tmp_path: Path) -> None:
    path = token_file(tmp_path)
    os.chown(path, pwd.getpwnam("nobody").pw_uid, -1)
    with pytest.raises(TokenFileError, match="does not belong to this user"):
        read_token_file(str(path))


def test_the_wrapper_stops_with_a_clear_message_on_an_unsafe_file(tmp_path: Path) -> None:
    path = token_file(tmp_path, mode=0o644)
    env = {
        "PATH": "/usr/bin:/bin",
        "JUPYTERHUB_API_URL": "http://127.0.0.1:9/hub/api",
        "SDCC_LAB_TOKEN_FILE": str(path),
    }
    done = subprocess.run(
        [sys.executable, "-m", "sdcc_lab.hub.singleuser"],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert f"sdcc-lab-singleuser: the token file {path} is readable by others" in done.stderr
