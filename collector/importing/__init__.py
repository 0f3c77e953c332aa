"""Importing the punch history that old attendance systems export (CSV, text, XLSX).

options      what the caller asks for (ImportOptions, ColumnMap) and ImportError_
encodings    text or workbook; the text's encoding, or a refusal naming what it looks like
columns      which header holds what (English and Chinese exports), dates joined to times
timeformats  the timestamps' format, detected from the file or given
reading      streaming rows, header first
plan         all of the above decided before anything is stored (ImportPlan)
importer     import_file: the planned rows through the one ingest, in batches
"""

from collector.importing.importer import ImportSummary, import_file
from collector.importing.options import ColumnMap, ImportError_, ImportOptions
from collector.importing.plan import ImportPlan, prepare_import

__all__ = [
    "ColumnMap",
    "ImportError_",
    "ImportOptions",
    "ImportPlan",
    "ImportSummary",
    "import_file",
    "prepare_import",
]
