"""Real mail servers on loopback for the email channel's tests: Debian's dovecot as the IMAP server (its
own config in a temp dir, mail users of their own), and an aiosmtpd server as the outbound peer."""

from __future__ import annotations

import asyncio
import contextlib
import imaplib
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import free_port

FIXTURES = Path(__file__).parent / "fixtures"
DOVECOT = "/usr/sbin/dovecot"
USERS = 200
PASSWORD = "imap-test-pass"


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@dataclass
class Dovecot:
    port: int
    root: Path
    _users: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def mailbox(self) -> str:
        """A user (mailbox) no other test uses."""
        return f"user{next(self._users)}"

    def append(self, user: str, raw: bytes, seen: bool = False) -> None:
        c = imaplib.IMAP4("127.0.0.1", self.port)
        try:
            c.login(user, PASSWORD)
            c.append("INBOX", "(\\Seen)" if seen else None, None, raw)
        finally:
            c.logout()

    def unseen(self, user: str) -> list[bytes]:
        c = imaplib.IMAP4("127.0.0.1", self.port)
        try:
            c.login(user, PASSWORD)
            c.select("INBOX")
            return list(c.uid("search", None, "UNSEEN")[1][0].split())  # type: ignore[index]
        finally:
            c.logout()


_CONF = """
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
mailbox_idle_check_interval = 1 secs
default_internal_user = dovecot
default_internal_group = dovecot
default_login_user = dovenull
first_valid_uid = 1
mail_location = maildir:{root}/home/%u/Maildir
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid=dovecot gid=dovecot home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
"""


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    """A real dovecot IMAP server on a free loopback port, started as the machine's root runs it in CI
    (its login and mail processes drop to the dovecot/dovenull users the package creates)."""
    if not os.path.exists(DOVECOT):
        pytest.fail("dovecot is not installed (apt-get install dovecot-imapd; .ci/run does)", pytrace=False)
    root = Path(tempfile.mkdtemp(prefix="kefu-dovecot-"))
    root.chmod(0o755)
    (root / "home").mkdir(mode=0o777)
    (root / "home").chmod(0o777)
    (root / "passwd").write_text("".join(f"user{i}:{{PLAIN}}{PASSWORD}::::::\n" for i in range(1, USERS + 1)))
    port = free_port()
    conf = root / "dovecot.conf"
    conf.write_text(_CONF.format(root=root, port=port))
    proc = subprocess.Popen([DOVECOT, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, proc, root)
        yield Dovecot(port, root)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(root, ignore_errors=True)


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], root: Path) -> None:
    end = time.monotonic() + 15
    while time.monotonic() < end:
        if proc.poll() is not None:
            log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
            pytest.fail(f"dovecot exited ({proc.returncode}): {log[-2000:]}", pytrace=False)
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            if s.recv(100).startswith(b"* OK"):
                return
        time.sleep(0.05)
    pytest.fail("dovecot did not start listening in 15 s", pytrace=False)


@dataclass
class SmtpPeer:
    """The mail server replies go out through: records what it accepts; `answer` scripts a refusal."""

    port: int
    received: list[tuple[str, list[str], Message]] = field(default_factory=list)
    answer: str | None = None  # e.g. "550 5.1.1 no such user" answered to RCPT TO

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        if self.answer:
            return self.answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), message_from_bytes(envelope.content)))
        return "250 OK"

    async def wait(self, count: int, timeout: float = 10.0) -> list[tuple[str, list[str], Message]]:
        end = time.monotonic() + timeout
        while len(self.received) < count and time.monotonic() < end:
            await asyncio.sleep(0.05)
        return self.received


@pytest.fixture
async def smtp_peer() -> AsyncIterator[SmtpPeer]:
    peer = SmtpPeer(free_port())
    controller = Controller(peer, hostname="127.0.0.1", port=peer.port)
    controller.start()
    try:
        yield peer
    finally:
        controller.stop()
