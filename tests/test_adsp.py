"""ADSP (RFC 5617, historic) through `mailtest verify`: every branch of the
procedure in 4.3, with records per 4.2.1.  The author domain is the domain of
the From address (alice@<AUTHOR>)."""
import pytest

import dkimsign

AUTHOR = 'author.example'
ADSP = '_adsp._domainkey.' + AUTHOR
KEY = 'sel._domainkey.' + AUTHOR


def message(author=AUTHOR, subject='adsp'):
    return dkimsign.message('Alice <alice@%s>' % author, subject=subject)


def adsp(verify, dns, zone, msg=None):
    dns.set_zone(zone)
    dns.reset_stats()
    out, _ = verify(msg if msg is not None else message())
    return out['adsp'], [q for q, _ in dns.stats()['log']]


def exists(extra=None):
    z = {AUTHOR: [{'A': '192.0.2.10'}]}
    z.update(extra or {})
    return z


def test_pass_with_author_domain_signature_needs_no_lookup(verify, dns):
    """4.3 step 1: a valid Author Domain Signature -> pass, no ADSP query."""
    z = exists({KEY: dkimsign.zone_entry(), ADSP: [{'TXT': 'dkim=all'}]})
    a, queries = adsp(verify, dns, z, dkimsign.sign(message(), AUTHOR, 'sel'))
    assert a['result'] == 'pass'
    assert ADSP not in queries


def test_nxdomain(verify, dns):
    """4.3 step 2: the author domain does not exist -> nxdomain."""
    a, _ = adsp(verify, dns, {})
    assert a['result'] == 'nxdomain'


@pytest.mark.parametrize('records', [
    [],                                        # no ADSP record (NODATA at _adsp)
    None,                                      # _adsp name absent (NXDOMAIN)
    ['v=spf1 -all'],                           # not ADSP: ignored
    [' dkim=all'],                             # must start with "dkim" (4.2.1)
    ['x=1; dkim=all'],                         # dkim= not first (4.2.1)
    ['dkim=all discardable'],                  # value is not a hyphenated-word
    ['dkim=all; dkim=all'],                    # duplicate tag (RFC 6376 3.2)
    ['dkim'],                                  # no value
])
def test_none(verify, dns, records):
    """4.3 step 3: no record, or only records that do not parse (4.2.1:
    "MUST be ignored") -> none."""
    z = exists()
    if records is not None:
        z[ADSP] = [{'TXT': r} for r in records]
    a, queries = adsp(verify, dns, z)
    assert a['result'] == 'none', (records, a)
    assert ADSP in queries


@pytest.mark.parametrize('record,result', [
    ('dkim=unknown', 'unknown'),
    ('dkim=some-future-word', 'unknown'),     # other values: unknown (4.2.1)
    ('dkim=all', 'fail'),
    ('dkim = all ; note=x', 'fail'),
    ('dkim=ALL', 'fail'),                      # ABNF literals ignore case
    ('dkim=discardable', 'discard'),
])
def test_practices(verify, dns, record, result):
    """4.3 step 4: unknown -> unknown, all -> fail, discardable -> discard."""
    a, _ = adsp(verify, dns, exists({ADSP: [{'TXT': record}]}))
    assert a['result'] == result, (record, a)
    assert a['record'] == record


@pytest.mark.parametrize('zone', [
    {AUTHOR: [{'RCODE': 2}]},
    {AUTHOR: [{'TIMEOUT': True}]},
    {AUTHOR: [{'A': '192.0.2.10'}], ADSP: [{'RCODE': 2}]},
    {AUTHOR: [{'A': '192.0.2.10'}], ADSP: [{'TIMEOUT': True}]},
])
def test_temperror(verify, dns, zone):
    """A DNS failure on either lookup -> temperror."""
    a, _ = adsp(verify, dns, zone)
    assert a['result'] == 'temperror', (zone, a)


def test_more_than_one_valid_record_is_permerror(verify, dns):
    a, _ = adsp(verify, dns, exists({ADSP: [{'TXT': 'dkim=all'}, {'TXT': 'dkim=unknown'}]}))
    assert a['result'] == 'permerror'
    # one valid among records that do not parse is fine
    a, _ = adsp(verify, dns, exists({ADSP: [{'TXT': 'v=spf1'}, {'TXT': 'dkim=all'}]}))
    assert a['result'] == 'fail'


def test_subdomain_signature_does_not_count(verify, dns):
    """Only d= equal to the author domain is an Author Domain Signature."""
    sub = 'mail.' + AUTHOR
    z = exists({'sel._domainkey.' + sub: dkimsign.zone_entry(),
                ADSP: [{'TXT': 'dkim=all'}]})
    m = dkimsign.sign(message(), sub, 'sel')
    dns.set_zone(z)
    out, _ = verify(m)
    assert out['dkim'][0]['result'] == 'pass'
    assert out['adsp']['result'] == 'fail'


def test_failing_author_signature_does_not_count(verify, dns):
    z = exists({KEY: dkimsign.zone_entry(), ADSP: [{'TXT': 'dkim=discardable'}]})
    m = dkimsign.sign(message(), AUTHOR, 'sel') + b'changed\r\n'
    a, queries = adsp(verify, dns, z, m)
    assert a['result'] == 'discard'
    assert ADSP in queries
