"""The panel's words in English and German: one catalogue, every key in both languages.

Messages that come from the core (an abort reason, its fix, a refusal of the station lock) are
the runner's one-line English texts and are shown as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from procedures.sampling import REPEAT_TEXTS

LANGUAGES = ("en", "de")
DEFAULT = "en"

MESSAGES: dict[str, tuple[str, str]] = {
    # page and header
    "title": ("isobench operator station", "isobench Prüfplatz"),
    "station": ("Station", "Prüfplatz"),
    "operator": ("Operator", "Prüfer"),
    "lot": ("Lot", "Los"),
    "no_lot": ("none", "keines"),
    "change_setup": ("Operator / lot", "Prüfer / Los"),
    "language_switch": ("Deutsch", "English"),
    "language_switch_label": ("Sprache: Deutsch", "Language: English"),
    "plan": ("Plan", "Prüfplan"),
    "plan_full": ("full inspection", "vollständige Prüfung"),
    "plan_sweep": ("transfer sweep only", "nur Übertragungskennlinie"),
    # setup
    "setup_heading": ("Start of shift", "Schichtbeginn"),
    "operator_name": ("Operator name", "Name des Prüfers"),
    "lot_choose": ("Lot", "Los"),
    "lot_none_option": ("No lot: single units", "Kein Los: Einzelprüfung"),
    "setup_continue": ("Continue (Enter)", "Weiter (Enter)"),
    "lot_open_heading": ("Open a new lot", "Neues Los anlegen"),
    "lot_size": ("Lot size (units delivered)", "Losgröße (gelieferte Stück)"),
    "lot_aql": ("AQL in %", "AQL in %"),
    "lot_supplier": ("Supplier", "Lieferant"),
    "lot_level": ("Inspection level", "Prüfniveau"),
    "lot_id": ("Lot id (optional)", "Los-Nr. (optional)"),
    "lot_open_button": ("Open lot", "Los anlegen"),
    "lot_plan": (
        "code letter {code}, n = {n}, Ac = {ac}, Re = {re}",
        "Kennbuchstabe {code}, n = {n}, Ac = {ac}, Re = {re}",
    ),
    # the lot choice: short enough for the select box; the full plan in its tooltip
    "lot_option": (
        "{lot} · {supplier} · n = {n}, Ac = {ac}",
        "{lot} · {supplier} · n = {n}, Ac = {ac}",
    ),
    "lot_units": ("units {done} of {n}", "Einheiten {done} von {n}"),
    "lot_nonconforming": ("nonconforming d = {d}", "fehlerhaft d = {d}"),
    "lot_closed": ("closed: {disposition}", "abgeschlossen: {disposition}"),
    "lot_complete": (
        "sample complete: close the lot with 'isobench lot close {lot}'",
        "Stichprobe vollständig: Los schließen mit 'isobench lot close {lot}'",
    ),
    # scanning
    "serial": ("Serial number", "Seriennummer"),
    "serial_hint": (
        "Scan the barcode or type the serial, then Enter",
        "Barcode scannen oder Seriennummer tippen, dann Enter",
    ),
    "scan_button": ("Scan", "Übernehmen"),
    "idle_heading": ("Scan the next module", "Nächstes Modul scannen"),
    "idle_text": (
        "The serial field has the focus: scan the label on the module.",
        "Das Seriennummernfeld ist aktiv: das Etikett auf dem Modul scannen.",
    ),
    "ready_heading": ("Insert module {serial}", "Modul {serial} einsetzen"),
    "ready_text": (
        "Put the module into the fixture and wire it as shown. Then press Enter to start.",
        "Modul in die Aufnahme setzen und wie gezeigt verdrahten. Dann Enter drücken.",
    ),
    "start_button": ("Start (Enter)", "Start (Enter)"),
    "cancel_button": ("Cancel (Esc)", "Abbrechen (Esc)"),
    # running
    "running_heading": ("Inspecting {serial}", "Prüfung von {serial}"),
    "elapsed": ("Elapsed", "Vergangen"),
    "expected": ("Expected", "Erwartet"),
    "abort_button": ("Abort (Esc)", "Abbruch (Esc)"),
    "aborting": (
        "Abort requested: switching every output off and reading it back …",
        "Abbruch angefordert: alle Ausgänge werden abgeschaltet und zurückgelesen …",
    ),
    "steps": ("Steps", "Prüfschritte"),
    "finishing": (
        "Measurements done: switching every output off and reading it back …",
        "Messungen fertig: alle Ausgänge werden abgeschaltet und zurückgelesen …",
    ),
    "finishing_safe": (
        "Safe state verified; writing the record and the reports …",
        "Sicherer Zustand bestätigt; Aufzeichnung und Berichte werden geschrieben …",
    ),
    "finishing_unsafe": (
        "Safe state NOT verified; writing the record and the reports …",
        "Sicherer Zustand NICHT bestätigt; Aufzeichnung und Berichte werden geschrieben …",
    ),
    "step_pending": ("waiting", "wartet"),
    "step_running": ("running", "läuft"),
    "step_completed": ("done", "fertig"),
    "step_failed": ("stopped the plan", "hat den Plan gestoppt"),
    "step_aborted": ("aborted", "abgebrochen"),
    "step_not run": ("not run", "nicht ausgeführt"),
    "step_error": ("error", "Fehler"),
    "plot_heading": (
        "Transmission error · bars: U (95 %)",
        "Übertragungsfehler · Balken: U (95 %)",
    ),
    "plot_x": ("measured input current (mA)", "gemessener Eingangsstrom (mA)"),
    "plot_y": ("error I_out − I_in (µA)", "Fehler I_out − I_in (µA)"),
    "plot_title_empty": (
        "Transmission error plot: no point measured yet",
        "Übertragungsfehler: noch kein Messpunkt",
    ),
    "plot_title": (
        "Transmission error plot: {n} points, largest error {error} µA at {input} mA, "
        "limit ±{limit} µA",
        "Übertragungsfehler: {n} Punkte, größter Fehler {error} µA bei {input} mA, "
        "Grenze ±{limit} µA",
    ),
    "legend_up": ("upscale", "aufwärts"),
    "legend_down": ("downscale", "abwärts"),
    "legend_other": ("supply / load effect", "Versorgungs-/Bürdeneinfluss"),
    "legend_limit": ("limit", "Grenzwert"),
    "legend_guard": ("acceptance limit (guard band w = U)", "Annahmegrenze (Schutzband w = U)"),
    # verdicts
    "verdict_pass": ("PASS", "BESTANDEN"),
    "verdict_conditional pass": ("CONDITIONAL PASS", "BEDINGT BESTANDEN"),
    "verdict_conditional fail": ("CONDITIONAL FAIL", "BEDINGT NICHT BESTANDEN"),
    "verdict_fail": ("FAIL", "NICHT BESTANDEN"),
    "verdict_aborted": ("ABORTED", "ABGEBROCHEN"),
    "verdict_informative": ("NO VERDICT", "KEIN URTEIL"),
    "verdict_announce": ("{serial}: {verdict}", "{serial}: {verdict}"),
    "engineering": ("ENGINEERING RUN - NOT FOR RELEASE", "ENTWICKLUNGSLAUF - NICHT FREIGEGEBEN"),
    "failing_heading": (
        "Characteristics outside their limits or guard band",
        "Merkmale außerhalb der Grenzen oder im Schutzband",
    ),
    "col_characteristic": ("Characteristic", "Merkmal"),
    "more_points": ("and {n} more points", "und {n} weitere Punkte"),
    "col_value": ("Value", "Wert"),
    "col_limit": ("Limit", "Grenze"),
    "col_u": ("U (95 %)", "U (95 %)"),
    "col_statement": ("Statement", "Aussage"),
    "abort_reason": ("Why", "Ursache"),
    "abort_fix": ("What to do", "Abhilfe"),
    "safe_verified": (
        "Safe state verified: every output is off and was read back.",
        "Sicherer Zustand bestätigt: alle Ausgänge aus und zurückgelesen.",
    ),
    "safe_not_verified": (
        "Safe state NOT verified: {detail}. Do not touch the fixture; check that instrument.",
        "Sicherer Zustand NICHT bestätigt: {detail}. Aufnahme nicht berühren; Gerät prüfen.",
    ),
    "reports": ("Reports", "Berichte"),
    "report_html": ("HTML report", "HTML-Bericht"),
    "report_pdf": ("PDF report", "PDF-Bericht"),
    "next_hint": (
        "Scan the next serial to continue.",
        "Nächste Seriennummer scannen, um fortzufahren.",
    ),
    # side panel
    "side_instruments": ("Instruments", "Messgeräte"),
    "role_source": ("Source", "Stromquelle"),
    "role_dmm": ("DMM", "Multimeter"),
    "role_supply": ("Supply", "Netzgerät"),
    "role_load": ("Load", "Last"),
    "instrument_serial": ("serial {serial}", "Seriennr. {serial}"),
    "instrument_idn": ("S/N {serial} · firmware {firmware}", "S/N {serial} · Firmware {firmware}"),
    "cal_due": ("calibration due {date}", "Kalibrierung fällig {date}"),
    "cal_overdue": ("calibration OVERDUE since {date}", "Kalibrierung ÜBERFÄLLIG seit {date}"),
    "cal_unknown": ("no calibration date", "kein Kalibrierdatum"),
    "side_lock": ("Station lock", "Prüfplatz-Sperre"),
    "lock_free": ("free", "frei"),
    "lock_held": (
        "in use by {frontend}, PID {pid} on {host}: {what}, since {since}",
        "belegt durch {frontend}, PID {pid} auf {host}: {what}, seit {since}",
    ),
    "lock_inspecting": ("inspecting {serial}", "prüft {serial}"),
    "lock_checking": ("checking the station", "prüft den Prüfplatz"),
    "lock_self": ("in use by this panel's run", "belegt durch den Lauf dieses Panels"),
    "side_units": ("Last units", "Letzte Einheiten"),
    "no_units": ("none yet", "noch keine"),
    "side_lot": ("Lot tally", "Los-Stand"),
    # a serial scanned before: its history, and (in a lot) how this run will count; the English
    # of the counting sentences is the runner's own (procedures.sampling.REPEAT_TEXTS)
    "repeated_serial": (
        "{serial} was inspected before: {n} run(s), the last on {when} ({verdict}, lot {lot}).",
        "{serial} wurde schon geprüft: {n} Lauf/Läufe, zuletzt am {when} ({verdict}, Los {lot}).",
    ),
    "repeat_not_in_lot": (
        "It has no run in lot {lot} yet: this run decides the unit there.",
        "Im Los {lot} hat sie noch keinen Lauf: dieser Lauf entscheidet dort über die Einheit.",
    ),
    "repeat_retest": (
        REPEAT_TEXTS["retest"],
        "Seriennummer {serial} wurde in diesem Los schon geprüft ({n}x: {before}); vorher "
        "{result}: dieser Lauf ist ihre zulässige Wiederholungsprüfung ({retest} von {allowed}) "
        "und entscheidet über die Einheit",
    ),
    "repeat_decides": (
        REPEAT_TEXTS["decides"],
        "Seriennummer {serial} wurde in diesem Los schon geprüft ({n}x: {before}); keiner dieser "
        "Läufe zählte (abgebrochene, Entwicklungs- und für ungültig erklärte Läufe zählen nie), "
        "daher entscheidet dieser Lauf über die Einheit",
    ),
    "repeat_stands": (
        REPEAT_TEXTS["stands"],
        "Seriennummer {serial} wurde in diesem Los schon geprüft ({n}x: {before}); {result} "
        "bleibt bestehen: dieser Lauf wird aufgezeichnet, zählt aber nur, wenn Lauf {run} für "
        "ungültig erklärt wird ('isobench lot invalidate {run} --reason ...')",
    ),
    "repeat_counted": (
        REPEAT_TEXTS["counted"],
        "Seriennummer {serial} wurde in diesem Los schon geprüft ({n}x: {before}); dieser Lauf "
        "wird aufgezeichnet, zählt aber nicht: die Einheit zählt bereits als {result}",
    ),
    # wiring picture
    "wiring_title": (
        "Wiring of the fixture ({topology} topology)",
        "Verdrahtung der Aufnahme ({topology})",
    ),
    "wiring_module": ("module under test", "Prüfling"),
    "wiring_channel": ("scanner ch {n}", "Scanner-Kanal {n}"),
    "wiring_scanner": ("scanner card", "Scannerkarte"),
    "wiring_bypass": ("bypass relay (source DIO {n})", "Bypass-Relais (Quelle DIO {n})"),
    "wiring_trigger": ("trigger (source DIO {n})", "Trigger (Quelle DIO {n})"),
    "wiring_series": ("DMM in series (current)", "DMM in Reihe (Strom)"),
    "wiring_readback": ("input current: source read-back", "Eingangsstrom: Rücklesewert"),
    "connection_lost": (
        "Connection to the station lost: reconnecting …",
        "Verbindung zum Prüfplatz unterbrochen: verbinde neu …",
    ),
}


def choose(requested: str | None, accept_language: str = "") -> str:
    """The language asked for (query or cookie), else the browser's first supported one."""
    if requested in LANGUAGES:
        return requested  # type: ignore[return-value]
    for part in accept_language.split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return DEFAULT


