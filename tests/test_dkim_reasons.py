"""Every DKIM error word (verify/verify.h) produced by a crafted case, the
corrections mailtest makes to libopendkim 2.11 (each citing its RFC), and
hostile signature fields.  Messages are signed with python3-dkim
(tests/dkimsign.py); tag_override() lets a test set t=, x= or h= in the
signature that dkimpy generates (the header hash still covers them)."""
import base64
import contextlib
import os
import time

import dkim
import pytest

import dkimsign

D = 'example.com'
NAME = 'sel._domainkey.' + D
KEYDIR = dkimsign.KEYDIR


def msg(body='Hello.\r\n', subject='reasons'):
    return dkimsign.message('Alice <alice@%s>' % D, subject=subject, body=body)


@contextlib.contextmanager
def tag_override(**tags):
    """Replace or add tags in the DKIM-Signature dkimpy generates."""
    orig = dkim.DKIM.gen_header

    def gen(self, fields, *a, **kw):
        want = {k.encode(): str(v).encode() for k, v in tags.items()}
        out = [(k, want.pop(k)) if k in want else (k, v) for k, v in fields]
        i = [k for k, _ in out].index(b'h')
        out[i:i] = list(want.items())
        return orig(self, out, *a, **kw)
    dkim.DKIM.gen_header = gen
    try:
        yield
    finally:
        dkim.DKIM.gen_header = orig


def sign(m=None, selector='sel', key='rsa2048', **kw):
    return dkimsign.sign(m or msg(), D, selector, key, **kw)


def rsa_p(name='rsa2048'):
    return dkimsign.key(name).txt.split('p=')[1]


def sig0(verify, dns, m, zone, extra=()):
    dns.set_zone(zone)
    out, _ = verify(m, extra=list(extra))
    assert len(out['dkim']) >= 1
    return out['dkim'][0]


# --------------------------------------------------------------- the words

def test_pass_reports_every_field(verify, dns):
    s = sig0(verify, dns, sign(length=True), {NAME: [{'TXT': dkimsign.key().txt}]})
    assert s['result'] == 'pass' and s['error'] is None
    assert (s['domain'], s['selector'], s['identity']) == (D, 'sel', '@' + D)
    assert (s['algorithm'], s['key_type'], s['key_bits']) == ('rsa-sha256', 'rsa', 2048)
    assert s['canonicalization'] == 'relaxed/simple'
    assert s['body_length'] == len(b'Hello.\r\n')
    assert s['timestamp'] > 1700000000 and s['expiration'] is None
    assert 'from' in s['signed_headers'].lower()
    assert s['key_record'] == dkimsign.key().txt
    assert s['testing'] is False and s['dnssec'] is False
    assert '2048-bit' in s['reason']


def test_body_hash_mismatch(verify, dns):
    m = sign() + b'-- \r\nfooter\r\n'
    s = sig0(verify, dns, m, {NAME: dkimsign.zone_entry()})
    assert (s['result'], s['error']) == ('fail', 'body-hash-mismatch')
    assert 'body was changed' in s['reason'] and 'footer' in s['reason']


def test_signature_mismatch(verify, dns):
    m = sign().replace(b'Subject: reasons', b'Subject: Reasons')
    s = sig0(verify, dns, m, {NAME: dkimsign.zone_entry()})
    assert (s['result'], s['error']) == ('fail', 'signature-mismatch')
    assert 'header field' in s['reason']


def test_signature_by_another_key_is_a_mismatch(verify, dns):
    s = sig0(verify, dns, sign(), {NAME: dkimsign.zone_entry('rsa1024')})
    assert (s['result'], s['error']) == ('fail', 'signature-mismatch')


@pytest.mark.parametrize('zone,how', [({}, 'NXDOMAIN'), ({NAME: []}, 'NODATA'),
                                      ({NAME: [{'A': '192.0.2.1'}]}, 'no TXT')])
