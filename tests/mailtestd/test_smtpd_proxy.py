"""PROXY protocol listeners (proxy_listen, proxy_trusted): swaks --proxy-version
1 and 2 as the peer (and HAProxy itself when it is installed), the client
address from the header used for SPF, iprev, the report and Received:;
refusal of untrusted peers, malformed and late headers."""
import email
import ipaddress
import os
import re
import shutil
import socket
import subprocess
import sys
import time

import pytest

from . import smtpscript
from .harness import CHECK, free_port

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from smtpsink import Sink  # noqa: E402

CLIENT4 = '192.0.2.55'
CLIENT6 = '2001:db8::55'


def rev(ip):
    return ipaddress.ip_address(ip).reverse_pointer


# SPF passes and iprev passes only for the addresses in the PROXY headers:
# the TCP peer (127.0.0.1) would get SPF fail and iprev permerror.
ZONE = {
    'example.org': [{'SPF': 'v=spf1 ip4:%s ip6:%s -all' % (CLIENT4, CLIENT6)}],
    rev(CLIENT4): [{'PTR': 'mail.example.org'}],
    rev(CLIENT6): [{'PTR': 'mail.example.org'}],
    'mail.example.org': [{'A': CLIENT4}, {'AAAA': CLIENT6}],
}


def proxy_daemon(smtpd_factory, dns, trusted='127.0.0.1', **conf):
    dns.set_zone(ZONE)
    port = free_port()
    d = smtpd_factory(start=False, proxy_trusted=trusted, **conf)
    d.proxy_port = port
    d.conf['proxy_listen'] = '127.0.0.1:%d' % port
    d.start()
    return d


def swaks(port, *proxy, expect_rc=0, extra=()):
    cmd = ['swaks', '--server', '127.0.0.1', '--port', str(port), '--to', CHECK,
           '--from', 'user@example.org', '--helo', 'mail.example.org',
           '--timeout', '15'] + list(proxy) + list(extra)
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    if expect_rc is not None:
        assert p.returncode == expect_rc, p.stdout + p.stderr
    return p.stdout


def queued_id(out):
    for line in out.splitlines():
        if 'queued as' in line:
            return line.split('queued as')[1].strip()
    raise AssertionError('no "queued as" in:\n' + out)


def wait_closed(sock, timeout=10):
    """What the server sent before closing (b'' when nothing)."""
    sock.settimeout(timeout)
    data = b''
    while True:
        try:
            chunk = sock.recv(4096)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


@pytest.mark.valgrind
def test_v1_client_address_used_for_spf_iprev_and_report(smtpd_factory, dns):
    d = proxy_daemon(smtpd_factory, dns)
    out = swaks(d.proxy_port, '--proxy-version', '1', '--proxy-family', 'TCP4',
                '--proxy-source', CLIENT4, '--proxy-source-port', '40001',
                '--proxy-dest', '198.51.100.25', '--proxy-dest-port', '25')
    msgid = queued_id(out)
    d.wait_processed(msgid)
    r = d.report(msgid)
    assert r['envelope']['client_ip'] == CLIENT4
    assert r['envelope']['client_port'] == '40001'
    assert r['spf']['result'] == 'pass'
    assert r['iprev']['result'] == 'pass'
    assert 'proxy client=%s port=40001 proxy=127.0.0.1 version=1' % CLIENT4 in d.log()
    assert 'connect client=%s port=40001' % CLIENT4 in d.log()


def test_spooled_envelope_has_the_client_and_the_proxy(smtpd_factory, dns):
    """The envelope written before the 250: client-ip from the header,
    proxy-peer the proxy.  (The sender's domain never answers DNS, so the
    file stays in incoming/ long enough to be read.)"""
    dns.set_zone(dict(ZONE, **{'slow.example': ['TIMEOUT']}))
    port = free_port()
    d = smtpd_factory(start=False, proxy_trusted='127.0.0.1', dns_timeout_ms=2000)
    d.conf['proxy_listen'] = '127.0.0.1:%d' % port
    d.conf['dns_server'] = dns.address
    d.start()
    out = swaks(port, '--proxy-version', '1', '--proxy-family', 'TCP4',
                '--proxy-source', CLIENT4, '--proxy-source-port', '40010',
                '--proxy-dest', '198.51.100.25', '--proxy-dest-port', '25',
                extra=['--from', 'user@slow.example'])
    msgid = queued_id(out)
    with open(os.path.join(d.spool, 'incoming', msgid), 'rb') as f:
        head = f.read().split(b'\n\n', 1)[0].decode()
    assert 'client-ip: %s\n' % CLIENT4 in head
    assert 'client-port: 40010\n' in head
    assert 'proxy-peer: 127.0.0.1' in head
    assert 'mail-from: user@slow.example' in head
    d.wait_processed(msgid, timeout=60)


