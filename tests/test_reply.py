"""The reply side end to end, through tests/unit/replyq (the daemon's worker
stand-in): the report mail as received by an SMTP sink (Python's aiosmtpd),
its MIME structure, its JSON attachment against `mailtest verify`, its DKIM
signature against python3-dkim, delivery (MX order, implicit MX, null MX,
retry on 4xx, give-up on 5xx, STARTTLS, relay with AUTH), restart survival,
the never-reply rules, the rate limits, the reply-address tags, and the
operator commands (queue, show, flush, dkim-record).
"""
import email
import email.policy
import json
import os
import re
import signal
import ssl
import subprocess
import time

import dkim
import pytest
from dnslib import DNSRecord

import reportstore
from conftest import ROOT, run_mailtest, under_sanitizer, wrapper
from smtpsink import Sink

KEYS = os.path.join(ROOT, 'tests', 'keys')
TESTBIN = os.path.join(ROOT, os.environ.get('MAILTEST_TESTBIN', os.path.join('build', 'tests')))
CHECK = 'check@mailtest.test'
SENDER = 'sender@sender.example'
MSGID = '<abc.1@sender.example>'
ZONE = {
    'sender.example': [{'MX': [10, 'mx.sender.example']}],
    'mx.sender.example': [{'A': '127.0.0.1'}],
    'other.example': [{'MX': [10, 'mx.sender.example']}],
    'third.example': [{'MX': [10, 'mx.sender.example']}],
    'team.example': [{'MX': [10, 'mx.sender.example']}],
    'implicit.example': [{'A': '127.0.0.1'}],
    'nullmx.example': [{'MX': [0, '.']}],
    'order.example': [{'MX': [10, 'dead.order.example']}, {'MX': [20, 'mx.sender.example']}],
    'order2.example': [{'MX': [30, 'dead.order.example']}, {'MX': [5, 'mx.sender.example']}],
    'dead.order.example': [{'A': '127.0.0.2'}],   # nothing listens there: refused
}
DEADLINE = 40 if under_sanitizer() else 20


def replyq_bin():
    return os.path.join(TESTBIN, 'replyq')


def message(from_addr='Sender <%s>' % SENDER, extra=(), msgid=MSGID, subject='hello'):
    lines = ['From: %s' % from_addr, 'To: %s' % CHECK, 'Subject: %s' % subject,
             'Date: Thu, 26 Nov 2026 12:00:00 +0000', 'Message-ID: %s' % msgid]
    lines += list(extra)
    return ('\r\n'.join(lines) + '\r\n\r\nHello.\r\n').encode()


class ReplyEnv:
    """A spool, a config and runs of replyq against the session's DNS server."""

    def __init__(self, tmp, dns, port, **conf):
        self.dir = str(tmp)
        self.spool = os.path.join(self.dir, 'spool')
        self.dns = dns
        self.conf = {
            'hostname': 'mailtest.test', 'spool_dir': self.spool,
            'dns_server': dns.address, 'dns_timeout_ms': '300', 'dns_attempts': '1',
            'delivery_port': str(port), 'retry_min': '1s', 'retry_max': '2s',
            'delivery_timeout': '5s', 'check_address': CHECK,
            'dkim_sign_selector': 'mt', 'dkim_sign_key': os.path.join(KEYS, 'rsa2048.pem'),
        }
        self.conf.update({k: str(v) for k, v in conf.items()})
        self.path = os.path.join(self.dir, 'mailtest.conf')
        self.write()
        self.n = 0

    def write(self):
        with open(self.path, 'w') as f:
            for k, v in self.conf.items():
                f.write('%s %s\n' % (k, v))

    def msgfile(self, data):
        self.n += 1
        p = os.path.join(self.dir, 'msg%d.eml' % self.n)
        with open(p, 'wb') as f:
            f.write(data)
        return p

    def start(self, msgs, wait='all', mail_from=SENDER, ip='127.0.0.1',
              helo='mail.sender.example', tag=None, msg_id=None, deadline=DEADLINE,
              extra=()):
        files = [m if isinstance(m, str) else self.msgfile(m) for m in msgs]
        cmd = wrapper() + [replyq_bin(), '-c', self.path, '--ip', ip, '--helo', helo,
                           '--mail-from', mail_from, '--rcpt', CHECK, '--wait', wait,
                           '--deadline', str(deadline)] + list(extra)
        if tag:
            cmd += ['--tag', tag]
        if msg_id:
            cmd += ['--id', msg_id]
        return subprocess.Popen(cmd + files, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def run(self, msgs, expect_rc=0, **kw):
        p = self.start(msgs, **kw)
        out, err = p.communicate(timeout=120)
        out, err = out.decode(), err.decode(errors='replace')
        assert p.returncode == expect_rc, (p.returncode, err[-4000:])
        return out.split(), err

    def record(self, mid):
        return reportstore.report(self.spool, mid)

    def outbound(self):
        d = os.path.join(self.spool, 'outbound')
        return sorted(x for x in os.listdir(d) if not x.startswith('.')) if os.path.isdir(d) else []

    def mailtest(self, mailtest, *args):
        return run_mailtest(mailtest, list(args) + ['-c', self.path])


@pytest.fixture
def sink():
    s = Sink().start()
    yield s
    s.stop()


@pytest.fixture
def zone(dns):
    dns.set_zone(dict(ZONE))
    return ZONE


@pytest.fixture
def env(tmp_path, dns, zone, sink):
    return ReplyEnv(tmp_path, dns, sink.port)


@pytest.fixture(scope='session')
def tls_context(tmp_path_factory):
    d = tmp_path_factory.mktemp('tls')
    key, crt = str(d / 'key.pem'), str(d / 'crt.pem')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key,
                    '-out', crt, '-days', '2', '-subj', '/CN=sink.test'],
                   check=True, capture_output=True)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    ctx.cert_files = (crt, key)
    return ctx


