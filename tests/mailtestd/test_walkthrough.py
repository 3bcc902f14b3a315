"""The README's five-minute walk-through, as a newcomer would do it.

First run: `mailtestd -f` with NO configuration file, in an empty working
directory (so ./mailtest-spool lands there), a message sent with swaks to
check@localhost on 127.0.0.1:2525, then `mailtest queue` and `mailtest show
ID` in the same directory: the report is in SPOOL/reports/, and its reply
waits in the outbound queue for the sender's MX.  The daemon runs in a
network namespace of its own (unshare -n): port 2525 is then free whatever
else runs on the machine, and its DNS questions (to /etc/resolv.conf's
servers, as the defaults say) fail at once instead of leaving the machine.

Second run: the same with a configuration file whose relay is a local
aiosmtpd sink (tests/smtpsink.py): the report is delivered there.
"""
import email
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

import pytest

from .harness import bindir, free_port

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from smtpsink import Sink  # noqa: E402


def netns_available():
    if not (shutil.which('unshare') and shutil.which('nsenter') and shutil.which('ip')):
        return False
    p = subprocess.run(['unshare', '--net', '--', 'ip', 'link', 'set', 'lo', 'up'],
                       capture_output=True)
    return p.returncode == 0


def wait_for(path_fn, what, proc, log, timeout=60):
    deadline = time.monotonic() + timeout
    while True:
        v = path_fn()
        if v:
            return v
        if proc.poll() is not None:
            raise AssertionError('mailtestd exited (%s) before %s:\n%s'
                                 % (proc.returncode, what, open(log).read()[-4000:]))
        if time.monotonic() > deadline:
            raise AssertionError('timeout waiting for %s:\n%s' % (what, open(log).read()[-4000:]))
        time.sleep(0.05)


def stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


def mailtest(cwd, *args):
    cmd = [os.path.join(bindir(), 'mailtest')] + list(args)
    if '-c' not in args and os.path.exists('/etc/mailtest/mailtest.conf'):
        cmd += ['-c', '/dev/null']  # an installed config would be read first: use the defaults
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=60)


@pytest.mark.skipif(not netns_available(), reason='needs unshare -n (root)')
def test_first_run_without_a_configuration_file(tmp_path):
    work = tmp_path / 'fresh-checkout'
    work.mkdir()
    log = str(tmp_path / 'mailtestd.log')
    binary = os.path.join(bindir(), 'mailtestd')
    with open(log, 'wb') as lf:
        proc = subprocess.Popen(['unshare', '--net', '--', 'sh', '-c',
                                 'ip link set lo up && exec "$0" -f', binary],
                                cwd=str(work), stdout=subprocess.DEVNULL, stderr=lf)
    try:
        wait_for(lambda: 'mailtestd started' in open(log).read(), 'start', proc, log)
        started = open(log).read()
        assert 'smtpd listen addr=127.0.0.1:2525' in started
        assert 'spool=%s/mailtest-spool' % work in started
        # step 2 of the README: swaks to check@localhost
        sw = subprocess.run(['nsenter', '--net=/proc/%d/ns/net' % proc.pid,
                             'swaks', '--server', '127.0.0.1:2525', '--to', 'check@localhost',
                             '--from', 'you@example.org', '--header',
                             'Subject: my first test', '--timeout', '30'],
                            capture_output=True, text=True, timeout=90)
        assert sw.returncode == 0, sw.stdout + sw.stderr
        msgid = re.search(r'250 2\.0\.0 Ok: queued as (\w{12})', sw.stdout).group(1)
        # the report is in the store (mailtest-spool/reports.db) once the worker
        # has handed the message on
        wait_for(lambda: re.search(r'%s worker removed' % msgid, open(log).read()),
                 'the report', proc, log)
        assert (work / 'mailtest-spool' / 'reports.db').exists()
        sj = mailtest(str(work), 'show', msgid, '--format', 'json')
        assert sj.returncode == 0, sj.stderr
        r = json.loads(sj.stdout)
        assert r['id'] == msgid
        assert r['envelope']['mail_from'] == 'you@example.org'
        assert r['envelope']['rcpt'] == ['check@localhost']
        assert r['reply']['status'] == 'queued' and r['reply']['to'] == 'you@example.org'
        # no DNS in here: the report's reply waits for example.org's MX
        wait_for(lambda: re.search(r'%s deliver deferred' % msgid, open(log).read()),
                 'the delivery attempt', proc, log)
        # step 3: mailtest queue / mailtest show ID, in the same directory
        q = mailtest(str(work), 'queue')
        assert q.returncode == 0, q.stderr
        assert msgid in q.stdout and 'you@example.org' in q.stdout, q.stdout
        s = mailtest(str(work), 'show', msgid)
        assert s.returncode == 0, s.stderr
        assert 'SPF' in s.stdout and 'DKIM' in s.stdout and 'DMARC' in s.stdout, s.stdout
        assert 'you@example.org' in s.stdout and 'attempt(s), next try' in s.stdout, s.stdout
        j = mailtest(str(work), 'show', msgid, '--format', 'json')
        assert j.returncode == 0 and json.loads(j.stdout)['id'] == msgid
        f = mailtest(str(work), 'flush')
        assert f.returncode == 0 and f.stdout.startswith('1 deferred report(s) made due now')
        wait_for(lambda: 'flush requested' in open(log).read(), 'the flush', proc, log)
    finally:
        rc = stop(proc)
    assert rc == 0, open(log).read()[-3000:]
    assert 'mailtestd stopped status=0' in open(log).read()