def test_v2_tcp6_client_address(smtpd_factory, dns):
    d = proxy_daemon(smtpd_factory, dns)
    out = swaks(d.proxy_port, '--proxy-version', '2', '--proxy-family', 'AF_INET6',
                '--proxy-source', CLIENT6, '--proxy-source-port', '40002',
                '--proxy-dest', '2001:db8::25', '--proxy-dest-port', '25')
    msgid = queued_id(out)
    d.wait_processed(msgid)
    r = d.report(msgid)
    assert r['envelope']['client_ip'] == CLIENT6
    assert r['spf']['result'] == 'pass'
    assert r['iprev']['result'] == 'pass'
    assert 'proxy=127.0.0.1 version=2' in d.log()


def test_v2_tcp4_and_the_plain_listener_beside_it(smtpd_factory, dns):
    d = proxy_daemon(smtpd_factory, dns)
    out = swaks(d.proxy_port, '--proxy-version', '2', '--proxy-family', 'AF_INET',
                '--proxy-source', CLIENT4, '--proxy-source-port', '40003',
                '--proxy-dest', '198.51.100.25', '--proxy-dest-port', '25')
    msgid = queued_id(out)
    # the ordinary listener is unchanged: the TCP peer is the client
    out2 = swaks(d.port)
    msgid2 = queued_id(out2)
    d.wait_processed(msgid)
    d.wait_processed(msgid2)
    assert d.report(msgid)['envelope']['client_ip'] == CLIENT4
    assert d.report(msgid)['spf']['result'] == 'pass'
    assert d.report(msgid2)['envelope']['client_ip'] == '127.0.0.1'
    assert d.report(msgid2)['spf']['result'] == 'fail'


def test_v2_local_uses_the_connection_address(smtpd_factory, dns):
    """LOCAL (proxy-protocol.txt 2.2: command 0x0, e.g. a health check): the
    connection's own endpoints are used and the addresses sent are ignored."""
    d = proxy_daemon(smtpd_factory, dns)
    c = smtpscript.Client(d.proxy_port)
    c.sock.sendall(b'\r\n\r\n\x00\r\nQUIT\n\x20\x11\x00\x0c' +
                   socket.inet_aton(CLIENT4) + socket.inet_aton('198.51.100.25') +
                   b'\x9c\x41\x00\x19')
    c.expect(220)
    c.send('EHLO mail.example.org')
    code, lines = c.reply()
    assert code == 250 and '[127.0.0.1]' in lines[0], lines
    c.send('QUIT')
    c.expect(221)
    c.close()


def test_swaks_local_command_is_not_the_spec_value(smtpd_factory, dns):
    """swaks 20201014 sends LOCAL as command 0x2 (its source: "0x2 = LOCAL"),
    where proxy-protocol.txt 2.2 says 0x0; the spec has the receiver drop
    unexpected values, so this is refused, not taken as LOCAL."""
    d = proxy_daemon(smtpd_factory, dns)
    swaks(d.proxy_port, '--proxy-version', '2', '--proxy-command', 'LOCAL',
          '--proxy-family', 'AF_UNSPEC', '--proxy-source', CLIENT4,
          '--proxy-source-port', '1', '--proxy-dest', '198.51.100.25',
          '--proxy-dest-port', '25', expect_rc=None)
    d.wait_log(r'reason=proxy-malformed error="v2: command is not LOCAL or PROXY"')
    assert d.reports() == {}


def test_received_field_names_the_client_from_the_header(smtpd_factory, dns):
    sink = Sink().start()
    try:
        d = proxy_daemon(smtpd_factory, dns, relay='127.0.0.1:%d' % sink.port,
                         relay_tls='none', report_from='mailtest@mx.mailtest.example')
        out = swaks(d.proxy_port, '--proxy-version', '1', '--proxy-family', 'TCP4',
                    '--proxy-source', CLIENT4, '--proxy-source-port', '40004',
                    '--proxy-dest', '198.51.100.25', '--proxy-dest-port', '25')
        msgid = queued_id(out)
        sink.wait(1, timeout=30)
        report = email.message_from_bytes(sink.messages[0]['data'])
        headers = [p for p in report.walk() if p.get_content_type() == 'text/rfc822-headers']
        assert headers, report.as_string()[:2000]
        text = headers[0].get_payload(decode=True).decode()
        assert 'Received: from mail.example.org ([%s])' % CLIENT4 in text
        assert ('id %s' % msgid) in text
    finally:
        sink.stop()