def parse(data):
    return email.message_from_bytes(data, policy=email.policy.default)


def strip_daemon_fields(j):
    j = json.loads(json.dumps(j))
    for k in ('id', 'elapsed_ms', 'reply'):
        j.pop(k, None)
    for k in ('received_at', 'client_port', 'tls_protocol', 'tls_cipher', 'tag'):
        j['envelope'].pop(k, None)
    return j


def dns_txt(dns, name):
    """TXT through the loopback DNS server, as a receiver would look it up."""
    q = DNSRecord.question(name.rstrip('.'), 'TXT')
    a = DNSRecord.parse(q.send('127.0.0.1', dns.port, timeout=2))
    for rr in a.rr:
        if rr.rtype == 16:
            return b''.join(rr.rdata.data)
    return None


def zone_record(dkim_record_output):
    """Name and TXT strings from `mailtest dkim-record`'s zone-file line."""
    line = [x for x in dkim_record_output.splitlines() if ' IN TXT ' in x][0]
    return line.split()[0].rstrip('.'), re.findall(r'"([^"]*)"', line)


# ---- the report mail --------------------------------------------------------

@pytest.mark.valgrind
def test_report_arrives_signed_with_json_equal_to_verify(env, sink, dns, mailtest):
    data = message()
    f = env.msgfile(data)
    ids, err = env.run([f], extra=['--tls-protocol', 'TLSv1.3', '--tls-cipher',
                                   'TLS_AES_128_GCM_SHA256'])
    assert sink.wait(1)
    m = sink.messages[0]
    assert m['mail_from'] == '<>' or m['mail_from'] == '', m['mail_from']
    assert m['rcpt'] == [SENDER]
    msg = parse(m['data'])

    # header: RFC 3834, threading, identity
    assert msg['Auto-Submitted'] == 'auto-replied'
    assert msg['In-Reply-To'] == MSGID and msg['References'] == MSGID
    assert msg['To'].addresses[0].addr_spec == SENDER
    assert msg['From'].addresses[0].addr_spec == 'mailtest@mailtest.test'
    assert msg['Message-ID'] == '<%s.report@mailtest.test>' % ids[0]
    assert msg['Date'] and msg['X-Mailtest-Id'] == ids[0]

    # MIME structure
    assert msg.get_content_type() == 'multipart/mixed'
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == [
        'multipart/alternative', 'application/json', 'text/rfc822-headers']
    alt = list(parts[0].iter_parts())
    assert [p.get_content_type() for p in alt] == ['text/plain', 'text/html']
    text = alt[0].get_content()
    assert all(len(line) <= 78 for line in text.splitlines()), 'a text line over 78'
    html = alt[1].get_content()
    assert '<script' not in html.lower()
    assert not re.search(r'(src|href)\s*=\s*["\']?\s*https?:', html, re.I)
    hdrs = parts[2].get_payload(decode=True)
    assert hdrs.replace(b'\r\n', b'\n').strip() == data.split(b'\r\n\r\n')[0].replace(b'\r\n', b'\n')

    # the JSON attachment is `mailtest verify --format json` on the same message
    att = json.loads(parts[1].get_payload(decode=True))
    p = run_mailtest(mailtest, ['verify', '--format', 'json', '--dns', dns.address,
                                '--dns-timeout', '300', '--ip', '127.0.0.1',
                                '--helo', 'mail.sender.example', '--mail-from', SENDER,
                                '--rcpt', CHECK, '--authserv-id', 'mailtest.test', f])
    assert p.returncode == 0, p.stderr
    assert strip_daemon_fields(att) == strip_daemon_fields(json.loads(p.stdout))
    assert att['id'] == ids[0]
    assert att['envelope']['tls_protocol'] == 'TLSv1.3'

    # the Subject carries the verdicts
    want = 'mailtest: SPF %s, DKIM %s, DMARC %s \u2014 sender.example' % (
        att['spf']['result'], 'none' if not att['dkim'] else att['dkim'][0]['result'],
        att['dmarc']['result'])
    assert msg['Subject'] == want
    assert 'TLSv1.3, TLS_AES_128_GCM_SHA256' in text

    # the DKIM signature, checked by python3-dkim against the published key
    import dkimsign
    record = dkimsign.key('rsa2048').txt.encode()
    sig = dkim.DKIM(m['data'])
    assert sig.verify(dnsfunc=lambda name, timeout=5: record), 'DKIM signature does not verify'
    assert b'd=mailtest.test' in m['data'].split(b'\r\n\r\n')[0]
    assert b's=mt' in m['data'].split(b'\r\n\r\n')[0]
    # ... and the report's own outcome is recorded
    rec = env.record(ids[0])
    assert rec['reply']['status'] == 'queued' and rec['reply']['to'] == SENDER
    assert env.outbound() == []


