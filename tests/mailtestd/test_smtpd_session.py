"""mailtestd: scripted SMTP conversations (RFC 5321) - the normal session,
every command, the sequence errors and the relay refusals."""
import json
import os
import socket

import pytest

from . import smtpscript
from .harness import CHECK, HOSTNAME, message


@pytest.mark.valgrind
def test_normal_session_is_spooled_processed_and_removed(smtpd):
    replies = smtpscript.run(smtpd.port, r'''
        expect 220
        send "EHLO client.example.org"
        expect 250
        send "MAIL FROM:<sender@example.org>"
        expect 250 2.1.0
        send "RCPT TO:<check+json@mailtest.example>"
        expect 250 2.1.5
        send "DATA"
        expect 354
        sendraw "Subject: hi\r\nFrom: <sender@example.org>\r\n\r\n..dot-stuffed\r\n.\r\n"
        expect 250 2.0.0 "queued as"
        send "QUIT"
        expect 221 2.0.0
        expect-closed
    ''')
    msgid = replies[5][1][0].split()[-1]
    smtpd.wait_processed(msgid)
    assert smtpd.incoming() == []
    rep = smtpd.report(msgid)
    assert rep['envelope']['mail_from'] == 'sender@example.org'
    assert rep['envelope']['rcpt'] == ['check+json@mailtest.example']
    assert rep['envelope']['client_ip'] == '127.0.0.1'
    assert rep['envelope']['helo'] == 'client.example.org'
    log = smtpd.log()
    # one line per event, with the session id
    sid = [ln.split()[2] for ln in log.splitlines() if 'smtpd connect' in ln][0]
    for ev in ('connect client=127.0.0.1', 'helo name=client.example.org',
               'mail from=<sender@example.org>',
               'rcpt to=<check+json@mailtest.example> tag=json', 'disconnect'):
        assert any(sid in ln and ev in ln for ln in log.splitlines()), ev
    assert '%s smtpd queued session=%s' % (msgid, sid) in log
    assert 'reason=quit' in log


def test_ehlo_advertises_the_extensions(smtpd):
    c = smtpscript.Client(smtpd.port)
    greeting = c.expect(220)
    # RFC 2034: no enhanced status code in the greeting and the EHLO reply
    assert greeting[0].startswith('220 %s ESMTP' % HOSTNAME)
    c.send('EHLO x.example')
    lines = c.expect(250)
    exts = [ln[4:] for ln in lines[1:]]
    assert exts == ['PIPELINING', 'SIZE 10485760', '8BITMIME', 'SMTPUTF8',
                    'ENHANCEDSTATUSCODES', 'STARTTLS']
    c.send('HELO x.example')
    assert c.expect(250) == ['250 %s' % HOSTNAME]
    c.close()


def test_enhanced_status_codes_on_every_other_reply(smtpd):
    replies = smtpscript.run(smtpd.port, r'''
        expect 220
        send "NOOP"
        expect 250 2.0.0
        send "MAIL FROM:<a@b.example>"
        expect 503 5.5.1 "HELO/EHLO first"
        send "EHLO c.example"
        expect 250
        send "VRFY someone"
        expect 252 2.0.0
        send "HELP"
        expect 214 2.0.0
        send "EXPN list"
        expect 502 5.5.1
        send "RSET"
        expect 250 2.0.0
        send "FOO"
        expect 500 5.5.2
        send "QUIT"
        expect 221 2.0.0
    ''')
    for code, lines in replies[1:]:
        if lines[0].startswith('250-') or lines == ['250 ' + HOSTNAME]:
            continue
        for ln in lines:
            assert ln[4:5].isdigit() and ln[5] == '.', ln


def test_sequence_errors(smtpd):
    smtpscript.run(smtpd.port, r'''
        expect 220
        send "RCPT TO:<check@mailtest.example>"
        expect 503 5.5.1 "need MAIL"
        send "DATA"
        expect 503 5.5.1
        send "EHLO c.example"
        expect 250
        send "DATA"
        expect 503 5.5.1 "need MAIL"
        send "MAIL FROM:<>"
        expect 250 2.1.0
        send "MAIL FROM:<>"
        expect 503 5.5.1 "nested MAIL"
        send "DATA"
        expect 554 5.5.1 "no valid recipients"
        send "RSET"
        expect 250 2.0.0
        send "RCPT TO:<check@mailtest.example>"
        expect 503 5.5.1
        send "STARTTLS now"
        expect 501 5.5.4
        send "DATA extra"
        expect 501 5.5.4
        send "QUIT now"
        expect 501 5.5.4
        send "QUIT"
        expect 221
        expect-closed
    ''')


