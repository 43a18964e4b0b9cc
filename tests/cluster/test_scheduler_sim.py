"""The scheduler simulation (cluster/scheduler_sim.py) on a tiny cluster:
every task of every query is launched and finished exactly once, and
every query completes. No timing is checked."""

import io

from quiver.cluster import scheduler_sim as sim


def test_a_small_simulation_runs_every_task_once(tmp_path):
    dag = sim.plan_dag(str(tmp_path))
    res = sim.simulate(dag, workers=20, slots=4, tasks=2000, queries=3)
    assert res.complete and res.exactly_once and res.queries_done == 3
    assert res.tasks == 2000 and res.launched == res.finished == 2000
    expected = {(f"q{q}", s.id, p)
                for q, n in enumerate((667, 667, 666))
                for s in sim.widen(dag, n, 0.8).stages for p in range(s.tasks)}
    assert set(res.launches) == set(res.finishes) == expected
    assert set(res.launches.values()) == set(res.finishes.values()) == {1}
    assert sum(n for n, _, _, _ in res.slices) == 2000
    out = io.StringIO()
    sim.report(res, out)
    assert "tasks scheduled per second" in out.getvalue()


def test_widening_keeps_the_two_stage_shape(tmp_path):
    dag = sim.widen(sim.plan_dag(str(tmp_path)), 1000, 0.8)
    scan, agg = dag.stages
    assert (scan.tasks, agg.tasks, agg.inputs) == (800, 200, (scan.id,))
    assert scan.root.partitioning.count == 200
