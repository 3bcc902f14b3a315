"""The store's unit suite (tests/unit/test_store.c) against a real
PostgreSQL server started from Debian's package on loopback: the same cases
that `tests/check.sh unit` runs against SQLite, plus the PostgreSQL-only
ones (a second store sees the rows and gets the NOTIFY; connections killed
by the server are opened again)."""
import os
import subprocess

from conftest import ROOT, wrapper

TESTBIN = os.path.join(ROOT, os.environ.get('MAILTEST_TESTBIN', os.path.join('build', 'tests')))


def test_store_suite_against_postgresql(pg):
    conninfo = pg.new_database()
    env = dict(os.environ, MAILTEST_STORE_PG=conninfo)
    p = subprocess.run(wrapper() + [os.path.join(TESTBIN, 'test_store')], env=env,
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stdout + p.stderr[-6000:]
    assert 'PostgreSQL not run' not in p.stdout
    assert ', 0 failed' in p.stdout
    # the same suite ran twice: SQLite and PostgreSQL
    assert 'the suite ran against sqlite' in p.stdout
    assert 'the suite ran against postgresql' in p.stdout
    assert pg.psql(conninfo, "SELECT count(*) FROM mailtest_reports WHERE tag = 'threads'").strip() == '200'
