"""mailtest dns-check (issue 5): every finding against the loopback DNS server.

Each test publishes a zone, runs `mailtest dns-check --server <dns> --format
json DOMAIN`, and looks at the findings (severity, code, suggested record)
and the data.  Suggested SPF/DMARC/DKIM records are fed back through the
verifiers' own parsers (build/tests/recordq) and, for the main cases,
published and checked again: the problem must be gone.
"""
import json
import os
import subprocess

import pytest

import dkimsign
from conftest import ROOT, run_mailtest

import dnsd

D = 'example.com'


def bin_path(name):
    return os.path.join(ROOT, os.environ.get('MAILTEST_TESTBIN', 'build/tests'), name)


def recordq(kind, *records):
    p = subprocess.run([bin_path('recordq'), kind] + list(records), capture_output=True,
                       text=True, timeout=30)
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines()]


def assert_parses(kind, record):
    assert record, 'no suggested record'
    r = recordq(kind, record)[0]
    assert r['ok'], (record, r)


def run(mailtest, server, domain, *args, fmt='json', rc=None, timeout_ms=300):
    argv = ['dns-check', '--server', server, '--dns-timeout', str(timeout_ms)]
    if fmt:
        argv += ['--format', fmt]
    argv += [domain] + list(args)
    p = run_mailtest(mailtest, argv)
    if rc is not None:
        assert p.returncode == rc, (p.returncode, p.stdout.decode(), p.stderr.decode())
    return p


def check(mailtest, dns, zone, domain=D, *args, rc=None):
    dns.set_zone(zone)
    p = run(mailtest, dns.address, domain, *args, rc=rc)
    return json.loads(p.stdout), p.returncode


def codes(j):
    return [f['code'] for f in j['findings']]


def find(j, code):
    fs = [f for f in j['findings'] if f['code'] == code]
    assert fs, (code, [(f['code'], f['message']) for f in j['findings']])
    return fs[0]


def no(j, code):
    assert code not in codes(j), [f for f in j['findings'] if f['code'] == code]


def base(spf='v=spf1 ip4:192.0.2.0/24 -all', dmarc='v=DMARC1; p=reject; rua=mailto:d@example.com',
         extra=None):
    """A domain with nothing wrong: the tests change one thing."""
    z = {
        D: [{'TXT': spf}, {'MX': [10, 'mx.example.com']}] if spf else [{'MX': [10, 'mx.example.com']}],
        'mx.example.com': [{'A': '192.0.2.25'}],
        'selector1._domainkey.' + D: dkimsign.zone_entry('rsa2048'),
        '_dmarc.' + D: [{'TXT': dmarc}] if dmarc else [],
        '_mta-sts.' + D: [{'TXT': 'v=STSv1; id=20260101T000000'}],
        '_smtp._tls.' + D: [{'TXT': 'v=TLSRPTv1; rua=mailto:tls@example.com'}],
    }
    z.update(extra or {})
    return z


# ---- the user's set-up (issue 2): passes, ADSP flagged historic ----------------

GOOGLE_SPF = {
    '_spf.google.com': [{'TXT': 'v=spf1 include:_netblocks.google.com '
                                'include:_netblocks2.google.com include:_netblocks3.google.com ~all'}],
    '_netblocks.google.com': [{'TXT': 'v=spf1 ip4:35.190.247.0/24 ip4:64.233.160.0/19 '
                                      'ip4:66.102.0.0/20 ip4:66.249.80.0/20 ip4:72.14.192.0/18 '
                                      'ip4:74.125.0.0/16 ip4:108.177.8.0/21 ip4:173.194.0.0/16 '
                                      'ip4:209.85.128.0/17 ip4:216.58.192.0/19 '
                                      'ip4:216.239.32.0/19 ~all'}],
    '_netblocks2.google.com': [{'TXT': 'v=spf1 ip6:2001:4860:4000::/36 ip6:2404:6800:4000::/36 '
                                       'ip6:2607:f8b0:4000::/36 ip6:2800:3f0:4000::/36 '
                                       'ip6:2a00:1450:4000::/36 ip6:2c0f:fb50:4000::/36 ~all'}],
    '_netblocks3.google.com': [{'TXT': 'v=spf1 ip4:172.217.0.0/19 ip4:172.217.32.0/20 '
                                       'ip4:172.217.128.0/19 ip4:172.217.160.0/20 '
                                       'ip4:172.217.192.0/19 ip4:172.253.56.0/21 '
                                       'ip4:172.253.112.0/20 ip4:108.177.96.0/19 '
                                       'ip4:35.191.0.0/16 ip4:130.211.0.0/22 ~all'}],
}


def acme_zone():
    z = {
        'acme.com': [{'TXT': 'v=spf1 include:_spf.google.com ~all'},
                     {'MX': [1, 'aspmx.l.google.com']}],
        'google._domainkey.acme.com': dkimsign.zone_entry('rsa2048'),
        '_adsp._domainkey.acme.com': [{'TXT': 'dkim=all;'}],
        '_dmarc.acme.com': [{'TXT': 'v=DMARC1; p=quarantine; adkim=s; aspf=s; '
                                    'rua=mailto:spam@acme.com; ruf=mailto:spam@acme.com; pct=100'}],
    }
    z.update(GOOGLE_SPF)
    return z


@pytest.mark.valgrind
def test_acme_passes_with_adsp_historic(mailtest, dns):
    j, rc = check(mailtest, dns, acme_zone(), 'acme.com', rc=0)
    assert j['status'] == 'ok' and j['exit_status'] == 0
    assert j['counts']['error'] == 0 and j['counts']['warning'] == 0, j['findings']
    f = find(j, 'adsp-historic')
    assert f['severity'] == 'info' and 'historic' in f['message'].lower()
    assert 'remove' in f['message']
    assert j['adsp']['record'] == 'dkim=all;'
    spf = j['spf']
    assert spf['record'] == 'v=spf1 include:_spf.google.com ~all'
    assert spf['dns_terms'] == 4 and spf['void_lookups'] == 0
    assert [n['domain'] for n in spf['tree']] == [
        'acme.com', '_spf.google.com', '_netblocks.google.com', '_netblocks2.google.com',
        '_netblocks3.google.com']
    assert [n['depth'] for n in spf['tree']] == [0, 1, 2, 2, 2]
    assert spf['tree'][1]['via'] == 'include:_spf.google.com'
    keys = {k['selector']: k for k in j['dkim']['selectors']}
    assert j['dkim']['probed'] is True
    assert keys['google']['found'] and keys['google']['key_type'] == 'rsa'
    assert keys['google']['key_bits'] == 2048
    assert not any(k['found'] for s, k in keys.items() if s != 'google')
    dm = j['dmarc']
    assert dm['p'] == 'quarantine' and dm['adkim'] == 's' and dm['aspf'] == 's'
    assert dm['pct'] == 100 and dm['at_domain'] is True
    assert find(j, 'dmarc-strict')['severity'] == 'info'       # adkim=s, aspf=s
    assert find(j, 'dmarc-pct-historic')['severity'] == 'info'
    assert [(u['tag'], u['domain'], u['external']) for u in dm['reports']] == [
        ('rua', 'acme.com', False), ('ruf', 'acme.com', False)]


