from flask import Flask, abort, request

app = Flask(__name__)
app.config["MAX_CONTENT_LENGTH"] = 1024 * 1024
# FLASK_SECRET_KEY, FLASK_MAX_CONTENT_LENGTH and other FLASK_* settings come from the environment, never the image.
app.config.from_prefixed_env()

SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


@app.before_request
def refuse_oversized_body():
    """Answer 413 before routing, so even a route that never reads the body refuses a huge one."""
    limit = request.max_content_length
    if limit is not None and (request.content_length or 0) > limit:
        abort(413)


@app.after_request
def add_security_headers(response):
    """Add the security headers to every response, errors included."""
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


@app.get("/")
def index():
    return app.send_static_file("index.html")


@app.get("/hello")
def hello():
    print("accepted request")
    return "nice to meet you"


@app.get("/healthz")
def healthz():
    return {"status": "ok"}


if __name__ == "__main__":
    app.run(port=5000)
