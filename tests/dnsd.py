#!/usr/bin/python3
"""Loopback authoritative DNS server for mailtest's tests.

Serves one zone at a time in the OpenSPF test suite's "zonedata" format
(name -> list of {TYPE: value}), over UDP and TCP on 127.0.0.1 (and ::1 when
asked).  Semantics (see ../shared/conformance/spf/SOURCES.md):

  * a name that is not listed is NXDOMAIN; a name listed with [] exists (NODATA)
  * SPF: x is also served as TXT when the name lists no TXT (suite semantics);
    TXT: NONE / SPF: NONE mark the type present but empty
  * a TXT value that is a list is one RR of several character-strings;
    strings longer than 255 octets are split
  * MX: [pref, host]; A, AAAA, PTR, CNAME, NS as text
  * the bare item TIMEOUT, or {TIMEOUT: true}: never answer queries for the
    name (except for types with data listed, for the bare form)
  * {RCODE: n}: answer every query for the name with that rcode (2 = SERVFAIL)
  * mailtest extensions: {AD: true} sets the AD bit on answers for the name;
    {TTL: n} sets its TTL (default 300); {GARBAGE: true} answers with random
    bytes; {TRUNCATE: true} sets TC on every UDP answer (forces TCP);
    {BADID: true} answers with a wrong ID first, then the right answer;
    {CUT: true} answers with only the first half of the real answer's
    octets and no TC bit (a message truncated in transit), over UDP and TCP.

Names are matched on raw label bytes, without regard to ASCII case.

Use in-process (DNSServer(...).start(); .set_zone(dict)) or as a process:
  dnsd.py --port 0 --zone FILE.yml[:GROUP] --control-port-file F
where a control connection accepts one JSON line {"zone": {...}} or
{"cmd": "stats"} and answers one JSON line.  The bound port is printed on
stdout as "port N" once the server is ready.
"""
import argparse
import json
import os
import random
import socket
import socketserver
import struct
import sys
import threading

from dnslib import (AAAA, CNAME, MX, NS, PTR, QTYPE, RCODE, RR, SOA, TXT, A,
                    DNSHeader, DNSRecord, DNSLabel)

TYPES = {'A': QTYPE.A, 'AAAA': QTYPE.AAAA, 'TXT': QTYPE.TXT, 'SPF': 99,
         'MX': QTYPE.MX, 'PTR': QTYPE.PTR, 'CNAME': QTYPE.CNAME, 'NS': QTYPE.NS}


def _key(name):
    if isinstance(name, DNSLabel):
        raw = b'.'.join(name.label)
    elif isinstance(name, bytes):
        raw = name
    else:
        raw = name.encode('utf-8', 'surrogateescape')
    raw = raw.rstrip(b'.')
    return raw.lower()


def _txt_strings(value):
    if isinstance(value, (list, tuple)):
        parts = [v.encode() if isinstance(v, str) else bytes(v) for v in value]
    else:
        parts = [value.encode() if isinstance(value, str) else bytes(value)]
    out = []
    for p in parts:
        if len(p) == 0:
            out.append(b'')
        while p:
            out.append(p[:255])
            p = p[255:]
    return out


