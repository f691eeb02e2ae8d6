"""The lead names of an imported file: labels taken to the gateway's vocabulary where
nothing else is meant, ``--leads`` otherwise, and errors that say what to pass."""

from __future__ import annotations

import pytest

from client.importing.leads import LEAD_NAMES, LeadNameError, lead_name, name_signals
from gateway.leads import LEAD_NAMES as GATEWAY_LEAD_NAMES


def test_the_client_knows_the_gateways_lead_names() -> None:
    assert LEAD_NAMES == GATEWAY_LEAD_NAMES


@pytest.mark.parametrize(
    ("label", "name"),
    [
        ("MLII", "MLII"), ("ii", "II"), (" avr ", "aVR"), ("ECG I", "I"), ("EKG II", "II"),
        ("ECG V1-REF", "V1"), ("V2-avg", "V2"), ("ECG_V3", "V3"), ("ECG Lead aVF", "aVF"),
        ("ECG: V4R", "V4R"), ("ML II", "MLII"), ("vx", "X"), ("VZ", "Z"), ("DII", "II"),
        ("Lead III", "III"),
    ],
)  # fmt: skip
def test_labels_that_name_a_lead(label: str, name: str) -> None:
    assert lead_name(label) == name


@pytest.mark.parametrize(
    "label", ["ECG1", "ECG", "", "I-II", "Resp", "V", "ECG II III", "V1-V2", "Pleth"]
)
def test_labels_that_are_not_guessed(label: str) -> None:
    assert lead_name(label) is None


def test_signals_are_named_from_their_labels() -> None:
    assert name_signals(["ECG I", "ECG II"], None) == ["I", "II"]


def test_an_unknown_label_asks_for_leads() -> None:
    with pytest.raises(LeadNameError) as raised:
        name_signals(["ECG I", "ECG1"], None)
    message = str(raised.value)
    assert "signal 1 is labelled 'ECG1'" in message
    assert "--leads NAME,NAME,..." in message
    assert "- leaves a signal out" in message


def test_leads_name_every_signal_in_order_and_skip_some() -> None:
    assert name_signals(["a", "b", "c"], ["mlii", "-", "V5"]) == ["MLII", None, "V5"]


@pytest.mark.parametrize(
    ("labels", "given", "message"),
    [
        (["a", "b"], ["II"], "names 1 signals; the file has 2"),
        (["a"], ["V"], "'V' is not a lead name"),
        (["a", "b"], ["-", "-"], "leaves every signal out"),
        (["a", "b"], ["II", "ii"], "two signals are lead II"),
        (["ECG II", "EKG II"], None, "two signals are lead II"),
    ],
)
def test_names_that_do_not_fit(labels: list[str], given: list[str] | None, message: str) -> None:
    with pytest.raises(LeadNameError, match=message):
        name_signals(labels, given)
