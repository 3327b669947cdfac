"""Gunicorn settings; gunicorn reads this file from its working directory. Names that are not gunicorn settings start
with an underscore (the tests check every other name against gunicorn's own list)."""

import datetime
import json
import logging
import math
import os
import pathlib
import sys

from gunicorn import glogging

# The port has one source, the Dockerfile's ENV PORT (copier's answer); this file only reads it.
if "PORT" not in os.environ:
    raise SystemExit("PORT is not set: the image's ENV PORT sets it; set it to run gunicorn outside the image")
bind = f"0.0.0.0:{os.environ['PORT']}"


def _cpu_limit(cgroup: pathlib.Path = pathlib.Path("/sys/fs/cgroup")) -> float:
    """The CPUs the container may use: its cgroup quota (v2's cpu.max, or v1's cfs files), else the CPUs it sees."""
    visible = len(os.sched_getaffinity(0))
    try:
        quota, period = (cgroup / "cpu.max").read_text().split()
    except OSError:
        try:
            quota = (cgroup / "cpu/cpu.cfs_quota_us").read_text().strip()
            period = (cgroup / "cpu/cpu.cfs_period_us").read_text().strip()
        except OSError:
            return visible
    if quota in ("max", "-1"):
        return visible
    return min(visible, int(quota) / int(period))


# cpu_count() sees the host's cores, not the container's limit, so the count follows the quota: two workers per CPU,
# at least two (one stuck request leaves another worker to answer), at most eight (beyond that, add replicas).
# WEB_CONCURRENCY wins when set.
workers = int(os.environ.get("WEB_CONCURRENCY") or min(8, max(2, math.ceil(2 * _cpu_limit()))))

# Threads, as nothing buffers slow clients in front of gunicorn here: a slow or keep-alive client holds one thread,
# not a whole worker. Throughput is a little above that of sync workers (see "Benchmark" in the README).
worker_class = "gthread"
threads = 4

# "-" is stdout, so `docker logs` shows one line per request.
accesslog = "-"

# Heartbeat files go to RAM: /tmp may be slow, on disk, or read-only.
worker_tmp_dir = "/dev/shm"

# Since 25.1 the control socket is created under $HOME, which fails for a non-root or read-only container.
control_socket_disable = True


def on_starting(server):
    """With --reload (`make dev`), an edit to any file the image holds restarts the workers, not only a .py file's: a
    settings file or a template too. The files the app may write (its writable folders) are left out."""
    if server.cfg.reload:
        files = [path for path in pathlib.Path.cwd().rglob("*") if path.is_file() and path.suffix != ".py"]
        server.cfg.set("reload_extra_files", [str(path) for path in files if not os.access(path.parent, os.W_OK)])


# Workers get this long to finish requests on SIGTERM; keep it under compose's stop_grace_period (15 s)
# and Docker's default stop timeout (10 s), so a stop never ends in SIGKILL.
graceful_timeout = 8

# A worker silent this long is hung (a request stuck for good): the master kills it and starts another.
timeout = 30


class _JsonFormatter(logging.Formatter):
    """One JSON object per record, made by json.dumps: a quote or a newline from a client can't end or forge a line."""

    def format(self, record):
        time = datetime.datetime.fromtimestamp(record.created, datetime.UTC).isoformat(timespec="milliseconds")
        entry = {"time": time, "level": record.levelname, "logger": record.name}
        entry |= {"message": record.getMessage(), **getattr(record, "request", {})}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


class _JsonLines:
    """Stands in for sys.stdout or sys.stderr: each line printed becomes a record of `logger`, so it is JSON too."""

    def __init__(self, logger: logging.Logger, level: int):
        self.logger, self.level, self.partial = logger, level, ""

    def write(self, text: str) -> int:
        *lines, self.partial = (self.partial + text).split("\n")
        for line in lines:
            self.logger.log(self.level, line)
        return len(text)

    def flush(self) -> None:
        pass


class _JsonLogger(glogging.Logger):
    """gunicorn's logger, writing its own lines, the access log, the app's logging and print() as JSON to stdout."""

    def setup(self, cfg):
        super().setup(cfg)
        stdout = logging.StreamHandler(sys.__stdout__)
        for handler in [*self.error_log.handlers, *self.access_log.handlers, stdout]:
            handler.setFormatter(_JsonFormatter())
        # The app's loggers reach the root's handler, so Flask adds no plain handler of its own.
        logging.getLogger().handlers = [stdout]
        logging.getLogger().setLevel(logging.INFO)
        if not isinstance(sys.stdout, _JsonLines):
            sys.stdout = _JsonLines(logging.getLogger("stdout"), logging.INFO)
            sys.stderr = _JsonLines(logging.getLogger("stderr"), logging.ERROR)

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        atoms = self.atoms(resp, req, environ, request_time)
        names = {"h": "remote_addr", "m": "method", "q": "query", "H": "protocol", "s": "status"}
        names |= {"B": "bytes", "f": "referer", "a": "user_agent", "M": "duration_ms"}
        fields = {name: atoms[atom] for atom, name in names.items()} | {"status": int(atoms["s"])}
        # The whole path the client asked for: an app mounted under a prefix moves its start into SCRIPT_NAME.
        fields["path"] = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        self.access_log.info(atoms["r"], extra={"request": fields})


# LOG_FORMAT=json: one JSON object per line for a log pipeline; the default keeps plain lines.
_log_format = os.environ.get("LOG_FORMAT", "text")
if _log_format == "json":
    logger_class = _JsonLogger
elif _log_format != "text":
    raise SystemExit(f"LOG_FORMAT is {_log_format!r}: set it to json, or to text (the default)")
