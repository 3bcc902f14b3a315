"""iprev (RFC 8601 3) through `mailtest verify --format json` and the loopback DNS.

Result words per RFC 8601 3: pass (reverse and forward agree), fail (the
forward lookup disagrees or has no data), temperror (SERVFAIL, timeout),
permerror ("no PTR data are published for the connecting IP address").
"""
import ipaddress

import pytest

import dkimsign

MSG = dkimsign.message('user@example.com', subject='iprev')


def rev(ip):
    return ipaddress.ip_address(ip).reverse_pointer


def run(verify, dns, zone, ip):
    dns.set_zone(zone)
    out, _ = verify(MSG, ip=ip, helo='mail.example.org', mail_from='user@example.com')
    return out['iprev']


@pytest.mark.valgrind
def test_pass(verify, dns):
    r = run(verify, dns, {rev('192.0.2.1'): [{'PTR': 'mail.example.com'}],
                          'mail.example.com': [{'A': '192.0.2.1'}]}, '192.0.2.1')
    assert (r['result'], r['ptr'], r['names']) == ('pass', 'mail.example.com', ['mail.example.com'])


def test_second_ptr_name_confirms(verify, dns):
    r = run(verify, dns, {rev('192.0.2.1'): [{'PTR': 'a.example.com'}, {'PTR': 'b.example.com'}],
                          'a.example.com': [{'A': '192.0.2.9'}],
                          'b.example.com': [{'A': '192.0.2.1'}]}, '192.0.2.1')
    assert (r['result'], r['ptr']) == ('pass', 'b.example.com')
    assert sorted(r['names']) == ['a.example.com', 'b.example.com']


def test_fail_forward_mismatch(verify, dns):
    r = run(verify, dns, {rev('192.0.2.1'): [{'PTR': 'mail.example.com'}],
                          'mail.example.com': [{'A': '192.0.2.99'}]}, '192.0.2.1')
    assert (r['result'], r['ptr']) == ('fail', 'mail.example.com')
    assert 'does not resolve back' in r['reason']


def test_fail_forward_name_does_not_exist(verify, dns):
    r = run(verify, dns, {rev('192.0.2.1'): [{'PTR': 'gone.example.com'}]}, '192.0.2.1')
    assert r['result'] == 'fail'


@pytest.mark.valgrind
def test_no_ptr_is_permerror(verify, dns):
    """RFC 8601 3: no PTR data (NXDOMAIN, or NOERROR without answers) is
    permerror.  (The first version of iprev.c said fail.)"""
    r = run(verify, dns, {}, '192.0.2.1')
    assert r['result'] == 'permerror' and 'NXDOMAIN' in r['reason']
    r = run(verify, dns, {rev('192.0.2.1'): []}, '192.0.2.1')
    assert r['result'] == 'permerror' and 'no data' in r['reason']


def test_temperror_servfail(verify, dns):
    r = run(verify, dns, {rev('192.0.2.1'): [{'RCODE': 2}]}, '192.0.2.1')
    assert r['result'] == 'temperror'


def test_temperror_timeout(verify, dns):
    r = run(verify, dns, {rev('192.0.2.1'): [{'TIMEOUT': True}]}, '192.0.2.1')
    assert r['result'] == 'temperror' and 'failed' in r['reason']


def test_temperror_forward_servfail_names_the_name(verify, dns):
    r = run(verify, dns, {rev('192.0.2.1'): [{'PTR': 'a.example.com'}, {'PTR': 'b.example.com'}],
                          'a.example.com': [{'A': '192.0.2.9'}],
                          'b.example.com': [{'RCODE': 2}]}, '192.0.2.1')
    assert r['result'] == 'temperror' and 'b.example.com' in r['reason']


def test_forward_servfail_but_other_name_confirms(verify, dns):
    r = run(verify, dns, {rev('192.0.2.1'): [{'PTR': 'a.example.com'}, {'PTR': 'b.example.com'}],
                          'a.example.com': [{'RCODE': 2}],
                          'b.example.com': [{'A': '192.0.2.1'}]}, '192.0.2.1')
    assert (r['result'], r['ptr']) == ('pass', 'b.example.com')


def test_ipv6(verify, dns):
    ip = '2001:db8::25'
    r = run(verify, dns, {rev(ip): [{'PTR': 'v6.example.com'}],
                          'v6.example.com': [{'AAAA': ip}, {'A': '192.0.2.1'}]}, ip)
    assert (r['result'], r['ip'], r['ptr']) == ('pass', ip, 'v6.example.com')
    r = run(verify, dns, {rev(ip): [{'PTR': 'v6.example.com'}],
                          'v6.example.com': [{'A': '192.0.2.1'}]}, ip)
    assert r['result'] == 'fail'    # only an A record: IPv6 needs AAAA


def test_ipv4_mapped_ipv6_is_ipv4(verify, dns):
    r = run(verify, dns, {rev('192.0.2.1'): [{'PTR': 'mail.example.com'}],
                          'mail.example.com': [{'A': '192.0.2.1'}]}, '::ffff:192.0.2.1')
    assert (r['result'], r['ip'], r['ptr']) == ('pass', '192.0.2.1', 'mail.example.com')


def ptr_zone(n, good):
    names = ['n%02d.example.com' % i for i in range(n)]
    zone = {rev('192.0.2.1'): [{'PTR': x} for x in names]}
    for i, x in enumerate(names):
        zone[x] = [{'A': '192.0.2.1' if i == good else '192.0.2.200'}]
    return zone


def test_more_than_ten_ptr_names(verify, dns):
    """Only the first 10 PTR names are forward-checked (IPREV_MAX_NAMES, after
    RFC 7208 5.5); dnsd answers in zone order."""
    r = run(verify, dns, ptr_zone(12, 11), '192.0.2.1')
    assert r['result'] == 'fail' and len(r['names']) == 12
    assert 'only the first 10' in r['reason']
    r = run(verify, dns, ptr_zone(12, 9), '192.0.2.1')
    assert (r['result'], r['ptr']) == ('pass', 'n09.example.com')


def test_no_client_ip(verify, dns):
    dns.set_zone({})
    out, _ = verify(MSG, ip=None, helo='mail.example.org', mail_from='user@example.com')
    assert out['iprev']['result'] == 'permerror'