def test_acme_text_output(mailtest, dns):
    dns.set_zone(acme_zone())
    p = run(mailtest, dns.address, 'acme.com', fmt='text', rc=0)
    out = p.stdout.decode()
    assert 'include:_spf.google.com -> _spf.google.com' in out
    assert 'DNS-querying terms: 4 of 10' in out
    assert 'google._domainkey.acme.com: rsa, 2048 bits' in out
    assert '[info] _adsp._domainkey.acme.com' in out and 'Historic' in out
    assert 'no problems found (exit 0)' in out


# ---- SPF ------------------------------------------------------------------------


def nested_over_limit(leaf):
    """example.com -> 2 includes -> 11 DNS terms in all (more with leaf()'s), 4 deep."""
    return base('v=spf1 include:a.example.net include:b.example.net ip4:192.0.2.1 -all', extra={
        'a.example.net': [{'TXT': 'v=spf1 include:a1.example.net include:a2.example.net '
                                  'include:a3.example.net ~all'}],
        'a1.example.net': [{'TXT': 'v=spf1 include:a11.example.net include:a12.example.net ~all'}],
        'a11.example.net': [{'TXT': leaf('198.51.100.1')}],
        'a12.example.net': [{'TXT': leaf('198.51.100.4')}],
        'a2.example.net': [{'TXT': leaf('198.51.100.2')}],
        'a3.example.net': [{'TXT': leaf('198.51.100.3')}],
        'b.example.net': [{'TXT': 'v=spf1 include:b1.example.net include:b2.example.net '
                                  'include:b3.example.net ~all'}],
        'b1.example.net': [{'TXT': 'v=spf1 include:b11.example.net ~all'}],
        'b11.example.net': [{'TXT': leaf('203.0.113.1')}],
        'b2.example.net': [{'TXT': leaf('203.0.113.2')}],
        'b3.example.net': [{'TXT': leaf('203.0.113.3')}],
        'mail.example.net': [{'A': '198.51.100.9'}],
    })


def test_spf_over_ten_lookups_through_nested_includes(mailtest, dns):
    zone = nested_over_limit(lambda ip: 'v=spf1 ip4:%s ip6:2001:db8::%s -all' % (ip, ip[-1]))
    j, _ = check(mailtest, dns, zone, rc=1)
    # top 2, a 3, a1 2, b 3, b1 1; the leaves none
    assert j['spf']['dns_terms'] == 11
    assert [n['dns_terms'] for n in j['spf']['tree']] == [2, 3, 2, 0, 0, 0, 0, 3, 1, 0, 0, 0]
    assert max(n['depth'] for n in j['spf']['tree']) == 3
    f = find(j, 'spf-too-many-lookups')
    assert f['severity'] == 'error' and f['rfc'] == 'RFC 7208 4.6.4'
    assert 'include:a.example.net costs 6' in f['message']
    assert 'include:b.example.net costs 5' in f['message']
    # the dearer include flattened: its addresses, nothing else changed
    assert f['suggestion'] == ('v=spf1 ip4:198.51.100.1 ip6:2001:db8::1 ip4:198.51.100.4 '
                               'ip6:2001:db8::4 ip4:198.51.100.2 ip6:2001:db8::2 '
                               'ip4:198.51.100.3 ip6:2001:db8::3 '
                               'include:b.example.net ip4:192.0.2.1 -all')
    assert_parses('spf', f['suggestion'])
    zone[D][0] = {'TXT': f['suggestion']}
    j, _ = check(mailtest, dns, zone)
    no(j, 'spf-too-many-lookups')
    assert j['spf']['dns_terms'] == 5


def test_spf_over_limit_not_flattenable_lists_costs(mailtest, dns):
    zone = nested_over_limit(lambda ip: 'v=spf1 a:mail.example.net ip4:%s -all' % ip)
    j, _ = check(mailtest, dns, zone, rc=1)
    assert j['spf']['dns_terms'] == 18     # 11, and a: in each of the 7 leaves
    f = find(j, 'spf-too-many-lookups')
    assert f['suggestion'] is None
    assert 'include:a.example.net costs 10' in f['message']
    assert 'Remove the includes' in f['message']


def test_spf_loop_through_others(mailtest, dns):
    zone = base('v=spf1 include:l1.example.com ip4:192.0.2.1 -all', extra={
        'l1.example.com': [{'TXT': 'v=spf1 include:l2.example.org ~all'}],
        'l2.example.org': [{'TXT': 'v=spf1 include:example.com ~all'}],
    })
    j, _ = check(mailtest, dns, zone, rc=1)
    f = find(j, 'spf-loop')
    assert f['severity'] == 'error'
    assert 'example.com <- l2.example.org <- l1.example.com <- example.com' in f['message']
    assert f['suggestion'] == 'v=spf1 ip4:192.0.2.1 -all' and f['suggestion_name'] == D
    loops = [n for n in j['spf']['tree'] if n['loop']]
    assert [(n['domain'], n['via']) for n in loops] == [('example.com', 'include:example.com')]
    assert_parses('spf', f['suggestion'])


def test_spf_record_that_includes_itself(mailtest, dns):
    j, _ = check(mailtest, dns, base('v=spf1 include:example.com -all'), rc=1)
    f = find(j, 'spf-loop')
    assert f['suggestion'] == 'v=spf1 -all'
    assert len(j['spf']['tree']) == 2 and j['spf']['tree'][1]['loop']


@pytest.mark.parametrize('ending,code,severity', [
    ('+all', 'spf-pass-all', 'error'), ('all', 'spf-pass-all', 'error'),
    ('?all', 'spf-neutral-all', 'warning')])
def test_spf_permissive_ending(mailtest, dns, ending, code, severity):
    j, _ = check(mailtest, dns, base('v=spf1 ip4:192.0.2.0/24 ' + ending), rc=1)
    f = find(j, code)
    assert f['severity'] == severity
    assert f['suggestion'] == 'v=spf1 ip4:192.0.2.0/24 ~all'
    assert_parses('spf', f['suggestion'])


def test_spf_ending_through_redirect_and_missing_all(mailtest, dns):
    zone = base('v=spf1 ip4:192.0.2.1 redirect=_spf.example.com', extra={
        '_spf.example.com': [{'TXT': 'v=spf1 ip4:192.0.2.2 ?all'}]})
    j, _ = check(mailtest, dns, zone, rc=1)
    f = find(j, 'spf-neutral-all')
    assert f['name'] == '_spf.example.com' and f['suggestion_name'] == '_spf.example.com'
    assert f['suggestion'] == 'v=spf1 ip4:192.0.2.2 ~all'
    j, _ = check(mailtest, dns, base('v=spf1 ip4:192.0.2.1'), rc=1)
    f = find(j, 'spf-no-all')
    assert f['severity'] == 'warning' and f['suggestion'] == 'v=spf1 ip4:192.0.2.1 ~all'
    assert_parses('spf', f['suggestion'])


