"""JSON:API resources to Arrow batches in each stream's fixed schema, by two converters.

``layout``: the columns and schema both converters build on. ``reference``: the converter
of parsed resources (``json.loads`` output), the definition of what a page becomes.
``fast``: the decoder that reads a page body straight into Arrow, and refuses any page where
it could differ from ``reference``. ``page``: the converted page the client's scan carries.
"""

from outreach_assets.convert.fast import ArrowPageDecoder, DecoderStats
from outreach_assets.convert.layout import (
    ARROW_TYPES,
    EXTRA_COLUMN,
    EXTRACTED_AT_COLUMN,
    ID_COLUMN,
    ConversionStats,
    arrow_schema,
)
from outreach_assets.convert.page import ConvertedPage
from outreach_assets.convert.reference import to_record_batch

__all__ = [
    "ARROW_TYPES",
    "EXTRACTED_AT_COLUMN",
    "EXTRA_COLUMN",
    "ID_COLUMN",
    "ArrowPageDecoder",
    "ConversionStats",
    "ConvertedPage",
    "DecoderStats",
    "arrow_schema",
    "to_record_batch",
]
