"""Data read from JSON is checked before anything is drawn from it: one line naming the field, no output.

A report or corpus JSON can be edited by hand or written by another program. `typed` checks every
field against the dataclass the program reads it as (types, finite numbers, no missing or unknown
fields); `report` checks a report's domains and the facts that tie its values together; a corpus
file's own checks live beside it (`reportgen.corpus.document_checks`), on the same `Place` and
`check_typed`. Every refusal is a ReportgenError of one line: the part of the document, the field's
path, what it is and what it must be, and what to do.
"""

from reportgen.validation.place import ROUNDING, Place, shown
from reportgen.validation.report import check_report_data
from reportgen.validation.typed import check_typed

__all__ = ["ROUNDING", "Place", "check_report_data", "check_typed", "shown"]
