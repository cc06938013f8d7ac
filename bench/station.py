"""Station configuration: which instrument fills each role, where it is, and the bench's limits.

A station is a TOML file (see ``bench/stations/example.toml``); ``sim`` is a built-in station
whose resources come from a simulated bench started in the same process (built by
``bench.sim.bench.sim_station``: this module never imports the simulator). Every problem in a
file is reported as one line naming the file, the key and the fix. Models, roles and what each
topology needs of them come from the model registry (``drivers/registry.py``).
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from drivers import registry
from drivers.registry import ROLES, TOPOLOGIES, models_for

__all__ = ["ROLES", "Station", "StationError", "load_station", "station_toml"]


class StationError(ValueError):
    """A station file that cannot be used; ``str()`` is a one-line message."""


class InstrumentConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    model: str
    resource: str
    serial: str | None = None
    calibration_due: dt.date | None = None
    timeout_s: float = Field(5.0, gt=0.0, le=120.0)

    @field_validator("model")
    @classmethod
    def _known_model(cls, value: str) -> str:
        known = registry.models()
        if value not in known:
            raise ValueError(f"unknown model {value!r}; known models: {', '.join(sorted(known))}")
        return value

    @field_validator("resource")
    @classmethod
    def _visa_resource(cls, value: str) -> str:
        text = value.strip()
        parts = text.split("::")
        if len(parts) < 2 or not parts[0].upper().startswith(("TCPIP", "GPIB", "USB", "ASRL")):
            raise ValueError(
                f"{value!r} is not a VISA resource name; write it like "
                "TCPIP0::192.168.1.10::5025::SOCKET"
            )
        if parts[0].upper().startswith("TCPIP") and ":" in parts[1]:
            host, _, port = parts[1].rpartition(":")
            raise ValueError(
                f"{value!r}: the port goes in its own field, with ::SOCKET for a raw socket; "
                f"write it like TCPIP0::{host}::{port}::SOCKET"
            )
        if parts[0].upper().startswith("TCPIP") and text.upper().endswith("::SOCKET"):
            try:
                port = int(parts[-2])
            except ValueError:
                raise ValueError(f"{value!r}: the port {parts[-2]!r} is not a number") from None
            if not 0 < port < 65536:
                raise ValueError(f"{value!r}: port {port} is outside 1 ... 65535")
        return text


class Limits(BaseModel):
    """The bench's own limits; the module's absolute ratings are applied on top of these."""

    model_config = ConfigDict(extra="forbid")

    max_source_current_a: float = Field(0.030, gt=0.0, le=0.1)
    source_voltage_limit_v: float = Field(5.0, gt=0.0, le=21.0)
    supply_min_v: float = Field(16.8, ge=0.0)
    supply_max_v: float = Field(31.2, gt=0.0)
    supply_current_limit_a: float = Field(0.06, gt=0.0, le=1.0)
    supply_ovp_v: float = Field(33.0, gt=0.0)
    load_max_ohm: float = Field(1000.0, gt=0.0)

    @model_validator(mode="after")
    def _consistent(self) -> Limits:
        if self.supply_min_v > self.supply_max_v:
            raise ValueError("supply_min_v is above supply_max_v; swap them")
        if self.supply_ovp_v <= self.supply_max_v:
            raise ValueError(
                f"supply_ovp_v ({self.supply_ovp_v:g} V) must be above supply_max_v "
                f"({self.supply_max_v:g} V) or the OVP trips at the top test point"
            )
        return self


class StationInfo(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    topology: Literal["direct", "shunt-scan"] = "direct"
    line_frequency_hz: Literal[50, 60] = 50
    location: str = ""
    #: shared results database (PostgreSQL) for several benches; runs are always stored locally
    #: first and uploaded when it is reachable
    database_url: str | None = None

    @field_validator("database_url")
    @classmethod
    def _parsable_url(cls, value: str | None) -> str | None:
        if value:
            from bench.store.store import StoreError, check_url

            try:
                check_url(value)
            except StoreError as exc:
                raise ValueError(str(exc)) from None
        return value


class Wiring(BaseModel):
    """How the module is wired to the instruments (defaults: the recommended fixture)."""

    model_config = ConfigDict(extra="forbid")

    input_shunt_ohm: float = Field(100.0, gt=0.0)
    output_shunt_ohm: float = Field(100.0, gt=0.0)
    supply_shunt_ohm: float = Field(10.0, gt=0.0)
    shunt_tolerance: float = Field(1e-4, gt=0.0, lt=0.01)
    input_shunt_channel: int = Field(1, ge=1, le=10)
    output_shunt_channel: int = Field(2, ge=1, le=10)
    supply_shunt_channel: int = Field(3, ge=1, le=10)
    load_channel: int = Field(4, ge=1, le=10)
    trigger_line: int = Field(1, ge=1, le=6)
    bypass_line: int = Field(2, ge=1, le=6)

    @model_validator(mode="after")
    def _distinct(self) -> Wiring:
        channels = [
            self.input_shunt_channel,
            self.output_shunt_channel,
            self.supply_shunt_channel,
            self.load_channel,
        ]
        if len(set(channels)) != len(channels):
            raise ValueError("scanner channels must all be different")
        if self.trigger_line == self.bypass_line:
            raise ValueError("trigger_line and bypass_line must be different digital lines")
        return self


class Station(BaseModel):
    model_config = ConfigDict(extra="forbid")

    station: StationInfo
    limits: Limits = Field(default_factory=Limits)
    wiring: Wiring = Field(default_factory=Wiring)
    instruments: dict[str, InstrumentConfig]
    #: the ``[sim]`` table: the module a simulated station serves. Read and checked only by
    #: the simulator (``bench.sim.module.SimModule``); the controller ignores it
    sim: dict[str, Any] | None = None
    source_file: str | None = None

    @model_validator(mode="after")
    def _roles(self) -> Station:
        missing = [r for r in ROLES if r not in self.instruments]
        if missing:
            raise ValueError(
                f"instruments: missing role(s) {', '.join(missing)}; add an "
                f"[instruments.{missing[0]}] table"
            )
        extra = [r for r in self.instruments if r not in ROLES]
        if extra:
            raise ValueError(
                f"instruments: unknown role(s) {', '.join(extra)}; roles are {', '.join(ROLES)}"
            )
        for role, cfg in self.instruments.items():
            if cfg.model not in models_for(role):
                raise ValueError(
                    f"instruments.{role}.model: {cfg.model} cannot be the {role}; "
                    f"use one of {', '.join(models_for(role))}"
                )
        topology = self.station.topology
        models = self.models()
        for role, model in models.items():
            problem = registry.topology_problem(topology, role, model)
            if problem:
                fits = [
                    t
                    for t in TOPOLOGIES
                    if not any(registry.topology_problem(t, r, m) for r, m in models.items())
                ]
                fix = f'set topology = "{fits[0]}"' if fits else f"use another {role}"
                need = problem.removeprefix(f"the {topology} topology ")
                raise ValueError(
                    f'station.topology: "{topology}" {need}; {fix} or change '
                    f"instruments.{role}.model"
                )
        return self

    def models(self) -> dict[str, str]:
        """Role -> registry model name."""
        return {role: cfg.model for role, cfg in self.instruments.items()}

    @property
    def name(self) -> str:
        return self.station.name


def _format_error(path: str, exc: ValidationError) -> str:
    errors = exc.errors()
    # a misspelt key shows up as "unknown" plus "missing": report the unknown one, with a hint
    unknown = [e for e in errors if e["type"] == "extra_forbidden"]
    err = unknown[0] if unknown else errors[0]
    loc = ".".join(str(p) for p in err["loc"])
    kind = err["type"]
    if kind == "missing":
        message = f"{loc}: missing; add it"
    elif kind == "extra_forbidden":
        parent = err["loc"][:-1]
        missing = [
            str(e["loc"][-1]) for e in errors if e["type"] == "missing" and e["loc"][:-1] == parent
        ]
        close = difflib.get_close_matches(str(err["loc"][-1]), missing, n=1)
        hint = (
            f"did you mean {close[0]!r}?"
            if close
            else ("check its spelling against bench/stations/example.toml")
        )
        message = f"{loc}: unknown key; {hint}"
    else:
        text = str(err["msg"]).removeprefix("Value error, ")
        message = f"{loc}: {text}" if loc else text
    return f"station file {path}: {message}"


def load_station(path: str | Path) -> Station:
    file = Path(path)
    if file.is_dir():
        tomls = sorted(file.glob("*.toml"))
        hint = f" (e.g. {tomls[0]})" if tomls else ""
        raise StationError(
            f"station file {file}: is a folder; give the path of a station .toml file{hint} "
            "or 'sim'"
        )
    if not file.is_file():
        raise StationError(f"station file {file}: not found; give a path to a .toml file or 'sim'")
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise StationError(f"station file {file}: not valid TOML ({exc})") from None
    except UnicodeDecodeError:
        raise StationError(f"station file {file}: not a UTF-8 text file") from None
    try:
        station = Station.model_validate({**data, "source_file": str(file)})
    except ValidationError as exc:
        raise StationError(_format_error(str(file), exc)) from None
    return station


def station_toml(station: Station) -> str:
    """Render a station as a TOML file (for ``isobench sim --write-station``)."""
    lines = [
        "[station]",
        f'name = "{station.station.name}"',
        f'topology = "{station.station.topology}"',
        f"line_frequency_hz = {station.station.line_frequency_hz}",
    ]
    if station.station.location:
        lines.append(f"location = {_toml_value(station.station.location)}")
    if station.station.database_url:
        lines.append(f"database_url = {_toml_value(station.station.database_url)}")
    lines += ["", "[limits]"]
    for key, value in station.limits.model_dump().items():
        lines.append(f"{key} = {value!r}")
    for role, cfg in station.instruments.items():
        lines += [
            "",
            f"[instruments.{role}]",
            f'model = "{cfg.model}"',
            f'resource = "{cfg.resource}"',
        ]
        if cfg.serial:
            lines.append(f"serial = {_toml_value(cfg.serial)}")
        if cfg.calibration_due:
            lines.append(f"calibration_due = {cfg.calibration_due.isoformat()}")
    if station.sim is not None:
        lines += ["", "[sim]  # the simulated module (read by isobench sim --station)"]
        for key, value in station.sim.items():
            lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    return repr(value)
