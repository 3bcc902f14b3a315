"""DKIM signing for tests, with python3-dkim (dkimpy) as the independent signer.

  key(name)               -> Key with .pem (signing input) and .txt (the DNS record)
                            names: rsa2048, rsa1024, rsa512, ed25519 (tests/keys/*.pem)
  sign(msg, domain, selector='sel', key='rsa2048', canon=('relaxed','simple'),
       length=False, headers=None, identity=None, timestamp=None, expire=None)
                          -> the message with a DKIM-Signature prepended
  zone_entry(key)         -> [{'TXT': record}] for dnsd zonedata
  message(from_addr, subject='test', body='Hello.\r\n', extra=()) -> bytes (CRLF)
"""
import base64
import os
import subprocess
from functools import lru_cache

import dkim

KEYDIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'keys')


class Key:
    def __init__(self, name):
        self.name = name
        path = os.path.join(KEYDIR, name + '.pem')
        with open(path, 'rb') as f:
            pem = f.read()
        der = subprocess.run(['openssl', 'pkey', '-in', path, '-pubout', '-outform', 'DER'],
                             check=True, capture_output=True).stdout
        if name.startswith('ed25519'):
            # dkimpy wants the raw 32-byte seed, base64; DNS wants the raw public key
            seed_der = subprocess.run(['openssl', 'pkey', '-in', path, '-outform', 'DER'],
                                      check=True, capture_output=True).stdout
            self.pem = base64.b64encode(seed_der[-32:])
            self.txt = 'v=DKIM1; k=ed25519; p=' + base64.b64encode(der[-32:]).decode()
            self.algorithm = b'ed25519-sha256'
        else:
            self.pem = pem
            self.txt = 'v=DKIM1; k=rsa; p=' + base64.b64encode(der).decode()
            self.algorithm = b'rsa-sha256'


@lru_cache(maxsize=None)
def key(name='rsa2048'):
    return Key(name)


def zone_entry(k='rsa2048'):
    if isinstance(k, str):
        k = key(k)
    return [{'TXT': k.txt}]


def message(from_addr, subject='test', body='Hello.\r\n', to='check@localhost', extra=()):
    lines = ['From: %s' % from_addr, 'To: %s' % to, 'Subject: %s' % subject,
             'Date: Thu, 26 Nov 2026 12:00:00 +0000',
             'Message-ID: <%s.%d@test.invalid>' % (subject.replace(' ', '.'), len(body))]
    lines += list(extra)
    return ('\r\n'.join(lines) + '\r\n\r\n' + body).encode()


def sign(msg, domain, selector='sel', key_name='rsa2048', canon=('relaxed', 'simple'),
         length=False, headers=None, identity=None, algorithm=None):
    k = key(key_name)
    sig = dkim.sign(msg, selector.encode(), domain.encode(), k.pem,
                    identity=identity.encode() if identity else None,
                    canonicalize=(canon[0].encode(), canon[1].encode()),
                    include_headers=[h.encode() for h in headers] if headers else None,
                    length=length,
                    signature_algorithm=algorithm or k.algorithm)
    return sig + msg


def dkimpy_verify(msg, zone):
    """Verify with dkimpy against a zonedata dict (the oracle's verdict, per signature)."""
    def dnsfunc(name, timeout=5):
        n = name.decode() if isinstance(name, bytes) else name
        n = n.rstrip('.').lower()
        for k, v in zone.items():
            if k.lower() == n:
                for e in v:
                    if 'TXT' in e:
                        t = e['TXT']
                        return (''.join(t) if isinstance(t, list) else t).encode()
        return None
    d = dkim.DKIM(msg)
    out = []
    count = len([1 for h in d.headers if h[0].lower() == b'dkim-signature'])
    for i in range(count):
        try:
            out.append(bool(d.verify(idx=i, dnsfunc=dnsfunc)))
        except dkim.DKIMException:
            out.append(False)
    return out
