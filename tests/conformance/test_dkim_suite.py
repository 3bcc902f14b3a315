"""The DKIM corpus of ../shared/conformance/dkim (84 messages) through
`mailtest verify --format json`, each with its zone from zones.yml served by
the loopback DNS server.

expected.yml's `modern_rfc6376_8301` is, per its header comment, "a list =
per signature, or a set of acceptable values": when the list has as many
entries as the message has DKIM-Signature fields (and more than one) it is
read per signature, otherwise as the set of results acceptable for every
signature.  An entry such as "pass or policy (rsa-sha1, RFC 8301)" is the set
{pass, policy}.  ["none"] means no DKIM result at all (DomainKeys only).
"""
import os
import re

import pytest
import yaml

pytestmark = pytest.mark.conformance

RESULTS = {'none', 'pass', 'fail', 'policy', 'neutral', 'temperror', 'permerror'}


def load(conformance):
    d = os.path.join(conformance, 'dkim')
    with open(os.path.join(d, 'expected.yml')) as f:
        entries = yaml.safe_load(f)
    with open(os.path.join(d, 'zones.yml')) as f:
        zones = yaml.safe_load(f)
    return d, entries, zones


def words(item):
    """'pass or policy (rsa-sha1, RFC 8301)' -> {'pass', 'policy'}"""
    out = set()
    for part in re.sub(r'\(.*?\)', '', str(item)).split(' or '):
        w = part.strip().split()[0] if part.strip() else ''
        assert w in RESULTS, 'unexpected annotation %r' % item
        out.add(w)
    return out


def count_signatures(path):
    with open(path, 'rb') as f:
        head = f.read().split(b'\n\n', 1)[0].split(b'\r\n\r\n', 1)[0]
    return len(re.findall(rb'^dkim-signature\s*:', head, re.I | re.M))


def acceptable(entry, nsigs):
    ann = entry['modern_rfc6376_8301']
    if ann == ['none']:
        return []
    if nsigs > 1 and len(ann) == nsigs:
        return [words(a) for a in ann]
    allowed = set()
    for a in ann:
        allowed |= words(a)
    return [allowed] * nsigs


def check(verify, dns, d, entry, zones):
    path = os.path.join(d, entry['file'])
    dns.set_zone(zones[entry['zone']])
    out, _ = verify(path)
    got = [s['result'] for s in out['dkim']]
    want = acceptable(entry, count_signatures(path))
    ok = len(got) == len(want) and all(g in w for g, w in zip(got, want))
    return ok, got, want, out


def test_dkim_corpus(verify, dns, conformance, counts):
    d, entries, zones = load(conformance)
    assert len(entries) == 84
    bad = []
    for e in entries:
        ok, got, want, _ = check(verify, dns, d, e, zones)
        if not ok:
            bad.append('%s: got %s, want %s' % (e['file'], got, want))
    counts('DKIM corpus: %d/%d messages agree' % (len(entries) - len(bad), len(entries)))
    for b in bad:
        counts('  DISAGREE ' + b)
    assert not bad


def entry(conformance, name):
    d, entries, zones = load(conformance)
    for e in entries:
        if e['file'].endswith(name):
            return d, e, zones
    raise AssertionError(name)


@pytest.mark.valgrind
def test_rfc8463_a3_ed25519_and_rsa_both_pass(verify, dns, conformance):
    """RFC 8463 Appendix A.3: ed25519-sha256 (s=brisbane) then rsa-sha256 (s=test)."""
    d, e, zones = entry(conformance, 'rfc8463-appA3-signed.eml')
    ok, got, _, out = check(verify, dns, d, e, zones)
    assert got == ['pass', 'pass']
    assert [s['algorithm'] for s in out['dkim']] == ['ed25519-sha256', 'rsa-sha256']
    assert [s['key_type'] for s in out['dkim']] == ['ed25519', 'rsa']
    assert out['dkim'][0]['key_bits'] == 256
    assert out['dkim'][0]['canonicalization'] == 'relaxed/relaxed'
    assert out['dkim'][0]['timestamp'] == 1528637909


@pytest.mark.valgrind
def test_rfc6376_a2_with_errata_passes(verify, dns, conformance):
    """RFC 6376 Appendix A.2 with errata 3192 and 4926 applied."""
    d, e, zones = entry(conformance, 'rfc6376-appA2-errata.eml')
    ok, got, _, out = check(verify, dns, d, e, zones)
    s = out['dkim'][0]
    assert got == ['pass']
    assert (s['domain'], s['selector'], s['canonicalization']) == \
        ('example.com', 'brisbane', 'simple/simple')
    assert s['signed_headers'].lower() == 'received:from:to:subject:date:message-id'


def test_rfc6376_a2_as_printed_fails_on_the_body_hash(verify, dns, conformance):
    """As printed (double space, before erratum 3192) the body hash cannot match."""
    d, e, zones = entry(conformance, 'rfc6376-appA2-as-published-double-space.eml')
    ok, got, _, out = check(verify, dns, d, e, zones)
    assert got == ['fail']
    assert out['dkim'][0]['error'] == 'body-hash-mismatch'


def test_ignore_7_is_expired(verify, dns, conformance):
    """x= in 2007: expired whatever the clock (RFC 6376 3.5)."""
    d, e, zones = entry(conformance, 'ignore_7.txt')
    ok, got, _, out = check(verify, dns, d, e, zones)
    assert got == ['permerror']
    assert out['dkim'][0]['error'] == 'expired'
    assert out['dkim'][0]['expiration'] == 1193229946


def test_multiple_2_every_signature_on_its_own(verify, dns, conformance):
    """Mail::DKIM multiple_2: a malformed signature must not hide the others
    (libopendkim needs DKIM_LIBFLAGS_BADSIGHANDLES for that)."""
    d, e, zones = entry(conformance, 'multiple_2.txt')
    ok, got, _, out = check(verify, dns, d, e, zones)
    assert ok, got
    assert len(got) == 4
