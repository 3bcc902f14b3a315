"""Shared fixtures for mailtest's Python test suites.

  mailtest      path to bin/mailtest (MAILTEST_BINDIR), wrapped by
                MAILTEST_WRAPPER (valgrind) when set
  dns           a loopback DNS server (tests/dnsd.py) for the whole session;
                call dns.set_zone({...}) in each test
  conformance   the ../shared/conformance directory; tests that need it are
                skipped, loudly, when it is absent
  verify(...)   run `mailtest verify --format json` and return the JSON
  pg            a PostgreSQL server on 127.0.0.1 (tests/pgserver.py), one per
                session, started on first use; pg.new_database() -> conninfo
"""
import json
import os
import shlex
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)

import dnsd  # noqa: E402

CONFORMANCE = os.environ.get('MAILTEST_CONFORMANCE',
                             os.path.join(os.path.dirname(ROOT), 'shared', 'conformance'))
_skipped_conformance = []


def pytest_configure(config):
    config.addinivalue_line('markers', 'valgrind: also run in the valgrind pass')
    config.addinivalue_line('markers', 'conformance: needs ../shared/conformance')
    config.addinivalue_line('markers', 'slow: long-running (fault/load tests)')


def bindir():
    return os.path.join(ROOT, os.environ.get('MAILTEST_BINDIR', 'bin'))


def wrapper():
    return shlex.split(os.environ.get('MAILTEST_WRAPPER', ''))


def under_sanitizer():
    return os.environ.get('MAILTEST_SAN') == '1' or bool(os.environ.get('MAILTEST_WRAPPER'))


@pytest.fixture(scope='session')
def mailtest():
    p = os.path.join(bindir(), 'mailtest')
    if not os.access(p, os.X_OK):
        pytest.fail('%s is not built (run make)' % p)
    return p


@pytest.fixture(scope='session')
def mailtestd():
    p = os.path.join(bindir(), 'mailtestd')
    if not os.access(p, os.X_OK):
        pytest.fail('%s is not built (run make)' % p)
    return p


@pytest.fixture(scope='session')
def dns():
    srv = dnsd.DNSServer().start()
    yield srv
    srv.stop()


@pytest.fixture(scope='session')
def pg():
    import pgserver
    srv = pgserver.PgServer().start()
    yield srv
    srv.stop()


@pytest.fixture(scope='session')
def conformance():
    if not os.path.isdir(CONFORMANCE):
        _skipped_conformance.append(CONFORMANCE)
        pytest.skip('CONFORMANCE MATERIAL ABSENT: %s not found - suite SKIPPED' % CONFORMANCE)
    return CONFORMANCE


@pytest.fixture
def counts(record_property):
    """counts(line): a line for the run's 'agreement counts' section (the
    conformance and oracle pass counts).  Kept as a user property, so it
    reaches the terminal from pytest-xdist workers too."""
    lines = []
    record_property('mailtest_counts', lines)
    return lines.append


def pytest_terminal_summary(terminalreporter):
    tr = terminalreporter
    lines = []
    for rep in tr.stats.get('passed', []) + tr.stats.get('failed', []):
        for key, value in getattr(rep, 'user_properties', ()):
            if key == 'mailtest_counts' and rep.when == 'call':
                lines.extend(value)
    if lines:
        tr.section('agreement counts', sep='-')
        for line in lines:
            tr.line(line)
    # under pytest-xdist the skip happened in a worker: look again here
    if _skipped_conformance or not os.path.isdir(CONFORMANCE):
        _skipped_conformance.append(CONFORMANCE)
        tr.section('CONFORMANCE SUITES SKIPPED', sep='!', bold=True, red=True)
        tr.line('The public conformance material was not found at %s.' % _skipped_conformance[0])
        tr.line('The RFC 7208 / RFC 6376 / RFC 8463 / DMARC suites did NOT run.')
        tr.line('Place ../shared/conformance beside the checkout, or set MAILTEST_CONFORMANCE.')


def run_mailtest(mailtest, args, input=None, timeout=120):
    cmd = wrapper() + [mailtest] + list(args)
    return subprocess.run(cmd, input=input, capture_output=True, timeout=timeout)


@pytest.fixture
def verify(mailtest, dns):
    """verify(file_or_bytes, ip=, helo=, mail_from=, extra=[]) -> (json, proc).

    The author-domain check (dns-check's findings in the report) is off unless
    domain_check=True: the mechanism suites count their own DNS queries."""
    def _verify(msg, ip='192.0.2.1', helo='mail.example.org', mail_from=None,
                extra=(), expect_rc=0, timeout_ms=300, domain_check=False):
        args = ['verify', '--format', 'json', '--dns', dns.address,
                '--dns-timeout', str(timeout_ms)]
        if not domain_check:
            args.append('--no-domain-check')
        if ip is not None:
            args += ['--ip', ip]
        if helo is not None:
            args += ['--helo', helo]
        if mail_from is not None:
            args += ['--mail-from', mail_from]
        args += list(extra)
        data = None
        if isinstance(msg, bytes):
            args.append('-')
            data = msg
        else:
            args.append(msg)
        p = run_mailtest(mailtest, args, input=data)
        assert p.returncode == expect_rc, (p.returncode, p.stderr.decode(errors='replace'))
        out = json.loads(p.stdout) if p.stdout.strip() else None
        return out, p
    return _verify
