"""An independent oracle for DKIM: messages signed by python3-dkim (dkimpy)
and by libopendkim's own signer (opendkim-testmsg), then altered in the ways
mail is altered in transit, verified by `mailtest verify` (one batch run) and
by dkimpy, signature by signature.  Both must agree on every signature.

Agreement: dkimpy says valid <=> we say pass, with one documented exception
where RFC 8301 and dkimpy genuinely differ: opendkim-testmsg signs with
rsa-sha1, which dkimpy 1.1.4 still accepts, while RFC 8301 3.1 says verifiers
MUST NOT consider rsa-sha1 signatures valid.  We report those "policy" with
error unsupported-algorithm after checking them cryptographically; that
counts as agreement with dkimpy's "valid" (and "fail" with its "invalid").
"""
import json
import os
import shutil
import subprocess

import pytest

import dkimsign
from conftest import run_mailtest

DOMAIN = 'example.com'
OTHER = 'other.example'
CANONS = [('simple', 'simple'), ('simple', 'relaxed'), ('relaxed', 'simple'),
          ('relaxed', 'relaxed')]


def zone():
    return {
        'sel._domainkey.' + DOMAIN: dkimsign.zone_entry('rsa2048'),
        'ed._domainkey.' + DOMAIN: dkimsign.zone_entry('ed25519'),
        'sel2._domainkey.' + OTHER: dkimsign.zone_entry('rsa2048'),
        # a selector whose record holds a different key: signatures by it fail
        'wrong._domainkey.' + DOMAIN: dkimsign.zone_entry('rsa1024'),
    }


def base(subject='oracle test', body='Hello.\r\nSecond line.\r\n'):
    return dkimsign.message('Alice <alice@%s>' % DOMAIN, subject=subject, body=body)


def sub_header(msg, old, new):
    head, body = msg.split(b'\r\n\r\n', 1)
    assert old in head
    return head.replace(old, new, 1) + b'\r\n\r\n' + body


def sub_body(msg, old, new):
    head, body = msg.split(b'\r\n\r\n', 1)
    assert old in body
    return head + b'\r\n\r\n' + body.replace(old, new, 1)


VARIANTS = {
    'intact': lambda m: m,
    'footer appended': lambda m: m + b'-- \r\nSent through a list\r\n',
    'body changed': lambda m: sub_body(m, b'Hello.', b'Jello.'),
    'signed Subject changed': lambda m: sub_header(m, b'Subject: oracle test',
                                                   b'Subject: oracle test!'),
    'unsigned header added': lambda m: b'X-Gateway: scanned\r\n' + m,
    'body trailing white space': lambda m: sub_body(m, b'Hello.', b'Hello.  '),
    'header white space': lambda m: sub_header(m, b'Subject: oracle test',
                                               b'Subject:  oracle  test'),
}


def corpus():
    """[(label, message bytes)]"""
    out = []
    for key, sel in (('rsa2048', 'sel'), ('ed25519', 'ed')):
        for canon in CANONS:
            for length in (False, True):
                signed = dkimsign.sign(base(), DOMAIN, sel, key, canon=canon, length=length)
                for vname, fn in VARIANTS.items():
                    label = '%s %s/%s%s: %s' % (key, canon[0], canon[1],
                                                ' l=' if length else '', vname)
                    out.append((label, fn(signed)))
    # several signatures on one message
    m = base()
    two = dkimsign.sign(dkimsign.sign(m, DOMAIN, 'sel'), OTHER, 'sel2')
    out.append(('two valid signatures', two))
    out.append(('two signatures, body changed', sub_body(two, b'Hello.', b'Hullo.')))
    out.append(('valid signature + one by a missing selector',
                dkimsign.sign(dkimsign.sign(m, DOMAIN, 'sel'), DOMAIN, 'nokey')))
    out.append(('valid signature + one by the wrong key',
                dkimsign.sign(dkimsign.sign(m, DOMAIN, 'sel'), DOMAIN, 'wrong')))
    out.append(('ed25519 + rsa, relaxed',
                dkimsign.sign(dkimsign.sign(m, DOMAIN, 'ed', 'ed25519',
                                            canon=('relaxed', 'relaxed')),
                              DOMAIN, 'sel', canon=('relaxed', 'relaxed'))))
    out.append(('resigned by a list after a footer',
                dkimsign.sign(VARIANTS['footer appended'](dkimsign.sign(m, DOMAIN, 'sel')),
                              OTHER, 'sel2')))
    return out