@pytest.mark.parametrize('algorithm', ['rsa-sha256', 'ed25519-sha256'])
def test_generated_key_and_dkim_record(tmp_path, dns, zone, sink, mailtest, algorithm):
    env = ReplyEnv(tmp_path, dns, sink.port, dkim_sign_key='',
                   dkim_sign_algorithm=algorithm)
    del env.conf['dkim_sign_key']
    env.write()
    p = env.mailtest(mailtest, 'dkim-record')
    assert p.returncode == 0, p.stderr
    out = p.stdout.decode()
    assert '(generated now)' in out
    name, strings = zone_record(out)
    assert name == 'mt._domainkey.mailtest.test'
    assert all(len(s) <= 255 for s in strings)
    record = ''.join(strings)
    assert record.startswith('v=DKIM1; k=%s; p=' % ('rsa' if algorithm == 'rsa-sha256' else 'ed25519'))
    keyfile = os.path.join(env.spool, 'dkim', 'mt-%s.pem' % algorithm.split('-')[0])
    assert os.stat(keyfile).st_mode & 0o077 == 0, 'the private key is readable by others'
    # a second call reuses the key
    p2 = env.mailtest(mailtest, 'dkim-record')
    assert zone_record(p2.stdout.decode())[1] == strings and b'generated now' not in p2.stdout

    # publish it in DNS; python3-dkim looks it up there
    z = dict(ZONE)
    z[name] = [{'TXT': strings}]
    dns.set_zone(z)
    env.run([message()])
    assert sink.wait(1)
    data = sink.messages[0]['data']
    assert ('a=%s' % algorithm).encode() in data.split(b'\r\n\r\n')[0]
    assert dkim.verify(data, dnsfunc=lambda n, timeout=5: dns_txt(dns, n.decode()))


@pytest.mark.parametrize('keyname', ['rsa2048', 'ed25519'])
def test_report_survives_hostile_header(tmp_path, dns, zone, sink, keyname):
    import dkimsign
    alg = 'ed25519-sha256' if keyname == 'ed25519' else 'rsa-sha256'
    env = ReplyEnv(tmp_path, dns, sink.port, dkim_sign_key=os.path.join(KEYS, keyname + '.pem'),
                   dkim_sign_algorithm=alg)
    evil = ('=?UTF-8?B?QmNjOiB2aWN0aW1AZXhhbXBsZS5vcmc=?= \u202egnp.exe <script>x</script>'
            .encode())
    data = (b'From: Sender <' + SENDER.encode() + b'>\r\nTo: ' + CHECK.encode() +
            b'\r\nSubject: ' + evil + b'\r\nMessage-ID: <x\x01y@sender.example>\r\n\r\nHi\r\n')
    env.run([data])
    assert sink.wait(1)
    msg = parse(sink.messages[0]['data'])
    assert msg['Bcc'] is None
    assert msg['In-Reply-To'] is None      # not a valid msg-id: not repeated
    html = list(list(msg.iter_parts())[0].iter_parts())[1].get_content()
    assert '<script>x' not in html and '&lt;script&gt;' in html
    assert '\u202e' not in html
    json.loads(list(msg.iter_parts())[1].get_payload(decode=True))
    record = dkimsign.key(keyname).txt.encode()
    assert dkim.verify(sink.messages[0]['data'], dnsfunc=lambda n, timeout=5: record)
    assert ('a=%s' % alg).encode() in sink.messages[0]['data'].split(b'\r\n\r\n')[0]


# ---- delivery ---------------------------------------------------------------

def test_retry_after_4xx(tmp_path, dns, zone):
    s = Sink(temp_failures=1).start()
    try:
        env = ReplyEnv(tmp_path, dns, s.port)
        ids, err = env.run([message()])
        assert s.wait(1)
        assert s.rcpt_attempts == 2 and len(s.messages) == 1
        assert re.search(r'%s deliver deferred .*attempts=1 next_in=1s .*451' % ids[0], err)
        assert re.search(r'%s deliver delivered .*attempts=2' % ids[0], err)
        assert env.outbound() == []
    finally:
        s.stop()


def test_give_up_after_5xx(tmp_path, dns, zone):
    s = Sink(perm_code=550).start()
    try:
        env = ReplyEnv(tmp_path, dns, s.port)
        ids, err = env.run([message()])
        assert s.rcpt_attempts == 1 and s.messages == []
        assert re.search(r'%s deliver gave up .*attempts=1 reason=permanent .*550' % ids[0], err)
        assert env.outbound() == []
    finally:
        s.stop()


