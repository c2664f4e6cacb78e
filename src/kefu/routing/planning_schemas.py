"""Response shapes of /api/v1/routing/staffing."""

from __future__ import annotations

from pydantic import BaseModel


class StaffingInterval(BaseModel):
    index: int  # hour of the week, Monday 00:00 = 0 (the account's time zone)
    weekday: int  # 0 = Monday
    hour: int
    contacts: float  # forecast contacts in the hour
    traffic: float  # Erlangs
    agents: int
    service_level: float
    asa_s: float
    occupancy: float


class StaffingRead(BaseModel):
    target_sl: float
    target_s: float
    aht_s: float
    max_occupancy: float
    weeks: int
    timezone: str
    peak_agents: int
    agent_hours: float
    intervals: list[StaffingInterval]
