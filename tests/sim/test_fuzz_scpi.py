"""Property tests: no message can crash a simulated instrument, and invalid ones leave an error.

Messages are what the socket server would hand to ``process()`` (it splits the byte stream on
``\\n`` and decodes ASCII with replacement characters), so no generated message contains
``\\n``. Properties checked for every instrument:

* ``process()`` never raises and never records ``internal_errors`` (a simulator bug);
* replies are single lines; the error queue drains with well-formed ``SYST:ERR?`` replies;
* a message that cannot be valid (garbage first character, a header made of words that are in
  no command of the instrument, a header that matches none of the instrument's documented
  header patterns) queues an error: ``SYST:ERR?`` answers a non-zero code.

The header oracle below expands the instrument's header specs (``[:SOURce#]:CURRent[:LEVel]``)
into regular expressions independently of ``scpi.HeaderPattern``.
"""

from __future__ import annotations

import itertools
import re
import string
from collections.abc import Callable
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.sim.instrument import SimInstrument
from bench.sim.instruments.keithley import KeithleyTti
from bench.sim.scpi import ScpiError, parse_bool, parse_channel_list, parse_number, parse_unit
from bench.sim.unit import SimulatedUnit
from bench.sim.world import World
from drivers import registry
from tests.sim._helpers import KEITHLEY_ERROR_RE, KEITHLEY_NO_ERROR, KEYSIGHT_ERROR_RE

#: the classic SCPI error form without a forced sign (Keithley 2400: ``-113,"..."``,
#: ``803,"..."``, ``0,"No error"``)
PLAIN_ERROR_RE = re.compile(r'^(?P<code>-?\d+),"(?P<msg>[^"]*)"$')

