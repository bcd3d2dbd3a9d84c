"""auditframe: Kubernetes API-server audit-log analytics for notebooks.

Read AKS audit exports (native audit.k8s.io NDJSON, ``AKSAudit`` rows, ``AzureDiagnostics``
rows, storage-account archives, Event Hub captures; ``.gz``, directories, Parquet) into an
Arrow-exportable :class:`Frame`, and answer the questions of Microsoft's *Troubleshoot API
server and etcd problems in AKS* guide with :func:`analyze`, or its causes with
:func:`diagnose`. The answers are exactly those of ``auditframe analyze|diagnose --format
json``: the same Rust code computes and serialises them.

Frames and result tables implement the Arrow PyCapsule interface (``__arrow_c_stream__``):
``polars.DataFrame(x)``, ``pyarrow.table(x)`` and ``duckdb.sql("select … from x")`` read them
without a copy, and auditframe itself depends on none of them.

>>> import auditframe
>>> a = auditframe.analyze("testdata/default-sample.aks.json.gz")  # doctest: +SKIP
>>> a["top"][0]                                                    # doctest: +SKIP
{'key': 'kube-controller-manager/…', 'count': 1320}
"""

from __future__ import annotations

import datetime as _dt
import json as _json
import os as _os
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

from . import _native
from ._native import AuditframeError, ParseError

__all__ = [
    "Analysis",
    "AuditframeError",
    "Diagnosis",
    "Frame",
    "ParseError",
    "Report",
    "Table",
    "analyze",
    "column_names",
    "convert",
    "diagnose",
    "read",
]

__version__: str = _native.__version__

PathLike = Union[str, "_os.PathLike[str]"]
Paths = Union[PathLike, Sequence[PathLike]]
TimeLike = Union[str, _dt.datetime]

Table = _native.Table
"""An Arrow table of results (``__arrow_c_stream__``); see :meth:`Analysis.tables`."""


def _paths(paths: Paths) -> list[str]:
    if isinstance(paths, (str, bytes, _os.PathLike)):
        paths = [paths]
    out = [_os.fspath(p) for p in paths]
    if not out:
        raise ValueError("no input paths given")
    return out


