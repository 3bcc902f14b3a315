"""SPF (verify/spf.c): where mailtest corrects libspf2 against RFC 7208, the
report fields, and bounded work on hostile record trees.

Each test names the RFC 7208 section it holds mailtest to.  Where libspf2
1.2.10 alone gives another answer, the docstring says what it gave (see
../shared/conformance/spf/observed/ and README.md "Dependency notes").
"""
import pytest

MSG = b'From: t@example.invalid\r\nSubject: spf\r\n\r\nbody\r\n'


def spf(verify, dns, zone, ip='192.0.2.10', mail_from='user@example.com',
        helo='mail.example.net', timeout_ms=300):
    dns.set_zone(zone)
    out, _ = verify(MSG, ip=ip, helo=helo, mail_from=mail_from, timeout_ms=timeout_ms)
    return out['spf']


def queried(dns, suffix):
    return [q for q in dns.stats()['log'] if q[0].lower().endswith(suffix)]


# ---- results that libspf2 alone gets wrong ----------------------------

@pytest.mark.valgrind
def test_rfc7208_5_6_zero_prefix_is_legal(verify, dns):
    """5.6: /0 is a valid prefix length (libspf2: compile error, INVALID)."""
    z = {'example.com': [{'TXT': 'v=spf1 ip4:203.0.113.1/0 -all'}]}
    assert spf(verify, dns, z)['result'] == 'pass'
    z = {'example.com': [{'TXT': 'v=spf1 a/0 -all'}, {'A': '203.0.113.9'}]}
    r = spf(verify, dns, z)
    assert r['result'] == 'pass' and r['mechanism'] == 'a/0'
    z = {'example.com': [{'TXT': 'v=spf1 mx//0 -all'}, {'MX': [5, 'mx.example.com']}],
         'mx.example.com': [{'AAAA': '2001:db8::9'}]}
    assert spf(verify, dns, z, ip='2001:db8:1::1')['result'] == 'pass'
    assert spf(verify, dns, z, ip='192.0.2.10')['result'] == 'fail'


def test_rfc7208_5_ipv4_mapped_client_is_ipv4(verify, dns):
    """5 (and 5.6): an IPv4-mapped IPv6 client is checked as IPv4: ip4 applies,
    ip6 does not (libspf2: matched ip6:::ffff:... and gave pass)."""
    z = {'example.com': [{'TXT': 'v=spf1 -ip4:192.0.2.10 ip6:::ffff:192.0.2.10 +all'}]}
    r = spf(verify, dns, z, ip='::ffff:192.0.2.10')
    assert r['result'] == 'fail' and r['mechanism'] == '-ip4:192.0.2.10'


def test_rfc7208_4_6_4_ten_terms_across_includes(verify, dns):
    """4.6.4: the 10-term limit counts the whole evaluation, includes too
    (libspf2 counts per record: include-over-limit passed)."""
    z = {'example.com': [{'TXT': 'v=spf1 a include:inc.example.com a ip4:192.0.2.10 -all'},
                         {'A': '198.51.100.1'}],
         'inc.example.com': [{'TXT': 'v=spf1 ' + ' '.join(['a'] * 8)}, {'A': '198.51.100.2'}]}
    r = spf(verify, dns, z)
    assert r['result'] == 'permerror'
    assert 'more than 10 DNS-querying terms (RFC 7208 4.6.4)' in r['problem']
    assert r['lookups'] == 10 and r['mechanism'] == 'a'
    # exactly 10 is fine, and the ip4 after them still decides
    z['example.com'][0] = {'TXT': 'v=spf1 a include:inc.example.com ip4:192.0.2.10 -all'}
    r = spf(verify, dns, z)
    assert r['result'] == 'pass' and r['lookups'] == 10


