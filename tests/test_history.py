"""The per-step trace buffer that train() and sweep.run() share, and its check for NaN."""

import math

import torch

from ganlab.history import TRACES, History, TraceBuffer


def test_a_single_run_records_rows_up_to_the_first_non_finite_one():
    buffer, history = TraceBuffer(4, torch.device("cpu")), History()
    for row in ([1.0, 2.0, 0.5, 0.25], [1.5, 2.5, 0.75, 0.125], [1.0, math.inf, 0.5, 0.5]):
        buffer.add(torch.tensor(row))
    assert not buffer.full
    assert buffer.flush([history], last_step=12) == [(12, "loss_g")]
    assert history.step == [10, 11] and history.loss_d == [1.0, 1.5]
    assert history.d_fake == [0.25, 0.125]
    buffer.add(torch.tensor([0.5, 0.5, 0.5, 0.5]))
    assert buffer.flush([history], last_step=13) == [None] and history.step[-1] == 13


def test_members_are_recorded_column_by_column_and_inactive_ones_skipped():
    buffer = TraceBuffer(2, torch.device("cpu"), members=3)
    histories = [History(), History(), History()]
    buffer.add(torch.tensor([[1.0, 2.0, 3.0]] * len(TRACES)))
    buffer.add(torch.tensor([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]))
    buffer.rows[1, 3, 1] = float("nan")  # member 1, d_fake, second step
    assert buffer.full
    assert buffer.flush(histories, last_step=2, active=[True, True, False]) == [
        None,
        (2, "d_fake"),
        None,
    ]
    assert [h.step for h in histories] == [[1, 2], [1], []]
    assert histories[0].loss_g == [1.0, 1.0] and histories[1].loss_g == [2.0]


def test_reduce_maps_the_rows_before_they_are_recorded():
    buffer, history = TraceBuffer(1, torch.device("cpu")), History()
    buffer.add(torch.tensor([1.0, 2.0, 3.0, 4.0]))
    buffer.flush([history], last_step=1, reduce=lambda rows: rows / 2)
    assert (history.loss_d, history.d_fake) == ([0.5], [2.0])