def test_untrusted_peer_is_closed_without_a_word(smtpd_factory, dns):
    d = proxy_daemon(smtpd_factory, dns, trusted='192.0.2.1, 2001:db8::/32')
    s = socket.create_connection(('127.0.0.1', d.proxy_port), timeout=10)
    s.sendall(b'PROXY TCP4 %s 198.51.100.25 40005 25\r\n' % CLIENT4.encode())
    assert wait_closed(s) == b''
    s.close()
    d.wait_log(r'refused client=127\.0\.0\.1 reason=proxy-untrusted')
    # swaks sees the connection closed before any banner
    out = swaks(d.proxy_port, '--proxy-version', '2', '--proxy-family', 'AF_INET',
                '--proxy-source', CLIENT4, '--proxy-source-port', '1',
                '--proxy-dest', '198.51.100.25', '--proxy-dest-port', '25', expect_rc=6)
    assert '220' not in out
    assert d.reports() == {}


@pytest.mark.parametrize('header,why', [
    (b'PROXY TCP4 192.0.2.700 198.51.100.25 1 25\r\n', 'v1: bad address or port'),
    (b'PROXY TCP4 192.0.2.7 198.51.100.25 1 25\n', 'v1: control or non-ASCII octet'),
    (b'PROXY UDP4 192.0.2.7 198.51.100.25 1 25\r\n', 'v1: protocol is not TCP4'),
    (b'PROXY TCP4 ' + b'1' * 120 + b'\r\n', 'v1: line longer than 107 octets'),
    (b'EHLO client.example\r\n', 'not a PROXY protocol header'),
    (b'\r\n\r\n\x00\r\nQUIT\n\x21\x12\x00\x0c' + b'\x00' * 12, 'v2: only TCP (STREAM)'),
    (b'\r\n\r\n\x00\r\nQUIT\n\x21\x31\x00\x00', 'v2: only TCP over IPv4 or IPv6'),
    (b'\r\n\r\n\x00\r\nQUIT\n\x21\x11\x08\x00', 'v2: header longer than 1024 octets'),
])
def test_malformed_header_is_refused(smtpd_factory, dns, header, why):
    d = proxy_daemon(smtpd_factory, dns)
    s = socket.create_connection(('127.0.0.1', d.proxy_port), timeout=10)
    s.sendall(header)
    assert wait_closed(s) == b''
    s.close()
    d.wait_log(r'refused client=127\.0\.0\.1 reason=proxy-malformed error="%s' % re.escape(why))


def test_swaks_malformed_proxy_string(smtpd_factory, dns):
    d = proxy_daemon(smtpd_factory, dns)
    swaks(d.proxy_port, '--proxy', 'TCP4 not-an-address 198.51.100.25 1 25', expect_rc=6)
    d.wait_log(r'reason=proxy-malformed error="v1: bad address or port"')
    assert d.reports() == {}


def test_header_must_arrive_in_time(smtpd_factory, dns):
    d = proxy_daemon(smtpd_factory, dns, smtp_idle_timeout='1s')
    s = socket.create_connection(('127.0.0.1', d.proxy_port), timeout=10)
    s.sendall(b'PROXY TCP4 192.0.2.7 ')         # and then nothing
    t0 = time.monotonic()
    assert wait_closed(s) == b''
    assert time.monotonic() - t0 < 8
    s.close()
    d.wait_log(r'refused client=127\.0\.0\.1 reason=proxy-timeout')


def test_header_split_in_pieces_and_commands_right_behind_it(smtpd_factory, dns):
    d = proxy_daemon(smtpd_factory, dns)
    c = smtpscript.Client(d.proxy_port)
    header = b'PROXY TCP4 %s 198.51.100.25 40006 25\r\n' % CLIENT4.encode()
    for piece in (header[:3], header[3:20], header[20:-1]):
        c.sock.sendall(piece)
        time.sleep(0.05)
    # the header's last octet and the client's first command in one segment:
    # the command must reach the session, not be eaten with the header
    c.sock.sendall(header[-1:] + b'EHLO mail.example.org\r\n')
    c.expect(220)
    code, lines = c.reply()
    assert code == 250 and '[%s]' % CLIENT4 in lines[0], lines
    c.send('QUIT')
    c.expect(221)
    c.close()