def translator(lang: str) -> Callable[..., str]:
    """``t(key, **values)``: the key's text in ``lang`` with the values filled in."""
    index = LANGUAGES.index(lang) if lang in LANGUAGES else 0

    def t(key: str, **values: object) -> str:
        text = MESSAGES[key][index]
        return text.format(**values) if values else text

    return t


#: the runner's repeated-serial sentences, one per case of procedures.sampling.RepeatCount
REPEAT_KEYS = frozenset(f"repeat_{case}" for case in REPEAT_TEXTS)


def verdict_word(word: str, t: Callable[..., str]) -> str:
    """A verdict or run outcome as the banner spells it (PASS, BESTANDEN, ABGEBROCHEN ...)."""
    key = f"verdict_{word}"
    return t(key) if key in MESSAGES else word.upper()


def notice_text(note: Mapping[str, Any], t: Callable[..., str]) -> str:
    """A notice in the tab's language: its catalogue key with its blanks (verdicts spelt as
    the banner spells them), else its English text as it is (the core's one-liners)."""
    key, values = str(note.get("key") or ""), dict(note.get("values") or {})
    if key not in MESSAGES:
        return str(note.get("text", ""))
    try:
        if key in REPEAT_KEYS:
            from procedures.sampling import RepeatCount

            count = RepeatCount(**{**values, "before": tuple(values.get("before") or ())})
            values = count.values(lambda w: verdict_word(w, t))
        elif "verdict" in values:
            values["verdict"] = verdict_word(str(values["verdict"]), t)
        return t(key, **values)
    except (TypeError, KeyError, ValueError):  # blanks that do not fit: the English as sent
        return str(note.get("text", ""))


