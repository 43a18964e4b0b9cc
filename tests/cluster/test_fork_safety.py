"""A process that uses Quiver's cluster client (gRPC and Flight threads
running) can fork a child that closes its descriptors before exec, as
pexpect, pty.fork and many daemons do.

With gRPC's fork support on, the child re-creates gRPC's poller threads
after fork; closing the inherited descriptors closes the poller's epoll fd
under them and the child aborts with "epoll_wait error: Bad file
descriptor" before it can exec: the cause of a shell test that now and
then died before its prompt (pexpect forks the pytest process, which runs
in-process coordinators). quiver.cluster turns that fork support off."""

import subprocess
import sys
import textwrap

PROBE = textwrap.dedent("""
    import os, sys, time
    import pyarrow as pa, quiver
    from quiver.cluster.coordinator import Coordinator
    from quiver.cluster.worker import Worker
    root = sys.argv[1]
    coord = Coordinator(port=0, state_dir=os.path.join(root, "c")); coord.start()
    worker = Worker(coord.address, slots=1, data_dir=os.path.join(root, "w")); worker.start()
    con = quiver.connect(f"quiver://{coord.address}")
    con.register("t", pa.table({"x": [1, 2, 3]}))
    assert con.execute("SELECT sum(x) FROM t").fetchall() == [(6,)]
    codes = []
    for _ in range(6):
        pid = os.fork()
        if pid == 0:
            os.closerange(3, 65536)      # as pexpect does between fork and exec
            time.sleep(0.25)             # gRPC's threads, if any, poll meanwhile
            os._exit(0)
        codes.append(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
    print("CHILDREN", codes, flush=True)
    con.close(); worker.stop(); coord.stop()
""")


def test_a_forked_child_that_closes_its_fds_survives(tmp_path):
    out = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path)], capture_output=True,
                         text=True, timeout=120, stdin=subprocess.DEVNULL)
    assert out.returncode == 0, out.stderr[-2000:]
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("CHILDREN"))
    assert line == "CHILDREN " + str([0] * 6), (line, out.stderr[-2000:])
    assert "epoll_wait error" not in out.stderr
