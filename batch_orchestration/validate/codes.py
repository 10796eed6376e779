"""The catalogue of reject codes: every code the pipeline gives a record or a file, what it means, and
the message template of those whose message the pipeline writes in Python.

Codes are raised in three languages: Python (staging, the loader), the pydantic models
(``PydanticCustomError``) and the SQL set rules. :class:`~batch_orchestration.validate.rejects.RejectRecord`
refuses a code that is not here, and a test reads the models and the SQL for codes missing from it.
Load rejects may also carry the target's own codes (``DUPLICATE_ERROR``...), passed through as the
target said them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class RejectCode:
    code: str
    stage: str
    meaning: str
    template: str = ""

    def message(self, **values: object) -> str:
        return self.template.format(**values)


_CODES = (
    # staging: a file refused whole, a row refused alone, or a note that is not a reject
    RejectCode("EMPTY_FILE", "staging", "the file has no header and no rows"),
    RejectCode("INVALID_UTF8", "staging", "the file is not UTF-8; it is refused whole"),
    RejectCode("INVALID_ENCODING", "staging", "the file is not in the encoding its mapping declares (other than "
               "UTF-8); it is refused whole"),
    RejectCode("MALFORMED_CSV", "staging", "the CSV cannot be parsed (quoting); the file is refused whole"),
    RejectCode("DUPLICATE_HEADER", "staging", "a mapped column appears twice in the header"),
    RejectCode("MISSING_COLUMNS", "staging", "a required column is missing from the header"),
    RejectCode("UNKNOWN_COLUMNS", "staging", "the header has columns the mapping does not name"),
    RejectCode("RAGGED_ROW", "staging", "a row has more or fewer fields than the header"),
    RejectCode("NUL_BYTE", "staging", "the header or a row holds NUL bytes"),
    RejectCode("HEADERS_ONLY", "staging", "note: a header and no data rows"),
    RejectCode("BLANK_LINES", "staging", "note: blank lines were skipped"),
    RejectCode("MISSING_OPTIONAL_COLUMNS", "staging", "note: optional mapped columns are absent"),
    # row rules (the pydantic models)
    RejectCode("REQUIRED", "validation", "a required value is missing or empty"),
    RejectCode("TOO_LONG", "validation", "a text is longer than the target allows"),
    RejectCode("INVALID_NUMBER", "validation", "not a number in the declared format"),
    RejectCode("INVALID_AMOUNT", "validation", "an amount out of range (negative, zero, too many digits)"),
    RejectCode("INVALID_VALUE", "validation", "not one of the allowed values"),
    RejectCode("INVALID_FORMAT", "validation", "does not match the required pattern"),
    RejectCode("INVALID_DATE", "validation", "not a valid date in the declared format"),
    RejectCode("FUTURE_DATE", "validation", "a date after today, which the target refuses"),
    RejectCode("INVALID_EMAIL", "validation", "not an email address the target accepts"),
    RejectCode("INVALID_PHONE", "validation", "not a phone number the target accepts"),
    RejectCode("INVALID_TAX_NUMBER", "validation", "a tax number that does not fit its country"),
    RejectCode("INVALID_COUNTRY", "validation", "not a two-letter ISO 3166 country code"),
    RejectCode("INVALID_LINE", "validation", "a journal line with both or neither of debit and credit"),
    RejectCode("UNKNOWN_OPERATION", "validation", "a changes export's row whose operation is not create, update, "
               "delete or empty", "operation {operation!r} is not one of {allowed} (or empty, an upsert)"),
    RejectCode("INVALID_PAID_DATE", "validation", "a payable's paid date without status paid, or status paid "
               "without a paid date"),
    # set rules: generated for every entity (validate/set_rules.py), or one entity's (dbt_like_sql/validated)
    RejectCode("DUPLICATE_KEY", "set_rule", "the key appears again later in the day (the last row is kept), or "
               "an item or account code again in another case (the first stands)"),
    RejectCode("PARENT_UNKNOWN", "set_rule", "a record it names (customer, item, account...) is neither "
               "validated up to its day nor in the target"),
    RejectCode("LINE_REJECTED", "set_rule", "a header one of whose lines was rejected: it travels whole or not at all"),
    RejectCode("NO_LINES", "set_rule", "a header (invoice, bill, journal entry) with fewer valid lines than it needs"),
    RejectCode("TOTAL_MISMATCH", "set_rule", "a header's total differs from the sum of its lines"),
    RejectCode("HEADER_NOT_VALID", "set_rule", "the line's header is not valid on the line's day"),
    RejectCode("DUPLICATE_EMAIL", "set_rule", "another customer already uses this email"),
    RejectCode("UNBALANCED", "set_rule", "a journal entry's debits differ from its credits"),
    # loading
    RejectCode("PARENT_REJECTED", "load", "the record's parent was rejected at load (refused by the target, or "
               "held back itself)", "{parent} {key} is not in the target: it was rejected at load: {reason}"),
    RejectCode("PARENT_NOT_LOADED", "load", "the record's parent has not been loaded",
               "{parent} {key} is not in the target: it has not been loaded"),
    RejectCode("HEADER_REJECTED", "load", "the line's header was not loaded; a line is loaded with its header or not "
               "at all",
               "{parent} {key} was not loaded: {reason}"),
    RejectCode("LOAD_FAILED", "load", "the target refused the record without a code",
               "rejected by the target"),
    RejectCode("NOT_UPDATABLE", "load", "the record changed, and the target takes this entity only as creates",
               "{target} takes {entity} only as creates; this change of a record it holds was not sent"),
    RejectCode("NOT_DELETABLE", "load", "the record left the source (absent from a snapshot, or deleted by a "
               "changes export), and the target takes no deletes of this entity: it stays there",
               "{target} takes no deletes of {entity}: this record, which left the source, stays in it"),
    RejectCode("NOT_REPRESENTABLE", "load", "the target cannot take the record as it is (an amount it would round "
               "or cannot hold, a value it refuses although the ledger's rules take it)",
               "not sent: {target} would not store it as it is: {reason}"),
    RejectCode("HELD_IN_ANOTHER_VERSION", "load", "the target holds a record under this one's reference that "
               "the ID map lost, in another version: not created again, not overwritten",
               "{target} holds {entity} {key} ({target_id}) in another version, which this warehouse has no "
               "record of sending; run `batch-orchestration adopt` to take it as this record, or decide which "
               "is right"),
    RejectCode("ROW_FAILED", "load", "the target refused a row of an uploaded file (its message says why)"),
    RejectCode("PAYABLE_FAILED", "load", "Bulk Payables failed the item (its message says why: an unknown "
               "collaborator, a merge group that does not agree)"),
    RejectCode("IMPORT_REJECTED", "load", "the Batch Import API rejected the record (its message says why)"),
    RejectCode("PART_FAILED", "load", "a header one of whose lines the target refused: it counts as loaded only "
               "whole", "line {key} was refused: {reason}"),
)
CATALOGUE: dict[str, RejectCode] = {entry.code: entry for entry in _CODES}


def reject_code(code: str) -> RejectCode:
    try:
        return CATALOGUE[code]
    except KeyError:
        raise KeyError(f"reject code {code!r} is not in the catalogue (validate/codes.py)") from None