def test_key_not_found_is_permerror(verify, dns, zone, how):
    """RFC 6376 6.1.2 step 3: a key record that does not exist is PERMFAIL (no
    key for signature).  libopendkim's resolver reports NXDOMAIN as a
    temporary failure; we correct it."""
    s = sig0(verify, dns, sign(), zone)
    assert (s['result'], s['error']) == ('permerror', 'key-not-found'), how
    assert NAME in s['reason']


@pytest.mark.parametrize('zone', [{NAME: [{'RCODE': 2}]}, {NAME: [{'TIMEOUT': True}]}])
def test_dns_failure_is_temperror(verify, dns, zone):
    """RFC 6376 6.1.2 step 2: the query fails to respond -> TEMPFAIL."""
    s = sig0(verify, dns, sign(), zone)
    assert (s['result'], s['error']) == ('temperror', 'dns-error')
    assert 'try again' in s['reason']


def test_key_revoked(verify, dns):
    """RFC 6376 3.6.1 / 6.1.2 step 7: an empty p= is a revoked key."""
    s = sig0(verify, dns, sign(), {NAME: [{'TXT': 'v=DKIM1; k=rsa; p='}]})
    assert (s['result'], s['error']) == ('permerror', 'key-revoked')


@pytest.mark.parametrize('record,why', [
    ('v=DKIM1; k=rsa; p=!!!notbase64', 'base64'),
    ('v=DKIM1; k=rsa', 'no p='),
    ('k=rsa; v=DKIM1; p=' + rsa_p(), 'not the first'),           # RFC 6376 3.6.1
    ('v=DKIM2; p=' + rsa_p(), 'v=DKIM2'),                        # discarded
    ('v=DKIM1; k=rsa; k=rsa; p=' + rsa_p(), 'twice'),            # RFC 6376 3.2
    ('v=DKIM1; p=' + base64.b64encode(b'\x30\x03\x02\x01\x01').decode(), 'RSA public key'),
    ('v=DKIM1 p=' + rsa_p(), 'only v=DKIM1'),    # one tag: v="DKIM1 p=..." 
    ('hello world', 'tag=value'),
])
def test_key_syntax(verify, dns, record, why):
    """RFC 6376 6.1.2 step 5: a record not in the format -> PERMFAIL (key syntax error)."""
    s = sig0(verify, dns, sign(), {NAME: [{'TXT': record}]})
    assert (s['result'], s['error']) == ('permerror', 'key-syntax'), s['reason']
    assert why in s['reason']


def test_ed25519_key_must_be_32_raw_bytes(verify, dns):
    """RFC 8463 4.2: p= is the raw 32-byte key, not SubjectPublicKeyInfo."""
    raw = dkimsign.key('ed25519').txt          # the right, raw 32-byte form
    spki = 'v=DKIM1; k=ed25519; p=' + rsa_p()  # a DER SubjectPublicKeyInfo
    s = sig0(verify, dns, sign(key='ed25519'), {NAME: [{'TXT': spki}]})
    assert (s['result'], s['error']) == ('permerror', 'key-syntax')
    assert '32-byte' in s['reason']
    s = sig0(verify, dns, sign(key='ed25519'), {NAME: [{'TXT': raw}]})
    assert s['result'] == 'pass'


def test_key_too_small(verify, dns):
    """RFC 8301 3.2: RSA keys under 1024 bits MUST NOT be accepted; the
    report says how big the key is and that the signature itself verifies."""
    s = sig0(verify, dns, sign(key='rsa512'), {NAME: dkimsign.zone_entry('rsa512')})
    assert (s['result'], s['error']) == ('permerror', 'key-too-small')
    assert s['key_bits'] == 512 and '512 bits' in s['reason']
    assert 'itself verifies' in s['reason']


def test_rsa1024_is_enough(verify, dns):
    s = sig0(verify, dns, sign(key='rsa1024'), {NAME: dkimsign.zone_entry('rsa1024')})
    assert s['result'] == 'pass' and s['key_bits'] == 1024


