"""mailtestd: STARTTLS (RFC 3207) - TLS 1.2+, the self-signed certificate made
at first start, a configured certificate, the session reset after TLS, the TLS
parameters in the envelope, the protocol keyword in Received:."""
import os
import subprocess

import pytest

from . import smtpscript
from .harness import CHECK


def tls_session(port):
    c = smtpscript.Client(port)
    c.expect(220)
    c.send('EHLO c.example')
    assert any(ln[4:] == 'STARTTLS' for ln in c.expect(250))
    c.send('STARTTLS')
    c.expect(220, '2.0.0')
    version, cipher = c.starttls()
    return c, version, cipher


@pytest.mark.valgrind
def test_starttls_session(smtpd):
    c, version, cipher = tls_session(smtpd.port)
    assert version in ('TLSv1.2', 'TLSv1.3')
    c.send('MAIL FROM:<a@b.example>')
    c.expect(503, '5.5.1', 'HELO/EHLO first')     # RFC 3207 4.2: state reset
    c.send('EHLO c.example')
    exts = [ln[4:] for ln in c.expect(250)[1:]]
    assert 'STARTTLS' not in exts
    c.send('STARTTLS')
    c.expect(503, '5.5.1', 'already active')
    c.send('MAIL FROM:<a@b.example>')
    c.expect(250)
    c.send('RCPT TO:<check+tls@mailtest.example>')
    c.expect(250)
    c.send('DATA')
    c.expect(354)
    c.sendraw('Subject: tls\r\n\r\nover TLS\r\n.\r\n')
    msgid = c.expect(250, '2.0.0')[0].split()[-1]
    c.send('QUIT')
    c.expect(221)
    c.close()
    smtpd.wait_processed(msgid)
    env = smtpd.report(msgid)['envelope']
    assert env['tls_protocol'] == version
    assert env['tls_cipher'] == cipher
    assert env['tag'] == 'tls'
    assert 'tls protocol=%s cipher=%s' % (version, cipher) in smtpd.log()


def test_self_signed_certificate_made_once_and_kept(smtpd_factory):
    d = smtpd_factory()
    cert = os.path.join(d.spool, 'tls', 'cert.pem')
    key = os.path.join(d.spool, 'tls', 'key.pem')
    assert os.stat(key).st_mode & 0o777 == 0o600
    text = subprocess.run(['openssl', 'x509', '-in', cert, '-noout', '-subject', '-ext',
                           'subjectAltName', '-fingerprint'], capture_output=True,
                          text=True, check=True).stdout
    assert 'CN = mx.mailtest.example' in text
    assert 'DNS:mx.mailtest.example' in text
    d.stop()
    d.start()
    text2 = subprocess.run(['openssl', 'x509', '-in', cert, '-noout', '-subject', '-ext',
                            'subjectAltName', '-fingerprint'], capture_output=True,
                           text=True, check=True).stdout
    assert text == text2
    assert d.log().count('self-signed certificate=') == 1
    c, version, cipher = tls_session(d.port)
    der = c.sock.getpeercert(binary_form=True)
    pem = subprocess.run(['openssl', 'x509', '-inform', 'DER', '-noout', '-fingerprint'],
                         input=der, capture_output=True, check=True).stdout.decode()
    assert pem.strip() in text2
    c.close()


def test_configured_certificate(smtpd_factory, tmp_path):
    cert, key = str(tmp_path / 'c.pem'), str(tmp_path / 'k.pem')
    subprocess.run(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key,
                    '-out', cert, '-days', '2', '-subj', '/CN=configured.example'],
                   check=True, capture_output=True)
    d = smtpd_factory(tls_cert=cert, tls_key=key)
    c, version, cipher = tls_session(d.port)
    der = c.sock.getpeercert(binary_form=True)
    subj = subprocess.run(['openssl', 'x509', '-inform', 'DER', '-noout', '-subject'],
                          input=der, capture_output=True, check=True).stdout.decode()
    assert 'configured.example' in subj
    c.close()
    assert not os.path.exists(os.path.join(d.spool, 'tls', 'cert.pem'))


def test_tls_1_1_refused(smtpd):
    p = subprocess.run(['openssl', 's_client', '-connect', '127.0.0.1:%d' % smtpd.port,
                        '-starttls', 'smtp', '-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0'],
                       input=b'', capture_output=True, timeout=30)
    assert p.returncode != 0
    log = smtpd.wait_log('tls handshake-failed')
    assert 'unsupported protocol' in log


def test_tls_1_2_accepted(smtpd):
    p = subprocess.run(['openssl', 's_client', '-connect', '127.0.0.1:%d' % smtpd.port,
                        '-starttls', 'smtp', '-tls1_2', '-quiet'],
                       input=b'EHLO c.example\r\nQUIT\r\n', capture_output=True, timeout=30)
    assert b'250-mx.mailtest.example Hello' in p.stdout, p
    smtpd.wait_log('tls protocol=TLSv1.2')


def test_tls_off(smtpd_factory):
    d = smtpd_factory(tls='no')
    smtpscript.run(d.port, r'''
        expect 220
        send "EHLO c.example"
        expect 250 "ENHANCEDSTATUSCODES"
        send "STARTTLS"
        expect 502 5.5.1
    ''')
    assert not os.path.exists(os.path.join(d.spool, 'tls'))


def test_handshake_garbage_ends_the_session(smtpd):
    c = smtpscript.Client(smtpd.port)
    c.expect(220)
    c.send('EHLO c.example')
    c.expect(250)
    c.send('STARTTLS')
    c.expect(220)
    c.sendraw(b'this is not a ClientHello\r\n' * 4)
    c.expect_closed()
    assert 'tls handshake-failed' in smtpd.wait_log('disconnect')
