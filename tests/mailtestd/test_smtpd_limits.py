"""mailtestd: every limit, at its default or configured small."""
import errno
import os
import re
import socket
import threading
import time
import urllib.request

import pytest

from . import smtpscript
from .harness import CHECK, free_port, message


def open_tx(c, rcpt=CHECK):
    c.expect(220)
    c.send('EHLO c.example')
    c.expect(250)
    c.send('MAIL FROM:<a@b.example>')
    c.expect(250)
    c.send('RCPT TO:<%s>' % rcpt)
    c.expect(250)


def test_command_line_limit_512_with_crlf(smtpd):
    """RFC 5321 4.5.3.1.4: 512 octets including the CRLF."""
    c = smtpscript.Client(smtpd.port)
    c.expect(220)
    c.send('NOOP ' + 'x' * 505)                 # 5 + 505 + 2 = 512
    c.expect(250, '2.0.0')
    c.send('NOOP ' + 'x' * 506)                 # 513
    c.expect(500, '5.5.2', 'line too long')
    # longer than the limit before any CRLF arrives: discarded up to it
    c.sendraw('NOOP ' + 'y' * 3000)
    c.sendraw('y' * 3000 + '\r\nNOOP\r\n')
    c.expect(500, '5.5.2', 'line too long')
    c.expect(250, '2.0.0')
    # the CRLF that ends it split between two reads, CR | LF: the next
    # command is not skipped with the long line (found by fuzz_session;
    # the pause only makes two reads likely, the test cannot fail by it)
    c.sendraw('NOOP ' + 'z' * 3000 + '\r')
    time.sleep(0.2)
    c.sendraw('\nNOOP\r\n')
    c.expect(500, '5.5.2', 'line too long')
    c.expect(250, '2.0.0')
    c.close()


def test_command_line_limit_configured(smtpd_factory):
    d = smtpd_factory(smtp_max_line=1024)
    c = smtpscript.Client(d.port)
    c.expect(220)
    c.send('NOOP ' + 'x' * 1017)
    c.expect(250)
    c.send('NOOP ' + 'x' * 1018)
    c.expect(500, '5.5.2')
    c.close()


def test_text_line_limit_1000_with_crlf(smtpd):
    """RFC 5321 4.5.3.1.6: 1000 octets including the CRLF."""
    c = smtpscript.Client(smtpd.port)
    open_tx(c)
    c.send('DATA')
    c.expect(354)
    c.sendraw('Subject: ok\r\n\r\n' + 'a' * 998 + '\r\n.\r\n')
    c.expect(250, '2.0.0')
    c.send('MAIL FROM:<a@b.example>')
    c.expect(250)
    c.send('RCPT TO:<%s>' % CHECK)
    c.expect(250)
    c.send('DATA')
    c.expect(354)
    c.sendraw('Subject: long\r\n\r\n' + 'a' * 999 + '\r\n.\r\n')
    c.expect(554, '5.6.0', 'longer than 1000')
    c.close()
    assert len(smtpd.queued_ids()) == 1


def test_message_size_limit(smtpd_factory):
    d = smtpd_factory(message_size_limit='2k')
    c = smtpscript.Client(d.port)
    c.expect(220)
    c.send('EHLO c.example')
    assert '250-SIZE 2048' in c.expect(250)
    c.send('MAIL FROM:<a@b.example> SIZE=2049')
    c.expect(552, '5.3.4')
    c.send('MAIL FROM:<a@b.example> SIZE=2048')
    c.expect(250)
    c.send('RCPT TO:<%s>' % CHECK)
    c.expect(250)
    c.send('DATA')
    c.expect(354)
    body = ('x' * 78 + '\r\n') * 40            # 3200 octets: over, SIZE lied
    c.sendraw(message('big', body) + '.\r\n')
    c.expect(552, '5.3.4')
    # the session goes on
    c.send('MAIL FROM:<a@b.example>')
    c.expect(250)
    c.send('RCPT TO:<%s>' % CHECK)
    c.expect(250)
    c.send('DATA')
    c.expect(354)
    c.sendraw(message('small', 'x\r\n') + '.\r\n')
    c.expect(250, '2.0.0')
    c.close()
    assert len(d.queued_ids()) == 1


