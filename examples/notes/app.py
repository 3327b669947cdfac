from notes import create_app

# gunicorn serves app:app, so the factory's app is made here.
app = create_app()

if __name__ == "__main__":
    app.run(port=8000)