def test_give_up_after_queue_lifetime(tmp_path, dns, zone):
    s = Sink(temp_failures=10**6).start()
    try:
        env = ReplyEnv(tmp_path, dns, s.port, queue_lifetime='2s')
        ids, err = env.run([message()])
        assert s.messages == [] and s.rcpt_attempts >= 2
        assert re.search(r'%s deliver gave up .*reason=queue_lifetime' % ids[0], err)
        assert env.outbound() == []
    finally:
        s.stop()


def test_mx_preference_order_and_fallback(env, sink):
    # MX 10 refuses connections, MX 20 is the sink
    ids, err = env.run([message()], mail_from='a@order.example')
    assert sink.wait(1) and sink.messages[0]['rcpt'] == ['a@order.example']
    first = err.index('addr=127.0.0.2')
    assert first < err.index('host=mx.sender.example addr=127.0.0.1')
    # the lower preference value first: no attempt on the dead host
    ids, err = env.run([message()], mail_from='b@order2.example')
    assert sink.wait(2)
    assert '127.0.0.2' not in err


def test_implicit_mx_and_null_mx(env, sink):
    env.run([message()], mail_from='a@implicit.example')
    assert sink.wait(1) and sink.messages[0]['rcpt'] == ['a@implicit.example']
    ids, err = env.run([message()], mail_from='a@nullmx.example')
    assert re.search(r'%s deliver gave up .*null MX' % ids[0], err)
    ids, err = env.run([message()], mail_from='a@nxdomain.example')
    assert re.search(r'%s deliver gave up .*does not exist' % ids[0], err)
    assert len(sink.messages) == 1 and env.outbound() == []


def test_opportunistic_starttls_to_mx(tmp_path, dns, zone, tls_context):
    s = Sink(tls_context=tls_context).start()
    try:
        env = ReplyEnv(tmp_path, dns, s.port)
        ids, err = env.run([message()])
        assert s.wait(1) and s.messages[0]['tls'] is True
        assert 'tls="TLSv1.' in err
        env.conf['smtp_client_tls'] = 'none'
        env.write()
        env.run([message()])
        assert s.wait(2) and s.messages[1]['tls'] is False
    finally:
        s.stop()


def test_relay_with_starttls_and_auth(tmp_path, dns, zone, tls_context):
    s = Sink(tls_context=tls_context, auth={'mt': 's3cret'}).start()
    try:
        pw = tmp_path / 'pw'
        pw.write_text('s3cret\n')
        env = ReplyEnv(tmp_path, dns, 9, relay='127.0.0.1:%d' % s.port, relay_tls='require',
                       relay_user='mt', relay_password_file=str(pw))
        env.run([message()], mail_from='someone@unrouted.example')
        assert s.wait(1)
        assert s.messages[0]['tls'] is True and s.messages[0]['auth'] is True
        assert s.messages[0]['rcpt'] == ['someone@unrouted.example']
        # a wrong password: deferred, never delivered
        pw.write_text('wrong\n')
        ids, err = env.run([message()], wait='due')
        assert len(s.messages) == 1 and env.outbound() == ids
        assert 'AUTH failed' in err
    finally:
        s.stop()


@pytest.fixture(scope='module')
def relay_pki(tmp_path_factory):
    """A CA and a relay certificate it signed, naming 127.0.0.1 and relay.test."""
    d = tmp_path_factory.mktemp('pki')
    ca_key, ca, key, csr, crt = (str(d / n) for n in
                                 ('ca.key', 'ca.pem', 'relay.key', 'relay.csr', 'relay.pem'))
    run = lambda *a: subprocess.run(['openssl'] + list(a), check=True, capture_output=True)  # noqa: E731
    run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', ca_key, '-out', ca,
        '-days', '2', '-subj', '/CN=mailtest test CA')
    run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr,
        '-subj', '/CN=relay.test')
    ext = d / 'ext'
    ext.write_text('subjectAltName=IP:127.0.0.1,DNS:relay.test\n')
    run('x509', '-req', '-in', csr, '-CA', ca, '-CAkey', ca_key, '-CAcreateserial',
        '-out', crt, '-days', '2', '-extfile', str(ext))
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(crt, key)
    return ca, ctx


def mkdir(p):
    p.mkdir()
    return p


