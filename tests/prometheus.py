"""A real Prometheus (Debian package `prometheus`) on 127.0.0.1 for the observability tests:
it scrapes the given targets every second, loads the given rule files, and answers PromQL."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from hookline.pgcluster import free_port
from tests.conftest import require

PROMETHEUS = shutil.which("prometheus")
PROMTOOL = shutil.which("promtool")
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")


def require_prometheus() -> None:
    require(
        PROMETHEUS is not None and PROMTOOL is not None, "Prometheus (Debian package prometheus)"
    )


class Prometheus:
    def __init__(self, url: str, log: Path) -> None:
        self.url = url
        self.log = log

    def api(self, path: str, **params: str) -> Any:
        answer = httpx.get(f"{self.url}/api/v1/{path}", params=params, timeout=10).json()
        assert answer["status"] == "success", answer
        return answer["data"]

    def query(self, expr: str) -> list[dict[str, Any]]:
        return self.api("query", query=expr)["result"]

    def wait_for(self, expr: str, timeout: float = 60) -> list[dict[str, Any]]:
        """The series of expr once it has any."""
        deadline = time.monotonic() + timeout
        while not (result := self.query(expr)):
            assert time.monotonic() < deadline, f"no series for {expr}:\n{self.log.read_text()}"
            time.sleep(0.2)
        return result


@contextlib.contextmanager
def running_prometheus(
    targets: dict[str, str], *rule_files: Path, alertmanager: str | None = None
) -> Iterator[Prometheus]:
    """Prometheus scraping each job's host:port of `targets` every second, evaluating the
    rule files every second and sending alerts to the Alertmanager at host:port, if any."""
    require_prometheus()
    home = Path(tempfile.mkdtemp(prefix="hookline-prometheus-"))
    scrapes = "".join(
        f"  - job_name: {job}\n    static_configs:\n      - targets: ['{address}']\n"
        for job, address in targets.items()
    )
    rules = "".join(f"  - {path}\n" for path in rule_files)
    config = home / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        + (f"rule_files:\n{rules}" if rules else "")
        + (
            f"alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['{alertmanager}']\n"
            if alertmanager
            else ""
        )
        + f"scrape_configs:\n{scrapes}"
    )
    port = free_port()
    log = home / "prometheus.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={home / 'data'}",
             f"--web.listen-address=127.0.0.1:{port}"],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    prom = Prometheus(f"http://127.0.0.1:{port}", log)
    try:
        wait_ready(proc, prom.url, log)
        yield prom
    finally:
        stop(proc)
        shutil.rmtree(home, ignore_errors=True)


@contextlib.contextmanager
def running_alertmanager(config: str) -> Iterator[str]:
    """Alertmanager (Debian package prometheus-alertmanager) with this configuration, no
    clustering; yields its host:port."""
    require(ALERTMANAGER is not None, "Alertmanager (Debian package prometheus-alertmanager)")
    home = Path(tempfile.mkdtemp(prefix="hookline-alertmanager-"))
    (home / "alertmanager.yml").write_text(config)
    port = free_port()
    log = home / "alertmanager.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [ALERTMANAGER, f"--config.file={home / 'alertmanager.yml'}",
             f"--storage.path={home / 'data'}", f"--web.listen-address=127.0.0.1:{port}",
             "--cluster.listen-address="],
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_ready(proc, f"http://127.0.0.1:{port}", log)
        yield f"127.0.0.1:{port}"
    finally:
        stop(proc)
        shutil.rmtree(home, ignore_errors=True)


def wait_ready(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while True:
        assert proc.poll() is None, f"{proc.args[0]} exited:\n{log.read_text()}"
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/-/ready", timeout=1).status_code == 200:
                return
        assert time.monotonic() < deadline, f"{proc.args[0]} did not start:\n{log.read_text()}"
        time.sleep(0.1)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
