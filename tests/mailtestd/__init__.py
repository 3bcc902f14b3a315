# mailtestd's end-to-end suites: a package, so that its conftest.py and
# helpers never shadow tests/conftest.py (import them as .harness).
