"""Oracle: Debian's python3-spf (pyspf 2.0.14, an independent RFC 7208
implementation) against `mailtest verify` on the same zones, served by the
same loopback DNS server.

Cases: every test of the OpenSPF RFC 7208 suite plus our own below.  Every
disagreement must be listed in KNOWN with the RFC reason we differ; a listed
disagreement that no longer happens fails the test too, so the list stays
true.  Prints "python3-spf agreement: N/M".
"""
import os

import dns.name as dnsname
import dns.resolver as dnsresolver
import pytest
import spf as pyspf
import yaml

from conftest import CONFORMANCE

pytestmark = pytest.mark.filterwarnings('ignore::DeprecationWarning')

MSG = b'From: oracle@example.invalid\r\nSubject: oracle\r\n\r\nbody\r\n'

# Our own cases: name -> (zone, [(ip, mail_from, helo), ...])
OWN = {
    'void-via-mx-hosts': (
        {'example.com': [{'TXT': 'v=spf1 mx:m.example.com -all'}],
         'm.example.com': [{'MX': [1, 'h1.example.com']}, {'MX': [2, 'h2.example.com']},
                           {'MX': [3, 'h3.example.com']}]},
        [('192.0.2.10', 'u@example.com', 'mail.example.com')]),
    'redirect-with-all': (
        {'example.com': [{'TXT': 'v=spf1 redirect=o.example.com ?all'}],
         'o.example.com': [{'TXT': 'v=spf1 -all'}]},
        [('192.0.2.10', 'u@example.com', 'mail.example.com')]),
    'include-chain-500': (
        dict([('example.com', [{'TXT': 'v=spf1 include:i0.example.com -all'}])] +
             [('i%d.example.com' % i, [{'TXT': 'v=spf1 include:i%d.example.com -all' % (i + 1)}])
              for i in range(500)]),
        [('192.0.2.10', 'u@example.com', 'mail.example.com')]),
    'p-macro-exists': (
        {'example.com': [{'TXT': 'v=spf1 exists:%{p}.ok.example.com -all'}],
         '10.2.0.192.in-addr.arpa': [{'PTR': 'mx.example.com'}],
         'mx.example.com': [{'A': '192.0.2.10'}],
         'mx.example.com.ok.example.com': [{'A': '127.0.0.2'}]},
        [('192.0.2.10', 'u@example.com', 'mail.example.com'),
         ('192.0.2.11', 'u@example.com', 'mail.example.com')]),
    'ipv6-everything': (
        {'example.com': [{'TXT': 'v=spf1 ip4:192.0.2.0/24 a//64 mx:m.example.com//48 '
                                 'ptr:example.org ip6:2001:db8:ffff::/48 -all'},
                         {'AAAA': '2001:db8:1::1'}],
         'm.example.com': [{'MX': [1, 'h.example.com']}],
         'h.example.com': [{'AAAA': '2001:db8:2::1'}],
         '1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.3.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa':
             [{'PTR': 'x.example.org'}],
         'x.example.org': [{'AAAA': '2001:db8:3::1'}]},
        [('2001:db8:1::99', 'u@example.com', 'h'), ('2001:db8:2::77', 'u@example.com', 'h'),
         ('2001:db8:3::1', 'u@example.com', 'h'), ('2001:db8:ffff::5', 'u@example.com', 'h'),
         ('2001:db8:4::1', 'u@example.com', 'h'), ('::ffff:192.0.2.1', 'u@example.com', 'h')]),
    'qualifiers-and-default': (
        {'example.com': [{'TXT': 'v=spf1 ?ip4:192.0.2.1 ~ip4:192.0.2.2 -ip4:192.0.2.3 '
                                 '+ip4:192.0.2.4'}]},
        [('192.0.2.%d' % i, 'u@example.com', 'h') for i in range(1, 6)]),
    'include-results': (
        {'example.com': [{'TXT': 'v=spf1 include:p.example.com include:t.example.com '
                                 '-include:n.example.com ~all'}],
         'p.example.com': [{'TXT': 'v=spf1 ip4:192.0.2.1'}],
         't.example.com': [{'TXT': 'v=spf1 ip4:192.0.2.2 a:slow.example.com'}],
         'slow.example.com': [{'TIMEOUT': True}],
         'n.example.com': [{'TXT': 'v=spf1 -all'}]},
        [('192.0.2.1', 'u@example.com', 'h'), ('192.0.2.2', 'u@example.com', 'h'),
         ('192.0.2.3', 'u@example.com', 'h')]),
    'exp-with-macros': (
        {'example.com': [{'TXT': 'v=spf1 -all exp=why.%{d}'}],
         'why.example.com': [{'TXT': ['%{i} ', 'is not %{L} (%{o})']}]},
        [('192.0.2.10', 'a+b@example.com', 'h')]),
    'cname-records': (
        {'example.com': [{'CNAME': 'real.example.net'}],
         'real.example.net': [{'TXT': 'v=spf1 a:host.example.com -all'}],
         'host.example.com': [{'CNAME': 'real-host.example.net'}],
         'real-host.example.net': [{'A': '192.0.2.10'}]},
        [('192.0.2.10', 'u@example.com', 'h'), ('192.0.2.11', 'u@example.com', 'h')]),
}

