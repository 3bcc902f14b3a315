#!/usr/bin/python3
"""Generate the verification benchmark's corpus and its DNS zone.

Cells: message size (2 KB, 20 KB, 200 KB) x signature (rsa-2048, ed25519)
x canonicalization (relaxed/relaxed, simple/simple): 12 cells, each a folder
of distinct messages, DKIM-signed by python3-dkim through tests/dkimsign.py
with the fixed test keys (tests/keys/).  Every message is from
bench@bench.example, sent from 192.0.2.25 (HELO mail.bench.example), and
must give spf=pass, dkim=pass, dmarc=pass in a correct verifier:

  bench.example          TXT v=spf1 include:_spf-a... include:_spf-b... -all
  _spf-a.bench.example   TXT v=spf1 ip4:198.51.100.0/24 -all   (no match)
  _spf-b.bench.example   TXT v=spf1 ip4:192.0.2.0/24 -all      (match: pass)
  mail.bench.example     A 192.0.2.25, TXT v=spf1 a -all       (HELO, iprev)
  25.2.0.192.in-addr.arpa PTR mail.bench.example               (iprev pass)
  _dmarc.bench.example   TXT v=DMARC1; p=reject
  rsa._domainkey / ed._domainkey   the public keys

The corpus is written under OUT (bench/out/corpus by default) with
manifest.json (cells, files, sizes, the zone, the envelope) and is reused
when the generator, the signer and the keys are unchanged (a stamp of their
contents and of the parameters).

  gen_corpus.py [--out DIR] [--smoke] [--force]
"""
import argparse
import hashlib
import json
import os
import random
import shutil
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, 'tests'))

DOMAIN = 'bench.example'
SENDER = 'bench@' + DOMAIN
CLIENT_IP = '192.0.2.25'
HELO = 'mail.' + DOMAIN
RCPT = 'check@localhost'

SIZES = (('2KB', 2 * 1024), ('20KB', 20 * 1024), ('200KB', 200 * 1024))
KEYS = (('rsa2048', 'rsa'), ('ed25519', 'ed'))	# key name, selector
CANONS = (('relaxed', 'relaxed'), ('simple', 'simple'))

# messages per cell: enough for a timed pass of a fraction of a second
FULL_COUNT = {'2KB': 400, '20KB': 200, '200KB': 40}
SMOKE_COUNT = {'2KB': 2, '20KB': 2, '200KB': 1}

WORDS = ('mail authentication check report domain signature selector '
         'policy record header body canonical relaxed simple alignment '
         'sender receiver envelope message identifier verify result pass '
         'the of and to in is for on with as by at from this that').split()


def cell_name(size_label, key_name, canon):
    return '%s-%s-%s' % (size_label, key_name, canon[0])


def zone():
    import dkimsign
    return {
        DOMAIN: [{'TXT': 'v=spf1 include:_spf-a.%s include:_spf-b.%s -all'
                  % (DOMAIN, DOMAIN)}],
        '_spf-a.' + DOMAIN: [{'TXT': 'v=spf1 ip4:198.51.100.0/24 -all'}],
        '_spf-b.' + DOMAIN: [{'TXT': 'v=spf1 ip4:192.0.2.0/24 -all'}],
        HELO: [{'A': CLIENT_IP}, {'TXT': 'v=spf1 a -all'}],
        '25.2.0.192.in-addr.arpa': [{'PTR': HELO}],
        '_dmarc.' + DOMAIN: [{'TXT': 'v=DMARC1; p=reject'}],
        'rsa._domainkey.' + DOMAIN: dkimsign.zone_entry('rsa2048'),
        'ed._domainkey.' + DOMAIN: dkimsign.zone_entry('ed25519'),
    }


def body(rng, nbytes):
    """Text lines of up to 76 octets, CRLF, with the whitespace that relaxed
    canonicalization rewrites (double spaces, trailing blanks, a tab)."""
    out = []
    n = 0
    while n < nbytes:
        words = []
        width = rng.randint(30, 70)
        while sum(len(w) + 1 for w in words) < width:
            words.append(rng.choice(WORDS))
        line = ' '.join(words)
        r = rng.random()
        if r < 0.1:
            line = line.replace(' ', '  ', 1)
        elif r < 0.2:
            line += ' \t '
        elif r < 0.25:
            line = ''
        out.append(line)
        n += len(line) + 2
    return '\r\n'.join(out) + '\r\n'


