"""Catalogs and sessions: who is asking, for what purpose, and the questions they ask."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lienthong import _internal
from lienthong.result import QueryResult

Params = Sequence[Any] | None


@dataclass(frozen=True)
class ColumnInfo:
    """A column as one caller sees it."""

    name: str
    #: The Arrow type the caller receives (a masked column's type after the mask).
    type: str | None
    description: str | None
    description_vi: str | None
    #: Classification tags (``pii.basic``, ``identifier.citizen``, …).
    tags: list[str]
    primary_key: bool
    #: The mask this caller sees the column through (``pseudonym``, ``keep_last``, …), or ``None``.
    mask: str | None

    @property
    def masked(self) -> bool:
        """Whether this caller sees the column through a mask."""
        return self.mask is not None


@dataclass(frozen=True)
class TableInfo:
    """What one caller may see of a table."""

    name: str
    description: str
    description_vi: str
    #: ``open``, ``shared`` or ``restricted``.
    classification: str
    #: Whether the caller sees only some rows (a row policy applies).
    rows_filtered: bool
    #: When set, only aggregate queries are accepted and smaller groups are suppressed.
    min_group_size: int | None
    #: Aggregate-only: the columns whose ``min`` and ``max`` the owner allows (empty: none).
    min_max: list[str]
    #: Ids of the grants that give this caller access (empty for open tables).
    grants: list[str]
    columns: list[ColumnInfo]

    def _repr_html_(self) -> str:
        import html

        rows = "".join(
            f"<tr><td>{html.escape(c.name)}</td><td>{html.escape(c.type or '')}</td>"
            f"<td>{html.escape(c.mask or '')}</td><td>{html.escape(', '.join(c.tags))}</td>"
            f"<td>{html.escape(c.description or '')}</td></tr>"
            for c in self.columns
        )
        notes = [self.classification]
        if self.rows_filtered:
            notes.append("rows filtered")
        if self.min_group_size is not None:
            notes.append(f"aggregates only, groups under {self.min_group_size} suppressed")
            if self.min_max:
                notes.append(f"min/max of {', '.join(self.min_max)}")
        return (
            f"<p><b>{html.escape(self.name)}</b>: {html.escape(self.description)} ({html.escape('; '.join(notes))})</p>"
            "<table><thead><tr><th>column</th><th>type</th><th>mask</th><th>tags</th><th>description</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>"
        )


@dataclass(frozen=True)
class QuotaInfo:
    """One limit of a volume quota, as it stands for the caller."""

    #: The quota's id in the catalog.
    quota: str
    #: Whose counter: ``principal`` or ``agency`` (shared by everyone of the caller's agency).
    per: str
    #: ``rows`` (result rows received) or ``keys`` (distinct keys named in lookups).
    unit: str
    #: ``query``, ``day`` or ``month``.
    window: str
    #: The day (``2026-12-03``) or month (``2026-12``) counted, UTC; ``None`` per query.
    period: str | None
    limit: int
    used: int
    remaining: int
    #: The tables whose reads count (empty: every table).
    tables: list[str]


def _quotas(answer: str) -> list[QuotaInfo]:
    import json

    return [QuotaInfo(**limit) for limit in json.loads(answer)]


class Session:
    """A principal acting for a purpose on a local catalog. Open one with :meth:`Catalog.session`.

    Everything a session does is governed by the catalog's policies and audited: tables and
    columns it may not see do not exist for it, masked columns are masked everywhere in the
    query, and each query leaves a record in the audit log before its first row is returned.
    Sessions may be used from several threads at once.
    """

    def __init__(self, inner: _internal.Session):
        self._inner = inner

    @property
    def principal(self) -> str:
        """The principal's id (``public`` for the anonymous caller)."""
        return self._inner.principal

    @property
    def purpose(self) -> str | None:
        """The purpose the session acts for."""
        return self._inner.purpose

    def sql(self, query: str, params: Params = None) -> QueryResult:
        """Runs a read-only query; ``params`` bind ``$1``, ``$2``, … as typed values.

        Raises :class:`~lienthong.PolicyDenied` for what the policy refuses, and
        :class:`~lienthong.QueryError` for invalid SQL or a table the caller cannot see (the same
        error as a table that does not exist).
        """
        return QueryResult(self._inner.sql(query, params))

    def tables(self) -> list[str]:
        """The tables this caller may see, as ``database.table``."""
        return self._inner.tables()

    def describe(self, table: str) -> TableInfo:
        """What this caller may see of ``table`` (``database.table``): columns, types, masks, tags."""
        described = self._inner.describe(table)
        columns = [ColumnInfo(**column) for column in described.pop("columns")]
        return TableInfo(columns=columns, **described)

    def quotas(self) -> list[QuotaInfo]:
        """The volume quotas that hold for this caller and purpose: each limit, used and left.

        A query past a quota raises :class:`~lienthong.QuotaExceeded`: keys are checked before
        the query runs, rows before any result is released.
        """
        return _quotas(self._inner.quotas())

    def explain(self, query: str) -> str:
        """The governed plan of ``query``, logical and physical, without running it."""
        return self._inner.explain(query)

    def __repr__(self) -> str:
        return repr(self._inner)


