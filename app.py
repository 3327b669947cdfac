from flask import Flask

app = Flask(__name__)


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
