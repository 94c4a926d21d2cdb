"""A private PostgreSQL server: for `hookline up` and for the test suite.

Uses the system's PostgreSQL binaries. PostgreSQL refuses to run as root, so when the caller
is root the server runs as the `postgres` OS user (the data directory is handed to it).
pg_cron is preloaded, with background workers, whenever the binaries have it; on request,
pg_stat_statements too (PostgreSQL's contrib, part of Debian's postgresql-NN package).
"""

from __future__ import annotations

import glob
import os
import re
import secrets
import shutil
import socket
import subprocess
from pathlib import Path

from hookline.errors import HooklineError


def find_bindir() -> Path | None:
    """HOOKLINE_PG_BINDIR, else `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin."""
    candidates: list[str] = []
    if os.environ.get("HOOKLINE_PG_BINDIR"):
        candidates.append(os.environ["HOOKLINE_PG_BINDIR"])
    if shutil.which("pg_config"):
        out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=False)
        candidates.append(out.stdout.strip())

    def version(path: str) -> int:
        m = re.search(r"/(\d+)/bin$", path)
        return int(m[1]) if m else 0

    candidates += sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=version, reverse=True)
    if shutil.which("postgres"):
        candidates.append(str(Path(shutil.which("postgres") or "").parent))
    for c in candidates:
        if c and (Path(c) / "postgres").is_file() and (Path(c) / "initdb").is_file():
            return Path(c)
    return None


_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_given: set[int] = set()


def free_port() -> int:
    """A port nothing listens on, for a server started after this returns. Taken below the
    kernel's ephemeral range, where no bind to port 0 and no outgoing connection of any process
    lands meanwhile (a port from a bind to 0 went to the next such bind, a server's metrics
    endpoint on port 0, before the server bound it); never the same port twice in a process."""
    try:
        top = int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        top = 32768  # Linux's default start; elsewhere, IANA's dynamic range starts higher
    low = 10000 if top > 12000 else 1024
    for _ in range(200 if top - low >= 1000 else 0):
        port = low + secrets.randbelow(top - low)
        if port in _given:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue  # in use, or in TIME_WAIT
        _given.add(port)
        return port
    with socket.socket() as s:  # no room below the range: any port the kernel gives
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LocalPostgres:
    """A PostgreSQL cluster in `root/data`, listening on 127.0.0.1:`port` and a socket in `root`."""

    def __init__(
        self,
        root: Path,
        *,
        bindir: Path | None = None,
        port: int | None = None,
        durable: bool = True,
        password: bool = True,
        cron: bool = True,
        statements: bool = False,
    ) -> None:
        found = bindir or find_bindir()
        if found is None:
            raise HooklineError(
                "no PostgreSQL server binaries found (set HOOKLINE_PG_BINDIR, install postgresql, "
                "or pip install 'hookline[embedded]')"
            )
        self.bindir = found
        self.root = Path(root).resolve()
        self.data = self.root / "data"
        self.port = port or free_port()
        self.durable = durable
        self.use_password = password
        self.use_cron = cron
        self.use_statements = statements
        self.as_root = os.geteuid() == 0

    # -- facts ---------------------------------------------------------------------------

    def _config(self, flag: str) -> Path:
        pg_config = self.bindir / "pg_config"
        exe = str(pg_config) if pg_config.is_file() else "pg_config"
        out = subprocess.run([exe, flag], capture_output=True, text=True, check=True)
        return Path(out.stdout.strip())

    def _has_extension(self, name: str) -> bool:
        try:
            return (self._config("--pkglibdir") / f"{name}.so").is_file() and (
                self._config("--sharedir") / "extension" / f"{name}.control"
            ).is_file()
        except (OSError, subprocess.CalledProcessError):
            return False

    @property
    def has_cron(self) -> bool:
        return self._has_extension("pg_cron")

    @property
    def has_statements(self) -> bool:
        return self._has_extension("pg_stat_statements")

    @property
    def password_file(self) -> Path:
        return self.root / "password"

    def dsn(self, dbname: str = "postgres") -> str:
        dsn = f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"
        if self.use_password:
            password = self.password_file.read_text().strip()
            dsn = f"postgresql://postgres:{password}@127.0.0.1:{self.port}/{dbname}"
        return dsn

    @property
    def running(self) -> bool:
        pid = self.data / "postmaster.pid"
        if not pid.is_file():
            return False
        try:
            os.kill(int(pid.read_text().split()[0]), 0)
        except (ValueError, ProcessLookupError, IndexError):
            return False
        except PermissionError:
            return True
        return True

    # -- actions -------------------------------------------------------------------------

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [*(["runuser", "-u", "postgres", "--"] if self.as_root else []), *args]
        try:
            return subprocess.run(cmd, capture_output=True, text=True, check=True, cwd="/")
        except subprocess.CalledProcessError as exc:
            detail = (exc.stderr or exc.stdout or "").strip().splitlines()
            raise HooklineError(
                f"{Path(args[0]).name} failed: {detail[-1] if detail else exc.returncode}"
            ) from exc

    def _hand_over(self, path: Path) -> None:
        if self.as_root:
            shutil.chown(path, "postgres", "postgres")

    def init(self) -> None:
        if (self.data / "PG_VERSION").is_file():
            return
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._hand_over(self.root)
        auth = ["-A", "trust"]
        if self.use_password:
            self.password_file.write_text(secrets.token_urlsafe(24) + "\n")
            self.password_file.chmod(0o600)
            self._hand_over(self.password_file)
            auth = ["-A", "scram-sha-256", f"--pwfile={self.password_file}"]
        self._run(
            str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "-E", "UTF8",
            "--locale=C.UTF-8", *auth,
        )  # fmt: skip
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "unix_socket_directories": f"'{self.root}'",
            "max_connections": "200",
            "logging_collector": "off",
        }
        if not self.durable:  # a throw-away test server: speed over crash safety
            settings |= {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
        conf = "\n".join(f"{k} = {v}" for k, v in settings.items())
        with (self.data / "postgresql.conf").open("a") as f:
            f.write(f"\n# --- hookline private server ---\n{conf}\n")

    def start(self) -> None:
        self.init()
        if self.running:
            return
        options = f"-p {self.port}"
        preload = []
        if self.has_cron and self.use_cron:
            # On the command line, so a data directory made before these settings gets them
            # too. Background workers: pg_cron needs no login (a password, .pgpass) to run jobs.
            preload.append("pg_cron")
            options += (
                " -c cron.database_name=postgres"
                " -c cron.use_background_workers=on -c max_worker_processes=24"
            )
        if self.has_statements and self.use_statements:
            preload.append("pg_stat_statements")
        if preload:
            options += f" -c shared_preload_libraries={','.join(preload)}"
        self._run(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.root / "server.log"),
            "-o", options, "-w", "-t", "60", "start",
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """pg_ctl stop -m MODE: fast (the default) or immediate (as a crash: no checkpoint)."""
        if self.running:
            self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")