def test_spf_too_broad_and_include_pass_all(mailtest, dns):
    zone = base('v=spf1 ip4:0.0.0.0/0 ip4:10.0.0.0/12 include:lax.example.net -all', extra={
        'lax.example.net': [{'TXT': 'v=spf1 +all'}]})
    j, _ = check(mailtest, dns, zone, rc=1)
    broad = [f for f in j['findings'] if f['code'] == 'spf-too-broad']
    assert [(f['severity'], f['message'].split(' ')[0]) for f in broad] == [
        ('error', 'ip4:0.0.0.0/0'), ('warning', 'ip4:10.0.0.0/12')]
    f = find(j, 'spf-include-pass-all')
    assert f['severity'] == 'error' and 'lax.example.net' in f['message']


def test_spf_ptr_deprecated(mailtest, dns):
    j, _ = check(mailtest, dns, base('v=spf1 ptr ip4:192.0.2.1 ptr:example.com -all'), rc=1)
    f = find(j, 'spf-ptr')
    assert f['severity'] == 'warning' and f['rfc'] == 'RFC 7208 5.5'
    assert f['suggestion'] == 'v=spf1 ip4:192.0.2.1 -all'
    assert_parses('spf', f['suggestion'])


def test_spf_multiple_records_merged(mailtest, dns):
    zone = base(None, extra={D: [{'TXT': 'v=spf1 ip4:192.0.2.1 include:_spf.google.com -all'},
                                 {'TXT': 'v=spf1 ip4:192.0.2.1 ip4:198.51.100.7 ~all'},
                                 {'TXT': 'google-site-verification=abc'},
                                 {'MX': [10, 'mx.example.com']}]})
    zone.update(GOOGLE_SPF)
    j, _ = check(mailtest, dns, zone, rc=1)
    f = find(j, 'spf-multiple')
    assert f['severity'] == 'error' and f['rfc'] == 'RFC 7208 4.5'
    assert f['suggestion'] == ('v=spf1 ip4:192.0.2.1 include:_spf.google.com '
                               'ip4:198.51.100.7 -all')
    assert j['spf']['records'] == 2
    assert_parses('spf', f['suggestion'])


def test_spf_type99_obsolete(mailtest, dns):
    zone = base(extra={D: [{'TXT': 'v=spf1 ip4:192.0.2.0/24 -all'},
                           {'SPF': 'v=spf1 ip4:192.0.2.0/24 -all'},
                           {'MX': [10, 'mx.example.com']}]})
    j, _ = check(mailtest, dns, zone, rc=1)
    f = find(j, 'spf-type99')
    assert f['severity'] == 'warning' and '14.1' in f['rfc']
    assert j['spf']['type99_record'] == 'v=spf1 ip4:192.0.2.0/24 -all'
    # only the type-99 record: no SPF at all for receivers
    zone[D] = [{'SPF': 'v=spf1 ip4:192.0.2.0/24 -all'}, {'TXT': 'NONE'},
               {'MX': [10, 'mx.example.com']}]
    j, _ = check(mailtest, dns, zone, rc=1)
    f = find(j, 'spf-missing')
    assert f['severity'] == 'error' and f['suggestion'] == 'v=spf1 ip4:192.0.2.0/24 -all'


def test_spf_syntax_error_with_position(mailtest, dns):
    j, _ = check(mailtest, dns, base('v=spf1 ip4:192.0.2.1 ip4:192.0.2.300 mx -all'), rc=1)
    f = find(j, 'spf-syntax')
    assert f['severity'] == 'error' and 'octet 26' in f['message']
    assert f['suggestion'] == 'v=spf1 ip4:192.0.2.1 mx -all'
    assert_parses('spf', f['suggestion'])


def test_spf_split_across_strings_without_space(mailtest, dns):
    # two strings of one TXT record are joined without a space (RFC 7208 3.3)
    zone = base(extra={D: [{'TXT': ['v=spf1 ip4:192.0.2.1', 'ip4:192.0.2.2 -all']},
                           {'MX': [10, 'mx.example.com']}]})
    j, _ = check(mailtest, dns, zone, rc=1)
    f = find(j, 'spf-syntax')
    assert 'end the first string with a space' in f['message']
    assert f['suggestion'] == 'v=spf1 ip4:192.0.2.1 ip4:192.0.2.2 -all'


def test_spf_include_that_does_not_exist(mailtest, dns):
    zone = base('v=spf1 include:gone.example.net include:notxt.example.net ip4:192.0.2.1 -all',
                extra={'notxt.example.net': [{'A': '192.0.2.9'}]})
    j, _ = check(mailtest, dns, zone, rc=1)
    fs = [f for f in j['findings'] if f['code'] == 'spf-include-missing']
    assert [f['name'] for f in fs] == ['gone.example.net', 'notxt.example.net']
    assert all(f['severity'] == 'error' and 'permerror' in f['message'] for f in fs)
    assert fs[0]['suggestion'] == 'v=spf1 include:notxt.example.net ip4:192.0.2.1 -all'
    assert fs[0]['suggestion_name'] == D
    assert j['spf']['void_lookups'] == 2
    no(j, 'spf-too-many-void')


def test_spf_too_many_void_lookups(mailtest, dns):
    zone = base('v=spf1 a:old1.example.com mx:old2.example.com exists:old3.example.com '
                'ip4:192.0.2.1 -all', extra={'old2.example.com': [{'A': '192.0.2.2'}]})
    j, _ = check(mailtest, dns, zone, rc=1)
    assert j['spf']['void_lookups'] == 3
    assert len([f for f in j['findings'] if f['code'] == 'spf-void-term']) == 3
    f = find(j, 'spf-too-many-void')
    assert f['severity'] == 'error'


def test_spf_long_record_warns(mailtest, dns):
    rec = 'v=spf1 ' + ' '.join('ip4:192.0.2.%d' % i for i in range(1, 40)) + ' -all'
    assert len(rec) > 450
    j, _ = check(mailtest, dns, base(rec), rc=1)
    f = find(j, 'spf-long')
    assert f['severity'] == 'warning' and str(len(rec)) in f['message']
    j, _ = check(mailtest, dns, base('v=spf1 ip4:192.0.2.1 -all'), rc=0)
    no(j, 'spf-long')


def test_spf_quoted_and_missing(mailtest, dns):
    j, _ = check(mailtest, dns, base('"v=spf1 ip4:192.0.2.1 -all"'), rc=1)
    f = find(j, 'spf-quotes')
    assert f['severity'] == 'error' and f['suggestion'] == 'v=spf1 ip4:192.0.2.1 -all'
    dns.set_zone(base(None))
    assert 'SPF\n  not published\nDKIM' in run(mailtest, dns.address, D, fmt='text').stdout.decode()
    j, _ = check(mailtest, dns, base(None), rc=1)
    f = find(j, 'spf-missing')
    assert f['severity'] == 'warning' and f['suggestion'] == 'v=spf1 mx ~all'
    assert_parses('spf', f['suggestion'])