def test_relay_tls_verify(tmp_path, dns, zone, relay_pki, tls_context):
    """relay_tls verify: the relay's certificate must chain to relay_tls_ca
    and name the relay; otherwise nothing is sent, not even AUTH."""
    ca, good_ctx = relay_pki
    pw = tmp_path / 'pw'
    pw.write_text('s3cret\n')
    good = Sink(tls_context=good_ctx, auth={'mt': 's3cret'}).start()
    try:
        env = ReplyEnv(mkdir(tmp_path / 'a'), dns, 9, relay='127.0.0.1:%d' % good.port,
                       relay_tls='verify', relay_tls_ca=ca, relay_user='mt',
                       relay_password_file=str(pw))
        env.run([message()], mail_from='someone@unrouted.example')
        assert good.wait(1)
        assert good.messages[0]['tls'] is True and good.messages[0]['auth'] is True
        # the same relay checked against the system's CAs: not trusted
        env = ReplyEnv(mkdir(tmp_path / 'b'), dns, 9, relay='127.0.0.1:%d' % good.port,
                       relay_tls='verify', relay_user='mt', relay_password_file=str(pw))
        ids, err = env.run([message()], wait='due')
        assert len(good.messages) == 1 and env.outbound() == ids
        assert 'STARTTLS failed: certificate not accepted: unable to get local issuer' in err
    finally:
        good.stop()
    # a self-signed certificate for another name (CN=sink.test), the CA given
    # is its own: it chains, but does not name 127.0.0.1
    other = Sink(tls_context=tls_context, auth={'mt': 's3cret'}).start()
    try:
        env = ReplyEnv(mkdir(tmp_path / 'c'), dns, 9, relay='127.0.0.1:%d' % other.port,
                       relay_tls='verify', relay_tls_ca=tls_context.cert_files[0],
                       relay_user='mt', relay_password_file=str(pw))
        ids, err = env.run([message()], wait='due')
        assert other.messages == [] and env.outbound() == ids
        assert 'certificate not accepted: IP address mismatch' in err
        # require takes the same certificate
        env.conf['relay_tls'] = 'require'
        env.write()
        env.run([message()], wait='all')
        assert other.wait(1) and other.messages[0]['tls'] is True
    finally:
        other.stop()


def test_relay_tls_ca_unreadable_is_a_config_error(tmp_path, dns, zone):
    env = ReplyEnv(tmp_path, dns, 9, relay='127.0.0.1:9', relay_tls='verify',
                   relay_tls_ca=str(tmp_path / 'missing.pem'))
    ids, err = env.run([message()], expect_rc=1, wait='none')
    assert 'relay_tls_ca "%s"' % (tmp_path / 'missing.pem') in err


def test_relay_auth_login(tmp_path, dns, zone, tls_context):
    s = Sink(tls_context=tls_context, auth={'mt': 'p w'}, auth_exclude=['PLAIN']).start()
    try:
        pw = tmp_path / 'pw'
        pw.write_text('p w\n')
        env = ReplyEnv(tmp_path, dns, 9, relay='127.0.0.1:%d' % s.port, relay_tls='may',
                       relay_user='mt', relay_password_file=str(pw))
        env.run([message()])
        assert s.wait(1) and s.messages[0]['auth'] is True and s.messages[0]['tls'] is True
    finally:
        s.stop()


def test_failed_starttls_falls_back_to_plain_text(tmp_path, dns, zone, tls_context):
    # the sink insists on a client certificate, so every handshake fails
    strict = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    strict.load_cert_chain(*tls_context.cert_files)
    strict.verify_mode = ssl.CERT_REQUIRED
    strict.load_verify_locations(tls_context.cert_files[0])
    s = Sink(tls_context=strict).start()
    try:
        env = ReplyEnv(tmp_path, dns, s.port)
        ids, err = env.run([message()])
        assert s.wait(1) and s.messages[0]['tls'] is False
        assert re.search(r'attempt host=mx.sender.example .* tls="" status=sent', err)
        # with relay_tls require the same peer gets nothing
        (tmp_path / 'r').mkdir()
        env2 = ReplyEnv(tmp_path / 'r', dns, 9, relay='127.0.0.1:%d' % s.port,
                        relay_tls='require')
        ids, err = env2.run([message()], wait='due')
        assert len(s.messages) == 1
        assert re.search(r'STARTTLS failed|EHLO after STARTTLS: connection lost', err)
    finally:
        s.stop()


def test_parallel_workers(tmp_path, dns, zone, sink):
    env = ReplyEnv(tmp_path, dns, sink.port, rate_per_address=0, rate_per_domain=0,
                   rate_per_ip=0, delivery_threads=3)
    msgs = [message(msgid='<p%d@sender.example>' % i) for i in range(24)]
    ids, err = env.run(msgs, extra=['--threads', '4'])
    assert len(set(ids)) == 24
    assert sink.wait(24) and len(sink.messages) == 24
    got = sorted(parse(m['data'])['In-Reply-To'] for m in sink.messages)
    assert got == sorted('<p%d@sender.example>' % i for i in range(24))
    assert env.outbound() == [] and 'error' not in err


def test_relay_tls_required_but_not_offered(tmp_path, dns, zone):
    s = Sink().start()
    try:
        env = ReplyEnv(tmp_path, dns, 9, relay='127.0.0.1:%d' % s.port, relay_tls='require')
        ids, err = env.run([message()], wait='due')
        assert s.messages == [] and s.rcpt_attempts == 0
        assert env.outbound() == ids
        assert 'TLS is required' in err
    finally:
        s.stop()


def test_relay_user_without_tls_is_a_config_error(tmp_path, dns, zone):
    pw = tmp_path / 'pw'
    pw.write_text('x')
    env = ReplyEnv(tmp_path, dns, 9, relay='127.0.0.1:25', relay_tls='none', relay_user='u',
                   relay_password_file=str(pw))
    ids, err = env.run([message()], expect_rc=1)
    assert 'relay_user needs TLS' in err


