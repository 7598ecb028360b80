"""lienthong: governed federated SQL over government databases, as Arrow.

Open a catalog, open a session as an official acting for a purpose, and ask SQL questions; the
answers are what the owner agencies' policies let that official see, every access is audited, and
the results come back as Arrow (``pyarrow``, pandas, polars) without a copy::

    import lienthong

    catalog = lienthong.Catalog.open("demo-data/catalog.yaml")
    session = catalog.session("ward-officer", purpose="tthc", credential=secret)
    session.sql("SELECT full_name, phone FROM population.citizens LIMIT 5").to_pandas()

    remote = lienthong.connect("grpc://127.0.0.1:50051", principal="ward-officer",
                               credential=secret, purpose="tthc")
    remote.sql("SELECT count(*) FROM land.parcels").to_arrow()
"""

from lienthong._internal import __version__
from lienthong.exceptions import (
    AuditError,
    CatalogError,
    LienthongError,
    LimitExceeded,
    PolicyDenied,
    QueryError,
    QuotaExceeded,
    SourceError,
)
from lienthong.result import QueryResult
from lienthong.session import Catalog, ColumnInfo, QuotaInfo, RemoteSession, Session, TableInfo, connect

__all__ = [
    "AuditError",
    "Catalog",
    "CatalogError",
    "ColumnInfo",
    "LienthongError",
    "LimitExceeded",
    "PolicyDenied",
    "QueryError",
    "QueryResult",
    "QuotaExceeded",
    "QuotaInfo",
    "RemoteSession",
    "Session",
    "SourceError",
    "TableInfo",
    "__version__",
    "connect",
]
