"""Limits are data: a changed profile changes verdicts without code, and re-judging stored data
against it gives a new verdict beside the original."""

from __future__ import annotations

from pathlib import Path

import pytest

from procedures.profile import ProfileError, builtin_profile, load_profile
from procedures.rejudge import profile_digest, rejudge


def _copy_with(tmp_path: Path, old: str, new: str) -> Path:
    text = Path(builtin_profile().source_file).read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / "tight.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def _record(value: float, u: float, statement: str = "pass") -> dict:
    return {
        "serial": "X",
        "verdict": statement,
        "outcome": "completed",
        "ambient_c": None,
        "measurements": [
            {
                "characteristic": "transmission_error",
                "value": value,
                "statement": statement,
                "conditions": {"set_a": 0.02},
                "decision": {"u": u, "k": 2.0},
            }
        ],
    }


def test_a_changed_limit_needs_no_code(tmp_path: Path) -> None:
    path = _copy_with(
        tmp_path, "lower = -20.0e-6\nupper = 20.0e-6", "lower = -5.0e-6\nupper = 5.0e-6"
    )
    tight = load_profile(path)
    assert tight["transmission_error"].judge(8e-6, 0.3e-6).statement == "fail"
    assert builtin_profile()["transmission_error"].judge(8e-6, 0.3e-6).statement == "pass"


def test_rejudge_applies_the_new_limits_to_the_stored_values(tmp_path: Path) -> None:
    tight = load_profile(
        _copy_with(tmp_path, "lower = -20.0e-6\nupper = 20.0e-6", "lower = -5.0e-6\nupper = 5.0e-6")
    )
    result = rejudge(_record(8e-6, 0.3e-6), tight)
    assert result.original_verdict == "pass" and result.verdict == "fail"
    assert result.changed == [
        {
            "characteristic": "transmission_error",
            "conditions": {"set_a": 0.02},
            "value": 8e-6,
            "was": "pass",
            "now": "fail",
        }
    ]
    same = rejudge(_record(8e-6, 0.3e-6), builtin_profile())
    assert same.verdict == "pass" and same.changed == []
    assert profile_digest(tight) != profile_digest(builtin_profile())


def test_a_bad_profile_is_one_line_naming_the_key(tmp_path: Path) -> None:
    path = _copy_with(tmp_path, 'rule = "guarded-acceptance"', 'rule = "guarded-accept"')
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    message = str(info.value)
    assert "\n" not in message and "characteristics.transmission_error.rule" in message


def test_the_datasheets_operating_conditions_bound_a_run() -> None:
    profile = builtin_profile()
    assert profile.module.operating_ambient_c == (-25.0, 70.0)
    assert profile.module.operating_humidity_pct == (5.0, 95.0)
    profile.check_environment(None, None)
    profile.check_environment(-25.0, 5.0)  # the limits themselves are inside
    profile.check_environment(70.0, 95.0)
    for ambient, humidity in ((70.1, None), (None, 4.9), (float("inf"), None)):
        with pytest.raises(ProfileError, match="outside the WAGO 857-411's operating range"):
            profile.check_environment(ambient, humidity)


HUMIDITY = "operating_humidity_pct = [5.0, 95.0]"


def test_a_serial_pattern_is_optional_and_must_match_the_whole_serial(tmp_path: Path) -> None:
    builtin_profile().check_serial("any serial without separators")  # no pattern: any serial
    path = _copy_with(tmp_path, HUMIDITY, HUMIDITY + "\nserial_pattern = '[A-Z]{2}\\d{6}'")
    profile = load_profile(path)
    profile.check_serial("AB123456")
    for serial in ("AB1234567", "xAB123456", "ab123456", ""):
        with pytest.raises(ProfileError) as info:
            profile.check_serial(serial)
        message = str(info.value)
        assert "\n" not in message and r"serial pattern [A-Z]{2}\d{6}" in message
        assert f"serial {serial!r} does not match the WAGO 857-411" in message


@pytest.mark.parametrize(
    ("pattern", "says"),
    [("'[A-Z'", "not a regular expression"), ("' '", "empty; remove the key")],
)
def test_a_bad_serial_pattern_is_one_line_naming_the_key(
    tmp_path: Path, pattern: str, says: str
) -> None:
    path = _copy_with(tmp_path, HUMIDITY, f"{HUMIDITY}\nserial_pattern = {pattern}")
    with pytest.raises(ProfileError) as info:
        load_profile(path)
    message = str(info.value)
    assert "\n" not in message and "module.serial_pattern: " in message and says in message
