"""mailtestd: the spool - what is on disk before the 250, clients that vanish,
recovery at start-up, commit failures, retries of the hand-off."""
import os
import re
import shutil
import socket
import struct
import time

import pytest

from . import smtpscript
import reportstore
from .harness import CHECK, message


def send_one(port, rcpt=CHECK, body='body\r\n..dot-stuffed\r\n', subject='spool'):
    c = smtpscript.Client(port)
    c.expect(220)
    c.send('EHLO client.example')
    c.expect(250)
    c.send('MAIL FROM:<sender@example.org>')
    c.expect(250)
    c.send('RCPT TO:<%s>' % rcpt)
    c.expect(250)
    c.send('DATA')
    c.expect(354)
    c.sendraw(message(subject, body) + '.\r\n')
    msgid = c.expect(250, '2.0.0')[0].split()[-1]
    port_local = c.sock.getsockname()[1]
    c.send('QUIT')
    c.expect(221)
    c.close()
    return msgid, port_local


@pytest.fixture
def silent_dns():
    """A DNS server that never answers: verification waits, the message
    stays in incoming/ long enough to be looked at."""
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', 0))
    yield '127.0.0.1:%d' % s.getsockname()[1]
    s.close()


def test_spool_file_has_envelope_and_received_before_250(smtpd_factory, silent_dns, dns):
    d = smtpd_factory(dns_server=silent_dns, dns_timeout_ms=5000, workers=1)
    msgid, cport = send_one(d.port, rcpt='check+json@mailtest.example')
    path = os.path.join(d.spool, 'incoming', msgid)
    with open(path, 'rb') as f:
        data = f.read()
    head, _, msg = data.partition(b'\n\n')
    env = {}
    for ln in head.decode().splitlines()[1:]:
        k, _, v = ln.partition(': ')
        env.setdefault(k, []).append(v)
    assert head.startswith(b'MAILTEST-SPOOL 1\n')
    assert env['id'] == [msgid]
    assert env['client-ip'] == ['127.0.0.1']
    assert env['client-port'] == [str(cport)]
    assert env['helo'] == ['client.example']
    assert env['mail-from'] == ['sender@example.org']
    assert env['rcpt'] == ['check+json@mailtest.example']
    assert env['tag'] == ['json']
    assert re.match(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$', env['received'][0])
    assert 'tls-protocol' not in env
    # RFC 5321 4.4: our Received: first, with the protocol keyword and the id
    rx = (rb'Received: from client\.example \(\[127\.0\.0\.1\]\)\r\n'
          rb'\tby mx\.mailtest\.example \(mailtestd\) with ESMTP id ' + msgid.encode() +
          rb'\r\n\tfor <check\+json@mailtest\.example>; '
          rb'\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000\r\nFrom: ')
    assert re.match(rx, msg), msg[:300]
    assert b'\r\nbody\r\n.dot-stuffed\r\n' in msg         # unstuffed, CRLF kept
    assert msg.endswith(b'.dot-stuffed\r\n')
    # killed while the worker waits on DNS: picked up again at the next start
    d.kill9()
    d.conf['dns_server'] = dns.address
    d.conf['dns_timeout_ms'] = '300'
    d.start()
    assert 'recovered messages=1' in d.log(run=-1)
    d.wait_processed(msgid)
    assert d.incoming() == []
    assert msgid in d.reports()


def test_client_vanishing_mid_data_spools_nothing(smtpd):
    for how in ('close', 'reset'):
        c = smtpscript.Client(smtpd.port)
        c.expect(220)
        c.send('EHLO c.example')
        c.expect(250)
        c.send('MAIL FROM:<a@b.example>')
        c.expect(250)
        c.send('RCPT TO:<%s>' % CHECK)
        c.expect(250)
        c.send('DATA')
        c.expect(354)
        c.sendraw(message('vanish', 'x' * 5000 + '\r\n'))     # no final dot
        if how == 'reset':
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))
        c.close()
    log = smtpd.wait_log(r'disconnect .*reason=e(of|rror)-in-data', count=2)
    assert smtpd.queued_ids() == []
    assert smtpd.incoming() == []
    assert os.listdir(os.path.join(smtpd.spool, 'tmp')) == []
    assert smtpd.reports() == {}
    assert 'reason=eof-in-data' in log


