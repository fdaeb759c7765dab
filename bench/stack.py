"""The whole production stack on this machine, for the acceptance journey, load and fault drills.

    .venv/bin/python bench/stack.py start     # migrate, collectstatic, seed_demo, start, wait green
    .venv/bin/python bench/stack.py status    # processes + /healthz/full/
    .venv/bin/python bench/stack.py stop      # SIGTERM, wait, SIGKILL what is left
    .venv/bin/python bench/stack.py env       # the environment the processes get (shell syntax)

What runs, all on 127.0.0.1, each process in its own session so it outlives this script:

- gunicorn `config.wsgi` with `deploy/gunicorn.conf.py`, 2 processes (`WEB_CONCURRENCY=2`);
- two Celery workers (`w1`, `w2`, `--concurrency 2` each, as `deploy/systemd/weft-worker.service`);
- one Celery beat (database scheduler: it sends the heartbeat that `/healthz/full/` checks);
- on the machine's PostgreSQL (database `weft_stack`) and Redis (db 5: broker and cache).

Settings are production ones (`DEBUG=0`, a generated `SECRET_KEY` kept in the state folder,
manifest static files collected into the state folder). TLS is the one deviation: nothing
terminates it on this machine, so the HTTPS redirect, secure cookies and HSTS are off.

State folder (`STACK_DIR`, default `/tmp/weft-stack`): `logs/` (one file per process, plus the
access log), `run/` (pid files), `static/`, `files/media`, `files/private_media`, `secret_key`.
`start` is idempotent: it starts only what is not running (what systemd's `Restart=always` does
after a crash), so the fault drills call it to bring a killed worker back.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent

STACK_DIR = Path(os.environ.get("STACK_DIR", "/tmp/weft-stack"))  # noqa: S108 - scratch state
PORT = int(os.environ.get("STACK_PORT", "8105"))
DB_NAME = os.environ.get("STACK_DB", "weft_stack")
PG = os.environ.get("STACK_PG", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("STACK_REDIS", "redis://127.0.0.1:6379/5")
BASE_URL = f"http://127.0.0.1:{PORT}"
CORES = os.cpu_count() or 1


@dataclass(frozen=True)
class Proc:
    name: str
    argv: list[str]


def processes() -> list[Proc]:
    celery = [str(BIN / "celery"), "-A", "config"]
    return [
        Proc(
            "web",
            [
                str(BIN / "gunicorn"),
                "config.wsgi",
                "--config",
                "deploy/gunicorn.conf.py",
                "--bind",
                f"127.0.0.1:{PORT}",
                "--access-logfile",
                str(STACK_DIR / "logs" / "web-access.log"),
                "--error-logfile",
                "-",
            ],
        ),
        *(
            Proc(
                name,
                [
                    *celery,
                    "worker",
                    "-l",
                    "info",
                    "--concurrency",
                    "2",
                    "-n",
                    f"{name}@%h",
                ],
            )
            for name in ("w1", "w2")
        ),
        Proc(
            "beat",
            [
                *celery,
                "beat",
                "-l",
                "info",
                "--pidfile",
                str(STACK_DIR / "run" / "celerybeat.pid"),
            ],
        ),
    ]


def database_url(name: str = DB_NAME) -> str:
    return f"{PG}/{name}"


def secret_key() -> str:
    path = STACK_DIR / "secret_key"
    if not path.exists():
        STACK_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def stack_env() -> dict[str, str]:
    """What the stack's processes see: production settings, this machine's services."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO_", "CELERY_", "PYTEST", "DATABASE_", "CACHE_"))
        and k not in {"DEBUG", "TEST_DATABASE_NAME"}
    }
    env.update(
        DEBUG="0",
        SECRET_KEY=secret_key(),
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=database_url(),
        CELERY_BROKER_URL=REDIS,
        CACHE_URL=REDIS,
        CELERY_TASK_ALWAYS_EAGER="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        # No TLS terminator on this machine (see the module docstring).
        SECURE_SSL_REDIRECT="0",
        SECURE_COOKIES="0",
        SECURE_HSTS_SECONDS="0",
        STATIC_ROOT=str(STACK_DIR / "static"),
        MEDIA_ROOT=str(STACK_DIR / "files" / "media"),
        PRIVATE_MEDIA_ROOT=str(STACK_DIR / "files" / "private_media"),
        WEB_CONCURRENCY=os.environ.get("STACK_WEB_CONCURRENCY", "2"),
        LOG_LEVEL="INFO",
        PYTHONUNBUFFERED="1",
    )
    return env


def _pid_file(name: str) -> Path:
    return STACK_DIR / "run" / f"{name}.pid"


