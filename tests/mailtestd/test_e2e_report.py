"""End to end (issues 2, 3 and 4 together): a signed message sent with swaks
to mailtestd over loopback, verified by the daemon's workers, its report
delivered to a local SMTP sink (aiosmtpd) through the MX found in the loopback
DNS.  The test parses the report: the MIME structure, the verdicts in the
Subject, the JSON attachment equal to `mailtest verify --format json` on the
same message, the RFC 3834 and threading headers, and the report's own DKIM
signature, checked by python3-dkim."""
import email
import email.policy
import json
import os
import re
import shutil
import subprocess

import dkim
import pytest

import dkimsign
from conftest import ROOT, run_mailtest
from smtpsink import Sink

from .harness import CHECK, HOSTNAME

pytestmark = pytest.mark.valgrind

KEY = os.path.join(ROOT, 'tests', 'keys', 'rsa2048.pem')
SENDER = 'alice@qa.example'
HELO = 'mail.qa.example'


def zone():
    return {
        'qa.example': [{'TXT': 'v=spf1 ip4:127.0.0.1 -all'}, {'MX': [10, 'sink.qa.example']}],
        'sink.qa.example': [{'A': '127.0.0.1'}],
        'mail.qa.example': [{'A': '127.0.0.1'}],
        '1.0.0.127.in-addr.arpa': [{'PTR': 'mail.qa.example'}],
        'sel._domainkey.qa.example': dkimsign.zone_entry('rsa2048'),
        # reports.example has not authorized reports for qa.example: a finding
        # only the author-domain check can give (RFC 7489 7.1)
        '_dmarc.qa.example': [{'TXT': 'v=DMARC1; p=reject; '
                                      'rua=mailto:dmarc@qa.example,mailto:agg@reports.example'}],
        # the responder's own domain: its report-signing key
        'mt._domainkey.mailtest.example': dkimsign.zone_entry('rsa2048'),
    }


@pytest.fixture
def sink():
    s = Sink().start()
    yield s
    s.stop()