def test_max_recipients(smtpd_factory):
    d = smtpd_factory(smtp_max_recipients=2)
    smtpscript.run(d.port, r'''
        expect 220
        send "EHLO c.example"
        expect 250
        send "MAIL FROM:<a@b.example>"
        expect 250
        send "RCPT TO:<check+a@mailtest.example>"
        expect 250
        send "RCPT TO:<check+b@mailtest.example>"
        expect 250
        send "RCPT TO:<check+c@mailtest.example>"
        expect 452 4.5.3
        send "DATA"
        expect 354
        sendraw "Subject: x\r\n\r\nx\r\n.\r\n"
        expect 250 2.0.0
    ''')


def test_max_commands(smtpd_factory):
    d = smtpd_factory(smtp_max_commands=10)
    c = smtpscript.Client(d.port)
    c.expect(220)
    c.sendraw('NOOP\r\n' * 12)
    for _ in range(10):
        c.expect(250)
    c.expect(421, '4.7.0', 'Too many commands')
    c.expect_closed()
    assert 'reason=too-many-commands' in d.wait_log('disconnect')


def test_max_bad_commands(smtpd_factory):
    d = smtpd_factory(smtp_max_bad_commands=3)
    c = smtpscript.Client(d.port)
    c.expect(220)
    c.send('FOO')
    c.expect(500)
    c.send('MAIL FROM:<a@b.example>')      # before EHLO
    c.expect(503)
    c.send('BAR')
    c.expect(500)
    c.expect(421, '4.7.0', 'Too many errors')
    c.expect_closed()


def test_max_transactions(smtpd_factory):
    d = smtpd_factory(smtp_max_transactions=2)
    smtpscript.run(d.port, r'''
        expect 220
        send "EHLO c.example"
        expect 250
        send "MAIL FROM:<a@b.example>"
        expect 250
        send "RSET"
        expect 250
        send "MAIL FROM:<a@b.example>"
        expect 250
        send "RSET"
        expect 250
        send "MAIL FROM:<a@b.example>"
        expect 421 4.7.0 "Too many transactions"
        expect-closed
    ''')


def test_idle_timeout(smtpd_factory):
    d = smtpd_factory(smtp_idle_timeout='1s')
    c = smtpscript.Client(d.port)
    c.expect(220)
    c.expect(421, '4.4.2', 'timeout')
    c.expect_closed()
    assert 'reason=idle-timeout' in d.wait_log('disconnect')


def test_partial_command_line_deadline(smtpd_factory):
    """Slowloris: a command line trickled one octet at a time, each well
    within the idle timeout, is closed once the line has been incomplete
    for smtp_idle_timeout (the idle timeout alone restarts on every octet)."""
    d = smtpd_factory(smtp_idle_timeout='1s')
    c = smtpscript.Client(d.port)
    c.expect(220)
    c.sock.settimeout(0.25)
    got = None
    for ch in 'EHLO slowly.example' * 3:        # 57 octets, never a CRLF
        try:
            c.sendraw(ch)
            got = c.reply()
            break
        except socket.timeout:
            continue
    c.sock.settimeout(10)
    assert got and got[1][0].startswith('421 4.4.2') and 'not complete' in got[1][0], got
    c.expect_closed()
    assert 'reason=command-timeout' in d.wait_log('disconnect')
    # whole lines, however slowly they come within the idle timeout, are served
    c = smtpscript.Client(d.port)
    c.expect(220)
    for _ in range(3):
        c.sendraw('NO')
        time.sleep(0.4)
        c.sendraw('OP\r\n')
        c.expect(250)
        time.sleep(0.4)
    c.close()


def test_data_timeout(smtpd_factory):
    d = smtpd_factory(smtp_data_timeout='2s', smtp_min_data_rate=0)
    c = smtpscript.Client(d.port)
    open_tx(c)
    c.send('DATA')
    c.expect(354)
    c.sock.settimeout(0.3)
    got = None
    for _ in range(100):            # a slow trickle: never idle, never done
        try:
            c.sendraw('x')
        except OSError:
            break
        try:
            got = c.reply()
            break
        except socket.timeout:
            continue
    c.sock.settimeout(10)
    assert got and got[0] == 421 and got[1][0].startswith('421 4.4.2'), got
    c.expect_closed()
    assert 'reason=data-timeout' in d.wait_log('disconnect')
    assert d.queued_ids() == []


