"""A throw-away PostgreSQL server for the store tests, from Debian's
postgresql package (/usr/lib/postgresql/*/bin): initdb into a temporary
directory, pg_ctl start listening on 127.0.0.1 and a free port only (no
Unix socket outside the directory), trust authentication for loopback,
torn down with pg_ctl stop -m immediate.

PostgreSQL refuses to run as root, so when the tests run as root the
directory is given to the `postgres` account and initdb/pg_ctl run through
`runuser -u postgres --`.

  srv = PgServer().start()     # or the session fixture `pg` in conftest.py
  conninfo = srv.new_database()   # a fresh, empty database per caller
  srv.psql(conninfo, 'SELECT 1')
  srv.stop()
"""
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid


def pg_bindir():
    dirs = sorted(glob.glob('/usr/lib/postgresql/*/bin/initdb'))
    return os.path.dirname(dirs[-1]) if dirs else None


def free_port():
    s = socket.socket()
    s.bind(('127.0.0.1', 0))
    port = s.getsockname()[1]
    s.close()
    return port


class PgServer:
    def __init__(self):
        self.bindir = pg_bindir()
        if self.bindir is None:
            raise RuntimeError('PostgreSQL server binaries not found (apt-get install postgresql)')
        self.dir = None
        self.port = None
        self.started = False
        self.as_user = []
        if os.geteuid() == 0:
            self.as_user = ['runuser', '-u', 'postgres', '--']

    def _run(self, args, **kw):
        return subprocess.run(self.as_user + args, capture_output=True, timeout=120, **kw)

    def start(self):
        self.dir = tempfile.mkdtemp(prefix='mailtest-pg.')
        os.chmod(self.dir, 0o755)
        data = os.path.join(self.dir, 'data')
        if self.as_user:
            pw = pwd.getpwnam('postgres')
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        r = self._run([os.path.join(self.bindir, 'initdb'), '-D', data, '-U', 'postgres',
                       '--auth=trust', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync'])
        if r.returncode != 0:
            raise RuntimeError('initdb failed: %s' % r.stderr.decode(errors='replace'))
        for _ in range(5):
            self.port = free_port()
            opts = ("-c listen_addresses=127.0.0.1 -c port=%d -c unix_socket_directories=%s "
                    "-c fsync=off -c max_connections=100" % (self.port, self.dir))
            r = self._run([os.path.join(self.bindir, 'pg_ctl'), '-D', data, '-o', opts,
                           '-l', os.path.join(self.dir, 'log'), '-w', '-t', '60', 'start'])
            if r.returncode == 0:
                self.started = True
                return self
        raise RuntimeError('pg_ctl start failed: %s\n%s' % (
            r.stderr.decode(errors='replace'), self.log()))

    def log(self):
        try:
            with open(os.path.join(self.dir, 'log')) as f:
                return f.read()[-4000:]
        except OSError:
            return ''

    def conninfo(self, db='postgres'):
        return 'host=127.0.0.1 port=%d user=postgres dbname=%s' % (self.port, db)

    def psql(self, conninfo, sql):
        r = subprocess.run([os.path.join(self.bindir, 'psql'), '-X', '-q', '-At',
                            '-v', 'ON_ERROR_STOP=1', '-d', conninfo, '-c', sql],
                           capture_output=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError('psql: %s' % r.stderr.decode(errors='replace'))
        return r.stdout.decode()

    def new_database(self):
        name = 'mt_' + uuid.uuid4().hex[:12]
        self.psql(self.conninfo(), 'CREATE DATABASE %s' % name)
        return self.conninfo(name)

    def stop(self):
        if self.started:
            self._run([os.path.join(self.bindir, 'pg_ctl'), '-D',
                       os.path.join(self.dir, 'data'), '-m', 'immediate', '-w', 'stop'])
            self.started = False
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
