"""Scripted SMTP conversations, in the style of OpenSMTPD's smtpscript and
Postfix's tests (STYLE.md item 13):

    connect                 (implicit at the start)
    expect 220
    send "EHLO client.example"
    expect 250
    send "MAIL FROM:<>"
    expect 250 2.1.0
    sendraw "DATA\\r\\nsmuggled\\r\\n.\\r\\n"   (no CRLF added; escapes allowed)
    expect 550 5.7.1 "not a check address"  (code, enhanced code, text)
    starttls                (wrap the socket in TLS, no certificate check)
    expect-closed           (the server closes: EOF after any remaining replies)

Strings are Python string literals, so "\\r", "\\n" and "\\x00" work.
`run(port, script)` returns the list of replies (code, [lines]) in order
and raises ScriptError, naming the line, on the first mismatch.

The same calls are available one by one on Client for tests in Python.
"""
import ast
import socket
import ssl


class ScriptError(AssertionError):
    pass


class Client:
    def __init__(self, port, host='127.0.0.1', timeout=10, family=None):
        fam = family or (socket.AF_INET6 if ':' in host else socket.AF_INET)
        self.sock = socket.socket(fam, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        self.buf = b''
        self.replies = []

    # -- input -------------------------------------------------------------
    def _line(self):
        while b'\r\n' not in self.buf:
            data = self.sock.recv(65536)
            if not data:
                raise EOFError('connection closed by the server')
            self.buf += data
        line, self.buf = self.buf.split(b'\r\n', 1)
        return line.decode('utf-8', 'replace')

    def reply(self):
        """One (possibly multi-line) reply: (code, [lines])."""
        lines = []
        while True:
            line = self._line()
            lines.append(line)
            if len(line) < 4 or line[3] != '-':
                break
        code = int(lines[-1][:3])
        self.replies.append((code, lines))
        return code, lines

    def expect(self, code, enhanced=None, text=None):
        got, lines = self.reply()
        if got != code:
            raise ScriptError('expected %d, got %r' % (code, lines))
        if enhanced is not None and not lines[-1][4:].startswith(enhanced):
            raise ScriptError('expected %d %s, got %r' % (code, enhanced, lines))
        if text is not None and not any(text in ln for ln in lines):
            raise ScriptError('expected %r in %r' % (text, lines))
        return lines

    def expect_closed(self):
        """The server closes the connection (nothing but EOF follows)."""
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                self.buf += data
        except (ConnectionResetError, BrokenPipeError):
            pass
        if self.buf.strip():
            raise ScriptError('unexpected data before close: %r' % self.buf)

    # -- output ------------------------------------------------------------
    def send(self, text):
        self.sendraw(text + '\r\n' if isinstance(text, str) else text + b'\r\n')

    def sendraw(self, data):
        if isinstance(data, str):
            data = data.encode('utf-8', 'surrogateescape')
        self.sock.sendall(data)

    def starttls(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if self.buf:
            raise ScriptError('plaintext left before TLS: %r' % self.buf)
        self.sock = ctx.wrap_socket(self.sock)
        return self.sock.version(), self.sock.cipher()[0]

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def _arg(rest, lineno):
    rest = rest.strip()
    try:
        v = ast.literal_eval(rest)
    except (ValueError, SyntaxError):
        raise ScriptError('line %d: bad string %r' % (lineno, rest))
    if not isinstance(v, (str, bytes)):
        raise ScriptError('line %d: not a string: %r' % (lineno, rest))
    return v


def _expect_args(rest, lineno):
    parts = rest.split(None, 2)
    code = int(parts[0])
    enhanced = text = None
    if len(parts) > 1:
        if parts[1].startswith('"'):
            text = _arg(' '.join(parts[1:]), lineno)
        else:
            enhanced = parts[1]
            if len(parts) > 2:
                text = _arg(parts[2], lineno)
    return code, enhanced, text


def run(port, script, host='127.0.0.1', client=None, timeout=10):
    c = client or Client(port, host, timeout=timeout)
    try:
        for lineno, raw in enumerate(script.strip().splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith('#'):
                continue
            cmd, _, rest = line.partition(' ')
            try:
                if cmd == 'send':
                    c.send(_arg(rest, lineno))
                elif cmd == 'sendraw':
                    c.sendraw(_arg(rest, lineno))
                elif cmd == 'expect':
                    c.expect(*_expect_args(rest, lineno))
                elif cmd == 'expect-closed':
                    c.expect_closed()
                elif cmd == 'starttls':
                    c.starttls()
                elif cmd == 'connect':
                    pass
                else:
                    raise ScriptError('unknown script command %r' % cmd)
            except (ScriptError, EOFError, OSError) as e:
                raise ScriptError('script line %d %r: %s\nreplies so far: %r'
                                  % (lineno, line, e, c.replies)) from None
        return c.replies
    finally:
        if client is None:
            c.close()