def test_min_data_rate(smtpd_factory):
    d = smtpd_factory(smtp_min_data_rate='1k', smtp_data_rate_grace='1s')
    c = smtpscript.Client(d.port)
    open_tx(c)
    c.send('DATA')
    c.expect(354)
    c.sock.settimeout(0.1)
    got = None
    for _ in range(200):            # about 100 octets/s
        try:
            c.sendraw('0123456789')
        except OSError:
            break
        try:
            got = c.reply()
            break
        except socket.timeout:
            continue
    c.sock.settimeout(10)
    assert got and got[1][0].startswith('421 4.4.2') and 'rate' in got[1][0], got
    assert 'reason=data-too-slow' in d.wait_log('disconnect')


def test_slow_client_octet_by_octet_is_served(smtpd):
    """A slow client that keeps to the limits is served: every octet of the
    session in its own write."""
    c = smtpscript.Client(smtpd.port)
    c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    c.expect(220)
    for cmd in ('EHLO c.example', 'MAIL FROM:<a@b.example>', 'RCPT TO:<%s>' % CHECK, 'DATA'):
        for ch in cmd + '\r\n':
            c.sendraw(ch)
        c.expect(354 if cmd == 'DATA' else 250)
    for ch in message('slow', '..dot\r\n') + '.\r\n':
        c.sendraw(ch)
    msgid = c.expect(250, '2.0.0')[0].split()[-1]
    c.close()
    smtpd.wait_processed(msgid)


def test_max_connections(smtpd_factory):
    d = smtpd_factory(smtp_max_connections=2)
    a = smtpscript.Client(d.port)
    a.expect(220)
    b = smtpscript.Client(d.port)
    b.expect(220)
    c = smtpscript.Client(d.port)
    c.expect(421, '4.7.0', 'Too many connections')
    c.expect_closed()
    a.send('QUIT')
    a.expect(221)
    a.expect_closed()
    d.wait_log('reason=quit')
    e = smtpscript.Client(d.port)
    e.expect(220)
    for x in (b, e):
        x.close()
    assert 'reason=max-connections' in d.log()


def test_max_connections_per_ip(smtpd_factory):
    d = smtpd_factory(start=False, smtp_max_connections_per_ip=2)
    d.conf['listen'] = '127.0.0.1:%d, [::1]:%d' % (d.port, d.port)
    d.start()
    held = [smtpscript.Client(d.port) for _ in range(2)]
    for h in held:
        h.expect(220)
    c = smtpscript.Client(d.port)
    c.expect(421, '4.7.0', 'from your address')
    c.expect_closed()
    v6 = smtpscript.Client(d.port, host='::1')    # another address: served
    v6.expect(220)
    for x in held + [v6]:
        x.close()
    assert 'reason=max-connections-per-ip' in d.log()


def test_received_limit(smtpd_factory):
    d = smtpd_factory(smtp_received_limit=3)
    hops = ['Received: from h%d.example by h%d.example; Thu, 1 Jan 2026 00:00:0%d +0000'
            % (i, i + 1, i) for i in range(4)]
    c = smtpscript.Client(d.port)
    open_tx(c)
    c.send('DATA')
    c.expect(354)
    c.sendraw('\r\n'.join(hops[:3]) + '\r\n' + message('three hops') + '.\r\n')
    c.expect(250, '2.0.0')
    c.send('MAIL FROM:<a@b.example>')
    c.expect(250)
    c.send('RCPT TO:<%s>' % CHECK)
    c.expect(250)
    c.send('DATA')
    c.expect(354)
    c.sendraw('\r\n'.join(hops) + '\r\n' + message('four hops') + '.\r\n')
    c.expect(554, '5.4.6', 'Received')
    c.close()