def test_limits_per_address_apply_to_the_real_client(smtpd_factory, dns):
    d = proxy_daemon(smtpd_factory, dns, smtp_max_connections_per_ip=1)

    def connect(src):
        c = smtpscript.Client(d.proxy_port)
        c.sock.sendall(b'PROXY TCP4 %s 198.51.100.25 1 25\r\n' % src.encode())
        return c

    a = connect('192.0.2.10')
    a.expect(220)
    b = connect('192.0.2.11')        # another client behind the same proxy
    b.expect(220)
    c = connect('192.0.2.10')        # the first client again: over its limit
    c.expect(421, '4.7.0')
    for x in (a, b, c):
        x.close()
    d.wait_log(r'refused client=192\.0\.2\.10 reason=max-connections-per-ip')


@pytest.mark.parametrize('conf,err', [
    ({'proxy_listen': '127.0.0.1:0'}, 'proxy_listen needs proxy_trusted'),
    ({'proxy_listen': '127.0.0.1:0', 'proxy_trusted': '192.0.2.1/24'},
     'proxy_trusted: "192.0.2.1/24" is not an address or CIDR'),
    ({'proxy_listen': 'nowhere', 'proxy_trusted': '127.0.0.1'},
     'proxy_listen: "nowhere" is not ADDR:PORT'),
])
def test_proxy_configuration_errors(smtpd_factory, conf, err):
    d = smtpd_factory(start=False, **conf)
    d.start(wait=False)
    assert d.proc.wait(timeout=30) == 1
    d.logf.close()
    assert err in d.log()


@pytest.mark.skipif(shutil.which('haproxy') is None, reason='haproxy is not installed')
@pytest.mark.parametrize('send_proxy', ['send-proxy', 'send-proxy-v2'])
def test_behind_haproxy(smtpd_factory, dns, tmp_path, send_proxy):
    """HAProxy, the reference implementation, in front: a client bound to
    127.0.0.5 connects to HAProxy, which connects to us from 127.0.0.1."""
    d = proxy_daemon(smtpd_factory, dns, trusted='127.0.0.1/32')
    front = free_port()
    cfg = tmp_path / 'haproxy.cfg'
    cfg.write_text('''global
    maxconn 50
defaults
    mode tcp
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout check 2s
frontend smtp
    bind 127.0.0.1:%d
    default_backend mailtest
backend mailtest
    option smtpchk EHLO haproxy.example
    server m1 127.0.0.1:%d %s check check-send-proxy inter 200ms
''' % (front, d.proxy_port, send_proxy))
    hp = subprocess.Popen(['haproxy', '-f', str(cfg), '-db'], stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE)
    try:
        for _ in range(200):
            try:
                socket.create_connection(('127.0.0.1', front), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        s = socket.socket()
        s.bind(('127.0.0.5', 0))
        s.settimeout(15)
        s.connect(('127.0.0.1', front))
        c = smtpscript.Client.__new__(smtpscript.Client)
        c.sock, c.buf, c.replies = s, b'', []
        c.expect(220)
        c.send('EHLO mail.example.org')
        code, lines = c.reply()
        assert '[127.0.0.5]' in lines[0], lines
        c.send('MAIL FROM:<user@example.org>')
        c.expect(250)
        c.send('RCPT TO:<%s>' % CHECK)
        c.expect(250)
        c.send('DATA')
        c.expect(354)
        c.sock.sendall(b'Subject: via haproxy\r\nFrom: user@example.org\r\n\r\nhi\r\n.\r\n')
        code, lines = c.reply()
        assert code == 250, lines
        msgid = lines[0].split('queued as')[1].strip()
        c.send('QUIT')
        c.expect(221)
        s.close()
        d.wait_processed(msgid)
        assert d.report(msgid)['envelope']['client_ip'] == '127.0.0.5'
        assert 'proxy=127.0.0.1 version=%d' % (2 if send_proxy.endswith('v2') else 1) in d.log()
        # HAProxy's SMTP health checks, with their own PROXY header (v2: LOCAL)
        d.wait_log(r'helo name=haproxy\.example', count=2)
        assert 'reason=proxy-' not in d.log()
    finally:
        hp.terminate()
        hp.wait(timeout=30)
