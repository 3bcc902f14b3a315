"""common/dns.c against the loopback DNS server, through tests/unit/dnsq."""
import os
import re
import subprocess

import pytest

from conftest import ROOT, wrapper

pytestmark = pytest.mark.valgrind


def dnsq_bin():
    return os.path.join(ROOT, os.environ.get('MAILTEST_TESTBIN', 'build/tests'), 'dnsq')


def q(dns, name, qtype, repeat=1, timeout=300):
    p = subprocess.run(wrapper() + [dnsq_bin(), dns.address, name, qtype, str(repeat), str(timeout)],
                       capture_output=True, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout.decode()


ZONE = {
    'example.com': [{'A': '192.0.2.1'}, {'TXT': 'v=spf1 -all'}, {'MX': [10, 'mx.example.com']},
                    {'AAAA': '2001:db8::1'}],
    'multi.example.com': [{'TXT': ['part one;', 'part two']}],
    'alias.example.com': [{'CNAME': 'example.com'}],
    'chain.example.com': [{'CNAME': 'alias.example.com'}],
    'outside.example.com': [{'CNAME': 'target.example.net'}],
    'target.example.net': [{'A': '192.0.2.9'}],
    'loop1.example.com': [{'CNAME': 'loop2.example.com'}],
    'loop2.example.com': [{'CNAME': 'loop1.example.com'}],
    'empty.example.com': [],
    'servfail.example.com': [{'RCODE': 2}],
    'timeout.example.com': [{'TIMEOUT': True}],
    'secure.example.com': [{'A': '192.0.2.3'}, {'AD': True}],
    'big.example.com': [{'TXT': 'x' * 3000}],
    'trunc.example.com': [{'TXT': 'small'}, {'TRUNCATE': True}],
    'badid.example.com': [{'A': '192.0.2.4'}, {'BADID': True}],
    'garbage.example.com': [{'GARBAGE': True}],
    'cut.example.com': [{'CUT': True}, {'TXT': 'v=spf1 -all'}],
    'cutnodata.example.com': [{'CUT': True}],
    'ttl0.example.com': [{'A': '192.0.2.5'}, {'TTL': 0}],
    'with space.example.com': [{'A': '192.0.2.6'}],
    '1.2.0.192.in-addr.arpa': [{'PTR': 'example.com'}],
}


@pytest.fixture(autouse=True)
def zone(dns):
    dns.set_zone(ZONE)


def test_a_txt_mx_aaaa(dns):
    assert 'A 192.0.2.1' in q(dns, 'example.com', 'A')
    assert '"v=spf1 -all"' in q(dns, 'example.com', 'TXT')
    assert 'MX 10 mx.example.com' in q(dns, 'example.com', 'MX')
    assert 'AAAA 2001:db8::1' in q(dns, 'example.com', 'AAAA')
    assert 'PTR example.com' in q(dns, '1.2.0.192.in-addr.arpa', 'PTR')


def test_multi_string_txt_is_concatenated_and_counted(dns):
    out = q(dns, 'multi.example.com', 'TXT')
    assert 'nstr=2 "part one;part two"' in out


def test_cname_chain_followed(dns):
    out = q(dns, 'chain.example.com', 'A')
    assert 'status=ok' in out and 'canonical=example.com' in out and 'hops=2' in out


def test_cname_to_name_not_in_answer_is_requeried(dns):
    # the test server answers the chain in one response; the name's A comes along
    out = q(dns, 'outside.example.com', 'A')
    assert 'A 192.0.2.9' in out


def test_cname_loop_is_tempfail(dns):
    out = q(dns, 'loop1.example.com', 'A')
    assert 'status=tempfail' in out and 'CNAME' in out


def test_nodata_nxdomain(dns):
    assert 'status=nodata' in q(dns, 'empty.example.com', 'A')
    assert 'status=nodata' in q(dns, 'example.com', 'PTR')
    assert 'status=nxdomain' in q(dns, 'nope.example.com', 'A')


def test_servfail_and_timeout_are_tempfail_with_reason(dns):
    out = q(dns, 'servfail.example.com', 'A')
    assert 'status=tempfail' in out and 'SERVFAIL' in out
    out = q(dns, 'timeout.example.com', 'A', timeout=200)
    assert 'status=tempfail' in out and 'no answer' in out and 'timeouts=1' in out


def test_bad_names_are_not_queried(dns):
    for name in ['a..b.example.com', 'x' * 64 + '.example.com', ('a' * 60 + '.') * 5 + 'com']:
        out = q(dns, name, 'A')
        assert 'status=badname' in out and 'queries=0' in out, out


def test_cache_honours_ttl(dns):
    out = q(dns, 'example.com', 'A', repeat=3)
    assert 'lookups=3 hits=2 queries=1' in out
    out = q(dns, 'ttl0.example.com', 'A', repeat=3)
    assert 'hits=0 queries=3' in out


def test_negative_answers_cached(dns):
    out = q(dns, 'nope.example.com', 'A', repeat=2)
    assert 'hits=1 queries=1' in out


def test_tempfail_not_cached(dns):
    out = q(dns, 'servfail.example.com', 'A', repeat=2)
    assert 'hits=0 queries=2' in out


def test_dnssec_ad_bit_reported(dns):
    assert 'secure=1' in q(dns, 'secure.example.com', 'A')
    assert 'secure=0' in q(dns, 'example.com', 'A')


def test_truncation_falls_back_to_tcp(dns):
    out = q(dns, 'big.example.com', 'TXT')
    assert 'status=ok' in out and ('x' * 3000) in out
    out = q(dns, 'trunc.example.com', 'TXT')
    assert '"small"' in out


def test_wrong_id_ignored(dns):
    # the first datagram carries a wrong ID (a spoof): it must be ignored
    out = q(dns, 'badid.example.com', 'A')
    assert 'A 192.0.2.4' in out


def test_garbage_answer_is_tempfail(dns):
    out = q(dns, 'garbage.example.com', 'A')
    assert 'status=tempfail' in out


def test_message_cut_short_is_tempfail(dns):
    """RFC 1035 4.1.1: a reply shorter than its header's counts (no TC bit)
    is malformed, whether the cut is in the answer or, for an answer-less
    reply, in the authority section: never a NODATA verdict."""
    for name in ('cut.example.com', 'cutnodata.example.com'):
        out = q(dns, name, 'TXT')
        assert 'status=tempfail' in out, (name, out)


def test_raw_label_bytes(dns):
    assert 'A 192.0.2.6' in q(dns, 'with space.example.com', 'A')


def test_case_insensitive(dns):
    assert 'A 192.0.2.1' in q(dns, 'EXAMPLE.Com.', 'A')


def test_unreachable_server_is_tempfail():
    # a UDP port with nobody listening: ICMP refused -> tempfail, quickly
    import socket
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()

    class Fake:
        address = '127.0.0.1:%d' % port
    out = q(Fake, 'example.com', 'A')
    assert 'status=tempfail' in out and 'unreachable' in out


def test_ipv6_server():
    import dnsd
    try:
        srv = dnsd.DNSServer(host='::1', ipv6=True).start()
    except OSError:
        pytest.skip('no IPv6 loopback')
    try:
        srv.set_zone(ZONE)
        out = q(srv, 'example.com', 'A')
        assert 'A 192.0.2.1' in out
    finally:
        srv.stop()