@pytest.mark.parametrize('rcpt,why', [
    ('<someone@mailtest.example>', 'not a check address'),
    ('<check@evil.example>', 'another domain: relaying'),
    ('<check@sub.mailtest.example>', 'a subdomain'),
    ('<check%evil.example@mailtest.example>', 'percent hack'),
    ('<check+x%evil.example@mailtest.example>', 'percent hack behind a tag'),
    ('<evil.example!check@mailtest.example>', 'bang path'),
    ('<"check@evil.example"@mailtest.example>', 'quoted local part with @'),
    ('<@relay.example:check@mailtest.example>', 'source route'),
    ('<@a.example,@b.example:check@mailtest.example>', 'source route of two hops'),
    ('<check+a/b@mailtest.example>', 'tag with a bad character'),
    ('<postmaster>', 'postmaster is not a check address'),
])
def test_relay_and_non_check_recipients_refused(smtpd, rcpt, why):
    smtpscript.run(smtpd.port, r'''
        expect 220
        send "EHLO c.example"
        expect 250
        send "MAIL FROM:<a@b.example>"
        expect 250
        send %r
        expect 550 5.7.1
        send "DATA"
        expect 554 5.5.1
        send "QUIT"
        expect 221
    ''' % ('RCPT TO:' + rcpt))


@pytest.mark.parametrize('rcpt,code', [
    ('check@mailtest.example', '501 5.1.3'),          # no angle brackets
    ('<check@mailtest.example', '501 5.1.3'),
    ('<check@mailtest.example@evil.example>', '501 5.1.3'),
    ('<check@mailtest.example> NOTIFY=NEVER', '555 5.5.4'),   # no DSN
    ('<ch\xe9ck@mailtest.example>', '553 5.6.7'),     # UTF-8 without SMTPUTF8
])
def test_recipient_syntax_errors(smtpd, rcpt, code):
    c = smtpscript.Client(smtpd.port)
    c.expect(220)
    c.send('EHLO c.example')
    c.expect(250)
    c.send('MAIL FROM:<a@b.example>')
    c.expect(250)
    c.send('RCPT TO:' + rcpt)
    c.expect(int(code[:3]), code[4:])
    c.close()


@pytest.mark.parametrize('mail,code', [
    ('<a@b.example> SIZE=20000000', '552 5.3.4'),
    ('<a@b.example> SIZE=99999999999999999999', '552 5.3.4'),
    ('<a@b.example> RET=FULL', '555 5.5.4'),
    ('<a@b.example> BODY=BINARYMIME', '501 5.5.4'),
    ('<a@b.example> SIZE=1 SIZE=2', '501 5.5.4'),
    ('<@relay.example:a@b.example>', '553 5.1.7'),
    ('a@b.example', '501 5.1.7'),
    ('<a@b..example>', '501 5.1.7'),
    ('<\xe9@b.example>', '553 5.6.7'),
])
def test_sender_refusals(smtpd, mail, code):
    c = smtpscript.Client(smtpd.port)
    c.expect(220)
    c.send('EHLO c.example')
    c.expect(250)
    c.send('MAIL FROM:' + mail)
    c.expect(int(code[:3]), code[4:])
    c.close()


def test_mail_parameters_need_ehlo(smtpd):
    smtpscript.run(smtpd.port, r'''
        expect 220
        send "HELO c.example"
        expect 250
        send "MAIL FROM:<a@b.example> SIZE=100"
        expect 555 5.5.4
        send "MAIL FROM:<a@b.example>"
        expect 250 2.1.0
    ''')


def test_smtputf8_message(smtpd):
    replies = smtpscript.run(smtpd.port, r'''
        expect 220
        send "EHLO c.example"
        expect 250
        send "MAIL FROM:<\u00e9l\u00e8ve@b.example> SMTPUTF8 BODY=8BITMIME"
        expect 250 2.1.0
        send "RCPT TO:<check@mailtest.example>"
        expect 250 2.1.5
        send "DATA"
        expect 354
        sendraw "Subject: \u00e9t\u00e9\r\n\r\nb\u00f6dy\r\n.\r\n"
        expect 250 2.0.0
    ''')
    msgid = replies[-1][1][0].split()[-1]
    smtpd.wait_processed(msgid)
    assert smtpd.report(msgid)['envelope']['mail_from'] == '\u00e9l\u00e8ve@b.example'