#: German names of the built-in profile's characteristics (the profile's titles are English
#: data); a characteristic of another profile keeps its own title
CHARACTERISTIC_TITLES_DE: dict[str, str] = {
    "transmission_error": "Übertragungsfehler",
    "supply_current": "Stromaufnahme bei Nennversorgungsspannung",
    "supply_current_range": "Stromaufnahme im Versorgungsspannungsbereich",
    "input_resistance": "Eingangswiderstand",
    "gain_error": "Verstärkungsfehler (Ausgleichsgerade)",
    "offset": "Nullpunktfehler (Ausgleichsgerade)",
    "non_linearity": "Linearitätsabweichung (Minimax-Gerade)",
    "terminal_non_linearity": "Linearitätsabweichung (Endpunktgerade)",
    "hysteresis": "Hysterese",
    "supply_effect": "Übertragungsfehler im Versorgungsspannungsbereich",
    "load_effect": "Übertragungsfehler im Bürdenbereich",
    "output_compliance": "Bürdenspannung über 600 Ω",
    "limit_frequency": "Grenzfrequenz (aus der Sprungantwort)",
    "rise_time": "Sprungantwort (Anstiegszeit 10-90 %)",
    "settling_time": "Einschwingzeit auf ±0,1 % des Messbereichsendwerts",
    "overshoot": "Überschwingen",
    "over_range": "Ausgang oberhalb 20 mA Eingang (Begrenzung)",
    "open_input": "Ausgang bei offenem Eingang",
    "terminal_check": "Anschlussprüfung (1 mA ein, etwa 1 mA aus)",
    "supply_shift": "Versorgungseinfluss (Änderung gegen 24 V)",
    "load_shift": "Bürdeneinfluss (Änderung gegen 250 Ω)",
    "clamp_level": "Begrenzungswert oberhalb 20 mA Eingang",
    "time_constant": "Zeitkonstante (angepasst)",
    "dead_time": "Totzeit (angepasst)",
    "model_residual": "Sprungantwort gegen das Referenzmodell (Effektivwert der Abweichung)",
}

