"""The OpenSPF test suites (RFC 7208: 203 tests, RFC 4408: 191) through
`mailtest verify --format json`, one process per test, against the loopback
DNS server (tests/dnsd.py) serving each scenario's zonedata.

Pass: spf.result is one of the expected results; for a fail with an
`explanation` other than DEFAULT, spf.explanation must equal it.
`mailfrom: ''` is the null sender: the identity is then postmaster@HELO.
"""
import os

import pytest
import yaml

from conftest import CONFORMANCE

MESSAGE = b'From: suite@example.invalid\r\nSubject: spf suite\r\n\r\nbody\r\n'

# RFC 4408 expectations that RFC 7208 changed; we follow RFC 7208 on these.
# The RFC 4408 suite accepts both answers there; we require the RFC 7208 one
# (what the RFC 7208 suite expects, and why):
RFC7208_SUPERSEDES = {
    'cidr6-0-ip4': (['neutral'], '5: an IPv4(-mapped) client never matches ip6'),
    'cidr6-ip4': (['neutral'], '5: an IPv4-mapped client is IPv4'),
    'exists-dnserr': (['temperror'], '5: a DNS error is temperror'),
    'multispf2': (['pass'], '3.1/4.4: type SPF (99) is not used, only TXT'),
    'multitxt1': (['permerror'], '4.5: two v=spf1 TXT records'),
    'mx-limit': (['permerror'], '4.6.4: more than 10 MX names is permerror'),
    'nospftxttimeout': (['temperror'], '4.4: TXT lookup timed out'),
    'spfonly': (['none'], '4.4: only TXT is looked up'),
    'spfoverride': (['fail'], '4.4: only TXT is looked up'),
    'spftimeout': (['fail'], '4.4: type SPF is not queried, TXT answers'),
    'txtonly': (['fail'], '4.4: TXT is the record'),
    'txttimeout': (['temperror'], '4.4: TXT lookup timed out'),
}

_results = {'rfc7208': {}, 'rfc4408': {}}


def _load(fname):
    path = os.path.join(CONFORMANCE, 'spf', fname)
    if not os.path.exists(path):
        return []
    out = []
    with open(path, 'rb') as f:
        for doc in yaml.safe_load_all(f):
            for name, t in doc['tests'].items():
                out.append(pytest.param(doc['description'], name, t, doc['zonedata'],
                                        id=name))
    return out


CASES = {'rfc7208': _load('rfc7208-tests.yml'), 'rfc4408': _load('rfc4408-tests.yml')}


def _expected(t):
    r = t['result']
    return [r] if isinstance(r, str) else list(r)


def _run(verify, dns, t, zone):
    dns.set_zone(zone)
    out, _ = verify(MESSAGE, ip=t['host'], helo=t['helo'], mail_from=t['mailfrom'],
                    timeout_ms=300)
    return out['spf']


def _check(suite, name, t, spf):
    want = _expected(t)
    if suite == 'rfc4408' and name in RFC7208_SUPERSEDES:
        want = RFC7208_SUPERSEDES[name][0]
    ok = spf['result'] in want
    exp = t.get('explanation')
    if ok and exp is not None and exp != 'DEFAULT' and spf['result'] == 'fail':
        ok = spf['explanation'] == exp
    _results[suite][name] = ok
    assert ok, ('%s: want %s (explanation %r), got %s (explanation %r); reason: %s; '
                'problem: %s' % (name, want, exp, spf['result'], spf.get('explanation'),
                                 spf.get('reason'), spf.get('problem')))


@pytest.mark.conformance
@pytest.mark.parametrize('scenario,name,t,zone', CASES['rfc7208'])
def test_rfc7208(conformance, verify, dns, scenario, name, t, zone):
    _check('rfc7208', name, t, _run(verify, dns, t, zone))


@pytest.mark.conformance
@pytest.mark.parametrize('scenario,name,t,zone', CASES['rfc4408'])
def test_rfc4408(conformance, verify, dns, scenario, name, t, zone):
    _check('rfc4408', name, t, _run(verify, dns, t, zone))


@pytest.mark.conformance
def test_summary(conformance, counts):
    """Runs last in this file: prints the pass counts."""
    for suite, total in (('rfc7208', 203), ('rfc4408', 191)):
        got = _results[suite]
        counts('%s suite: %d/%d%s' % (
            'RFC 7208' if suite == 'rfc7208' else 'RFC 4408',
            sum(got.values()), total,
            '' if len(got) == total else ' (%d ran in this process)' % len(got)))
    assert len(CASES['rfc7208']) == 203 and len(CASES['rfc4408']) == 191