def data_memory_when(port, cond, timeout=30):
    """Poll mailtest_smtp_data_memory_bytes on the metrics endpoint until
    cond(value) holds; return the value."""
    deadline = time.monotonic() + timeout
    v = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % port,
                                        timeout=5) as r:
                text = r.read().decode()
        except OSError:
            text = ''
        m = re.search(r'^mailtest_smtp_data_memory_bytes (\S+)$', text, re.M)
        if m:
            v = float(m.group(1))
            if cond(v):
                return v
        time.sleep(0.05)
    raise AssertionError('mailtest_smtp_data_memory_bytes = %r' % v)


def test_data_memory_given_back_is_room_again(smtpd_factory):
    """A session's share of smtp_data_memory is recomputed as it reads: what
    another session gives back (its message committed) is room again, so a
    message that did not fit beside another fits once that one is gone."""
    port = free_port()
    d = smtpd_factory(smtp_data_memory='1M', message_size_limit='4M',
                      metrics_listen='127.0.0.1:%d' % port)
    chunk = ('z' * 998 + '\r\n') * 350         # 350 000 octets
    a = smtpscript.Client(d.port)
    open_tx(a)
    a.send('DATA')
    a.expect(354)
    a.sendraw('Subject: a\r\n\r\n' + chunk + chunk)     # 700 000 held
    data_memory_when(port, lambda v: v >= 2 * len(chunk))
    b = smtpscript.Client(d.port)
    open_tx(b)
    b.send('DATA')
    b.expect(354)
    b.sendraw('Subject: b\r\n\r\n' + chunk[:200000])      # fits beside a
    data_memory_when(port, lambda v: v >= 2 * len(chunk) + 200000)
    a.sendraw('.\r\n')
    a.expect(250, '2.0.0')
    data_memory_when(port, lambda v: v < 2 * len(chunk))    # a committed
    b.sendraw(chunk[200000:] + chunk + '.\r\n')           # 700 000 in all
    b.expect(250, '2.0.0')
    a.close()
    b.close()


def test_data_memory_shared_by_all_sessions(smtpd_factory):
    """smtp_data_memory bounds the DATA buffers of every session together."""
    port = free_port()
    d = smtpd_factory(smtp_data_memory='1M', message_size_limit='4M',
                      metrics_listen='127.0.0.1:%d' % port)
    chunk = ('y' * 998 + '\r\n') * 600         # 600 000 octets
    a = smtpscript.Client(d.port)
    open_tx(a)
    a.send('DATA')
    a.expect(354)
    a.sendraw('Subject: a\r\n\r\n' + chunk)   # held in memory: no final dot yet
    # the daemon has read all of a before b starts (else which of the two
    # overflows first is a race); the gauge shows what it holds
    held = data_memory_when(port, lambda v: v >= len(chunk))
    assert held < 1000000
    b = smtpscript.Client(d.port)
    open_tx(b)
    b.send('DATA')
    b.expect(354)
    b.sendraw('Subject: b\r\n\r\n' + chunk + '.\r\n')
    b.expect(452, '4.3.1')                      # a + b > 1M
    a.sendraw('.\r\n')
    a.expect(250, '2.0.0')                      # a alone fits
    assert data_memory_when(port, lambda v: v == 0) == 0   # all given back
    # a declared SIZE that cannot fit is refused before the 354
    b.send('MAIL FROM:<a@b.example> SIZE=1100000')
    b.expect(250)
    b.send('RCPT TO:<%s>' % CHECK)
    b.expect(250)
    b.send('DATA')
    b.expect(452, '4.3.1')
    a.close()
    b.close()
    assert len(d.queued_ids()) == 1


def tcp_rx_queue(local_port, remote_port):
    """Octets the server has not read yet on its side of the connection."""
    with open('/proc/net/tcp') as f:
        for line in f.readlines()[1:]:
            p = line.split()
            lp = int(p[1].split(':')[1], 16)
            rp = int(p[2].split(':')[1], 16)
            if lp == local_port and rp == remote_port:
                return int(p[4].split(':')[1], 16)
    return None