def message(rng, cell, i, target):
    import dkimsign
    size_label, key_name, canon, selector = cell
    headers = [
        'From: Bench <%s>' % SENDER,
        'To: <%s>' % RCPT,
        'Subject: benchmark %s message %d' % (cell_name(size_label, key_name, canon), i),
        'Date: Thu, 26 Nov 2026 12:00:00 +0000',
        'Message-ID: <%s.%d@%s>' % (cell_name(size_label, key_name, canon), i, DOMAIN),
        'MIME-Version: 1.0',
        'Content-Type: text/plain; charset=us-ascii',
    ]
    head = '\r\n'.join(headers) + '\r\n\r\n'
    # the signature adds about 640 octets (rsa-2048) or 370 (ed25519)
    sig_len = 640 if key_name.startswith("rsa") else 370
    msg = (head + body(rng, max(64, target - len(head) - sig_len))).encode()
    return dkimsign.sign(msg, DOMAIN, selector=selector, key_name=key_name,
                         canon=canon)


def stamp(smoke):
    h = hashlib.sha256()
    for p in (os.path.abspath(__file__), os.path.join(ROOT, 'tests', 'dkimsign.py')):
        with open(p, 'rb') as f:
            h.update(f.read())
    keydir = os.path.join(ROOT, 'tests', 'keys')
    for name in sorted(os.listdir(keydir)):
        with open(os.path.join(keydir, name), 'rb') as f:
            h.update(name.encode() + f.read())
    h.update(b'smoke' if smoke else b'full')
    return h.hexdigest()


def cells():
    for size_label, size in SIZES:
        for key_name, selector in KEYS:
            for canon in CANONS:
                yield (size_label, size, key_name, canon, selector)


def generate(out, smoke=False, force=False):
    """Writes (or reuses) the corpus under out; returns the manifest."""
    manifest_path = os.path.join(out, 'manifest.json')
    st = stamp(smoke)
    if not force and os.path.exists(manifest_path):
        with open(manifest_path) as f:
            m = json.load(f)
        if m.get('stamp') == st and all(os.path.exists(p) for c in m['cells']
                                        for p in c['files']):
            return m
    if os.path.isdir(out):
        shutil.rmtree(out)
    os.makedirs(out)
    counts = SMOKE_COUNT if smoke else FULL_COUNT
    m = {'stamp': st, 'domain': DOMAIN, 'sender': SENDER, 'client_ip': CLIENT_IP,
         'helo': HELO, 'rcpt': RCPT, 'zone': zone(), 'cells': []}
    for size_label, size, key_name, canon, selector in cells():
        name = cell_name(size_label, key_name, canon)
        d = os.path.join(out, name)
        os.makedirs(d)
        rng = random.Random(name)	# deterministic per cell
        files, total = [], 0
        for i in range(counts[size_label]):
            data = message(rng, (size_label, key_name, canon, selector), i, size)
            p = os.path.join(d, '%04d.eml' % i)
            with open(p, 'wb') as f:
                f.write(data)
            files.append(p)
            total += len(data)
        m['cells'].append({
            'name': name, 'size_label': size_label, 'size': size,
            'key': key_name, 'algorithm': ('rsa-sha256' if key_name.startswith('rsa')
                                           else 'ed25519-sha256'),
            'canon': '%s/%s' % canon, 'selector': selector,
            'files': files, 'mean_bytes': total / len(files)})
    tmp = manifest_path + '.tmp'
    with open(tmp, 'w') as f:
        json.dump(m, f, indent=1)
    os.rename(tmp, manifest_path)
    return m


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--out', default=os.path.join(HERE, 'out', 'corpus'))
    ap.add_argument('--smoke', action='store_true', help='a message or two per cell')
    ap.add_argument('--force', action='store_true', help='regenerate even if unchanged')
    args = ap.parse_args()
    m = generate(args.out, args.smoke, args.force)
    for c in m['cells']:
        print('%-24s %4d messages, %8.0f bytes on average' % (
            c['name'], len(c['files']), c['mean_bytes']))


if __name__ == '__main__':
    main()