def test_rfc7208_4_6_4_void_lookups(verify, dns):
    """4.6.4: a third void lookup (NODATA or NXDOMAIN) is permerror
    (libspf2 has no void-lookup limit: neutral)."""
    z = {'example.com': [{'TXT': 'v=spf1 a:nx1.example.com mx:nodata.example.com '
                                 'exists:nx3.example.com ?all'}],
         'nodata.example.com': []}
    r = spf(verify, dns, z)
    assert r['result'] == 'permerror' and r['void_lookups'] == 3
    assert 'void lookups' in r['problem'] and '4.6.4' in r['problem']
    z['example.com'] = [{'TXT': 'v=spf1 a:nx1.example.com mx:nodata.example.com ?all'}]
    r = spf(verify, dns, z)
    assert r['result'] == 'neutral' and r['void_lookups'] == 2


def test_rfc7208_4_6_4_mx_names_limit(verify, dns):
    """4.6.4: an mx mechanism with more than 10 MX names is permerror, even
    when one of the first 10 would match (libspf2 passed on a match)."""
    mxs = [{'MX': [i, 'mx%d.example.com' % i]} for i in range(11)]
    z = {'example.com': [{'TXT': 'v=spf1 mx -all'}] + mxs,
         'mx0.example.com': [{'A': '192.0.2.10'}]}
    r = spf(verify, dns, z)
    assert r['result'] == 'permerror' and 'MX records' in r['problem']
    z['example.com'] = [{'TXT': 'v=spf1 mx -all'}] + mxs[:10]
    assert spf(verify, dns, z)['result'] == 'pass'


def test_rfc7208_4_6_4_ptr_names_beyond_ten_ignored(verify, dns):
    """4.6.4: PTR names past the first 10 are ignored, not an error
    (libspf2 gave permerror: ptr-limit)."""
    ptrs = [{'PTR': 'h%d.other.example' % i} for i in range(10)] + [{'PTR': 'ok.example.com'}]
    z = {'example.com': [{'TXT': 'v=spf1 ptr ?all'}],
         '10.2.0.192.in-addr.arpa': ptrs,
         'ok.example.com': [{'A': '192.0.2.10'}]}
    r = spf(verify, dns, z)
    assert r['result'] == 'neutral'
    assert not queried(dns, 'ok.example.com')


def test_rfc7208_5_5_ptr_dns_error_skips_name(verify, dns):
    """5.5: a DNS error while validating one PTR name skips that name, and
    one on the PTR lookup is no match (libspf2: temperror, ptr-cname-loop)."""
    z = {'example.com': [{'TXT': 'v=spf1 ptr -all'}],
         '10.2.0.192.in-addr.arpa': [{'PTR': 'slow.example.com'}, {'PTR': 'mail.example.com'}],
         'slow.example.com': [{'TIMEOUT': True}],
         'mail.example.com': [{'A': '192.0.2.10'}]}
    assert spf(verify, dns, z)['result'] == 'pass'
    # and an error on the PTR lookup itself: ptr does not match
    z['10.2.0.192.in-addr.arpa'] = [{'RCODE': 2}]
    r = spf(verify, dns, z)
    assert r['result'] == 'fail' and r['mechanism'] == '-all'


def test_rfc7208_6_1_redirect_after_mechanisms_and_ignored_with_all(verify, dns):
    """6.1: redirect acts only after every mechanism failed to match, and is
    ignored when the record has "all" (libspf2 followed it where it stood)."""
    z = {'example.com': [{'TXT': 'v=spf1 redirect=other.example.com ~all'}],
         'other.example.com': [{'TXT': 'v=spf1 +all'}]}
    r = spf(verify, dns, z)
    assert r['result'] == 'softfail' and r['lookups'] == 0
    z['example.com'] = [{'TXT': 'v=spf1 redirect=other.example.com ip4:192.0.2.10'}]
    assert spf(verify, dns, z)['result'] == 'pass'
    z['example.com'] = [{'TXT': 'v=spf1 ip4:198.51.100.1 redirect=other.example.com'}]
    r = spf(verify, dns, z)
    assert r['result'] == 'pass' and r['lookups'] == 1
    assert [(s['depth'], s['via']) for s in r['records']] == [
        (0, None), (1, 'redirect=other.example.com')]


