# A peer in the style of the popular compose samples' Flask service, written for the benchmark from their documented
# practice: a named builder stage, a pip cache mount, the source copied after the requirements, root, and the
# Flask dev server started through an exec-form ENTRYPOINT. No .dockerignore. Built FROM the same base as layercake.
ARG BASE_IMAGE
FROM ${BASE_IMAGE} AS builder

WORKDIR /app

COPY requirements.txt /app
RUN --mount=type=cache,target=/root/.cache/pip \
    pip3 install -r requirements.txt

COPY . /app

ENTRYPOINT ["python3"]
CMD ["app.py"]
