"""Gunicorn settings; gunicorn reads this file from its working directory."""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '5000')}"

# Set explicitly: cpu_count() sees the host's cores, not the container's CPU limit.
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))

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

# Workers get this long to finish requests on SIGTERM; keep it under compose's stop_grace_period (15 s)
# and Docker's default stop timeout (10 s), so a stop never ends in SIGKILL.
graceful_timeout = 8