@pytest.mark.parametrize('record,why', [
    ('v=spf1 -all exp=a.example.com exp=b.example.com', 'exp= appears more than once'),
    ('v=spf1 redirect=a.example.com redirect=a.example.com', 'redirect= appears more'),
    ('v=spf1 a:example.com:8080 -all', 'top-level label'),
    ('v=spf1 exists:%(ir).example.com -all', "'%' must be followed by"),
    ('v=spf1 -all foo=%abc', "'%' must be followed by"),
    ('v=spf1 ip4:192.0.2.1/032 -all', 'prefix length'),
    ('v=spf1 a:foo.example.com\x0dptr -all', 'control character'),
    ('v=spf1 exp=%{r}.example.com -all', "letter 'r' is allowed only in exp="),
    ('v=spf1 1up=foo -all', 'must start with a letter'),
    ('v=spf1 ptr:example.com -all moo', "unknown mechanism 'moo'"),
])
def test_rfc7208_4_6_syntax_error_anywhere_is_permerror(verify, dns, record, why):
    """4.6, 6, 7.1, 5.6: a syntax error anywhere in an evaluated record is
    permerror, even after the term that matches (libspf2 passed most)."""
    r = spf(verify, dns, {'example.com': [{'TXT': 'v=spf1 +all'}],
                          'example.net': [{'TXT': record}]},
            mail_from='user@example.net')
    assert r['result'] == 'permerror', r
    assert why in r['problem'] and 'at position' in r['problem'], r['problem']


def test_rfc7208_5_2_include_target_syntax_error(verify, dns):
    """4.6 and 5.2: a syntax error in an included record is permerror."""
    z = {'example.com': [{'TXT': 'v=spf1 ip4:192.0.2.10 include:bad.example.com -all'}],
         'bad.example.com': [{'TXT': 'v=spf1 a:-bad -all'}]}
    assert spf(verify, dns, z)['result'] == 'pass'   # never reached
    z['example.com'] = [{'TXT': 'v=spf1 include:bad.example.com ip4:192.0.2.10 -all'}]
    r = spf(verify, dns, z)
    assert r['result'] == 'permerror' and 'bad.example.com' in r['problem']


def test_rfc7208_loopback_client_gets_no_free_pass(verify, dns):
    """2.4/4: check_host() has no exemption for 127.0.0.0/8 or ::1
    (libspf2's SPF_request_query_mailfrom() passes localhost)."""
    z = {'example.com': [{'TXT': 'v=spf1 -all'}]}
    assert spf(verify, dns, z, ip='127.0.0.1')['result'] == 'fail'
    assert spf(verify, dns, z, ip='::1')['result'] == 'fail'


def test_rfc7208_3_1_no_type_99_queries(verify, dns):
    """3.1 / 14.1: type SPF (99) is not used; libspf2 asks it first - our DNS
    layer answers it locally, so the server never sees one."""
    dns.reset_stats()
    spf(verify, dns, {'example.com': [{'TXT': 'v=spf1 mx a ptr -all'}]})
    types = {t for _, t in dns.stats()['log']}
    assert 99 not in types and 'SPF' not in types and 'TXT' in types


def test_rfc7208_4_5_multiple_records(verify, dns):
    """4.5: two SPF records at a name is permerror; other TXT is ignored."""
    z = {'example.com': [{'TXT': 'v=spf1 -all'}, {'TXT': 'v=spf1 +all'},
                         {'TXT': 'google-site-verification=x'}]}
    r = spf(verify, dns, z)
    assert r['result'] == 'permerror' and '(RFC 7208 4.5)' in r['problem']


# ---- macros: expanded by mailtest, never by libspf2 (CVE-2023-42118) ----

