"""English and German: every word the panel shows exists in both, with the same blanks."""

from __future__ import annotations

import re
import string
from dataclasses import asdict
from importlib import resources

from bench.panel import i18n


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_message_has_both_languages_with_the_same_placeholders() -> None:
    for key, (en, de) in i18n.MESSAGES.items():
        assert en.strip() and de.strip(), key
        assert _fields(en) == _fields(de), key


def test_every_key_the_templates_and_code_use_is_in_the_catalogue() -> None:
    package = resources.files("bench.panel")
    used: set[str] = set()
    for item in [*package.joinpath("templates").iterdir(), *package.iterdir()]:
        if item.name.endswith((".j2", ".py")):
            text = item.read_text("utf-8")
            used |= set(re.findall(r"\bt\(\s*[\"']([a-z_]+)[\"']\s*[,)]", text))
    assert used, "no t('...') calls found"
    assert sorted(used - set(i18n.MESSAGES)) == []


def test_language_from_the_request_else_the_browser_else_english() -> None:
    assert i18n.choose("de") == "de"
    assert i18n.choose(None, "de-DE,de;q=0.9,en;q=0.8") == "de"
    assert i18n.choose("fr", "fr-FR,fr;q=0.9") == "en"
    t = i18n.translator("de")
    assert t("ready_heading", serial="SN1") == "Modul SN1 einsetzen"


def test_the_keys_built_from_data_exist() -> None:
    from bench.station import ROLES
    from procedures.decision import Statement

    built = (
        [f"verdict_{s.value}" for s in Statement]
        + ["verdict_aborted"]
        + [f"step_{s}" for s in ("pending", "running", "completed", "failed", "aborted", "not run")]
        + [f"role_{r}" for r in ROLES]
        + ["plan_full", "plan_sweep"]
    )
    assert [key for key in built if key not in i18n.MESSAGES] == []


def test_the_repeated_serial_sentences_are_the_runners_in_english_and_said_in_german() -> None:
    from procedures.sampling import REPEAT_TEXTS, RepeatCount

    counts = [
        RepeatCount("retest", "SN1", ("conditional pass",), "conditional pass", "r1", 1, 1),
        RepeatCount("decides", "SN1", ("aborted",)),
        RepeatCount("stands", "SN1", ("fail",), "fail", "r1"),
        RepeatCount("counted", "SN1", ("conditional pass", "pass"), "pass", "r2"),
    ]
    assert sorted(c.case for c in counts) == sorted(REPEAT_TEXTS)
    en, de = i18n.translator("en"), i18n.translator("de")
    for count in counts:
        note = {"text": count.text, "key": f"repeat_{count.case}", "values": asdict(count)}
        assert i18n.notice_text(note, en) == count.text  # one sentence, the runner's
        assert i18n.notice_text(note, de).startswith("Seriennummer SN1 wurde in diesem Los")
    stands = {"key": "repeat_stands", "values": asdict(counts[2])}
    assert "(1x: NICHT BESTANDEN); NICHT BESTANDEN bleibt bestehen" in i18n.notice_text(stands, de)
    assert "'isobench lot invalidate r1 --reason ...'" in i18n.notice_text(stands, de)
    # blanks that do not fit (an older runner): the English as it was sent
    odd = {"text": "as sent", "key": "repeat_stands", "values": {"serial": "SN1"}}
    assert i18n.notice_text(odd, de) == "as sent"


def test_german_tabs_name_the_built_in_characteristics_and_steps_in_german() -> None:
    """Every characteristic of the built-in profile and every step of the built-in plans has
    a German name; another profile's characteristic keeps the title it was recorded with."""
    from bench.panel.i18n import characteristic_title, step_title
    from procedures.plans import full_plan
    from procedures.profile import builtin_profile

    for name, char in builtin_profile().characteristics.items():
        german = characteristic_title(name, char.title, "de")
        assert german and german != char.title, name
        assert characteristic_title(name, char.title, "en") == char.title
    for topology in ("shunt-scan", "direct"):
        for step in full_plan(topology):
            assert step_title(step.name, step.title, "de") != step.title, step.name
    assert characteristic_title("my_own", "My own", "de") == "My own"


def test_german_tabs_say_the_conditions_in_german_with_the_numbers_as_they_are() -> None:
    from bench.panel.i18n import condition_words
    from reports.summary import condition_text

    conditions = {"supply_v": 24.0, "load_ohm": 250.0, "set_a": 0.02, "direction": "up"}
    assert condition_text(conditions) == "24 V, 250 Ω, 20 mA, up"
    assert condition_text(conditions, condition_words("de")) == "24 V, 250 Ω, 20 mA, aufwärts"
    recheck = {"set_a": 0.02, "direction": "down", "after": "over-range"}
    assert condition_text(recheck, condition_words("de")) == "20 mA, abwärts, nach Übersteuerung"
    assert condition_words("en") is None
