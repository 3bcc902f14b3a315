"""A scripted SMTP sink for the reply tests: Python's aiosmtpd on 127.0.0.1.

  sink = Sink(temp_failures=0, perm_code=None, tls_context=None, auth=None,
              data_delay=0).start()
  sink.port            where it listens
  sink.messages        accepted messages: dicts with mail_from, rcpt, data
                       (bytes), tls (bool), auth (bool: AUTH succeeded)
  sink.rcpt_attempts   RCPT commands seen (including refused ones)
  sink.wait(n, timeout) wait until n messages were accepted
  sink.stop()

temp_failures=N answers the first N RCPT commands with 451 (then accepts);
perm_code=550 refuses every RCPT; auth={'user': 'pw'} offers AUTH (only
after STARTTLS, aiosmtpd's default) and requires it; auth_exclude=['PLAIN']
leaves only AUTH LOGIN; quit_delay=S holds the reply to QUIT for S seconds.
"""
import asyncio
import socket
import threading
import time

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class _Handler:
    def __init__(self, sink):
        self.sink = sink

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        s = self.sink
        with s.lock:
            s.rcpt_attempts += 1
            n = s.rcpt_attempts
        if s.perm_code:
            return '%d 5.1.1 <%s>: recipient refused by the test sink' % (s.perm_code, address)
        if n <= s.temp_failures:
            return '451 4.3.0 try again later (test sink, attempt %d)' % n
        envelope.rcpt_tos.append(address)
        return '250 2.1.5 OK'

    async def handle_DATA(self, server, session, envelope):
        s = self.sink
        with s.lock:
            s.messages.append({
                'mail_from': envelope.mail_from,
                'rcpt': list(envelope.rcpt_tos),
                'data': envelope.original_content or envelope.content,
                'tls': session.ssl is not None,
                'auth': session.authenticated,
            })
            s.cond.notify_all()
        return '250 2.0.0 queued by the test sink'

    async def handle_QUIT(self, server, session, envelope):
        if self.sink.quit_delay:
            await asyncio.sleep(self.sink.quit_delay)
        return '221 2.0.0 bye'


class Sink:
    def __init__(self, temp_failures=0, perm_code=None, tls_context=None, auth=None,
                 auth_exclude=None, quit_delay=0):
        self.auth_exclude = auth_exclude
        self.quit_delay = quit_delay
        self.temp_failures = temp_failures
        self.perm_code = perm_code
        self.tls_context = tls_context
        self.auth = auth
        self.messages = []
        self.rcpt_attempts = 0
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self.port = free_port()
        self.controller = None

    def _authenticator(self, server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and self.auth is not None and
              self.auth.get(auth_data.login.decode()) == auth_data.password.decode())
        return AuthResult(success=ok, handled=False)

    def start(self):
        kw = {}
        if self.tls_context is not None:
            kw['tls_context'] = self.tls_context
        if self.auth is not None:
            kw['authenticator'] = self._authenticator
            kw['auth_required'] = True
            if self.auth_exclude:
                kw['auth_exclude_mechanism'] = self.auth_exclude
        for attempt in range(10):
            # the port was free a moment ago; other test runs on the machine may take it
            self.controller = Controller(_Handler(self), hostname='127.0.0.1', port=self.port,
                                         server_hostname='sink.test', **kw)
            try:
                self.controller.start()
                return self
            except OSError:
                self.port = free_port()
        raise RuntimeError('no free port for the SMTP sink')

    def stop(self):
        if self.controller:
            self.controller.stop()

    def wait(self, n, timeout=20):
        end = time.time() + timeout
        with self.cond:
            while len(self.messages) < n and time.time() < end:
                self.cond.wait(0.1)
            return len(self.messages) >= n