def test_key_too_large(verify, dns):
    """A key that does not fit libopendkim's 1024-byte key buffer (8192-bit)."""
    with open(os.path.join(KEYDIR, 'rsa8192.pub.txt')) as f:
        p = f.read().strip()
    s = sig0(verify, dns, sign(), {NAME: [{'TXT': 'v=DKIM1; k=rsa; p=' + p}]})
    assert (s['result'], s['error']) == ('permerror', 'key-too-large')
    assert '8192-bit' in s['reason']


@pytest.mark.parametrize('record,why', [
    ('v=DKIM1; h=sha1; p=' + rsa_p(), 'hash'),                   # RFC 6376 6.1.2 step 6
    ('v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=', 'key algorithm'),
    ('v=DKIM1; s=tlsrpt; p=' + rsa_p(), 'service'),              # RFC 6376 3.6.1 s=
    ('v=DKIM1; k=dsa; p=' + rsa_p(), 'key algorithm'),           # unknown k= ignored
])
def test_key_inappropriate(verify, dns, record, why):
    s = sig0(verify, dns, sign(), {NAME: [{'TXT': record}]})
    assert (s['result'], s['error']) == ('permerror', 'key-inappropriate'), s['reason']
    assert why in s['reason']


def test_key_t_s_forbids_subdomain_identity(verify, dns):
    """RFC 6376 3.6.1 t=s: i= must be in d= itself."""
    z = {NAME: [{'TXT': 'v=DKIM1; t=s; p=' + rsa_p()}]}
    s = sig0(verify, dns, sign(identity='alice@sub.' + D), z)
    assert (s['result'], s['error']) == ('permerror', 'key-inappropriate')
    s = sig0(verify, dns, sign(identity='alice@' + D), z)
    assert s['result'] == 'pass'


def test_key_accepted_forms(verify, dns):
    """Unknown tags ignored, h= listing sha256, s=email, t=y (testing), k= absent
    (RFC 6376 3.6.1); a record split into several strings is joined (3.6.2.2)."""
    rec = 'v=DKIM1; n=a note; g=*; h=sha1:sha256; s=email:*; t=y:x; p=' + rsa_p()
    s = sig0(verify, dns, sign(), {NAME: [{'TXT': [rec[:40], rec[40:300], rec[300:]]}]})
    assert s['result'] == 'pass', s['reason']
    assert s['testing'] is True and 'testing' in s['reason']
    assert s['key_record'] == rec


def test_pkcs1_rsa_public_key_is_accepted(verify, dns):
    """RFC 6376 3.6.1 names RSAPublicKey; libopendkim only reads
    SubjectPublicKeyInfo, so a bare PKCS#1 key is re-encoded for it."""
    import subprocess
    der = subprocess.run(['openssl', 'rsa', '-in', os.path.join(KEYDIR, 'rsa2048.pem'),
                          '-RSAPublicKey_out', '-outform', 'DER'],
                         capture_output=True, check=True).stdout
    rec = 'v=DKIM1; p=' + base64.b64encode(der).decode()
    s = sig0(verify, dns, sign(), {NAME: [{'TXT': rec}]})
    assert s['result'] == 'pass', s['reason']


def test_several_key_records_are_tried_in_turn(verify, dns):
    """RFC 6376 6.1.2 step 4: with several key records the verifier may cycle
    through them; we do, in the order given, so the verdict does not depend on
    which record a server lists first.  Records that do not parse are ignored."""
    good = dkimsign.key().txt
    other = dkimsign.key('rsa1024').txt
    for recs in ([other, good], [good, other], ['not a key', good], [good, 'v=spf1 -all']):
        s = sig0(verify, dns, sign(), {NAME: [{'TXT': r} for r in recs]})
        assert s['result'] == 'pass', (recs, s['reason'])
        assert 'RFC 6376 3.6.2.2' in s['reason']
    s = sig0(verify, dns, sign(), {NAME: [{'TXT': other}, {'TXT': other}]})
    assert (s['result'], s['error']) == ('fail', 'signature-mismatch')


