# A peer in the style of `docker init`'s Python template, written for the benchmark from its documented practice
# (a slim base, a non-root user made with adduser, a pip cache mount with the requirements bind-mounted, and
# gunicorn started by a shell-form CMD). Built FROM the same base as layercake, so only the practices differ.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}

ENV PYTHONDONTWRITEBYTECODE=1
ENV PYTHONUNBUFFERED=1

WORKDIR /app

ARG UID=10001
# docker init's adduser line; the offline stand-in base has no adduser, so the same user is written by hand there.
RUN adduser --disabled-password --gecos "" --home "/nonexistent" --shell "/sbin/nologin" --no-create-home \
    --uid "${UID}" appuser 2>/dev/null \
    || echo "appuser:x:${UID}:${UID}::/nonexistent:/sbin/nologin" >> /etc/passwd

RUN --mount=type=cache,target=/root/.cache/pip \
    --mount=type=bind,source=requirements.txt,target=requirements.txt \
    python -m pip install -r requirements.txt

USER appuser

COPY . .

EXPOSE 5000

CMD gunicorn 'app:app' --bind=0.0.0.0:5000