# ---- crash safety -------------------------------------------------------------

def test_restart_after_kill_delivers_exactly_once(tmp_path, dns, zone, mailtest):
    s = Sink(temp_failures=10**6).start()
    try:
        env = ReplyEnv(tmp_path, dns, s.port, retry_min='1h', retry_max='1h')
        data = message()
        p = env.start([data], msg_id='0KILL0000001', wait='all', deadline=60)
        end = time.time() + DEADLINE
        while s.rcpt_attempts < 1 and time.time() < end:
            time.sleep(0.05)
        time.sleep(0.2)
        p.send_signal(signal.SIGKILL)
        p.wait()
        assert s.messages == [] and env.outbound() == ['0KILL0000001']
        # the peer recovers; the deferred report is made due; the worker runs again
        s.temp_failures = 0
        q = env.mailtest(mailtest, 'flush')
        assert q.returncode == 0 and b'1 deferred report(s) made due now' in q.stdout
        env.run([data], msg_id='0KILL0000001')
        assert s.wait(1)
        time.sleep(0.3)
        assert len(s.messages) == 1
        # processing the same message again changes nothing
        env.run([data], msg_id='0KILL0000001')
        time.sleep(0.3)
        assert len(s.messages) == 1 and env.outbound() == []
    finally:
        s.stop()


def test_queue_file_removed_right_after_the_250(tmp_path, dns, zone):
    s = Sink(quit_delay=3).start()
    try:
        env = ReplyEnv(tmp_path, dns, s.port)
        p = env.start([message()], wait='all')
        assert s.wait(1)
        time.sleep(0.2)
        # the client is still waiting for the reply to QUIT, and the report is
        # already out of the queue: a crash now cannot send it twice
        assert p.poll() is None
        assert env.outbound() == []
        p.communicate(timeout=30)
        assert p.returncode == 0 and len(s.messages) == 1
    finally:
        s.stop()


def test_reprocessing_after_a_crash_between_steps(env, sink):
    data = message()
    # crash after the record, before the queue file was promoted
    env.run([data], msg_id='0CRASH000001', wait='none')
    ob = os.path.join(env.spool, 'outbound')
    os.rename(os.path.join(ob, '0CRASH000001'), os.path.join(ob, '0CRASH000001.new'))
    ids, err = env.run([data], msg_id='0CRASH000001')
    assert 'queued (finished after a restart)' in err
    assert sink.wait(1) and len(sink.messages) == 1
    # crash before the record: everything is done again, once
    env.run([data], msg_id='0CRASH000002', wait='none')
    assert reportstore.execute(env.spool, 'DELETE FROM mailtest_reports WHERE id = ?',
                               ('0CRASH000002',)) == 1
    os.rename(os.path.join(ob, '0CRASH000002'), os.path.join(ob, '0CRASH000002.new'))
    env.run([data], msg_id='0CRASH000002')
    assert sink.wait(2)
    time.sleep(0.3)
    assert len(sink.messages) == 2 and env.outbound() == []
    assert env.record('0CRASH000002')['reply']['status'] == 'queued'


# ---- who gets it, and when not -------------------------------------------------

NEVER = [
    ('null sender', '', (), 'null-sender'),
    ('MAILER-DAEMON', 'MAILER-DAEMON@sender.example', (), 'automatic-sender'),
    ('postmaster', 'postmaster@sender.example', (), 'automatic-sender'),
    ('owner-', 'owner-list@sender.example', (), 'automatic-sender'),
    ('-request', 'list-request@sender.example', (), 'automatic-sender'),
    ('Auto-Submitted', SENDER, ('Auto-Submitted: auto-generated',), 'auto-submitted'),
    ('Auto-Submitted replied', SENDER, ('Auto-Submitted: auto-replied',), 'auto-submitted'),
    ('List-Id', SENDER, ('List-Id: <list.sender.example>',), 'mailing-list'),
    ('List-Post', SENDER, ('List-Post: <mailto:list@sender.example>',), 'mailing-list'),
    ('Precedence bulk', SENDER, ('Precedence: bulk',), 'precedence'),
    ('Precedence list', SENDER, ('Precedence: list',), 'precedence'),
    ('Precedence junk', SENDER, ('Precedence: junk',), 'precedence'),
    ('our own report', SENDER, ('X-Mailtest-Loop: mailtest.test',), 'loop'),
    ('Received hops', SENDER, tuple('Received: from h%d by h%d' % (i, i) for i in range(4)), 'loop'),
    ('to ourselves', 'check+x@mailtest.test', (), 'self'),
]


@pytest.mark.parametrize('label,mail_from,extra,reason', NEVER, ids=[n[0] for n in NEVER])
def test_never_reply(tmp_path, dns, zone, sink, label, mail_from, extra, reason):
    env = ReplyEnv(tmp_path, dns, sink.port, smtp_received_limit=3)
    ids, err = env.run([message(extra=extra)], mail_from=mail_from)
    rec = env.record(ids[0])
    assert rec['reply']['status'] == 'suppressed' and rec['reply']['reason'] == reason
    assert rec['spf']['result'] is not None      # the report itself is kept
    assert env.outbound() == [] and sink.messages == []
    assert re.search(r'%s reply suppressed reason=%s' % (ids[0], reason), err)


