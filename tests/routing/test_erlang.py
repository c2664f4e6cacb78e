"""kefu.routing.erlang against published values.

Sources (the figures as they print them, rounded there, so compared at their precision):
- Westbay Engineers, "The Erlang-C formula" (erlang.com), worked example: 360 calls per half hour, 4-minute
  calls, 55 agents, 15-second target → traffic 48 Erlangs, occupancy 87.3 %, probability of waiting
  23.87 %, ASA 8.2 s, service level 84.6 %.
- Call Centre Helper, "Erlang C formula — made simple" (callcentrehelper.com), worked example: 100 calls in
  30 minutes, 180 s handle time, 80 % in 20 s → 10 Erlangs; 14 agents: probability of waiting 17.4 %,
  service level 88.8 % (13 agents fall short of 80 %), so 14 agents are needed.
- The standard Erlang B table (e.g. in V. B. Iversen, "Teletraffic Engineering and Network Planning",
  ITU-D/DTU, the Erlang B tables): B(A = 10, N = 10) = 0.2146.
"""

from __future__ import annotations

import math

import pytest

from kefu.routing import erlang


def test_westbay_worked_example() -> None:
    traffic = 360 / 1800 * 240
    assert traffic == 48
    r = erlang.evaluate(traffic, 55, aht=240, target_s=15)
    assert round(r.occupancy, 3) == 0.873
    assert round(r.p_wait, 4) == 0.2387
    assert round(r.asa_s, 1) == 8.2
    assert round(r.service_level, 3) == 0.846


def test_call_centre_helper_worked_example() -> None:
    traffic = 100 / 1800 * 180
    r14 = erlang.evaluate(traffic, 14, aht=180, target_s=20)
    assert round(r14.p_wait, 3) == 0.174
    assert round(r14.service_level, 3) == 0.888
    assert erlang.service_level(traffic, 13, 180, 20) < 0.80
    needed = erlang.agents_needed(traffic, 180, 0.80, 20)
    assert needed.agents == 14
    assert needed.service_level == r14.service_level


def test_erlang_b_table_value() -> None:
    assert round(erlang.erlang_b(10, 10), 4) == 0.2146
    assert erlang.erlang_b(5, 0) == 1.0


def test_large_systems_do_not_overflow() -> None:
    # A^N / N! overflows a float long before 1,000 agents; the recurrence does not.
    b = erlang.erlang_b(1000, 1000)
    assert 0.0247 < b < 0.0249
    c = erlang.erlang_c(950, 1000)
    assert 0 < c < 1
    assert math.isfinite(erlang.asa(950, 1000, 300))


def test_overloaded_system_everyone_waits() -> None:
    assert erlang.erlang_c(10, 10) == 1.0
    assert erlang.service_level(10, 9, 180, 20) == 0.0
    assert erlang.asa(10, 10, 180) == math.inf
    assert erlang.occupancy(10, 8) == 1.0


def test_max_occupancy_adds_agents() -> None:
    free = erlang.agents_needed(48, 240, 0.8, 20)
    capped = erlang.agents_needed(48, 240, 0.8, 20, max_occupancy=0.85)
    assert capped.agents == math.ceil(48 / 0.85) == 57
    assert free.agents < capped.agents


def test_no_traffic_needs_no_agent() -> None:
    assert erlang.agents_needed(0, 180, 0.8, 20).agents == 0


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"target_sl": 1.2}, "target service level must be between 0 and 1 (exclusive), not 1.2"),
        ({"target_sl": 0}, "target service level must be between 0 and 1 (exclusive), not 0"),
        ({"aht": -5}, "aht must be a finite number > 0, not -5"),
        ({"traffic": -1}, "traffic must be a finite number ≥ 0 Erlangs, not -1"),
    ],
)
def test_bad_input_says_what_is_wrong(kwargs: dict[str, float], message: str) -> None:
    args: dict[str, float] = {"traffic": 10, "aht": 180, "target_sl": 0.8, "target_s": 20}
    args.update(kwargs)
    with pytest.raises(ValueError) as exc:
        erlang.agents_needed(**args)  # type: ignore[arg-type]
    assert str(exc.value) == message
