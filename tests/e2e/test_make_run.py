"""The development server of ``make run`` runs the periodic jobs itself: no broker, no beat, nothing by hand."""

from __future__ import annotations

import os
import queue
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def health_status(port: int, *, within: float = 60) -> int:
    """GET /health/ once the server listens (system checks run before it binds)."""
    deadline = time.monotonic() + within
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/", timeout=10) as health:  # noqa: S310
                return health.status
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def manage(env: dict, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def make_run_env(tmp_path) -> dict:
    """``make run``'s environment: SQLite, no broker, debug."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "IN_PROCESS_SCHEDULE")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}", DJANGO_DEBUG="1", PYTHONUNBUFFERED="1")
    return env


def serve_until(env: dict, wanted: str, *, within: float = 90, then=None) -> str:
    """Run the development server until ``wanted`` appears in its terminal output, and then, if given, until
    ``then()`` is true (the job that printed it may not have committed yet); returns the output."""
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line) for line in server.stdout], daemon=True).start()
    seen: list[str] = []
    try:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline and not any(wanted in s for s in seen):
            try:
                seen.append(lines.get(timeout=1))
            except queue.Empty:
                assert server.poll() is None, "".join(seen)
        output = "".join(seen)
        assert "In-process scheduler started" in output
        assert wanted in output, output
        assert health_status(port) == 200
        while then is not None and not then() and time.monotonic() < deadline:
            time.sleep(0.5)
        return output
    finally:
        server.terminate()
        server.wait(timeout=20)


def test_the_development_server_delivers_mail_left_pending_without_anyone_running_a_job(tmp_path):
    env = make_run_env(tmp_path)
    assert manage(env, "migrate", "--noinput", "-v0").returncode == 0
    # A message the last run recorded but never delivered (the process stopped first).
    created = manage(
        env,
        "shell",
        "-c",
        "from peersupport.models import OutboxMessage; OutboxMessage.objects.create(kind='email', recipient='m@x.org', "
        "payload={'subject': 'A place is free for you', 'body': 'b', 'to': ['m@x.org'], 'html': None})",
    )
    assert created.returncode == 0, created.stderr

    def status() -> str:
        shown = manage(
            env,
            "shell",
            "-c",
            "from peersupport.models import OutboxMessage; print(OutboxMessage.objects.get().status)",
        )
        return shown.stdout.strip().splitlines()[-1]

    # The job prints the message, then records it delivered: the server keeps running until it has.
    serve_until(env, "Subject: A place is free for you", then=lambda: status() == "delivered")
    assert status() == "delivered"


def test_within_a_minute_of_make_run_a_reminder_for_the_demo_session_meeting_soon_is_in_the_terminal(tmp_path):
    env = make_run_env(tmp_path)
    seeded = manage(env, "migrate", "--noinput", "-v0")
    assert seeded.returncode == 0, seeded.stderr
    seeded = manage(env, "seed_demo")
    assert seeded.returncode == 0, seeded.stderr
    # The console e-mail backend prints each message to the terminal; the first reminder run is 3 s after start.
    serve_until(env, "Subject: Reminder: Walk and talk peer group", within=60)