def test_reply_to_our_own_report_is_suppressed(env, sink):
    env.run([message()])
    assert sink.wait(1)
    report = sink.messages[0]['data']
    ids, err = env.run([report], mail_from=SENDER)
    assert env.record(ids[0])['reply']['reason'] == 'auto-submitted'
    assert len(sink.messages) == 1


def test_reply_policy_authenticated(tmp_path, dns, zone, sink):
    env = ReplyEnv(tmp_path, dns, sink.port, reply_policy='authenticated')
    ids, _ = env.run([message()])
    assert env.record(ids[0])['reply']['reason'] == 'unauthenticated'
    assert sink.messages == []


@pytest.mark.parametrize('kind,limit,senders,ips', [
    ('address', 'rate_per_address', [SENDER] * 3, ['127.0.0.1'] * 3),
    ('domain', 'rate_per_domain', ['a@sender.example', 'b@sender.example',
                                   'c@sender.example'], ['127.0.0.1'] * 3),
    ('ip', 'rate_per_ip', ['a@sender.example', 'b@other.example', 'c@third.example'],
     ['192.0.2.9'] * 3),
])
def test_rate_limits(tmp_path, dns, zone, sink, kind, limit, senders, ips):
    conf = {'rate_per_address': 0, 'rate_per_domain': 0, 'rate_per_ip': 0}
    conf[limit] = 2
    env = ReplyEnv(tmp_path, dns, sink.port, **conf)
    out = []
    for s, ip in zip(senders, ips):   # separate processes: the counts persist
        ids, _ = env.run([message()], mail_from=s, ip=ip, wait='none')
        out.append(env.record(ids[0])['reply'])
    assert [o['status'] for o in out] == ['queued', 'queued', 'suppressed']
    assert out[2]['reason'] == 'rate-' + kind
    # a different key is not limited
    ids, _ = env.run([message()], mail_from='z@team.example', ip='192.0.2.50', wait='none')
    assert env.record(ids[0])['reply']['status'] == 'queued'


@pytest.mark.parametrize('tag,extra,want,chosen', [
    (None, (), SENDER, 'mail-from'),
    ('from', (), 'author@sender.example', 'from'),
    ('replyto', ('Reply-To: Team <team@team.example>',), 'team@team.example', 'reply-to'),
    ('replyto', (), 'author@sender.example', 'from'),
    ('ci-job-42', (), SENDER, 'mail-from'),
    ('ci-job-42.from', (), 'author@sender.example', 'from'),
])
def test_tag_chooses_the_reply_address(env, sink, tag, extra, want, chosen):
    ids, _ = env.run([message(from_addr='Author <author@sender.example>', extra=extra)],
                     tag=tag)
    assert sink.wait(1) and sink.messages[0]['rcpt'] == [want]
    rec = env.record(ids[0])
    assert rec['reply']['to'] == want and rec['reply']['chosen_by'] == chosen


def test_tag_not_listed_in_reply_tags(tmp_path, dns, zone, sink):
    env = ReplyEnv(tmp_path, dns, sink.port, reply_tags='replyto')
    env.run([message(from_addr='author@sender.example')], tag='from')
    assert sink.wait(1) and sink.messages[0]['rcpt'] == [SENDER]


# ---- operator commands ----------------------------------------------------------

def test_queue_show_flush_while_running(tmp_path, dns, zone, mailtest):
    s = Sink(temp_failures=1).start()
    try:
        env = ReplyEnv(tmp_path, dns, s.port, retry_min='1h', retry_max='1h')
        p = env.start([message()], msg_id='0FLUSH000001', wait='all', deadline=DEADLINE)
        end = time.time() + DEADLINE
        while not env.outbound() or s.rcpt_attempts < 1:
            assert time.time() < end
            time.sleep(0.05)
        time.sleep(0.3)
        q = env.mailtest(mailtest, 'queue')
        out = q.stdout.decode()
        assert q.returncode == 0, q.stderr
        assert re.search(r'0FLUSH000001\s+1\s+in \d+m\d+s\s+<%s>' % SENDER, out), out
        assert 'last error: mx.sender.example[127.0.0.1] at rcpt: 451' in out
        sh = env.mailtest(mailtest, 'show', '0FLUSH000001')
        text = sh.stdout.decode()
        assert sh.returncode == 0 and text.startswith('mailtest report')
        assert 'Status         queued' in text and '1 attempt(s)' in text
        js = json.loads(env.mailtest(mailtest, 'show', '0FLUSH000001', '--format',
                                     'json').stdout)
        assert js['reply']['status'] == 'queued' and js['id'] == '0FLUSH000001'
        # the delivery threads recorded the deferral in the store
        assert js['reply']['delivery']['state'] == 'deferred'
        assert js['reply']['delivery']['attempts'] == 1
        assert '451' in js['reply']['delivery']['detail']
        # the running driver picks the flushed entry up within a second or two
        t0 = time.time()
        f = env.mailtest(mailtest, 'flush')
        assert f.returncode == 0
        assert s.wait(1, timeout=10)
        assert time.time() - t0 < 5
        p.wait(timeout=DEADLINE)
        assert p.returncode == 0
        assert re.search(r'Delivery\s+delivered after 2 attempt\(s\): mx.sender.example\[127.0.0.1\] '
                         r'at dot: 250', env.mailtest(mailtest, 'show', '0FLUSH000001').stdout.decode())
        js = json.loads(env.mailtest(mailtest, 'show', '0FLUSH000001', '--format',
                                     'json').stdout)
        assert js['reply']['delivery']['state'] == 'delivered'
        assert '0 report(s) queued' in env.mailtest(mailtest, 'queue').stdout.decode()
    finally:
        s.stop()