#: German titles of the built-in plans' steps, by step name
STEP_TITLES_DE: dict[str, str] = {
    "shunt_calibration": "Shuntverhältnis kalibrieren (Modul überbrückt)",
    "readback_calibration": "Rücklesung kalibrieren (Modul überbrückt)",
    "terminal_check": "Anschlussprüfung: 1 mA ein, etwa 1 mA aus",
    "step_response": "Sprungantwort 2 <-> 18 mA",
    "input_resistance": "Eingangswiderstand bei 20 mA (Vierleiter)",
    "accuracy": "Genauigkeit 0,2-20 mA auf- und abwärts, 24 V, 250 Ω",
    "over_range": "Übersteuerung 20,5 ... 24 mA, Begrenzung, 20 mA erneut",
    "supply_effect": "Versorgungseinfluss 16,8 / 24 / 31,2 V bei 4 und 20 mA",
    "load_effect": "Bürdeneinfluss niedrigste / 250 / 600 Ω bei 4 und 20 mA, 24 V und 16,8 V",
    "supply_current": "Stromaufnahme bei 16,8 / 24 / 31,2 V, Eingang 0 und 20 mA, 600 Ω",
    "open_input": "Offener Eingang: Ausgang bei abgeschalteter Quelle",
}


#: the English words of a measurement's conditions (reports.summary.condition_text) in German
CONDITION_WORDS_DE: dict[str, str] = {
    "up": "aufwärts",
    "down": "abwärts",
    "vs": "gegen",
    "points": "Punkte",
    "input up to": "Eingang bis",
    "load": "Bürde",
    "source": "Quelle",
    "off": "aus",
    "after": "nach",
    "over-range": "Übersteuerung",
}


def condition_words(lang: str) -> dict[str, str] | None:
    """The words ``condition_text`` uses, in ``lang`` (None: English as recorded)."""
    return CONDITION_WORDS_DE if lang == "de" else None


def characteristic_title(name: str, title: str, lang: str) -> str:
    """A characteristic's name in ``lang``: German from the catalogue, else as recorded."""
    return CHARACTERISTIC_TITLES_DE.get(name, title) if lang == "de" else title


def step_title(name: str, title: str, lang: str) -> str:
    """A plan step's title in ``lang``: German from the catalogue, else as the core says it."""
    return STEP_TITLES_DE.get(name, title) if lang == "de" else title