def test_client_that_does_not_read_stops_being_read(smtpd_factory):
    d = smtpd_factory(smtp_max_commands=1000000, log_level='debug')
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32768)
    s.connect(('127.0.0.1', d.port))
    s.setblocking(False)
    chunk = b'HELP\r\n' * 1000
    sent = 0
    pending = b''
    stalled = False
    while sent < 400 * len(chunk):       # up to 400 000 commands
        if not pending:
            pending = chunk
        try:
            n = s.send(pending)
        except BlockingIOError:
            # our send buffer is full: does the server go on reading?
            n = 0
            for _ in range(50):
                time.sleep(0.02)
                try:
                    n = s.send(pending)
                    break
                except BlockingIOError:
                    continue
            if n == 0:
                stalled = True
                break
        sent += n
        pending = pending[n:]
    assert stalled, 'the server kept reading %d octets of commands it could not answer' % sent
    d.wait_log('paused output=')
    rxq = tcp_rx_queue(d.port, s.getsockname()[1])
    assert rxq and rxq > 0, 'server-side receive queue %r: it should have stopped reading' % rxq
    # the daemon's memory stays bounded while it waits
    with open('/proc/%d/status' % d.proc.pid) as f:
        rss_kb = int([ln for ln in f if ln.startswith('VmRSS')][0].split()[1])
    assert rss_kb < (400 * 1024 if os.environ.get('MAILTEST_SAN') == '1' else 64 * 1024)
    # once the client reads, every command is answered, in order, and QUIT last
    s.setblocking(True)
    s.settimeout(30)
    chunks = []

    def reader():
        while True:
            x = s.recv(1 << 20)
            if not x:
                break
            chunks.append(x)

    t = threading.Thread(target=reader)
    t.start()
    if sent % 6:                          # finish the command cut in two
        s.sendall(b'HELP\r\n'[sent % 6:])
        sent += 6 - sent % 6
    s.sendall(b'QUIT\r\n')
    t.join(60)
    s.close()
    data = b''.join(chunks)
    commands = sent // 6
    assert data.count(b'214 2.0.0 Send') == commands
    assert data.endswith(b'221 2.0.0 Bye\r\n')


def test_quit_reply_flushed_before_close(smtpd):
    """Close only after the 221 is flushed: many replies queued, then QUIT."""
    s = socket.create_connection(('127.0.0.1', smtpd.port))
    s.sendall(b'HELP\r\n' * 900 + b'QUIT\r\n')
    data = b''
    s.settimeout(20)
    while True:
        x = s.recv(1 << 20)
        if not x:
            break
        data += x
    s.close()
    assert data.count(b'214 2.0.0 Send') == 900
    assert data.endswith(b'221 2.0.0 Bye\r\n')


def test_half_closed_client_behind_a_pause_gets_every_reply(smtpd_factory):
    """Commands that wait behind a full output buffer are still answered
    after the client's EOF (shutdown of its sending side)."""
    smtpd = smtpd_factory(smtp_max_commands=5000)
    s = socket.create_connection(('127.0.0.1', smtpd.port))
    s.sendall(b'HELP\r\n' * 3000)
    s.shutdown(socket.SHUT_WR)
    data = b''
    s.settimeout(20)
    while True:
        x = s.recv(1 << 20)
        if not x:
            break
        data += x
    s.close()
    assert data.count(b'214 2.0.0 Send') == 3000
    assert 'reason=eof' in smtpd.wait_log('disconnect')


def test_last_reply_survives_unread_pipelined_input(smtpd_factory):
    """Lingering close: the daemon ends a session (421 at smtp_max_commands)
    with most of a pipelined burst still unread in its socket.  It shuts its
    side down and reads the rest away before close(), so the client gets the
    421 and an orderly end, not a reset that destroys the unread replies."""
    d = smtpd_factory(smtp_max_commands=10)
    for attempt in range(3):
        s = socket.create_connection(('127.0.0.1', d.port), timeout=10)
        data = b''
        while b'\r\n' not in data:
            data += s.recv(4096)
        assert data.startswith(b'220 ')
        s.sendall(b'NOOP\r\n' * 12000)        # 72 000 octets, nothing read yet
        data = b''
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
        except ConnectionResetError:
            pytest.fail('reset: the client saw %r' % data[-200:])
        finally:
            s.close()
        assert data.count(b'250 2.0.0') == 10, data[:400]
        assert b'421 4.7.0' in data and b'Too many commands' in data
    d.wait_log(r'reason=too-many-commands')