def test_half_closed_client_gets_its_replies(smtpd):
    """The whole session in one write, then shutdown(SHUT_WR): the 250 comes
    once the message is durable, then the 221."""
    s = socket.create_connection(('127.0.0.1', smtpd.port))
    s.sendall(('EHLO c.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<%s>\r\nDATA\r\n'
               % CHECK).encode())
    buf = b''
    while b'354 ' not in buf:
        buf += s.recv(4096)
    s.sendall((message('half') + '.\r\nQUIT\r\n').encode())
    s.shutdown(socket.SHUT_WR)
    s.settimeout(20)
    while True:
        x = s.recv(4096)
        if not x:
            break
        buf += x
    s.close()
    assert re.search(rb'250 2\.0\.0 Ok: queued as \w{12}\r\n221 2\.0\.0 Bye\r\n$', buf), buf


def test_commit_failure_answers_451_and_keeps_nothing(smtpd):
    tmp = os.path.join(smtpd.spool, 'tmp')
    os.rmdir(tmp)
    with open(tmp, 'w') as f:            # open(tmp/ID) now fails: ENOTDIR
        f.write('not a directory')
    try:
        c = smtpscript.Client(smtpd.port)
        c.expect(220)
        c.send('EHLO c.example')
        c.expect(250)
        c.send('MAIL FROM:<a@b.example>')
        c.expect(250)
        c.send('RCPT TO:<%s>' % CHECK)
        c.expect(250)
        c.send('DATA')
        c.expect(354)
        c.sendraw(message('fail') + '.\r\n')
        c.expect(451, '4.3.0')
        c.send('NOOP')                    # the session goes on
        c.expect(250)
        c.close()
    finally:
        os.unlink(tmp)
        os.mkdir(tmp)
    assert 'commit-failed' in smtpd.log()
    assert smtpd.incoming() == []
    msgid, _ = send_one(smtpd.port)       # and works again once repaired
    smtpd.wait_processed(msgid)


def test_message_removed_only_after_reply_process_succeeded(smtpd):
    """reply_process() failing (here: the report store cannot take the
    outcome, its table renamed away) keeps the message in the spool and
    retries it with back-off."""
    first, _ = send_one(smtpd.port, subject='first')
    smtpd.wait_processed(first)
    assert first in smtpd.reports()
    reportstore.execute(smtpd.spool, 'ALTER TABLE mailtest_reports RENAME TO parked')
    try:
        msgid, _ = send_one(smtpd.port, subject='second')
        smtpd.wait_log(r'%s worker retry attempt=1' % msgid, run=None)
        assert smtpd.incoming() == [msgid]
        assert '%s worker processed' % msgid not in smtpd.log()
    finally:
        reportstore.execute(smtpd.spool, 'ALTER TABLE parked RENAME TO mailtest_reports')
    smtpd.wait_processed(msgid, timeout=30)
    assert smtpd.incoming() == []
    assert msgid in smtpd.reports()


def test_second_daemon_on_the_same_spool_refused(smtpd, smtpd_factory):
    d2 = smtpd_factory(start=False)
    d2.conf['spool_dir'] = smtpd.spool
    d2.start(wait=False)
    assert d2.proc.wait(timeout=30) == 1
    assert 'in use by another process' in d2.log()


def test_received_protocol_keywords(smtpd_factory, silent_dns):
    """RFC 3848 / RFC 6531 3.7.3: SMTP, ESMTP, ESMTPS, UTF8SMTP, UTF8SMTPS."""
    d = smtpd_factory(dns_server=silent_dns, dns_timeout_ms=5000, workers=1)
    cases = [('HELO', False, False, 'SMTP'), ('EHLO', False, False, 'ESMTP'),
             ('EHLO', True, False, 'ESMTPS'), ('EHLO', False, True, 'UTF8SMTP'),
             ('EHLO', True, True, 'UTF8SMTPS')]
    for verb, tls, utf8, keyword in cases:
        c = smtpscript.Client(d.port)
        c.expect(220)
        c.send(verb + ' client.example')
        c.expect(250)
        if tls:
            c.send('STARTTLS')
            c.expect(220)
            version, cipher = c.starttls()
            c.send('EHLO client.example')
            c.expect(250)
        c.send('MAIL FROM:<sender@example.org>' + (' SMTPUTF8' if utf8 else ''))
        c.expect(250)
        c.send('RCPT TO:<%s>' % CHECK)
        c.expect(250)
        c.send('DATA')
        c.expect(354)
        c.sendraw(message(keyword) + '.\r\n')
        msgid = c.expect(250)[0].split()[-1]
        c.close()
        with open(os.path.join(d.spool, 'incoming', msgid), 'rb') as f:
            msg = f.read().partition(b'\n\n')[2]
        received = msg.split(b'\r\nFrom: ')[0].decode()
        assert ' with %s id %s' % (keyword, msgid) in received, received
        if tls:
            assert '\t(using %s with cipher %s)\r\n' % (version, cipher) in received
        else:
            assert 'using' not in received
    d.kill9()