def test_spf_after_all_redirect_ignored_macro_mx_limit(mailtest, dns):
    many_mx = [{'MX': [i, 'mx%d.example.com' % i]} for i in range(11)]
    zone = base('v=spf1 mx:big.example.com exists:%{i}.rbl.example.com -all ip4:192.0.2.1 '
                'redirect=other.example.com', extra={'big.example.com': many_mx})
    j, _ = check(mailtest, dns, zone, rc=1)
    assert find(j, 'spf-after-all')['severity'] == 'warning'
    f = find(j, 'spf-redirect-ignored')
    assert f['severity'] == 'info'
    assert f['suggestion'] == 'v=spf1 mx:big.example.com exists:%{i}.rbl.example.com -all ip4:192.0.2.1'
    assert find(j, 'spf-macro')['severity'] == 'info'
    assert find(j, 'spf-mx-too-many')['severity'] == 'error'
    # the redirect was not followed, and the term after all is not counted
    assert [n['domain'] for n in j['spf']['tree']] == [D]
    assert j['spf']['dns_terms'] == 2


def test_spf_redirect_to_nothing(mailtest, dns):
    j, _ = check(mailtest, dns, base('v=spf1 ip4:192.0.2.1 redirect=none.example.com'), rc=1)
    f = find(j, 'spf-redirect-missing')
    assert f['suggestion'] == 'v=spf1 ip4:192.0.2.1 ~all' and f['suggestion_name'] == D


# ---- DKIM -----------------------------------------------------------------------


def key_txt(name='rsa2048'):
    return dkimsign.key(name).txt


def dk(sel, value):
    return {sel + '._domainkey.' + D: value if isinstance(value, list) else [{'TXT': value}]}


@pytest.mark.parametrize('key,code,severity,bits', [
    ('rsa1024', 'dkim-key-weak', 'warning', 1024),
    ('rsa512', 'dkim-key-broken', 'error', 512)])
def test_dkim_key_size(mailtest, dns, key, code, severity, bits):
    j, _ = check(mailtest, dns, base(extra=dk('s1', key_txt(key))), D, '--selector', 's1', rc=1)
    f = find(j, code)
    assert f['severity'] == severity and f['rfc'] == 'RFC 8301 3.2'
    k = j['dkim']['selectors'][0]
    assert (k['selector'], k['key_type'], k['key_bits'], k['given']) == ('s1', 'rsa', bits, True)


def test_dkim_key_sizes_fine_and_large(mailtest, dns):
    j, _ = check(mailtest, dns, base(extra=dk('ed', key_txt('ed25519'))), D, '--selector',
                 'ed', '--selector', 'selector1', rc=0)
    assert [(k['key_type'], k['key_bits']) for k in j['dkim']['selectors']] == [
        ('ed25519', 256), ('rsa', 2048)]
    assert find(j, 'dkim-ed25519')['severity'] == 'info'
    with open(os.path.join(ROOT, 'tests', 'keys', 'rsa8192.pub.txt')) as f:
        big = f.read().strip()
    j, _ = check(mailtest, dns, base(extra=dk('big', 'v=DKIM1; k=rsa; p=' + big)), D,
                 '--selector', 'big', rc=1)
    assert j['dkim']['selectors'][0]['key_bits'] == 8192
    assert find(j, 'dkim-key-large')['severity'] == 'warning'


def test_dkim_testing_mode(mailtest, dns):
    rec = key_txt().replace('k=rsa;', 'k=rsa; t=y;')
    j, _ = check(mailtest, dns, base(extra=dk('s1', rec)), D, '--selector', 's1', rc=1)
    f = find(j, 'dkim-testing')
    assert f['severity'] == 'warning'
    assert 't=y' not in f['suggestion'] and f['suggestion'].startswith('v=DKIM1; k=rsa; p=MII')
    assert_parses('dkim', f['suggestion'])
    assert j['dkim']['selectors'][0]['testing'] is True


def test_dkim_revoked(mailtest, dns):
    j, _ = check(mailtest, dns, base(extra=dk('old', 'v=DKIM1; p=')), D, '--selector', 'old',
                 rc=1)
    f = find(j, 'dkim-revoked')
    assert f['severity'] == 'warning'
    assert j['dkim']['selectors'][0]['revoked'] is True
    # found while probing, a revoked key is only a note
    zone = base(extra=dk('default', 'v=DKIM1; p='))
    j, _ = check(mailtest, dns, zone, rc=0)
    assert find(j, 'dkim-revoked')['severity'] == 'info'


def test_dkim_syntax_error_rebuilt(mailtest, dns):
    rec = 'k=rsa; v=DKIM1; p=' + key_txt().split('p=')[1]
    j, _ = check(mailtest, dns, base(extra=dk('s1', rec)), D, '--selector', 's1', rc=1)
    f = find(j, 'dkim-syntax')
    assert f['severity'] == 'error' and 'not the first' in f['message']
    assert f['suggestion'] == 'v=DKIM1; k=rsa; p=' + key_txt().split('p=')[1]
    assert_parses('dkim', f['suggestion'])
    assert j['dkim']['selectors'][0]['valid'] is False


def test_dkim_quotes_typed_into_the_record(mailtest, dns):
    p = key_txt().split('p=')[1]
    rec = 'v=DKIM1; k=rsa; p=%s" "%s' % (p[:200], p[200:])
    j, _ = check(mailtest, dns, base(extra=dk('s1', rec)), D, '--selector', 's1', rc=1)
    f = find(j, 'dkim-quotes')
    assert f['severity'] == 'error'
    assert f['suggestion'] == 'v=DKIM1; k=rsa; p=%s %s' % (p[:200], p[200:])
    assert_parses('dkim', f['suggestion'])
    assert j['dkim']['selectors'][0]['key_bits'] == 2048


def test_dkim_key_split_into_two_records(mailtest, dns):
    txt = key_txt()
    zone = base(extra=dk('s1', [{'TXT': txt[:150]}, {'TXT': txt[150:]}]))
    j, _ = check(mailtest, dns, zone, D, '--selector', 's1', rc=1)
    f = find(j, 'dkim-split-records')
    assert f['severity'] == 'error' and f['suggestion'] == txt
    assert j['dkim']['selectors'][0]['records'] == 2
    no(j, 'dkim-multiple')


def test_dkim_key_split_with_space_at_string_boundary(mailtest, dns):
    txt = key_txt()
    zone = base(extra=dk('s1', [{'TXT': [txt[:200] + ' ', txt[200:]]}]))
    j, _ = check(mailtest, dns, zone, D, '--selector', 's1', rc=1)
    f = find(j, 'dkim-split-space')
    assert f['severity'] == 'warning' and 'octet 201' in f['message']
    assert f['suggestion'] == txt
    assert j['dkim']['selectors'][0]['strings'] == 2
    # split at the same place without the space: nothing to say
    zone = base(extra=dk('s1', [{'TXT': [txt[:200], txt[200:]]}]))
    j, _ = check(mailtest, dns, zone, D, '--selector', 's1', rc=0)
    no(j, 'dkim-split-space')


