from flask import Flask

import baseline

app = Flask(__name__)
# The health endpoint, the request-body limit, the security headers and FLASK_* settings from the environment.
baseline.init_app(app)


@app.get("/")
def index():
    return app.send_static_file("index.html")


@app.get("/hello")
def hello():
    print("accepted request")
    return "nice to meet you"


if __name__ == "__main__":
    app.run(port=5000)
