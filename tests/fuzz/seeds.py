#!/usr/bin/python3
"""Write the hand-made seed corpora of the fuzz targets (tests/fuzz/corpus/).

Run from anywhere: /usr/bin/python3 tests/fuzz/seeds.py.  It (re)writes only
the files named seed-*; regression inputs (crash-*, regress-*) added by hand
are left alone.  DNS packets are built with dnslib (python3-dnslib, the
library of the test DNS server), plus hand-made malformed ones.
"""
import os
import struct
import sys

from dnslib import (AAAA, CNAME, MX, NS, PTR, QTYPE, RCODE, RR, SOA, TXT, A,
                    DNSHeader, DNSRecord, DNSQuestion)

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = os.path.join(HERE, 'corpus')


def write(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode('utf-8', 'surrogateescape')
    with open(os.path.join(d, 'seed-' + name), 'wb') as f:
        f.write(data)


# ---------------------------------------------------------------- msg
MSGS = {
    'crlf': 'From: Alice <alice@example.com>\r\nTo: bob@example.net\r\n'
            'Subject: hello\r\n\r\nbody\r\n',
    'lf': 'From: alice@example.com\nSubject: x\n\nbody\n',
    'folded': 'From: "Alice, A." <alice@example.com>\r\nSubject: a\r\n b\r\n\tc\r\n'
              'To: one@example.net,\r\n two@example.org\r\n\r\n',
    'group': 'From: alice@example.com\r\nTo: Undisclosed:;\r\n'
             'Cc: friends: a@x.example, "b c" <b@y.example>;, d@z.example\r\n\r\n',
    'comments': 'From: (comment (nested)) alice(x)@(y)example.com (z)\r\n\r\n',
    'quoted': 'From: "a\\"b\\\\c"@example.com\r\nReply-To: "quoted local"@example.org\r\n\r\n',
    'literal': 'From: user@[192.0.2.1]\r\nSender: x@[IPv6:2001:db8::1]\r\n\r\n',
    'mbox': 'From alice@example.com Mon Jan  1 00:00:00 2024\n'
            'From: alice@example.com\n\nbody\n',
    'two-from': 'From: a@example.com\r\nFrom: b@example.com\r\n\r\n',
    'multi-from': 'From: a@example.com, b@example.org\r\n\r\n',
    'utf8': 'From: =?utf-8?q?J=C3=B6rg?= <j@example.com>\r\n'
            'Subject: gr\u00fc\u00dfe \u2603\r\nTo: \u00e9l\u00e8ve@\u00e9cole.example\r\n\r\n',
    'bad-utf8': b'From: a@example.com\r\nSubject: \xff\xfe\xc3\r\n\r\n'.decode('latin-1'),
    'no-body': 'From: a@example.com\r\nTo: b@example.com\r\n',
    'dkim': 'DKIM-Signature: v=1; a=rsa-sha256; c=relaxed/simple; d=example.com;\r\n'
            ' s=sel; h=from:to:subject; bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n'
            ' b=AuUoFEfDxTDkHlLXSZEpZj79LICEps6eda7W3deTVFOk4yAUoqOB\r\n'
            '\t 4nujc7YopdG5dWLSdNg6xNAZpOPr+kHxt1IrE+NahM6L/LbvaHut\r\n'
            'From: Joe SixPack <joe@football.example.com>\r\n'
            'To: Suzie Q <suzie@shopping.example.net>\r\n\r\nHi.\r\n',
    'route': 'From: <@relay.example:alice@example.com>\r\n\r\n',
    'obs-list': 'To: ,, a@example.com ,,, b@example.com,\r\n\r\n',
    'empty-value': 'From:\r\nTo: \r\nReply-To:   \r\n\r\n',
    'space-before-colon': 'From : a@example.com\r\n\r\n',
    'cont-first': ' folded: nothing\r\n\r\n',
    'nul-header': 'From: a\x00b@example.com\r\n\r\n',
    'nul-body': 'From: a@example.com\r\n\r\nbody\x00with NUL\r\n',
    'bare-cr': 'From: a@example.com\rX-Injected: 1\r\nTo: b@[x\ry]\r\n\r\n',
    'crlf-in-quoted': 'From: "a\\\r\n b"@example.com\r\nTo: x@[a\r\n b]\r\n\r\n',
    'unterminated': 'From: "never closed@example.com\r\nTo: (open comment a@b\r\n'
                    'Cc: x@[1.2.3.4\r\n\r\n',
}


def msg_seeds():
    for k, v in MSGS.items():
        write('msg', k, v)
    write('msg', 'many-fields', ''.join('X-F%d: v\r\n' % i for i in range(40)) +
          'From: a@example.com\r\n\r\n')
    write('msg', 'many-addrs', 'To: ' + ', '.join('u%d@example.com' % i for i in range(105)) +
          '\r\n\r\n')


# ---------------------------------------------------------------- config
CONFIGS = {
    'example': '# mailtest.conf\nhostname mx.example.net\nlisten 127.0.0.1:25, [::1]:25\n'
               'check_address = "check@example.net, test@example.net"\n'
               'message_size_limit 20M\nretry_max 2h\ntls no\nworkers 8\n'
               'smtp_bare_lf normalize\nlog_level debug\n',
    'equals': 'workers=4\nsmtp_idle_timeout = 5m\nreport_retention\t30d\n',
    'every-type': 'spool_dir /var/spool/mailtest\nshutdown_timeout 1h\nsmtp_max_line 64k\n'
                  'reply yes\nrelay_tls require\ndns_server 127.0.0.1:5353 [::1]:53\n'
                  'dns_timeout_ms 500\ndkim_sign_algorithm ed25519-sha256\n',
    'bad-key': 'listen 127.0.0.1:25\nbogus_key 1\n',
    'twice': 'workers 2\nworkers 3\n',
    'range': 'workers 0\n',
    'overflow': 'message_size_limit 9999999999999999999G\n',
    'list-too-long': 'listen ' + ', '.join('127.0.0.%d:25' % i for i in range(20)) + '\n',
    'quotes': 'hostname "\n',
    'long-line': 'hostname ' + 'x' * 4200 + '\n',
    'crlf': 'workers 4\r\ntls no\r\n',
    'nul': 'workers 4\x00junk\ntls no\n',
    'empty': '',
    'comment-only': '# nothing\n\n   \n\t# still nothing\n',
}


def config_seeds():
    for k, v in CONFIGS.items():
        write('config', k, v)
    # config_set() mode: 0xff, key index, value; and KEY\0VALUE
    for i, val in enumerate([b'10M', b'5m', b'yes', b'a, b, c', b'-1', b'3d', b'9' * 30,
                             b'debug', b'1k']):
        write('config', 'set-%d' % i, b'\xff' + bytes([i * 7]) + val)
    write('config', 'set-kv', b'message_size_limit\x0010G')
    write('config', 'set-kv-dur', b'retry_min\x0099999999999999d')


# ---------------------------------------------------------------- dns_answer
QTYPES = ['A', 'AAAA', 'MX', 'TXT', 'PTR', 'CNAME', 'NS', 'SPF']
QNAMES = ['example.com', 'Example.COM.', 'a.example.com', '1.2.0.192.in-addr.arpa']


def sel(qtype, qname_index=0):
    return bytes([QTYPES.index(qtype) + 8 * qname_index])


def response(qname, qtype, answers=(), auth=(), rcode=0, ad=False):
    h = DNSHeader(id=0x1234, qr=1, rd=1, ra=1, rcode=rcode, ad=int(ad))
    r = DNSRecord(h, q=DNSQuestion(qname, getattr(QTYPE, qtype) if qtype != 'SPF' else 99))
    for a in answers:
        r.add_answer(a)
    for a in auth:
        r.add_auth(a)
    return r.pack()


def soa(name='example.com', minimum=300):
    return RR(name, QTYPE.SOA, ttl=3600,
              rdata=SOA('ns.example.com', 'hostmaster.example.com', (1, 7200, 900, 1209600, minimum)))


def dns_seeds():
    ex = 'example.com'
    write('dns_answer', 'a', sel('A') + response(ex, 'A', [RR(ex, QTYPE.A, rdata=A('192.0.2.1'), ttl=300)]))
    write('dns_answer', 'a-secure', sel('A') + response(ex, 'A', [RR(ex, QTYPE.A, rdata=A('192.0.2.1'))], ad=True))
    write('dns_answer', 'aaaa', sel('AAAA') + response(ex, 'AAAA', [RR(ex, QTYPE.AAAA, rdata=AAAA('2001:db8::1'))]))
    write('dns_answer', 'mx', sel('MX') + response(ex, 'MX', [
        RR(ex, QTYPE.MX, rdata=MX('mx1.example.com', 10)),
        RR(ex, QTYPE.MX, rdata=MX('mx2.example.net', 20))]))
    write('dns_answer', 'txt', sel('TXT') + response(ex, 'TXT', [
        RR(ex, QTYPE.TXT, rdata=TXT([b'v=spf1 ip4:192.0.2.0/24 ', b'include:_spf.example.net -all'])),
        RR(ex, QTYPE.TXT, rdata=TXT([b'google-site-verification=abc']))]))
    write('dns_answer', 'txt-empty-string', sel('TXT') + response(ex, 'TXT', [
        RR(ex, QTYPE.TXT, rdata=TXT([b'']))]))
    write('dns_answer', 'spf99', sel('SPF') + response(ex, 'SPF', [
        RR(ex, 99, rdata=TXT([b'v=spf1 -all']))]))
    rev = '1.2.0.192.in-addr.arpa'
    write('dns_answer', 'ptr', sel('PTR', 3) + response(rev, 'PTR', [RR(rev, QTYPE.PTR, rdata=PTR('mail.example.com'))]))
    write('dns_answer', 'ns', sel('NS') + response(ex, 'NS', [RR(ex, QTYPE.NS, rdata=NS('ns1.example.com'))]))
    write('dns_answer', 'cname-chain', sel('A', 2) + response('a.example.com', 'A', [
        RR('a.example.com', QTYPE.CNAME, rdata=CNAME('b.example.com')),
        RR('b.example.com', QTYPE.CNAME, rdata=CNAME('c.example.net')),
        RR('c.example.net', QTYPE.A, rdata=A('192.0.2.7'))]))
    write('dns_answer', 'cname-out', sel('TXT', 2) + response('a.example.com', 'TXT', [
        RR('a.example.com', QTYPE.CNAME, rdata=CNAME('elsewhere.example.net'))]))
    write('dns_answer', 'cname-loop', sel('A', 2) + response('a.example.com', 'A', [
        RR('a.example.com', QTYPE.CNAME, rdata=CNAME('b.example.com')),
        RR('b.example.com', QTYPE.CNAME, rdata=CNAME('a.example.com'))]))
    write('dns_answer', 'cname-asked', sel('CNAME', 2) + response('a.example.com', 'CNAME', [
        RR('a.example.com', QTYPE.CNAME, rdata=CNAME('b.example.com'))]))
    write('dns_answer', 'nxdomain-soa', sel('A') + response(ex, 'A', auth=[soa()], rcode=RCODE.NXDOMAIN))
    write('dns_answer', 'nodata-soa', sel('MX') + response(ex, 'MX', auth=[soa(minimum=60)]))
    write('dns_answer', 'nodata-no-soa', sel('TXT') + response(ex, 'TXT'))
    write('dns_answer', 'servfail', sel('A') + response(ex, 'A', rcode=RCODE.SERVFAIL))
    write('dns_answer', 'other-owner', sel('A') + response(ex, 'A', [
        RR('other.example.com', QTYPE.A, rdata=A('192.0.2.8'))]))
    write('dns_answer', 'case', sel('A', 1) + response('eXample.cOm', 'A', [
        RR('EXAMPLE.com', QTYPE.A, rdata=A('192.0.2.9'), ttl=0xffffffff)]))
    write('dns_answer', 'many-a', sel('A') + response(ex, 'A', [
        RR(ex, QTYPE.A, rdata=A('192.0.2.%d' % (i % 256))) for i in range(260)]))
    # hand-made malformed packets (qname example.com, type A)
    hdr = struct.pack('>HHHHHH', 0x1234, 0x8180, 1, 1, 0, 0)
    q = b'\x07example\x03com\x00\x00\x01\x00\x01'
    write('dns_answer', 'short', sel('A') + hdr[:7])
    write('dns_answer', 'header-only', sel('A') + hdr)
    write('dns_answer', 'ptr-loop', sel('A') + hdr + q + b'\xc0\x1d' + b'\x00\x01\x00\x01' +
          b'\x00\x00\x00\x3c\x00\x04\xc0\x00\x02\x01')
    write('dns_answer', 'ptr-past-end', sel('A') + hdr + q + b'\xc0\xff\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\x00\x02\x01')
    write('dns_answer', 'rdlen-past-end', sel('A') + hdr + q + b'\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x40\xc0\x00')
    write('dns_answer', 'txt-len-past-rdlen', sel('TXT') + struct.pack('>HHHHHH', 1, 0x8180, 1, 1, 0, 0) +
          b'\x07example\x03com\x00\x00\x10\x00\x01' + b'\xc0\x0c\x00\x10\x00\x01\x00\x00\x00\x3c\x00\x04\x09abc')
    write('dns_answer', 'a-rdlen-3', sel('A') + hdr + q + b'\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x03\xc0\x00\x02')
    write('dns_answer', 'root-owner', sel('A') + hdr + q + b'\x00\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\x00\x02\x01')
    write('dns_answer', 'cname-to-root', sel('A') + hdr + q + b'\xc0\x0c\x00\x05\x00\x01\x00\x00\x00\x3c\x00\x01\x00')
    write('dns_answer', 'ancount-lies', sel('A') + struct.pack('>HHHHHH', 1, 0x8180, 1, 0xffff, 0xffff, 0) + q +
          b'\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04\xc0\x00\x02\x01')


# ---------------------------------------------------------------- report
def report(ctl, strings):
    ctl = bytes(ctl) + bytes(16 - len(ctl))
    return ctl + b'\x00'.join(s.encode('utf-8', 'surrogateescape') if isinstance(s, str) else s
                              for s in strings)


def report_seeds():
    # results: 0 none 1 pass 2 fail 3 softfail 4 neutral 5 policy 6 temperror
    # 7 permerror 8 unknown 9 discard 10 nxdomain
    plain = ['192.0.2.1', 'mail.example.com', 'alice@example.com', 'check@mailtest.example',
             '\x7f', 'Alice <alice@example.com>', 'alice@example.com', 'example.com',
             '<id@example.com>', 'hello']
    write('report', 'plain', report([1, 1, 1, 1, 1, 1, 0, 0, 0, 8, 1, 1, 5, 1, 1], plain))
    write('report', 'hostile', report([2, 7, 6, 3, 7, 2, 100, ord('r'), ord('s'), 2, 2, 2, 9, 1, 3], [
        '"; dkim=pass', 'x\r\nX-Injected: yes', 'a;b@example.com', '(comment', ')',
        '<script>alert(1)</script>', '\\', '"', 'v=spf1 include:a;b -all', '\x00',
        'pass (really)', 'caf\u00e9', b'\xff\xfe invalid', b'\xc3', b'\xed\xa0\x80',
        ' leading and trailing ', 'tab\there', 'x' * 300, '=?utf-8?q?x?=', '']))
    write('report', 'nulls', report([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], ['\x7f']))
    # 20 signatures (control byte 251) with long values: past the A-R budget
    write('report', 'many-dkim', report([1, 1, 1, 251, 5, 2, 0, 0, 0, 2, 6, 0, 0, 0, 0], [
        'd' * 300 + '.example', 's"' * 200, '@' + 'i' * 300, 'rsa-sha256;' * 30, 'rsa',
        'relaxed/relaxed', 'from:to', 'abcdefghij', 'v=DKIM1; k=rsa; p=MIGf',
        'too-many-signatures', 'not verified: more than 16 DKIM signatures ' + 'r\\' * 200]))
    write('report', 'empty', b'')


# ---------------------------------------------------------------- adsp
ADSP = {
    'all': 'dkim=all', 'unknown': 'dkim=unknown', 'discardable': 'dkim=discardable',
    'spaces': ' dkim = all ; ', 'other-tags': 'x=y; dkim=all; z=1', 'upper': 'DKIM=all',
    'twice': 'dkim=all; dkim=unknown', 'no-dkim': 'a=b', 'empty-value': 'dkim=',
    'empty': '', 'semis': ';;dkim=all;;', 'no-equals': 'dkim all', 'bad-name': '1x=2; dkim=all',
    'ctl-in-value': 'dkim=a\x01l', 'nul': 'dkim=all\x00', 'tab': 'dkim\t=\tall\t',
    'inner-wsp': 'dkim=al l', 'long-name': 'x' * 40 + '=1; dkim=all',
    'many-tags': ';'.join('t%d=v' % i for i in range(33)) + ';dkim=all',
    'eight-bit': 'dkim=\u00e4ll',
}


def adsp_seeds():
    for k, v in ADSP.items():
        write('adsp', k, v)


# ---------------------------------------------------------------- smtp_cmd
SMTP_CMDS = {
    'mail': 'MAIL FROM:<alice@example.com> SIZE=1000 BODY=8BITMIME',
    'mail-null': 'MAIL FROM:<>',
    'mail-space': 'MAIL FROM: <a@b.example> SMTPUTF8',
    'mail-dup-param': 'MAIL FROM:<a@b.example> SIZE=1 SIZE=2',
    'mail-huge-size': 'MAIL FROM:<a@b.example> SIZE=999999999999999999999',
    'rcpt': 'RCPT TO:<check@mailtest.example>',
    'rcpt-tag': 'RCPT TO:<check+ci-42.from@MailTest.Example>',
    'rcpt-tag-bad': 'RCPT TO:<check+a/b@mailtest.example>',
    'rcpt-other': 'RCPT TO:<test.x+t@example.org>',
    'rcpt-postmaster': 'RCPT TO:<Postmaster>',
    'source-route': 'RCPT TO:<@relay.example,@b.example:user@c.example>',
    'percent': 'RCPT TO:<user%other.example@mailtest.example>',
    'bang': 'RCPT TO:<other.example!user@mailtest.example>',
    'quoted-at': 'RCPT TO:<"user@other.example"@mailtest.example>',
    'quoted': 'MAIL FROM:<"a b\\"c"@example.com>',
    'literal4': 'MAIL FROM:<a@[192.0.2.1]>',
    'literal6': 'MAIL FROM:<a@[IPv6:2001:db8::1]>',
    'utf8': 'MAIL FROM:<\u00e9l\u00e8ve@\u00e9cole.example> SMTPUTF8',
    'bad-utf8': b'MAIL FROM:<a\xff@example.com>',
    'ehlo': 'EHLO client.example.com',
    'helo-ctl': 'HELO a\x01b',
    'nul': 'NOOP\x00x',
    'long-local': 'MAIL FROM:<' + 'a' * 65 + '@example.com>',
    'long-domain': 'MAIL FROM:<a@' + '.'.join(['b' * 63] * 5) + '>',
    'get': 'GET / HTTP/1.0',
    'starttls': 'STARTTLS',
    'trailing-space': 'QUIT   ',
    'lower': 'mail from:<a@b.example> body=7bit',
    'dash-label': 'RCPT TO:<a@-b.example>',
}


def smtp_cmd_seeds():
    for k, v in SMTP_CMDS.items():
        write('smtp_cmd', k, v)


# ---------------------------------------------------------------- smtp_data
def data_input(body, normalize=0, max_line=250, max_size=0, cuts=()):
    ctl = bytes([normalize, max_line, max_size, len(cuts)])
    cut = b''.join(bytes([c >> 8, c & 255]) for c in cuts)
    if isinstance(body, str):
        body = body.encode('latin-1')
    return ctl + cut + body


DATA = {
    'simple': 'Subject: x\r\n\r\nhello\r\n.\r\nMAIL FROM:<a@b>\r\n',
    'empty': '.\r\n',
    'stuffed': '..leading dot\r\n.\r\n',
    'stuffed-alone': '..\r\n.\r\n',
    'bare-lf-dot': 'a\n.\nb\r\n.\r\n',
    'lf-dot-crlf': 'a\n.\r\nb\r\n.\r\n',
    'cr-dot-cr': 'a\r.\rb\r\n.\r\n',
    'cr-dot-lf': 'a\r.\nb\r\n.\r\n',
    'nul-dot': 'a\r\n\x00.\r\nb\r\n.\r\n',
    'dot-cr-x': 'a\r\n.\rx\r\n.\r\n',
    'no-end': 'a\r\nb\r\n',
    'cr-crlf': 'a\r\r\n.\r\n',
    'long-line': 'x' * 300 + '\r\n.\r\n',
}


def smtp_data_seeds():
    for k, v in DATA.items():
        write('smtp_data', k, data_input(v))
        write('smtp_data', k + '-normalize', data_input(v, normalize=1, cuts=(3, 7, 11)))
    write('smtp_data', 'too-big', data_input('a' * 100 + '\r\n.\r\n', max_size=2))
    write('smtp_data', 'split-terminator', data_input('ab\r\n.\r\n', cuts=(3, 4, 5, 6)))


# ---------------------------------------------------------------- session
def session_input(stream, ctl=(0, 0, 3, 100, 9, 5, 2, 0), cuts=()):
    c = list(ctl)
    c[7] = (c[7] & 3) | (len(cuts) << 2)
    cut = b''.join(bytes([x >> 8, x & 255]) for x in cuts)
    if isinstance(stream, str):
        stream = stream.encode('utf-8', 'surrogateescape')
    return bytes(c) + cut + stream


CHECK_ADDR = 'check@fuzz.example'
TX = ('EHLO client.example\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<%s>\r\nDATA\r\n' % CHECK_ADDR)
SESSIONS = {
    'normal': TX + 'Subject: hi\r\n\r\nbody\r\n.\r\nQUIT\r\n',
    'two-tx': TX + 'x\r\n.\r\n' + TX.replace('EHLO client.example\r\n', '') + 'y\r\n.\r\nQUIT\r\n',
    'helo': 'HELO c\r\nMAIL FROM:<>\r\nRCPT TO:<check+tag@fuzz.example>\r\nDATA\r\n.\r\nQUIT\r\n',
    'smuggle-lf': TX + 'a\r\n\n.\n' + 'MAIL FROM:<x@y.example>\r\nRCPT TO:<%s>\r\nDATA\r\nsmuggled\r\n.\r\n' % CHECK_ADDR + '\r\n.\r\nQUIT\r\n',
    'smuggle-cr': TX + 'a\r\n\r.\r' + 'MAIL FROM:<x@y.example>\r\n' + '\r\n.\r\n',
    'smuggle-nul': TX + 'a\r\n\x00.\r\nRSET\r\n.\r\n',
    'bad-commands': 'EHLO x\r\nFOO\r\nMAIL TO:<x>\r\nRCPT TO:<a@b.example>\r\nDATA\r\n\x01\r\nVRFY x\r\nHELP\r\nEXPN x\r\n',
    'relay': 'EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<u%v@fuzz.example>\r\nRCPT TO:<@a,@b:c@fuzz.example>\r\nRCPT TO:<u@other.example>\r\nDATA\r\n',
    'rcpt-limit': 'EHLO x\r\nMAIL FROM:<a@b.example>\r\n' + ''.join('RCPT TO:<check+t%d@fuzz.example>\r\n' % i for i in range(8)) + 'DATA\r\n.\r\n',
    'long-line': 'EHLO x\r\nNOOP ' + 'x' * 700 + '\r\nNOOP\r\n',
    'long-partial': 'EHLO x\r\nNOOP ' + 'y' * 5000,
    'long-text': TX + 'z' * 1200 + '\r\n.\r\nQUIT\r\n',
    'size-param': 'EHLO x\r\nMAIL FROM:<a@b.example> SIZE=99999999\r\nMAIL FROM:<a@b.example> SIZE=10\r\n',
    'big-message': TX + ('0123456789' * 50 + '\r\n') * 200 + '.\r\n',
    'received-loop': TX + 'Received: a\r\nReceived: b\r\nReceived: c\r\nReceived: d\r\nReceived: e\r\n\r\n.\r\n',
    'starttls': 'EHLO x\r\nSTARTTLS\r\nNOOP\r\n',
    'http': 'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
    'rset': TX + 'RSET\r\n.\r\nRSET\r\nQUIT\r\n',
    'no-ehlo': 'MAIL FROM:<a@b.example>\r\nRCPT TO:<x@y>\r\nDATA\r\nQUIT\r\n',
    'eof-in-data': TX + 'half a message',
    'utf8': 'EHLO x\r\nMAIL FROM:<\u00e9@\u00e9.example> SMTPUTF8\r\nRCPT TO:<%s>\r\nDATA\r\n\u00e9\r\n.\r\n' % CHECK_ADDR,
    'bare-lf-normalize': TX + 'a\nb\n.\r\n',
}


def session_seeds():
    for k, v in SESSIONS.items():
        write('session', k, session_input(v))
    write('session', 'normal-split', session_input(SESSIONS['normal'], cuts=(1, 10, 40, 60, 80, 95, 100)))
    write('session', 'normal-lazy-shutdown', session_input(SESSIONS['two-tx'], ctl=(0, 0, 3, 100, 9, 5, 2, 3)))
    write('session', 'normalize', session_input(SESSIONS['bare-lf-normalize'], ctl=(1, 0, 3, 100, 9, 5, 2, 0), cuts=(5, 50)))
    write('session', 'smuggle-normalize', session_input(SESSIONS['smuggle-lf'], ctl=(1, 0, 3, 100, 9, 5, 2, 0)))
    write('session', 'tiny-limits', session_input(SESSIONS['two-tx'], ctl=(0, 0, 0, 0, 0, 0, 0, 0)))


# ---------------------------------------------------------------- spf_record / spf_eval
SPF = {
    'simple': 'v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 include:_spf.example.net -all',
    'all-mechs': 'v=spf1 a mx/24 a:mail.example.com/24//64 mx:example.net ptr ptr:example.org '
                 'exists:%{i}._spf.%{d} ~all',
    'modifiers': 'v=spf1 redirect=_spf.example.com exp=explain.%{d} moo.cow-far_out=man:dog/cat',
    'macros': 'v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d2} include:%{o}.%{h}.%{v}.%{p}.%{s} -all',
    'dup-redirect': 'v=spf1 redirect=a.example redirect=b.example',
    'bad-cidr': 'v=spf1 ip4:192.0.2.0/33 a/0 ip6:::1/129',
    'bad-macro': 'v=spf1 exists:%{x} include:%{d0} a:%{c}.example',
    'qualifiers': 'v=spf1 +a -mx ~ptr ?all',
    'upper': 'V=SPF1 IP4:192.0.2.1 -ALL',
    'no-space': 'v=spf1',
    'spf2': 'v=spf10 -all',
    'ctl': 'v=spf1 a\x01 -all',
    'nul': 'v=spf1 a\x00b -all',
    'eight-bit': 'v=spf1 include:\u00e9.example -all',
    'long-label': 'v=spf1 include:' + 'x' * 70 + '.example',
    'many-terms': 'v=spf1 ' + ' '.join('ip4:10.0.%d.0/24' % i for i in range(100)) + ' -all',
    'trailing-dot': 'v=spf1 a:example.com. -all',
    'toplabel-digits': 'v=spf1 a:example.123 -all',
}
MACROS = ['%{s}', '%{l}.%{o}', '%{ir}.%{v}._spf.%{d}', '%{d2r}', '%{l1r-}', '%%%_%-',
          '%{S}', '%{c}%{r}%{t}', 'literal.example.', '%{i}' * 50, '%{d9999r.-+,/_=}',
          '%{p}.%{h}', '%', '%{', '%{d0}', 'a b']


def spf_seeds():
    for k, v in SPF.items():
        write('spf_record', k, b'\x01' + v.encode('utf-8', 'surrogateescape'))
    write('spf_record', 'body-only', b'\x00a mx -all')
    for i, m in enumerate(MACROS):
        # mode: bit 1 expand, bits 2..: value length from the end
        val = b'caf\xc3\xa9.a..b-c+d'
        write('spf_record', 'macro-%d' % i, bytes([2 | (len(val) << 2)]) + m.encode() + val)


def zone(*lines):
    return '\n'.join(lines) + '\n'


SPF_ZONES = {
    'pass-ip4': zone('example.com TXT v=spf1 ip4:192.0.2.0/24 -all'),
    'include': zone('example.com TXT v=spf1 include:_spf.example.net -all',
                    '_spf.example.net TXT v=spf1 ip4:192.0.2.1 ip6:2001:db8::/32 ~all'),
    'mx-a': zone('example.com TXT v=spf1 mx a:mail.example.com/24 -all',
                 'example.com MX 10 mx1.example.com', 'example.com MX 20 mx2.example.com',
                 'mx1.example.com A 192.0.2.1', 'mx2.example.com AAAA 2001:db8::1',
                 'mail.example.com A 192.0.2.77'),
    'ptr': zone('example.com TXT v=spf1 ptr -all',
                '1.2.0.192.in-addr.arpa PTR mail.example.com', 'mail.example.com A 192.0.2.1'),
    'redirect-exp': zone('example.com TXT v=spf1 redirect=_spf.example.com',
                         '_spf.example.com TXT v=spf1 -all exp=why.example.com',
                         'why.example.com TXT %{i} is not one of %{d}\'s hosts'),
    'exists-macro': zone('example.com TXT v=spf1 exists:%{ir}.%{l}._spf.%{d} -all',
                         '1.2.0.192.user._spf.example.com A 127.0.0.2'),
    'loop': zone('example.com TXT v=spf1 include:example.com -all'),
    'cname-loop': zone('example.com TXT v=spf1 include:a.example.com -all',
                       'a.example.com CNAME b.example.com', 'b.example.com CNAME a.example.com'),
    'servfail': zone('example.com TXT v=spf1 include:broken.example -all', 'broken.example SERVFAIL'),
    'two-records': zone('example.com TXT v=spf1 -all', 'example.com TXT v=spf1 +all'),
    'void': zone('example.com TXT v=spf1 a:n1.example a:n2.example a:n3.example -all'),
    'helo': zone('mail.example.com TXT v=spf1 a -all', 'mail.example.com A 192.0.2.1'),
    'huge-txt': zone('example.com TXT v=spf1 ' + 'ip4:10.%d.%d.0/24 ' * 0 + ' '.join(
        'ip4:10.%d.%d.0/24' % (i // 200, i % 200) for i in range(400)) + ' -all'),
}


def spf_eval_seeds():
    for k, v in SPF_ZONES.items():
        write('spf_eval', k, b'\x00' + v.encode())
    # 500 includes in a chain and a tree: the 10-term limit bounds the work
    chain = ['example.com TXT v=spf1 include:i0.example.com -all']
    chain += ['i%d.example.com TXT v=spf1 include:i%d.example.com -all' % (i, i + 1) for i in range(60)]
    write('spf_eval', 'include-chain', b'\x00' + zone(*chain).encode())
    tree = ['example.com TXT v=spf1 ' + ' '.join('include:t%d.example.com' % i for i in range(20)) + ' -all']
    tree += ['t%d.example.com TXT v=spf1 mx:m.example.com a:a%d.example.com -all' % (i, i) for i in range(20)]
    tree += ['m.example.com MX %d mx%d.example.com' % (i, i) for i in range(12)]
    write('spf_eval', 'include-tree', b'\x03' + zone(*tree).encode())


# ---------------------------------------------------------------- dmarc_record
DMARC = {
    'full': 'v=DMARC1; p=reject; sp=quarantine; np=none; adkim=s; aspf=r; pct=50; '
            'rua=mailto:a@example.com,mailto:b@example.net!10m; ruf=mailto:f@example.com; '
            'fo=0:1:d:s; ri=3600; rf=afrf; t=y; psd=n',
    'minimal': 'v=DMARC1; p=none',
    'spaces': 'v = DMARC1 ;p = quarantine ; ; ;',
    'bad-values': 'v=DMARC1; p=block; adkim=x; pct=150; rua=http://x; fo=9',
    'dups': 'v=DMARC1; p=none; p=reject; sp=none; sp=reject',
    'no-p-rua': 'v=DMARC1; rua=mailto:d@example.com',
    'lowercase-v': 'v=dmarc1; p=none',
    'v-not-first': 'p=none; v=DMARC1',
    'unknown-tags': 'v=DMARC1; p=none; foo=bar; x; =y; z=',
    'many-tags': 'v=DMARC1; ' + '; '.join('t%d=v' % i for i in range(80)),
    'many-uris': 'v=DMARC1; p=none; rua=' + ','.join('mailto:r%d@example.com' % i for i in range(40)),
    'nul': 'v=DMARC1; p=none\x00; sp=reject',
    'eight-bit': 'v=DMARC1; p=none; rua=mailto:\u00e9@example.com',
    'tab': 'v\t=\tDMARC1\t;\tp\t=\treject',
}


def dmarc_seeds():
    for k, v in DMARC.items():
        write('dmarc_record', k, b'\x00' + v.encode('utf-8', 'surrogateescape'))
    for i, d in enumerate(['a.b.c.d.e.f.g.h.i.j.example.com', 'Example.COM.', 'com', 'x..y', '.']):
        write('dmarc_record', 'walk-%d' % i, b'\x02' + d.encode())


# ---------------------------------------------------------------- dkim_key / dkim_sig / dkim
def dkim_seeds():
    sys.path.insert(0, os.path.dirname(HERE))
    import dkimsign
    for name in ('rsa2048', 'rsa1024', 'rsa512', 'ed25519'):
        k = dkimsign.key(name)
        write('dkim_key', name, k.txt)
        write('dkim_key', name + '-folded', k.txt.replace('p=', 'h=sha256:sha1 ; t=y:s;\r\n p=')
              .replace('A', '\r\n\tA', 3))
    pkcs1 = subprocess_pkcs1(os.path.join(dkimsign.KEYDIR, 'rsa1024.pem'))
    write('dkim_key', 'rsa-pkcs1', 'v=DKIM1; k=rsa; p=' + pkcs1)
    for k, v in {
        'revoked': 'v=DKIM1; p=', 'unknown-k': 'v=DKIM1; k=dsa; p=AAAA',
        'v-second': 'k=rsa; v=DKIM1; p=AAAA', 'v2': 'v=DKIM2; p=AAAA', 'no-p': 'v=DKIM1; k=rsa',
        'bad-b64': 'v=DKIM1; p=A===', 'dup': 'v=DKIM1; p=AAAA; p=AAAA', 'nul': 'v=DKIM1; p=AA\x00AA',
        'ed-wrong-len': 'v=DKIM1; k=ed25519; p=AAAA', 'bad-name': 'v=DKIM1; 1x=2; p=',
        'eight-bit': 'v=DKIM1; n=caf\u00e9; p=',
    }.items():
        write('dkim_key', k, v)

    msg = dkimsign.message('Joe <joe@example.com>', subject='fuzz seed')
    zone_lines = []
    for name in ('rsa2048', 'ed25519', 'rsa1024'):
        zone_lines.append('%s._domainkey.example.com TXT %s' % (name, dkimsign.key(name).txt))
    signed = {}
    signed['rsa'] = dkimsign.sign(msg, 'example.com', selector='rsa2048', key_name='rsa2048')
    signed['ed25519'] = dkimsign.sign(msg, 'example.com', selector='ed25519', key_name='ed25519')
    signed['both'] = dkimsign.sign(signed['rsa'], 'example.com', selector='ed25519', key_name='ed25519')
    signed['simple-l'] = dkimsign.sign(msg, 'example.com', selector='rsa1024', key_name='rsa1024',
                                       canon=('simple', 'simple'), length=True)
    signed['no-key'] = dkimsign.sign(msg, 'example.com', selector='missing', key_name='rsa2048')
    z = '\n'.join(zone_lines).encode()
    for k, v in signed.items():
        write('dkim', k, z + b'\n%%\n' + v)
        sig = v.split(b'\r\n\r\n', 1)[0].split(b'DKIM-Signature:', 1)[1]
        sig = sig.split(b'\r\nFrom:', 1)[0].split(b'\r\nDKIM-Signature:', 1)[0]
        write('dkim_sig', k, b'\x02' + sig)
    many = msg
    for i in range(20):
        many = dkimsign.sign(many, 'example.com', selector='rsa2048', key_name='rsa2048')
    write('dkim', 'twenty-sigs', z + b'\n%%\n' + many)
    write('dkim', 'servfail-key', b'rsa2048._domainkey.example.com SERVFAIL\n%%\n' + signed['rsa'])
    write('dkim', 'cname-key', b'rsa2048._domainkey.example.com CNAME k.example.net\n'
          b'k.example.net TXT ' + dkimsign.key('rsa2048').txt.encode() + b'\n%%\n' + signed['rsa'])
    for k, v in {
        'no-v': 'a=rsa-sha256; d=example.com; s=s; h=from; bh=AAAA; b=AAAA',
        'sha1': 'v=1; a=rsa-sha1; d=example.com; s=s; h=from; bh=AAAA; b=AAAA',
        'no-from': 'v=1; a=rsa-sha256; d=example.com; s=s; h=to:subject; bh=AAAA; b=AAAA',
        'i-outside': 'v=1; a=rsa-sha256; d=example.com; i=@evil.example; s=s; h=from; bh=AAAA; b=AAAA',
        'i-qp': 'v=1; a=rsa-sha256; d=example.com; i=a=40b@sub.example.com; s=s; h=from; bh=AAAA; b=AAAA',
        'expired': 'v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=AAAA; b=AAAA; t=100; x=200',
        'x-before-t': 'v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=AAAA; b=AAAA; t=200; x=100',
        'bad-d': 'v=1; a=rsa-sha256; d=exa mple.com; s=s; h=from; bh=AAAA; b=AAAA',
        'long-names': 'v=1; a=rsa-sha256; d=' + 'd' * 200 + '.example; s=' + 's' * 60 + '; h=from; bh=AAAA; b=AAAA',
        'hostile-q': 'v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=AAAA; b=AAAA; q=dns/txt:x\x7f',
        'l-huge': 'v=1; a=rsa-sha256; d=example.com; s=s; h=from; bh=AAAA; b=AAAA; l=99999999999999999999',
        'dup-tag': 'v=1; v=1; a=rsa-sha256',
    }.items():
        write('dkim_sig', k, b'\x02' + k.encode() * 0 + v.encode('latin-1'))


def subprocess_pkcs1(path):
    import base64
    import subprocess
    der = subprocess.run(['openssl', 'rsa', '-in', path, '-RSAPublicKey_out', '-outform', 'DER'],
                         check=True, capture_output=True).stdout
    return base64.b64encode(der).decode()


# ---------------------------------------------------------------- proxy
def proxy_v2(cmd=1, fam=1, proto=1, addr=b'\xc0\x00\x02\x01\xc6\x33\x64\x07\x9c\x40\x00\x19', tlv=b''):
    body = addr + tlv
    return (b'\r\n\r\n\x00\r\nQUIT\n' + bytes([0x20 | cmd, fam << 4 | proto]) +
            struct.pack('>H', len(body)) + body)


def proxy_seeds():
    v1 = {
        'tcp4': 'PROXY TCP4 192.0.2.1 198.51.100.7 40000 25\r\nEHLO x\r\n',
        'tcp6': 'PROXY TCP6 2001:db8::1 2001:db8::2 40000 25\r\n',
        'unknown': 'PROXY UNKNOWN whatever\r\n',
        'unknown-bare': 'PROXY UNKNOWN\r\n',
        'double-space': 'PROXY TCP4  192.0.2.1 198.51.100.7 1 2\r\n',
        'port-zero-lead': 'PROXY TCP4 192.0.2.1 198.51.100.7 01 2\r\n',
        'v6-in-tcp4': 'PROXY TCP4 2001:db8::1 ::1 1 2\r\n',
        'long': 'PROXY TCP6 ' + 'f' * 120 + '\r\n',
        'bare-cr': 'PROXY TCP4 1.2.3.4\r5.6.7.8 1 2\r\n',
        'smtp': 'EHLO client.example\r\n',
    }
    for k, v in v1.items():
        write('proxy', 'v1-' + k, b'\x00' + v.encode())
    write('proxy', 'v1-split', b'\x0e\x10\x40\x80\xc0' + v1['tcp4'].encode())
    write('proxy', 'v2-tcp4', b'\x00' + proxy_v2() + b'EHLO x\r\n')
    write('proxy', 'v2-tcp6', b'\x00' + proxy_v2(fam=2, addr=bytes(range(16)) + bytes(range(16, 32)) + b'\x9c\x40\x00\x19'))
    write('proxy', 'v2-local', b'\x00' + proxy_v2(cmd=0, fam=0, proto=0, addr=b''))
    write('proxy', 'v2-tlv', b'\x00' + proxy_v2(tlv=b'\x01\x00\x02h2\x04\x00\x00'))
    write('proxy', 'v2-unix', b'\x00' + proxy_v2(fam=3, addr=bytes(216)))
    write('proxy', 'v2-short', b'\x00' + proxy_v2(addr=b'\x01\x02'))
    write('proxy', 'v2-udp', b'\x00' + proxy_v2(proto=2))
    write('proxy', 'v2-split', b'\x06\x05\x0c\x0e\x10' + proxy_v2())
    for i, c in enumerate(['192.0.2.0/24', '10.0.0.0/8', '2001:db8::/32', '127.0.0.1', '::/0',
                           '0.0.0.0/0', '192.0.2.1/24', '10.0.0.0/33', '2001:db8::1/128']):
        write('proxy', 'cidr-%d' % i, b'\x01' + c.encode() + bytes(range(7, 23)))


# ---------------------------------------------------------------- report_human
def report_human_seeds():
    msg = ('From: "Evil <script>alert(1)</script>" <evil@example.com>\r\n'
           'Reply-To: x@example.net\r\nSubject: =?utf-8?q?caf=C3=A9?= \u202eevil\r\n'
           'Message-ID: <id"><script>@x>\r\n\r\nbody\r\n')
    hostile = [msg, 'sender@example.com', 'from', '<img src=x onerror=alert(1)>',
               'javascript:alert(1)', '"onmouseover="alert(1)', "' onclick='x",
               '&amp;&lt;', '\r\nBcc: victim@example.com', 'x\nSubject: injected',
               '\u202e\u2066bidi\u2069', '\x1b[31mansi', 'a' * 400, 'word ' * 100,
               '=?utf-8?b?PHNjcmlwdD4=?=', '\x00', b'\xff\xfe\xc3', 'caf\u00e9 \U0001f600',
               'line1\nline2\r\nline3\rline4', '<!--', ']]>', '</td></tr></table><h1>x']
    write('report_human', 'hostile', report([2, 7, 6, 3, 7, 2, 100, ord('r'), ord('s'), 2, 2, 2, 9, 1, 3],
                                            hostile))
    write('report_human', 'plain', report([1, 1, 1, 1, 1, 1, 0, 0, 0, 8, 1, 1, 5, 1, 1], [
        'From: a@example.com\r\nSubject: hi\r\nMessage-ID: <a@b>\r\n\r\n', 'a@example.com', '\x7f',
        '192.0.2.1', 'mail.example.com', 'alice@example.com']))
    write('report_human', 'tag-replyto', report([2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 2], [
        'From: a@example.com\r\nReply-To: "x\r\n y" <b\r\n @example.net>\r\n\r\n', 'a@example.com',
        'replyto', 'x' * 70, '\u00e9' * 40]))


def main():
    msg_seeds()
    config_seeds()
    dns_seeds()
    report_seeds()
    adsp_seeds()
    smtp_cmd_seeds()
    smtp_data_seeds()
    session_seeds()
    spf_seeds()
    spf_eval_seeds()
    dmarc_seeds()
    dkim_seeds()
    proxy_seeds()
    report_human_seeds()
    n = sum(len(os.listdir(os.path.join(CORPUS, d))) for d in os.listdir(CORPUS))
    print('%d files under %s' % (n, CORPUS))


if __name__ == '__main__':
    sys.exit(main())