def test_dkim_other_key_problems(mailtest, dns):
    p = key_txt().split('p=')[1]
    zone = base(extra={**dk('a', 'v=DKIM1; h=sha1; p=' + p), **dk('b', 'v=DKIM1; s=tlsrpt; p=' + p),
                       **dk('c', 'v=DKIM1; k=dsa; p=' + p),
                       **dk('d', [{'TXT': key_txt()}, {'TXT': key_txt('rsa1024')}])})
    j, _ = check(mailtest, dns, zone, D, '--selector', 'a', '--selector', 'b', '--selector', 'c',
                 '--selector', 'd', rc=1)
    assert find(j, 'dkim-hash')['name'] == 'a._domainkey.example.com'
    assert find(j, 'dkim-service')['name'] == 'b._domainkey.example.com'
    assert find(j, 'dkim-key-type')['name'] == 'c._domainkey.example.com'
    assert find(j, 'dkim-multiple')['name'] == 'd._domainkey.example.com'


def test_dkim_selector_given_missing_and_probing(mailtest, dns):
    j, _ = check(mailtest, dns, base(), D, '--selector', 'nosuch', rc=1)
    f = find(j, 'dkim-missing')
    assert f['severity'] == 'error' and f['name'] == 'nosuch._domainkey.example.com'
    assert j['dkim']['probed'] is False
    # probing: which of the common selectors exist
    zone = base(extra={**dk('s2', key_txt()), **dk('k1', key_txt('ed25519'))})
    j, _ = check(mailtest, dns, zone, rc=0)
    found = [k['selector'] for k in j['dkim']['selectors'] if k['found']]
    assert found == ['selector1', 'k1', 's2']
    assert [k['selector'] for k in j['dkim']['selectors']] == [
        'google', 'selector1', 'selector2', 'default', 'k1', 's1', 's2', 'dkim', 'mail']
    zone = base()
    del zone['selector1._domainkey.' + D]
    j, _ = check(mailtest, dns, zone, rc=1)
    f = find(j, 'dkim-none-found')
    assert f['severity'] == 'warning' and '--selector' in f['message']


# ---- DMARC ----------------------------------------------------------------------


def test_dmarc_external_rua_unauthorized_and_authorized(mailtest, dns):
    rec = ('v=DMARC1; p=reject; rua=mailto:d@example.com,mailto:agg@reports.example.net; '
           'ruf=mailto:f@mail.example.com')
    j, _ = check(mailtest, dns, base(dmarc=rec), rc=1)
    f = find(j, 'dmarc-report-unauthorized')
    assert f['severity'] == 'error' and f['rfc'] == 'RFC 7489 7.1'
    assert f['suggestion'] == 'v=DMARC1;'
    assert f['suggestion_name'] == 'example.com._report._dmarc.reports.example.net'
    reps = {u['uri']: u for u in j['dmarc']['reports']}
    assert reps['mailto:d@example.com']['external'] is False
    assert reps['mailto:f@mail.example.com']['external'] is False   # same organization
    ext = reps['mailto:agg@reports.example.net']
    assert ext['external'] is True and ext['authorized'] is False
    # the destination authorizes us: no problem left
    zone = base(dmarc=rec, extra={'example.com._report._dmarc.reports.example.net':
                                  [{'TXT': 'v=DMARC1;'}]})
    j, _ = check(mailtest, dns, zone, rc=0)
    no(j, 'dmarc-report-unauthorized')
    ext = [u for u in j['dmarc']['reports'] if u['domain'] == 'reports.example.net'][0]
    assert ext['authorized'] is True
    assert ext['authorization_name'] == 'example.com._report._dmarc.reports.example.net'


def test_dmarc_every_tag_checked(mailtest, dns):
    rec = ('v=DMARC1; p=reject; rau=mailto:d@example.com; adkim=x; aspf=s; aspf=r; '
           'garbage; rua=mailto:d@example.com')
    j, _ = check(mailtest, dns, base(dmarc=rec), rc=1)
    bad = [(f['severity'], f['code'], f['message'].split('"')[1]) for f in j['findings']
           if f['code'] in ('dmarc-unknown-tag', 'dmarc-bad-tag')]
    assert bad == [('warning', 'dmarc-unknown-tag', 'rau=mailto:d@example.com'),
                   ('error', 'dmarc-bad-tag', 'adkim=x'),
                   ('error', 'dmarc-bad-tag', 'aspf=r'),
                   ('error', 'dmarc-bad-tag', 'garbage')]
    fix = find(j, 'dmarc-bad-tag')['suggestion']
    assert fix == 'v=DMARC1; p=reject; aspf=s; rua=mailto:d@example.com'
    assert_parses('dmarc', fix)
    zone = base(dmarc=fix)
    j, _ = check(mailtest, dns, zone)
    assert not [c for c in codes(j) if c.startswith('dmarc-') and c != 'dmarc-strict']


@pytest.mark.parametrize('rec,code,severity,fix', [
    ('v=DMARC1; p=none; rua=mailto:d@example.com', 'dmarc-policy-none', 'warning',
     'v=DMARC1; p=quarantine; rua=mailto:d@example.com'),
    ('v=DMARC1; p=reject; pct=50; rua=mailto:d@example.com', 'dmarc-pct', 'warning',
     'v=DMARC1; p=reject; rua=mailto:d@example.com'),
    ('v=DMARC1; p=quarantine; t=y; rua=mailto:d@example.com', 'dmarc-testing', 'warning',
     'v=DMARC1; p=quarantine; rua=mailto:d@example.com'),
    ('v=DMARC1; p=reject; sp=none; rua=mailto:d@example.com', 'dmarc-sp-none', 'warning',
     'v=DMARC1; p=reject; rua=mailto:d@example.com'),
    ('v=DMARC1; p=reject; np=none; rua=mailto:d@example.com', 'dmarc-np-none', 'warning',
     'v=DMARC1; p=reject; rua=mailto:d@example.com'),
    ('v=DMARC1; rua=mailto:d@example.com', 'dmarc-no-policy', 'warning',
     'v=DMARC1; p=none; rua=mailto:d@example.com'),
    ('v=DMARC1; p=bogus', 'dmarc-no-policy', 'error', 'v=DMARC1; p=none'),
    ('v=DMARC1; p=reject', 'dmarc-no-rua', 'warning',
     'v=DMARC1; p=reject; rua=mailto:dmarc-reports@example.com'),
])
def test_dmarc_policy(mailtest, dns, rec, code, severity, fix):
    j, _ = check(mailtest, dns, base(dmarc=rec), rc=1)
    f = find(j, code)
    assert f['severity'] == severity and f['name'] == '_dmarc.example.com'
    assert f['suggestion'] == fix
    assert_parses('dmarc', fix)


