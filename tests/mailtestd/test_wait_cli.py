"""`mailtest wait` against a running mailtestd, and the README's recipe for
CI pipelines end to end: swaks sends to check+$CI_JOB_ID@..., mailtestd
verifies and stores the report, `mailtest wait --tag $CI_JOB_ID --expect
dmarc=pass` exits 0.  Exit codes: 0 ok, 1 expectation failed, 2 usage /
connection / HTTP error, 3 timeout.
"""
import os
import subprocess
import threading
import time

import pytest

from conftest import run_mailtest, wrapper
from .web import TOKEN, ZONE, http_port, send, wait_stored, web_conf


@pytest.fixture
def daemon(smtpd_factory, dns):
    dns.set_zone(dict(ZONE))
    return smtpd_factory(**web_conf())


def wait_cmd(mailtest, daemon, *args):
    url = 'http://127.0.0.1:%d' % http_port(daemon)
    return run_mailtest(mailtest, ['wait', '--url', url] + list(args), timeout=120)


@pytest.mark.valgrind
def test_ci_recipe_swaks_then_mailtest_wait(daemon, mailtest):
    """The README recipe, as a pipeline would run it."""
    job = 'ci-%d' % os.getpid()
    sw = subprocess.run(['swaks', '--silent', '1', '--server', '127.0.0.1:%d' % daemon.port,
                         '--helo', 'ci.pass.example', '--from', 'ci@pass.example',
                         '--to', 'check+%s@mailtest.example' % job,
                         '--header', 'Subject: build %s' % job],
                        capture_output=True, timeout=60)
    assert sw.returncode == 0, sw.stderr
    env = dict(os.environ, CI_JOB_ID=job, MAILTEST_URL='http://127.0.0.1:%d' % http_port(daemon))
    p = subprocess.run(wrapper() + [mailtest, 'wait', '--tag', job, '--expect', 'dmarc=pass'],
                       capture_output=True, timeout=120, env=env)
    assert p.returncode == 0, (p.stdout, p.stderr)
    out = p.stdout.decode()
    assert out.startswith('mailtest: ') and 'spf=pass' in out and 'dmarc=pass' in out
    assert out.rstrip().endswith('expectations hold')


def test_wait_is_woken_by_a_later_message(daemon, mailtest):
    res = {}

    def run():
        res['p'] = wait_cmd(mailtest, daemon, '--tag', 'later-1', '--timeout', '30',
                            '--expect', 'spf=pass,dmarc=pass', '--format', 'json')

    t = threading.Thread(target=run)
    t.start()
    time.sleep(1)
    mid = send(daemon, 'later-1')
    t.join(120)
    p = res['p']
    assert p.returncode == 0, p.stderr
    assert b'"id": "%s"' % mid.encode() in p.stdout


def test_expectation_failed_prints_the_report(daemon, mailtest):
    mid = send(daemon, 'bad-1', 'fail.example')
    wait_stored(daemon, mid)
    p = wait_cmd(mailtest, daemon, '--tag', 'bad-1', '--expect', 'spf=pass,dmarc=pass|none')
    assert p.returncode == 1
    err = p.stderr.decode()
    assert 'expectation failed: spf=fail (expected pass)' in err
    assert 'expectation failed: dmarc=fail (expected pass|none)' in err
    out = p.stdout.decode()
    assert out.startswith('mailtest report') and 'fail.example does not authorize' in out
    # alternatives that hold
    p = wait_cmd(mailtest, daemon, '--tag', 'bad-1', '--expect', 'spf=fail|softfail,dkim=none')
    assert p.returncode == 0, p.stderr


def test_timeout_is_3(daemon, mailtest):
    p = wait_cmd(mailtest, daemon, '--tag', 'never', '--timeout', '1')
    assert p.returncode == 3 and b'no report with tag never within 1s' in p.stderr


@pytest.mark.parametrize('args,word', [
    ([], 'usage'),
    (['--tag', 'a b'], '--tag'),
    (['--tag', 'x', '--expect', 'dmarc=maybe'], '--expect'),
    (['--tag', 'x', '--expect', 'dns=pass'], '--expect'),
    (['--tag', 'x', '--url', 'https://example.org'], '--url'),
    (['--tag', 'x', '--timeout', 'soon'], '--timeout'),
    (['--tag', 'x', '--token', 'a b'], '--token'),
], ids=['no-tag', 'bad-tag', 'bad-word', 'bad-mech', 'https', 'bad-timeout', 'bad-token'])
def test_usage_errors_are_2(mailtest, args, word):
    p = run_mailtest(mailtest, ['wait'] + args)
    assert p.returncode == 2 and word.encode() in p.stderr


def test_connection_refused_is_2(mailtest):
    from .harness import free_port
    p = run_mailtest(mailtest, ['wait', '--tag', 'x', '--url', 'http://127.0.0.1:%d' % free_port()])
    assert p.returncode == 2 and b'Connection refused' in p.stderr


def test_token(smtpd_factory, dns, mailtest):
    dns.set_zone(dict(ZONE))
    d = smtpd_factory(**web_conf(http_token=TOKEN))
    mid = send(d, 'tok-cli')
    wait_stored(d, mid)
    p = wait_cmd(mailtest, d, '--tag', 'tok-cli')
    assert p.returncode == 2 and b'HTTP 401' in p.stderr
    p = wait_cmd(mailtest, d, '--tag', 'tok-cli', '--token', 'wrong-token-wrong-token')
    assert p.returncode == 2 and b'HTTP 401' in p.stderr
    env = dict(os.environ, MAILTEST_TOKEN=TOKEN,
               MAILTEST_URL='http://127.0.0.1:%d' % http_port(d))
    p = subprocess.run(wrapper() + [mailtest, 'wait', '--tag', 'tok-cli'], capture_output=True,
                       timeout=120, env=env)
    assert p.returncode == 0 and mid.encode() in p.stdout


def test_help_documents_the_exit_codes(mailtest):
    p = run_mailtest(mailtest, ['wait', '--help'])
    out = p.stdout.decode()
    assert p.returncode == 0
    for line in ('0  the report arrived and every expectation holds',
                 '1  the report arrived and an expectation does not hold',
                 '2  usage error, connection or HTTP error',
                 '3  no report with that tag before the timeout'):
        assert line in out
