# Python and Alpine both pinned, so next month's build starts from the same base; override BASE_IMAGE
# for a mirror or an offline stand-in (any image with python and pip on PATH).
ARG BASE_IMAGE=python:3.13-alpine3.24
FROM ${BASE_IMAGE}

# Logs reach `docker logs` at once instead of waiting in a buffer, and pip keeps no cache in layers.
ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

# Every later path is relative to the app's own folder, kept apart from the base's files.
WORKDIR /app

# Copy only the requirements first, so editing app code reuses the cached pip layer.
COPY requirements.txt .

# Dependencies change less often than the source, so this slow layer comes before it.
RUN pip install --no-cache-dir -r requirements.txt

# The source changes most, so it comes last; .dockerignore keeps everything else out. Files stay
# owned by root, so the app's user cannot modify them.
COPY . .

# A numeric UID needs no adduser, so the same file builds on Alpine and Debian bases.
USER 10001:10001

# Documents the port gunicorn.conf.py binds by default; publishing is still up to `docker run -p`.
EXPOSE 5000

# Python, not curl or wget: the only tool every Python base image is sure to have.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --start-interval=1s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as u; u.urlopen('http://127.0.0.1:%s/healthz' % os.environ.get('PORT', '5000'), timeout=2)"]

# Exec form, so gunicorn's master is PID 1 and receives SIGTERM and Ctrl-C directly.
CMD ["gunicorn", "app:app"]
