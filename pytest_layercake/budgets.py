"""Every pass/fail limit of the tests, in one place, each with the reason for its value."""

MB = 1_000_000  # Docker reports sizes in decimal megabytes.

# Beyond what pip installs from the lock (however large an app's dependencies are), the image's own layers hold the
# app's files (at most CONTEXT_MAX_BYTES, what the build context may send) and the few the Dockerfile writes (tens of
# kB here): a download or a file deleted in a later layer goes over. pip's cache has its own check.
BEYOND_PACKAGES_MAX_BYTES = 2 * MB
# python:3.13-alpine is about 45.6 MB; the image less its installed packages adds the app's files, rounded up.
ALPINE_BEYOND_PACKAGES_MAX_BYTES = 48 * MB
# The app's source, page and requirements are a few kB; a working folder's .git or venv would be megabytes.
CONTEXT_MAX_BYTES = 1 * MB

# A rebuild after a code change reuses the pip layer, so it costs a fraction of a cold build; generous on purpose,
# as both are timed on a shared machine.
WARM_COLD_RATIO_MAX = 0.5

# Docker's default stop timeout, after which it sends SIGKILL.
STOP_TIMEOUT_S = 10
# A graceful stop ends "well under" the kill timeout: within half of it even on a busy machine.
STOP_RATIO_MAX = 0.5
# Wider than any real start (under a second here); only a hung start should reach it.
STARTUP_TIMEOUT_S = 60
# PYTHONUNBUFFERED makes print() reach `docker logs` at once; a buffered line would wait for 4 kB or the exit.
LOG_DELAY_MAX_S = 1
# How long an untimed check waits for a line it caused to reach `docker logs`, on a machine busy with other tests.
LOG_LINE_WAIT_S = 30

# The load test: enough connections to queue on every worker, short enough for CI.
LOAD_CONNECTIONS = 32
# The first requests grow each worker thread's memory once (+2 to +3 MB over the first 3 s here, then +0.1 MB a
# slice), so memory is measured from the end of one warm-up.
LOAD_WARMUP_S = 3
# The load after the warm-up runs in slices, with memory read between them (no request in flight). A worker's first
# full garbage collection copies the pages it shared with gunicorn's master, once: +3 to +5 MB in one slice, at about
# 27k requests per worker here (none with gc.freeze() before the fork). A leak grows memory in every slice, so the
# median slice's growth, times the slices, is what the budget judges: one or two slices with a step don't move it.
LOAD_SLICES = 5
LOAD_SLICE_S = 3
# The steady growth over the slices may be at most this fraction of the memory after the warm-up. Here it is
# under +1%; a leak of 1 kB per request, about +45%.
MEMORY_GROWTH_MAX = 0.10
# gunicorn's master replaces a killed worker; a client should see answers again within this.
WORKER_RECOVERY_MAX_S = 1
# After PID 1 dies, the restart policy and the 1 s health start interval bring the app back within this: about ten
# times what it takes here, so the check runs beside other tests, not alone.
RESTART_HEALTHY_MAX_S = 15
# Another client must be answered this quickly while a slow client holds a connection open, on top of the app's own
# slowest answer without one (test_bad_input.py measures it).
SLOW_CLIENT_ANSWER_MAX_S = 2
# The slow-client check opens connections until every worker holds one; the kernel hands each to whichever worker wins
# it, so a few more than the workers are tried (one that lands on a busy worker is closed again), and more than this
# means the workers never accept.
SLOW_CLIENTS_MAX = 20
# compose watch notices the edit, copies it in, and gunicorn --reload restarts the workers: a few seconds, plus the
# app's own start (app_start_s, measured in the same run), since the restarted workers load the app again.
SYNC_MAX_S = 20

