"""The user's own set-up (issue 2): acme.com with Google's SPF include, a DKIM
key at google._domainkey, ADSP dkim=all, and DMARC p=quarantine with strict
alignment.  A properly signed message from an allowed IP passes everything;
a spoofed one from a random IP gives SPF softfail, no valid DKIM, ADSP fail,
DMARC fail with policy quarantine."""
import pytest

import dkimsign

pytestmark = pytest.mark.valgrind

GOOGLE_IP = '209.85.220.41'
SPOOF_IP = '203.0.113.66'


def acme_zone():
    return {
        'acme.com': [{'TXT': 'v=spf1 include:_spf.google.com ~all'}, {'MX': [10, 'aspmx.l.google.com']},
                     {'A': '192.0.2.80'}],
        '_spf.google.com': [{'TXT': 'v=spf1 include:_netblocks.google.com ~all'}],
        '_netblocks.google.com': [{'TXT': 'v=spf1 ip4:209.85.128.0/17 ip4:74.125.0.0/16 ~all'}],
        'google._domainkey.acme.com': dkimsign.zone_entry('rsa2048'),
        '_adsp._domainkey.acme.com': [{'TXT': 'dkim=all;'}],
        '_dmarc.acme.com': [{'TXT': 'v=DMARC1; p=quarantine; adkim=s; aspf=s; '
                                    'rua=mailto:spam@acme.com; ruf=mailto:spam@acme.com; pct=100'}],
        '41.220.85.209.in-addr.arpa': [{'PTR': 'mail-sor-f41.google.com'}],
        'mail-sor-f41.google.com': [{'A': GOOGLE_IP}],
    }


@pytest.fixture
def acme(dns):
    dns.set_zone(acme_zone())


def test_acme_signed_from_google_passes_everything(acme, verify):
    msg = dkimsign.sign(dkimsign.message('Alice <alice@acme.com>', 'acme pass'),
                        'acme.com', selector='google')
    r, _ = verify(msg, ip=GOOGLE_IP, helo='mail-sor-f41.google.com', mail_from='alice@acme.com')
    assert r['spf']['result'] == 'pass', r['spf']
    assert r['spf']['lookups'] == 2
    assert [s['result'] for s in r['dkim']] == ['pass']
    assert r['dkim'][0]['domain'] == 'acme.com' and r['dkim'][0]['selector'] == 'google'
    assert r['dkim'][0]['aligned'] is True
    assert r['adsp']['result'] == 'pass'
    assert r['dmarc']['result'] == 'pass'
    assert r['dmarc']['policy'] == 'quarantine'
    assert r['dmarc']['spf_aligned'] is True and r['dmarc']['dkim_aligned'] is True
    assert r['iprev']['result'] == 'pass'
    ar = r['authentication_results']
    for part in ('spf=pass smtp.mailfrom=alice@acme.com', 'dkim=pass header.d=acme.com',
                 'dmarc=pass', 'dkim-adsp=pass', 'iprev=pass'):
        assert part in ar, ar


def test_acme_spoofed_from_random_ip(acme, verify):
    # the spoofer cannot sign with acme's key: it signs with its own key
    msg = dkimsign.sign(dkimsign.message('Alice <alice@acme.com>', 'acme spoof'),
                        'acme.com', selector='google', key_name='ed25519')
    r, _ = verify(msg, ip=SPOOF_IP, helo='spoofer.example', mail_from='alice@acme.com')
    assert r['spf']['result'] == 'softfail', r['spf']
    assert all(s['result'] != 'pass' for s in r['dkim'])
    assert r['adsp']['result'] == 'fail'
    assert r['adsp']['policy'] == 'all'
    assert r['dmarc']['result'] == 'fail'
    assert r['dmarc']['policy'] == 'quarantine'
    assert r['dmarc']['spf_aligned'] is False and r['dmarc']['dkim_aligned'] is False


def test_acme_unsigned_spoof(acme, verify):
    r, _ = verify(dkimsign.message('alice@acme.com', 'acme nosig'), ip=SPOOF_IP,
                  helo='spoofer.example', mail_from='bounce@spoofer.example')
    assert r['spf']['result'] == 'none'          # spoofer.example publishes nothing
    assert r['dkim'] == []
    assert r['adsp']['result'] == 'fail'
    assert r['dmarc']['result'] == 'fail' and r['dmarc']['policy'] == 'quarantine'