class Zone:
    def __init__(self, data=None):
        self.names = {}       # key -> dict(type -> list of values)
        self.flags = {}       # key -> dict
        for name, entries in (data or {}).items():
            self._add(name, entries)

    def _add(self, name, entries):
        k = _key(str(name))
        recs = self.names.setdefault(k, {})
        fl = self.flags.setdefault(k, {})
        for e in entries or []:
            if e == 'TIMEOUT':
                fl['timeout_bare'] = True
                continue
            if not isinstance(e, dict):
                raise ValueError('bad zone entry for %s: %r' % (name, e))
            for t, v in e.items():
                if t == 'TIMEOUT':
                    fl['timeout'] = bool(v)
                elif t == 'RCODE':
                    fl['rcode'] = int(v)
                elif t in ('AD', 'TTL', 'GARBAGE', 'TRUNCATE', 'BADID', 'CUT'):
                    fl[t.lower()] = v
                elif t in TYPES:
                    lst = recs.setdefault(t, [])
                    if v != 'NONE':
                        lst.append(v)
                else:
                    raise ValueError('unknown record type %s for %s' % (t, name))
        # the suite's SPF -> TXT copy
        if 'SPF' in recs and 'TXT' not in recs:
            recs['TXT'] = list(recs['SPF'])

    def lookup(self, qname, qtype):
        """Returns (action, rcode, answers, flags)."""
        k = _key(qname)
        if k not in self.names:
            return ('answer', RCODE.NXDOMAIN, [], {})
        recs, fl = self.names[k], self.flags[k]
        tname = {v: n for n, v in TYPES.items()}.get(qtype)
        if fl.get('timeout'):
            return ('drop', 0, [], fl)
        if fl.get('timeout_bare') and not (tname in recs and recs[tname]):
            return ('drop', 0, [], fl)
        if 'rcode' in fl:
            return ('answer', fl['rcode'], [], fl)
        out = []
        if tname and recs.get(tname):
            out = [(qname, tname, v) for v in recs[tname]]
        elif recs.get('CNAME') and qtype != QTYPE.CNAME:
            target = recs['CNAME'][0]
            out = [(qname, 'CNAME', target)]
            # follow within the zone, as an authoritative server would
            seen = {k}
            cur = target
            for _ in range(10):
                ck = _key(cur)
                if ck in seen or ck not in self.names:
                    break
                seen.add(ck)
                r2 = self.names[ck]
                if tname and r2.get(tname):
                    out += [(cur, tname, v) for v in r2[tname]]
                    break
                if r2.get('CNAME'):
                    out.append((cur, 'CNAME', r2['CNAME'][0]))
                    cur = r2['CNAME'][0]
                    continue
                break
        return ('answer', RCODE.NOERROR, out, fl)


def _rdata(tname, v):
    if tname == 'A':
        return A(v)
    if tname == 'AAAA':
        return AAAA(v)
    if tname in ('TXT', 'SPF'):
        return TXT(_txt_strings(v))
    if tname == 'MX':
        if isinstance(v, (list, tuple)):
            return MX(v[1], v[0])
        return MX(v)
    if tname == 'PTR':
        return PTR(v)
    if tname == 'CNAME':
        return CNAME(v)
    if tname == 'NS':
        return NS(v)
    raise ValueError(tname)