def test_show_unknown_and_bad_ids(env, mailtest):
    p = env.mailtest(mailtest, 'show', '0NOSUCH00000')
    assert p.returncode == 1 and b'no such report' in p.stderr
    p = env.mailtest(mailtest, 'show', '../../etc/passwd')
    assert p.returncode == 1 and b'not a mailtest id' in p.stderr


# ---- the HTML report in a browser ---------------------------------------------------

def test_html_report_in_headless_chromium(tmp_path):
    chromium = '/usr/bin/chromium'
    if not os.access(chromium, os.X_OK):
        pytest.skip('chromium is not installed')
    html = subprocess.run([os.path.join(TESTBIN, 'reportgen'), 'spoofed', 'html'],
                          check=True, capture_output=True).stdout
    page = tmp_path / 'report.html'
    page.write_bytes(html)
    art = os.environ.get('MAILTEST_ARTIFACTS', str(tmp_path))
    shot = os.path.join(art, 'report-spoofed.png')
    base = [chromium, '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
            '--no-first-run', '--disable-background-networking',
            '--disable-component-update', '--disable-sync',
            '--user-data-dir=%s' % (tmp_path / 'profile')]
    dom = subprocess.run(base + ['--dump-dom', 'file://%s' % page], capture_output=True,
                         timeout=60).stdout.decode()
    rows = re.findall(r'<tr data-mechanism="([^"]+)" data-result="([^"]+)"', dom)
    assert rows == [('SPF', 'softfail'), ('DKIM', 'fail'), ('DMARC', 'fail'),
                    ('ADSP', 'fail'), ('iprev', 'fail')]
    assert 'What to fix' in dom and 'Authentication-Results' in dom
    for attr in re.findall(r'(?:src|href)\s*=\s*"([^"]*)"', dom):
        assert not attr.startswith(('http:', 'https:', '//')), attr
    assert '<script' not in dom and '<link' not in dom
    subprocess.run(base + ['--screenshot=%s' % shot, '--window-size=900,2400',
                           'file://%s' % page], capture_output=True, timeout=60)
    with open(shot, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    print('screenshot: %s' % shot)


@pytest.mark.skipif(os.geteuid() != 0, reason='needs root to change owners')
def test_files_belong_to_the_daemon_user(tmp_path, dns, zone, mailtest):
    import pwd
    nobody = pwd.getpwnam('nobody')
    s = Sink(temp_failures=1).start()
    try:
        env = ReplyEnv(tmp_path, dns, s.port, user='nobody', retry_min='1h', retry_max='1h')
        env.run([message()], msg_id='0OWNER000001', wait='due')
        for sub in ('reports.db', 'outbound'):
            assert os.stat(os.path.join(env.spool, sub)).st_uid == nobody.pw_uid, sub
        assert os.stat(os.path.join(env.spool, 'ratelimit.log')).st_uid == nobody.pw_uid
        # a queue file of the daemon's stays the daemon's when root flushes it
        q = os.path.join(env.spool, 'outbound', '0OWNER000001')
        os.chown(q, nobody.pw_uid, nobody.pw_gid)
        assert env.mailtest(mailtest, 'flush').returncode == 0
        st = os.stat(q)
        assert (st.st_uid, st.st_gid) == (nobody.pw_uid, nobody.pw_gid)
    finally:
        s.stop()


def test_verify_format_html(mailtest, dns, zone, tmp_path):
    f = tmp_path / 'm.eml'
    f.write_bytes(message(subject='<b>bold</b>'))
    p = run_mailtest(mailtest, ['verify', '--format', 'html', '--dns', dns.address,
                                '--dns-timeout', '300', '--ip', '127.0.0.1',
                                '--mail-from', SENDER, str(f)])
    assert p.returncode == 0, p.stderr
    html = p.stdout.decode()
    assert html.startswith('<!DOCTYPE html>') and '</html>' in html
    assert re.findall(r'data-mechanism="([^"]+)"', html) == ['SPF', 'DKIM', 'DMARC', 'ADSP', 'iprev']
    assert '&lt;b&gt;bold&lt;/b&gt;' in html and '<b>bold</b>' not in html
