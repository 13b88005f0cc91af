"""JSON:API resources to Arrow batches in each stream's fixed schema, by two converters.

Both converters:

* ``layout``: the columns and schema of a stream, the stats of a conversion, the
  ``_extracted_at`` column.
* ``extra``: the ``_extra`` column, from per-row dicts or from per-key JSON fragments.
* ``page``: the converted page the client's scan carries (batch and stats).

The reference converter, of parsed resources (``json.loads`` output); it defines what a
page becomes:

* ``reference``: :func:`to_record_batch`: ids, attribute columns, name clashes, unknown
  attributes, and the rules for values that do not fit.
* ``relationships``: to-one ids (``<name>Id``), to-many id lists (``<singular>Ids``, the
  ids in the API's order, ``[]`` for ``data: []``), malformed ones moved to ``_extra``, and
  relationships the catalog does not know: their ``data`` kept in ``_extra`` under
  ``relationships.<name>`` and counted in ``ConversionStats.unknown_relationships``.
  Known links-only relationships give nothing.
* ``values``: what each catalog type accepts: whole-column vectorized conversions and
  per-value checks.

The fast decoder, which reads a page body straight into Arrow and refuses any page where
it could differ from ``reference``:

* ``fast``: :class:`ArrowPageDecoder`, its per-stream read plan (to-one and to-many
  relationships declared, so pages with ids stay fast), the page decode, and which
  pages it refuses.
* ``fast_read``: the body read by ``pyarrow.json`` into one checked row; the refusals.
* ``fast_columns``: each output column from what was read, to-many id lists and unknown
  relationships included.
* ``fast_json``: the JSON text of values ``pyarrow.json`` inferred (JSON columns, unknown
  attributes, the ``data`` of unknown relationships), or a refusal where it cannot be
  recovered exactly.
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