@pytest.mark.valgrind
def test_rfc7208_7_macros_expanded_before_libspf2(verify, dns):
    """7.3: transformers, reversal, delimiters, URL-escaping; hostile digit
    counts are harmless (libspf2 1.2.10's expander had an underflow)."""
    z = {'example.com': [{'TXT': 'v=spf1 exists:%{l2r-}.%{d999999999999r}.%{ir}._x.%{d2} -all '
                                 'exp=why.%{d}'}],
         'a.x.com.example.10.2.0.192._x.example.com': [{'A': '127.0.0.2'}],
         'why.example.com': [{'TXT': '%{c} (%{L}) is not allowed; see %{r}'}]}
    r = spf(verify, dns, z, mail_from='x-a-b@example.com')
    assert r['result'] == 'pass', r
    r = spf(verify, dns, z, mail_from='q&r-s@example.com')
    assert r['result'] == 'fail'
    assert r['explanation'].startswith('192.0.2.10 (q%26r-s) is not allowed; see ')


def test_rfc7208_7_3_long_expansion_truncated_from_left(verify, dns):
    """7.3: an expanded name over 253 octets loses labels on the left."""
    long_local = '.'.join(['abcdefghij'] * 30)
    z = {'example.com': [{'TXT': 'v=spf1 exists:%{l}.ok.example.com -all'}],
         'abcdefghij.' * 21 + 'ok.example.com': [{'A': '127.0.0.2'}]}
    assert len('abcdefghij.' * 21 + 'ok.example.com') <= 253
    r = spf(verify, dns, z, mail_from=long_local + '@example.com')
    assert r['result'] == 'pass'


def test_rfc7208_5_5_p_macro(verify, dns):
    """7.3 p: the validated name of the client, preferring the <domain>."""
    z = {'example.com': [{'TXT': 'v=spf1 exists:%{p}.allow.example.com -all'}],
         '10.2.0.192.in-addr.arpa': [{'PTR': 'fake.example.org'}, {'PTR': 'mx.example.com'}],
         'fake.example.org': [{'A': '192.0.2.99'}],
         'mx.example.com': [{'A': '192.0.2.10'}],
         'mx.example.com.allow.example.com': [{'A': '127.0.0.2'}]}
    assert spf(verify, dns, z)['result'] == 'pass'


# ---- report fields ------------------------------------------------------

@pytest.mark.valgrind
def test_report_fields(verify, dns):
    z = {'example.com': [{'TXT': 'v=spf1 include:_spf.example.com ~all'}, {'AD': True}],
         '_spf.example.com': [{'TXT': 'v=spf1 ip4:198.51.100.0/24 -all'}]}
    r = spf(verify, dns, z)
    assert r['result'] == 'softfail'
    assert r['domain'] == 'example.com' and r['sender'] == 'user@example.com'
    assert r['record'] == 'v=spf1 include:_spf.example.com ~all'
    assert r['mechanism'] == '~all' and r['dnssec'] is True
    assert r['reason'].startswith('192.0.2.10 is not authorized by the SPF record of '
                                  'example.com: the record ends with ~all')
    assert r['problem'] is None and r['explanation'] is None
    assert r['lookups'] == 1 and r['void_lookups'] == 0
    assert r['records'] == [
        {'depth': 0, 'via': None, 'domain': 'example.com',
         'record': 'v=spf1 include:_spf.example.com ~all', 'result': 'softfail'},
        {'depth': 1, 'via': 'include:_spf.example.com', 'domain': '_spf.example.com',
         'record': 'v=spf1 ip4:198.51.100.0/24 -all', 'result': 'fail'}]
    r = spf(verify, dns, z, ip='198.51.100.7')
    assert r['result'] == 'pass' and r['mechanism'] == 'include:_spf.example.com'


def test_report_none_temperror_and_helo(verify, dns):
    z = {'example.com': [{'A': '192.0.2.1'}], 'slow.example.com': [{'TIMEOUT': True}],
         'mail.example.net': [{'TXT': 'v=spf1 a -all'}, {'A': '192.0.2.10'}]}
    dns.set_zone(z)
    out, _ = verify(MSG, ip='192.0.2.10', helo='mail.example.net',
                    mail_from='user@example.com')
    assert out['spf']['result'] == 'none'
    assert 'publishes no SPF record' in out['spf']['reason']
    assert out['spf']['helo']['result'] == 'pass'
    assert out['spf']['helo']['sender'] == 'postmaster@mail.example.net'
    r = spf(verify, dns, z, mail_from='user@slow.example.com')
    assert r['result'] == 'temperror' and 'slow.example.com' in r['problem']
    r = spf(verify, dns, z, mail_from='user@nx.example.com')
    assert r['result'] == 'none' and 'NXDOMAIN' in r['reason']