def opendkim_corpus():
    """Messages signed by libopendkim itself (opendkim-testmsg: rsa-sha1, relaxed/simple)."""
    tool = shutil.which('opendkim-testmsg') or '/usr/sbin/opendkim-testmsg'
    if not os.access(tool, os.X_OK):
        return []
    p = subprocess.run([tool, '-C', '-d', DOMAIN, '-s', 'sel', '-k',
                        os.path.join(dkimsign.KEYDIR, 'rsa2048.pem')],
                       input=base(), capture_output=True, check=True)
    signed = p.stdout
    assert signed.startswith(b'DKIM-Signature:'), signed[:100]
    return [('opendkim-testmsg: ' + n, fn(signed)) for n, fn in VARIANTS.items()]


def agree(ours, oracle):
    if oracle:
        return ours['result'] == 'pass' or (
            ours['result'] == 'policy' and ours['error'] == 'unsupported-algorithm'
            and ours['algorithm'] == 'rsa-sha1')
    return ours['result'] != 'pass'


def test_python3_dkim_agreement(mailtest, dns, tmp_path, counts):
    z = zone()
    dns.set_zone(z)
    cases = corpus() + opendkim_corpus()
    files = []
    for i, (label, msg) in enumerate(cases):
        f = tmp_path / ('m%03d.eml' % i)
        f.write_bytes(msg)
        files.append(str(f))
    p = run_mailtest(mailtest, ['verify', '--format', 'json', '--dns', dns.address,
                                '--ip', '192.0.2.1', '--helo', 'mail.example.org']
                     + files)
    assert p.returncode == 0, p.stderr
    reports = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    assert len(reports) == len(cases)
    nsig = agreed = 0
    bad = []
    for (label, msg), rep in zip(cases, reports):
        oracle = dkimsign.dkimpy_verify(msg, z)
        ours = rep['dkim']
        assert len(ours) == len(oracle), label
        for k, (o, v) in enumerate(zip(ours, oracle)):
            nsig += 1
            if agree(o, v):
                agreed += 1
            else:
                bad.append('%s [sig %d]: dkimpy %s, mailtest %s (%s)' %
                           (label, k, v, o['result'], o['reason']))
    counts('python3-dkim agreement: %d/%d signatures (%d messages)' %
           (agreed, nsig, len(cases)))
    for b in bad:
        counts('  DISAGREE ' + b)
    assert not bad
    # the corpus exercises both verdicts, for both key types
    results = [s['result'] for r in reports for s in r['dkim']]
    assert results.count('pass') >= 40 and results.count('fail') >= 40


def test_oracle_failures_name_the_cause(verify, dns):
    """Body and header tampering are told apart (dkim_sig_getbh / the hashes)."""
    dns.set_zone(zone())
    signed = dkimsign.sign(base(), DOMAIN, 'sel')
    out, _ = verify(VARIANTS['body changed'](signed))
    assert out['dkim'][0]['error'] == 'body-hash-mismatch'
    out, _ = verify(VARIANTS['signed Subject changed'](signed))
    assert out['dkim'][0]['error'] == 'signature-mismatch'


@pytest.mark.valgrind
def test_bare_lf_message_verifies(verify, dns):
    """A message stored with LF line ends (a file on disk) verifies like CRLF.
    mailtest converts bare LF itself: with libopendkim's DKIM_LIBFLAGS_FIXCRLF
    a folded field (here Subject and the DKIM-Signature dkimpy folds) keeps
    its pre-conversion length and this signature fails (measured)."""
    dns.set_zone(zone())
    signed = dkimsign.sign(base(subject='lf', body='a\r\n b\r\n\r\nc\r\n'), DOMAIN,
                           'sel', canon=('simple', 'simple'))
    signed = sub_header(signed, b'Subject: lf', b'Subject: lf\r\n folded')
    out, _ = verify(signed)
    assert out['dkim'][0]['result'] == 'fail'     # Subject was signed unfolded
    signed = dkimsign.sign(b'Subject: lf\r\n folded\r\n' + base(body='a\r\n b\r\n\r\nc\r\n'),
                           DOMAIN, 'sel', canon=('simple', 'simple'))
    out, _ = verify(signed.replace(b'\r\n', b'\n'))
    assert out['dkim'][0]['result'] == 'pass', out['dkim'][0]['reason']
