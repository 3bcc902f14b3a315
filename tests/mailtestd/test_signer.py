"""Privilege separation for the report-signing key (issue 8, reply/signer.h):
the DKIM private key is opened and held only by a signer process that
mailtestd forks at start-up; the process that parses network input never
opens the key file.  Shown with strace -f (who opens the key), /proc (the
signer is our child, drops to the daemon's user, is not dumpable), and by
killing either side."""
import email
import os
import re
import shutil
import signal
import stat
import tempfile
import time

import dkim
import pytest

import dkimsign
from conftest import ROOT
from smtpsink import Sink

from . import smtpscript
from .harness import CHECK, message, under_sanitizer

KEY = os.path.join(ROOT, 'tests', 'keys', 'rsa2048.pem')
SENDER = 'alice@qa.example'


def zone():
    return {
        'qa.example': [{'TXT': 'v=spf1 ip4:127.0.0.1 -all'}, {'MX': [10, 'sink.qa.example']}],
        'sink.qa.example': [{'A': '127.0.0.1'}],
        'mt._domainkey.mailtest.example': dkimsign.zone_entry('rsa2048'),
    }


@pytest.fixture
def sink():
    s = Sink().start()
    yield s
    s.stop()


def pids(d):
    log = d.wait_log(r'mailtestd started version=\S+ pid=\d+', timeout=60)
    main = int(re.search(r'mailtestd started version=\S+ pid=(\d+)', log).group(1))
    signer = int(re.search(r'reply signer pid=(\d+)', log).group(1))
    return main, signer


def status(pid):
    out = {}
    with open('/proc/%d/status' % pid) as f:
        for line in f:
            k, _, v = line.partition(':')
            out[k] = v.split()
    return out


def send(d, subject):
    c = smtpscript.Client(d.port)
    c.expect(220)
    c.send('EHLO mail.qa.example')
    c.expect(250)
    c.send('MAIL FROM:<%s>' % SENDER)
    c.expect(250)
    c.send('RCPT TO:<%s>' % CHECK)
    c.expect(250)
    c.send('DATA')
    c.expect(354)
    c.sendraw(message(subject).replace('sender@example.org', SENDER) + '.\r\n')
    qid = c.expect(250, '2.0.0')[0].split()[-1]
    c.send('QUIT')
    c.close()
    return qid


