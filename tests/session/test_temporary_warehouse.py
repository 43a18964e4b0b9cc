"""An in-memory connection's CREATE TABLE AS data lives in a temporary
folder of its own, removed when the connection closes or the program ends
(each process used to leave a quiver-warehouse-<pid> folder in /tmp)."""

import os
import subprocess
import sys

import quiver


def test_closing_the_connection_removes_its_temporary_warehouse():
    con = quiver.connect()
    cur = con.cursor()
    cur.execute("CREATE TABLE made AS SELECT 1 AS x")
    folder = con.session.warehouse
    assert os.path.isdir(os.path.join(folder, "made"))
    cur.execute("SELECT x FROM made")
    assert cur.fetchall() == [(1,)]
    con.close()
    assert not os.path.exists(folder)


def test_two_connections_do_not_share_a_temporary_warehouse():
    a, b = quiver.connect(), quiver.connect()
    try:
        assert a.session.warehouse != b.session.warehouse
    finally:
        a.close()
        b.close()


def test_a_program_ending_without_close_removes_it_too():
    code = ("import quiver\n"
            "con = quiver.connect()\n"
            "con.cursor().execute('CREATE TABLE t AS SELECT 1 AS x')\n"
            "print(con.session.warehouse)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    folder = out.stdout.strip().splitlines()[-1]
    assert folder and not os.path.exists(folder)