class Catalog:
    """A catalog file, opened with its sources, audit log, pseudonym secret and limits.

    >>> catalog = lienthong.Catalog.open("demo-data/catalog.yaml")  # doctest: +SKIP
    >>> session = catalog.session("ward-officer", purpose="tthc", credential=secret)  # doctest: +SKIP
    """

    def __init__(self, inner: _internal.Catalog):
        self._inner = inner

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        audit_path: str | os.PathLike[str] | None = None,
        pseudonym_key: bytes | None = None,
        max_rows: int | None = None,
        timeout_seconds: float | None = None,
        memory_bytes: int | None = None,
    ) -> Catalog:
        """Reads and validates the catalog file; raises :class:`~lienthong.CatalogError` with the
        file, line and field of every problem.

        ``pseudonym_key`` defaults to ``LIENTHONG_PSEUDONYM_KEY`` from the environment; the audit
        log to the catalog's ``node.audit_log``. Sources are not contacted until a query needs them.
        """
        return cls(
            _internal.Catalog.open(
                path,
                audit_path=audit_path,
                pseudonym_key=pseudonym_key,
                max_rows=max_rows,
                timeout_seconds=timeout_seconds,
                memory_bytes=memory_bytes,
            )
        )

    def session(self, principal: str | None = None, purpose: str | None = None, credential: str | None = None) -> Session:
        """A session as ``principal`` for ``purpose``, proven by ``credential`` (the principal's
        secret, checked against the catalog's hash); with no principal, the anonymous ``public``.

        A wrong or missing credential, an unknown principal and an undeclared purpose all raise
        :class:`~lienthong.PolicyDenied` without saying which; every refusal is audited.
        """
        return Session(self._inner.session(principal, purpose, credential))

    @property
    def path(self) -> str:
        """The catalog file."""
        return str(self._inner.path)

    @property
    def audit_path(self) -> str:
        """The audit log file."""
        return str(self._inner.audit_path)

    @property
    def node(self) -> str:
        """The node's name."""
        return self._inner.node

    def literal_digest(self, value: str) -> str:
        """The digest under which the audit log records ``value`` when a query names it: how an
        owner finds the queries that looked a citizen up, without the log holding the citizen's ID."""
        return self._inner.literal_digest(value)

    def refresh(self) -> None:
        """Forgets cached source tables and schemas; the next queries ask the sources again."""
        self._inner.refresh()

    def __repr__(self) -> str:
        return repr(self._inner)


class RemoteSession:
    """A session on a ``lienthong serve`` over Arrow Flight SQL. Open one with :func:`connect`.

    The server governs and audits every query exactly as a local session would.
    """

    def __init__(self, inner: _internal.RemoteSession):
        self._inner = inner

    @property
    def principal(self) -> str | None:
        """The principal that logged in with a credential (``None`` with a token or as ``public``)."""
        return self._inner.principal

    @property
    def purpose(self) -> str | None:
        """The purpose declared to the server."""
        return self._inner.purpose

    def sql(self, query: str, params: Params = None) -> QueryResult:
        """Runs a read-only query on the server; with ``params``, as a prepared statement."""
        return QueryResult(self._inner.sql(query, params))

    def tables(self) -> list[str]:
        """The tables this caller may see on the server, as ``database.table``."""
        return self._inner.tables()

    def quotas(self) -> list[QuotaInfo]:
        """The caller's volume quotas as the server counts them (its ``GetQuotas`` Flight action)."""
        return _quotas(self._inner.quotas())

    def explain(self, query: str) -> str:
        """The governed plan of ``query`` as the server explains it."""
        return self._inner.explain(query)

    def __repr__(self) -> str:
        return repr(self._inner)


def connect(
    uri: str,
    *,
    token: str | None = None,
    purpose: str | None = None,
    principal: str | None = None,
    credential: str | None = None,
    tls_root_certs: bytes | None = None,
) -> RemoteSession:
    """Connects to a ``lienthong serve`` at ``uri`` (``grpc://host:port``, or ``grpc+tls://…`` with
    the server's CA certificate in ``tls_root_certs``).

    The caller is proven by ``token`` (a bearer token: the agency's single sign-on JWT, or one the
    server issued), or by ``principal`` and ``credential`` through the Flight handshake; with
    neither, the caller is ``public``. ``purpose`` travels with every call.
    An unreachable server raises :class:`~lienthong.SourceError`; a refused login
    :class:`~lienthong.PolicyDenied`.
    """
    return RemoteSession(
        _internal.connect(
            uri,
            token=token,
            principal=principal,
            credential=credential,
            purpose=purpose,
            tls_root_certs=tls_root_certs,
        )
    )