def test_dnssec_flag(verify, dns):
    s = sig0(verify, dns, sign(), {NAME: [{'TXT': dkimsign.key().txt}, {'AD': True}]})
    assert s['result'] == 'pass' and s['dnssec'] is True


def test_syntax_errors(verify, dns):
    z = {NAME: dkimsign.zone_entry()}
    m = msg()
    for field, why in [
        (b'v=1; a=rsa-sha256; d=example.com; s=sel; h=from; bh=AAAA; b=AAAA; d=x.org', 'twice'),
        (b'v=2; a=rsa-sha256; d=example.com; s=sel; h=from; bh=AAAA; b=AAAA', 'v=2'),
        (b'a=rsa-sha256; d=example.com; s=sel; h=from; bh=AAAA; b=AAAA', 'no v='),
        (b'v=1; a=rsa-sha256; s=sel; h=from; bh=AAAA; b=AAAA', 'd='),
        (b'v=1; a=rsa-sha256; d=example.com; s=sel; h=from; bh=AAAA; b=', 'b='),
        (b'v=1; a=rsa-sha256; d=example.com; s=sel; h=from; bh=AA*A; b=AAAA', 'base64'),
        (b'v=1; a=rsa-sha256; c=fancy; d=example.com; s=sel; h=from; bh=AAAA; b=AAAA', 'c=fancy'),
        (b'v=1; a=rsa-sha256; q=http; d=example.com; s=sel; h=from; bh=AAAA; b=AAAA', 'q=http'),
        (b'v=1; a=rsa-sha256; d=example.com; i=a@example.org; s=sel; h=from; bh=AAAA; b=AAAA',
         'domain mismatch'),
        (b'v=1; a=rsa-sha256; d=example.com; s=sel; h=from; l=12x; bh=AAAA; b=AAAA', 'l='),
        (b'v=1; a=rsa-sha256; d=example.com; s=sel; h=from; t=20; x=10; bh=AAAA; b=AAAA',
         'not after'),
        (b'v=1; a=rsa-sha256; d=example.com; s=sel; h=from; x=1234567890123; bh=AAAA; b=AAAA',
         '12 digits'),
        (b'v=1; a=rsa-sha256; d=exa mple.com; s=sel; h=from; bh=AAAA; b=AAAA', 'DNS name'),
        (b'v=1; a=rsa-sha256; d=..; s=sel; h=from; bh=AAAA; b=AAAA', 'DNS name'),
        (b'v=1; a=rsa-sha256; d=example.com; s=sel; h=from; bh=AAAA; b=AAAA; x\xe9=1',
         'tag=value'),
    ]:
        s = sig0(verify, dns, b'DKIM-Signature: ' + field + b'\r\n' + m, z)
        assert (s['result'], s['error']) == ('permerror', 'syntax'), (field, s['reason'])
        assert why in s['reason'], (field, s['reason'])


def test_header_not_signed(verify, dns):
    """RFC 6376 5.4 / 6.1.1: h= without From -> PERMFAIL (From field not signed)."""
    with tag_override(h='subject:date'):
        m = sign()
    dns.reset_stats()
    s = sig0(verify, dns, m, {NAME: dkimsign.zone_entry()})
    assert (s['result'], s['error']) == ('permerror', 'header-not-signed')
    assert 'From' in s['reason']
    assert not [q for q, _ in dns.stats()['log'] if '_domainkey' in q]


def test_unsupported_algorithm(verify, dns):
    field = b'v=1; a=rsa-sha512; d=example.com; s=sel; h=from; bh=AAAA; b=AAAA'
    s = sig0(verify, dns, b'DKIM-Signature: ' + field + b'\r\n' + msg(), {})
    assert (s['result'], s['error']) == ('permerror', 'unsupported-algorithm')


