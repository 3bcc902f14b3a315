"""mailtestd with real clients as peers: swaks, Python's smtplib, Postfix's
smtp-source."""
import re
import shutil
import smtplib
import ssl
import subprocess

import pytest

from .harness import CHECK, message


def swaks(port, *args):
    if shutil.which('swaks') is None:
        pytest.fail('swaks is not installed (apt-get install swaks)')
    p = subprocess.run(['swaks', '--server', '127.0.0.1', '--port', str(port),
                        '--from', 'sender@example.org', '--helo', 'client.example'] + list(args),
                       capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


def queued_id(out):
    m = re.search(r'250 2\.0\.0 Ok: queued as (\w{12})', out)
    assert m, out
    return m.group(1)


def test_swaks_plain(smtpd):
    rc, out = swaks(smtpd.port, '--to', CHECK)
    assert rc == 0, out
    smtpd.wait_processed(queued_id(out))


def test_swaks_starttls(smtpd):
    rc, out = swaks(smtpd.port, '--to', 'check+tls@mailtest.example', '--tls')
    assert rc == 0, out
    assert '=== TLS started with cipher' in out
    msgid = queued_id(out)
    smtpd.wait_processed(msgid)
    env = smtpd.report(msgid)['envelope']
    assert env['tls_protocol'].startswith('TLSv1.')
    assert env['tag'] == 'tls'


def test_swaks_pipelining(smtpd):
    rc, out = swaks(smtpd.port, '--to', CHECK, '--pipeline')
    assert rc == 0, out
    # swaks sent MAIL, RCPT and DATA in one go before reading
    assert re.search(r' -> MAIL FROM:.*\n -> RCPT TO:.*\n -> DATA\n<-  250 2\.1\.0', out), out
    smtpd.wait_processed(queued_id(out))


def test_swaks_relay_refused(smtpd):
    rc, out = swaks(smtpd.port, '--to', 'victim@elsewhere.example')
    assert rc != 0
    assert '550 5.7.1' in out
    assert smtpd.queued_ids() == []


def test_smtplib_session_with_a_refused_recipient(smtpd):
    with smtplib.SMTP('127.0.0.1', smtpd.port, local_hostname='client.example') as s:
        s.ehlo()
        assert s.has_extn('pipelining') and s.has_extn('size') and s.has_extn('8bitmime')
        assert int(s.esmtp_features['size']) == 10485760
        refused = s.sendmail('sender@example.org', [CHECK, 'other@elsewhere.example'],
                             message('smtplib').encode())
        assert list(refused) == ['other@elsewhere.example']
        assert refused['other@elsewhere.example'][0] == 550
    smtpd.wait_log('queued session')


def test_smtplib_starttls(smtpd):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with smtplib.SMTP('127.0.0.1', smtpd.port, local_hostname='client.example') as s:
        s.starttls(context=ctx)
        s.ehlo()
        assert not s.has_extn('starttls')
        s.mail('sender@example.org')
        s.rcpt(CHECK)
        code, resp = s.data(message('smtplib tls').encode())
        assert code == 250
    msgid = resp.decode().split()[-1]
    smtpd.wait_processed(msgid)
    assert smtpd.report(msgid)['envelope']['tls_protocol'] == 'TLSv1.3'


def test_smtplib_smtputf8(smtpd):
    with smtplib.SMTP('127.0.0.1', smtpd.port, local_hostname='client.example') as s:
        s.ehlo()
        assert s.has_extn('smtputf8')
        msg = ('From: \u00e9l\u00e8ve@example.org\r\nTo: %s\r\nSubject: \u00e9t\u00e9\r\n\r\n'
               'b\u00f6dy\r\n' % CHECK).encode()
        s.sendmail('\u00e9l\u00e8ve@example.org', [CHECK], msg,
                   mail_options=['SMTPUTF8', 'BODY=8BITMIME'])
    smtpd.wait_log('queued session')


def test_smtplib_too_big(smtpd_factory):
    d = smtpd_factory(message_size_limit='4k')
    with smtplib.SMTP('127.0.0.1', d.port) as s:
        with pytest.raises(smtplib.SMTPSenderRefused) as e:
            # smtplib sends SIZE= from the advertised extension
            s.sendmail('sender@example.org', [CHECK], message('big', 'x' * 8000).encode())
        assert e.value.smtp_code == 552


@pytest.mark.parametrize('reuse', [False, True])
def test_smtp_source_load(smtpd_factory, reuse):
    """Postfix's smtp-source: 60 messages over 6 parallel sessions."""
    if shutil.which('smtp-source') is None and not shutil.os.path.exists('/usr/sbin/smtp-source'):
        pytest.fail('smtp-source is not installed (postfix package)')
    d = smtpd_factory(workers=4)
    args = ['/usr/sbin/smtp-source', '-s', '6', '-m', '60', '-l', '3000',
            '-f', 'sender@example.org', '-t', CHECK, '-M', 'client.example']
    if reuse:
        args.append('-d')             # several messages per connection
    p = subprocess.run(args + ['127.0.0.1:%d' % d.port], capture_output=True, text=True,
                       timeout=120)
    assert p.returncode == 0, p.stdout + p.stderr
    ids = d.queued_ids()
    assert len(ids) == 60 and len(set(ids)) == 60
    d.wait_log(r'worker removed', count=60, run=None, timeout=120)
    assert sorted(d.reports()) == sorted(ids)
    assert d.incoming() == []