def report_for(sink, qid, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for m in list(sink.messages):
            if email.message_from_bytes(m['data'])['X-Mailtest-Id'] == qid:
                return m['data']
        time.sleep(0.05)
    raise AssertionError('no report for %s at the sink' % qid)


def dkim_ok(data):
    record = dkimsign.key('rsa2048').txt.encode()
    return dkim.DKIM(data).verify(dnsfunc=lambda name, timeout=5: record)


def test_only_the_signer_process_opens_the_key(smtpd_factory, dns, sink, tmp_path):
    """strace -f over the whole run: the key file is opened by the signer
    process only, never by the listener; the report is still signed
    (python3-dkim verifies it)."""
    if shutil.which('strace') is None:
        pytest.skip('strace is not installed')
    dns.set_zone(zone())
    key = str(tmp_path / 'report-key.pem')
    shutil.copy(KEY, key)
    os.chmod(key, 0o600)
    trace = str(tmp_path / 'trace')
    d = smtpd_factory(start=False, delivery_port=sink.port, dkim_sign_key=key,
                      dkim_sign_selector='mt', dkim_sign_domain='mailtest.example',
                      report_from='mailtest@mailtest.example')
    d.wrapper = ['strace', '-f', '-qq', '-e', 'trace=open,openat,openat2', '-o', trace]
    env = None
    if under_sanitizer():       # LeakSanitizer cannot run under ptrace
        env = dict(os.environ, ASAN_OPTIONS=(os.environ.get('ASAN_OPTIONS', '') +
                                             ':detect_leaks=0').lstrip(':'))
    d.start(env=env)
    main, signer = pids(d)
    st = status(signer)
    print('[signer] listener pid %d, signer pid %d (PPid %s)' % (main, signer, st['PPid'][0]))
    assert signer != main and int(st['PPid'][0]) == main
    qid = send(d, 'signed by the signer')
    data = report_for(sink, qid)
    assert b'DKIM-Signature:' in data.split(b'\r\n\r\n')[0] and dkim_ok(data)
    os.kill(main, signal.SIGTERM)       # strace passes the exit status on
    assert d.stop(timeout=60) == 0
    openers = {}
    with open(trace) as f:
        for line in f:
            m = re.match(r'(\d+)\s+open(?:at2?)?\(.*"([^"]*)"', line)
            if m and os.path.basename(m.group(2)) == 'report-key.pem':
                openers.setdefault(int(m.group(1)), []).append(line.strip()[:160])
    print('[signer] openers of the key: %r' % openers)
    assert set(openers) == {signer}, openers


def test_signer_killed_reports_go_out_unsigned_and_the_daemon_serves(smtpd_factory, dns,
                                                                    sink):
    dns.set_zone(zone())
    d = smtpd_factory(delivery_port=sink.port, dkim_sign_key=KEY, dkim_sign_selector='mt',
                      dkim_sign_domain='mailtest.example',
                      report_from='mailtest@mailtest.example')
    main, signer = pids(d)
    qid = send(d, 'before')
    assert dkim_ok(report_for(sink, qid))
    os.kill(signer, signal.SIGKILL)
    qid = send(d, 'after')
    data = report_for(sink, qid)
    assert b'DKIM-Signature:' not in data.split(b'\r\n\r\n')[0]
    log = d.wait_log(r'signer-died pid=%d signal=9' % signer)
    assert re.search(r'%s reply dkim-sign failed, sending unsigned: signer process gone'
                     % qid, log), log[-2000:]
    assert d.proc.poll() is None
    d.stop()


def test_signer_dies_with_the_daemon(smtpd_factory, dns):
    """PR_SET_PDEATHSIG: mailtestd killed outright takes its signer along."""
    dns.set_zone({})
    d = smtpd_factory(dkim_sign_key=KEY, dkim_sign_selector='mt',
                      dkim_sign_domain='mailtest.example')
    main, signer = pids(d)
    d.kill9()
    deadline = time.monotonic() + 10
    state = None
    while time.monotonic() < deadline:
        try:
            state = status(signer)['State'][0]
        except FileNotFoundError:
            state = 'gone'
        if state in ('gone', 'Z', 'X'):
            break
        time.sleep(0.02)
    assert state in ('gone', 'Z', 'X'), state


def test_signer_drops_privileges_and_is_not_dumpable(smtpd_factory, dns):
    """Started as root with `user nobody`: the generated key stays root's
    (0600) after the spool is given to nobody (the listener cannot even open
    it), the listener and the signer both run as nobody, and the signer is
    not dumpable (its /proc files belong to root)."""
    if os.geteuid() != 0:
        pytest.skip('needs root')
    dns.set_zone({})
    top = tempfile.mkdtemp(prefix='mt-signer-', dir='/tmp')
    os.chmod(top, 0o755)
    try:
        d = smtpd_factory(start=False, user='nobody', dkim_sign_selector='mt',
                          dkim_sign_domain='mailtest.example')
        d.spool = os.path.join(top, 'spool')
        d.conf['spool_dir'] = d.spool
        d.start()
        main, signer = pids(d)
        for pid in (main, signer):
            assert status(pid)['Uid'] == ['65534'] * 4, (pid, status(pid)['Uid'])
        assert os.stat('/proc/%d/mem' % signer).st_uid == 0       # not dumpable
        key = os.path.join(d.spool, 'dkim', 'mt-rsa.pem')
        st = os.stat(key)
        assert st.st_uid == 0 and stat.S_IMODE(st.st_mode) == 0o600, oct(st.st_mode)
        assert os.stat(os.path.dirname(key)).st_uid == 0
        assert os.stat(os.path.join(d.spool, 'incoming')).st_uid == 65534
        d.stop()
    finally:
        shutil.rmtree(top, ignore_errors=True)


def test_signer_not_dumpable_under_the_service_user(dns, tmp_path):
    """As systemd runs it (started as the unprivileged user, no drop of its
    own): the listener stays dumpable, its /proc files belong to the user,
    while the signer's belong to root - the listener may not ptrace the
    signer or read its memory (PR_SET_DUMPABLE 0)."""
    if os.geteuid() != 0:
        pytest.skip('needs root to become nobody')
    from .harness import Daemon, bindir
    dns.set_zone({})
    top = tempfile.mkdtemp(prefix='mt-signer-', dir='/tmp')
    os.chmod(top, 0o755)
    os.chown(top, 65534, 65534)
    key = os.path.join(top, 'key.pem')
    shutil.copy(KEY, key)
    os.chown(key, 65534, 65534)
    os.chmod(key, 0o600)

    def become_nobody():
        os.setgroups([])
        os.setgid(65534)
        os.setuid(65534)
    d = Daemon(os.path.join(bindir(), 'mailtestd'), os.path.join(top, 'd'), dns,
               dkim_sign_key=key, dkim_sign_selector='mt',
               dkim_sign_domain='mailtest.example')
    os.chown(d.dir, 65534, 65534)
    try:
        d.start(wait=False, preexec_fn=become_nobody)
        main, signer = pids(d)
        for pid in (main, signer):
            assert status(pid)['Uid'] == ['65534'] * 4
        assert os.stat('/proc/%d/mem' % main).st_uid == 65534      # dumpable
        assert os.stat('/proc/%d/mem' % signer).st_uid == 0        # not dumpable
    finally:
        if d.proc is not None and d.proc.poll() is None:
            d.stop()
        shutil.rmtree(top, ignore_errors=True)