def test_bad_commands_and_control_characters(smtpd):
    smtpscript.run(smtpd.port, r'''
        expect 220
        send "EHLO"
        expect 501 5.5.4
        send "EHLO two words"
        expect 501 5.5.4
        send "NOOP\x00x"
        expect 500 5.5.2 "control character"
        sendraw "NOOP\nRSET\r\n"
        expect 500 5.5.2 "bare LF"
        sendraw "NOOP\rRSET\r\n"
        expect 500 5.5.2
        send ""
        expect 500 5.5.2
        send "MAIL TO:<a@b>"
        expect 501 5.5.4
    ''')


def test_http_request_closes_the_session(smtpd):
    smtpscript.run(smtpd.port, r'''
        expect 220
        sendraw "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
        expect 421 4.7.0
        expect-closed
    ''')
    assert 'forbidden command=GET' in smtpd.log()


def test_pipelining_one_write(smtpd):
    """RFC 2920: the whole group in one write, the replies in order."""
    c = smtpscript.Client(smtpd.port)
    c.expect(220)
    c.sendraw('EHLO c.example\r\nMAIL FROM:<a@b.example>\r\n'
              'RCPT TO:<nobody@mailtest.example>\r\nRCPT TO:<check@mailtest.example>\r\n'
              'RCPT TO:<check+text@mailtest.example>\r\nDATA\r\n')
    c.expect(250)
    c.expect(250, '2.1.0')
    c.expect(550, '5.7.1')
    c.expect(250, '2.1.5')
    c.expect(250, '2.1.5')
    c.expect(354)
    c.sendraw(message('pipelined') + '.\r\nMAIL FROM:<>\r\nRCPT TO:<check@mailtest.example>\r\n'
              'DATA\r\n')
    msgid = c.expect(250, '2.0.0')[0].split()[-1]
    c.expect(250, '2.1.0')
    c.expect(250, '2.1.5')
    c.expect(354)
    c.sendraw(message('second') + '.\r\nQUIT\r\n')
    msgid2 = c.expect(250, '2.0.0')[0].split()[-1]
    c.expect(221)
    c.expect_closed()
    smtpd.wait_processed(msgid)
    smtpd.wait_processed(msgid2)
    rep = smtpd.report(msgid)
    assert rep['envelope']['rcpt'] == ['check@mailtest.example', 'check+text@mailtest.example']
    assert smtpd.report(msgid2)['envelope']['mail_from'] == ''


def test_duplicate_recipient_kept_once(smtpd):
    replies = smtpscript.run(smtpd.port, r'''
        expect 220
        send "EHLO c.example"
        expect 250
        send "MAIL FROM:<a@b.example>"
        expect 250
        send "RCPT TO:<check@mailtest.example>"
        expect 250 2.1.5
        send "RCPT TO:<CHECK@MailTest.Example>"
        expect 250 2.1.5
        send "DATA"
        expect 354
        sendraw "Subject: x\r\n\r\nx\r\n.\r\n"
        expect 250 2.0.0
    ''')
    msgid = replies[-1][1][0].split()[-1]
    smtpd.wait_processed(msgid)
    assert smtpd.report(msgid)['envelope']['rcpt'] == ['check@mailtest.example']


def test_ipv6_listener(smtpd_factory):
    d = smtpd_factory(start=False)
    d.conf['listen'] = '127.0.0.1:%d, [::1]:%d' % (d.port, d.port)
    d.start()
    for host in ('127.0.0.1', '::1'):
        replies = smtpscript.run(d.port, r'''
            expect 220
            send "EHLO c.example"
            expect 250
            send "MAIL FROM:<a@b.example>"
            expect 250
            send "RCPT TO:<check@mailtest.example>"
            expect 250
            send "DATA"
            expect 354
            sendraw "Subject: v6\r\n\r\nx\r\n.\r\n"
            expect 250 2.0.0
            send "QUIT"
            expect 221
        ''', host=host)
        msgid = replies[-2][1][0].split()[-1]
        d.wait_processed(msgid)
        assert d.report(msgid)['envelope']['client_ip'] == host
    assert 'listen addr=[::1]:%d' % d.port in d.log()


def test_early_talker_refused(smtpd_factory):
    d = smtpd_factory(smtp_greet_pause_ms=400)
    c = smtpscript.Client(d.port)
    c.sendraw('EHLO c.example\r\nMAIL FROM:<a@b.example>\r\n')
    c.expect(554, '5.5.1', 'before the greeting')
    c.expect_closed()
    assert 'reason=early-talker' in d.log()
    # a client that waits for the banner is served
    smtpscript.run(d.port, r'''
        expect 220
        send "EHLO c.example"
        expect 250
    ''')