def test_dmarc_missing_gets_the_suggested_record(mailtest, dns):
    j, _ = check(mailtest, dns, base(dmarc=None), rc=1)
    f = find(j, 'dmarc-missing')
    want = 'v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com; adkim=r; aspf=r'
    assert f['severity'] == 'warning' and f['suggestion'] == want
    assert f['suggestion_name'] == '_dmarc.example.com'
    assert j['suggested_dmarc']['record'] == want
    assert_parses('dmarc', want)
    assert j['dmarc']['name'] is None and j['dmarc']['status'] == 'nodata'


def test_dmarc_found_by_tree_walk(mailtest, dns):
    zone = base(extra={'mail.example.com': [{'TXT': 'v=spf1 ip4:192.0.2.3 -all'},
                                            {'MX': [10, 'mx.example.com']}]})
    j, _ = check(mailtest, dns, zone, 'mail.example.com', '--selector', 'x', rc=1)
    f = find(j, 'dmarc-inherited')
    assert f['severity'] == 'info' and f['name'] == '_dmarc.example.com'
    dm = j['dmarc']
    assert dm['at_domain'] is False and dm['policy_domain'] == 'example.com'
    assert dm['p'] == 'reject'
    no(j, 'dmarc-missing')


def test_dmarc_multiple_quoted_and_out_of_order(mailtest, dns):
    zone = base(extra={'_dmarc.' + D: [{'TXT': 'v=DMARC1; p=reject; rua=mailto:d@example.com'},
                                       {'TXT': 'v=DMARC1; p=none'}]})
    j, _ = check(mailtest, dns, zone, rc=1)
    assert find(j, 'dmarc-multiple')['severity'] == 'error'
    assert j['dmarc']['records'] == 2
    zone = base(dmarc='"v=DMARC1; p=reject; rua=mailto:d@example.com"')
    j, _ = check(mailtest, dns, zone, rc=1)
    f = find(j, 'dmarc-quotes')
    assert f['suggestion'] == 'v=DMARC1; p=reject; rua=mailto:d@example.com'
    find(j, 'dmarc-missing')
    zone = base(dmarc='p=reject; v=DMARC1; rua=mailto:d@example.com')
    j, _ = check(mailtest, dns, zone, rc=1)
    f = find(j, 'dmarc-version-not-first')
    assert f['suggestion'] == 'v=DMARC1; p=reject; rua=mailto:d@example.com'
    assert_parses('dmarc', f['suggestion'])


def test_dmarc_report_uris(mailtest, dns):
    rec = 'v=DMARC1; p=reject; rua=https://reports.example.com/x, mailto:a,b@example.com'
    j, _ = check(mailtest, dns, base(dmarc=rec), rc=1)
    assert find(j, 'dmarc-uri-scheme')['severity'] == 'warning'
    bad = [f['message'] for f in j['findings'] if f['code'] == 'dmarc-uri-invalid']
    assert len(bad) == 2 and all(f['severity'] == 'error' for f in j['findings']
                                 if f['code'] == 'dmarc-uri-invalid')
    assert '"mailto:a", which is not a mail address' in bad[0]
    assert '"b@example.com", which is not a URI' in bad[1]


def test_suggest_dmarc(mailtest, dns):
    zone = base(dmarc=None)
    dns.set_zone(zone)
    p = run(mailtest, dns.address, D, '--suggest-dmarc', fmt=None, rc=0)
    out = p.stdout.decode()
    assert 'Now: no DMARC record.' in out
    assert ('Publish next, as a TXT record at _dmarc.example.com:\n'
            '  v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com; adkim=r; aspf=r') in out
    assert '1. SPF: in place (0 of 10 DNS lookups)' in out
    assert '2. DKIM: keys found at selector1 (rsa 2048 bits)' in out
    assert 'v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@example.com' in out
    assert '5. Finally: v=DMARC1; p=reject;' in out
    # with p=none published: the next step, and the rua already in use kept
    zone = base(dmarc='v=DMARC1; p=none; rua=mailto:agg@example.com', spf=None)
    del zone['selector1._domainkey.' + D]
    dns.set_zone(zone)
    out = run(mailtest, dns.address, D, '--suggest-dmarc', fmt=None, rc=0).stdout.decode()
    assert '  v=DMARC1; p=quarantine; rua=mailto:agg@example.com; adkim=r; aspf=r' in out
    assert '1. SPF: publish an SPF record' in out
    assert '2. DKIM: no key found at the common selectors' in out
    assert '(you are here)' in out.split('\n3.')[0] + out.split('3. ')[1].split('\n')[0]
    for line in out.splitlines():
        if 'v=DMARC1; p=' in line and line.startswith('  v='):
            assert_parses('dmarc', line.strip())


# ---- ADSP, MX, MTA-STS, TLS-RPT, BIMI --------------------------------------------


def test_mx_variants(mailtest, dns):
    zone = base()
    zone[D] = [{'TXT': 'v=spf1 -all'}, {'MX': [0, '.']}]
    j, _ = check(mailtest, dns, zone, rc=0)
    assert j['mx']['null_mx'] is True and find(j, 'mx-null')['severity'] == 'info'
    zone[D] = [{'TXT': 'v=spf1 -all'}, {'MX': [0, '.']}, {'MX': [10, 'mx.example.com']}]
    j, _ = check(mailtest, dns, zone, rc=1)
    assert find(j, 'mx-null-mixed')['severity'] == 'error'
    zone[D] = [{'TXT': 'v=spf1 -all'}, {'A': '192.0.2.80'}]
    j, _ = check(mailtest, dns, zone, rc=0)
    assert find(j, 'mx-implicit')['severity'] == 'info' and j['mx']['address_fallback']
    zone[D] = [{'TXT': 'v=spf1 -all'}]
    j, _ = check(mailtest, dns, zone, rc=1)
    assert find(j, 'mx-none')['severity'] == 'warning'
    j, _ = check(mailtest, dns, zone, 'nowhere.example.com', rc=1)
    assert find(j, 'domain-nxdomain')['severity'] == 'error'
    assert j['mx']['status'] == 'nxdomain'


@pytest.mark.parametrize('rec,code,severity', [
    ('v=STSv1; id=20260101T000000', 'mta-sts-present', 'info'),
    ('v=STSv1; id=2026-01-01', 'mta-sts-syntax', 'error'),
    ('v=STSv1', 'mta-sts-syntax', 'error'),
    ('v=STSv1; id=abc; bad ext=1', 'mta-sts-syntax', 'error')])
def test_mta_sts(mailtest, dns, rec, code, severity):
    j, _ = check(mailtest, dns, base(extra={'_mta-sts.' + D: [{'TXT': rec}]}))
    f = find(j, code)
    assert f['severity'] == severity
    if code == 'mta-sts-syntax':
        assert f['suggestion'].startswith('v=STSv1; id=')
    assert j['mta_sts']['record'] == rec