def test_second_run_with_a_sink_gets_the_report_delivered(tmp_path, dns):
    dns.set_zone({})
    sink = Sink().start()
    work = tmp_path / 'checkout'
    work.mkdir()
    port = free_port()
    conf = work / 'mailtest.conf'
    conf.write_text('listen 127.0.0.1:%d\nrelay 127.0.0.1:%d\nrelay_tls none\n'
                    'dns_server %s\n' % (port, sink.port, dns.address))
    log = str(tmp_path / 'mailtestd.log')
    with open(log, 'wb') as lf:
        proc = subprocess.Popen([os.path.join(bindir(), 'mailtestd'), '-f', '-c', str(conf)],
                                cwd=str(work), stdout=subprocess.DEVNULL, stderr=lf)
    try:
        wait_for(lambda: 'mailtestd started' in open(log).read(), 'start', proc, log)
        sw = subprocess.run(['swaks', '--server', '127.0.0.1:%d' % port, '--to',
                             'check@localhost', '--from', 'you@example.org', '--header',
                             'Subject: second run', '--timeout', '30'],
                            capture_output=True, text=True, timeout=90)
        assert sw.returncode == 0, sw.stdout + sw.stderr
        msgid = re.search(r'queued as (\w{12})', sw.stdout).group(1)
        assert (work / 'mailtest-spool').is_dir(), 'the default spool, beside the config'
        sink.wait(1, timeout=60)
        m = sink.messages[0]
        assert m['mail_from'] in ('', '<>') and m['rcpt'] == ['you@example.org']
        msg = email.message_from_bytes(m['data'])
        assert msg['Subject'].startswith('mailtest:')
        assert 'DKIM-Signature' in msg
        parts = {p.get_content_type(): p for p in msg.walk()}
        assert {'text/plain', 'text/html', 'application/json'} <= set(parts)
        attached = json.loads(parts['application/json'].get_payload(decode=True))
        assert attached['id'] == msgid
        wait_for(lambda: re.search(r'%s deliver delivered' % msgid, open(log).read()),
                 'delivered in the log', proc, log)
        s = mailtest(str(work), 'show', msgid, '-c', str(conf))
        # show reads the delivery state back from the store
        assert s.returncode == 0 and 'delivered after 1 attempt' in s.stdout, s.stdout
    finally:
        rc = stop(proc)
        sink.stop()
    assert rc == 0, open(log).read()[-3000:]
