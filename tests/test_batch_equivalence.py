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
import os
import subprocess

import pytest

import dkimsign
from conftest import run_mailtest, wrapper

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


# A key record that changes between messages of one batch.  Its TTL is 0, so
# the resolver does not cache it and every message sees the record the zone
# holds at that moment; a parse cache that kept anything but the exact text
# would hand the second message the first message's key.  The batch reads
# its files in order, and each file after the first is a FIFO: mailtest
# blocks opening it until the test, having changed the zone, writes it.
ROT = 'rot._domainkey.' + D
RSA1024 = dkimsign.key('rsa1024').txt
# (record served while this message is verified, signing key, result)
ROTATION = [
    (RSA, 'rsa2048', 'pass'),
    (RSA1024, 'rsa2048', 'fail'),	# the old key would pass
    (RSA1024, 'rsa1024', 'pass'),	# the old key would fail
    ('v=DKIM1; k=rsa; p=', 'rsa1024', 'permerror'),	# revoked now
    (RSA, 'rsa2048', 'pass'),		# back to the first text (a cache hit)
    ('v=DKIM1; k=rsa; t=y; p=' + P2048, 'rsa2048', 'pass'),	# same p=, t=y
]


def rot_zone(txt):
    z = dict(ZONE)
    z[ROT] = [{'TXT': txt}, {'TTL': 0}]
    return z


def test_record_changing_within_one_batch(mailtest, dns, tmp_path):
    msgs = []
    for k, (_, key, _) in enumerate(ROTATION):
        m = dkimsign.message('Alice <alice@%s>' % D, subject='rot %d' % k)
        msgs.append(dkimsign.sign(m, D, 'rot', key))
    paths = []
    for k, m in enumerate(msgs):
        p = tmp_path / ('r%d.eml' % k)
        if k == 0:
            p.write_bytes(m)
        else:
            os.mkfifo(p)
        paths.append(str(p))
    dns.set_zone(rot_zone(ROTATION[0][0]))
    cmd = wrapper() + [mailtest, 'verify', '--dns', dns.address] + ARGS + paths
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        for k in range(1, len(msgs)):
            # open() returns once mailtest, done with message k-1, opens it
            with open(paths[k], 'wb') as f:
                dns.set_zone(rot_zone(ROTATION[k][0]))
                f.write(msgs[k])
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err
    reports = [json.loads(line) for line in out.decode().splitlines()]
    got = [j['dkim'][0] for j in reports]
    assert [g['result'] for g in got] == [r[2] for r in ROTATION]
    # the author-domain check parses the same record through the same cache
    dc = [j['domain_check']['dkim']['selectors'][0] for j in reports]
    assert [(k['key_bits'], k['revoked'], k['testing']) for k in dc] == [
        (2048, False, False), (1024, False, False), (1024, False, False),
        (0, True, False), (2048, False, False), (2048, False, True)]
    assert [g.get('testing') for g in got] == [False] * 5 + [True]
    assert got[3]['error'] == 'key-revoked'
    assert [g['key_bits'] for g in got if g['result'] == 'pass'][:3] == [2048, 1024, 2048]