def test_rsa_sha1_is_policy(verify, dns):
    """RFC 8301 3.1: verifiers MUST NOT consider rsa-sha1 signatures valid.
    expected.yml's modern_rfc6376_8301 accepts policy or permerror; we verify
    the signature and say "policy" (RFC 8601 2.7.1: signed, but not acceptable)
    so that the report can tell a good rsa-sha1 signature from a broken one."""
    z = {NAME: dkimsign.zone_entry()}
    s = sig0(verify, dns, sign(algorithm=b'rsa-sha1'), z)
    assert (s['result'], s['error']) == ('policy', 'unsupported-algorithm')
    assert 'rsa-sha256' in s['reason']
    s = sig0(verify, dns, sign(algorithm=b'rsa-sha1') + b'x\r\n', z)
    assert (s['result'], s['error']) == ('fail', 'body-hash-mismatch')


def test_expired_and_future(verify, dns):
    now = int(time.time())
    z = {NAME: dkimsign.zone_entry()}
    with tag_override(t=now - 7200, x=now - 3600):
        m = sign()
    s = sig0(verify, dns, m, z)
    assert (s['result'], s['error']) == ('permerror', 'expired')
    assert s['expiration'] == now - 3600
    with tag_override(t=now + 86400):
        m = sign()
    s = sig0(verify, dns, m, z)
    assert (s['result'], s['error']) == ('permerror', 'future')


def test_pinned_clock_decides_expiry(verify, dns):
    """Expiry follows --time, not the wall clock.  libopendkim reads time()
    itself; without the clock-drift correction the first case would be
    refused as expired and the second would pass."""
    now = int(time.time())
    z = {NAME: dkimsign.zone_entry()}
    with tag_override(t=now - 10 * 86400, x=now - 9 * 86400):
        old = sign()
    s = sig0(verify, dns, old, z, extra=['--time', str(now - 9 * 86400 - 3600)])
    assert s['result'] == 'pass', s['reason']
    s = sig0(verify, dns, old, z)
    assert s['error'] == 'expired'
    with tag_override(t=now - 60, x=now + 3600):
        fresh = sign()
    s = sig0(verify, dns, fresh, z)
    assert s['result'] == 'pass'
    s = sig0(verify, dns, fresh, z, extra=['--time', str(now + 7200)])
    assert (s['result'], s['error']) == ('permerror', 'expired')
    s = sig0(verify, dns, fresh, z, extra=['--time', str(now - 86400)])
    assert (s['result'], s['error']) == ('permerror', 'future')


def many_signatures(n):
    m = msg()
    for k in range(n):
        m = (b'DKIM-Signature: v=1; a=rsa-sha256; d=%s; s=s%d; h=from; bh=AAAA; '
             b'b=QUFBQQ==\r\n' % (D.encode(), k)) + m
    return m


def test_too_many_signatures_bounded_work(verify, dns):
    """100 signatures: the first 16 (dkim_max_signatures) are verified, the rest
    reported "policy" (RFC 8601 2.7.1: signed, but not acceptable to the
    verifier's policy - the signatures themselves may be fine) with error
    too-many-signatures; the loopback server sees at most 16 key queries."""
    dns.set_zone({})
    dns.reset_stats()
    out, _ = verify(many_signatures(100))
    sigs = out['dkim']
    assert len(sigs) == 100
    assert [s['result'] for s in sigs[:16]] == ['permerror'] * 16
    assert all(s['error'] == 'key-not-found' for s in sigs[:16])
    assert all((s['result'], s['error']) == ('policy', 'too-many-signatures')
               for s in sigs[16:])
    assert sigs[99]['selector'] == 's0' and sigs[16]['selector'] == 's83'
    keyq = [q for q, _ in dns.stats()['log'] if '._domainkey.' in q]
    assert 0 < len(keyq) <= 16, keyq