# Swarm: the client asks the change's probe over and over during the rollout and the rollback, then stops; this bounds it
# if the test dies first. The rollout of 3 replicas takes about 10 s here (one at a time, plus the 5 s monitor).
SWARM_CLIENT_MAX_S = 240
# The client's connection to a replica's address: one whose replica is gone never completes (a removed address sends no
# refusal), so a connection not made by then counts as a failed request.
SWARM_CONNECT_MAX_S = 2
# A replica that took the connection is alive; its answer may wait while a new replica boots beside it on the same
# CPUs, so the client waits this plus the app's own start (app_start_s) before it counts the request as failed.
SWARM_ANSWER_MAX_S = 2
# Replicas that passed their health check answer the client at once; no answer by then means it can't reach them.
SWARM_FIRST_ANSWER_MAX_S = 30
# A `docker stack deploy` or rollback that hasn't converged by now is stuck (a replica never turned healthy).
SWARM_CONVERGE_MAX_S = 120
# The test stack's health start period: a replica's failed checks count only after it. A rollout boots a replica beside
# the serving ones, so it gets this many times the app's own start measured in the same run (app_start_s), at least the
# minimum: a slow-booting app is not killed mid-rollout, and a release whose check never passes is still rolled back
# soon. docker-compose.yml's own start_period (the owner's allowance for a boot) caps it.
SWARM_START_PERIOD_PER_APP_START = 3
SWARM_START_PERIOD_MIN_S = 3
# The point of start-first with a healthcheck: no request fails while replicas are replaced.
ROLLOUT_FAILED_MAX = 0
# An app must refuse a body larger than this before reading it (baseline.py's default limit is 1 MB); a bigger
# limit should be a deliberate setting of the app, not the lack of one.
BODY_LIMIT_MAX_BYTES = 10 * MB
# The harness's run on a copy of the template (tests/test_template.py) takes about two minutes here; one that has not
# ended by then hangs.
TEMPLATE_RUN_MAX_S = 900
# Any one test, its fixtures' setup included, when pytest-timeout is installed and no timeout is set: the longest is a
# harness run inside a test (TEMPLATE_RUN_MAX_S) plus its project's setup; a check past it waits for something that
# never comes, and fails, named, instead of holding the run.
TEST_MAX_S = TEMPLATE_RUN_MAX_S + 300
# Runtime ceilings (CIS 5.11, 5.29): the app idles near 50 MB and stays under 60 MB under load (the run's report); a
# leak or a fork bomb must stop at the container long before it hurts the host.
MEMORY_LIMIT_MAX_BYTES = 512 * 2**20
# 2 workers of 4 threads, the master and a health check use about 15 tasks.
PIDS_LIMIT_MAX = 128
# gthread workers on CPU-bound Python: more than two processes per CPU of the limit only wait for it (CIS 5.12).
WORKERS_PER_CPU_MAX = 2
# gunicorn.conf.py's bounds on that count: two workers at least, so that one stuck request leaves another to answer;
# eight at most, as a bigger host is better used by more replicas than by one container's many processes.
WORKERS_MIN = 2
WORKERS_MAX = 8
# The master staggers its workers' start by up to 0.1 s each; all of them are there well within this.
WORKERS_SPAWN_MAX_S = 5
# The master owns the listening socket, so while it replaces a killed worker a client waits; none should fail.
WORKER_KILL_FAILED_MAX = 0
# gunicorn's `timeout`, the seconds after which its master kills a silent worker: a request that needs more belongs in a
# job of its own, and a hung worker serves no one until then (gunicorn's default is 30 s).
HUNG_WORKER_TIMEOUT_MAX_S = 60
# Past that timeout, until the hung worker is replaced: the master looks once a second, aborts the worker, kills it on
# its next look, and starts another (whose own start the app's measured start adds).
HUNG_WORKER_MARGIN_S = 5
# Requests that fail while one worker of two hangs: the other takes every connection, so none.
HUNG_WORKER_FAILED_MAX = 0
# A tmpfs is RAM that the container's memory limit counts: one that may fill more than half of the limit leaves the
# app too little to answer with, and one with no size may fill half the host's RAM.
TMPFS_SHARE_OF_MEMORY_MAX = 0.5
# The tmpfs that stands in for each declared writable folder while the full-folder check fills it: a real volume is
# the host's disk, which a test must not fill; a few MiB is full as surely.
FULL_FOLDER_TEST_BYTES = 8 * 2**20
# What the memory check's process allocates past the container's memory (and swap) limit before it gives up, unstopped.
MEMORY_HOG_MARGIN_BYTES = 64 * 2**20
# A probe's answer from a stack at a limit (folders full, an OOM kill just done), asked again until then: a worker may be
# booting beside it on the one CPU the limit allows. The app's measured start adds to it.
FAULT_ANSWER_MAX_S = 10
# A dead app must leave the load balancer's rotation (swarm's DNS, a Service) within a minute, whatever the deployment
# tunes: retries x (interval + timeout) of the image's check, compose's and the pod's liveness probe. The template's
# timings give 39 s.
HEALTH_DEAD_HEALTHY_MAX_S = 60
# The app answers within a second of its start here; a start period longer than this only hides an app that never
# starts, since no failure counts during it.
HEALTH_START_PERIOD_MAX_S = 60
# The unhealthy control runs the image's check every second, 3 times, instead of compose's slower timings: the same
# check, so it proves the check can fail, in seconds.
HEALTH_CONTROL_INTERVAL_S = 1
HEALTH_CONTROL_RETRIES = 3
# Emulated arm64 (QEMU on an amd64 host) runs Python 5 to 20 times slower: the first answer came about 15 s after
# `docker run` here, so a hung start is told apart at 8 times that.
EMULATED_STARTUP_TIMEOUT_S = 120
# One answer of the emulated app, while the host runs other tests beside it.
EMULATED_ANSWER_MAX_S = 30
# One run of the image's health check under emulation: an emulated interpreter's start and one answer, on a busy host.
EMULATED_HEALTH_TIMEOUT_S = 30
# An emulated graceful stop still ends inside Docker's kill timeout, and before gunicorn's graceful_timeout (8 s) would
# run out: 3.6 to 4.0 s here with nothing beside it (emulated interpreters exiting), 5.3 s once in CI beside other
# tests. A stop that waits out graceful_timeout, or one Docker kills (exit 137), still fails.
EMULATED_STOP_MAX_S = 7