FUZZ = settings(
    max_examples=150,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

#: every simulated registry model (a new model is fuzzed as soon as it is registered)
MODELS: dict[str, type[SimInstrument]] = {
    name: model.simulator_class()
    for name, model in sorted(registry.models().items())
    if model.simulator is not None
}


def fresh(model: str) -> SimInstrument:
    return MODELS[model](World(SimulatedUnit()))


# ---------------------------------------------------------------------------------------------
# header oracle, built from the spec strings only


def _spec_nodes(spec: str) -> list[tuple[str, bool]]:
    """``[:SOURce#]:CURRent[:LEVel]`` -> [(node regex, optional), ...]."""
    nodes = []
    for segment in re.findall(r"\[[^\]]*\]|[^\[\]:]+", spec):
        optional = segment.startswith("[")
        word = segment.strip("[]:")
        suffix = word.endswith("#")
        name = word.rstrip("#")
        short = "".join(c for c in name if c.isupper()) or name.upper()
        forms = sorted({short, name.upper()}, key=len, reverse=True)
        digits = r"\d*" if suffix else ""
        nodes.append(("(?:" + "|".join(forms) + ")" + digits, optional))
    return nodes


def _spec_regex(spec: str) -> str:
    spec = spec.rstrip("?!")
    if spec.startswith("*"):
        return re.escape(spec.upper())
    nodes = _spec_nodes(spec)
    optional = [i for i, (_, opt) in enumerate(nodes) if opt]
    variants = []
    for keep in itertools.product([False, True], repeat=len(optional)):
        dropped = {i for i, k in zip(optional, keep, strict=True) if not k}
        variants.append(":".join(rx for i, (rx, _) in enumerate(nodes) if i not in dropped))
    return "|".join(f"(?:{v})" for v in variants if v)


@cache
def header_oracle(model: str) -> re.Pattern[str]:
    specs = [command.pattern.spec for command in MODELS[model].table.commands]
    return re.compile("|".join(f"(?:{_spec_regex(s)})" for s in specs))


@cache
def mnemonics(model: str) -> frozenset[str]:
    """Every short and long form of every node of the instrument's commands."""
    words: set[str] = set()
    for command in MODELS[model].table.commands:
        spec = command.pattern.spec.rstrip("?!")
        if spec.startswith("*"):
            words.add(spec[1:].upper())
            continue
        for segment in re.findall(r"\[[^\]]*\]|[^\[\]:]+", spec):
            name = segment.strip("[]:").rstrip("#")
            words.add(name.upper())
            words.add("".join(c for c in name if c.isupper()))
    return frozenset(words)


def test_header_oracle_accepts_documented_forms_and_rejects_others() -> None:
    rx = header_oracle("keithley2450")
    for header in ("SOUR:CURR:VLIM", "SOURCE1:CURRENT:VLIMIT:LEVEL", "CURR:NPLC", "DIG:LINE3:MODE"):
        assert rx.fullmatch(header), header
    for header in ("SOURC:CURR", "SOUR:CURR2", "DIG1:LINE:MODE", "VLIM", "SOUR", "CURR"):
        assert not rx.fullmatch(header), header
    assert header_oracle("keysight34465a").fullmatch("SENS:CURR:DC:NPLC")
    assert header_oracle("keysight34465a").fullmatch("*IDN")


# ---------------------------------------------------------------------------------------------
# checks


def run(inst: SimInstrument, message: str) -> int:
    """Process one message and check robustness; return the first queued error code."""
    before = inst.internal_errors[:]
    reply = inst.process(message)
    assert inst.internal_errors == before, inst.internal_errors[-1:]
    assert reply is None or (isinstance(reply, str) and "\n" not in reply)
    return drain(inst)


def drain(inst: SimInstrument) -> int:
    """Read the whole error queue (checking the vendor format); return the first code."""
    keithley = isinstance(inst, KeithleyTti)
    pattern = (
        KEITHLEY_ERROR_RE
        if keithley
        else KEYSIGHT_ERROR_RE
        if inst.no_error().startswith("+")
        else PLAIN_ERROR_RE
    )
    first = 0
    for _ in range(inst.error_queue_depth + 1):
        reply = inst.process("SYST:ERR?")
        assert reply is not None
        if reply in (KEITHLEY_NO_ERROR, '+0,"No error"', '0,"No error"'):
            assert reply == inst.no_error()
            assert not inst.internal_errors
            return first
        m = pattern.fullmatch(reply)
        assert m, reply
        code = int(m["code"])
        assert code != 0
        first = first or code
    raise AssertionError("error queue did not drain")


no_newline = st.characters(blacklist_characters="\n")
models = pytest.mark.parametrize("model", list(MODELS))

# fragments of real messages
PARAMS = [
    "0", "1", "-1", "0.02", "2.5E-3", "1e3", "-1e-9", "1e99", "MIN", "MAX", "DEF", "ON", "OFF",
    "ONCE", "AUTO", "INF", "NaN", '"VOLT"', '"CURR:DC"', "'defbuffer1'", '"', "''", "(@1)",
    "(@1:3,5)", "(@", "TRIG", "OUT", "COMM", "EXT", "BUS", "IMM", "TIM", "RES", "CURR", "VOLT",
    "PROT20", "NONE", "SOUR", "READ", "5 V", "20 mA", "#H1F", "", " ", ";", ",", "?", "*",
]  # fmt: skip
SUFFIXES = ["", "", "", "1", "2", "0", "7", "10"]
CASES: list[Callable[[str], str]] = [str.upper, str.lower, str.title, lambda s: s]


@st.composite
def structured_unit(draw: st.DrawFn, model: str, params: list[str]) -> str:
    words = sorted(mnemonics(model))
    if draw(st.integers(0, 9)) == 0:
        header = "*" + draw(st.sampled_from([w for w in words if len(w) == 3] or ["IDN"]))
    else:
        tokens = draw(st.lists(st.sampled_from(words), min_size=1, max_size=5))
        header = ":".join(t + draw(st.sampled_from(SUFFIXES)) for t in tokens)
        if draw(st.booleans()):
            header = ":" + header
    header = draw(st.sampled_from(CASES))(header)
    if draw(st.booleans()):
        header += "?"
    values = draw(st.lists(st.sampled_from(params), max_size=3))
    separator = draw(st.sampled_from([",", ", ", " ,"]))
    return header + (" " + separator.join(values) if values else "")


def params_for(model: str) -> list[str]:
    if model == "keysight34465a":
        # TRIG:COUN/SAMP:COUN MAX followed by INIT/READ? freezes the simulator (see the xfail
        # test_init_cost_does_not_grow_with_the_trigger_count); keep the fuzz away from it
        return [p for p in PARAMS if p not in ("MAX", "1e99")]
    return PARAMS


# ---------------------------------------------------------------------------------------------
# properties


@models
@FUZZ
@given(message=st.text(no_newline, max_size=60))
def test_random_text_never_crashes(model: str, message: str) -> None:
    run(fresh(model), message)


@models
@FUZZ
@given(data=st.binary(max_size=60))
def test_random_bytes_as_the_server_decodes_them_never_crash(model: str, data: bytes) -> None:
    message = data.decode("ascii", errors="replace").replace("\n", "")
    code = run(fresh(model), message)
    stripped = message.strip()
    if stripped and not stripped[0].isascii():
        assert code != 0


BAD_FIRST = [c for c in string.punctuation if c not in ":*_"] + list(string.digits)
BAD_FIRST += ["\ufffd", "\x7f", "\x00", "é", "µ"]


@models
@FUZZ
@given(first=st.sampled_from(BAD_FIRST), rest=st.text(no_newline, max_size=40))
def test_garbage_always_yields_a_nonzero_error(model: str, first: str, rest: str) -> None:
    assert run(fresh(model), first + rest) != 0


@models
@FUZZ
@given(data=st.data())
def test_unknown_headers_are_minus_113(model: str, data: st.DataObject) -> None:
    known = mnemonics(model)
    word = st.text(string.ascii_letters, min_size=1, max_size=12).filter(
        lambda w: w.upper() not in known
    )
    tokens = data.draw(st.lists(word, min_size=1, max_size=4))
    header = data.draw(st.sampled_from(["", ":"])) + ":".join(tokens)
    header += data.draw(st.sampled_from(["", "?"]))
    params = data.draw(st.lists(st.sampled_from(["1", "ON", "MIN", '"x"', "(@1)"]), max_size=2))
    message = header + (" " + ",".join(params) if params else "")
    assert run(fresh(model), message) == -113, message


@models
@FUZZ
@given(data=st.data())
def test_structured_junk_from_real_fragments(model: str, data: st.DataObject) -> None:
    """One unit built from the instrument's own mnemonics, suffixes, cases and parameters: it
    never crashes, and a header that no documented pattern accepts is always an error."""
    message = data.draw(structured_unit(model, params_for(model)))
    code = run(fresh(model), message)
    header = message.split(" ", 1)[0].lstrip(":").rstrip("?").upper()
    if not header_oracle(model).fullmatch(header):
        assert code != 0, message


@models
@FUZZ
@given(data=st.data())
def test_multi_unit_messages_from_real_fragments_never_crash(
    model: str, data: st.DataObject
) -> None:
    units = data.draw(st.lists(structured_unit(model, params_for(model)), min_size=2, max_size=4))
    separator = data.draw(st.sampled_from([";", "; ", ";:"]))
    run(fresh(model), separator.join(units))


@models
@FUZZ
@given(messages=st.lists(st.text(no_newline, max_size=30), min_size=2, max_size=6))
def test_instrument_stays_usable_after_garbage(model: str, messages: list[str]) -> None:
    inst = fresh(model)
    idn = inst.identity.idn()
    for message in messages:
        run(inst, message)
    assert inst.process("*CLS;*IDN?") == idn
    assert inst.process("*OPC?") == "1"


# ---------------------------------------------------------------------------------------------
# parser building blocks: only ScpiError may come out


@FUZZ
@given(text=st.text(no_newline, max_size=60))
def test_parse_unit_raises_only_scpi_errors(text: str) -> None:
    try:
        unit = parse_unit(text)
    except ScpiError as exc:
        assert exc.code < 0
    else:
        assert all(t == t.upper() for t in unit.tokens)


@FUZZ
@given(text=st.one_of(st.text(max_size=20), st.sampled_from(PARAMS)))
def test_parameter_parsers_raise_only_scpi_errors(text: str) -> None:
    for parse in (
        lambda t: parse_number(t, unit="V", minimum=-10, maximum=10, default=0),
        parse_bool,
        parse_channel_list,
    ):
        try:
            parse(text)
        except ScpiError as exc:
            assert exc.code < 0