class DNSServer:
    def __init__(self, host='127.0.0.1', port=0, ipv6=False):
        self.zone = Zone()
        self.lock = threading.Lock()
        self.queries = 0
        self.log = []
        self.badid_sent = set()
        fam = socket.AF_INET6 if ipv6 else socket.AF_INET
        for attempt in range(50):
            self.udp = socket.socket(fam, socket.SOCK_DGRAM)
            self.udp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.udp.bind((host, port))
            self.port = self.udp.getsockname()[1]
            self.tcp = socket.socket(fam, socket.SOCK_STREAM)
            self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                self.tcp.bind((host, self.port))
                break
            except OSError:
                # the free UDP port is taken for TCP: with port 0, try another
                self.udp.close()
                self.tcp.close()
                if port != 0 or attempt == 49:
                    raise
        self.tcp.listen(64)
        self.host = host
        self._stop = False

    @property
    def address(self):
        if ':' in self.host:
            return '[%s]:%d' % (self.host, self.port)
        return '%s:%d' % (self.host, self.port)

    def set_zone(self, data):
        z = Zone(data)
        with self.lock:
            self.zone = z
            self.badid_sent = set()

    def stats(self):
        with self.lock:
            return {'queries': self.queries, 'log': list(self.log[-1000:])}

    def reset_stats(self):
        with self.lock:
            self.queries = 0
            self.log = []

    def respond(self, data, tcp):
        try:
            req = DNSRecord.parse(data)
        except Exception:
            return None
        q = req.q
        with self.lock:
            zone = self.zone
            self.queries += 1
            self.log.append((str(q.qname).rstrip('.'), QTYPE.get(q.qtype, q.qtype)))
        action, rcode, answers, fl = zone.lookup(q.qname, q.qtype)
        if action == 'drop':
            return None
        if fl.get('garbage'):
            return data[:2] + bytes(random.getrandbits(8) for _ in range(40))
        hdr = DNSHeader(id=req.header.id, qr=1, aa=1, ra=1, rd=req.header.rd,
                        rcode=rcode, ad=1 if fl.get('ad') else 0)
        reply = DNSRecord(hdr, q=q)
        ttl = int(fl.get('ttl', 300))
        for owner, tname, v in answers:
            rtype = TYPES[tname]
            reply.add_answer(RR(owner, rtype, ttl=ttl, rdata=_rdata(tname, v)))
        if not answers and rcode in (RCODE.NOERROR, RCODE.NXDOMAIN):
            reply.add_auth(RR('invalid', QTYPE.SOA, ttl=ttl,
                              rdata=SOA('ns.invalid', 'hostmaster.invalid',
                                        (1, 3600, 600, 86400, ttl))))
        try:
            out = reply.pack()
        except struct.error:
            # a zone too big for one DNS message (over 64 KiB): SERVFAIL,
            # rather than a dead server thread
            out = DNSRecord(DNSHeader(id=req.header.id, qr=1, aa=1, ra=1,
                                      rcode=RCODE.SERVFAIL), q=q).pack()
        if fl.get('cut'):
            return out[:len(out) // 2]
        if not tcp and (fl.get('truncate') or len(out) > 1232):
            reply = DNSRecord(DNSHeader(id=req.header.id, qr=1, aa=1, ra=1,
                                        tc=1, rcode=rcode), q=q)
            out = reply.pack()
        if fl.get('badid') and not tcp:
            key = (_key(q.qname), q.qtype)
            with self.lock:
                first = key not in self.badid_sent
                self.badid_sent.add(key)
            if first:
                bad = bytearray(out)
                bad[0] ^= 0xff
                return [bytes(bad), out]
        return out

    def _udp_loop(self):
        while not self._stop:
            try:
                data, addr = self.udp.recvfrom(65535)
            except OSError:
                return
            out = self.respond(data, False)
            if out is None:
                continue
            for pkt in (out if isinstance(out, list) else [out]):
                try:
                    self.udp.sendto(pkt, addr)
                except OSError:
                    pass

    def _tcp_conn(self, c):
        try:
            c.settimeout(10)
            while True:
                hdr = self._recvn(c, 2)
                if not hdr:
                    return
                n = struct.unpack('!H', hdr)[0]
                data = self._recvn(c, n)
                if not data:
                    return
                out = self.respond(data, True)
                if out is None:
                    continue
                if isinstance(out, list):
                    out = out[-1]
                c.sendall(struct.pack('!H', len(out)) + out)
        except OSError:
            pass
        finally:
            c.close()

    @staticmethod
    def _recvn(c, n):
        buf = b''
        while len(buf) < n:
            d = c.recv(n - len(buf))
            if not d:
                return None
            buf += d
        return buf

    def _tcp_loop(self):
        while not self._stop:
            try:
                c, _ = self.tcp.accept()
            except OSError:
                return
            threading.Thread(target=self._tcp_conn, args=(c,), daemon=True).start()

    def start(self):
        for f in (self._udp_loop, self._tcp_loop):
            threading.Thread(target=f, daemon=True).start()
        return self

    def stop(self):
        self._stop = True
        for s in (self.udp, self.tcp):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()


def load_zone_file(spec):
    import yaml
    path, _, group = spec.partition(':')
    with open(path) as f:
        data = yaml.safe_load(f)
    if group:
        data = data[group]
    return data


class _Control(socketserver.StreamRequestHandler):
    def handle(self):
        srv = self.server.dns
        line = self.rfile.readline(64 * 1024 * 1024)
        try:
            req = json.loads(line)
            if 'zone' in req:
                srv.set_zone(req['zone'])
                res = {'ok': True}
            elif req.get('cmd') == 'stats':
                res = srv.stats()
            elif req.get('cmd') == 'reset':
                srv.reset_stats()
                res = {'ok': True}
            else:
                res = {'error': 'unknown request'}
        except Exception as e:  # report, keep serving
            res = {'error': str(e)}
        self.wfile.write((json.dumps(res) + '\n').encode())


def control(port, req):
    """Send one control request to a running dnsd.py; returns the reply."""
    with socket.create_connection(('127.0.0.1', port), timeout=10) as s:
        s.sendall((json.dumps(req) + '\n').encode())
        f = s.makefile('rb')
        return json.loads(f.readline())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--port', type=int, default=0)
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--zone', help='YAML file[:group] to serve')
    ap.add_argument('--control-port', type=int, default=None,
                    help='TCP control port on 127.0.0.1 (0 = any)')
    args = ap.parse_args()
    srv = DNSServer(args.host, args.port, ipv6=':' in args.host).start()
    if args.zone:
        srv.set_zone(load_zone_file(args.zone))
    line = 'port %d' % srv.port
    if args.control_port is not None:
        socketserver.ThreadingTCPServer.allow_reuse_address = True
        cs = socketserver.ThreadingTCPServer(('127.0.0.1', args.control_port), _Control)
        cs.dns = srv
        threading.Thread(target=cs.serve_forever, daemon=True).start()
        line += ' control %d' % cs.server_address[1]
    print(line, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass


if __name__ == '__main__':
    main()
