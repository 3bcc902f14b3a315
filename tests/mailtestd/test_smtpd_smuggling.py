"""mailtestd: SMTP smuggling (a second message hidden behind a non-standard
end-of-data) and STARTTLS command injection (CVE-2011-0411 style) are
impossible.

Each smuggling case sends, in one write after the 354, a first message whose
"end" is one of the non-standard sequences, followed by a complete second
transaction ending in a real <CRLF>.<CRLF>.  The next reply after the one for
DATA must be the reply to our QUIT: a server that ended DATA early would have
answered MAIL, RCPT, DATA and the second message first.
"""
import pytest

from . import smtpscript
from .harness import CHECK

SEQUENCES = {
    'LF.LF': '\n.\n',
    'LF.CRLF': '\n.\r\n',
    'CR.CR': '\r.\r',
    'CR.LF': '\r.\n',
    'CRLF-NUL.CRLF': '\r\n\x00.\r\n',
}

SMUGGLED = ('MAIL FROM:<smuggler@evil.example>\r\nRCPT TO:<%s>\r\nDATA\r\n'
            'Subject: smuggled\r\n\r\nsecond message\r\n.\r\n' % CHECK)


def smuggle(port, seq):
    c = smtpscript.Client(port)
    c.expect(220)
    c.send('EHLO c.example')
    c.expect(250)
    c.send('MAIL FROM:<sender@example.org>')
    c.expect(250)
    c.send('RCPT TO:<%s>' % CHECK)
    c.expect(250)
    c.send('DATA')
    c.expect(354)
    c.sendraw('Subject: first\r\n\r\nfirst message' + seq + SMUGGLED)
    code, lines = c.reply()
    c.send('QUIT')
    nxt = c.reply()
    c.close()
    return (code, lines), nxt


@pytest.mark.parametrize('name', sorted(SEQUENCES))
def test_smuggling_refused_in_reject_mode(smtpd, name):
    (code, lines), nxt = smuggle(smtpd.port, SEQUENCES[name])
    assert code == 554 and lines[0].startswith('554 5.6.0'), lines
    assert nxt[0] == 221, 'a reply came between the DATA reply and QUIT: %r' % (nxt,)
    assert smtpd.queued_ids() == []
    assert 'smuggler' not in smtpd.log()


@pytest.mark.parametrize('name', sorted(SEQUENCES))
def test_smuggling_is_content_in_normalize_mode(smtpd_factory, name):
    d = smtpd_factory(smtp_bare_lf='normalize')
    (code, lines), nxt = smuggle(d.port, SEQUENCES[name])
    assert nxt[0] == 221, 'a reply came between the DATA reply and QUIT: %r' % (nxt,)
    if 'NUL' in name:
        # NUL is never accepted (RFC 5321 4.1.1.4 / RFC 6152)
        assert lines[0].startswith('554 5.6.0'), lines
        assert d.queued_ids() == []
        return
    assert code == 250, lines
    ids = d.queued_ids()
    assert len(ids) == 1, ids
    d.wait_processed(ids[0])
    rep = d.report(ids[0])
    # one message: the first one, with the smuggled transaction as its content
    assert rep['envelope']['mail_from'] == 'sender@example.org'
    assert list(d.reports()) == ids
    assert 'smuggler' not in d.log()


def test_control_real_end_of_data_does_end_the_message(smtpd):
    """The same input with a real <CRLF>.<CRLF>: two messages, as RFC 2920
    allows - so the tests above would see a smuggled message if there was one."""
    (code, lines), nxt = smuggle(smtpd.port, '\r\n.\r\n')
    assert code == 250
    assert nxt[0] == 250 and nxt[1][0].startswith('250 2.1.0'), nxt
    smtpd.wait_log('queued session', count=2)
    assert len(smtpd.queued_ids()) == 2


def test_starttls_injection_discarded(smtpd):
    c = smtpscript.Client(smtpd.port)
    c.expect(220)
    c.send('EHLO c.example')
    c.expect(250)
    c.sendraw('STARTTLS\r\nRSET\r\n')          # one write, one segment
    c.expect(220, '2.0.0')
    c.starttls()
    c.send('EHLO c.example')
    lines = c.expect(250)
    # the first reply inside TLS is EHLO's, not the injected RSET's "250 2.0.0"
    assert lines[0].startswith('250-mx.mailtest.example Hello'), lines
    c.send('QUIT')
    c.expect(221)
    c.close()
    assert 'plaintext-after-starttls discarded=6' in smtpd.log()


def test_starttls_injection_of_a_whole_transaction(smtpd):
    c = smtpscript.Client(smtpd.port)
    c.expect(220)
    c.send('EHLO c.example')
    c.expect(250)
    c.sendraw('STARTTLS\r\nMAIL FROM:<inject@evil.example>\r\nRCPT TO:<%s>\r\n' % CHECK)
    c.expect(220, '2.0.0')
    c.starttls()
    # after TLS the session starts over: no transaction was injected
    c.send('RCPT TO:<%s>' % CHECK)
    c.expect(503, '5.5.1')
    c.send('MAIL FROM:<a@b.example>')
    c.expect(503, '5.5.1', 'HELO/EHLO first')
    c.close()
    assert 'inject@evil.example' not in smtpd.log()


def test_plaintext_sent_after_starttls_before_the_220(smtpd):
    """Bytes that arrive after STARTTLS in a later segment reach OpenSSL as
    handshake data (the session fails) or are discarded - never a command."""
    import ssl
    c = smtpscript.Client(smtpd.port)
    c.expect(220)
    c.send('EHLO c.example')
    c.expect(250)
    c.sendraw('STARTTLS\r\n')
    c.sendraw('RSET\r\n')
    c.expect(220, '2.0.0')
    try:
        c.starttls()
    except (ssl.SSLError, OSError, EOFError):
        c.close()
        assert 'tls handshake-failed' in smtpd.wait_log('disconnect')
        return
    c.send('EHLO c.example')
    assert c.expect(250)[0].startswith('250-mx.mailtest.example Hello')
    c.close()
