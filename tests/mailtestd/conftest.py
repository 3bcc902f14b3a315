"""Fixtures for the mailtestd suites.

  smtpd           a running mailtestd -f with a temporary configuration and
                  spool, dns_server pointing at the session's `dns` fixture;
                  stopped with SIGTERM at the end (exit status 0 asserted, so
                  LeakSanitizer findings fail the test in the ASan build)
  smtpd_factory   start more daemons or other configurations:
                  smtpd_factory(smtp_max_recipients=2, ...) -> Daemon
"""
import os

import pytest

from .harness import Daemon, bindir, wrapper_for


@pytest.fixture
def smtpd_factory(dns, tmp_path, request):
    binary = os.path.join(bindir(), 'mailtestd')
    if not os.access(binary, os.X_OK):
        pytest.fail('%s is not built (run make)' % binary)
    started = []

    def make(start=True, **conf):
        d = Daemon(binary, str(tmp_path / ('d%d' % len(started))), dns,
                   wrapper=wrapper_for(request), **conf)
        started.append(d)
        if start:
            d.start()
        return d

    yield make
    for d in started:
        if d.proc is not None and d.proc.poll() is None:
            d.stop(timeout=60)


@pytest.fixture
def smtpd(smtpd_factory, dns):
    dns.set_zone({})
    return smtpd_factory()