def test_many_signatures_one_valid_among_them(verify, dns):
    """A valid signature within the first 16 still passes among 30 bogus ones."""
    m = dkimsign.sign(msg(), D, 'sel')
    for k in range(30):
        m = (b'DKIM-Signature: v=1; a=rsa-sha256; d=%s; s=s%d; h=from; bh=AAAA; '
             b'b=QUFBQQ==\r\n' % (D.encode(), k)) + m
    dns.set_zone({NAME: dkimsign.zone_entry()})
    out, _ = verify(m)
    assert out['dkim'][30]['result'] == 'policy'
    m2 = dkimsign.sign(msg(), D, 'sel')
    for k in range(10):
        m2 = (b'DKIM-Signature: v=1; a=rsa-sha256; d=%s; s=s%d; h=from; bh=AAAA; '
              b'b=QUFBQQ==\r\n' % (D.encode(), k)) + m2
    out, _ = verify(m2)
    assert out['dkim'][10]['result'] == 'pass'


@pytest.mark.valgrind
def test_hostile_fields_do_not_break_anything(verify, dns):
    """Very long tags, thousands of h= entries, garbage base64, long b=, many
    tags: a verdict for each, no crash (this runs under ASan and valgrind)."""
    dns.set_zone({NAME: dkimsign.zone_entry()})
    long_h = b':'.join([b'x-h%d' % k for k in range(5000)] + [b'from'])
    fields = [
        b'v=1; a=rsa-sha256; d=example.com; s=sel; h=' + long_h + b'; bh=AAAA; b=AAAA',
        b'v=1; a=rsa-sha256; d=example.com; s=sel; h=from; bh=AAAA; b=' + b'QUFB' * 20000,
        b'v=1; a=rsa-sha256; d=' + b'a' * 5000 + b'; s=sel; h=from; bh=AAAA; b=AAAA',
        b'v=1; a=rsa-sha256; d=example.com; s=' + b'b.' * 3000 + b'; h=from; bh=AAAA; b=AAAA',
        b'v=1; ' + b' '.join(b'z%d=1;' % k for k in range(200)),
        b'v=1; a=' + b'r' * 10000 + b'; d=example.com; s=sel; h=from; bh=AAAA; b=AAAA',
        b'v=1; a=rsa-sha256; c=' + b'relaxed/' * 500 + b'; d=example.com; s=sel; h=from; bh=AAAA; b=AAAA',
        b'v=1; a=rsa-sha256; q=' + b'dns/x:' * 2000 + b'; d=example.com; s=sel; h=from; bh=AAAA; b=AAAA',
        b'v=1; a=rsa-sha256; d=example.com; i=' + b'=' * 3000 + b'; s=sel; h=from; bh=AAAA; b=AAAA',
        b'v=1; a=rsa-sha256; d=example.com; s=sel; h=from; l=' + b'9' * 100 + b'; bh=AAAA; b=AAAA',
        b'v=1; a=rsa-sha256; d=example.com; s=sel; h=from; bh=' + b'A' * 9000 + b'; b=AAAA',
        b'=;=;=;;;==',
        b'',
    ]
    m = msg()
    for f in fields:
        m = b'DKIM-Signature: ' + f + b'\r\n' + m
    out, _ = verify(m)
    assert len(out['dkim']) == len(fields)
    assert all(s['result'] in ('permerror', 'fail') for s in out['dkim']), \
        [(s['result'], s['reason'][:80]) for s in out['dkim']]


def test_hostile_key_records(verify, dns):
    m = sign()
    for rec in ['v=DKIM1; h=' + 'sha' * 400 + '; p=' + rsa_p(),
                'v=DKIM1; t=' + 'y:' * 500 + '; p=' + rsa_p(),
                'v=DKIM1; p=' + 'A' * 3000,
                'v=DKIM1; ' + 'n=x; ' * 100 + 'p=' + rsa_p(),
                ('v=DKIM1; x=' + 'q' * 2000 + '; p=' + rsa_p())]:
        s = sig0(verify, dns, m, {NAME: [{'TXT': rec}]})
        assert s['result'] in ('permerror', 'pass'), (rec[:40], s['reason'])