def swaks_send(port, msgfile, rcpt=CHECK):
    if shutil.which('swaks') is None:
        pytest.fail('swaks is not installed (apt-get install swaks)')
    p = subprocess.run(['swaks', '--server', '127.0.0.1', '--port', str(port), '--from', SENDER,
                        '--helo', HELO, '--to', rcpt, '--data', msgfile],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stdout + p.stderr
    m = re.search(r'250 2\.0\.0 Ok: queued as (\w{12})', p.stdout)
    assert m, p.stdout
    return m.group(1)


def strip_daemon_fields(j):
    j = json.loads(json.dumps(j))
    for k in ('id', 'elapsed_ms', 'reply'):
        j.pop(k, None)
    for k in ('received_at', 'client_port', 'tls_protocol', 'tls_cipher', 'tag', 'rcpt'):
        j['envelope'].pop(k, None)
    return j


def test_swaks_to_mailtestd_report_arrives_at_the_sink(smtpd_factory, dns, sink, mailtest,
                                                       tmp_path):
    dns.set_zone(zone())
    d = smtpd_factory(delivery_port=sink.port, report_from='mailtest@mailtest.example',
                      dkim_sign_key=KEY, dkim_sign_selector='mt',
                      dkim_sign_domain='mailtest.example', authserv_id=HOSTNAME,
                      retry_min='1s')
    msg = dkimsign.sign(dkimsign.message('Alice <%s>' % SENDER, 'e2e pass'), 'qa.example')
    f = tmp_path / 'msg.eml'
    f.write_bytes(msg)
    qid = swaks_send(d.port, str(f))
    assert sink.wait(1, timeout=60), d.log()[-3000:]

    m = sink.messages[0]
    assert m['mail_from'] in ('', '<>')                 # reports go out as MAIL FROM:<>
    assert m['rcpt'] == [SENDER]
    rep = email.message_from_bytes(m['data'], policy=email.policy.default)
    assert rep['Subject'] == 'mailtest: SPF pass, DKIM pass, DMARC pass \u2014 qa.example'
    assert rep['Auto-Submitted'] == 'auto-replied'
    orig_id = '<e2e.pass.8@test.invalid>'
    assert rep['In-Reply-To'] == orig_id and rep['References'] == orig_id
    assert rep['X-Mailtest-Id'] == qid

    parts = list(rep.iter_parts())
    assert [p.get_content_type() for p in parts] == [
        'multipart/alternative', 'application/json', 'text/rfc822-headers']
    alt = list(parts[0].iter_parts())
    assert [p.get_content_type() for p in alt] == ['text/plain', 'text/html']
    text = alt[0].get_content()
    for line in ('SPF    pass', 'DKIM   pass', 'DMARC  pass', 'iprev  pass'):
        assert line in text, text[:2000]
    assert 'no TLS' in text
    # the original header block as received, our Received: on top
    hdrs = parts[2].get_payload(decode=True)
    assert hdrs.startswith(b'Received: from mail.qa.example'), hdrs[:200]
    assert b'DKIM-Signature:' in hdrs

    # the JSON attachment == `mailtest verify` on the same message and envelope
    att = json.loads(parts[1].get_payload(decode=True))
    assert att['id'] == qid
    assert att['envelope']['client_ip'] == '127.0.0.1'
    p = run_mailtest(mailtest, ['verify', '--format', 'json', '--dns', dns.address,
                                '--dns-timeout', '300', '--ip', '127.0.0.1', '--helo', HELO,
                                '--mail-from', SENDER, '--authserv-id', HOSTNAME, str(f)])
    assert p.returncode == 0, p.stderr
    assert strip_daemon_fields(att) == strip_daemon_fields(json.loads(p.stdout))
    assert att['dmarc']['result'] == 'pass' and att['dkim'][0]['result'] == 'pass'

    # the report is DKIM-signed by the responder: python3-dkim verifies it
    record = dkimsign.key('rsa2048').txt.encode()
    assert dkim.DKIM(m['data']).verify(dnsfunc=lambda name, timeout=5: record)
    assert b'd=mailtest.example' in m['data'].split(b'\r\n\r\n')[0]

    # "what to fix" covers the sender's domain records too (issue 5)
    text = text.replace('\r\n', '\n')
    fix = text[text.index('What to fix'):text.index('Authentication-Results')]
    assert 'qa.example._report._dmarc.reports.example' in fix, fix
    assert any(f['code'] == 'dmarc-report-unauthorized'
               for f in att['domain_check']['findings'])

    # and the daemon says the message is done, with nothing left queued
    d.wait_processed(qid)
    p = run_mailtest(mailtest, ['show', '-c', d.conf_path, qid, '--format', 'json'])
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)['reply']['status'] == 'queued'
    # `mailtest show` renders the stored report with the same advice
    p = run_mailtest(mailtest, ['show', '-c', d.conf_path, qid])
    assert p.returncode == 0, p.stderr
    shown = p.stdout.decode()
    assert shown[shown.index('What to fix'):shown.index('Authentication-Results')] == fix


def test_spoofed_message_report_explains_what_to_fix(smtpd_factory, dns, sink, tmp_path):
    z = zone()
    # the sender's domain now authorizes another address only
    z['qa.example'] = [{'TXT': 'v=spf1 ip4:192.0.2.10 -all'}, {'MX': [10, 'sink.qa.example']}]
    dns.set_zone(z)
    d = smtpd_factory(delivery_port=sink.port, dkim_sign_key=KEY, dkim_sign_selector='mt',
                      dkim_sign_domain='mailtest.example')
    f = tmp_path / 'spoof.eml'
    f.write_bytes(dkimsign.message('Alice <%s>' % SENDER, 'e2e spoof'))
    swaks_send(d.port, str(f))
    assert sink.wait(1, timeout=60), d.log()[-3000:]
    rep = email.message_from_bytes(sink.messages[0]['data'], policy=email.policy.default)
    assert rep['Subject'] == 'mailtest: SPF fail, DKIM none, DMARC fail \u2014 qa.example'
    text = list(list(rep.iter_parts())[0].iter_parts())[0].get_content()
    fix = text[text.index('What to fix'):]
    assert 'does not authorize 127.0.0.1' in fix
    assert 'ip4:127.0.0.1' in fix
    assert 'p=reject' in text
