# Python and Alpine both pinned, never latest, so a rebuild next month starts from the same base.
ARG BASE_IMAGE=python:3.13-alpine3.24
# Any image with python and pip on PATH works: override BASE_IMAGE for a mirror or an offline base.
FROM ${BASE_IMAGE}

# Unbuffered output reaches `docker logs` at once, instead of being lost in a buffer on a crash.
ENV PYTHONUNBUFFERED=1

# The app's port, read by gunicorn.conf.py and the HEALTHCHECK; layercake.toml names the same port.
ENV PORT=5000

# The app gets a folder of its own, apart from the base image's files.
WORKDIR /app

# Give UID 10001 a name and a group, so that `ps` and `docker compose watch` can resolve it; plain echo works on
# Alpine and Debian alike, where adduser and useradd differ.
RUN echo "app:x:10001:10001:app:/nonexistent:/sbin/nologin" >> /etc/passwd \
    && echo "app:x:10001:" >> /etc/group

# Copy only the requirements first, so editing app code reuses the cached pip layer.
COPY requirements.txt .

# Set only for a reproducible build (make reproduce): then pip writes hash-based .pyc files, free of timestamps.
ARG SOURCE_DATE_EPOCH

# Dependencies change less often than the source, so this slow layer comes before it. Every file must match a
# hash in the lock, which is complete (make lock), so pip installs nothing else. No pip cache: a BuildKit cache
# mount built no faster when measured, and the classic builder can't run one.
RUN pip install --no-cache-dir --disable-pip-version-check --root-user-action=ignore \
    --require-hashes --no-deps -r requirements.txt

# The source changes most, so it comes last; .dockerignore keeps the rest of the folder out, and the files stay
# owned by root and readable by all, so that the app's user, or any UID OpenShift picks, can run but not change them.
COPY . .

# What the image is, as OCI labels that registries and scanners show: edit these for your app. Its commit and remote
# come from BuildKit (BUILDX_GIT_LABELS=full, which make, the tests and CI set); without it they are left out, not empty.
LABEL org.opencontainers.image.title="layercake" \
      org.opencontainers.image.description="A Flask app in a container, hardened and health-checked" \
      org.opencontainers.image.licenses="NOASSERTION"

# Run as a non-root numeric UID and GID, which needs no adduser and so works on Alpine and Debian alike.
USER 10001:10001

# Documents the port gunicorn binds; publishing it is up to `docker run -p`.
EXPOSE ${PORT}

# Written in Python, because a Python image is sure to have python but not curl or wget.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --start-interval=1s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/healthz' % os.environ['PORT'], timeout=2)"]

# Exec form, so gunicorn's master is PID 1 and gets SIGTERM and Ctrl-C itself, with no shell between.
CMD ["gunicorn", "app:app"]
