"""Errors as Python exceptions with positions; Ctrl-C interrupts a read."""

from __future__ import annotations

import os
import signal
import threading
import time

import pytest

import auditframe
from conftest import SAMPLE, TESTDATA


def test_strict_mode_raises_parse_error_with_the_position(tmp_path):
    good = (TESTDATA / "shapes" / "native.json").read_bytes().splitlines(keepends=True)
    path = tmp_path / "bad.json"
    path.write_bytes(b"".join(good[:3]) + b'{"kind":"Event","verb":"get","stageTimestamp":"yesterday"}\n')
    with pytest.raises(auditframe.ParseError) as info:
        auditframe.read(path, strict=True)
    e = info.value
    assert e.source == str(path)
    assert e.line == 4
    assert e.byte == sum(len(x) for x in good[:3])
    assert e.reason == "timestamp"
    assert e.excerpt.startswith('{\\"kind\\"') or e.excerpt.startswith('{"kind"')
    assert f"{path}:4" in str(e)
    assert isinstance(e, auditframe.AuditframeError)
    # Lenient (the default): skipped and counted, with the same position in the report.
    frame = auditframe.read(path)
    assert (len(frame), frame.report.reasons) == (3, {"timestamp": 1})
    assert f"{path}:4" in frame.report.errors[0]
    with pytest.raises(auditframe.ParseError):
        auditframe.analyze(path, strict=True)


def test_unknown_shape_and_bad_parquet_are_parse_errors(tmp_path):
    odd = tmp_path / "odd.json"
    odd.write_text('{"hello":"world"}\n')
    with pytest.raises(auditframe.ParseError) as info:
        auditframe.read(odd, strict=True)
    assert info.value.line == 1 and info.value.source == str(odd)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"PAR1 not really")
    with pytest.raises(auditframe.ParseError) as info:
        auditframe.read(broken)
    assert info.value.source == str(broken)


def test_missing_files_are_os_errors_naming_the_file(tmp_path):
    missing = tmp_path / "nope.json"
    with pytest.raises(FileNotFoundError) as info:
        auditframe.read(missing)
    assert info.value.filename == str(missing)
    with pytest.raises(FileNotFoundError):
        auditframe.analyze([SAMPLE, missing])


@pytest.mark.parametrize(
    "call",
    [
        lambda: auditframe.analyze(SAMPLE, bin="0s"),
        lambda: auditframe.analyze(SAMPLE, by="verb"),
        lambda: auditframe.analyze(SAMPLE, percentiles=(120,)),
        lambda: auditframe.analyze(SAMPLE, stage="done"),
        lambda: auditframe.analyze(SAMPLE, since="not a time"),
        lambda: auditframe.read(SAMPLE, shape="csv"),
        lambda: auditframe.diagnose(SAMPLE, list_rules="1.29"),
        lambda: auditframe.read([]),
        lambda: auditframe.read([SAMPLE, TESTDATA / "parquet" / "native-duckdb.parquet"]),
    ],
    ids=["bin", "by", "percentile", "stage", "since", "shape", "rules", "no-paths", "mixed"],
)
def test_bad_options_are_value_errors(call):
    with pytest.raises(ValueError):
        call()


def test_ctrl_c_interrupts_a_read_blocked_on_a_pipe(tmp_path):
    fifo = tmp_path / "audit.pipe"
    os.mkfifo(fifo)
    line = (TESTDATA / "shapes" / "native.json").read_bytes().splitlines(keepends=True)[0]
    stop = threading.Event()

    def writer():
        # Sends a little and keeps the pipe open: the read waits for more.
        with open(fifo, "wb") as w:
            w.write(line * 10)
            w.flush()
            stop.wait(30)

    # Ctrl-C's own handler, whatever an earlier test's library (DuckDB installs one while it
    # runs a query) or the parent process left in place.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    t = threading.Thread(target=writer)
    t.start()
    timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(KeyboardInterrupt):
            auditframe.read(fifo)
        # Half a second to the signal, at most the 2 s grace for the blocked worker.
        assert time.monotonic() - started < 5
    finally:
        stop.set()
        t.join()
        timer.cancel()
        signal.signal(signal.SIGINT, previous)


def test_the_gil_is_released_while_reading(tmp_path):
    import faulthandler

    fifo = tmp_path / "audit.pipe"
    os.mkfifo(fifo)
    lines = (TESTDATA / "shapes" / "native.json").read_bytes().splitlines(keepends=True)

    def writer():
        # Python code that runs while the read waits for the pipe: it needs the GIL.
        with open(fifo, "wb") as w:
            for line in lines[:25]:
                time.sleep(0.01)
                w.write(line)
                w.flush()

    t = threading.Thread(target=writer)
    t.start()
    # Were the GIL held, the writer could never finish and the read never end: fail loudly
    # rather than hang.
    faulthandler.dump_traceback_later(60, exit=True)
    try:
        frame = auditframe.read(fifo)
    finally:
        faulthandler.cancel_dump_traceback_later()
        t.join()
    assert len(frame) == 25
