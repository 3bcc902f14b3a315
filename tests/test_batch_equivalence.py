"""Batch mode gives every message the verdict it gets on its own.

`mailtest verify FILE...` verifies many messages in one process, and the
speed-ups of the batch path keep state across messages: the DKIM context
caches parsed key records by their exact text (verify/dkim.c,
key_parse_cached()).  These tests run a mix of messages whose key records
differ in small ways (the same key material with other tags, the same text
at another name, a revoked key, a key of the wrong type) through one batch,
twice over so that the second round meets a warm cache, and require each
result to equal the result of verifying that message alone.
"""
import json

import pytest

import dkimsign
from conftest import run_mailtest

D = 'example.com'
RSA = dkimsign.key('rsa2048').txt
P2048 = RSA.split('p=')[1]

ZONE = {
    's1._domainkey.' + D: [{'TXT': RSA}],
    # the same key material, other tags: a cache keyed by p= would be wrong
    's2._domainkey.' + D: [{'TXT': 'v=DKIM1; k=rsa; t=y; p=' + P2048}],
    's3._domainkey.' + D: [{'TXT': 'v=DKIM1; k=rsa; h=sha1; p=' + P2048}],
    # the same text as s1 at another name: a cache hit across names
    's4._domainkey.' + D: [{'TXT': RSA}],
    's5._domainkey.' + D: [{'TXT': 'v=DKIM1; k=rsa; p='}],
    's6._domainkey.' + D: [{'TXT': 'v=DKIM1; k=ed25519; p=' + P2048}],
    'ed._domainkey.' + D: dkimsign.zone_entry('ed25519'),
    'small._domainkey.' + D: dkimsign.zone_entry('rsa1024'),
    D: [{'TXT': 'v=spf1 ip4:192.0.2.0/24 -all'}],
    '_dmarc.' + D: [{'TXT': 'v=DMARC1; p=reject'}],
}

# (selector, signing key, expected result of the first signature)
CASES = [
    ('s1', 'rsa2048', 'pass'),
    ('s2', 'rsa2048', 'pass'),
    ('s3', 'rsa2048', 'permerror'),
    ('s4', 'rsa2048', 'pass'),
    ('s5', 'rsa2048', 'permerror'),
    ('s6', 'rsa2048', 'permerror'),
    ('ed', 'ed25519', 'pass'),
    ('small', 'rsa1024', 'pass'),
    ('s1', 'rsa1024', 'fail'),		# s1's text cached, another key signed
    ('small', 'rsa2048', 'fail'),
]

ARGS = ['--ip', '192.0.2.1', '--helo', 'mail.example.com', '--mail-from',
        'alice@' + D, '--format', 'json']


def strip(j):
    j.pop('elapsed_ms', None)
    j.pop('file', None)
    return j


@pytest.fixture
def files(tmp_path, dns):
    dns.set_zone(ZONE)
    out = []
    for k, (sel, key, _) in enumerate(CASES):
        m = dkimsign.message('Alice <alice@%s>' % D, subject='batch %d' % k)
        p = tmp_path / ('m%d.eml' % k)
        p.write_bytes(dkimsign.sign(m, D, sel, key))
        out.append(str(p))
    return out


def alone(mailtest, dns, path):
    p = run_mailtest(mailtest, ['verify', '--dns', dns.address] + ARGS + [path])
    assert p.returncode == 0, p.stderr
    return strip(json.loads(p.stdout))


def test_batch_equals_single_runs(mailtest, dns, files):
    want = [alone(mailtest, dns, f) for f in files]
    assert [w['dkim'][0]['result'] for w in want] == [c[2] for c in CASES]
    assert want[1]['dkim'][0]['testing'] is True and want[0]['dkim'][0]['testing'] is False
    assert want[4]['dkim'][0]['error'] == 'key-revoked'
    p = run_mailtest(mailtest, ['verify', '--dns', dns.address] + ARGS + files + files)
    assert p.returncode == 0, p.stderr
    got = [strip(json.loads(line)) for line in p.stdout.splitlines()]
    assert len(got) == 2 * len(files)
    for k, g in enumerate(got):
        assert g == want[k % len(files)], 'message %d (%s)' % (k, CASES[k % len(files)])