def test_mta_sts_missing_and_multiple(mailtest, dns):
    zone = base(extra={'_mta-sts.' + D: []})
    j, _ = check(mailtest, dns, zone, rc=0)
    assert find(j, 'mta-sts-missing')['severity'] == 'info'
    zone = base(extra={'_mta-sts.' + D: [{'TXT': 'v=STSv1; id=1'}, {'TXT': 'v=STSv1; id=2'}]})
    j, _ = check(mailtest, dns, zone, rc=1)
    assert find(j, 'mta-sts-multiple')['severity'] == 'error'


def test_tls_rpt(mailtest, dns):
    j, _ = check(mailtest, dns, base(), rc=0)
    assert j['tls_rpt']['record'] == 'v=TLSRPTv1; rua=mailto:tls@example.com'
    zone = base(extra={'_smtp._tls.' + D: [{'TXT': 'v=TLSRPTv1; ruf=mailto:x@example.com'}]})
    j, _ = check(mailtest, dns, zone, rc=1)
    f = find(j, 'tls-rpt-syntax')
    assert f['suggestion'] == 'v=TLSRPTv1; rua=mailto:tls-reports@example.com'
    zone = base(extra={'_smtp._tls.' + D: [{'TXT': 'v=TLSRPTv1; rua=ftp://x.example.com'}]})
    j, _ = check(mailtest, dns, zone, rc=1)
    find(j, 'tls-rpt-syntax')
    zone = base(extra={'_smtp._tls.' + D: []})
    j, _ = check(mailtest, dns, zone, rc=0)
    assert find(j, 'tls-rpt-missing')['severity'] == 'info'


def test_bimi(mailtest, dns):
    bimi = {'default._bimi.' + D: [{'TXT': 'v=BIMI1; l=https://example.com/logo.svg'}]}
    j, _ = check(mailtest, dns, base(extra=bimi), rc=0)
    assert j['bimi']['record'] == 'v=BIMI1; l=https://example.com/logo.svg'
    no(j, 'bimi-dmarc')
    j, _ = check(mailtest, dns, base(dmarc='v=DMARC1; p=none; rua=mailto:d@example.com',
                                     extra=bimi), rc=1)
    assert find(j, 'bimi-dmarc')['severity'] == 'warning'
    bimi = {'default._bimi.' + D: [{'TXT': 'v=BIMI1; l=http://example.com/logo.svg'}]}
    j, _ = check(mailtest, dns, base(extra=bimi), rc=1)
    assert find(j, 'bimi-syntax')['severity'] == 'warning'
    j, _ = check(mailtest, dns, base(), rc=0)
    assert j['bimi']['record'] is None and j['bimi']['status'] == 'nxdomain'


def test_adsp_absent(mailtest, dns):
    j, _ = check(mailtest, dns, base(), rc=0)
    no(j, 'adsp-historic')
    assert j['adsp']['record'] is None


# ---- DNSSEC, --server, exit codes, JSON ------------------------------------------


def test_dnssec_status_per_answer(mailtest, dns):
    zone = base()
    zone[D] = zone[D] + [{'AD': True}]
    zone['_dmarc.' + D] = zone['_dmarc.' + D] + [{'AD': True}]
    j, _ = check(mailtest, dns, zone, rc=0)
    assert j['spf']['dnssec'] is True and j['spf']['tree'][0]['dnssec'] is True
    assert j['dmarc']['dnssec'] is True and j['mx']['dnssec'] is True
    assert j['dkim']['selectors'][1]['dnssec'] is False
    sec = {(k['name'], k['type']): k['dnssec'] for k in j['lookups']}
    assert sec[(D, 'TXT')] is True and sec[(D, 'MX')] is True
    assert sec[('selector1._domainkey.' + D, 'TXT')] is False
    dns.set_zone(zone)
    out = run(mailtest, dns.address, D, fmt='text', rc=0).stdout.decode()
    assert 'v=spf1 ip4:192.0.2.0/24 -all [DNSSEC]' in out


def test_server_option_asks_the_server_named(mailtest, dns):
    other = dnsd.DNSServer().start()
    try:
        dns.set_zone(base('v=spf1 ip4:192.0.2.1 -all'))
        other.set_zone(base('v=spf1 ip4:198.51.100.1 +all'))
        j = json.loads(run(mailtest, other.address, D, rc=1).stdout)
        assert j['spf']['record'] == 'v=spf1 ip4:198.51.100.1 +all'
        assert j['dns_servers'] == other.address
        find(j, 'spf-pass-all')
        j = json.loads(run(mailtest, dns.address, D, rc=0).stdout)
        assert j['spf']['record'] == 'v=spf1 ip4:192.0.2.1 -all'
        # the same server again after a change: no cache between the answers
        other.set_zone(base('v=spf1 ip4:198.51.100.2 -all'))
        j = json.loads(run(mailtest, other.address, D, rc=0).stdout)
        assert j['spf']['record'] == 'v=spf1 ip4:198.51.100.2 -all'
    finally:
        other.stop()


def test_server_option_through_config(mailtest, dns, tmp_path):
    dns.set_zone(base())
    conf = tmp_path / 'mailtest.conf'
    conf.write_text('dns_server %s\ndns_timeout_ms 300\n' % dns.address)
    p = run_mailtest(mailtest, ['dns-check', '-c', str(conf), '--format', 'json', D])
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)['spf']['record'] == 'v=spf1 ip4:192.0.2.0/24 -all'


def test_exit_codes(mailtest, dns):
    dns.set_zone(base())
    assert run(mailtest, dns.address, D).returncode == 0
    dns.set_zone(base('v=spf1 +all'))
    assert run(mailtest, dns.address, D).returncode == 1
    # usage errors
    for argv in (['dns-check'], ['dns-check', 'a.example', 'b.example'],
                 ['dns-check', '--format', 'xml', D], ['dns-check', 'no_dots'],
                 ['dns-check', '--selector', 'bad..sel', D], ['dns-check', '--bogus', D]):
        p = run_mailtest(mailtest, argv)
        assert p.returncode == 2, (argv, p.stdout, p.stderr)
        assert p.stderr
    dns.set_zone(base(extra={'_dmarc.' + D: [{'RCODE': 2}]}))
    assert run(mailtest, dns.address, D, '--suggest-dmarc', fmt=None).returncode == 2
    p = run_mailtest(mailtest, ['dns-check', '--help'])
    assert p.returncode == 0
    help_text = p.stdout.decode()
    assert 'Exit status: 0 no problems' in help_text and '2 usage error' in help_text


@pytest.mark.parametrize('name,flag', [(D, {'RCODE': 2}), ('_dmarc.' + D, {'TIMEOUT': True}),
                                       ('selector1._domainkey.' + D, {'RCODE': 2})])
def test_lookup_failure_exits_2(mailtest, dns, name, flag):
    zone = base()
    zone[name] = [flag]
    j, _ = check(mailtest, dns, zone, rc=2)
    assert j['status'] == 'lookup-failed' and j['exit_status'] == 2
    assert any(f['code'].endswith('lookup-failed') for f in j['findings'])