def _time(value: Optional[TimeLike], name: str) -> Optional[str]:
    """RFC 3339 text for the Rust side; a naive datetime is taken as UTC."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.timezone.utc)
        return value.astimezone(_dt.timezone.utc).isoformat().replace("+00:00", "Z")
    raise TypeError(f"{name}: a datetime or RFC 3339 text, not {type(value).__name__}")


def _duration(value: Union[None, str, _dt.timedelta], name: str) -> Optional[str]:
    """`5m`-style text for the Rust side."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, _dt.timedelta):
        micros = (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
        if micros <= 0:
            raise ValueError(f"{name}: a positive duration, not {value}")
        return f"{micros}us"
    raise TypeError(f"{name}: a timedelta or text such as '5m', not {type(value).__name__}")


def _columns(columns: Union[None, str, Iterable[str]]) -> Optional[list[str]]:
    if columns is None:
        return None
    if isinstance(columns, str):
        return _native.column_names(columns)
    return list(columns)


def column_names(preset: str = "all") -> list[str]:
    """Column names of a preset: ``all`` (the canonical schema), ``analyses`` (what the
    guide's three queries read), ``analyze`` (what :func:`analyze` reads by default) or
    ``diagnostics`` (what :func:`diagnose` reads)."""
    return _native.column_names(preset)


class Report:
    """What a read did: rows kept, records skipped per reason with the first errors (and
    their positions), cut-short events salvaged, copies dropped, and one entry per input."""

    def __init__(self, fields: Mapping[str, Any]):
        self._fields = dict(fields)

    @property
    def rows(self) -> int:
        """Rows in the frame (after copies, clusters and the time window)."""
        return self._fields.get("rows", self._fields["rows_read"])

    @property
    def rows_read(self) -> int:
        """Audit events read from the inputs."""
        return self._fields["rows_read"]

    @property
    def skipped(self) -> int:
        """Bad records skipped (lenient mode)."""
        return self._fields["skipped"]

    @property
    def reasons(self) -> dict[str, int]:
        """Skipped records per reason (``json``, ``field_type``, ``timestamp``, …)."""
        return dict(self._fields["skipped_by_reason"])

    @property
    def errors(self) -> list[str]:
        """The first errors, each with its source, line, byte and an excerpt."""
        return list(self._fields["errors"])

    @property
    def truncated(self) -> int:
        """Rows salvaged from event text cut short (marked in the ``truncated`` column)."""
        return self._fields["truncated"]

    @property
    def duplicates_dropped(self) -> int:
        """Second copies of requests exported under both audit categories, dropped."""
        return self._fields["duplicates_dropped"]

    @property
    def shape(self) -> Optional[str]:
        """The record shape of the first input (``native``, ``aks_audit``, …)."""
        return self._fields["shape"]

    @property
    def inputs(self) -> list[dict[str, Any]]:
        """Per input: ``name``, ``shape``, ``bytes``, ``rows``, ``truncated``."""
        return list(self._fields["inputs"])

    def to_dict(self) -> dict[str, Any]:
        """Every field, as in the JSON contract."""
        return dict(self._fields)

    def __repr__(self) -> str:
        return (
            f"Report(rows={self.rows}, skipped={self.skipped}, reasons={self.reasons}, "
            f"errors={len(self.errors)})"
        )


class _ArrowExport:
    """Conversions for objects with ``__arrow_c_stream__`` (the library is imported on use)."""

    _inner: Any

    def __arrow_c_stream__(self, requested_schema: Any = None) -> Any:
        return self._inner.__arrow_c_stream__(requested_schema)

    def __arrow_c_schema__(self) -> Any:
        return self._inner.__arrow_c_schema__()

    def to_polars(self) -> Any:
        """A ``polars.DataFrame`` (needs polars)."""
        import polars

        return polars.DataFrame(self)

    def to_arrow(self) -> Any:
        """A ``pyarrow.Table`` (needs pyarrow)."""
        import pyarrow

        return pyarrow.table(self)

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame`` (needs pandas and pyarrow)."""
        return self.to_arrow().to_pandas()


class Frame(_ArrowExport):
    """Audit events in auditframe's canonical schema, one row per event, with the
    :class:`Report` of the read. Pass it to :func:`analyze` / :func:`diagnose` to answer
    without reading again, or to polars / pyarrow / DuckDB (Arrow PyCapsule interface)."""

    def __init__(self, inner: "_native.Frame"):
        self._inner = inner
        self.report = Report(_json.loads(inner.report_json))

    def __len__(self) -> int:
        return len(self._inner)

    @property
    def columns(self) -> list[str]:
        """Column names, in the canonical order."""
        return self._inner.columns

    @property
    def time_range(self) -> Optional[tuple[_dt.datetime, _dt.datetime]]:
        """Earliest and latest ``time_generated`` (UTC, to the microsecond)."""
        r = self._inner.time_range
        if r is None:
            return None
        epoch = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)
        return tuple(epoch + _dt.timedelta(microseconds=t // 1000) for t in r)  # type: ignore[return-value]

    def __repr__(self) -> str:
        return f"Frame({len(self)} rows × {len(self.columns)} columns; {self.report!r})"


def read(
    paths: Paths,
    *,
    shape: Optional[str] = None,
    columns: Union[None, str, Iterable[str]] = None,
    strict: bool = False,
    since: Optional[TimeLike] = None,
    until: Optional[TimeLike] = None,
    last: Union[None, str, _dt.timedelta] = None,
    clusters: Sequence[str] = (),
    keep_copies: bool = False,
    reject_truncated: bool = False,
) -> Frame:
    """Reads audit exports into a :class:`Frame`.

    ``paths``: a file (``.gz`` too), a directory (read recursively) or Parquet, or a list of
    them; ``-`` is stdin. ``shape`` forces the record shape (sniffed per input otherwise).
    ``columns``: a list of canonical column names or a preset (``"analyses"``,
    ``"diagnostics"``; all columns by default) — only those are parsed. ``strict`` raises
    :class:`ParseError` on the first bad record instead of skipping and counting it.
    ``since`` / ``until`` (datetimes or RFC 3339 text) or ``last`` (``"1h"``, a timedelta)
    keep the rows whose ``time_generated`` lies in the window (both ends inclusive, like KQL
    ``between``). ``clusters`` keeps those
    clusters' rows. A request exported under both audit categories is kept once unless
    ``keep_copies``. Cut-short events are salvaged (``truncated`` column) unless
    ``reject_truncated``.
    """
    inner = _native.read(
        _paths(paths),
        shape=shape,
        columns=_columns(columns),
        strict=strict,
        since=_time(since, "since"),
        until=_time(until, "until"),
        last=_duration(last, "last"),
        clusters=list(clusters),
        keep_copies=keep_copies,
        reject_truncated=reject_truncated,
    )
    return Frame(inner)


def _source(paths_or_frame: Union[Paths, Frame]) -> Any:
    if isinstance(paths_or_frame, Frame):
        return paths_or_frame._inner
    return _paths(paths_or_frame)


class Analysis(dict):
    """The guide's three answers: a ``dict`` in the JSON contract of ``auditframe analyze
    --format json`` — ``rows``, ``skipped``, ``group_by``, ``top`` (``key``, ``count``),
    ``latency`` (``key``, ``bin_start``, ``avg_ms``, ``count``), ``p99`` (``key``, ``verb``,
    ``resource``, ``p99_ms`` and any other percentile, ``count``), ``bin``, ``percentiles``,
    and the read's fields — plus :attr:`tables`, the same results as Arrow tables."""

    tables: dict[str, Table]
    """``top``, ``latency`` (``bin_start`` as a UTC timestamp) and ``p99`` as Arrow tables."""


class Diagnosis(dict):
    """The diagnoses in the JSON contract of ``auditframe diagnose --format json``:
    ``input`` (the read), ``findings`` (most severe first) and ``diagnosis`` (one entry per
    diagnosis: ``list``, ``throttling``, ``growth``, ``webhooks``, ``slo``, …)."""


def analyze(
    paths_or_frame: Union[Paths, Frame],
    *,
    by: str = "user_agent",
    top: int = 10,
    bin: Union[str, _dt.timedelta] = "5m",
    percentiles: Sequence[float] = (99,),
    agent: Optional[str] = None,
    last: Union[None, str, _dt.timedelta] = None,
    since: Optional[TimeLike] = None,
    until: Optional[TimeLike] = None,
    stage: str = "all",
    exclude_long_running: bool = False,
    approx_percentiles: Optional[float] = None,
    shape: Optional[str] = None,
    strict: bool = False,
    clusters: Sequence[str] = (),
    keep_copies: bool = False,
    reject_truncated: bool = False,
) -> Analysis:
    """The guide's three queries, with KQL's semantics (exact nearest-rank percentiles).

    ``by``: ``user_agent``, ``user`` or ``cluster``. ``top``: N of the top-N table (the
    latency series and percentiles cover every key). ``bin``: the series' bin width.
    ``percentiles``: computed per key, verb and resource (99 is always among them).
    ``agent``: percentiles of that one key only (the guide's step 3). ``last`` / ``since`` /
    ``until``: the time window (``last`` counts back from the newest event). ``stage``:
    ``all`` or ``complete`` (``ResponseComplete`` rows only). ``exclude_long_running``
    leaves watches and other held connections out of the series and percentiles.
    ``approx_percentiles``: a relative error for sketched percentiles (bounded memory).
    Paths are read as :func:`read` reads them (only the columns the queries need); a
    :class:`Frame` is analysed as it is.
    """
    doc, top_t, latency_t, p99_t = _native.analyze(
        _source(paths_or_frame),
        by=by,
        top=top,
        bin=_duration(bin, "bin"),
        percentiles=[float(p) for p in percentiles],
        agent=agent,
        last=_duration(last, "last"),
        since=_time(since, "since"),
        until=_time(until, "until"),
        stage=stage,
        exclude_long_running=exclude_long_running,
        approx_percentiles=approx_percentiles,
        shape=shape,
        strict=strict,
        clusters=list(clusters),
        keep_copies=keep_copies,
        reject_truncated=reject_truncated,
    )
    result = Analysis(_json.loads(doc))
    result.tables = {"top": top_t, "latency": latency_t, "p99": p99_t}
    return result


def diagnose(
    paths_or_frame: Union[Paths, Frame],
    *,
    by: str = "user_agent",
    top: int = 10,
    bin: Union[str, _dt.timedelta] = "5m",
    last: Union[None, str, _dt.timedelta] = None,
    since: Optional[TimeLike] = None,
    until: Optional[TimeLike] = None,
    list_rules: str = "since-1.31",
    uncached_resources: Sequence[str] = ("events",),
    growth_threshold: int = 10_000,
    growth_horizon: Union[str, _dt.timedelta] = "24h",
    slo_mutating: Union[str, _dt.timedelta] = "1s",
    slo_read_object: Union[str, _dt.timedelta] = "1s",
    slo_read_namespace: Union[str, _dt.timedelta] = "5s",
    slo_read_cluster: Union[str, _dt.timedelta] = "30s",
    shape: Optional[str] = None,
    strict: bool = False,
    clusters: Sequence[str] = (),
    keep_copies: bool = False,
    reject_truncated: bool = False,
) -> Diagnosis:
    """The guide's causes: LISTs by read type (watch cache or etcd; ``list_rules`` of the
    apiserver version, ``uncached_resources`` always read etcd), throttling and the AKS API
    server guard, object growth (``growth_threshold`` objects within ``growth_horizon``),
    admission webhook failures, and the API call latency SLOs (``slo_*`` P99 thresholds).
    The other options are :func:`analyze`'s."""
    doc = _native.diagnose(
        _source(paths_or_frame),
        by=by,
        top=top,
        bin=_duration(bin, "bin"),
        last=_duration(last, "last"),
        since=_time(since, "since"),
        until=_time(until, "until"),
        list_rules=list_rules,
        uncached_resources=list(uncached_resources),
        growth_threshold=growth_threshold,
        growth_horizon=_duration(growth_horizon, "growth_horizon"),
        slo_mutating=_duration(slo_mutating, "slo_mutating"),
        slo_read_object=_duration(slo_read_object, "slo_read_object"),
        slo_read_namespace=_duration(slo_read_namespace, "slo_read_namespace"),
        slo_read_cluster=_duration(slo_read_cluster, "slo_read_cluster"),
        shape=shape,
        strict=strict,
        clusters=list(clusters),
        keep_copies=keep_copies,
        reject_truncated=reject_truncated,
    )
    return Diagnosis(_json.loads(doc))


def convert(
    paths: Paths,
    output: PathLike,
    *,
    columns: Union[None, str, Iterable[str]] = None,
    row_group_rows: Optional[int] = None,
    zstd_level: Optional[int] = None,
    shape: Optional[str] = None,
    strict: bool = False,
    reject_truncated: bool = False,
) -> Report:
    """Converts JSON exports to one canonical Parquet file, a block at a time (bounded
    memory), like ``auditframe convert``. Returns the read's :class:`Report`;
    ``report.to_dict()["rows_written"]`` is the rows written."""
    kwargs: dict[str, Any] = {}
    if row_group_rows is not None:
        kwargs["row_group_rows"] = row_group_rows
    if zstd_level is not None:
        kwargs["zstd_level"] = zstd_level
    doc = _native.convert(
        _paths(paths),
        _os.fspath(output),
        columns=_columns(columns),
        shape=shape,
        strict=strict,
        reject_truncated=reject_truncated,
        **kwargs,
    )
    return Report(_json.loads(doc))
