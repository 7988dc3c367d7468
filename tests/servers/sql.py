"""Real SQL servers on 127.0.0.1 for tests, each in a temporary folder: PostgreSQL from Debian's
packages (initdb + pg_ctl, run as the ``postgres`` user when we are root) and MariaDB, each
with a password-protected user."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

from tests.servers.process import free_port

PASSWORD = "tfxd-Secret-31"  # the servers check it: a wrong one is refused


def postgres_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start PostgreSQL; yield a SQLAlchemy URL (user ``tfxd`` with PASSWORD over TCP, trust
    on the server's own socket; database ``tfxd``)."""
    bindir = postgres_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL is not installed: apt-get install postgresql")
    folder = tempfile.mkdtemp(prefix="tfxd-pg-")
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        import pwd

        account = pwd.getpwnam("postgres")
        os.chown(folder, account.pw_uid, account.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, port = os.path.join(folder, "data"), free_port()
    run = lambda *cmd: subprocess.run([*as_user, *cmd], check=True, capture_output=True)  # noqa: E731
    secret = os.path.join(folder, "pw")
    with open(secret, "w") as handle:
        handle.write(PASSWORD)
    os.chmod(secret, 0o644)
    auth = ["--auth-local=trust", "--auth-host=scram-sha-256", f"--pwfile={secret}"]
    run(f"{bindir}/initdb", "-D", data, *auth, "-U", "tfxd", "--no-sync")
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(f"{bindir}/pg_ctl", "-D", data, "-o", options, "-l", f"{folder}/log", "-w", "start")
    try:
        run(f"{bindir}/createdb", "-h", folder, "-p", str(port), "-U", "tfxd", "tfxd")
        yield f"postgresql+psycopg2://tfxd:{PASSWORD}@127.0.0.1:{port}/tfxd"
    finally:
        subprocess.run(
            [*as_user, f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "stop"],
            capture_output=True,
        )
        shutil.rmtree(folder, ignore_errors=True)


def mariadb_bin() -> str | None:
    return shutil.which("mariadbd") or (
        "/usr/sbin/mariadbd" if os.path.exists("/usr/sbin/mariadbd") else None
    )


@contextmanager
def mariadb_server() -> Iterator[str]:
    """Start MariaDB; yield a SQLAlchemy URL over TCP (user ``tfxd``, database ``tfxd``)."""
    import time

    server = mariadb_bin()
    if server is None:
        raise RuntimeError("MariaDB is not installed: apt-get install mariadb-server")
    import pwd

    folder = tempfile.mkdtemp(prefix="tfxd-maria-")
    data, sock, port = os.path.join(folder, "data"), os.path.join(folder, "sock"), free_port()
    user = pwd.getpwuid(os.geteuid()).pw_name
    subprocess.run(
        [
            "mariadb-install-db",
            "--no-defaults",
            f"--datadir={data}",
            f"--user={user}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ],
        check=True,
        capture_output=True,
    )
    proc = subprocess.Popen(
        [
            server,
            "--no-defaults",
            f"--datadir={data}",
            f"--socket={sock}",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            f"--user={user}",
            "--skip-log-bin",
            "--innodb-flush-log-at-trx-commit=0",
            f"--pid-file={folder}/pid",
        ],
        stdout=subprocess.DEVNULL,
        stderr=open(os.path.join(folder, "log"), "w"),
    )
    try:
        import pymysql

        deadline = time.monotonic() + 30
        while True:
            try:
                admin = pymysql.connect(unix_socket=sock, user="root")
                break
            except pymysql.err.OperationalError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.1)
        with admin.cursor() as cursor:
            cursor.execute("CREATE DATABASE tfxd")
            cursor.execute(f"CREATE USER 'tfxd'@'127.0.0.1' IDENTIFIED BY '{PASSWORD}'")
            cursor.execute("GRANT ALL ON tfxd.* TO 'tfxd'@'127.0.0.1'")
        admin.close()
        yield f"mysql+pymysql://tfxd:{PASSWORD}@127.0.0.1:{port}/tfxd"
    finally:
        proc.kill()
        proc.wait()
        shutil.rmtree(folder, ignore_errors=True)