def test_lookup_failure_of_optional_record_is_not_exit_2(mailtest, dns):
    zone = base()
    zone['default._bimi.' + D] = [{'RCODE': 2}]
    j, _ = check(mailtest, dns, zone, rc=1)
    f = find(j, 'lookup-failed')
    assert f['severity'] == 'warning' and f['name'] == 'default._bimi.example.com'


@pytest.mark.valgrind
def test_json_fields(mailtest, dns):
    rec = 'v=DMARC1; p=none; rua=mailto:a@reports.example.net'
    j, _ = check(mailtest, dns, base('v=spf1 include:x.example.net ?all', dmarc=rec), rc=1)
    assert set(j) >= {'domain', 'dns_servers', 'status', 'exit_status', 'counts', 'findings',
                      'spf', 'dkim', 'dmarc', 'adsp', 'mx', 'mta_sts', 'tls_rpt', 'bimi',
                      'suggested_dmarc', 'lookups'}
    assert j['counts']['error'] == sum(f['severity'] == 'error' for f in j['findings'])
    assert j['counts']['warning'] == sum(f['severity'] == 'warning' for f in j['findings'])
    for f in j['findings']:
        assert set(f) == {'severity', 'area', 'code', 'name', 'message', 'rfc', 'suggestion',
                          'suggestion_name'}
        assert f['severity'] in ('error', 'warning', 'info') and f['message']
        assert (f['suggestion'] is None) == (f['suggestion_name'] is None)
    assert set(j['spf']) >= {'record', 'records', 'dnssec', 'type99_record', 'dns_terms',
                             'dns_terms_limit', 'void_lookups', 'void_lookups_limit', 'tree'}
    assert j['spf']['dns_terms_limit'] == 10 and j['spf']['void_lookups_limit'] == 2
    assert set(j['spf']['tree'][0]) >= {'depth', 'parent', 'via', 'domain', 'record', 'status',
                                        'dnssec', 'terms', 'dns_terms', 'void_lookups', 'loop'}
    assert set(j['dkim']['selectors'][0]) >= {'selector', 'name', 'found', 'key_type',
                                              'key_bits', 'testing', 'revoked', 'dnssec'}
    assert set(j['dmarc']) >= {'name', 'record', 'p', 'sp', 'np', 'pct', 'testing', 'adkim',
                               'aspf', 'reports', 'dnssec', 'at_domain'}
    assert set(j['dmarc']['reports'][0]) >= {'tag', 'uri', 'domain', 'external', 'authorized'}
    assert len(j['suggested_dmarc']['steps']) == 5
    assert all(set(k) >= {'name', 'type', 'status', 'dnssec'} for k in j['lookups'])
    # every suggestion that is a record of ours parses
    for f in j['findings']:
        if f['suggestion'] and f['area'] in ('spf', 'dmarc') and \
                not f['suggestion_name'].startswith(('example.com._report',)):
            assert_parses(f['area'], f['suggestion'])


def test_spf_tree_and_query_budget_are_bounded(mailtest, dns):
    # 1 + 8 + 64 records: more than the 64 shown; each leaf has 3 a: terms
    # (A and AAAA each) that find nothing: more than the 400-lookup budget
    zone = base('v=spf1 ' + ' '.join('include:i%d.example.net' % i for i in range(8)) + ' -all')
    for i in range(8):
        zone['i%d.example.net' % i] = [{'TXT': 'v=spf1 ' + ' '.join(
            'include:l%d-%d.example.net' % (i, k) for k in range(8)) + ' ~all'}]
        for k in range(8):
            zone['l%d-%d.example.net' % (i, k)] = [{'TXT': 'v=spf1 a:x1.example.net '
                                                           'a:x2.example.net a:x3.example.net ~all'}]
    j, _ = check(mailtest, dns, zone, rc=1)
    assert len(j['spf']['tree']) == 64 and j['spf']['truncated'] is True
    assert find(j, 'spf-tree-truncated')['severity'] == 'warning'
    assert find(j, 'dns-too-many-lookups')['severity'] == 'warning'
    assert len(j['lookups']) == 400
    find(j, 'spf-too-many-lookups')
    find(j, 'spf-too-many-void')
    # one kind of note is kept 8 times, the rest counted
    assert len([f for f in j['findings'] if f['code'] == 'spf-void-term']) == 8
    assert j['counts']['info'] > 100 and j['counts']['dropped'] > 90


def test_server_turns_the_cache_off(mailtest, dns, tmp_path):
    # example.com A is asked twice in one check: for the MX fallback and the a term
    zone = base('v=spf1 a -all')
    zone[D] = [{'TXT': 'v=spf1 a -all'}, {'A': '192.0.2.80'}]
    dns.set_zone(zone)
    dns.reset_stats()
    run(mailtest, dns.address, D, rc=0)
    assert dns.stats()['log'].count([D, 'A']) + dns.stats()['log'].count((D, 'A')) == 2
    conf = tmp_path / 'mailtest.conf'
    conf.write_text('dns_server %s\ndns_timeout_ms 300\n' % dns.address)
    dns.reset_stats()
    p = run_mailtest(mailtest, ['dns-check', '-c', str(conf), D])
    assert p.returncode == 0, p.stderr
    assert dns.stats()['log'].count((D, 'A')) == 1


def test_domain_is_normalized_and_bad_include_names(mailtest, dns):
    long_label = 'x' * 64
    j, _ = check(mailtest, dns, base('v=spf1 include:%s.example.net -all' % long_label),
                 'EXAMPLE.com.', rc=1)
    assert j['domain'] == 'example.com'
    f = find(j, 'spf-bad-name')
    assert f['suggestion'] == 'v=spf1 -all' and f['suggestion_name'] == D
    assert j['spf']['tree'][1]['status'] == 'badname'


@pytest.mark.valgrind
def test_api_from_worker_threads_with_a_shared_resolver(dns):
    """dnscheck_run() as the daemon's workers call it: 4 threads x 3 rounds,
    one resolver and its cache; every result the same, and the "what to fix"
    text (dnscheck_render_fixes()) lists errors and warnings only."""
    dns.set_zone(base('v=spf1 ip4:192.0.2.1 +all', dmarc='v=DMARC1; p=none'))
    cmd = os.environ.get('MAILTEST_WRAPPER', '').split() + [
        bin_path('dnscheckq'), dns.address, '4', '3', D]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    results = [json.loads(x) for x in lines[:4]]
    assert all(r == results[0] for r in results)
    assert results[0]['exit_status'] == 1
    fixes = '\n'.join(lines[4:])
    assert '[error] example.com: the SPF record of example.com ends with +all' in fixes
    assert 'suggested record for example.com:\n        v=spf1 ip4:192.0.2.1 ~all' in fixes
    assert '[warning] _dmarc.example.com: p=none is monitoring only' in fixes
    assert '[info]' not in fixes
