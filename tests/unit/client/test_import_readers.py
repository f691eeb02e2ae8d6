"""The readers of ``ecg import``: a WFDB record read with the ``wfdb`` package equals the
repository's numpy reader; an EDF+ file and a CSV file written from MIT-BIH record 100
(``bench.import_files``) read back to the same ADC values, gains and baselines, whole
and in blocks; and what each format refuses, with the fix in the message."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import edfio
import numpy as np
import pytest

from bench.import_files import shortened, write_csv, write_edf, write_wfdb
from client.importing.formats import format_of, open_recording
from client.importing.recording import CsvOptions, Recording, RecordingError
from client.wfdb import Record, read_record
from tests.conftest import DATA

RECORD_100 = DATA / "mitdb" / "100"
MIT_BIH = CsvOptions(gain=200, baseline=1024)  # record 100's scale, for CSV files in mV
# 1,000 rows at 250 Hz but the 501st: the rate from the ends is 249.75 Hz
MISSING_ROW = "time,II\n" + "".join(f"{k / 250:.3f},{k}\n" for k in range(1001) if k != 500)


@pytest.fixture(scope="module")
def two_minutes() -> Record:
    return shortened(read_record(RECORD_100), 120)


def read_all(recording: Recording) -> None:
    recording.read(0, recording.samples)


def assert_same(recording: Recording, record: Record) -> None:
    assert recording.labels == tuple(record.lead_names)
    assert recording.sampling_rate == record.sampling_rate
    assert recording.samples == record.signals.shape[1]
    assert recording.gains == tuple(record.gains)
    assert recording.baselines == tuple(record.baselines)
    whole = recording.read(0, recording.samples)
    assert whole.dtype == np.int32
    assert np.array_equal(whole, record.signals)
    for start, stop in (
        (0, 1),
        (359, 9001),
        (9001, 20000),
        (recording.samples - 7, recording.samples),
    ):
        assert np.array_equal(recording.read(start, stop), record.signals[:, start:stop])


@pytest.mark.parametrize("name", ["mitdb/100", "mitdb/118", "ptbdb/s0010_re"])
def test_the_wfdb_package_reads_what_the_numpy_reader_reads(name: str) -> None:
    reference = read_record(DATA / name)
    recording = open_recording(DATA / name).named(None)
    assert recording.kind == "wfdb"
    expected_names = {"i": "I", "vx": "X"}  # PTB's labels, named as leads
    renamed = [expected_names.get(n, n) for n in reference.lead_names]
    assert recording.labels[0] == renamed[0]
    assert np.array_equal(recording.read(0, recording.samples), reference.signals)
    assert recording.gains == tuple(reference.gains)
    assert recording.baselines == tuple(reference.baselines)
    assert recording.sampling_rate == reference.sampling_rate
    assert recording.date is None
    assert recording.notes == ()


def test_a_wfdb_record_opens_by_its_header_its_data_or_its_name(
    tmp_path: Path, two_minutes: Record
) -> None:
    record = write_wfdb(two_minutes, tmp_path, "r100")
    for path in (record, record.with_suffix(".hea"), record.with_suffix(".dat")):
        recording = open_recording(path).named(None)
        assert_same(recording, two_minutes)
        assert recording.value_chars == 6  # format 212: "-2048,"
        assert {p.name for p in recording.files} == {"r100.hea", "r100.dat"}


def test_an_edf_plus_file_reads_back_the_adc_values_gains_and_baselines(
    tmp_path: Path, two_minutes: Record
) -> None:
    path = write_edf(two_minutes, tmp_path / "r100.edf")
    recording = open_recording(path).named(None)
    assert recording.kind == "edf"
    assert_same(recording, two_minutes)
    assert recording.date == datetime(2024, 5, 1, 10)
    assert edfio.read_edf(path).reserved == "EDF+C"


def test_edf_gains_are_per_mv_whatever_the_physical_dimension(tmp_path: Path) -> None:
    digital = np.arange(-500, 500, dtype=np.int16).repeat(2)
    signals = [
        edfio.EdfSignal.from_digital(
            digital, 200, label=f"ECG {name}", physical_dimension=unit,
            physical_range=physical, digital_range=(-1000, 1000),
        )
        for name, unit, physical in (
            ("II", "uV", (-10000.0, 10000.0)),  # 0.1 ADC units per uV: 100 per mV
            ("V1", "mV", (-4.0, 6.0)),  # 200 per mV, 0 mV at -200
            ("V2", "", (-10.0, 10.0)),  # no unit: no gain
        )
    ]  # fmt: skip
    path = tmp_path / "units.edf"
    edfio.Edf(signals, data_record_duration=1).write(path)
    recording = open_recording(path).named(None)
    assert recording.labels == ("II", "V1", "V2")
    assert recording.gains == (100.0, 200.0, None)
    assert recording.baselines == (0, -200, 0)
    assert len(recording.notes) == 1
    assert "'ECG V2'" in recording.notes[0]
    assert np.array_equal(recording.read(10, 20)[0], digital[10:20])


def test_edf_signals_at_another_rate_must_be_left_out(tmp_path: Path) -> None:
    ecg = edfio.EdfSignal(np.zeros(500), 250, label="ECG II")
    other = edfio.EdfSignal(np.zeros(50), 25, label="Resp")
    path = tmp_path / "mixed.edf"
    edfio.Edf([ecg, other], data_record_duration=1).write(path)
    with pytest.raises(RecordingError, match=r"'Resp'.*--leads"):
        open_recording(path).named(None)
    with pytest.raises(RecordingError, match="differ in rate"):
        open_recording(path).named(["II", "V1"])
    recording = open_recording(path).named(["II", "-"])
    assert (recording.labels, recording.sampling_rate, recording.samples) == (("II",), 250.0, 500)
    assert recording.read(0, 500).shape == (1, 500)


def test_a_csv_file_in_mv_with_times_reads_back_the_adc_values(
    tmp_path: Path, two_minutes: Record
) -> None:
    path = write_csv(two_minutes, tmp_path / "r100.csv")
    recording = open_recording(path, csv=MIT_BIH).named(None)
    assert recording.kind == "csv"
    assert recording.sampling_rate == 360.0  # from times written to 6 decimals
    assert_same(recording, two_minutes)


def test_a_csv_file_in_adc_units_needs_its_rate(tmp_path: Path, two_minutes: Record) -> None:
    path = tmp_path / "adc.csv"
    rows = two_minutes.signals.T
    np.savetxt(path, rows, fmt="%d", delimiter=";", header="'MLII';'V5'", comments="")
    with pytest.raises(RecordingError, match="--sampling-rate"):
        open_recording(path)
    options = CsvOptions(sampling_rate=360, gain=200, baseline=1024)
    assert_same(open_recording(path, csv=options).named(None), two_minutes)
    bare = open_recording(path, csv=CsvOptions(sampling_rate=360)).named(None)
    assert (bare.gains, bare.baselines) == ((None, None), (None, None))


@pytest.mark.parametrize(
    ("text", "options", "message"),
    [
        ("II (mV)\n0.5\n", CsvOptions(sampling_rate=250), "holds mV.*--gain"),
        ("II\n0.5\n1\n", CsvOptions(sampling_rate=250), "row 2: 0.5 .* not an integer"),
        ("II (furlong)\n1\n", CsvOptions(sampling_rate=250, gain=1), "'furlong'"),
        (MISSING_ROW, CsvOptions(), "row 502: .* not 1/249.75 Hz: a row is missing"),
        ("time,II\n0,1\n", CsvOptions(), "do not increase"),
        ("II\n", CsvOptions(sampling_rate=250), "no rows"),
        ("II,V1\n1,2\n3\n", CsvOptions(sampling_rate=250), "rows 2-3"),
        ("time\n0\n0.004\n", CsvOptions(), "no column besides"),
        ("Pleth\n1\n", CsvOptions(sampling_rate=250), "'Pleth'.*--leads"),
    ],
)
def test_what_a_csv_file_must_say(
    tmp_path: Path, text: str, options: CsvOptions, message: str
) -> None:
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(RecordingError, match=message):
        read_all(open_recording(path, csv=options).named(None))


def test_csv_times_in_ms_and_rates_that_are_not_whole(tmp_path: Path) -> None:
    path = tmp_path / "ms.csv"
    times = np.arange(3000) * 3.0  # 333.33 Hz in ms
    np.savetxt(path, np.c_[times, np.arange(3000)], fmt=["%.1f", "%d"], delimiter=",",
               header='"Time (ms)","ECG V2"', comments="")  # fmt: skip
    recording = open_recording(path).named(None)
    assert recording.labels == ("V2",)
    assert recording.sampling_rate == pytest.approx(333.333, abs=1e-3)
    assert np.array_equal(recording.read(0, 3000)[0], np.arange(3000))


@pytest.mark.parametrize(
    ("name", "kind"),
    [("a.EDF", "edf"), ("a.bdf", "edf"), ("a.csv", "csv"), ("a.hea", "wfdb"), ("a.dat", "wfdb")],
)
def test_the_format_comes_from_the_suffix(name: str, kind: str) -> None:
    assert format_of(Path(name)) == kind


def test_an_unknown_suffix_asks_for_the_format(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match=r"--format wfdb\|edf\|csv"):
        format_of(tmp_path / "recording.txt")
    (tmp_path / "broken.edf").write_bytes(b"0       nonsense")
    with pytest.raises(RecordingError, match="not a readable EDF"):
        open_recording(tmp_path / "broken.edf")
