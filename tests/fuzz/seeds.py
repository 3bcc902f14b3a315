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


def main():
    msg_seeds()
    config_seeds()
    dns_seeds()
    report_seeds()
    adsp_seeds()
    n = sum(len(os.listdir(os.path.join(CORPUS, d))) for d in os.listdir(CORPUS))
    print('%d files under %s' % (n, CORPUS))


if __name__ == '__main__':
    sys.exit(main())