def test_null_sender_uses_helo(verify, dns):
    """2.4: for <> the identity is postmaster@HELO."""
    z = {'mail.example.net': [{'TXT': 'v=spf1 -all exp=e.example.net'}],
         'e.example.net': [{'TXT': '%{s} via %{h}'}]}
    r = spf(verify, dns, z, mail_from='')
    assert r['result'] == 'fail' and r['sender'] == 'postmaster@mail.example.net'
    assert r['explanation'] == 'postmaster@mail.example.net via mail.example.net'


# ---- bounded work -------------------------------------------------------

def test_bounded_include_tree_and_loops(verify, dns):
    """4.6.4: 500 chained includes, a loop, and a wide tree all stop at the
    limits; the DNS server sees a bounded number of queries."""
    chain = {'example.com': [{'TXT': 'v=spf1 include:i0.example.com -all'}]}
    for i in range(500):
        chain['i%d.example.com' % i] = [{'TXT': 'v=spf1 include:i%d.example.com -all' % (i + 1)}]
    dns.reset_stats()
    r = spf(verify, dns, chain)
    assert r['result'] == 'permerror' and r['lookups'] == 10
    assert len(queried(dns, 'example.com')) <= 30, dns.stats()['queries']

    loop = {'example.com': [{'TXT': 'v=spf1 include:example.com redirect=example.com'}]}
    dns.reset_stats()
    r = spf(verify, dns, loop)
    assert r['result'] == 'permerror' and len(r['records']) == 11
    assert len(queried(dns, 'example.com')) <= 30

    wide = {'example.com': [{'TXT': 'v=spf1 ' + ' '.join(
        'mx:m%d.example.com' % i for i in range(500)) + ' -all'}]}
    for i in range(500):
        wide['m%d.example.com' % i] = [{'MX': [k, 'h%d.example.net' % k]} for k in range(10)]
    dns.reset_stats()
    r = spf(verify, dns, wide)
    assert r['result'] == 'permerror'
    # 10 mx terms x (1 MX + 10 A) + the TXT, for the mail-from check
    assert len(queried(dns, '.example.com')) + len(queried(dns, '.example.net')) <= 120


def test_huge_record_is_linear(verify, dns):
    """A 60 kB record of ip4 terms parses and evaluates (no DNS terms)."""
    terms = ' '.join('ip4:198.51.%d.%d' % (i // 250, i % 250) for i in range(3500))
    r = spf(verify, dns, {'example.com': [{'TXT': 'v=spf1 ' + terms + ' ip4:192.0.2.10 -all'}]})
    assert r['result'] == 'pass' and r['mechanism'] == 'ip4:192.0.2.10'


def test_oversized_sender_and_helo(verify, dns):
    """Limits: a sender over 1024 octets is not evaluated; a long HELO is cut
    for %{h} (each macro copy of it stays bounded)."""
    z = {'example.com': [{'TXT': 'v=spf1 ' + 'exists:%{h}%{s}.example.com ' * 10 + '-all'}],
         'com.example.com': [{'A': '127.0.0.2'}]}
    r = spf(verify, dns, z, mail_from='x' * 1100 + '@example.com')
    assert r['result'] == 'none' and 'longer than 1024' in r['reason']
    # 1024 + 900 octets of one label, then "@example.com.example.com": 7.3
    # drops the long label, leaving com.example.com
    r = spf(verify, dns, z, mail_from='x' * 900 + '@example.com', helo='h' * 5000)
    assert r['result'] == 'pass' and r['lookups'] == 1