# Disagreements, each with the RFC 7208 reason mailtest's answer is the right one.
KNOWN = {
    'rfc7208/ptr-cname-loop': 'RFC 7208 5.5: a DNS error (here a CNAME loop) while '
        'validating a PTR name skips that name; pyspf gives temperror, the suite '
        'expects neutral',
    'rfc7208/multispf1': 'RFC 7208 4.5: two SPF records at a name is permerror; '
        'dnspython merges the two identical TXT records of the answer, so pyspf sees one '
        '(the suite accepts both)',
    'own/void-via-mx-hosts#0': 'RFC 7208 4.6.4 limits void lookups per term: the mx '
        'term\'s own MX query found records; pyspf also counts the address lookups of '
        'the MX hosts and gives permerror',
}


def _suite_cases():
    path = os.path.join(CONFORMANCE, 'spf', 'rfc7208-tests.yml')
    if not os.path.exists(path):
        return []
    out = []
    with open(path, 'rb') as f:
        for doc in yaml.safe_load_all(f):
            for name, t in doc['tests'].items():
                out.append(('rfc7208/' + name, doc['zonedata'], t['host'], t['mailfrom'],
                            t['helo']))
    return out


def _own_cases():
    out = []
    for name, (zone, runs) in OWN.items():
        for k, (ip, mf, helo) in enumerate(runs):
            out.append(('own/%s#%d' % (name, k), zone, ip, mf, helo))
    return out


def _pyspf(srv, ip, mail_from, helo):
    res = dnsresolver.Resolver(configure=False)
    res.nameservers = ['127.0.0.1']
    res.port = srv.port
    res.domain = dnsname.root
    res.search = []
    dnsresolver.default_resolver = res
    q = pyspf.query(i=ip, s=mail_from, h=helo, timeout=0.3)
    return q.check()[0]


@pytest.mark.conformance
def test_python3_spf_agreement(conformance, verify, dns, counts):
    cases = _suite_cases() + _own_cases()
    assert len(cases) > 203
    disagree = {}
    for cid, zone, ip, mail_from, helo in cases:
        dns.set_zone(zone)
        theirs = _pyspf(dns, ip, mail_from, helo)
        out, _ = verify(MSG, ip=ip, helo=helo, mail_from=mail_from)
        ours = out['spf']['result']
        if theirs != ours:
            disagree[cid] = (ours, theirs)
    counts('python3-spf agreement: %d/%d' % (len(cases) - len(disagree), len(cases)))
    for cid, (ours, theirs) in sorted(disagree.items()):
        counts('  %s: mailtest %s, python3-spf %s - %s' % (
            cid, ours, theirs, KNOWN.get(cid, 'NOT EXPLAINED')))
    unexplained = sorted(set(disagree) - set(KNOWN))
    assert not unexplained, 'disagreements without an RFC reason: %s' % (
        {c: disagree[c] for c in unexplained})
    stale = sorted(set(KNOWN) - set(disagree))
    assert not stale, 'listed disagreements that no longer happen: %s' % stale