def pid_of(name: str) -> int | None:
    """The process's pid if it is alive (it leads its own process group)."""
    try:
        pid = int(_pid_file(name).read_text())
    except (FileNotFoundError, ValueError):
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    # A zombie or a recycled pid is not ours: our processes lead their own session.
    try:
        stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return None
    if stat[0] == "Z" or int(stat[3]) != pid:  # state, pgrp
        return None
    return pid


def manage(*args: str, quiet: bool = True) -> None:
    log = STACK_DIR / "logs" / "manage.log"
    with log.open("a") as out:
        out.write(f"\n$ manage.py {' '.join(args)}\n")
        out.flush()
        subprocess.run(  # noqa: S603 - fixed command line
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=stack_env(),
            check=True,
            stdout=out if quiet else None,
            stderr=subprocess.STDOUT if quiet else None,
        )


def ensure_database(name: str = DB_NAME) -> None:
    import psycopg

    with psycopg.connect(database_url("postgres"), autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')


def prepare() -> None:
    for sub in ("logs", "run", "static", "files/media", "files/private_media"):
        (STACK_DIR / sub).mkdir(parents=True, exist_ok=True)
    ensure_database()
    t0 = time.monotonic()
    manage("migrate", "--no-input")
    manage("collectstatic", "--no-input")
    manage("seed_demo", "--if-empty")
    print(f"prepared {DB_NAME} (migrate, collectstatic, seed_demo) in {time.monotonic() - t0:.0f}s")


def start_process(proc: Proc) -> int:
    log = (STACK_DIR / "logs" / f"{proc.name}.log").open("a")
    child = subprocess.Popen(  # noqa: S603 - fixed command line
        proc.argv,
        cwd=ROOT,
        env=stack_env(),
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    _pid_file(proc.name).write_text(str(child.pid))
    return child.pid


def health(path: str = "/healthz/full/", timeout: float = 5) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(BASE_URL + path, timeout=timeout) as res:  # noqa: S310
            return res.status, json.loads(res.read())
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read())
        except ValueError:
            return exc.code, {}
    except (OSError, ValueError) as exc:
        return 0, {"error": str(exc)}


def wait_green(timeout: float = 240) -> dict:
    """Until /healthz/full/ answers 200: web, database, cache, worker heartbeat and beat."""
    deadline = time.monotonic() + timeout
    status, body = 0, {}
    while time.monotonic() < deadline:
        status, body = health()
        if status == 200:
            return body
        time.sleep(2)
    raise RuntimeError(f"/healthz/full/ not green after {timeout:.0f}s: {status} {body}")


def start(*, prepare_db: bool = True, wait: bool = True) -> list[str]:
    """Start what is not running; returns the names started."""
    if prepare_db:
        prepare()
    started = []
    for proc in processes():
        if pid_of(proc.name) is None:
            pid = start_process(proc)
            started.append(proc.name)
            print(f"started {proc.name} (pid {pid})")
    if wait:
        t0 = time.monotonic()
        wait_green()
        print(f"/healthz/full/ green after {time.monotonic() - t0:.0f}s at {BASE_URL}")
    return started


def kill(name: str, sig: int = signal.SIGKILL) -> int | None:
    """Signal a process's whole group (a worker's pool children die with it)."""
    pid = pid_of(name)
    if pid is not None:
        os.killpg(pid, sig)
    return pid


def stop(timeout: float = 45) -> None:
    """SIGTERM (gunicorn and Celery shut down gracefully), then SIGKILL whatever is left."""
    names = [p.name for p in processes()]
    for name in names:
        if kill(name, signal.SIGTERM):
            print(f"stopping {name}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(pid_of(n) for n in names):
        time.sleep(0.5)
    for name in names:
        if kill(name, signal.SIGKILL):
            print(f"{name} did not stop in {timeout:.0f}s: killed")
        _pid_file(name).unlink(missing_ok=True)


def status() -> bool:
    ok = True
    for proc in processes():
        pid = pid_of(proc.name)
        ok &= pid is not None
        print(f"{proc.name:5} {'running, pid ' + str(pid) if pid else 'stopped'}")
    code, body = health()
    print(f"/healthz/full/ {code} {json.dumps(body, ensure_ascii=False)}")
    return ok and code == 200


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "status"
    if command == "start":
        start()
    elif command == "stop":
        stop()
    elif command == "status":
        return 0 if status() else 1
    elif command == "env":
        for key, value in sorted(stack_env().items()):
            if key not in os.environ or os.environ[key] != value:
                print(f"export {key}='{value}'")
    else:
        print(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
